package storage

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
)

func TestAppendAssignsOffsetsAndEpochs(t *testing.T) {
	l := newTestLog(t, DefaultLogConfig(), nil)
	steps := []struct {
		records    int
		epoch      int32
		wantFirst  int64
		wantLast   int64
		wantEpochs []EpochEntry
	}{
		{1, 3, 0, 0, []EpochEntry{{3, 0}}},
		{5, 3, 1, 5, []EpochEntry{{3, 0}}},
		{2, 5, 6, 7, []EpochEntry{{3, 0}, {5, 6}}},
	}
	for i, s := range steps {
		b := makeBatch(t, s.records, 1000, 10, byte(i))
		res, err := l.Append(b, AppendOptions{LeaderEpoch: s.epoch, Origin: OriginClient})
		if err != nil {
			t.Fatal(err)
		}
		if res.FirstOffset != s.wantFirst || res.LastOffset != s.wantLast || res.NumRecords != s.records || res.LogEndOffset != s.wantLast+1 || res.LogAppendTimeMs != -1 {
			t.Fatalf("step %d: %+v", i, res)
		}
		if b.BaseOffset() != s.wantFirst || b.PartitionLeaderEpoch() != s.epoch {
			t.Fatalf("step %d: batch not rewritten in place: base %d epoch %d", i, b.BaseOffset(), b.PartitionLeaderEpoch())
		}
		if got := l.LeaderEpochs(); len(got) != len(s.wantEpochs) || got[len(got)-1] != s.wantEpochs[len(got)-1] {
			t.Fatalf("step %d: epochs %v, want %v", i, got, s.wantEpochs)
		}
	}
	data, err := os.ReadFile(filepath.Join(l.Dir(), leaderEpochCheckpointFile))
	if err != nil || string(data) != "0\n2\n3 0\n5 6\n" {
		t.Fatalf("leader-epoch-checkpoint %q %v", data, err)
	}
	if e, off := l.EndOffsetForEpoch(3); e != 3 || off != 6 {
		t.Fatalf("EndOffsetForEpoch(3) = %d %d", e, off)
	}
	if e, off := l.EndOffsetForEpoch(5); e != 5 || off != 8 {
		t.Fatalf("EndOffsetForEpoch(5) = %d %d", e, off)
	}
	got := readAllBatches(t, l)
	if len(got) != 3 || got[2].BaseOffset() != 6 || got[2].PartitionLeaderEpoch() != 5 {
		t.Fatalf("read back %d batches", len(got))
	}
}

func TestAppendRejects(t *testing.T) {
	ctl := func(t *testing.T) record.Batch {
		b, err := record.NewEndTxnMarkerBatch(1, 0, 1000, record.EndTxnMarker{Type: record.ControlCommit})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name   string
		cfg    func(*LogConfig)
		data   func(t *testing.T) []byte
		origin AppendOrigin
		want   error
	}{
		{"client base offset not 0", nil, func(t *testing.T) []byte {
			b := makeBatch(t, 2, 1000, 10, 0)
			b.SetBaseOffset(5)
			return b
		}, OriginClient, record.ErrInvalid},
		{"client with two batches", nil, func(t *testing.T) []byte {
			return append(makeBatch(t, 1, 1000, 10, 0), makeBatch(t, 1, 1000, 10, 1)...)
		}, OriginClient, record.ErrInvalid},
		{"bad crc", nil, func(t *testing.T) []byte {
			b := makeBatch(t, 2, 1000, 10, 0)
			b[len(b)-1] ^= 1
			return b
		}, OriginClient, record.ErrCorrupt},
		{"partial batch from a client", nil, func(t *testing.T) []byte {
			b := makeBatch(t, 2, 1000, 10, 0)
			return b[:len(b)-3]
		}, OriginClient, record.ErrCorrupt},
		{"too large", func(c *LogConfig) { c.MaxMessageBytes = 200 }, func(t *testing.T) []byte {
			return makeBatch(t, 5, 1000, 50, 0)
		}, OriginClient, record.ErrTooLarge},
		{"control batch from a client", nil, func(t *testing.T) []byte { return ctl(t) }, OriginClient, record.ErrInvalid},
		{"timestamp too far ahead", func(c *LogConfig) { c.TimestampAfterMaxMs = 1000 }, func(t *testing.T) []byte {
			return makeBatch(t, 1, time.Now().UnixMilli()+3_600_000, 10, 0)
		}, OriginClient, record.ErrInvalidTimestamp},
		{"null key on a compacted topic", func(c *LogConfig) { c.Compact = true }, func(t *testing.T) []byte {
			b := record.NewBuilder(record.DefaultBuilderOptions())
			b.Add(1000, nil, []byte("v"))
			batch, _ := b.Build()
			return batch
		}, OriginClient, record.ErrInvalid},
		{"larger than a segment", func(c *LogConfig) { c.SegmentBytes = 200 }, func(t *testing.T) []byte {
			b := makeBatch(t, 5, 1000, 50, 0)
			b.SetBaseOffset(3)
			return b
		}, OriginReplication, ErrRecordBatchTooLarge},
		{"replication below the log end", nil, func(t *testing.T) []byte {
			return makeBatch(t, 1, 1000, 10, 0) // base offset 0, log end 3
		}, OriginReplication, ErrUnexpectedAppendOffset},
		{"replication out of order", nil, func(t *testing.T) []byte {
			a, b := makeBatch(t, 2, 1000, 10, 0), makeBatch(t, 2, 1000, 10, 1)
			a.SetBaseOffset(10)
			b.SetBaseOffset(11)
			return append(a, b...)
		}, OriginReplication, ErrOffsetsOutOfOrder},
		{"replication bad crc", nil, func(t *testing.T) []byte {
			b := makeBatch(t, 2, 1000, 10, 0)
			b.SetBaseOffset(3)
			b[len(b)-1] ^= 1
			return b
		}, OriginReplication, record.ErrCorrupt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultLogConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			l := newTestLog(t, cfg, nil)
			mustAppend(t, l, makeBatch(t, 3, 1000, 10, 9))
			before := readAllBatches(t, l)
			_, err := l.Append(tc.data(t), AppendOptions{Origin: tc.origin})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if l.LogEndOffset() != 3 {
				t.Fatalf("log end moved to %d", l.LogEndOffset())
			}
			equalBatches(t, readAllBatches(t, l), before)
		})
	}
}

