package purgatory

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// ErrClosed is returned when scheduling on a Timer that has been closed.
var ErrClosed = errors.New("purgatory: closed")

// ErrInvalidConfig is returned (wrapped) by NewTimer and New for settings
// that cannot work.
var ErrInvalidConfig = errors.New("purgatory: invalid config")

// Default timer geometry, Kafka's SystemTimer defaults: 20 buckets of 1 ms
// on the finest wheel, so the wheels cover 20 ms, 400 ms, 8 s, 160 s, ...
const (
	DefaultTick      = time.Millisecond
	DefaultWheelSize = 20
)

// TimerConfig configures a Timer. The zero value is a production timer with
// Kafka's geometry driven by the system clock.
type TimerConfig struct {
	// Tick is the resolution of the finest wheel; a task fires at the
	// first tick boundary at or after its deadline. Zero means DefaultTick.
	Tick time.Duration
	// WheelSize is the number of buckets per wheel. Zero means
	// DefaultWheelSize.
	WheelSize int
	// Clock, when nil, selects the system clock and starts the reaper
	// goroutine that sleeps until the next due bucket and runs what
	// expired. A non-nil Clock puts the timer in manual mode: no goroutine
	// is started and tasks only run when the owner calls Advance, which is
	// how tests drive it without sleeping.
	Clock Clock
}

// Timer is a hierarchical timing wheel (Kafka's SystemTimer): scheduling,
// rescheduling and cancelling a task cost O(1) at any horizon, and only
// buckets that hold tasks are queued in a min-heap, so the reaper wakes
// once per due bucket rather than once per tick. One Timer is meant to
// serve a whole broker; it is safe for concurrent use.
//
// Expired tasks are collected under the timer's lock and then run, outside
// it, one after another on the goroutine that advanced the clock: the
// reaper in production, the caller of Advance in manual mode. A task must
// therefore be short (hand long work to another goroutine) and must not
// call Advance or Close; it may schedule, reset or stop any task,
// including itself.
type Timer struct {
	clock Clock
	base  time.Time     // instant of tick 0
	tick  time.Duration // resolution of the finest wheel

	advMu sync.Mutex // serializes Advance, so batches run in clock order
	batch []*Task    // guarded by advMu; reused buffer of due tasks

	mu         sync.Mutex
	wheel      *wheel     // guarded by mu; finest wheel, overflow wheels hang off it
	queue      bucketHeap // guarded by mu; non-empty buckets by expiration
	due        bucket     // guarded by mu; tasks already due, run at the next Advance
	count      int        // guarded by mu; scheduled tasks
	closed     bool       // guarded by mu
	sleepUntil int64      // guarded by mu; tick the reaper sleeps until, -1 when awake

	wake      chan struct{} // nil in manual mode; nudges the reaper
	stop      chan struct{} // nil in manual mode; closed by Close
	done      chan struct{} // nil in manual mode; closed when the reaper exits
	closeOnce sync.Once
}

// NewTimer returns a Timer configured by cfg. With a nil cfg.Clock it
// starts the reaper goroutine, which Close stops.
func NewTimer(cfg TimerConfig) (*Timer, error) {
	if cfg.Tick == 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.WheelSize == 0 {
		cfg.WheelSize = DefaultWheelSize
	}
	if cfg.Tick < 0 {
		return nil, fmt.Errorf("%w: tick %v is negative", ErrInvalidConfig, cfg.Tick)
	}
	if cfg.WheelSize < 2 {
		return nil, fmt.Errorf("%w: wheel size %d is below 2", ErrInvalidConfig, cfg.WheelSize)
	}
	manual := cfg.Clock != nil
	if !manual {
		cfg.Clock = systemClock{}
	}
	t := &Timer{
		clock:      cfg.Clock,
		base:       cfg.Clock.Now(),
		tick:       cfg.Tick,
		wheel:      newWheel(1, int64(cfg.WheelSize), 0),
		sleepUntil: -1,
	}
	t.due.init()
	if !manual {
		t.wake = make(chan struct{}, 1)
		t.stop = make(chan struct{})
		t.done = make(chan struct{})
		go t.reap()
	}
	return t, nil
}

// Now returns the timer's clock reading.
func (t *Timer) Now() time.Time { return t.clock.Now() }

