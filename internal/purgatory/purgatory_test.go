package purgatory

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testOp is an Operation whose condition is a flag. It records its
// callbacks and flags any that ran concurrently with another of its own.
type testOp struct {
	name     string
	ready    atomic.Bool
	readyAt  atomic.Int32 // if >0, TryComplete succeeds from this call on
	tries    atomic.Int32
	complete atomic.Int32
	expire   atomic.Int32
	inFlight atomic.Int32
	overlap  atomic.Bool
	lateTry  atomic.Bool // TryComplete after OnComplete

	mu     sync.Mutex
	events []string // guarded by mu
	log    *[]string
	logMu  *sync.Mutex
}

func (o *testOp) enter() func() {
	if o.inFlight.Add(1) != 1 {
		o.overlap.Store(true)
	}
	return func() { o.inFlight.Add(-1) }
}

func (o *testOp) record(ev string) {
	o.mu.Lock()
	o.events = append(o.events, ev)
	o.mu.Unlock()
	if o.log != nil {
		o.logMu.Lock()
		*o.log = append(*o.log, o.name+":"+ev)
		o.logMu.Unlock()
	}
}

func (o *testOp) TryComplete() bool {
	defer o.enter()()
	n := o.tries.Add(1)
	if o.complete.Load() != 0 {
		o.lateTry.Store(true)
	}
	if at := o.readyAt.Load(); at > 0 && n >= at {
		return true
	}
	return o.ready.Load()
}

func (o *testOp) OnComplete() {
	defer o.enter()()
	o.complete.Add(1)
	o.record("complete")
}

func (o *testOp) OnExpiration() {
	defer o.enter()()
	o.expire.Add(1)
	o.record("expire")
}

func (o *testOp) eventsCopy() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.events)
}

func newTestPurgatory(t testing.TB, purgeInterval int) (*Purgatory[string], *Timer, *ManualClock) {
	t.Helper()
	tm, clk := newManualTimer(t, time.Millisecond, 20)
	p, err := New[string](Config{Name: "Test", Timer: tm, PurgeInterval: purgeInterval})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, tm, clk
}

func (p *Purgatory[K]) watchedKeys() int {
	n := 0
	for i := range p.shards {
		p.shards[i].mu.Lock()
		n += len(p.shards[i].m)
		p.shards[i].mu.Unlock()
	}
	return n
}

func TestCompleteBeforeWatch(t *testing.T) {
	p, tm, _ := newTestPurgatory(t, 0)
	op := &testOp{}
	op.ready.Store(true)
	h, done := p.TryCompleteElseWatch(op, time.Second, "a", "b")
	if !done || !h.Done() || h.Expired() {
		t.Fatalf("done=%v h.Done=%v h.Expired=%v, want completed", done, h.Done(), h.Expired())
	}
	if got := op.eventsCopy(); !slices.Equal(got, []string{"complete"}) {
		t.Fatalf("events %v", got)
	}
	if op.tries.Load() != 1 {
		t.Fatalf("TryComplete called %d times, want 1", op.tries.Load())
	}
	if p.Watched() != 0 || p.Delayed() != 0 || tm.Len() != 0 || p.watchedKeys() != 0 {
		t.Fatalf("watched %d delayed %d timer %d keys %d; want all 0", p.Watched(), p.Delayed(), tm.Len(), p.watchedKeys())
	}
}

