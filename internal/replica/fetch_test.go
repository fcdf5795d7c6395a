package replica

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestFetchImmediate(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.lead(a, 0)
	e.produceOK(a, 3, 10)
	e.produceOK(a, 2, 10)

	r := e.fetchNow(consumer(), fp(a, 0))[0]
	if r.Err != nil || r.HighWatermark != 5 || r.LastStableOffset != 5 || r.LogStartOffset != 0 {
		t.Fatalf("%+v", r)
	}
	if got := offsetsIn(t, r); !slices.Equal(got, []int64{0, 1, 2, 3, 4}) {
		t.Fatalf("offsets %v", got)
	}
	if r.AbortedTxns != nil {
		t.Fatalf("read_uncommitted got aborted txns %v", r.AbortedTxns)
	}
	// A fetch inside a batch returns the whole batch.
	if got := offsetsIn(t, e.fetchNow(consumer(), fp(a, 4))[0]); !slices.Equal(got, []int64{3, 4}) {
		t.Fatalf("offsets from 4: %v", got)
	}
	// At the end: empty, no error.
	if r := e.fetchNow(consumer(), fp(a, 5))[0]; r.Err != nil || r.Records.Size != 0 {
		t.Fatalf("at LEO: %+v", r)
	}
	// read_committed answers a (empty) list of aborted transactions.
	params := consumer()
	params.IsolationLevel = ReadCommitted
	if r := e.fetchNow(params, fp(a, 0))[0]; r.Err != nil || r.AbortedTxns == nil || len(r.AbortedTxns) != 0 {
		t.Fatalf("read_committed: %+v", r)
	}
	// No partitions at all answers at once, even with a wait.
	params.MaxWait = time.Hour
	if got := mustRecv(t, e.fetchAsync(params)); len(got) != 0 {
		t.Fatalf("empty fetch: %+v", got)
	}
}

func TestFetchErrors(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.lead(a, 5)
	e.produceOK(a, 3, 10)

	cases := []struct {
		name string
		part FetchPartition
		want error
	}{
		{"unknown partition", fp(tp("x", 0), 0), ErrUnknownTopicOrPartition},
		{"beyond log end", fp(a, 4), ErrOffsetOutOfRange},
		{"negative offset", fp(a, -1), ErrOffsetOutOfRange},
		{"fenced epoch", withEpoch(fp(a, 0), 4), ErrFencedLeaderEpoch},
		{"unknown epoch", withEpoch(fp(a, 0), 6), ErrUnknownLeaderEpoch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Errors answer at once even with a long wait and data pending elsewhere.
			params := consumer()
			params.MaxWait, params.MinBytes = time.Hour, 1<<20
			r := mustRecv(t, e.fetchAsync(params, fp(a, 3), tc.part))
			if r[0].Err != nil {
				t.Fatalf("healthy partition: %v", r[0].Err)
			}
			if !errors.Is(r[1].Err, tc.want) {
				t.Fatalf("err %v, want %v", r[1].Err, tc.want)
			}
			if r[1].HighWatermark != -1 || r[1].LogStartOffset != -1 || r[1].LastStableOffset != -1 || r[1].Records.Size != 0 {
				t.Fatalf("errored result %+v", r[1])
			}
		})
	}
	if r := e.fetchNow(consumer(), withEpoch(fp(a, 0), 5))[0]; r.Err != nil || r.Records.Size == 0 {
		t.Fatalf("matching epoch: %+v", r)
	}
}

func withEpoch(f FetchPartition, epoch int32) FetchPartition {
	f.CurrentLeaderEpoch = epoch
	return f
}

