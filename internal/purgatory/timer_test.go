package purgatory

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func newManualTimer(t testing.TB, tick time.Duration, size int) (*Timer, *ManualClock) {
	t.Helper()
	clk := NewManualClock(epoch)
	tm, err := NewTimer(TimerConfig{Tick: tick, WheelSize: size, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tm.Close)
	return tm, clk
}

// roundUp returns the first tick boundary (relative to epoch) at or after d.
func roundUp(d, tick time.Duration) time.Duration {
	if r := d % tick; r != 0 {
		return d + tick - r
	}
	return d
}

type firing struct {
	id int
	at time.Duration // clock reading (since epoch) of the Advance that ran it
}

// TestTimerFiresAtFirstAdvancePastDeadline schedules tasks at every horizon
// (within the finest wheel up to five overflow levels) and advances the
// clock by irregular steps, small and huge. Each task must run in the first
// Advance whose clock reading is at or after its deadline rounded up to the
// tick: never early, and never later than the first advance past one tick
// after its deadline. Runs within one Advance must be in deadline-tick order.
func TestTimerFiresAtFirstAdvancePastDeadline(t *testing.T) {
	for _, tc := range []struct {
		name string
		tick time.Duration
		size int
	}{
		{"kafka-1ms-x20", time.Millisecond, 20},
		{"odd-tick-x7", 3 * time.Millisecond, 7},
		{"tiny-wheel-x2", 10 * time.Microsecond, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.size)))
			tm, clk := newManualTimer(t, tc.tick, tc.size)
			const n = 3000
			deadlines := make([]time.Duration, n)
			var mu sync.Mutex
			var fired []firing
			var now time.Duration
			horizon := tc.tick
			for range 6 {
				horizon *= time.Duration(tc.size)
			}
			for i := range deadlines {
				// Spread over levels: pick a level, then a deadline inside it.
				span := tc.tick * time.Duration(tc.size)
				for range rng.IntN(6) {
					span *= time.Duration(tc.size)
				}
				deadlines[i] = time.Duration(rng.Int64N(int64(span)))
				if i%10 == 0 {
					deadlines[i] = roundUp(deadlines[i], tc.tick) // exactly on a boundary
				}
				i := i
				tm.NewTask(func() {
					mu.Lock()
					fired = append(fired, firing{i, now})
					mu.Unlock()
				}).ResetAt(epoch.Add(deadlines[i]))
			}
			if got := tm.Len(); got != n {
				t.Fatalf("Len = %d, want %d", got, n)
			}
			// Advance times: every rounded deadline of a sample, the
			// instant just before it, and random points, in order.
			var times []time.Duration
			for i := 0; i < n; i += 7 {
				r := roundUp(deadlines[i], tc.tick)
				times = append(times, r, r-1)
			}
			for range 500 {
				times = append(times, time.Duration(rng.Int64N(int64(horizon))))
			}
			times = append(times, horizon*2)
			slices.Sort(times)
			for _, at := range times {
				if at < now {
					continue
				}
				now = at
				clk.Set(epoch.Add(at))
				tm.Advance()
			}
			if len(fired) != n {
				t.Fatalf("fired %d tasks, want %d", len(fired), n)
			}
			seen := make([]bool, n)
			prevAdvance := map[time.Duration]time.Duration{} // advance time -> previous advance time
			var last time.Duration = -1
			for _, at := range times {
				if at != last {
					prevAdvance[at] = last
					last = at
				}
			}
			var prevTick time.Duration = -1
			var prevAt time.Duration = -1
			for _, f := range fired {
				if seen[f.id] {
					t.Fatalf("task %d fired twice", f.id)
				}
				seen[f.id] = true
				due := roundUp(deadlines[f.id], tc.tick)
				if f.at < deadlines[f.id] {
					t.Fatalf("task %d fired early: at %v, deadline %v", f.id, f.at, deadlines[f.id])
				}
				if f.at < due {
					t.Fatalf("task %d fired before its tick: at %v, due %v", f.id, f.at, due)
				}
				if p := prevAdvance[f.at]; p >= due {
					t.Fatalf("task %d late: due %v, not fired by advance at %v (fired at %v)", f.id, due, p, f.at)
				}
				if f.at == prevAt && due < prevTick {
					t.Fatalf("task %d (tick %v) ran after a task of tick %v in the same advance", f.id, due, prevTick)
				}
				prevAt, prevTick = f.at, due
			}
			if got := tm.Len(); got != 0 {
				t.Fatalf("Len after all fired = %d", got)
			}
		})
	}
}