func TestCompleteViaOneOfSeveralKeys(t *testing.T) {
	p, tm, clk := newTestPurgatory(t, 0)
	op := &testOp{}
	h, done := p.TryCompleteElseWatch(op, time.Second, "a", "b", "c")
	if done || h.Done() {
		t.Fatal("completed without its condition")
	}
	if p.Watched() != 3 || p.Delayed() != 1 || tm.Len() != 1 {
		t.Fatalf("watched %d delayed %d timer %d; want 3 1 1", p.Watched(), p.Delayed(), tm.Len())
	}
	if n := p.CheckAndComplete("b"); n != 0 {
		t.Fatalf("CheckAndComplete completed %d before the condition held", n)
	}
	if n := p.CheckAndComplete("unrelated"); n != 0 {
		t.Fatalf("CheckAndComplete on an unwatched key completed %d", n)
	}
	op.ready.Store(true)
	if n := p.CheckAndComplete("b"); n != 1 {
		t.Fatalf("CheckAndComplete = %d, want 1", n)
	}
	if !h.Done() || h.Expired() || op.complete.Load() != 1 || op.expire.Load() != 0 {
		t.Fatalf("done %v expired %v completes %d expirations %d", h.Done(), h.Expired(), op.complete.Load(), op.expire.Load())
	}
	// The deadline was cancelled; "b" was cleaned by its own check, "a"
	// and "c" still hold the entry until checked or purged.
	if tm.Len() != 0 || p.Delayed() != 0 || p.Watched() != 2 {
		t.Fatalf("timer %d delayed %d watched %d; want 0 0 2", tm.Len(), p.Delayed(), p.Watched())
	}
	if n := p.CheckAndComplete("a"); n != 0 {
		t.Fatalf("completed again via another key: %d", n)
	}
	if p.Watched() != 1 || p.watchedKeys() != 1 {
		t.Fatalf("watched %d keys %d; want 1 1", p.Watched(), p.watchedKeys())
	}
	clk.Add(time.Hour)
	tm.Advance()
	if op.complete.Load() != 1 || op.expire.Load() != 0 {
		t.Fatal("the completed op expired too")
	}
}

func TestExpiryCallsOnExpirationThenOnComplete(t *testing.T) {
	p, tm, clk := newTestPurgatory(t, 0)
	op := &testOp{}
	h, _ := p.TryCompleteElseWatch(op, 100*time.Millisecond, "a")
	clk.Add(99 * time.Millisecond)
	tm.Advance()
	if h.Done() {
		t.Fatal("expired before its deadline")
	}
	clk.Add(time.Millisecond)
	tm.Advance()
	if !h.Done() || !h.Expired() {
		t.Fatalf("done %v expired %v at the deadline", h.Done(), h.Expired())
	}
	if got := op.eventsCopy(); !slices.Equal(got, []string{"expire", "complete"}) {
		t.Fatalf("events %v, want [expire complete]", got)
	}
	op.ready.Store(true)
	if n := p.CheckAndComplete("a"); n != 0 {
		t.Fatalf("CheckAndComplete completed an expired op: %d", n)
	}
	if h.ForceComplete() {
		t.Fatal("ForceComplete won after expiry")
	}
	if got := op.eventsCopy(); len(got) != 2 || op.lateTry.Load() {
		t.Fatalf("events %v, late TryComplete %v", got, op.lateTry.Load())
	}
	if p.Delayed() != 0 || p.Watched() != 0 || p.watchedKeys() != 0 {
		t.Fatalf("delayed %d watched %d keys %d", p.Delayed(), p.Watched(), p.watchedKeys())
	}
}

// TestRecheckAfterWatch: the condition becomes true between the first check
// and the watch (the event found no watcher). The check after watching must
// catch it, as Kafka's safeTryCompleteOrElse does.
func TestRecheckAfterWatch(t *testing.T) {
	p, tm, _ := newTestPurgatory(t, 0)
	op := &testOp{}
	op.readyAt.Store(2)
	h, done := p.TryCompleteElseWatch(op, time.Second, "a")
	if !done || !h.Done() || op.tries.Load() != 2 {
		t.Fatalf("done %v, tries %d; want completed by the second check", done, op.tries.Load())
	}
	if tm.Len() != 0 || p.Delayed() != 0 {
		t.Fatalf("timer %d delayed %d after completion", tm.Len(), p.Delayed())
	}
	if p.Watched() != 1 {
		t.Fatalf("watched %d, want the lingering entry", p.Watched())
	}
	p.CheckAndComplete("a")
	if p.Watched() != 0 {
		t.Fatalf("watched %d after check", p.Watched())
	}
}

func TestCheckAndCompleteOnlyReady(t *testing.T) {
	p, _, _ := newTestPurgatory(t, 0)
	ops := make([]*testOp, 10)
	for i := range ops {
		ops[i] = &testOp{}
		p.TryCompleteElseWatch(ops[i], time.Minute, "k", fmt.Sprint(i))
	}
	for i := 0; i < len(ops); i += 3 {
		ops[i].ready.Store(true)
	}
	if n := p.CheckAndComplete("k"); n != 4 {
		t.Fatalf("completed %d, want 4", n)
	}
	for i, op := range ops {
		want := int32(0)
		if i%3 == 0 {
			want = 1
		}
		if op.complete.Load() != want {
			t.Fatalf("op %d completes %d, want %d", i, op.complete.Load(), want)
		}
	}
	if p.Delayed() != 6 {
		t.Fatalf("delayed %d, want 6", p.Delayed())
	}
}