// A long poll is answered as soon as an append brings MinBytes, and not
// before.
func TestFetchLongPollCompletesOnAppend(t *testing.T) {
	e := newEnv(t)
	a, b := tp("t", 0), tp("t", 1)
	e.lead(a, 0)
	e.lead(b, 0)

	params := consumer()
	params.MaxWait = time.Hour
	params.MinBytes = 150
	ch := e.fetchAsync(params, fp(a, 0), fp(b, 0))
	mustWait(t, ch)
	if e.m.fetch.Delayed() != 1 {
		t.Fatalf("delayed fetches: %d", e.m.fetch.Delayed())
	}

	e.produceOK(a, 1, 10) // about 80 bytes: not enough
	mustWait(t, ch)
	e.produceOK(b, 1, 100) // now over 150 across both partitions
	res := mustRecv(t, ch)
	if got := offsetsIn(t, res[0]); !slices.Equal(got, []int64{0}) {
		t.Fatalf("partition a: %v", got)
	}
	if got := offsetsIn(t, res[1]); !slices.Equal(got, []int64{0}) {
		t.Fatalf("partition b: %v", got)
	}
	if res[0].HighWatermark != 1 || res[1].HighWatermark != 1 {
		t.Fatalf("high watermarks %d %d", res[0].HighWatermark, res[1].HighWatermark)
	}
	if e.m.fetch.Delayed() != 0 {
		t.Fatalf("delayed fetches: %d", e.m.fetch.Delayed())
	}
}

// Data below the high watermark is what counts: a replicated partition's
// append does not complete a consumer's long poll until the HW moves.
func TestFetchLongPollWaitsForHighWatermark(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.leadWith(a, 0, []int32{testNode, 2}, []int32{testNode, 2}, DefaultPartitionConfig())

	params := consumer()
	params.MaxWait = time.Hour
	ch := e.fetchAsync(params, fp(a, 0))
	e.produce(1, AppendRequest{TP: a, Records: batch(t, 2, 10)})
	mustWait(t, ch)

	// A follower fetch (reading up to LEO) is not held back by the HW.
	follower := FetchParams{ReplicaID: 2, MaxBytes: 1 << 20, MaxWait: time.Hour, MinBytes: 1}
	fr := mustRecv(t, e.fetchAsync(follower, fp(a, 0)))[0]
	if got := offsetsIn(t, fr); !slices.Equal(got, []int64{0, 1}) {
		t.Fatalf("follower read %v", got)
	}
	mustWait(t, ch)
	// The follower's next fetch, at 2, moves the HW and releases the consumer.
	fch := e.fetchAsync(follower, fp(a, 2))
	mustWait(t, fch) // the follower itself waits for new data
	res := mustRecv(t, ch)[0]
	if got := offsetsIn(t, res); !slices.Equal(got, []int64{0, 1}) || res.HighWatermark != 2 {
		t.Fatalf("consumer after HW move: %v HW %d", got, res.HighWatermark)
	}
	e.produce(1, AppendRequest{TP: a, Records: batch(t, 1, 10)})
	if got := offsetsIn(t, mustRecv(t, fch)[0]); !slices.Equal(got, []int64{2}) {
		t.Fatalf("follower long poll: %v", got)
	}
}

func TestFetchExpiryAnswersWithNoData(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.lead(a, 0)
	e.produceOK(a, 1, 10)

	params := consumer()
	params.MaxWait = 500 * time.Millisecond
	params.MinBytes = 1 << 20
	ch := e.fetchAsync(params, fp(a, 1))
	e.expire(499 * time.Millisecond)
	mustWait(t, ch)
	e.expire(time.Millisecond)
	r := mustRecv(t, ch)[0]
	if r.Err != nil || r.Records.Size != 0 || r.HighWatermark != 1 {
		t.Fatalf("expired fetch: %+v", r)
	}

	// Expiry re-reads: data below MinBytes that arrived meanwhile is sent.
	ch = e.fetchAsync(params, fp(a, 1))
	e.produceOK(a, 2, 10)
	mustWait(t, ch)
	e.expire(params.MaxWait)
	if got := offsetsIn(t, mustRecv(t, ch)[0]); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("expired fetch read %v", got)
	}
}

