package replica

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/storage"
)

func TestListOffset(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.lead(a, 7)
	base := time.Now().Add(-time.Hour).UnixMilli()
	// Batches at base, base+100 (max), base+50; offsets 0-1, 2-3, 4-5.
	for _, ts := range []int64{base, base + 100, base + 50} {
		if r := e.produce(1, AppendRequest{TP: a, Records: batchAt(t, 2, 10, ts, record.CodecNone)})[0]; r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if _, err := e.m.DeleteRecords(a, 1); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name      string
		ts        int64
		isolation int8
		off, rts  int64
		epoch     int32
	}{
		{"latest", LatestTimestamp, ReadUncommitted, 6, -1, 7},
		{"latest committed", LatestTimestamp, ReadCommitted, 6, -1, 7},
		{"latest replica", LatestTimestamp, IsolationNone, 6, -1, 7},
		{"earliest", EarliestTimestamp, ReadUncommitted, 1, -1, 7},
		{"earliest local", EarliestLocalTimestamp, ReadUncommitted, 1, -1, 7},
		{"latest tiered", LatestTieredTimestamp, ReadUncommitted, -1, -1, -1},
		{"max timestamp", MaxTimestamp, ReadUncommitted, 2, base + 100, 7},
		{"by time, exact", base + 50, ReadUncommitted, 2, base + 100, 7},
		{"by time, first batch", base - 1, ReadUncommitted, 1, base, 7},
		{"by time, too late", base + 101, ReadUncommitted, -1, -1, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			off, ts, epoch, err := e.m.ListOffset(a, tc.ts, tc.isolation, -1)
			if err != nil || off != tc.off || ts != tc.rts || epoch != tc.epoch {
				t.Fatalf("got (%d, %d, %d, %v), want (%d, %d, %d)", off, ts, epoch, err, tc.off, tc.rts, tc.epoch)
			}
		})
	}

	if _, _, _, err := e.m.ListOffset(a, LatestTimestamp, ReadUncommitted, 6); !errors.Is(err, ErrFencedLeaderEpoch) {
		t.Fatalf("fenced: %v", err)
	}
	if _, _, _, err := e.m.ListOffset(a, LatestTimestamp, ReadUncommitted, 8); !errors.Is(err, ErrUnknownLeaderEpoch) {
		t.Fatalf("unknown epoch: %v", err)
	}
	if _, _, _, err := e.m.ListOffset(tp("x", 0), LatestTimestamp, ReadUncommitted, -1); !errors.Is(err, ErrUnknownTopicOrPartition) {
		t.Fatalf("unknown partition: %v", err)
	}
}

// On a replicated partition, records above the high watermark are not
// visible to consumers' lookups, and a new leader whose HW lags its epoch
// start answers OFFSET_NOT_AVAILABLE.
func TestListOffsetHighWatermark(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	replicas := []int32{testNode, 2}
	e.leadWith(a, 1, replicas, replicas, DefaultPartitionConfig())
	ts := time.Now().UnixMilli()
	e.produce(1, AppendRequest{TP: a, Records: batchAt(t, 2, 1, ts, record.CodecNone)})

	if off, _, _, err := e.m.ListOffset(a, LatestTimestamp, ReadUncommitted, -1); err != nil || off != 0 {
		t.Fatalf("latest: %d %v", off, err)
	}
	if off, _, _, err := e.m.ListOffset(a, LatestTimestamp, IsolationNone, -1); err != nil || off != 2 {
		t.Fatalf("latest for a replica: %d %v", off, err)
	}
	if off, _, _, err := e.m.ListOffset(a, ts, ReadUncommitted, -1); err != nil || off != -1 {
		t.Fatalf("by time above HW: %d %v", off, err)
	}
	if off, _, _, err := e.m.ListOffset(a, ts, IsolationNone, -1); err != nil || off != 0 {
		t.Fatalf("by time for a replica: %d %v", off, err)
	}

	e.leadWith(a, 2, replicas, replicas, DefaultPartitionConfig()) // epoch 2 starts at 2, HW still 0
	if _, _, _, err := e.m.ListOffset(a, LatestTimestamp, ReadUncommitted, -1); !errors.Is(err, ErrOffsetNotAvailable) {
		t.Fatalf("latest on a lagging new leader: %v", err)
	}
	if _, _, _, err := e.m.ListOffset(a, ts, ReadUncommitted, -1); !errors.Is(err, ErrOffsetNotAvailable) {
		t.Fatalf("by time on a lagging new leader: %v", err)
	}
	if off, _, _, err := e.m.ListOffset(a, EarliestTimestamp, ReadUncommitted, -1); err != nil || off != 0 {
		t.Fatalf("earliest on a lagging new leader: %d %v", off, err)
	}
	f := fp(a, 2)
	f.CurrentLeaderEpoch = 2
	e.fetchNow(FetchParams{ReplicaID: 2, MaxBytes: 1 << 20}, f)
	if off, _, _, err := e.m.ListOffset(a, LatestTimestamp, ReadUncommitted, -1); err != nil || off != 2 {
		t.Fatalf("latest once caught up: %d %v", off, err)
	}
}

