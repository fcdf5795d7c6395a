package fetchsession

import (
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func named(topic string, p int32) TopicPartition { return TopicPartition{Topic: topic, Partition: p} }

func part(topic string, p int32, offset int64) Partition {
	return Partition{
		TopicPartition: named(topic, p), FetchOffset: offset, LogStartOffset: -1,
		MaxBytes: 1 << 20, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1,
	}
}

// quiet is an answer with nothing new compared to hw/lso/lss.
func quiet(tp TopicPartition, hw int64) Result {
	return Result{TopicPartition: tp, HighWatermark: hw, LastStableOffset: hw, LogStartOffset: 0, PreferredReadReplica: -1}
}

// results answers every partition of ctx quietly at hw.
func results(ctx *Context, hw int64) []Result {
	var out []Result
	for _, p := range ctx.Partitions() {
		out = append(out, quiet(p.TopicPartition, hw))
	}
	return out
}

func names(parts []Partition) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p.Topic+"-"+string(rune('0'+p.Partition)))
	}
	return out
}

// openSession runs a full fetch of parts (answered quietly at hw) and
// returns the new session id.
func openSession(t *testing.T, c *Cache, version int16, hw int64, parts ...Partition) int32 {
	t.Helper()
	ctx := c.NewContext(Request{Version: version, Epoch: InitialEpoch, Partitions: parts})
	if ctx.Kind() != Full || ctx.Err() != nil {
		t.Fatalf("kind %v err %v, want a full fetch", ctx.Kind(), ctx.Err())
	}
	id, inc, err := ctx.Complete(results(ctx, hw))
	if err != nil || id == InvalidSessionID {
		t.Fatalf("session %d err %v, want a new session", id, err)
	}
	if len(inc) != len(parts) || slices.Contains(inc, false) {
		t.Fatalf("full fetch include %v", inc)
	}
	return id
}