// Tick returns the resolution of the finest wheel.
func (t *Timer) Tick() time.Duration { return t.tick }

// Len returns the number of scheduled tasks, including those already due
// but not yet run.
func (t *Timer) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.count
}

// Task is a function scheduled on a Timer. A Task can be rescheduled and
// stopped any number of times and from any goroutine; its methods are safe
// for concurrent use.
type Task struct {
	timer *Timer
	fn    func()

	list       *bucket // guarded by timer.mu; nil when not scheduled
	prev, next *Task   // guarded by timer.mu
	expiration int64   // guarded by timer.mu; tick at which it is due
}

// NewTask returns an unscheduled task that runs f when it expires.
func (t *Timer) NewTask(f func()) *Task {
	return &Task{timer: t, fn: f}
}

// AfterFunc schedules f to run once d from now and returns its task, like
// time.AfterFunc but on the wheel (f runs on the timer's goroutine, not a
// new one). On a closed timer the task is returned unscheduled and f never
// runs.
func (t *Timer) AfterFunc(d time.Duration, f func()) *Task {
	tk := t.NewTask(f)
	_ = tk.Reset(d)
	return tk
}

// Reset schedules the task to run d from now, moving it if it was already
// scheduled. A d of zero or less makes it due at the next advance of the
// clock; it never runs inside Reset. It returns ErrClosed if the timer is
// closed.
func (tk *Task) Reset(d time.Duration) error {
	return tk.ResetAt(tk.timer.clock.Now().Add(d))
}

// ResetAt schedules the task to run at deadline (rounded up to the tick),
// moving it if it was already scheduled. It returns ErrClosed if the timer
// is closed.
func (tk *Task) ResetAt(deadline time.Time) error {
	t := tk.timer
	exp := t.ceilTick(deadline)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if tk.list != nil {
		tk.list.remove(tk)
	} else {
		t.count++
	}
	tk.expiration = exp
	t.insertLocked(tk)
	return nil
}

// Stop unschedules the task. It reports whether it did so; false means the
// task was not scheduled: never scheduled, stopped already, or already
// handed to the goroutine that runs expired tasks (in which case it runs or
// has run). Stop is O(1): the task is unlinked from its bucket, and the
// bucket, if now empty, is simply skipped when it comes due.
func (tk *Task) Stop() bool {
	t := tk.timer
	t.mu.Lock()
	defer t.mu.Unlock()
	if tk.list == nil {
		return false
	}
	tk.list.remove(tk)
	t.count--
	return true
}

// Pending reports whether the task is scheduled and not yet handed out to
// run.
func (tk *Task) Pending() bool {
	t := tk.timer
	t.mu.Lock()
	defer t.mu.Unlock()
	return tk.list != nil
}

// ceilTick converts a deadline to the first tick at or after it.
func (t *Timer) ceilTick(deadline time.Time) int64 {
	ns := deadline.Sub(t.base)
	if ns <= 0 {
		return 0
	}
	q := int64(ns / t.tick)
	if ns%t.tick != 0 {
		q++
	}
	return min(q, maxTick)
}

// floorTick converts an instant to the last tick at or before it.
func (t *Timer) floorTick(now time.Time) int64 {
	ns := now.Sub(t.base)
	if ns <= 0 {
		return 0
	}
	return min(int64(ns/t.tick), maxTick)
}

// insertLocked places a task with its expiration set into the finest wheel
// that covers it (Kafka's TimingWheel.add), or into the due list if its
// tick has already been reached.
func (t *Timer) insertLocked(tk *Task) {
	w := t.wheel
	if tk.expiration <= w.currentTime {
		t.due.push(tk)
		t.wakeLocked(w.currentTime)
		return
	}
	for {
		// Both sides are below 2^62, so the subtraction cannot overflow
		// and a saturated interval covers everything.
		if tk.expiration-w.currentTime < w.interval {
			vid := tk.expiration / w.tick
			b := &w.buckets[vid%w.size]
			b.push(tk)
			exp := vid * w.tick
			switch {
			case b.expiration < 0:
				b.expiration = exp
				t.queue.push(b)
				t.wakeLocked(exp)
			case exp < b.expiration:
				// Cannot happen while the wheel invariants hold (a slot is
				// only reused after it was polled), but polling a bucket
				// early is always safe: its tasks are just reinserted.
				b.expiration = exp
				t.queue.fix(b)
				t.wakeLocked(exp)
			}
			return
		}
		if w.overflow == nil {
			w.overflow = newWheel(w.interval, w.size, w.currentTime)
		}
		w = w.overflow
	}
}