// TestTimerTickByTick advances exactly one tick at a time: every task then
// runs within one tick after its deadline.
func TestTimerTickByTick(t *testing.T) {
	const tick = time.Millisecond
	tm, clk := newManualTimer(t, tick, 20)
	rng := rand.New(rand.NewPCG(2, 2))
	const n = 500
	deadlines := make([]time.Duration, n)
	firedAt := make([]time.Duration, n)
	var now time.Duration
	for i := range deadlines {
		deadlines[i] = time.Duration(rng.Int64N(int64(1500 * time.Millisecond)))
		firedAt[i] = -1
		tm.AfterFunc(deadlines[i], func() {
			if firedAt[i] >= 0 {
				t.Errorf("task %d fired twice", i)
			}
			firedAt[i] = now
		})
	}
	for now < 1600*time.Millisecond {
		now = clk.Add(tick).Sub(epoch)
		tm.Advance()
	}
	for i, at := range firedAt {
		if at < deadlines[i] || at >= deadlines[i]+tick {
			t.Errorf("task %d: deadline %v fired at %v; want within [deadline, deadline+tick)", i, deadlines[i], at)
		}
	}
}

// TestTimerOverflowCascade checks the lazily built hierarchy: far deadlines
// create overflow wheels, only non-empty buckets are queued, and a far
// bucket cascades down to fire its tasks at their own ticks.
func TestTimerOverflowCascade(t *testing.T) {
	const tick = time.Millisecond
	tm, clk := newManualTimer(t, tick, 20)
	var order []int
	// 1h = 3.6e6 ticks needs levels of 20, 400, 8000, 160000, 3.2e6 and 6.4e7 ticks.
	base := time.Hour
	for i, off := range []time.Duration{7 * time.Millisecond, 0, 250 * time.Millisecond, 3 * time.Millisecond} {
		tm.AfterFunc(base+off, func() { order = append(order, i) })
	}
	levels := 0
	for w := tm.wheel; w != nil; w = w.overflow {
		levels++
	}
	if levels != 6 {
		t.Fatalf("wheel levels = %d, want 6", levels)
	}
	if got := len(tm.queue); got != 1 {
		t.Fatalf("queued buckets = %d, want 1 (all four tasks share one far bucket)", got)
	}
	clk.Set(epoch.Add(base - 1))
	if n := tm.Advance(); n != 0 {
		t.Fatalf("ran %d tasks before the first deadline", n)
	}
	clk.Set(epoch.Add(base))
	if n := tm.Advance(); n != 1 || !slices.Equal(order, []int{1}) {
		t.Fatalf("at the first deadline ran %d, order %v", n, order)
	}
	clk.Set(epoch.Add(base + 5*time.Millisecond))
	tm.Advance()
	if !slices.Equal(order, []int{1, 3}) {
		t.Fatalf("order %v, want [1 3]", order)
	}
	// One big jump past everything: the rest fire in deadline order.
	clk.Add(10 * time.Hour)
	tm.Advance()
	if !slices.Equal(order, []int{1, 3, 0, 2}) {
		t.Fatalf("order %v, want [1 3 0 2]", order)
	}
	if len(tm.queue) != 0 || tm.Len() != 0 {
		t.Fatalf("queue %d, len %d after all fired", len(tm.queue), tm.Len())
	}
}

// TestTimerHugeDeadlines clamps absurd deadlines instead of overflowing.
func TestTimerHugeDeadlines(t *testing.T) {
	tm, clk := newManualTimer(t, time.Nanosecond, 2)
	ran := 0
	tk := tm.AfterFunc(time.Duration(1<<63-1), func() { ran++ })
	near := tm.AfterFunc(time.Second, func() { ran++ })
	clk.Add(2 * time.Second)
	tm.Advance()
	if ran != 1 || near.Pending() || !tk.Pending() {
		t.Fatalf("ran %d, near pending %v, far pending %v", ran, near.Pending(), tk.Pending())
	}
	if !tk.Stop() {
		t.Fatal("Stop of far task reported not scheduled")
	}
}