func TestNextEpoch(t *testing.T) {
	for _, tc := range []struct{ in, want int32 }{
		{0, 1}, {1, 2}, {41, 42}, {math.MaxInt32 - 1, math.MaxInt32}, {math.MaxInt32, 1}, {-1, -1}, {-7, -1},
	} {
		if got := NextEpoch(tc.in); got != tc.want {
			t.Errorf("NextEpoch(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestSessionlessFetch(t *testing.T) {
	c := New(Config{})
	for _, version := range []int16{4, 6, 7, 12, 13, 17} {
		ctx := c.NewContext(Request{Version: version, SessionID: 0, Epoch: FinalEpoch,
			Partitions: []Partition{part("a", 0, 5), part("b", 1, 7)}})
		if ctx.Kind() != Sessionless || ctx.Err() != nil {
			t.Fatalf("v%d: kind %v err %v", version, ctx.Kind(), ctx.Err())
		}
		if got := names(ctx.Partitions()); !slices.Equal(got, []string{"a-0", "b-1"}) {
			t.Fatalf("partitions %v", got)
		}
		id, inc, err := ctx.Complete(results(ctx, 10))
		if id != 0 || err != nil || !slices.Equal(inc, []bool{true, true}) {
			t.Fatalf("got %d %v %v", id, inc, err)
		}
	}
	if st := c.Stats(); st.Sessions != 0 {
		t.Fatalf("sessionless fetches opened %d sessions", st.Sessions)
	}
}

func TestDuplicatePartitionsKeepFirstPositionLastParams(t *testing.T) {
	c := New(Config{})
	ctx := c.NewContext(Request{Version: 12, Epoch: FinalEpoch,
		Partitions: []Partition{part("a", 0, 1), part("b", 0, 2), part("a", 0, 3)}})
	got := ctx.Partitions()
	if len(got) != 2 || got[0].Topic != "a" || got[0].FetchOffset != 3 || got[1].Topic != "b" {
		t.Fatalf("got %+v", got)
	}
}

func TestFullThenIncremental(t *testing.T) {
	c := New(Config{Shards: 1})
	id := openSession(t, c, 12, 10, part("a", 0, 0), part("a", 1, 0), part("b", 0, 0))
	if st := c.Stats(); st.Sessions != 1 || st.Partitions != 3 {
		t.Fatalf("stats %+v", st)
	}

	// Epoch 1: nothing in the request, nothing changed: empty response.
	ctx := c.NewContext(Request{Version: 12, SessionID: id, Epoch: 1})
	if ctx.Kind() != Incremental {
		t.Fatalf("kind %v err %v", ctx.Kind(), ctx.Err())
	}
	if got := names(ctx.Partitions()); !slices.Equal(got, []string{"a-0", "a-1", "b-0"}) {
		t.Fatalf("partitions %v", got)
	}
	gotID, inc, err := ctx.Complete(results(ctx, 10))
	if gotID != id || err != nil || !slices.Equal(inc, []bool{false, false, false}) {
		t.Fatalf("got %d %v %v", gotID, inc, err)
	}

	// Epoch 2: a-0 returned records, b-0's high watermark moved.
	ctx = c.NewContext(Request{Version: 12, SessionID: id, Epoch: 2})
	res := results(ctx, 10)
	res[0].RecordsSize = 100
	res[2].HighWatermark = 11
	if _, inc, err = ctx.Complete(res); err != nil || !slices.Equal(inc, []bool{true, false, true}) {
		t.Fatalf("include %v err %v", inc, err)
	}

	// Epoch 3: a-0 moved to the back; the client sends its new offset.
	ctx = c.NewContext(Request{Version: 12, SessionID: id, Epoch: 3, Partitions: []Partition{part("a", 0, 4)}})
	ps := ctx.Partitions()
	if got := names(ps); !slices.Equal(got, []string{"a-1", "b-0", "a-0"}) {
		t.Fatalf("partitions %v", got)
	}
	if ps[2].FetchOffset != 4 || ps[0].FetchOffset != 0 {
		t.Fatalf("offsets %+v", ps)
	}
	res = results(ctx, 10)
	res[1].HighWatermark = 11 // as told last time
	if _, inc, _ = ctx.Complete(res); !slices.Equal(inc, []bool{false, false, false}) {
		t.Fatalf("include %v", inc)
	}
}

func TestIncrementalInclusionRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Result)
		want   bool
	}{
		{"nothing", func(*Result) {}, false},
		{"records", func(r *Result) { r.RecordsSize = 1 }, true},
		{"high watermark", func(r *Result) { r.HighWatermark++ }, true},
		{"last stable offset", func(r *Result) { r.LastStableOffset-- }, true},
		{"log start offset", func(r *Result) { r.LogStartOffset++ }, true},
		{"error", func(r *Result) { r.Failed = true }, true},
		{"preferred read replica", func(r *Result) { r.PreferredReadReplica = 2 }, true},
		{"diverging epoch", func(r *Result) { r.DivergingEpoch = true }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(Config{})
			id := openSession(t, c, 12, 10, part("a", 0, 0))
			ctx := c.NewContext(Request{Version: 12, SessionID: id, Epoch: 1})
			res := results(ctx, 10)
			tc.change(&res[0])
			if _, inc, err := ctx.Complete(res); err != nil || inc[0] != tc.want {
				t.Fatalf("include %v err %v, want %v", inc, err, tc.want)
			}
			// What was sent is remembered: the same answer again is
			// quiet, except for the ones that are always sent.
			ctx = c.NewContext(Request{Version: 12, SessionID: id, Epoch: 2})
			res2 := results(ctx, 10)
			res2[0] = res[0]
			res2[0].RecordsSize, res2[0].Failed, res2[0].PreferredReadReplica, res2[0].DivergingEpoch = 0, false, -1, false
			want := tc.name == "error" // the error reset the cached high watermark
			if _, inc, _ := ctx.Complete(res2); inc[0] != want {
				t.Fatalf("second answer include %v, want %v", inc[0], want)
			}
		})
	}
}

