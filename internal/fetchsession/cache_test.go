package fetchsession

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// evictionFixture is a one-shard cache of two slots on a fake clock.
type evictionFixture struct {
	t     *testing.T
	c     *Cache
	clock *fakeClock
	epoch map[int32]int32
}

func newEvictionFixture(t *testing.T, slots int) *evictionFixture {
	clock := newFakeClock()
	return &evictionFixture{
		t:     t,
		c:     New(Config{MaxSlots: slots, Shards: 1, Clock: clock.Now}),
		clock: clock,
		epoch: map[int32]int32{},
	}
}

// open runs a full fetch of n partitions and returns the session id (0
// when none was created).
func (f *evictionFixture) open(privileged bool, n int) int32 {
	f.t.Helper()
	var parts []Partition
	for i := range n {
		parts = append(parts, part("t", int32(i), 0))
	}
	ctx := f.c.NewContext(Request{Version: 12, Epoch: InitialEpoch, Privileged: privileged, Partitions: parts})
	id, _, err := ctx.Complete(results(ctx, 1))
	if err != nil {
		f.t.Fatal(err)
	}
	if id != 0 {
		f.epoch[id] = 1
	}
	return id
}

// use runs an incremental fetch in session id, which must succeed.
func (f *evictionFixture) use(id int32) {
	f.t.Helper()
	ctx := f.c.NewContext(Request{Version: 12, SessionID: id, Epoch: f.epoch[id]})
	if ctx.Err() != nil {
		f.t.Fatalf("session %d: %v", id, ctx.Err())
	}
	if _, _, err := ctx.Complete(results(ctx, 1)); err != nil {
		f.t.Fatal(err)
	}
	f.epoch[id] = NextEpoch(f.epoch[id])
}

// alive reports whether session id is still cached.
func (f *evictionFixture) alive(id int32) bool {
	ctx := f.c.NewContext(Request{Version: 12, SessionID: id, Epoch: -2}) // wrong epoch: no side effects
	if errors.Is(ctx.Err(), ErrSessionIDNotFound) {
		return false
	}
	if !errors.Is(ctx.Err(), ErrInvalidSessionEpoch) {
		f.t.Fatalf("probe of %d: %v", id, ctx.Err())
	}
	return true
}

func (f *evictionFixture) expectAlive(ids map[int32]bool) {
	f.t.Helper()
	for id, want := range ids {
		if got := f.alive(id); got != want {
			f.t.Fatalf("session %d alive %v, want %v", id, got, want)
		}
	}
}

func TestEviction(t *testing.T) {
	const old = DefaultEvictionTime + time.Second

	t.Run("full cache of recent sessions refuses a consumer", func(t *testing.T) {
		f := newEvictionFixture(t, 2)
		a, b := f.open(false, 1), f.open(false, 1)
		if c := f.open(false, 5); c != 0 {
			t.Fatalf("got session %d", c)
		}
		f.expectAlive(map[int32]bool{a: true, b: true})
		if st := f.c.Stats(); st.Evictions != 0 || st.Sessions != 2 || st.Partitions != 2 {
			t.Fatalf("stats %+v", st)
		}
	})

	t.Run("a stale session goes first", func(t *testing.T) {
		f := newEvictionFixture(t, 2)
		a := f.open(true, 10) // even a follower's big session
		b := f.open(false, 1)
		f.clock.Advance(old)
		f.use(b)
		c := f.open(false, 1)
		if c == 0 {
			t.Fatal("no session")
		}
		f.expectAlive(map[int32]bool{a: false, b: true, c: true})
		if st := f.c.Stats(); st.Evictions != 1 || st.Partitions != 2 {
			t.Fatalf("stats %+v", st)
		}
	})

	t.Run("a follower evicts the smallest consumer session", func(t *testing.T) {
		f := newEvictionFixture(t, 2)
		a, b := f.open(false, 3), f.open(false, 1)
		c := f.open(true, 1)
		if c == 0 {
			t.Fatal("no session")
		}
		f.expectAlive(map[int32]bool{a: true, b: false, c: true})
	})

	t.Run("a follower does not evict a young follower session", func(t *testing.T) {
		f := newEvictionFixture(t, 2)
		a, b := f.open(true, 1), f.open(true, 1)
		if c := f.open(true, 100); c != 0 {
			t.Fatalf("got session %d", c)
		}
		f.expectAlive(map[int32]bool{a: true, b: true})
	})

	t.Run("a consumer evicts an old session with fewer partitions", func(t *testing.T) {
		f := newEvictionFixture(t, 2)
		a, b := f.open(false, 1), f.open(false, 2)
		f.clock.Advance(old)
		f.use(a)
		f.use(b)
		if c := f.open(false, 1); c != 0 { // as many as a: not enough
			t.Fatalf("equal size evicted: session %d", c)
		}
		c := f.open(false, 2)
		if c == 0 {
			t.Fatal("no session")
		}
		f.expectAlive(map[int32]bool{a: false, b: true, c: true})
	})

	t.Run("a consumer never evicts a follower", func(t *testing.T) {
		f := newEvictionFixture(t, 2)
		a, b := f.open(true, 1), f.open(true, 1)
		f.clock.Advance(old)
		f.use(a)
		f.use(b)
		if c := f.open(false, 50); c != 0 {
			t.Fatalf("got session %d", c)
		}
		// An old follower session yields to a bigger follower one.
		c := f.open(true, 2)
		if c == 0 {
			t.Fatal("no session")
		}
		if f.alive(a) && f.alive(b) {
			t.Fatal("nothing evicted")
		}
	})

	t.Run("age counts as of the last use", func(t *testing.T) {
		f := newEvictionFixture(t, 1)
		a := f.open(false, 1)
		f.clock.Advance(DefaultEvictionTime / 2)
		f.use(a) // used 60 s after creation: not old
		f.clock.Advance(DefaultEvictionTime - time.Second)
		// Now 179 s after creation but only 119 s unused.
		if c := f.open(false, 9); c != 0 {
			t.Fatalf("got session %d", c)
		}
		f.clock.Advance(2 * time.Second) // 121 s unused: stale
		if c := f.open(false, 1); c == 0 {
			t.Fatal("stale session not evicted")
		}
	})
}