func TestTimerStop(t *testing.T) {
	tm, clk := newManualTimer(t, time.Millisecond, 20)
	var ran []string
	a := tm.AfterFunc(5*time.Millisecond, func() { ran = append(ran, "a") })
	b := tm.AfterFunc(5*time.Millisecond, func() { ran = append(ran, "b") })
	far := tm.AfterFunc(time.Minute, func() { ran = append(ran, "far") })
	if !a.Stop() {
		t.Fatal("Stop of a scheduled task returned false")
	}
	if a.Stop() {
		t.Fatal("second Stop returned true")
	}
	if !far.Stop() {
		t.Fatal("Stop of an overflow-wheel task returned false")
	}
	if tm.Len() != 1 {
		t.Fatalf("Len = %d, want 1", tm.Len())
	}
	clk.Add(2 * time.Minute)
	tm.Advance()
	if !slices.Equal(ran, []string{"b"}) {
		t.Fatalf("ran %v, want [b]", ran)
	}
	if b.Stop() {
		t.Fatal("Stop after the task ran returned true")
	}
	if never := tm.NewTask(func() {}); never.Stop() || never.Pending() {
		t.Fatal("unscheduled task reported scheduled")
	}
}

func TestTimerResetMoves(t *testing.T) {
	tm, clk := newManualTimer(t, time.Millisecond, 20)
	runs := 0
	tk := tm.AfterFunc(time.Hour, func() { runs++ })
	if err := tk.Reset(10 * time.Millisecond); err != nil { // far -> near
		t.Fatal(err)
	}
	if tm.Len() != 1 {
		t.Fatalf("Len after move = %d, want 1", tm.Len())
	}
	clk.Add(9 * time.Millisecond)
	tm.Advance()
	if err := tk.Reset(30 * time.Millisecond); err != nil { // near -> later, before firing
		t.Fatal(err)
	}
	clk.Add(5 * time.Millisecond)
	tm.Advance()
	if runs != 0 {
		t.Fatal("ran at the old deadline after being moved later")
	}
	clk.Add(25 * time.Millisecond)
	tm.Advance()
	if runs != 1 {
		t.Fatalf("runs = %d at the new deadline, want 1", runs)
	}
	// Re-adding a task that already ran schedules it again.
	if err := tk.Reset(time.Second); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	tm.Advance()
	if runs != 2 || tm.Len() != 0 {
		t.Fatalf("runs = %d, Len = %d; want 2, 0", runs, tm.Len())
	}
}

func TestTimerDueTasksRunOnlyInAdvance(t *testing.T) {
	tm, _ := newManualTimer(t, time.Millisecond, 20)
	var ran []int
	tm.AfterFunc(0, func() { ran = append(ran, 0) })
	tm.AfterFunc(-time.Hour, func() { ran = append(ran, 1) })
	stopped := tm.AfterFunc(0, func() { ran = append(ran, 2) })
	if len(ran) != 0 {
		t.Fatal("a due task ran inside scheduling")
	}
	if !stopped.Stop() {
		t.Fatal("could not stop a due, not yet run task")
	}
	if n := tm.Advance(); n != 2 || !slices.Equal(ran, []int{0, 1}) {
		t.Fatalf("Advance ran %d: %v", n, ran)
	}
}

// TestTimerTasksRunOutsideLock schedules, stops and reschedules from inside
// running tasks, which would deadlock if tasks ran under the timer's lock.
func TestTimerTasksRunOutsideLock(t *testing.T) {
	tm, clk := newManualTimer(t, time.Millisecond, 20)
	ticks := 0
	var periodic *Task
	periodic = tm.NewTask(func() {
		ticks++
		if ticks < 5 {
			if err := periodic.Reset(10 * time.Millisecond); err != nil {
				t.Error(err)
			}
		}
	})
	victim := tm.AfterFunc(15*time.Millisecond, func() { t.Error("victim ran") })
	tm.AfterFunc(time.Millisecond, func() {
		victim.Stop()
		_ = tm.Len()
	})
	if err := periodic.Reset(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		clk.Add(time.Millisecond)
		tm.Advance()
	}
	if ticks != 5 {
		t.Fatalf("periodic task ran %d times, want 5", ticks)
	}
}

