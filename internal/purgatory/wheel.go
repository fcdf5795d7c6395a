package purgatory

import "math"

// This file holds the data structures behind Timer: the intrusive bucket
// lists, the hierarchical wheels and the min-heap of due buckets (Kafka's
// TimerTaskList, TimingWheel and DelayQueue). Every function here must be
// called with Timer.mu held; they carry no locks of their own.
//
// All times are int64 counts of the Timer's tick since its base instant, so
// the level-0 wheel works in units of exactly one tick and a task is never
// considered due before its (rounded up) deadline.

// maxTick caps expirations so that no sum or product below overflows int64:
// 2^62 ticks of 1 ms is about 146 million years.
const maxTick = int64(1) << 62

// satMul returns a*b for positive a and b, or math.MaxInt64 if the product
// does not fit.
func satMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

// bucket is one slot of a wheel: a circular doubly linked list of tasks
// threaded through the tasks themselves (so insert and remove allocate
// nothing and cost O(1)), plus the expiration under which the slot is
// queued in the heap.
type bucket struct {
	root       Task  // sentinel: root.next is the first task, root.prev the last
	expiration int64 // tick at which the bucket is due; -1 when not in the heap
	index      int   // position in the heap while queued
}

func (b *bucket) init() {
	b.root.next = &b.root
	b.root.prev = &b.root
	b.expiration = -1
	b.index = -1
}

func (b *bucket) empty() bool { return b.root.next == &b.root }

func (b *bucket) push(t *Task) {
	t.list = b
	t.prev = b.root.prev
	t.next = &b.root
	b.root.prev.next = t
	b.root.prev = t
}

func (b *bucket) remove(t *Task) {
	t.prev.next = t.next
	t.next.prev = t.prev
	t.prev, t.next, t.list = nil, nil, nil
}

// detach empties the bucket and returns its former first task; the chain
// can be walked through next until it reaches &b.root. The tasks still
// have list == b; the caller clears it as it walks.
func (b *bucket) detach() *Task {
	first := b.root.next
	b.root.next = &b.root
	b.root.prev = &b.root
	return first
}

// wheel is one level of the hierarchy: size buckets of tick each, covering
// [currentTime, currentTime+interval). Expirations beyond that go to the
// lazily created overflow wheel, whose tick is this wheel's interval.
type wheel struct {
	tick        int64
	size        int64
	interval    int64 // tick*size, saturated at MaxInt64
	currentTime int64 // always a multiple of tick
	buckets     []bucket
	overflow    *wheel
}

func newWheel(tick, size, start int64) *wheel {
	w := &wheel{
		tick:        tick,
		size:        size,
		interval:    satMul(tick, size),
		currentTime: start - start%tick,
		buckets:     make([]bucket, size),
	}
	for i := range w.buckets {
		w.buckets[i].init()
	}
	return w
}

// advance moves the wheel's (and, if it moved, its overflow wheels')
// current time to now rounded down to the tick. Callers only advance to a
// time for which every bucket due at or before it has been polled.
func (w *wheel) advance(now int64) {
	for ; w != nil; w = w.overflow {
		if now-w.currentTime < w.tick {
			return
		}
		w.currentTime = now - now%w.tick
	}
}

// bucketHeap is a binary min-heap of buckets ordered by expiration. Only
// non-empty buckets are pushed, so the timer can sleep until the head's
// expiration instead of ticking through empty slots.
type bucketHeap []*bucket

func (h bucketHeap) less(i, j int) bool { return h[i].expiration < h[j].expiration }

func (h bucketHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *bucketHeap) push(b *bucket) {
	b.index = len(*h)
	*h = append(*h, b)
	h.up(b.index)
}

func (h *bucketHeap) pop() *bucket {
	old := *h
	n := len(old) - 1
	old.swap(0, n)
	b := old[n]
	old[n] = nil
	*h = old[:n]
	if n > 0 {
		h.down(0)
	}
	b.index = -1
	return b
}

// fix restores the heap order after b's expiration decreased.
func (h bucketHeap) fix(b *bucket) { h.up(b.index) }

func (h bucketHeap) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h bucketHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.swap(i, m)
		i = m
	}
}