// wakeLocked nudges a sleeping reaper if something now comes due before
// the tick it sleeps until.
func (t *Timer) wakeLocked(exp int64) {
	if t.wake == nil || exp >= t.sleepUntil {
		return
	}
	t.sleepUntil = -1
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Advance moves the timer to the clock's current reading and runs, on the
// calling goroutine and outside the timer's lock, every task that became
// due, in order of expiration tick (tasks due in the same tick run in no
// particular order). It returns the number of tasks run. In manual mode it
// is the only thing that runs tasks; with the system clock the reaper calls
// it and other callers need not. Calls are serialized.
func (t *Timer) Advance() int {
	t.advMu.Lock()
	defer t.advMu.Unlock()
	now := t.clock.Now()

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return 0
	}
	nowTick := t.floorTick(now)
	for len(t.queue) > 0 && t.queue[0].expiration <= nowTick {
		b := t.queue.pop()
		t.wheel.advance(b.expiration)
		b.expiration = -1
		// Kafka's TimerTaskList.flush: reinsert everything; entries of
		// a coarse bucket cascade into finer wheels or the due list.
		for tk := b.detach(); tk != &b.root; {
			next := tk.next
			tk.list, tk.prev, tk.next = nil, nil, nil
			t.insertLocked(tk)
			tk = next
		}
	}
	// Every bucket due by now has been polled, so the wheels may move to
	// now; later insertions then land on the finest level that fits.
	t.wheel.advance(nowTick)
	batch := t.batch[:0]
	for !t.due.empty() {
		tk := t.due.root.next
		t.due.remove(tk)
		batch = append(batch, tk)
	}
	t.count -= len(batch)
	t.mu.Unlock()

	n := len(batch)
	for i, tk := range batch {
		batch[i] = nil
		tk.fn()
	}
	if cap(batch) > 4096 {
		batch = nil // a burst should not pin its buffer forever
	}
	t.batch = batch[:0]
	return n
}

// reap is the production driver: it advances the timer, then sleeps until
// the head of the bucket heap is due, an earlier bucket appears, or Close.
func (t *Timer) reap() {
	defer close(t.done)
	sleep := time.NewTimer(time.Hour)
	sleep.Stop()
	defer sleep.Stop()
	for {
		t.Advance()

		t.mu.Lock()
		var wait time.Duration
		idle := false
		switch {
		case t.closed:
			t.mu.Unlock()
			return
		case !t.due.empty():
			wait = 0
		case len(t.queue) > 0:
			exp := t.queue[0].expiration
			t.sleepUntil = exp
			wait = max(0, time.Duration(satMul(exp, int64(t.tick)))-t.clock.Now().Sub(t.base))
		default:
			t.sleepUntil = math.MaxInt64
			idle = true
		}
		t.mu.Unlock()

		switch {
		case idle:
			select {
			case <-t.stop:
				return
			case <-t.wake:
			}
		case wait == 0:
			select {
			case <-t.stop:
				return
			default:
			}
		default:
			sleep.Reset(wait)
			select {
			case <-t.stop:
				return
			case <-t.wake:
				sleep.Stop()
			case <-sleep.C:
			}
		}
	}
}

// Close stops the timer: tasks still scheduled are dropped without running,
// later scheduling returns ErrClosed, and the reaper goroutine (if any) has
// exited when Close returns. A batch of expired tasks already running
// finishes first. Close is idempotent and must not be called from a task.
func (t *Timer) Close() {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		for _, b := range t.queue {
			t.dropLocked(b)
		}
		t.queue = nil
		t.dropLocked(&t.due)
		t.count = 0
	}
	t.mu.Unlock()
	if t.stop != nil {
		t.closeOnce.Do(func() { close(t.stop) })
		<-t.done
	}
}

// dropLocked unlinks every task of b so that Stop and Pending report them
// as not scheduled.
func (t *Timer) dropLocked(b *bucket) {
	for tk := b.detach(); tk != &b.root; {
		next := tk.next
		tk.list, tk.prev, tk.next = nil, nil, nil
		tk = next
	}
	b.expiration = -1
	b.index = -1
}
