package metadata

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Listener is told about each published change: the image before, the image
// after and what differs. Listeners run synchronously on the goroutine that
// publishes (the metadata writer), one change at a time and in offset order,
// so they see every change exactly once and in order. A listener must be
// quick and must not call back into the Controller (that would deadlock);
// work that takes long belongs on the listener's own goroutine.
type Listener func(prev, next *Image, delta *Delta)

// Publisher holds the current Image and hands changes to listeners. It is the
// state machine a metadata log feeds: the local log applies each committed
// batch through it, and a Raft log will do the same from its FSM on every
// node (Apply for an entry, Restore for an installed snapshot). Readers call
// Image, which is one atomic load and never blocks. A Publisher is safe for
// concurrent use.
type Publisher struct {
	image atomic.Pointer[Image]

	mu        sync.Mutex  // serialises changes and listener calls
	listeners []*Listener // guarded by mu
}

// NewPublisher returns a Publisher whose image is EmptyImage.
func NewPublisher() *Publisher {
	p := &Publisher{}
	p.image.Store(EmptyImage())
	return p
}

// Image returns the current image. It never returns nil.
func (p *Publisher) Image() *Image { return p.image.Load() }

// Subscribe adds a listener for every later change and returns a function
// that removes it. Subscribing waits for an in-progress change to finish, so
// the listener sees exactly the changes after the image Image returns once
// Subscribe has returned.
func (p *Publisher) Subscribe(l Listener) (unsubscribe func()) {
	lp := &l
	p.mu.Lock()
	p.listeners = append(p.listeners, lp)
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if i := slices.Index(p.listeners, lp); i >= 0 {
			p.listeners = slices.Delete(p.listeners, i, i+1)
		}
	}
}

// Apply applies a committed batch to the current image, publishes the result
// and notifies listeners. An error (the batch does not fit the image) leaves
// the image unchanged.
func (p *Publisher) Apply(batch Batch) error {
	return p.update(func(cur *Image) (*Image, *Delta, error) {
		return cur.Apply(batch)
	})
}

// Restore replaces the current image with img (a snapshot being installed)
// and notifies listeners with the difference.
func (p *Publisher) Restore(img *Image) {
	_ = p.update(func(cur *Image) (*Image, *Delta, error) {
		return img, Diff(cur, img), nil
	})
}

// update runs fn on the current image with changes excluded, then publishes
// what fn returns. fn is where a log makes a batch durable: nothing is
// visible to readers until fn has returned without error.
func (p *Publisher) update(fn func(cur *Image) (*Image, *Delta, error)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.image.Load()
	next, delta, err := fn(cur)
	if err != nil {
		return err
	}
	p.image.Store(next)
	if !delta.Empty() {
		for _, l := range p.listeners {
			(*l)(cur, next, delta)
		}
	}
	return nil
}