func TestForceComplete(t *testing.T) {
	p, tm, clk := newTestPurgatory(t, 0)
	op := &testOp{}
	h, _ := p.TryCompleteElseWatch(op, time.Second, "a")
	if !h.ForceComplete() || h.ForceComplete() {
		t.Fatal("ForceComplete should win exactly once")
	}
	if h.Expired() || op.expire.Load() != 0 || op.complete.Load() != 1 {
		t.Fatalf("expired %v, expirations %d, completes %d", h.Expired(), op.expire.Load(), op.complete.Load())
	}
	if tm.Len() != 0 || p.Delayed() != 0 {
		t.Fatal("deadline not cancelled")
	}
	clk.Add(time.Hour)
	tm.Advance()
	if op.complete.Load() != 1 {
		t.Fatal("completed twice")
	}
}

func TestNonPositiveTimeoutExpiresAtNextAdvance(t *testing.T) {
	p, tm, _ := newTestPurgatory(t, 0)
	a, b := &testOp{}, &testOp{}
	ha, _ := p.TryCompleteElseWatch(a, 0, "k")
	hb, _ := p.TryCompleteElseWatch(b, -time.Second, "k")
	if ha.Done() || hb.Done() {
		t.Fatal("expired inside TryCompleteElseWatch")
	}
	tm.Advance()
	if !ha.Expired() || !hb.Expired() {
		t.Fatalf("expired a=%v b=%v after Advance", ha.Expired(), hb.Expired())
	}
}

func TestNoKeys(t *testing.T) {
	p, tm, clk := newTestPurgatory(t, 0)
	a, b := &testOp{}, &testOp{}
	ha, _ := p.TryCompleteElseWatch(a, time.Second)
	hb, _ := p.TryCompleteElseWatch(b, time.Second)
	if p.Delayed() != 2 || p.Watched() != 2 {
		t.Fatalf("delayed %d watched %d, want 2 2", p.Delayed(), p.Watched())
	}
	ha.ForceComplete()
	clk.Add(time.Second)
	tm.Advance()
	if !hb.Expired() || ha.Expired() || a.complete.Load() != 1 || b.complete.Load() != 1 {
		t.Fatal("unkeyed ops not answered once each")
	}
	p.purge()
	if p.Watched() != 0 {
		t.Fatalf("watched %d after purge", p.Watched())
	}
}

// TestPurgeCompleted parks ops under a busy key and an idle key that is
// never checked; completions via the busy key (and expiries) must not let
// the idle key's list grow without bound.
func TestPurgeCompleted(t *testing.T) {
	const interval = 50
	p, tm, clk := newTestPurgatory(t, interval)
	maxWatched := 0
	for i := range 5000 {
		op := &testOp{}
		key := fmt.Sprint("busy-", i)
		p.TryCompleteElseWatch(op, time.Duration(1+i%7)*time.Millisecond, key, "idle")
		if i%2 == 0 {
			op.ready.Store(true)
			p.CheckAndComplete(key)
		}
		if i%10 == 0 {
			clk.Add(time.Millisecond)
			tm.Advance()
		}
		maxWatched = max(maxWatched, p.Watched())
	}
	// Live ops are at most those of the last 7 ms (70 ops, 140 entries);
	// garbage is bounded by max(interval, live entries) plus one op.
	if limit := 2*140 + interval + 2; maxWatched > limit {
		t.Fatalf("watch lists peaked at %d entries, want <= %d", maxWatched, limit)
	}
	clk.Add(time.Second)
	tm.Advance()
	if p.Delayed() != 0 {
		t.Fatalf("delayed %d after all expired", p.Delayed())
	}
	p.purge()
	if p.Watched() != 0 || p.watchedKeys() != 0 {
		t.Fatalf("watched %d keys %d after purge", p.Watched(), p.watchedKeys())
	}
}