func TestLegacyListOffsets(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	cfg := DefaultPartitionConfig()
	cfg.Log.SegmentBytes = 300
	e.leadWith(a, 0, []int32{testNode}, []int32{testNode}, cfg)
	for range 3 {
		e.produceOK(a, 1, 200) // one batch per segment
	}
	p, _ := e.m.Partition(a)
	bases := p.Log().SegmentBaseOffsets()
	if len(bases) < 3 {
		t.Fatalf("segments %v", bases)
	}
	got, err := e.m.LegacyListOffsets(a, LatestTimestamp, 10, true)
	if err != nil {
		t.Fatal(err)
	}
	// Newest first: the log end offset, then every segment base.
	want := []int64{3}
	for i := len(bases) - 1; i >= 0; i-- {
		if bases[i] < 3 {
			want = append(want, bases[i])
		}
	}
	want = slices.Compact(want)
	if !slices.Equal(got, want) {
		t.Fatalf("latest: %v, want %v", got, want)
	}
	if got, _ := e.m.LegacyListOffsets(a, LatestTimestamp, 1, true); !slices.Equal(got, []int64{3}) {
		t.Fatalf("latest, max 1: %v", got)
	}
	if got, _ := e.m.LegacyListOffsets(a, EarliestTimestamp, 10, true); !slices.Equal(got, []int64{0}) {
		t.Fatalf("earliest: %v", got)
	}
	if got, _ := e.m.LegacyListOffsets(a, 0, 10, true); len(got) != 0 {
		t.Fatalf("before any segment: %v", got)
	}
	if got, _ := e.m.LegacyListOffsets(a, time.Now().Add(time.Hour).UnixMilli(), 10, true); !slices.Equal(got, want) {
		t.Fatalf("after every segment: %v, want %v", got, want)
	}
	if got, _ := e.m.LegacyListOffsets(a, LatestTimestamp, 0, true); len(got) != 0 {
		t.Fatalf("max 0: %v", got)
	}
}

func TestDeleteRecords(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.lead(a, 0)
	for range 5 {
		e.produceOK(a, 2, 10)
	}
	if lw, err := e.m.DeleteRecords(a, 3); err != nil || lw != 3 {
		t.Fatalf("delete before 3: %d %v", lw, err)
	}
	if r := e.fetchNow(consumer(), fp(a, 2))[0]; !errors.Is(r.Err, ErrOffsetOutOfRange) {
		t.Fatalf("fetch below the new start: %+v", r)
	}
	// A read inside the batch holding the start offset returns that batch.
	if r := e.fetchNow(consumer(), fp(a, 3))[0]; r.Err != nil || r.LogStartOffset != 3 {
		t.Fatalf("fetch at the new start: %+v", r)
	}
	if lw, err := e.m.DeleteRecords(a, 2); err != nil || lw != 3 {
		t.Fatalf("delete below the start is a no-op: %d %v", lw, err)
	}
	if _, err := e.m.DeleteRecords(a, 11); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("delete beyond HW: %v", err)
	}
	if _, err := e.m.DeleteRecords(a, -2); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("delete before -2: %v", err)
	}
	if lw, err := e.m.DeleteRecords(a, -1); err != nil || lw != 10 {
		t.Fatalf("delete up to the HW: %d %v", lw, err)
	}
	if off, _, _, _ := e.m.ListOffset(a, EarliestTimestamp, ReadUncommitted, -1); off != 10 {
		t.Fatalf("earliest after deleting everything: %d", off)
	}

	compacted := tp("c", 0)
	cfg := DefaultPartitionConfig()
	cfg.Log.Compact, cfg.Log.Delete = true, false
	e.leadWith(compacted, 0, []int32{testNode}, []int32{testNode}, cfg)
	if _, err := e.m.DeleteRecords(compacted, -1); !errors.Is(err, ErrPolicyViolation) {
		t.Fatalf("compacted topic: %v", err)
	}
	if _, err := e.m.DeleteRecords(tp("x", 0), -1); !errors.Is(err, ErrUnknownTopicOrPartition) {
		t.Fatalf("unknown partition: %v", err)
	}
}

