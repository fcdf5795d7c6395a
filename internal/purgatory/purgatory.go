package purgatory

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultPurgeInterval is Kafka's default for
// producer.purgatory.purge.interval.requests and
// fetch.purgatory.purge.interval.requests: once this many completed
// operations may still sit in watch lists, the lists are swept.
const DefaultPurgeInterval = 1000

// numShards splits the key → watch list map so that unrelated keys do not
// contend on one lock (Kafka uses 512 for many more cores).
const numShards = 64

// Operation is a request parked until a condition holds or a deadline
// passes (Kafka's DelayedOperation). The purgatory calls its methods with
// the operation's lock held (see OpLocker), so for one operation they never
// run concurrently with each other, and after completion only the callbacks
// of that completion run.
type Operation interface {
	// TryComplete checks whether the operation can be answered now (its
	// condition holds, or it must fail early, e.g. leadership moved) and
	// reports so; the purgatory then completes it. It must not block
	// and must not complete the operation itself (no Handle.ForceComplete
	// from inside).
	TryComplete() bool
	// OnComplete answers the operation (sends the response). It is called
	// exactly once, whether the operation completed or expired.
	OnComplete()
	// OnExpiration is called exactly once if, and only if, the operation
	// expired, immediately before OnComplete, so that it can mark the
	// answer as timed out (for example REQUEST_TIMED_OUT for the
	// partitions that did not reach the required acks).
	OnExpiration()
}

// OpLocker may be implemented by an Operation whose callbacks need a lock
// shared with other state (Kafka's DelayedJoin uses the group lock). The
// purgatory then serializes the operation's callbacks with that lock
// instead of a private one. Go locks are not reentrant: with a shared lock,
// nobody may hold it while calling CheckAndComplete or TryCompleteElseWatch,
// and the callbacks must not trigger a CheckAndComplete that reaches an
// operation sharing the lock.
type OpLocker interface {
	OpLock() sync.Locker
}

// Config configures a Purgatory.
type Config struct {
	// Name identifies the purgatory ("Produce", "Fetch", "Rebalance",
	// "Heartbeat", as Kafka names them) in errors and metrics.
	Name string
	// Timer schedules deadlines. One timer should serve the whole broker;
	// it must outlive the purgatory. Nil makes the purgatory create (and
	// close) its own timer on the system clock.
	Timer *Timer
	// PurgeInterval is the number of completed operations allowed to
	// linger in watch lists before they are swept (the effective threshold
	// is the larger of this and the number of live watch entries, which
	// keeps sweeping amortized O(1) per operation). Zero means
	// DefaultPurgeInterval.
	PurgeInterval int
}

// Purgatory parks operations watched under keys of type K (a partition, a
// group, a member) until an event on one of the keys completes them or
// their deadline expires them (Kafka's DelayedOperationPurgatory). Exactly
// one of completion and expiry wins, once. It is safe for concurrent use.
type Purgatory[K comparable] struct {
	name     string
	timer    *Timer
	ownTimer bool
	seed     maphash.Seed
	shards   [numShards]shard[K]
	unkeyed  shard[struct{}] // operations watched under no key, for Close
	closed   atomic.Bool
	core     core
}

type shard[K comparable] struct {
	mu sync.Mutex
	m  map[K]*watchers // guarded by mu; never holds an empty list
}

// watchers is the watch list of one key. Completed operations are removed
// lazily: by CheckAndComplete on the key, or by a purge sweep.
type watchers struct {
	ops []*Handle // guarded by the owning shard's mu
}

// core is the key-type-independent state that Handles point back to.
type core struct {
	purgeInterval int64
	delayed       atomic.Int64 // operations registered and not yet done
	watched       atomic.Int64 // entries in watch lists, done or not
	live          atomic.Int64 // entries belonging to operations not yet done
	seq           atomic.Uint64
	purging       atomic.Bool
	purge         func()
}