func TestShards(t *testing.T) {
	for _, tc := range []struct {
		slots, shards int
		sizes         []int
	}{
		{0, 0, []int{125, 125, 125, 125, 125, 125, 125, 125}},
		{10, 4, []int{3, 3, 2, 2}},
		{3, 8, []int{1, 1, 1}},
		{1, 0, []int{1}},
		{-1, 0, []int{0}},
	} {
		t.Run(fmt.Sprintf("%d slots %d shards", tc.slots, tc.shards), func(t *testing.T) {
			c := New(Config{MaxSlots: tc.slots, Shards: tc.shards})
			var sizes []int
			for _, sh := range c.shards {
				sizes = append(sizes, sh.maxSize)
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tc.sizes) {
				t.Fatalf("shard sizes %v, want %v", sizes, tc.sizes)
			}
		})
	}

	// New sessions go round the shards, each within its id range.
	c := New(Config{MaxSlots: 8, Shards: 4})
	for i := range 8 {
		ctx := c.NewContext(Request{Version: 12, Epoch: InitialEpoch, Partitions: []Partition{part("t", 0, 0)}})
		id, _, _ := ctx.Complete(results(ctx, 0))
		if id <= 0 || int(id/c.idRange) != i%4 || c.shardFor(id) != c.shards[i%4] {
			t.Fatalf("session %d: id %d in shard %d", i, id, id/c.idRange)
		}
	}
	if st := c.Stats(); st.Sessions != 8 {
		t.Fatalf("stats %+v", st)
	}

	// No slots: every full fetch is answered without a session.
	none := New(Config{MaxSlots: -1})
	ctx := none.NewContext(Request{Version: 12, Epoch: InitialEpoch, Partitions: []Partition{part("t", 0, 0)}})
	if id, inc, err := ctx.Complete(results(ctx, 0)); id != 0 || err != nil || !inc[0] {
		t.Fatalf("got %d %v %v", id, inc, err)
	}
}

func TestStatsCountPartitions(t *testing.T) {
	c := New(Config{Shards: 1})
	sid := openSession(t, c, 12, 0, part("a", 0, 0), part("a", 1, 0))
	ctx := c.NewContext(Request{Version: 12, SessionID: sid, Epoch: 1,
		Partitions: []Partition{part("b", 0, 0), part("b", 1, 0), part("b", 2, 0)},
		Forgotten:  []TopicPartition{named("a", 1)}})
	ctx.Complete(results(ctx, 0))
	if st := c.Stats(); st.Sessions != 1 || st.Partitions != 4 {
		t.Fatalf("stats %+v", st)
	}
	c.NewContext(Request{Version: 12, SessionID: sid, Epoch: FinalEpoch})
	if st := c.Stats(); st.Sessions != 0 || st.Partitions != 0 {
		t.Fatalf("stats after close %+v", st)
	}
}