func TestFetchByteLimits(t *testing.T) {
	e := newEnv(t)
	parts := []TopicPartition{tp("t", 0), tp("t", 1), tp("t", 2)}
	var size int64
	for _, x := range parts {
		e.lead(x, 0)
		for range 3 {
			e.produceOK(x, 1, 1000)
		}
	}
	one := e.fetchNow(consumer(), withMax(fp(parts[0], 0), 1))[0]
	size = one.Records.Size // one batch, returned despite the 1-byte partition limit (KIP-74)
	if got := offsetsIn(t, one); !slices.Equal(got, []int64{0}) {
		t.Fatalf("minOneMessage: %v", got)
	}

	cases := []struct {
		name     string
		maxBytes int32
		partMax  int32
		hard     bool
		want     [3]int // batches per partition
	}{
		{"all fit", 1 << 20, 1 << 20, false, [3]int{3, 3, 3}},
		{"partition limit", 1 << 20, int32(2 * size), false, [3]int{2, 2, 2}},
		{"request limit spans partitions", int32(4 * size), 1 << 20, false, [3]int{3, 1, 0}},
		{"request limit below one batch", 1, 1 << 20, false, [3]int{1, 0, 0}},
		{"partition limit below one batch", 1 << 20, 1, false, [3]int{1, 0, 0}},
		{"hard limits (fetch v0-v2)", 1 << 20, 1, true, [3]int{0, 0, 0}},
		{"hard request limit", int32(4 * size), 1 << 20, true, [3]int{3, 1, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			params := consumer()
			params.MaxBytes, params.HardMaxBytesLimit = tc.maxBytes, tc.hard
			var req []FetchPartition
			for _, x := range parts {
				req = append(req, withMax(fp(x, 0), tc.partMax))
			}
			res := e.fetchNow(params, req...)
			for i, r := range res {
				if r.Err != nil {
					t.Fatal(r.Err)
				}
				if got := len(offsetsIn(t, r)); got != tc.want[i] {
					t.Fatalf("partition %d: %d batches, want %d", i, got, tc.want[i])
				}
			}
		})
	}
	// A partition that starts empty does not use up minOneMessage.
	params := consumer()
	params.MaxBytes = 1
	res := e.fetchNow(params, fp(parts[0], 3), fp(parts[1], 0), fp(parts[2], 0))
	if res[0].Records.Size != 0 || len(offsetsIn(t, res[1])) != 1 || res[2].Records.Size != 0 {
		t.Fatalf("minOneMessage after an empty partition: %d %d %d", res[0].Records.Size, res[1].Records.Size, res[2].Records.Size)
	}
}

func withMax(f FetchPartition, n int32) FetchPartition {
	f.PartitionMaxBytes = n
	return f
}

// A fetch whose offset lies in an older segment than the high watermark
// is answered at once even below MinBytes (Kafka's case C): waiting would
// not add to what one read returns.
func TestFetchOlderSegmentCompletesAtOnce(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	cfg := DefaultPartitionConfig()
	cfg.Log.SegmentBytes = 300
	e.leadWith(a, 0, []int32{testNode}, []int32{testNode}, cfg)
	for range 4 {
		e.produceOK(a, 1, 200)
	}
	p, _ := e.m.Partition(a)
	if n := p.Log().NumSegments(); n < 2 {
		t.Fatalf("%d segments", n)
	}
	params := consumer()
	params.MaxWait, params.MinBytes = time.Hour, 1<<20
	r := mustRecv(t, e.fetchAsync(params, fp(a, 0)))[0]
	if got := offsetsIn(t, r); !slices.Equal(got, []int64{0}) {
		t.Fatalf("read %v", got)
	}
}

func TestFetchParkedCompletesOnLeadershipChange(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.lead(a, 5)
	params := consumer()
	params.MaxWait = time.Hour
	ch := e.fetchAsync(params, withEpoch(fp(a, 0), 5))
	mustWait(t, ch)
	e.lead(a, 5) // same epoch: nothing changes for the fetch
	mustWait(t, ch)
	e.lead(a, 6)
	if r := mustRecv(t, ch)[0]; !errors.Is(r.Err, ErrFencedLeaderEpoch) {
		t.Fatalf("after epoch bump: %+v", r)
	}
}

