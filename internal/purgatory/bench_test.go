package purgatory

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The benchmarks pair each wheel figure with a baseline measured in the same
// run (Go's runtime timers via time.AfterFunc, or a goroutine per parked
// request); docs/purgatory.md records the ratios and the command.

// benchWindow is the number of outstanding timers kept while cancelling:
// a broker holds thousands of parked fetches and produces at once.
const benchWindow = 10000

// benchDurations are long enough that nothing expires during the run, so
// the add+cancel benchmarks measure exactly that.
func benchDurations() []time.Duration {
	rng := rand.New(rand.NewPCG(1, 1))
	d := make([]time.Duration, 4096)
	for i := range d {
		d[i] = time.Minute + time.Duration(rng.Int64N(int64(time.Hour)))
	}
	return d
}

func newBenchTimer(b *testing.B) *Timer {
	tm, err := NewTimer(TimerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(tm.Close)
	return tm
}

// BenchmarkTimerAddCancel schedules a task and cancels the one scheduled
// benchWindow operations earlier, like a purgatory whose operations
// complete long before their deadline (the common case).
func BenchmarkTimerAddCancel(b *testing.B) {
	durs := benchDurations()
	nop := func() {}
	b.Run("wheel", func(b *testing.B) {
		tm := newBenchTimer(b)
		ring := make([]*Task, benchWindow)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			j := i % benchWindow
			if ring[j] != nil {
				ring[j].Stop()
			}
			ring[j] = tm.AfterFunc(durs[i%len(durs)], nop)
		}
		b.StopTimer()
		for _, tk := range ring {
			if tk != nil {
				tk.Stop()
			}
		}
	})
	b.Run("baseline=time.AfterFunc", func(b *testing.B) {
		ring := make([]*time.Timer, benchWindow)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			j := i % benchWindow
			if ring[j] != nil {
				ring[j].Stop()
			}
			ring[j] = time.AfterFunc(durs[i%len(durs)], nop)
		}
		b.StopTimer()
		for _, tm := range ring {
			if tm != nil {
				tm.Stop()
			}
		}
	})
	// The same with task objects reused (Reset moves a scheduled task), as
	// the purgatory does with the task embedded in each Handle.
	b.Run("wheel-reset", func(b *testing.B) {
		tm := newBenchTimer(b)
		ring := make([]*Task, benchWindow)
		for i := range ring {
			ring[i] = tm.NewTask(nop)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			tk := ring[i%benchWindow]
			tk.Stop()
			_ = tk.Reset(durs[i%len(durs)])
		}
		b.StopTimer()
		for _, tk := range ring {
			tk.Stop()
		}
	})
	b.Run("baseline=time.Timer.Reset", func(b *testing.B) {
		ring := make([]*time.Timer, benchWindow)
		for i := range ring {
			ring[i] = time.AfterFunc(time.Hour, nop)
			ring[i].Stop()
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			tm := ring[i%benchWindow]
			tm.Stop()
			tm.Reset(durs[i%len(durs)])
		}
		b.StopTimer()
		for _, tm := range ring {
			tm.Stop()
		}
	})
	b.Run("wheel-parallel", func(b *testing.B) {
		tm := newBenchTimer(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ring := make([]*Task, benchWindow)
			for i := 0; pb.Next(); i++ {
				j := i % benchWindow
				if ring[j] != nil {
					ring[j].Stop()
				}
				ring[j] = tm.AfterFunc(durs[i%len(durs)], nop)
			}
			for _, tk := range ring {
				if tk != nil {
					tk.Stop()
				}
			}
		})
	})
	b.Run("baseline=time.AfterFunc-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			ring := make([]*time.Timer, benchWindow)
			for i := 0; pb.Next(); i++ {
				j := i % benchWindow
				if ring[j] != nil {
					ring[j].Stop()
				}
				ring[j] = time.AfterFunc(durs[i%len(durs)], nop)
			}
			for _, tm := range ring {
				if tm != nil {
					tm.Stop()
				}
			}
		})
	})
}

// BenchmarkTimerAddExpire schedules b.N tasks due within the next 2 ms and
// waits until every one has run, on the real clock.
func BenchmarkTimerAddExpire(b *testing.B) {
	const spread = 2000 // microseconds
	b.Run("wheel", func(b *testing.B) {
		tm := newBenchTimer(b)
		var wg sync.WaitGroup
		wg.Add(b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			tm.AfterFunc(time.Duration(i%spread)*time.Microsecond, wg.Done)
		}
		wg.Wait()
	})
	b.Run("baseline=time.AfterFunc", func(b *testing.B) {
		var wg sync.WaitGroup
		wg.Add(b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			time.AfterFunc(time.Duration(i%spread)*time.Microsecond, wg.Done)
		}
		wg.Wait()
	})
	// The wheel's own cost without waiting for real time: a steady state
	// of tasks due up to 2000 ticks ahead (so they cascade through three
	// wheels) on a manual clock advanced one tick per 100 tasks.
	b.Run("wheel-manual-clock", func(b *testing.B) {
		clk := NewManualClock(epoch)
		tm, err := NewTimer(TimerConfig{Clock: clk})
		if err != nil {
			b.Fatal(err)
		}
		defer tm.Close()
		var ran int
		f := func() { ran++ }
		rng := rand.New(rand.NewPCG(2, 2))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			tm.AfterFunc(time.Duration(rng.IntN(spread))*time.Millisecond, f)
			if i%100 == 99 {
				clk.Add(time.Millisecond)
				tm.Advance()
			}
		}
		for ran < b.N {
			clk.Add(time.Millisecond)
			tm.Advance()
		}
	})
}

type benchOp struct {
	ready atomic.Bool
	done  chan struct{}
}

func (o *benchOp) TryComplete() bool { return o.ready.Load() }
func (o *benchOp) OnExpiration()     {}
func (o *benchOp) OnComplete()       {}

// BenchmarkPurgatoryWatchComplete parks an operation under one of 100 keys
// with a 30 s deadline and completes it with CheckAndComplete (the acks=all
// and fetch long-poll path). The baseline parks each request in its own
// goroutine selecting on a completion channel and a runtime timer, the
// design DESIGN.md rules out.
func BenchmarkPurgatoryWatchComplete(b *testing.B) {
	b.Run("purgatory", func(b *testing.B) {
		tm := newBenchTimer(b)
		p, err := New[int](Config{Name: "Bench", Timer: tm})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			op := &benchOp{}
			p.TryCompleteElseWatch(op, 30*time.Second, i%100)
			op.ready.Store(true)
			p.CheckAndComplete(i % 100)
		}
	})
	b.Run("baseline=goroutine-per-request", func(b *testing.B) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			ready := make(chan struct{})
			done := make(chan struct{})
			go func() {
				t := time.NewTimer(30 * time.Second)
				select {
				case <-ready:
				case <-t.C:
				}
				t.Stop()
				close(done)
			}()
			close(ready)
			<-done
		}
	})
}
