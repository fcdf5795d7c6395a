package storage

import (
	"cmp"
	"container/heap"
	"slices"
	"sync"
	"time"
)

// deleteScheduler runs delayed file deletions for the manager: segment
// files a Log renamed to .deleted (OpenOptions.ScheduleDelete, after
// file.delete.delay.ms) and partition directories renamed to -delete
// (after log.segment.delete.delay.ms). One goroutine (run) sleeps until
// the earliest task is due, instead of a timer per deletion.
//
// Every scheduled task runs exactly once: when due while run is active,
// at once through runOwner (a partition being deleted runs its pending
// segment deletions before its directory is renamed), or through
// shutdown, which runs everything still pending; a task scheduled after
// shutdown runs immediately in the caller. Safe for concurrent use.
type deleteScheduler struct {
	mu     sync.Mutex
	tasks  taskHeap // guarded by mu
	seq    uint64   // guarded by mu: tie-break, so equal due times run in order
	closed bool     // guarded by mu
	wake   chan struct{}
}

type schedTask struct {
	due   time.Time
	seq   uint64
	owner any // the partition's token, or nil
	fn    func()
	index int // position in the heap
}

func newDeleteScheduler() *deleteScheduler {
	return &deleteScheduler{wake: make(chan struct{}, 1)}
}

// schedule arranges for fn to run after delay.
func (s *deleteScheduler) schedule(owner any, delay time.Duration, fn func()) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		fn()
		return
	}
	s.seq++
	t := &schedTask{due: time.Now().Add(delay), seq: s.seq, owner: owner, fn: fn}
	heap.Push(&s.tasks, t)
	first := s.tasks[0] == t
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// run executes tasks as they come due until stop is closed.
func (s *deleteScheduler) run(stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		var due []*schedTask
		now := time.Now()
		for len(s.tasks) > 0 && !s.tasks[0].due.After(now) {
			due = append(due, heap.Pop(&s.tasks).(*schedTask))
		}
		wait := time.Hour
		if len(s.tasks) > 0 {
			wait = s.tasks[0].due.Sub(now)
		}
		s.mu.Unlock()
		for _, t := range due {
			t.fn()
		}
		if len(due) > 0 {
			continue // time passed while they ran
		}
		timer.Reset(wait)
		select {
		case <-stop:
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// runOwner runs every pending task of owner now.
func (s *deleteScheduler) runOwner(owner any) {
	s.mu.Lock()
	var mine []*schedTask
	for _, t := range s.tasks {
		if t.owner == owner {
			mine = append(mine, t)
		}
	}
	for _, t := range mine {
		heap.Remove(&s.tasks, t.index)
	}
	s.mu.Unlock()
	sortTasks(mine)
	for _, t := range mine {
		t.fn()
	}
}

// shutdown runs every pending task now; later schedules run at once.
func (s *deleteScheduler) shutdown() {
	s.mu.Lock()
	s.closed = true
	rest := []*schedTask(s.tasks)
	s.tasks = nil
	s.mu.Unlock()
	sortTasks(rest)
	for _, t := range rest {
		t.fn()
	}
}

// pending returns the number of tasks waiting.
func (s *deleteScheduler) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tasks)
}

func sortTasks(ts []*schedTask) {
	slices.SortFunc(ts, func(a, b *schedTask) int {
		return cmp.Or(a.due.Compare(b.due), cmp.Compare(a.seq, b.seq))
	})
}

// taskHeap is a min-heap of tasks by due time, then sequence.
type taskHeap []*schedTask

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h taskHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *taskHeap) Push(x any) {
	t := x.(*schedTask)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}