// New returns a Purgatory configured by cfg.
func New[K comparable](cfg Config) (*Purgatory[K], error) {
	if cfg.PurgeInterval < 0 {
		return nil, fmt.Errorf("%w: purgatory %q purge interval %d is negative", ErrInvalidConfig, cfg.Name, cfg.PurgeInterval)
	}
	if cfg.PurgeInterval == 0 {
		cfg.PurgeInterval = DefaultPurgeInterval
	}
	p := &Purgatory[K]{name: cfg.Name, timer: cfg.Timer, seed: maphash.MakeSeed()}
	if p.timer == nil {
		t, err := NewTimer(TimerConfig{})
		if err != nil {
			return nil, fmt.Errorf("purgatory %q: %w", cfg.Name, err)
		}
		p.timer, p.ownTimer = t, true
	}
	p.core.purgeInterval = int64(cfg.PurgeInterval)
	p.core.purge = func() { p.purge() }
	return p, nil
}

// Name returns the purgatory's name.
func (p *Purgatory[K]) Name() string { return p.name }

// Timer returns the timer that schedules the purgatory's deadlines.
func (p *Purgatory[K]) Timer() *Timer { return p.timer }

// Watched returns the number of entries in the watch lists (Kafka's
// PurgatorySize gauge). An operation counts once per key (an operation with
// no key counts once), and completed operations count until purged, so
// this can exceed Delayed.
func (p *Purgatory[K]) Watched() int { return int(p.core.watched.Load()) }

// Delayed returns the number of operations parked and not yet completed or
// expired (Kafka's NumDelayedOperations gauge).
func (p *Purgatory[K]) Delayed() int { return int(p.core.delayed.Load()) }

// Handle is a parked operation's entry in the purgatory. It is safe for
// concurrent use.
type Handle struct {
	op         Operation
	mu         sync.Locker // &own, or the operation's OpLock
	own        sync.Mutex
	state      atomic.Int32
	registered bool // guarded by mu; counted in core and in watch lists
	nkeys      int64
	seq        uint64
	deadline   time.Time
	core       *core
	task       Task
}

const (
	statePending int32 = iota
	stateCompleted
	stateExpired
)

// Operation returns the operation the handle parks.
func (h *Handle) Operation() Operation { return h.op }

// Deadline returns the instant, on the purgatory timer's clock, at which
// the operation expires if not completed before.
func (h *Handle) Deadline() time.Time { return h.deadline }

// Done reports whether the operation has completed or expired (its
// OnComplete has been called or is being called).
func (h *Handle) Done() bool { return h.state.Load() != statePending }

// Expired reports whether the operation was answered by expiry.
func (h *Handle) Expired() bool { return h.state.Load() == stateExpired }

// ForceComplete completes the operation now, without checking its
// condition and without OnExpiration, unless it is already done (Kafka's
// forceComplete). It reports whether this call completed it. It takes the
// operation's lock, so it must not be called from the operation's own
// callbacks; inside TryComplete, return true instead.
func (h *Handle) ForceComplete() bool {
	h.mu.Lock()
	won := h.finishLocked(stateCompleted)
	registered := h.registered
	h.mu.Unlock()
	if won && registered {
		h.core.maybePurge()
	}
	return won
}

// expire is the timer task of a parked operation (Kafka's
// DelayedOperation.run).
func (h *Handle) expire() {
	h.mu.Lock()
	won := h.finishLocked(stateExpired)
	registered := h.registered
	h.mu.Unlock()
	if won && registered {
		h.core.maybePurge()
	}
}

// tryComplete checks a watched operation's condition and completes it if
// the condition holds (Kafka's safeTryComplete). It reports whether this
// call completed it.
func (h *Handle) tryComplete() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.state.Load() != statePending || !h.op.TryComplete() {
		return false
	}
	return h.finishLocked(stateCompleted)
}

// finishLocked is the single point where an operation is decided: the
// compare-and-swap lets exactly one caller through, which cancels the
// deadline, updates the gauges and runs the callbacks.
func (h *Handle) finishLocked(final int32) bool {
	if !h.state.CompareAndSwap(statePending, final) {
		return false
	}
	if h.registered {
		h.task.Stop()
		h.core.delayed.Add(-1)
		h.core.live.Add(-h.nkeys)
	}
	if final == stateExpired {
		h.op.OnExpiration()
	}
	h.op.OnComplete()
	return true
}

