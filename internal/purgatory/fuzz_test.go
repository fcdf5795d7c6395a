package purgatory

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"
)

// FuzzTimer drives a small wheel (tick 1 ms, 3 buckets per level, so
// schedules a few seconds out already climb several overflow levels) with
// an arbitrary sequence of schedule, stop, reset and advance operations and
// checks it against a model: at every Advance exactly the scheduled tasks
// whose deadline, rounded up to the tick, has been reached must run, once,
// in order of that rounded deadline.
func FuzzTimer(f *testing.F) {
	f.Add([]byte{0, 10, 0, 0, 3, 5, 0, 0})
	f.Add([]byte{0, 200, 3, 0, 0, 1, 0, 0, 1, 0, 0, 0, 3, 255, 255, 0, 3, 255, 255, 0})
	f.Add([]byte{0, 7, 0, 0, 2, 0, 40, 0, 0, 255, 255, 1, 3, 100, 0, 0, 3, 0, 200, 0})
	f.Add([]byte{0, 0, 0, 0, 3, 0, 0, 0, 0, 1, 0, 0, 3, 1, 0, 0})
	f.Fuzz(func(t *testing.T, prog []byte) {
		const tick = time.Millisecond
		clk := NewManualClock(epoch)
		tm, err := NewTimer(TimerConfig{Tick: tick, WheelSize: 3, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		defer tm.Close()
		type task struct {
			tk  *Task
			due time.Duration // rounded deadline since epoch, -1 when not scheduled
		}
		var tasks []*task
		var ran []int
		now := time.Duration(0)
		for len(prog) >= 4 {
			op, arg := prog[0]%4, time.Duration(binary.LittleEndian.Uint16(prog[1:3]))*(tick/4)*time.Duration(1+prog[3]%8)
			prog = prog[4:]
			switch op {
			case 0: // schedule a new task arg from now
				id := len(tasks)
				x := &task{}
				x.tk = tm.NewTask(func() { ran = append(ran, id) })
				tasks = append(tasks, x)
				fallthrough
			case 2: // reset the task picked by arg (or the new one) to arg from now
				if len(tasks) == 0 {
					continue
				}
				x := tasks[len(tasks)-1]
				if op == 2 {
					x = tasks[int(arg)%len(tasks)]
				}
				if err := x.tk.Reset(arg); err != nil {
					t.Fatal(err)
				}
				x.due = roundUp(now+arg, tick)
			case 1: // stop
				if len(tasks) == 0 {
					continue
				}
				x := tasks[int(arg)%len(tasks)]
				if got, want := x.tk.Stop(), x.due >= 0; got != want {
					t.Fatalf("Stop = %v, model says scheduled = %v", got, want)
				}
				x.due = -1
			case 3: // advance the clock by arg and run what is due
				now = clk.Add(arg).Sub(epoch)
				var want []int
				for id, x := range tasks {
					if x.due >= 0 && x.due <= now {
						want = append(want, id)
					}
				}
				ran = ran[:0]
				tm.Advance()
				got := slices.Clone(ran)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("at %v ran %v, want %v", now, got, want)
				}
				for i := 1; i < len(ran); i++ {
					if tasks[ran[i]].due < tasks[ran[i-1]].due {
						t.Fatalf("ran %v out of deadline order", ran)
					}
				}
				for _, id := range ran {
					tasks[id].due = -1
				}
			}
			if op == 0 && len(tasks) > 0 && tasks[len(tasks)-1].due < 0 {
				t.Fatal("model lost a task")
			}
			pending := 0
			for _, x := range tasks {
				if x.due >= 0 {
					pending++
				}
			}
			if tm.Len() != pending {
				t.Fatalf("Len = %d, model has %d scheduled", tm.Len(), pending)
			}
		}
	})
}