func TestCloseExpiresOutstandingInDeadlineOrder(t *testing.T) {
	tm, clk := newManualTimer(t, time.Millisecond, 20)
	p, err := New[int](Config{Name: "Close", Timer: tm})
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	var logMu sync.Mutex
	mk := func(name string) *testOp { return &testOp{name: name, log: &log, logMu: &logMu} }
	p.TryCompleteElseWatch(mk("late"), 3*time.Second, 1, 2)
	p.TryCompleteElseWatch(mk("early"), time.Second, 2)
	p.TryCompleteElseWatch(mk("unkeyed"), 2*time.Second)
	p.TryCompleteElseWatch(mk("early2"), time.Second, 3)
	done := mk("done")
	hd, _ := p.TryCompleteElseWatch(done, 500*time.Millisecond, 1)
	hd.ForceComplete()
	p.Close()
	want := []string{
		"done:complete",
		"early:expire", "early:complete",
		"early2:expire", "early2:complete",
		"unkeyed:expire", "unkeyed:complete",
		"late:expire", "late:complete",
	}
	if !slices.Equal(log, want) {
		t.Fatalf("log %v\nwant %v", log, want)
	}
	if p.Delayed() != 0 || p.Watched() != 0 || tm.Len() != 0 {
		t.Fatalf("delayed %d watched %d timer %d after Close", p.Delayed(), p.Watched(), tm.Len())
	}
	// After Close an op is still answered exactly once, by expiry, at once.
	after := mk("after")
	h, ok := p.TryCompleteElseWatch(after, time.Hour, 7)
	if ok || !h.Expired() || after.complete.Load() != 1 {
		t.Fatalf("after Close: ok %v expired %v completes %d", ok, h.Expired(), after.complete.Load())
	}
	ready := mk("ready")
	ready.ready.Store(true)
	if _, ok := p.TryCompleteElseWatch(ready, time.Hour, 7); !ok {
		t.Fatal("a satisfiable op was not completed after Close")
	}
	if n := p.CheckAndComplete(7); n != 0 {
		t.Fatalf("CheckAndComplete after Close = %d", n)
	}
	p.Close()
	clk.Add(2 * time.Hour)
	tm.Advance()
	if after.complete.Load() != 1 {
		t.Fatal("answered twice")
	}
}

func TestClosedTimerExpiresAtOnce(t *testing.T) {
	p, tm, _ := newTestPurgatory(t, 0)
	tm.Close()
	op := &testOp{}
	h, ok := p.TryCompleteElseWatch(op, time.Hour, "a")
	if ok || !h.Expired() || op.complete.Load() != 1 || p.Delayed() != 0 {
		t.Fatalf("ok %v expired %v completes %d delayed %d", ok, h.Expired(), op.complete.Load(), p.Delayed())
	}
}

type lockedOp struct {
	testOp
	l *sync.Mutex
}

func (o *lockedOp) OpLock() sync.Locker { return o.l }

// TestSharedLocker: ops sharing a lock (Kafka's group lock) are serialized
// with it, so the lock's holder never sees a callback in progress.
func TestSharedLocker(t *testing.T) {
	p, tm, clk := newTestPurgatory(t, 0)
	var group sync.Mutex
	state := 0 // guarded by group
	a := &lockedOp{l: &group}
	b := &lockedOp{l: &group}
	p.TryCompleteElseWatch(a, time.Second, "g")
	hb, _ := p.TryCompleteElseWatch(b, 10*time.Millisecond, "g")
	group.Lock()
	state = 1
	a.ready.Store(true)
	group.Unlock()
	if n := p.CheckAndComplete("g"); n != 1 {
		t.Fatalf("completed %d, want 1", n)
	}
	group.Lock()
	if state != 1 {
		t.Fatal("state changed")
	}
	group.Unlock()
	clk.Add(time.Second)
	tm.Advance()
	if !hb.Expired() {
		t.Fatal("b did not expire")
	}
}

func TestNewInvalidConfig(t *testing.T) {
	if _, err := New[string](Config{Name: "x", PurgeInterval: -1}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("err = %v, want ErrInvalidConfig", err)
	}
}

