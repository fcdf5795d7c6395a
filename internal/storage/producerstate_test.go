package storage

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/samsa-streaming/samsa/internal/record"
)

// idemBatch builds a client batch of n records from producer pid.
func idemBatch(t testing.TB, pid int64, epoch int16, seq int32, n int) record.Batch {
	t.Helper()
	opts := record.DefaultBuilderOptions()
	opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence = pid, epoch, seq
	bld := record.NewBuilder(opts)
	for i := 0; i < n; i++ {
		bld.Add(1_700_000_000_000, nil, []byte("v"))
	}
	b, err := bld.Build()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func appendIdem(l *Log, b record.Batch) (AppendResult, error) {
	return l.Append(append([]byte(nil), b...), AppendOptions{Origin: OriginClient})
}

func TestProducerSequenceRules(t *testing.T) {
	const pid = 7
	type step struct {
		epoch   int16
		seq     int32
		n       int
		wantErr error
		dupOf   int // index of the earlier step this duplicates, or -1
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{{0, 0, 2, nil, -1}, {0, 2, 3, nil, -1}, {0, 5, 1, nil, -1}}},
		{"gap", []step{{0, 0, 2, nil, -1}, {0, 3, 1, ErrOutOfOrderSequence, -1}}},
		{"backwards not duplicate", []step{{0, 0, 2, nil, -1}, {0, 2, 2, nil, -1}, {0, 1, 2, ErrOutOfOrderSequence, -1}}},
		{"unknown producer any sequence (KIP-360)", []step{{0, 42, 1, nil, -1}, {0, 43, 1, nil, -1}}},
		{"older epoch fenced", []step{{3, 0, 1, nil, -1}, {2, 1, 1, ErrInvalidProducerEpoch, -1}}},
		{"newer epoch from 0", []step{{0, 0, 5, nil, -1}, {1, 0, 1, nil, -1}, {1, 1, 1, nil, -1}}},
		{"newer epoch not from 0", []step{{0, 0, 5, nil, -1}, {1, 5, 1, ErrOutOfOrderSequence, -1}}},
		{"wrap around", []step{{0, math.MaxInt32 - 1, 2, nil, -1}, {0, 0, 1, nil, -1}, {0, 1, 1, nil, -1}}},
		{"wrapping batch", []step{{0, math.MaxInt32, 3, nil, -1}, {0, 2, 1, nil, -1}}},
		{"duplicate of newest", []step{{0, 0, 2, nil, -1}, {0, 0, 2, nil, 0}}},
		{"duplicate of each of last 5", []step{
			{0, 0, 1, nil, -1}, {0, 1, 1, nil, -1}, {0, 2, 1, nil, -1}, {0, 3, 1, nil, -1}, {0, 4, 1, nil, -1}, {0, 5, 1, nil, -1},
			{0, 1, 1, nil, 1}, {0, 2, 1, nil, 2}, {0, 3, 1, nil, 3}, {0, 4, 1, nil, 4}, {0, 5, 1, nil, 5},
			{0, 0, 1, ErrOutOfOrderSequence, -1}, // evicted: no longer a duplicate
		}},
		{"duplicate in other epoch is not", []step{{0, 0, 1, nil, -1}, {1, 0, 1, nil, -1}, {0, 0, 1, ErrInvalidProducerEpoch, -1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newTestLog(t, smallConfig(), nil)
			var results []AppendResult
			for i, st := range tc.steps {
				leo := l.LogEndOffset()
				res, err := appendIdem(l, idemBatch(t, pid, st.epoch, st.seq, st.n))
				results = append(results, res)
				if !errors.Is(err, st.wantErr) {
					t.Fatalf("step %d: err %v, want %v", i, err, st.wantErr)
				}
				if err != nil || st.dupOf >= 0 {
					if l.LogEndOffset() != leo {
						t.Fatalf("step %d: wrote although refused or duplicate", i)
					}
				}
				if st.dupOf >= 0 {
					orig := results[st.dupOf]
					if !res.Duplicate || res.FirstOffset != orig.FirstOffset || res.LastOffset != orig.LastOffset {
						t.Fatalf("step %d: %+v, want duplicate of %+v", i, res, orig)
					}
				} else if res.Duplicate {
					t.Fatalf("step %d: unexpected duplicate", i)
				}
			}
		})
	}
}

func TestProducerStateNonIdempotentUntracked(t *testing.T) {
	l := newTestLog(t, smallConfig(), nil)
	mustAppend(t, l, idemBatch(t, -1, -1, -1, 3))
	if n := len(l.ProducerState()); n != 0 {
		t.Fatalf("%d producers tracked for a non-idempotent batch", n)
	}
}

func TestProducerStateReplicationTracked(t *testing.T) {
	l := newTestLog(t, smallConfig(), nil)
	b := idemBatch(t, 9, 2, 10, 2)
	b.SetBaseOffset(0)
	b.UpdateCRC()
	if _, err := l.Append(append([]byte(nil), b...), AppendOptions{Origin: OriginReplication, LeaderEpoch: -1}); err != nil {
		t.Fatal(err)
	}
	e := l.ProducerState()[9]
	if e.Epoch != 2 || e.NumBatches != 1 || e.Batches[0].LastSeq != 11 || e.Batches[0].LastOffset != 1 {
		t.Fatalf("entry %+v", e)
	}
}

func reopen(t *testing.T, l *Log, opts OpenOptions) *Log {
	t.Helper()
	dir := l.Dir()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openTestLog(t, dir, smallConfig(), opts)
	t.Cleanup(func() { l2.Close() })
	return l2
}

// fill appends idempotent batches until the log has rolled a few times.
func fillIdem(t *testing.T, l *Log, pid int64, batches int) []AppendResult {
	var out []AppendResult
	for i := 0; i < batches; i++ {
		res, err := appendIdem(l, idemBatch(t, pid, 0, int32(i*10), 10))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res)
	}
	return out
}

func TestProducerStateCleanRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	l := openTestLog(t, dir, smallConfig(), OpenOptions{})
	res := fillIdem(t, l, 5, 100)
	if l.NumSegments() < 3 {
		t.Fatalf("want several segments, have %d", l.NumSegments())
	}
	l = reopen(t, l, OpenOptions{CleanShutdown: true, RecoveryPoint: l.LogEndOffset()})
	if st := l.LoadStats(); st.ProducerBatchesScanned != 0 || st.BytesScanned != 0 {
		t.Fatalf("clean open scanned: %+v", st)
	}
	last := res[len(res)-1]
	dup, err := appendIdem(l, idemBatch(t, 5, 0, int32((len(res)-1)*10), 10))
	if err != nil || !dup.Duplicate || dup.FirstOffset != last.FirstOffset {
		t.Fatalf("retry after restart: %+v %v", dup, err)
	}
	if _, err := appendIdem(l, idemBatch(t, 5, 0, 999, 1)); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("gap after restart: %v", err)
	}
}

func TestProducerStateUncleanRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	l := openTestLog(t, dir, smallConfig(), OpenOptions{})
	res := fillIdem(t, l, 5, 100)
	want := l.ProducerState()
	// Simulate a crash: drop the Close-time snapshot at the end.
	leo := l.LogEndOffset()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, snapshotFileName(leo))); err != nil {
		t.Fatal(err)
	}
	l = openTestLog(t, dir, smallConfig(), OpenOptions{RecoveryPoint: 0})
	t.Cleanup(func() { l.Close() })
	if st := l.LoadStats(); st.ProducerBatchesScanned == 0 || st.ProducerBatchesScanned >= len(res) {
		t.Fatalf("want a partial header scan above a roll snapshot, got %+v", st)
	}
	if got := l.ProducerState(); got[5] != want[5] {
		t.Fatalf("rebuilt %+v, want %+v", got[5], want[5])
	}
	for i := len(res) - 5; i < len(res); i++ {
		dup, err := appendIdem(l, idemBatch(t, 5, 0, int32(i*10), 10))
		if err != nil || !dup.Duplicate || dup.FirstOffset != res[i].FirstOffset {
			t.Fatalf("retry %d after unclean restart: %+v %v", i, dup, err)
		}
	}
}

func TestProducerStateCorruptSnapshotFallsBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	l := openTestLog(t, dir, smallConfig(), OpenOptions{})
	fillIdem(t, l, 5, 100)
	want := l.ProducerState()
	leo := l.LogEndOffset()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	offs, _ := listSnapshots(dir)
	for _, off := range offs { // corrupt every snapshot: full header scan
		p := filepath.Join(dir, snapshotFileName(off))
		data, _ := os.ReadFile(p)
		data[len(data)-1] ^= 0xff
		os.WriteFile(p, data, 0o644)
	}
	l2 := openTestLog(t, dir, smallConfig(), OpenOptions{CleanShutdown: true, RecoveryPoint: leo})
	defer l2.Close()
	if got := l2.ProducerState(); got[5] != want[5] {
		t.Fatalf("rebuilt %+v, want %+v", got[5], want[5])
	}
	if l2.LoadStats().ProducerBatchesScanned != 100 {
		t.Fatalf("scanned %d batches, want all 100", l2.LoadStats().ProducerBatchesScanned)
	}
}