func TestEndOffsetForEpoch(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.lead(a, 1)
	e.produceOK(a, 3, 1) // epoch 1: 0-2
	e.lead(a, 4)
	e.produceOK(a, 2, 1) // epoch 4: 3-4

	cases := []struct {
		name           string
		current, epoch int32
		wantEpoch      int32
		wantEnd        int64
		wantErr        error
	}{
		{"first epoch", -1, 1, 1, 3, nil},
		{"gap epoch maps down", -1, 3, 1, 3, nil},
		{"current epoch", 4, 4, 4, 5, nil},
		{"before every epoch: its successor's start", -1, 0, 0, 0, nil},
		{"after every epoch", -1, 5, -1, -1, nil},
		{"fenced", 3, 1, -1, -1, ErrFencedLeaderEpoch},
		{"unknown", 5, 1, -1, -1, ErrUnknownLeaderEpoch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep, end, err := e.m.EndOffsetForEpoch(a, tc.current, tc.epoch)
			if !errors.Is(err, tc.wantErr) || ep != tc.wantEpoch || end != tc.wantEnd {
				t.Fatalf("got (%d, %d, %v), want (%d, %d, %v)", ep, end, err, tc.wantEpoch, tc.wantEnd, tc.wantErr)
			}
		})
	}
}

// TestBecomeLeaderRecordsEpoch: a new leader epoch starts at the log end
// offset in the epoch cache as soon as the partition becomes leader (Kafka's
// makeLeader), not when its first batch is appended, so OffsetForLeaderEpoch
// answers for it at once and a follower that fetched in it is not fenced.
func TestBecomeLeaderRecordsEpoch(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	both := []int32{testNode, 2}
	e.leadWith(a, 0, both, both, DefaultPartitionConfig())
	check := func(epoch, wantEpoch int32, wantEnd int64) {
		t.Helper()
		ep, end, err := e.m.EndOffsetForEpoch(a, -1, epoch)
		if err != nil || ep != wantEpoch || end != wantEnd {
			t.Fatalf("EndOffsetForEpoch(%d) = (%d, %d, %v), want (%d, %d)", epoch, ep, end, err, wantEpoch, wantEnd)
		}
	}
	check(0, 0, 0) // empty log, epoch 0 known from offset 0
	e.produceOK(a, 3, 1)
	e.produceOK(a, 2, 1) // epoch 0: offsets 0-4
	check(0, 0, 5)
	e.leadWith(a, 3, both, both, DefaultPartitionConfig())
	check(3, 3, 5) // the current epoch: the log end offset
	check(1, 0, 5) // largest epoch <= 1 is 0, ending where epoch 3 starts
	check(2, 0, 5)
	check(0, 0, 5)
	check(4, -1, -1)
	p, _ := e.m.Partition(a)
	if got := p.Log().LeaderEpochs(); len(got) != 2 || got[1] != (storage.EpochEntry{Epoch: 3, StartOffset: 5}) {
		t.Fatalf("epoch cache %v", got)
	}

	// A follower that fetched offsets 0-4 in epoch 0 and then learned of
	// epoch 3 keeps reading; one that claims to have fetched in epoch 3
	// at offset 5 is consistent (before the fix it was sent back to
	// truncate: the leader had no end offset for epoch 3).
	follower := FetchParams{ReplicaID: 2, MaxBytes: 1 << 20}
	f := fp(a, 5)
	f.CurrentLeaderEpoch, f.LastFetchedEpoch = 3, 3
	if r := e.fetchNow(follower, f)[0]; r.Err != nil || r.DivergingEpoch != -1 {
		t.Fatalf("follower in the new epoch: %+v", r)
	}
	f.LastFetchedEpoch = 0
	if r := e.fetchNow(follower, f)[0]; r.Err != nil || r.DivergingEpoch != -1 {
		t.Fatalf("follower from epoch 0: %+v", r)
	}

	// Re-electing in the same epoch changes nothing; data appended in
	// epoch 3 extends it.
	e.leadWith(a, 3, both, both, DefaultPartitionConfig())
	e.produceOK(a, 1, 1)
	check(3, 3, 6)
	check(2, 0, 5)
}
