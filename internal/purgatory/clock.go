package purgatory

import (
	"sync"
	"time"
)

// Clock is the source of time for a Timer and for the deadlines of a
// Purgatory. Implementations must be safe for concurrent use and must never
// go backwards (a Clock that does is treated as standing still until it
// catches up).
type Clock interface {
	Now() time.Time
}

// systemClock reads the wall clock with its monotonic reading, so timer
// arithmetic (time.Time.Sub against the timer's base) is immune to wall
// clock steps.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// ManualClock is a Clock that only moves when told to. It exists so that
// tests (of this package and of the coordinators and handlers built on it)
// can drive a Timer deterministically without sleeping. It is safe for
// concurrent use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time // guarded by mu
}

// NewManualClock returns a ManualClock reading start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start}
}

// Now returns the clock's current reading.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock forward by d (a negative d is ignored, clocks do not
// go backwards) and returns the new reading.
func (c *ManualClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
	return c.now
}

// Set moves the clock to t if t is after the current reading and returns
// the resulting reading.
func (c *ManualClock) Set(t time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	return c.now
}