func TestProducerStateTruncation(t *testing.T) {
	l := newTestLog(t, smallConfig(), nil)
	res := fillIdem(t, l, 5, 100)
	cut := res[90].FirstOffset
	if err := l.TruncateTo(cut); err != nil {
		t.Fatal(err)
	}
	e := l.ProducerState()[5]
	if e.lastSeq() != 899 || e.Batches[e.NumBatches-1].LastOffset != res[89].LastOffset {
		t.Fatalf("after truncation %+v", e)
	}
	offs, _ := listSnapshots(l.Dir())
	for _, off := range offs {
		if off > cut {
			t.Fatalf("snapshot %d above truncation point %d", off, cut)
		}
	}
	if _, err := appendIdem(l, idemBatch(t, 5, 0, 900, 10)); err != nil {
		t.Fatalf("append after truncation: %v", err)
	}
	if err := l.TruncateFullyAndStartAt(1000); err != nil {
		t.Fatal(err)
	}
	if n := len(l.ProducerState()); n != 0 {
		t.Fatalf("%d producers after full truncation", n)
	}
	if offs, _ := listSnapshots(l.Dir()); len(offs) != 0 {
		t.Fatalf("snapshots left: %v", offs)
	}
}

func TestProducerStateDeleteRecords(t *testing.T) {
	l := newTestLog(t, smallConfig(), nil)
	fillIdem(t, l, 5, 100)
	l.SetHighWatermark(l.LogEndOffset())
	start, err := l.DeleteRecordsBefore(-1)
	if err != nil {
		t.Fatal(err)
	}
	offs, _ := listSnapshots(l.Dir())
	for _, off := range offs {
		if off < start {
			t.Fatalf("snapshot %d below log start %d", off, start)
		}
	}
	// The producer survives (KIP-360): its next batch still follows.
	if _, err := appendIdem(l, idemBatch(t, 5, 0, 1000, 1)); err != nil {
		t.Fatal(err)
	}
}

func TestProducerExpiry(t *testing.T) {
	clk := newTestClock()
	dir := filepath.Join(t.TempDir(), "t-0")
	l := openTestLog(t, dir, smallConfig(), OpenOptions{Clock: clk.Now, ProducerIDExpirationMs: 1000})
	defer l.Close()
	// The batch's timestamp is the test clock's now: expiry counts from it.
	opts := record.DefaultBuilderOptions()
	opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence = 5, 0, 0
	bld := record.NewBuilder(opts)
	bld.Add(clk.Ms(), nil, []byte("x"))
	b, err := bld.Build()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := appendIdem(l, b); err != nil {
		t.Fatal(err)
	}
	if n := l.RemoveExpiredProducers(); n != 0 {
		t.Fatalf("expired %d too early", n)
	}
	clk.Advance(1001 * 1e6)
	if n := l.RemoveExpiredProducers(); n != 1 || len(l.ProducerState()) != 0 {
		t.Fatalf("expired %d", n)
	}
}

func FuzzDecodeSnapshot(f *testing.F) {
	m := map[int64]*ProducerEntry{}
	e := newProducerEntry(3)
	e.addBatch(1, ProducerBatch{FirstSeq: 0, LastSeq: 4, FirstOffset: 10, LastOffset: 14, MaxTimestamp: 99})
	m[3] = &e
	f.Add(encodeSnapshot(m))
	f.Add(encodeSnapshot(nil))
	f.Add([]byte{0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeSnapshot(data)
		if err != nil {
			if !errors.Is(err, ErrCorruptSnapshot) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		again, err := decodeSnapshot(encodeSnapshot(got))
		if err != nil || len(again) != len(got) {
			t.Fatalf("round trip: %v", err)
		}
		for pid, e := range got {
			if *again[pid] != *e {
				t.Fatalf("round trip changed %d", pid)
			}
		}
	})
}

// TestProducerStateReplayFromMidSegmentSnapshot restarts from a Close-time
// snapshot that lies inside a segment (then no longer the active one).
func TestProducerStateReplayFromMidSegmentSnapshot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	l := openTestLog(t, dir, smallConfig(), OpenOptions{})
	fillIdem(t, l, 5, 5)
	l = reopen(t, l, OpenOptions{CleanShutdown: true, RecoveryPoint: l.LogEndOffset()})
	for i := 5; i < 30; i++ {
		if _, err := appendIdem(l, idemBatch(t, 5, 0, int32(i*10), 10)); err != nil {
			t.Fatal(err)
		}
	}
	want := l.ProducerState()
	leo := l.LogEndOffset()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{leo} {
		os.Remove(filepath.Join(dir, snapshotFileName(off)))
	}
	offs, _ := listSnapshots(dir)
	for _, off := range offs { // keep only the mid-segment one at 50
		if off != 50 {
			os.Remove(filepath.Join(dir, snapshotFileName(off)))
		}
	}
	if offs, _ := listSnapshots(dir); len(offs) != 1 || offs[0] != 50 {
		t.Fatalf("snapshots %v, want [50]", offs)
	}
	l2 := openTestLog(t, dir, smallConfig(), OpenOptions{CleanShutdown: true, RecoveryPoint: leo})
	defer l2.Close()
	if got := l2.ProducerState(); got[5] != want[5] {
		t.Fatalf("rebuilt %+v, want %+v", got[5], want[5])
	}
	if n := l2.LoadStats().ProducerBatchesScanned; n != 25 {
		t.Fatalf("scanned %d batches, want 25", n)
	}
}