// TryCompleteElseWatch checks op once and completes it if it can be
// answered now; otherwise it watches op under every key, schedules its
// expiry timeout from now, and checks it again (an event between the first
// check and the watch would otherwise be missed). It reports whether op was
// completed during the call.
//
// Every operation passed in is answered exactly once: OnComplete runs
// either inside this call, from CheckAndComplete, ForceComplete or
// expiry on other goroutines, or (if the purgatory or its timer is closed)
// by expiry inside this call. A timeout of zero or less expires op at the
// timer's next advance if nothing completes it first. keys may repeat and
// may be empty (op then completes only by ForceComplete or expiry); the
// purgatory does not retain the slice.
func (p *Purgatory[K]) TryCompleteElseWatch(op Operation, timeout time.Duration, keys ...K) (*Handle, bool) {
	h := &Handle{
		op:       op,
		nkeys:    int64(max(len(keys), 1)),
		seq:      p.core.seq.Add(1),
		deadline: p.timer.Now().Add(timeout),
		core:     &p.core,
	}
	h.mu = &h.own
	if l, ok := op.(OpLocker); ok {
		h.mu = l.OpLock()
	}
	h.task = Task{timer: p.timer, fn: h.expire}

	h.mu.Lock()
	if op.TryComplete() {
		h.finishLocked(stateCompleted)
		h.mu.Unlock()
		return h, true
	}
	if p.closed.Load() {
		h.finishLocked(stateExpired)
		h.mu.Unlock()
		return h, false
	}
	h.registered = true
	p.core.delayed.Add(1)
	p.core.live.Add(h.nkeys)
	if len(keys) == 0 {
		watch(&p.unkeyed, struct{}{}, h, &p.core)
	}
	for _, k := range keys {
		watch(p.shardFor(k), k, h, &p.core)
	}
	if op.TryComplete() {
		h.finishLocked(stateCompleted)
		h.mu.Unlock()
		p.core.maybePurge()
		return h, true
	}
	h.mu.Unlock()

	if err := h.task.ResetAt(h.deadline); err != nil {
		h.expire() // the timer is closed: nothing would ever expire it
		return h, false
	}
	if h.Done() {
		h.task.Stop() // completed before the deadline was scheduled
	}
	if p.closed.Load() {
		h.expire() // Close may have swept the lists before we joined them
	}
	return h, false
}

func (p *Purgatory[K]) shardFor(k K) *shard[K] {
	return &p.shards[maphash.Comparable(p.seed, k)%numShards]
}

func watch[K comparable](s *shard[K], k K, h *Handle, c *core) {
	s.mu.Lock()
	w := s.m[k]
	if w == nil {
		if s.m == nil {
			s.m = make(map[K]*watchers)
		}
		w = watchersPool.Get().(*watchers)
		s.m[k] = w
	}
	w.ops = append(w.ops, h)
	s.mu.Unlock()
	c.watched.Add(1)
}

var scratchPool = sync.Pool{New: func() any { return new([]*Handle) }}

// watchersPool recycles the lists of keys that emptied: keys such as a
// partition come and go with every parked fetch, and reusing the list and
// its backing array keeps park+complete down to the allocations the caller
// cannot avoid.
var watchersPool = sync.Pool{New: func() any { return new(watchers) }}

// release returns an empty list, no longer reachable from any map, to the
// pool.
func (w *watchers) release() {
	if cap(w.ops) <= 64 {
		w.ops = w.ops[:0]
		watchersPool.Put(w)
	}
}