func TestSessionErrors(t *testing.T) {
	c := New(Config{})
	id := openSession(t, c, 12, 10, part("a", 0, 0))
	idV13 := openSession(t, c, 13, 10, Partition{TopicPartition: TopicPartition{TopicID: [16]byte{1}, Topic: "t", Partition: 0}})
	for _, tc := range []struct {
		name string
		req  Request
		want error
	}{
		{"unknown id", Request{Version: 12, SessionID: id + 1, Epoch: 1}, ErrSessionIDNotFound},
		{"zero id incremental", Request{Version: 12, SessionID: 0, Epoch: 1}, ErrSessionIDNotFound},
		{"negative id", Request{Version: 12, SessionID: -5, Epoch: 1}, ErrSessionIDNotFound},
		{"max id", Request{Version: 12, SessionID: math.MaxInt32, Epoch: 1}, ErrSessionIDNotFound},
		{"epoch ahead", Request{Version: 12, SessionID: id, Epoch: 2}, ErrInvalidSessionEpoch},
		{"epoch negative", Request{Version: 12, SessionID: id, Epoch: -3}, ErrInvalidSessionEpoch},
		{"names into id session", Request{Version: 12, SessionID: idV13, Epoch: 1}, ErrSessionTopicID},
		{"ids into name session", Request{Version: 13, SessionID: id, Epoch: 1}, ErrSessionTopicID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := c.NewContext(tc.req)
			if ctx.Kind() != SessionError || !errors.Is(ctx.Err(), tc.want) || len(ctx.Partitions()) != 0 {
				t.Fatalf("kind %v err %v parts %d, want %v", ctx.Kind(), ctx.Err(), len(ctx.Partitions()), tc.want)
			}
			sid, inc, err := ctx.Complete(nil)
			if sid != 0 || inc != nil || !errors.Is(err, tc.want) {
				t.Fatalf("complete: %d %v %v", sid, inc, err)
			}
		})
	}
	// The failed requests did not move either session.
	for _, s := range []struct {
		id int32
		v  int16
	}{{id, 12}, {idV13, 13}} {
		if ctx := c.NewContext(Request{Version: s.v, SessionID: s.id, Epoch: 1}); ctx.Kind() != Incremental {
			t.Fatalf("session %d: %v %v", s.id, ctx.Kind(), ctx.Err())
		}
	}
}

func TestDuplicateRequestLosesAtCompletion(t *testing.T) {
	c := New(Config{})
	id := openSession(t, c, 12, 10, part("a", 0, 0))
	first := c.NewContext(Request{Version: 12, SessionID: id, Epoch: 1})
	second := c.NewContext(Request{Version: 12, SessionID: id, Epoch: 2})
	if first.Kind() != Incremental || second.Kind() != Incremental {
		t.Fatalf("kinds %v %v", first.Kind(), second.Kind())
	}
	// A retry of the first with the same epoch is refused at once.
	if dup := c.NewContext(Request{Version: 12, SessionID: id, Epoch: 1}); !errors.Is(dup.Err(), ErrInvalidSessionEpoch) {
		t.Fatalf("duplicate: %v", dup.Err())
	}
	sid, inc, err := first.Complete(results(first, 11))
	if sid != id || inc != nil || !errors.Is(err, ErrInvalidSessionEpoch) {
		t.Fatalf("first: %d %v %v", sid, inc, err)
	}
	if sid, inc, err := second.Complete(results(second, 11)); sid != id || err != nil || !inc[0] {
		t.Fatalf("second: %d %v %v", sid, inc, err)
	}
}

func TestFullFetchClosesNamedSession(t *testing.T) {
	for _, epoch := range []int32{InitialEpoch, FinalEpoch} {
		c := New(Config{})
		id := openSession(t, c, 12, 10, part("a", 0, 0))
		ctx := c.NewContext(Request{Version: 12, SessionID: id, Epoch: epoch, Partitions: []Partition{part("b", 0, 0)}})
		if c.Stats().Sessions != 0 {
			t.Fatalf("epoch %d: session %d not closed", epoch, id)
		}
		newID, _, err := ctx.Complete(results(ctx, 1))
		if err != nil {
			t.Fatal(err)
		}
		if (epoch == FinalEpoch) != (newID == 0) {
			t.Fatalf("epoch %d: new session id %d", epoch, newID)
		}
		if newID == id {
			continue // the random id was reused: nothing more to see
		}
		if ctx := c.NewContext(Request{Version: 12, SessionID: id, Epoch: 1}); !errors.Is(ctx.Err(), ErrSessionIDNotFound) {
			t.Fatalf("closed session still answers: %v", ctx.Err())
		}
	}
}

