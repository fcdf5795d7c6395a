package storage

import (
	"slices"
	"sync"
	"testing"
	"time"
)

func TestDeleteSchedulerOrderAndShutdown(t *testing.T) {
	s := newDeleteScheduler()
	var mu sync.Mutex
	var ran []int
	record := func(i int) func() {
		return func() {
			mu.Lock()
			ran = append(ran, i)
			mu.Unlock()
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { s.run(stop) })
	s.schedule(nil, 30*time.Millisecond, record(3))
	s.schedule(nil, 0, record(1))
	s.schedule(nil, 10*time.Millisecond, record(2))
	s.schedule(nil, time.Hour, record(5))
	s.schedule(nil, time.Hour, record(6))
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(ran)
		mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d tasks ran", n)
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if s.pending() != 2 {
		t.Fatalf("pending %d, want 2", s.pending())
	}
	s.shutdown() // runs the hour-long ones now, in order
	s.schedule(nil, time.Hour, record(7))
	if want := []int{1, 2, 3, 5, 6, 7}; !slices.Equal(ran, want) {
		t.Fatalf("ran %v, want %v", ran, want)
	}
}

func TestDeleteSchedulerRunOwner(t *testing.T) {
	s := newDeleteScheduler()
	a, b := new(int), new(int)
	var ran []string
	s.schedule(a, time.Hour, func() { ran = append(ran, "a1") })
	s.schedule(b, time.Hour, func() { ran = append(ran, "b") })
	s.schedule(a, time.Minute, func() { ran = append(ran, "a2") })
	s.runOwner(a)
	if !slices.Equal(ran, []string{"a2", "a1"}) || s.pending() != 1 {
		t.Fatalf("ran %v, pending %d", ran, s.pending())
	}
	s.shutdown()
	if !slices.Equal(ran, []string{"a2", "a1", "b"}) {
		t.Fatalf("ran %v", ran)
	}
}