// CheckAndComplete checks every operation watched under key and completes
// those whose condition now holds (Kafka's checkAndComplete). Call it after
// the event that may satisfy them (an append, a high watermark move, a
// member joining), without holding any lock an operation's callbacks need.
// Operations are checked on the calling goroutine, outside the purgatory's
// locks. It returns the number of operations this call completed, and
// drops done operations from key's list.
func (p *Purgatory[K]) CheckAndComplete(key K) int {
	s := p.shardFor(key)
	s.mu.Lock()
	w := s.m[key]
	if w == nil {
		s.mu.Unlock()
		return 0
	}
	bufp := scratchPool.Get().(*[]*Handle)
	buf := append((*bufp)[:0], w.ops...)
	s.mu.Unlock()

	n := 0
	for _, h := range buf {
		if h.state.Load() == statePending && h.tryComplete() {
			n++
		}
	}

	s.mu.Lock()
	if w := s.m[key]; w != nil {
		p.core.watched.Add(-int64(w.compact()))
		if len(w.ops) == 0 {
			delete(s.m, key)
			w.release()
		}
	}
	s.mu.Unlock()

	clear(buf)
	*bufp = buf[:0]
	scratchPool.Put(bufp)
	if n > 0 {
		p.core.maybePurge()
	}
	return n
}

// compact removes done operations and returns how many it removed. The
// caller holds the shard lock.
func (w *watchers) compact() int {
	kept := w.ops[:0]
	for _, h := range w.ops {
		if h.state.Load() == statePending {
			kept = append(kept, h)
		}
	}
	removed := len(w.ops) - len(kept)
	clear(w.ops[len(kept):])
	if cap(kept) > 64 && len(kept) < cap(kept)/4 {
		kept = slices.Clone(kept) // let a hot key's burst be collected
	}
	w.ops = kept
	return removed
}

// maybePurge sweeps the watch lists once the entries of done operations
// outnumber both the purge interval and the live entries, so a sweep's
// cost is paid for by the completions that made it necessary. Only one
// sweep runs at a time.
func (c *core) maybePurge() {
	live := c.live.Load()
	if c.watched.Load()-live <= max(c.purgeInterval, live) {
		return
	}
	if c.purging.CompareAndSwap(false, true) {
		c.purge()
		c.purging.Store(false)
	}
}

// purge drops done operations from every watch list (Kafka's
// purgeCompleted) and returns how many entries it removed.
func (p *Purgatory[K]) purge() int {
	removed := 0
	for i := range p.shards {
		removed += purgeShard(&p.shards[i])
	}
	removed += purgeShard(&p.unkeyed)
	p.core.watched.Add(-int64(removed))
	return removed
}

func purgeShard[K comparable](s *shard[K]) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	removed := 0
	for k, w := range s.m {
		removed += w.compact()
		if len(w.ops) == 0 {
			delete(s.m, k)
			w.release()
		}
	}
	return removed
}

// Close shuts the purgatory down deterministically: every operation still
// parked is expired (OnExpiration, then OnComplete) before Close returns,
// in order of deadline and, for equal deadlines, of parking. Operations
// parked after Close are expired inside TryCompleteElseWatch. Expiring
// rather than dropping means every request still gets exactly one answer
// (clients see a timeout instead of silence). Close does not wait for
// callbacks running on other goroutines. If the purgatory created its own
// timer, Close closes it. Close is idempotent.
func (p *Purgatory[K]) Close() {
	if !p.closed.CompareAndSwap(false, true) {
		return
	}
	var ops []*Handle
	for i := range p.shards {
		ops = drainShard(&p.shards[i], ops, &p.core)
	}
	ops = drainShard(&p.unkeyed, ops, &p.core)
	slices.SortFunc(ops, func(a, b *Handle) int {
		if c := a.deadline.Compare(b.deadline); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	for _, h := range ops {
		h.expire() // a no-op for an operation listed under several keys after the first
	}
	if p.ownTimer {
		p.timer.Close()
	}
}

// drainShard empties a shard, appending its pending operations to ops.
func drainShard[K comparable](s *shard[K], ops []*Handle, c *core) []*Handle {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.m {
		c.watched.Add(-int64(len(w.ops)))
		for _, h := range w.ops {
			if h.state.Load() == statePending {
				ops = append(ops, h)
			}
		}
	}
	s.m = nil
	return ops
}