func TestFetchParkedCompletesOnDeleteRecords(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.lead(a, 0)
	e.produceOK(a, 2, 10)
	params := consumer()
	params.MaxWait, params.MinBytes = time.Hour, 1<<20
	ch := e.fetchAsync(params, fp(a, 1))
	mustWait(t, ch)
	if _, err := e.m.DeleteRecords(a, 2); err != nil {
		t.Fatal(err)
	}
	if r := mustRecv(t, ch)[0]; !errors.Is(r.Err, ErrOffsetOutOfRange) {
		t.Fatalf("after DeleteRecords: %+v", r)
	}
}

func TestFetchFollowerDivergingEpoch(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.leadWith(a, 1, []int32{testNode, 2}, []int32{testNode, 2}, DefaultPartitionConfig())
	e.produceOK(a, 3, 10) // epoch 1: offsets 0-2
	e.leadWith(a, 3, []int32{testNode, 2}, []int32{testNode, 2}, DefaultPartitionConfig())
	e.produceOK(a, 2, 10) // epoch 3: offsets 3-4

	follower := FetchParams{ReplicaID: 2, MaxBytes: 1 << 20}
	// The follower has offsets 0-3 of an epoch 2 that never existed here:
	// it must truncate to the end of epoch 1, offset 3.
	f := fp(a, 4)
	f.CurrentLeaderEpoch, f.LastFetchedEpoch = 3, 2
	r := e.fetchNow(follower, f)[0]
	if r.Err != nil || r.DivergingEpoch != 1 || r.DivergingEndOffset != 3 || r.Records.Size != 0 {
		t.Fatalf("diverging: %+v", r)
	}
	// A follower consistent with the leader reads on.
	f.FetchOffset, f.LastFetchedEpoch = 3, 1
	r = e.fetchNow(follower, f)[0]
	if r.Err != nil || r.DivergingEpoch != -1 || !slices.Equal(offsetsIn(t, r), []int64{3, 4}) {
		t.Fatalf("consistent follower: %+v", r)
	}
	// A diverging follower is answered at once even when it would wait.
	follower.MaxWait = time.Hour
	f.FetchOffset, f.LastFetchedEpoch = 4, 2
	if r := mustRecv(t, e.fetchAsync(follower, f))[0]; r.DivergingEpoch != 1 {
		t.Fatalf("long-poll diverging: %+v", r)
	}
	// A replica outside the replica set is refused.
	follower.ReplicaID = 9
	if r := e.fetchNow(follower, f)[0]; !errors.Is(r.Err, ErrUnknownLeaderEpoch) {
		t.Fatalf("unknown replica: %+v", r)
	}
}

// TestFetchAsLeaderReplicaRefused: a fetch claiming the leader's own id
// as its replica id is no follower (Kafka's followerReplicaOrThrow looks
// in the remote replicas only), so it must not read past the high
// watermark as followers do.
func TestFetchAsLeaderReplicaRefused(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.leadWith(a, 0, []int32{testNode, 2}, []int32{testNode, 2}, DefaultPartitionConfig())
	e.produceOK(a, 3, 10) // acks=1: above the high watermark until 2 fetches
	self := FetchParams{ReplicaID: testNode, MaxBytes: 1 << 20}
	if r := e.fetchNow(self, fp(a, 0))[0]; !errors.Is(r.Err, ErrNotLeader) || r.Records.Size != 0 {
		t.Fatalf("fetch as the leader's own replica id, no epoch: %+v", r)
	}
	f := fp(a, 0)
	f.CurrentLeaderEpoch = 0
	if r := e.fetchNow(self, f)[0]; !errors.Is(r.Err, ErrUnknownLeaderEpoch) || r.Records.Size != 0 {
		t.Fatalf("fetch as the leader's own replica id, with epoch: %+v", r)
	}
}