func TestAppendEmptyIsNoop(t *testing.T) {
	l := newTestLog(t, DefaultLogConfig(), nil)
	res, err := l.Append(nil, AppendOptions{Origin: OriginClient})
	if err != nil || res.FirstOffset != -1 || res.NumRecords != 0 || l.LogEndOffset() != 0 {
		t.Fatalf("empty append: %+v %v", res, err)
	}
}

func TestCoordinatorMayWriteControlBatches(t *testing.T) {
	l := newTestLog(t, DefaultLogConfig(), nil)
	b, err := record.NewEndTxnMarkerBatch(7, 1, 1000, record.EndTxnMarker{Type: record.ControlAbort, CoordinatorEpoch: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(b, AppendOptions{Origin: OriginCoordinator, LeaderEpoch: 2}); err != nil {
		t.Fatal(err)
	}
	got := readAllBatches(t, l)
	if m, err := got[0].EndTxnMarker(); err != nil || m.Type != record.ControlAbort || m.CoordinatorEpoch != 4 {
		t.Fatalf("marker %+v %v", m, err)
	}
}

func TestLogAppendTime(t *testing.T) {
	clk := newTestClock()
	cfg := DefaultLogConfig()
	cfg.LogAppendTime = true
	l := newTestLog(t, cfg, clk)
	b := makeBatch(t, 3, 5, 10, 0) // producer timestamps far in the past: ignored
	res, err := l.Append(b, AppendOptions{Origin: OriginClient})
	if err != nil {
		t.Fatal(err)
	}
	got := readAllBatches(t, l)[0]
	if res.LogAppendTimeMs != clk.Ms() || got.MaxTimestamp() != clk.Ms() || !got.Attributes().LogAppendTime() || res.MaxTimestamp != clk.Ms() {
		t.Fatalf("result %+v, stored max ts %d attrs %v", res, got.MaxTimestamp(), got.Attributes())
	}
	if err := got.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestReplicationAppend(t *testing.T) {
	leader := newTestLog(t, smallConfig(), nil)
	var a appended
	a.add(t, leader, 30, 4, 30, 1000)
	all := readAllBatches(t, leader)
	follower := newTestLog(t, smallConfig(), nil)
	// Fetch-sized chunks (a replication append may not exceed
	// segment.bytes, as in Kafka), each ending with part of the next
	// batch, which the follower ignores.
	for i := 0; i < len(all); {
		var chunk []byte
		j := i
		for j < len(all) && len(chunk)+len(all[j]) <= 2000 {
			chunk = append(chunk, all[j]...)
			j++
		}
		if j < len(all) {
			chunk = append(chunk, all[j][:20]...)
		}
		res, err := follower.Append(chunk, AppendOptions{Origin: OriginReplication, LeaderEpoch: 0})
		if err != nil {
			t.Fatal(err)
		}
		if res.LastOffset != all[j-1].LastOffset() {
			t.Fatalf("follower appended through %d, want %d", res.LastOffset, all[j-1].LastOffset())
		}
		i = j
	}
	equalBatches(t, readAllBatches(t, follower), all)

	// Batches from a later leader epoch than the follower's are dropped.
	f2 := newTestLog(t, DefaultLogConfig(), nil)
	b0, b1 := makeBatch(t, 1, 1, 1, 1), makeBatch(t, 1, 1, 1, 2)
	b1.SetBaseOffset(1)
	b0.SetPartitionLeaderEpoch(4)
	b1.SetPartitionLeaderEpoch(6)
	res, err := f2.Append(append(append([]byte(nil), b0...), b1...), AppendOptions{Origin: OriginReplication, LeaderEpoch: 5})
	if err != nil || res.LastOffset != 0 || f2.LogEndOffset() != 1 {
		t.Fatalf("epoch fencing: %+v %v", res, err)
	}
	if got := f2.LeaderEpochs(); len(got) != 1 || got[0] != (EpochEntry{4, 0}) {
		t.Fatalf("epochs %v", got)
	}
	// Gaps (a compacted leader) are fine.
	b2 := makeBatch(t, 1, 1, 1, 3)
	b2.SetBaseOffset(100)
	if _, err := f2.Append(b2, AppendOptions{Origin: OriginReplication, LeaderEpoch: 5}); err != nil || f2.LogEndOffset() != 101 {
		t.Fatalf("gap append: %v, LEO %d", err, f2.LogEndOffset())
	}
}

func TestRollBySize(t *testing.T) {
	cfg := smallConfig()
	l := newTestLog(t, cfg, nil)
	var a appended
	a.add(t, l, 60, 5, 60, 1000)
	bases := l.SegmentBaseOffsets()
	if len(bases) < 5 {
		t.Fatalf("%d segments", len(bases))
	}
	l.mu.RLock()
	for i, s := range l.segments {
		if s.size.Load() > int64(cfg.SegmentBytes) {
			t.Errorf("segment %d is %d bytes", s.base, s.size.Load())
		}
		if i > 0 {
			prev := l.segments[i-1]
			next, _ := prev.nextOffset()
			if next != s.base {
				t.Errorf("segment %d follows one ending at %d", s.base, next)
			}
			if st, _ := os.Stat(prev.offIdx.path); st.Size() != int64(prev.offIdx.count()*offsetEntrySize) {
				t.Errorf("rolled segment %d index not trimmed", prev.base)
			}
		}
	}
	l.mu.RUnlock()
	equalBatches(t, readAllBatches(t, l), a.batches)
}

func TestRollByTime(t *testing.T) {
	cases := []struct {
		name  string
		ts    func(clk *testClock) int64 // record timestamp for an append
		steps []time.Duration            // clock advance before each append after the first
		want  []int                      // segment count after each append after the first
	}{
		{"by record timestamps", func(c *testClock) int64 { return c.Ms() }, []time.Duration{500 * time.Millisecond, 400 * time.Millisecond, 200 * time.Millisecond, time.Millisecond}, []int{1, 1, 2, 2}},
		{"by wall clock without timestamps", func(*testClock) int64 { return -1 }, []time.Duration{900 * time.Millisecond, 200 * time.Millisecond, 10 * time.Millisecond}, []int{1, 2, 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newTestClock()
			cfg := DefaultLogConfig()
			cfg.SegmentMs = 1000
			l := newTestLog(t, cfg, clk)
			mustAppend(t, l, makeBatchTs(t, tc.ts(clk)))
			for i, d := range tc.steps {
				clk.Advance(d)
				mustAppend(t, l, makeBatchTs(t, tc.ts(clk)))
				if n := l.NumSegments(); n != tc.want[i] {
					t.Fatalf("after append %d: %d segments, want %d", i+1, n, tc.want[i])
				}
			}
		})
	}
}

func TestRollByIndexFull(t *testing.T) {
	cfg := DefaultLogConfig()
	cfg.IndexIntervalBytes = 0    // an offset index entry before every batch but the first
	cfg.SegmentIndexBytes = 6 * 8 // 6 offset index entries
	l := newTestLog(t, cfg, nil)
	for i := 0; i < 20; i++ {
		mustAppend(t, l, makeBatchTs(t, 1000)) // one timestamp: the time index stays at one entry
	}
	bases := l.SegmentBaseOffsets()
	want := []int64{0, 7, 14}
	if len(bases) != len(want) {
		t.Fatalf("segments %v, want %v", bases, want)
	}
	for i := range want {
		if bases[i] != want[i] {
			t.Fatalf("segments %v, want %v", bases, want)
		}
	}
	// The time index filling up rolls too (its last slot is reserved).
	cfg.SegmentIndexBytes = 4 * 12
	l2 := newTestLog(t, cfg, nil)
	for i := 0; i < 10; i++ {
		mustAppend(t, l2, makeBatchTs(t, int64(1000+i)))
	}
	if got := l2.SegmentBaseOffsets(); len(got) < 3 || got[1] != 4 {
		t.Fatalf("time index roll: segments %v", got)
	}
}

func TestRollByOffsetOverflow(t *testing.T) {
	l := newTestLog(t, DefaultLogConfig(), nil)
	far := int64(math.MaxInt32) + 10
	mk := func(base int64) []byte {
		b := makeBatch(t, 2, 1000, 5, byte(base))
		b.SetBaseOffset(base)
		return b
	}
	if _, err := l.Append(mk(0), AppendOptions{Origin: OriginReplication}); err != nil {
		t.Fatal(err)
	}
	// One append whose batches cannot share a segment: split and rolled.
	data := append(mk(5), mk(far)...)
	data = append(data, mk(far+2)...)
	if _, err := l.Append(data, AppendOptions{Origin: OriginReplication}); err != nil {
		t.Fatal(err)
	}
	if got := l.SegmentBaseOffsets(); len(got) != 2 || got[1] != far {
		t.Fatalf("segments %v, want [0 %d]", got, far)
	}
	if _, err := l.Append(mk(2*far+100), AppendOptions{Origin: OriginReplication}); err != nil {
		t.Fatal(err)
	}
	if got := l.SegmentBaseOffsets(); len(got) != 3 || got[2] != 2*far+100 {
		t.Fatalf("segments %v", got)
	}
	if got := readAllBatches(t, l); len(got) != 5 {
		t.Fatalf("read %d batches", len(got))
	}
	for _, off := range []int64{0, 6, far + 1, far + 3, 2*far + 101} {
		rr, err := l.Read(off, 1, l.LogEndOffset(), true)
		if err != nil || rr.Size == 0 {
			t.Fatalf("Read(%d): %+v %v", off, rr, err)
		}
	}
}

// expectRead computes what Read should return from the batch list of a
// log: the position range within the segment holding the first batch
// whose last offset is >= offset.
func expectRead(segs [][]record.Batch, offset int64, maxBytes int, upTo int64, minOne bool) (first int64, size int64) {
	for _, seg := range segs {
		pos := int64(0)
		for i, b := range seg {
			if b.LastOffset() < offset {
				pos += int64(len(b))
				continue
			}
			limit := int64(maxBytes)
			if minOne {
				limit = max(limit, int64(len(b)))
			}
			if b.LastOffset() >= upTo || int64(len(b)) > limit {
				return offset, 0
			}
			total := int64(0)
			for _, c := range seg[i:] {
				if total+int64(len(c)) > limit || c.LastOffset() >= upTo {
					break
				}
				total += int64(len(c))
			}
			return b.BaseOffset(), total
		}
	}
	return offset, 0
}

func TestReadRules(t *testing.T) {
	cfg := smallConfig()
	cfg.SegmentBytes = 16 << 10
	cfg.IndexIntervalBytes = 300
	l := newTestLog(t, cfg, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		mustAppend(t, l, makeBatch(t, 1+rng.IntN(6), 1000, rng.IntN(120), byte(i)))
	}
	l.SetHighWatermark(l.LogEndOffset())
	// Per-segment batch lists, for the model.
	var segs [][]record.Batch
	l.mu.RLock()
	for _, s := range l.segments {
		buf := make([]byte, s.size.Load())
		s.log.ReadAt(buf, 0)
		var seg []record.Batch
		record.Batches(buf, func(b record.Batch) error { seg = append(seg, b); return nil })
		segs = append(segs, seg)
	}
	l.mu.RUnlock()
	if len(segs) < 3 {
		t.Fatalf("want several segments, got %d", len(segs))
	}
	leo := l.LogEndOffset()
	type q struct {
		off    int64
		max    int
		upTo   int64
		minOne bool
	}
	queries := []q{
		{0, 0, leo, false}, {0, 0, leo, true}, {0, 1 << 30, leo, false}, {leo - 1, 1 << 20, leo, true},
		{5, 100, leo, true}, {5, 100, leo, false}, {17, 1000, 20, false}, {17, 1000, 17, false},
	}
	for i := 0; i < 3000; i++ {
		off := rng.Int64N(leo)
		queries = append(queries, q{off, rng.IntN(6000), off + rng.Int64N(leo-off+5), rng.IntN(2) == 0})
	}
	for _, qq := range queries {
		rr, err := l.Read(qq.off, qq.max, qq.upTo, qq.minOne)
		if err != nil {
			t.Fatalf("Read%+v: %v", qq, err)
		}
		wantFirst, wantSize := expectRead(segs, qq.off, qq.max, qq.upTo, qq.minOne)
		if rr.Size != wantSize || (wantSize > 0 && rr.FirstOffset != wantFirst) {
			t.Fatalf("Read%+v = first %d size %d, want first %d size %d", qq, rr.FirstOffset, rr.Size, wantFirst, wantSize)
		}
		if rr.Size > 0 {
			data, err := rr.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			n, err := record.Batches(data, func(b record.Batch) error { return b.Verify() })
			if err != nil || n != len(data) {
				t.Fatalf("Read%+v returned partial batches: %v", qq, err)
			}
		}
	}
	if rr, err := l.Read(leo, 100, leo+10, true); err != nil || rr.Size != 0 || rr.LogEndOffset != leo || rr.HighWatermark != leo {
		t.Fatalf("read at the log end: %+v %v", rr, err)
	}
	if _, err := l.Read(leo+1, 100, leo+10, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read past the end: %v", err)
	}
	if _, err := l.Read(-1, 100, leo, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read at -1: %v", err)
	}
	if _, err := l.DeleteRecordsBefore(10); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Read(9, 100, leo, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below the log start: %v", err)
	}
	if rr, err := l.Read(10, 100, leo, true); err != nil || rr.Size == 0 {
		t.Fatalf("read at the log start: %+v %v", rr, err)
	}
}

func TestOffsetForTimestamp(t *testing.T) {
	cfg := smallConfig()
	cfg.SegmentBytes = 150 // about two small batches per segment
	cfg.IndexIntervalBytes = 0
	l := newTestLog(t, cfg, nil)
	batches := [][]int64{
		{100, 101, 102}, // offsets 0-2
		{105, 103, 104}, // 3-5 (max 105 at offset 3)
		{200},           // 6
		{150, 300},      // 7-8
		{-1},            // 9: no timestamp
		{250, 300, 280}, // 10-12: 300 again, later
	}
	for i, tss := range batches {
		if _, err := l.Append(makeBatchTs(t, tss...), AppendOptions{Origin: OriginClient, LeaderEpoch: int32(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if l.NumSegments() < 3 {
		t.Fatalf("want several segments, got %d", l.NumSegments())
	}
	cases := []struct {
		ts        int64
		wantOff   int64
		wantTs    int64
		wantEpoch int32
		found     bool
	}{
		{EarliestTimestamp, 0, -1, 0, true},
		{EarliestLocalTimestamp, 0, -1, 0, true},
		{LatestTimestamp, 13, -1, 5, true},
		{MaxTimestampSpec, 8, 300, 3, true},
		{LatestTieredTimestamp, -1, -1, -1, true},
		{EarliestPendingUploadTimestamp, -1, -1, -1, true},
		{-7, -1, -1, -1, false},
		{0, 0, 100, 0, true},
		{100, 0, 100, 0, true},
		{101, 1, 101, 0, true},
		{103, 3, 105, 1, true}, // first record (in offset order) at or after 103
		{105, 3, 105, 1, true},
		{106, 6, 200, 2, true},
		{150, 6, 200, 2, true},
		{201, 8, 300, 3, true},
		{260, 8, 300, 3, true},
		{301, -1, -1, -1, false},
	}
	for _, tc := range cases {
		off, ts, epoch, found, err := l.OffsetForTimestamp(tc.ts)
		if err != nil || off != tc.wantOff || ts != tc.wantTs || epoch != tc.wantEpoch || found != tc.found {
			t.Errorf("OffsetForTimestamp(%d) = (%d, %d, %d, %v, %v), want (%d, %d, %d, %v)", tc.ts, off, ts, epoch, found, err, tc.wantOff, tc.wantTs, tc.wantEpoch, tc.found)
		}
	}
	// After DeleteRecords the search starts at the new log start.
	l.SetHighWatermark(l.LogEndOffset())
	if _, err := l.DeleteRecordsBefore(4); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ ts, off, recTs int64 }{{0, 4, 103}, {104, 5, 104}, {EarliestTimestamp, 4, -1}} {
		off, ts, _, found, err := l.OffsetForTimestamp(tc.ts)
		if err != nil || !found || off != tc.off || ts != tc.recTs {
			t.Errorf("after DeleteRecords(4): OffsetForTimestamp(%d) = %d %d %v %v", tc.ts, off, ts, found, err)
		}
	}
}

func TestMaxTimestampLogAppendTime(t *testing.T) {
	clk := newTestClock()
	cfg := DefaultLogConfig()
	cfg.LogAppendTime = true
	l := newTestLog(t, cfg, clk)
	mustAppend(t, l, makeBatchTs(t, 1, 2, 3))
	clk.Advance(time.Second)
	mustAppend(t, l, makeBatchTs(t, 1, 2))
	off, ts, _, found, err := l.OffsetForTimestamp(MaxTimestampSpec)
	if err != nil || !found || off != 3 || ts != clk.Ms() {
		t.Fatalf("max timestamp: %d %d %v %v", off, ts, found, err)
	}
	off, ts, _, found, _ = l.OffsetForTimestamp(clk.Ms() - 10)
	if !found || off != 3 || ts != clk.Ms() {
		t.Fatalf("by time: %d %d %v", off, ts, found)
	}
}

func TestFlushPolicy(t *testing.T) {
	clk := newTestClock()
	cfg := DefaultLogConfig()
	cfg.FlushMessages = 3
	cfg.FlushMs = 1000
	l := newTestLog(t, cfg, clk)
	steps := []struct {
		records int
		wantRP  int64
	}{{1, 0}, {1, 0}, {1, 3}, {2, 3}, {1, 6}}
	for i, s := range steps {
		mustAppend(t, l, makeBatch(t, s.records, 1000, 10, byte(i)))
		if rp := l.RecoveryPoint(); rp != s.wantRP {
			t.Fatalf("after append %d: recovery point %d, want %d", i, rp, s.wantRP)
		}
	}
	if l.FlushDue(clk.Now()) {
		t.Fatal("flush due with nothing unflushed")
	}
	mustAppend(t, l, makeBatch(t, 1, 1000, 10, 9))
	if l.FlushDue(clk.Now()) {
		t.Fatal("flush due before flush.ms")
	}
	clk.Advance(time.Second)
	if !l.FlushDue(clk.Now()) {
		t.Fatal("flush not due after flush.ms")
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if l.FlushDue(clk.Now()) || l.RecoveryPoint() != l.LogEndOffset() || l.UnflushedMessages() != 0 {
		t.Fatalf("after Flush: rp %d leo %d", l.RecoveryPoint(), l.LogEndOffset())
	}
	if err := l.FlushUpTo(1 << 40); err != nil || l.RecoveryPoint() != l.LogEndOffset() {
		t.Fatalf("FlushUpTo beyond the end: %v rp %d", err, l.RecoveryPoint())
	}
}

func TestRollFlushesOldSegment(t *testing.T) {
	l := newTestLog(t, smallConfig(), nil)
	var a appended
	a.add(t, l, 30, 5, 60, 1000)
	if l.NumSegments() < 3 {
		t.Fatal("no roll")
	}
	bases := l.SegmentBaseOffsets()
	last := bases[len(bases)-1]
	l.bg.Wait()
	if rp := l.RecoveryPoint(); rp != last {
		t.Fatalf("recovery point %d after rolls, want the active segment's base %d", rp, last)
	}
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	l.bg.Wait()
	if rp := l.RecoveryPoint(); rp != l.LogEndOffset() {
		t.Fatalf("recovery point %d after Roll, want %d", rp, l.LogEndOffset())
	}
	n := l.NumSegments()
	if err := l.Roll(); err != nil || l.NumSegments() != n {
		t.Fatalf("rolling an empty active segment: %v, %d segments", err, l.NumSegments())
	}
}

func TestWriteTo(t *testing.T) {
	l := newTestLog(t, DefaultLogConfig(), nil)
	var a appended
	a.add(t, l, 20, 10, 500, 1000)
	rr, err := l.Read(3, 1<<20, l.LogEndOffset(), true)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := rr.Bytes()

	var buf bytes.Buffer // no descriptor: positioned reads
	if n, err := rr.WriteTo(&buf); err != nil || n != rr.Size || !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("WriteTo(buffer) = %d %v", n, err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		data, _ := io.ReadAll(c)
		got <- data
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// Two concurrent sends of the same file must not disturb each other
	// (explicit offsets, no shared file position).
	other, _ := l.Read(0, 100, l.LogEndOffset(), true)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); other.WriteTo(io.Discard) }()
	n, err := rr.WriteTo(conn)
	wg.Wait()
	conn.Close()
	if err != nil || n != rr.Size {
		t.Fatalf("sendfile copy: %d %v", n, err)
	}
	if data := <-got; !bytes.Equal(data, want) {
		t.Fatalf("receiver got %d bytes, want %d", len(data), len(want))
	}
}

func TestConcurrentAppendAndRead(t *testing.T) {
	cfg := smallConfig()
	cfg.SegmentBytes = 8 << 10
	l := newTestLog(t, cfg, nil)
	const appends = 250
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 8)
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 9))
			for {
				select {
				case <-done:
					return
				default:
				}
				leo := l.LogEndOffset()
				if leo == 0 {
					continue
				}
				off := rng.Int64N(leo)
				rr, err := l.Read(off, 1+rng.IntN(4000), leo, true)
				if err != nil {
					errs <- err
					return
				}
				data, err := rr.Bytes()
				if err != nil {
					errs <- err
					return
				}
				n, err := record.Batches(data, func(b record.Batch) error {
					if b.LastOffset() >= leo {
						return errors.New("read past the published end")
					}
					return b.Verify()
				})
				if err != nil || n != len(data) || (rr.Size > 0 && rr.FirstOffset > off) {
					errs <- errors.New("torn or misplaced read")
					return
				}
				l.OffsetForTimestamp(int64(1000 + rng.IntN(2000)))
				runtime.Gosched()
			}
		}(uint64(r))
	}
	for i := 0; i < appends; i++ {
		if _, err := l.Append(makeBatch(t, 1+i%5, 1000+int64(i), 40, byte(i)), AppendOptions{Origin: OriginClient}); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			l.Flush()
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestClosedLog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	l := openTestLog(t, dir, DefaultLogConfig(), OpenOptions{})
	mustAppend(t, l, makeBatch(t, 1, 1, 1, 1))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name string
		err  error
	}{
		{"Append", func() error { _, err := l.Append(makeBatch(t, 1, 1, 1, 1), AppendOptions{}); return err }()},
		{"Read", func() error { _, err := l.Read(0, 1, 1, true); return err }()},
		{"Flush", l.Flush()},
		{"Roll", l.Roll()},
		{"TruncateTo", l.TruncateTo(0)},
		{"DeleteOldSegments", func() error { _, err := l.DeleteOldSegments(); return err }()},
		{"Close", l.Close()},
	}
	for _, c := range checks {
		if !errors.Is(c.err, ErrLogClosed) {
			t.Errorf("%s after Close: %v", c.name, c.err)
		}
	}
}

func TestTopicID(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	id := [16]byte{1, 2, 3}
	l := openTestLog(t, dir, DefaultLogConfig(), OpenOptions{TopicID: id})
	l.Close()
	l = openTestLog(t, dir, DefaultLogConfig(), OpenOptions{})
	if got, ok := l.TopicID(); !ok || got != id {
		t.Fatalf("TopicID = %x %v", got, ok)
	}
	l.Close()
	if _, err := Open(dir, DefaultLogConfig(), OpenOptions{TopicID: [16]byte{9}}); !errors.Is(err, ErrInconsistentTopicID) {
		t.Fatalf("other topic id: %v", err)
	}
}

func BenchmarkLogAppend(b *testing.B) {
	// A 1 MiB batch of 1 KiB records, appended as a client would.
	cfg := DefaultLogConfig()
	cfg.MaxMessageBytes = 2 << 20
	l, err := Open(filepath.Join(b.TempDir(), "bench-0"), cfg, OpenOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	bld := record.NewBuilder(record.DefaultBuilderOptions())
	now := time.Now().UnixMilli()
	for bld.Len() < 1000 {
		bld.Add(now, nil, bytes.Repeat([]byte{'x'}, 1000))
	}
	batch, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch.SetBaseOffset(0) // Append assigned it last time; the rest may stay
		if _, err := l.Append(batch, AppendOptions{Origin: OriginClient}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawWrite(b *testing.B) {
	// The baseline: write(2) of the same bytes to a file.
	f, err := os.Create(filepath.Join(b.TempDir(), "raw"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1000*1018)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			f.Truncate(0)
			f.Seek(0, 0)
		}
	}
}

func TestPreallocation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := smallConfig()
	cfg.Preallocate = true
	cfg.SegmentIndexBytes = 1000 // not a multiple of either entry size
	l := openTestLog(t, dir, cfg, OpenOptions{})
	size := func(base int64, suffix string) int64 {
		st, err := os.Stat(segPath(dir, base, suffix))
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	var a appended
	a.add(t, l, 3, 2, 40, 1)
	active := l.SegmentBaseOffsets()[0]
	if got := size(active, logSuffix); got != int64(cfg.SegmentBytes) {
		t.Fatalf("active .log is %d bytes, want segment.bytes %d", got, cfg.SegmentBytes)
	}
	if got := size(active, indexSuffix); got != 1000/8*8 {
		t.Fatalf("active .index is %d bytes, want %d", got, 1000/8*8)
	}
	if got := size(active, timeIndexSuffix); got != 1000/12*12 {
		t.Fatalf("active .timeindex is %d bytes, want %d", got, 1000/12*12)
	}
	a.add(t, l, 60, 2, 40, 1)
	bases := l.SegmentBaseOffsets()
	l.mu.RLock()
	first := l.segments[0]
	l.mu.RUnlock()
	if got := size(bases[0], logSuffix); got != first.size.Load() {
		t.Fatalf("rolled .log is %d bytes, holds %d", got, first.size.Load())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	last := bases[len(bases)-1]
	if got := size(last, logSuffix); got >= int64(cfg.SegmentBytes) {
		t.Fatalf("closed active .log still preallocated: %d bytes", got)
	}
	if got := size(last, indexSuffix); got%8 != 0 || got >= 1000/8*8 {
		t.Fatalf("closed .index not trimmed: %d bytes", got)
	}
	l = openTestLog(t, dir, cfg, OpenOptions{CleanShutdown: true})
	defer l.Close()
	if st := l.LoadStats(); st.SegmentsRecovered != 0 {
		t.Fatalf("stats %+v", st)
	}
	equalBatches(t, readAllBatches(t, l), a.batches)
}

func TestOpenKeepsFewDescriptors(t *testing.T) {
	countFDs := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatalf("counting descriptors: %v", err)
		}
		return len(ents)
	}
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := smallConfig()
	l, want := buildLog(t, dir, cfg, 200)
	segs := l.NumSegments()
	l.Close()
	before := countFDs()
	l = openTestLog(t, dir, cfg, OpenOptions{CleanShutdown: true})
	defer l.Close()
	// One per .log plus the active segment's two indexes.
	if got := countFDs() - before; got > segs+2 {
		t.Fatalf("%d descriptors for %d segments", got, segs)
	}
	equalBatches(t, readAllBatches(t, l), want) // reopens indexes lazily
	if got := countFDs() - before; got > 3*segs {
		t.Fatalf("%d descriptors after reading %d segments", got, segs)
	}
}

func TestRollJitter(t *testing.T) {
	cfg := DefaultLogConfig()
	cfg.SegmentMs = 1000
	cfg.SegmentJitterMs = 5000 // capped at segment.ms
	for i := 0; i < 200; i++ {
		if j := rollJitter(cfg); j < 0 || j >= cfg.SegmentMs {
			t.Fatalf("jitter %d outside [0, %d)", j, cfg.SegmentMs)
		}
	}
	cfg.SegmentJitterMs = 0
	if j := rollJitter(cfg); j != 0 {
		t.Fatalf("jitter %d without segment.jitter.ms", j)
	}
	// The drawn jitter brings the roll forward.
	clk := newTestClock()
	cfg.SegmentJitterMs = 500
	l := newTestLog(t, cfg, clk)
	l.appendMu.Lock()
	l.segments[0].jitterMs = 300
	l.appendMu.Unlock()
	mustAppend(t, l, makeBatchTs(t, clk.Ms()))
	clk.Advance(700 * time.Millisecond)
	mustAppend(t, l, makeBatchTs(t, clk.Ms()))
	if l.NumSegments() != 1 {
		t.Fatal("rolled at 700ms with a 300ms jitter (needs > 700)")
	}
	clk.Advance(time.Millisecond)
	mustAppend(t, l, makeBatchTs(t, clk.Ms()))
	if l.NumSegments() != 2 {
		t.Fatal("no roll at 701ms with a 300ms jitter")
	}
}

// TestFlushSyncsSegmentRolledAfterFlush: a roll right after a flush (the
// recovery point at the old segment's end, as after every append with
// flush.messages=1) finishes the old segment below the recovery point: its
// final time index entry is written and its index and preallocated .log
// files are trimmed. Those changes must be fsynced by a later flush (the
// roll's own background one), or a power loss could leave a segment that
// Open trusts without a scan holding a lost final time index entry (a
// wrong largest timestamp for retention and ListOffsets) or preallocated
// zeros after its data.
func TestFlushSyncsSegmentRolledAfterFlush(t *testing.T) {
	var mu sync.Mutex
	synced := map[int64]int{}
	testHookSynced = func(s *segment) {
		mu.Lock()
		synced[s.base]++
		mu.Unlock()
	}
	t.Cleanup(func() { testHookSynced = nil })
	count := func(base int64) int {
		mu.Lock()
		defer mu.Unlock()
		return synced[base]
	}

	cfg := smallConfig()
	cfg.Preallocate = true
	cfg.FlushMessages = 1
	l := newTestLog(t, cfg, nil)
	var a appended
	a.add(t, l, 3, 2, 10, 1000)
	if rp := l.RecoveryPoint(); rp != l.LogEndOffset() {
		t.Fatalf("recovery point %d, want %d", rp, l.LogEndOffset())
	}
	first := l.SegmentBaseOffsets()[0]
	before := count(first)
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	l.bg.Wait()
	a.add(t, l, 1, 2, 10, 2000) // flushes again
	if count(first) == before {
		t.Fatal("the rolled segment was never fsynced after it was finished")
	}
	after := count(first)
	a.add(t, l, 1, 2, 10, 3000)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if count(first) != after {
		t.Fatal("the rolled segment is fsynced again with nothing new in it")
	}
}