// TestRaceExactlyOnce parks ops under a few hot keys while goroutines
// hammer CheckAndComplete and flip conditions and the clock expires
// deadlines concurrently. Every op must be answered exactly once, by
// completion or expiry, with OnExpiration exactly when it expired, and no
// op's callbacks may overlap or follow its completion.
func TestRaceExactlyOnce(t *testing.T) {
	p, tm, clk := newTestPurgatory(t, 20)
	const (
		nKeys     = 8
		producers = 2
		perProd   = 3000
		checkers  = 3
	)
	type parked struct {
		op *testOp
		h  *Handle
	}
	var mu sync.Mutex
	var all []parked
	var done atomic.Bool
	var wg, bg sync.WaitGroup

	bg.Add(1)
	go func() { // expiry
		defer bg.Done()
		for !done.Load() {
			clk.Add(time.Millisecond)
			tm.Advance()
		}
	}()
	for c := range checkers {
		bg.Add(1)
		go func() {
			defer bg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for !done.Load() {
				k := fmt.Sprint(rng.IntN(nKeys))
				mu.Lock()
				if len(all) > 0 { // make some condition true
					all[rng.IntN(len(all))].op.ready.Store(true)
				}
				mu.Unlock()
				p.CheckAndComplete(k)
			}
		}()
	}
	for w := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for range perProd {
				op := &testOp{}
				if rng.IntN(10) == 0 {
					op.ready.Store(true)
				}
				keys := make([]string, 1+rng.IntN(3))
				for i := range keys {
					keys[i] = fmt.Sprint(rng.IntN(nKeys))
				}
				h, _ := p.TryCompleteElseWatch(op, time.Duration(rng.IntN(20))*time.Millisecond, keys...)
				if rng.IntN(50) == 0 {
					h.ForceComplete()
				}
				mu.Lock()
				all = append(all, parked{op, h})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	done.Store(true)
	bg.Wait()
	clk.Add(time.Hour)
	tm.Advance()

	expired := 0
	for i, x := range all {
		c, e := x.op.complete.Load(), x.op.expire.Load()
		if c != 1 {
			t.Fatalf("op %d: OnComplete called %d times", i, c)
		}
		if x.h.Expired() != (e == 1) || e > 1 {
			t.Fatalf("op %d: Expired()=%v but OnExpiration called %d times", i, x.h.Expired(), e)
		}
		if e == 1 {
			expired++
			if ev := x.op.eventsCopy(); !slices.Equal(ev, []string{"expire", "complete"}) {
				t.Fatalf("op %d: events %v", i, ev)
			}
		}
		if x.op.overlap.Load() || x.op.lateTry.Load() {
			t.Fatalf("op %d: overlapping callbacks %v, TryComplete after completion %v", i, x.op.overlap.Load(), x.op.lateTry.Load())
		}
	}
	if expired == 0 || expired == len(all) {
		t.Fatalf("%d of %d expired: the test did not exercise both outcomes", expired, len(all))
	}
	if p.Delayed() != 0 || tm.Len() != 0 {
		t.Fatalf("delayed %d timer %d at the end", p.Delayed(), tm.Len())
	}
	p.purge()
	if p.Watched() != 0 || p.watchedKeys() != 0 {
		t.Fatalf("watched %d keys %d after purge", p.Watched(), p.watchedKeys())
	}
}

// TestOwnTimerSystemClock uses the production configuration (no Timer
// given): an op expires eventually and Close stops the timer's goroutine
// (goleak checks).
func TestOwnTimerSystemClock(t *testing.T) {
	p, err := New[string](Config{Name: "Real"})
	if err != nil {
		t.Fatal(err)
	}
	expired := make(chan struct{})
	op := &chanOp{expired: expired}
	h, _ := p.TryCompleteElseWatch(op, time.Millisecond, "a")
	select {
	case <-expired:
	case <-time.After(30 * time.Second):
		t.Fatal("op never expired")
	}
	if !h.Expired() {
		t.Fatal("handle not marked expired")
	}
	pending := &testOp{}
	p.TryCompleteElseWatch(pending, time.Hour, "b")
	p.Close()
	if pending.expire.Load() != 1 || pending.complete.Load() != 1 {
		t.Fatal("Close did not expire the outstanding op")
	}
}

type chanOp struct{ expired chan struct{} }

func (*chanOp) TryComplete() bool { return false }
func (*chanOp) OnExpiration()     {}
func (o *chanOp) OnComplete()     { close(o.expired) }