func TestForgettingEveryPartitionClosesTheSession(t *testing.T) {
	c := New(Config{})
	id := openSession(t, c, 12, 10, part("a", 0, 0), part("a", 1, 0))
	ctx := c.NewContext(Request{Version: 12, SessionID: id, Epoch: 1,
		Partitions: []Partition{part("z", 0, 0)}, // added, then forgotten below
		Forgotten:  []TopicPartition{named("a", 0), named("a", 1), named("z", 0), named("never", 3)}})
	if ctx.Kind() != Sessionless {
		t.Fatalf("kind %v err %v", ctx.Kind(), ctx.Err())
	}
	// Kafka answers the request's own partitions sessionlessly.
	if got := names(ctx.Partitions()); !slices.Equal(got, []string{"z-0"}) {
		t.Fatalf("partitions %v", got)
	}
	if sid, _, _ := ctx.Complete(results(ctx, 0)); sid != 0 {
		t.Fatalf("session id %d", sid)
	}
	if st := c.Stats(); st.Sessions != 0 || st.Partitions != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestForgetAndAdd(t *testing.T) {
	c := New(Config{})
	id := openSession(t, c, 12, 10, part("a", 0, 0), part("a", 1, 0), part("b", 0, 0))
	ctx := c.NewContext(Request{Version: 12, SessionID: id, Epoch: 1,
		Partitions: []Partition{part("c", 0, 9), part("a", 1, 5)},
		Forgotten:  []TopicPartition{named("a", 0)}})
	ps := ctx.Partitions()
	if got := names(ps); !slices.Equal(got, []string{"a-1", "b-0", "c-0"}) {
		t.Fatalf("partitions %v", got)
	}
	if ps[0].FetchOffset != 5 || ps[2].FetchOffset != 9 {
		t.Fatalf("offsets %+v", ps)
	}
	if st := c.Stats(); st.Partitions != 3 {
		t.Fatalf("stats %+v", st)
	}
	// The added partition has sent nothing yet: it is in the response.
	_, inc, _ := ctx.Complete(results(ctx, 10))
	if !slices.Equal(inc, []bool{false, false, true}) {
		t.Fatalf("include %v", inc)
	}
}

func TestTopicIDSessions(t *testing.T) {
	c := New(Config{})
	idA, idB, idNew := [16]byte{0xa}, [16]byte{0xb}, [16]byte{0xc}
	known := map[[16]byte]string{idA: "a", idB: "b"}
	var mu sync.Mutex
	resolve := func(id [16]byte) (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		n, ok := known[id]
		return n, ok
	}
	tp := func(id [16]byte, p int32) TopicPartition {
		n, _ := resolve(id)
		return TopicPartition{TopicID: id, Topic: n, Partition: p}
	}
	p := func(id [16]byte, part int32) Partition {
		return Partition{TopicPartition: tp(id, part), LogStartOffset: -1, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1}
	}
	sid := openSession(t, c, 13, 3, p(idA, 0), p(idNew, 0))

	// An unknown ID stays in the session without a name...
	ctx := c.NewContext(Request{Version: 13, SessionID: sid, Epoch: 1, Names: resolve})
	ps := ctx.Partitions()
	if len(ps) != 2 || ps[0].Topic != "a" || ps[1].Topic != "" || ps[1].TopicID != idNew {
		t.Fatalf("partitions %+v", ps)
	}
	res := results(ctx, 3)
	res[1] = Result{TopicPartition: ps[1].TopicPartition, Failed: true, HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1, PreferredReadReplica: -1}
	if _, inc, _ := ctx.Complete(res); !slices.Equal(inc, []bool{false, true}) {
		t.Fatalf("include %v", inc)
	}

	// ... until the topic appears; a topic deleted meanwhile loses it.
	mu.Lock()
	known[idNew] = "new"
	delete(known, idA)
	mu.Unlock()
	ctx = c.NewContext(Request{Version: 13, SessionID: sid, Epoch: 2, Names: resolve})
	ps = ctx.Partitions()
	if ps[0].Topic != "" || ps[1].Topic != "new" {
		t.Fatalf("partitions %+v", ps)
	}
	ctx.Complete(nil)

	// Partitions are keyed by ID: a request naming the same ID with a
	// different (or no) name updates the same cached partition; a
	// forgotten ID removes it.
	ctx = c.NewContext(Request{Version: 13, SessionID: sid, Epoch: 3, Names: resolve,
		Partitions: []Partition{{TopicPartition: TopicPartition{TopicID: idNew, Partition: 0}, FetchOffset: 77}},
		Forgotten:  []TopicPartition{{TopicID: idA, Partition: 0}}})
	ps = ctx.Partitions()
	if len(ps) != 1 || ps[0].TopicID != idNew || ps[0].FetchOffset != 77 || ps[0].Topic != "new" {
		t.Fatalf("partitions %+v", ps)
	}
}

func TestNameSessionsKeyByName(t *testing.T) {
	c := New(Config{})
	sid := openSession(t, c, 12, 3, part("a", 0, 0))
	ctx := c.NewContext(Request{Version: 12, SessionID: sid, Epoch: 1,
		Partitions: []Partition{part("a", 0, 8), part("a", 1, 0)}})
	ps := ctx.Partitions()
	if got := names(ps); !slices.Equal(got, []string{"a-0", "a-1"}) || ps[0].FetchOffset != 8 {
		t.Fatalf("partitions %+v", ps)
	}
}

func TestEpochWrapsToOne(t *testing.T) {
	c := New(Config{Shards: 1})
	sid := openSession(t, c, 12, 3, part("a", 0, 0))
	sh := c.shardFor(sid)
	sh.mu.Lock()
	sh.sessions[sid].epoch = math.MaxInt32
	sh.mu.Unlock()
	ctx := c.NewContext(Request{Version: 12, SessionID: sid, Epoch: math.MaxInt32})
	if _, _, err := ctx.Complete(results(ctx, 3)); err != nil {
		t.Fatal(err)
	}
	if ctx := c.NewContext(Request{Version: 12, SessionID: sid, Epoch: 1}); ctx.Kind() != Incremental {
		t.Fatalf("after wrap: %v %v", ctx.Kind(), ctx.Err())
	}
}

func TestPartitionsAreCopiedFromTheSession(t *testing.T) {
	c := New(Config{})
	sid := openSession(t, c, 12, 3, part("a", 0, 0))
	ctx := c.NewContext(Request{Version: 12, SessionID: sid, Epoch: 1})
	ctx.Partitions()[0].FetchOffset = 99 // the caller's copy
	ctx.Complete(nil)
	ctx = c.NewContext(Request{Version: 12, SessionID: sid, Epoch: 2})
	if got := ctx.Partitions()[0].FetchOffset; got != 0 {
		t.Fatalf("session offset changed through a returned slice: %d", got)
	}
}

func TestConcurrentSessions(t *testing.T) {
	c := New(Config{MaxSlots: 64})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			topic := string(rune('a' + g))
			sid, epoch := int32(0), InitialEpoch
			for i := range 300 {
				ctx := c.NewContext(Request{Version: 12, SessionID: sid, Epoch: epoch,
					Partitions: []Partition{part(topic, int32(i%3), int64(i))}})
				res := results(ctx, int64(i))
				id, _, err := ctx.Complete(res)
				switch {
				case err != nil:
					t.Errorf("goroutine %d: %v", g, err)
					return
				case ctx.Kind() == Full:
					sid, epoch = id, 1
				case ctx.Kind() == Incremental:
					epoch = NextEpoch(epoch)
				}
				if i%50 == 49 {
					sid, epoch = 0, InitialEpoch
				}
			}
		}()
	}
	wg.Wait()
	st := c.Stats()
	if st.Sessions == 0 || st.Sessions > 64 {
		t.Fatalf("stats %+v", st)
	}
}

// BenchmarkIncrementalFetch is one incremental fetch of a consumer's
// session of 1000 partitions, 10 of which have new data.
func BenchmarkIncrementalFetch(b *testing.B) {
	c := New(Config{})
	var parts []Partition
	for i := range 1000 {
		parts = append(parts, part("topic", int32(i), 0))
	}
	ctx := c.NewContext(Request{Version: 12, Epoch: InitialEpoch, Partitions: parts})
	sid, _, _ := ctx.Complete(results(ctx, 5))
	epoch := int32(1)
	res := make([]Result, 1000)
	b.ReportAllocs()
	for b.Loop() {
		ctx := c.NewContext(Request{Version: 12, SessionID: sid, Epoch: epoch})
		for i, p := range ctx.Partitions() {
			res[i] = quiet(p.TopicPartition, 5)
			if i < 10 {
				res[i].RecordsSize = 1000
			}
		}
		if _, _, err := ctx.Complete(res); err != nil {
			b.Fatal(err)
		}
		epoch = NextEpoch(epoch)
	}
}