func TestTimerClose(t *testing.T) {
	clk := NewManualClock(epoch)
	tm, err := NewTimer(TimerConfig{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	pending := tm.AfterFunc(time.Millisecond, func() { t.Error("ran after Close") })
	tm.Close()
	tm.Close()
	if pending.Pending() || pending.Stop() {
		t.Fatal("task still scheduled after Close")
	}
	if err := pending.Reset(time.Millisecond); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reset after Close = %v, want ErrClosed", err)
	}
	if tk := tm.AfterFunc(0, func() { t.Error("ran after Close") }); tk.Pending() {
		t.Fatal("AfterFunc scheduled on a closed timer")
	}
	clk.Add(time.Hour)
	if n := tm.Advance(); n != 0 || tm.Len() != 0 {
		t.Fatalf("Advance after Close ran %d, Len %d", n, tm.Len())
	}
}

func TestNewTimerInvalidConfig(t *testing.T) {
	for _, cfg := range []TimerConfig{{Tick: -1}, {WheelSize: 1}, {WheelSize: -5}} {
		if _, err := NewTimer(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewTimer(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}

// TestTimerConcurrentStopResetExactlyOnce hammers one timer from several
// goroutines while another advances it: every task ends either stopped
// (Stop returned true) or run, never both, never twice.
func TestTimerConcurrentStopResetExactlyOnce(t *testing.T) {
	tm, clk := newManualTimer(t, time.Millisecond, 8)
	const workers, per = 4, 2000
	runs := make([]atomic.Int32, workers*per)
	stopped := make([]atomic.Bool, workers*per)
	var wg sync.WaitGroup
	var stopAdv atomic.Bool
	adv := make(chan struct{})
	go func() {
		defer close(adv)
		for !stopAdv.Load() {
			clk.Add(time.Millisecond)
			tm.Advance()
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for i := range per {
				id := w*per + i
				d := time.Duration(rng.IntN(300)) * time.Millisecond
				if rng.IntN(4) == 0 {
					d = time.Hour // cannot have run before the Reset below
				}
				tk := tm.AfterFunc(d, func() { runs[id].Add(1) })
				switch {
				case d == time.Hour:
					// Move a pending task: it runs once, at the new deadline.
					_ = tk.Reset(time.Duration(rng.IntN(50)) * time.Millisecond)
				case rng.IntN(2) == 0:
					if tk.Stop() {
						stopped[id].Store(true)
					}
				default:
					// Stop then re-add: still exactly one run.
					if tk.Stop() {
						_ = tk.Reset(time.Duration(rng.IntN(50)) * time.Millisecond)
					}
				}
			}
		}()
	}
	wg.Wait()
	stopAdv.Store(true)
	<-adv
	clk.Add(time.Hour)
	tm.Advance()
	for id := range runs {
		r, s := runs[id].Load(), stopped[id].Load()
		if s && r != 0 || !s && r != 1 {
			t.Fatalf("task %d: stopped=%v runs=%d", id, s, r)
		}
	}
	if tm.Len() != 0 {
		t.Fatalf("Len = %d after everything ran", tm.Len())
	}
}

// TestTimerSystemClock runs the production reaper. It only checks order and
// "eventually": never absolute durations.
func TestTimerSystemClock(t *testing.T) {
	tm, err := NewTimer(TimerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	const n = 200
	type rec struct {
		tick  int64
		early bool
	}
	got := make(chan rec, n)
	rng := rand.New(rand.NewPCG(3, 3))
	for range n {
		deadline := tm.Now().Add(time.Duration(rng.IntN(30)) * time.Millisecond)
		tk := tm.NewTask(func() { got <- rec{tm.ceilTick(deadline), time.Now().Before(deadline)} })
		if err := tk.ResetAt(deadline); err != nil {
			t.Fatal(err)
		}
	}
	// A far task must not hold Close up, and must not run.
	tm.AfterFunc(time.Hour, func() { t.Error("far task ran") })
	var prev int64 = -1
	for i := range n {
		select {
		case r := <-got:
			if r.early {
				t.Fatalf("task %d ran before its deadline", i)
			}
			if r.tick < prev {
				t.Fatalf("task %d of tick %d ran after one of tick %d", i, r.tick, prev)
			}
			prev = r.tick
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d tasks ran", i, n)
		}
	}
	// A task scheduled while the reaper sleeps on the far bucket wakes it.
	woke := make(chan struct{})
	tm.AfterFunc(time.Millisecond, func() { close(woke) })
	select {
	case <-woke:
	case <-time.After(30 * time.Second):
		t.Fatal("reaper did not wake for an earlier task")
	}
}
