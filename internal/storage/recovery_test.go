package storage

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/samsa-streaming/samsa/internal/record"
)

// crash abandons l as kill -9 would: every descriptor closed with nothing
// flushed, trimmed or written back (the active segment's index entries
// only ever lived in memory). What was written stays in the files.
func crash(t testing.TB, l *Log) {
	t.Helper()
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.bg.Wait()
	l.mu.Lock()
	for _, s := range l.segments {
		s.closeFiles()
	}
	l.closed = true
	l.mu.Unlock()
	l.runPendingDeletes()
}

// activePath returns the path of a file of the log's last segment.
func activePath(l *Log, suffix string) string {
	bases := l.SegmentBaseOffsets()
	return filepath.Join(l.Dir(), segmentFileName(bases[len(bases)-1], suffix))
}

func segPath(dir string, base int64, suffix string) string {
	return filepath.Join(dir, segmentFileName(base, suffix))
}

// buildLog makes a log of n client batches in dir and returns it open,
// with what was appended.
func buildLog(t *testing.T, dir string, cfg LogConfig, n int) (*Log, []record.Batch) {
	t.Helper()
	l := openTestLog(t, dir, cfg, OpenOptions{})
	var a appended
	for i := 0; i < n; i++ {
		a.add(t, l, 1, 1+i%4, 20+(i*37)%90, 1000+int64(i)*3)
	}
	return l, a.batches
}

func TestReopenCleanScansNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := smallConfig()
	l, want := buildLog(t, dir, cfg, 120)
	segs := l.NumSegments()
	leo := l.LogEndOffset()
	epochs := l.LeaderEpochs()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Every index was trimmed on close.
	for _, base := range l.SegmentBaseOffsets() {
		for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
			st, err := os.Stat(segPath(dir, base, suffix))
			if err != nil {
				t.Fatal(err)
			}
			if suffix == indexSuffix && st.Size()%offsetEntrySize != 0 || st.Size() > int64(cfg.SegmentIndexBytes) {
				t.Fatalf("%s of %d not trimmed: %d bytes", suffix, base, st.Size())
			}
		}
	}
	l = openTestLog(t, dir, cfg, OpenOptions{CleanShutdown: true, RecoveryPoint: 0})
	defer l.Close()
	st := l.LoadStats()
	if st.SegmentsRecovered != 0 || st.BytesScanned != 0 || st.IndexesRebuilt != 0 || st.Segments != segs {
		t.Fatalf("clean open did work: %+v", st)
	}
	if l.LogEndOffset() != leo || l.RecoveryPoint() != leo || l.NumSegments() != segs {
		t.Fatalf("LEO %d rp %d segments %d, want %d %d %d", l.LogEndOffset(), l.RecoveryPoint(), l.NumSegments(), leo, leo, segs)
	}
	if got := l.LeaderEpochs(); len(got) != len(epochs) {
		t.Fatalf("epochs %v, want %v", got, epochs)
	}
	equalBatches(t, readAllBatches(t, l), want)
	// The active segment takes appends again.
	var a appended
	a.batches = want
	a.add(t, l, 10, 3, 50, 5000)
	equalBatches(t, readAllBatches(t, l), a.batches)
	if off, _, _, found, _ := l.OffsetForTimestamp(MaxTimestampSpec); !found || off != l.LogEndOffset()-1 {
		t.Fatalf("max timestamp offset %d", off)
	}
}

func TestReopenUnclean(t *testing.T) {
	type env struct {
		dir  string
		l    *Log
		want []record.Batch
	}
	// The active segment's batches and their positions.
	activeBatches := func(e env) (base int64, idx []int, pos []int64) {
		bases := e.l.SegmentBaseOffsets()
		base = bases[len(bases)-1]
		var p int64
		for i, b := range e.want {
			if b.BaseOffset() >= base {
				idx = append(idx, i)
				pos = append(pos, p)
				p += int64(len(b))
			}
		}
		return
	}
	flip := func(t *testing.T, path string, at int64) {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, 1)
		f.ReadAt(b, at)
		b[0] ^= 0x10
		f.WriteAt(b, at)
	}
	cases := []struct {
		name string
		// damage returns how many of the appended batches must survive.
		damage        func(t *testing.T, e env) int
		opts          func(e env) OpenOptions
		wantTruncated bool
		wantDropped   int
	}{
		{"no damage", func(t *testing.T, e env) int { return len(e.want) }, nil, false, 0},
		{"torn tail", func(t *testing.T, e env) int {
			_, idx, pos := activeBatches(e)
			last := len(idx) - 1
			os.Truncate(activePath(e.l, logSuffix), pos[last]+int64(len(e.want[idx[last]]))/2)
			return idx[last]
		}, nil, true, 0},
		{"torn inside the batch header", func(t *testing.T, e env) int {
			_, idx, pos := activeBatches(e)
			last := len(idx) - 1
			os.Truncate(activePath(e.l, logSuffix), pos[last]+20)
			return idx[last]
		}, nil, true, 0},
		{"flipped byte in the last batch", func(t *testing.T, e env) int {
			_, idx, pos := activeBatches(e)
			last := len(idx) - 1
			flip(t, activePath(e.l, logSuffix), pos[last]+int64(len(e.want[idx[last]]))-3)
			return idx[last]
		}, nil, true, 0},
		{"flipped byte in a middle batch", func(t *testing.T, e env) int {
			_, idx, pos := activeBatches(e)
			mid := len(idx) / 2
			flip(t, activePath(e.l, logSuffix), pos[mid]+record.HeaderSize+2)
			return idx[mid]
		}, nil, true, 0},
		{"flipped length field", func(t *testing.T, e env) int {
			_, idx, pos := activeBatches(e)
			mid := len(idx) / 2
			flip(t, activePath(e.l, logSuffix), pos[mid]+10)
			return idx[mid]
		}, nil, true, 0},
		{"corrupt middle segment deletes the later ones", func(t *testing.T, e env) int {
			bases := e.l.SegmentBaseOffsets()
			target := bases[1]
			var p int64
			for i, b := range e.want {
				if b.BaseOffset() < target {
					continue
				}
				if b.BaseOffset() >= bases[2] {
					break
				}
				if p > 0 { // the second batch of segment 1
					flip(t, segPath(e.dir, target, logSuffix), p+record.HeaderSize)
					return i
				}
				p += int64(len(b))
			}
			t.Fatal("segment 1 has one batch")
			return 0
		}, nil, true, -1},
		{"zero-filled preallocated tail", func(t *testing.T, e env) int {
			f, _ := os.OpenFile(activePath(e.l, logSuffix), os.O_RDWR, 0)
			st, _ := f.Stat()
			f.Truncate(st.Size() + 100000)
			f.Close()
			return len(e.want)
		}, nil, false, 0},
		{"garbage after the last batch", func(t *testing.T, e env) int {
			appendBytes(t, activePath(e.l, logSuffix), bytes.Repeat([]byte{0xab}, 77))
			return len(e.want)
		}, nil, true, 0},
		{"active index garbage", func(t *testing.T, e env) int {
			overwrite(t, activePath(e.l, indexSuffix), bytes.Repeat([]byte{0x33}, 4096))
			return len(e.want)
		}, nil, false, 0},
		{"recovery point above the damage is ignored for the active segment", func(t *testing.T, e env) int {
			_, idx, pos := activeBatches(e)
			last := len(idx) - 1
			flip(t, activePath(e.l, logSuffix), pos[last]+record.HeaderSize)
			return idx[last]
		}, func(e env) OpenOptions {
			bases := e.l.SegmentBaseOffsets()
			return OpenOptions{RecoveryPoint: bases[len(bases)-1] + 1}
		}, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "t-0")
			cfg := smallConfig()
			l, want := buildLog(t, dir, cfg, 80)
			if l.NumSegments() < 4 {
				t.Fatalf("want several segments, got %d", l.NumSegments())
			}
			e := env{dir, l, want}
			crash(t, l)
			keep := tc.damage(t, e)
			opts := OpenOptions{}
			if tc.opts != nil {
				opts = tc.opts(e)
			}
			l2 := openTestLog(t, dir, cfg, opts)
			defer l2.Close()
			got := readAllBatches(t, l2)
			equalBatches(t, got, want[:keep])
			st := l2.LoadStats()
			if (st.BytesTruncated > 0) != tc.wantTruncated {
				t.Fatalf("truncated %d bytes, want truncation %v (%+v)", st.BytesTruncated, tc.wantTruncated, st)
			}
			if tc.wantDropped >= 0 && st.SegmentsDropped != tc.wantDropped || tc.wantDropped < 0 && st.SegmentsDropped == 0 {
				t.Fatalf("dropped %d segments (%+v)", st.SegmentsDropped, st)
			}
			if want := want[:keep]; len(want) > 0 && l2.LogEndOffset() != want[len(want)-1].NextOffset() {
				t.Fatalf("LEO %d", l2.LogEndOffset())
			}
			// The recovered log takes appends and reads normally.
			var a appended
			a.batches = got
			a.add(t, l2, 5, 2, 30, 9000)
			equalBatches(t, readAllBatches(t, l2), a.batches)
		})
	}
}

func TestRecoveryScansFromRecoveryPoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := smallConfig()
	l, want := buildLog(t, dir, cfg, 100)
	bases := l.SegmentBaseOffsets()
	crash(t, l)
	rp := bases[len(bases)-3] + 1 // inside the third-to-last segment
	l2 := openTestLog(t, dir, cfg, OpenOptions{RecoveryPoint: rp})
	defer l2.Close()
	if st := l2.LoadStats(); st.SegmentsRecovered != 3 {
		t.Fatalf("recovered %d segments, want 3 (%+v)", st.SegmentsRecovered, st)
	}
	if l2.RecoveryPoint() != rp {
		t.Fatalf("recovery point %d, want %d", l2.RecoveryPoint(), rp)
	}
	equalBatches(t, readAllBatches(t, l2), want)
}

func TestRebuildDamagedIndexesOnCleanOpen(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, path func(suffix string) string)
	}{
		{"missing offset index", func(t *testing.T, p func(string) string) { os.Remove(p(indexSuffix)) }},
		{"missing time index", func(t *testing.T, p func(string) string) { os.Remove(p(timeIndexSuffix)) }},
		{"short offset index", func(t *testing.T, p func(string) string) {
			st, _ := os.Stat(p(indexSuffix))
			os.Truncate(p(indexSuffix), st.Size()-3)
		}},
		{"garbage offset index", func(t *testing.T, p func(string) string) {
			st, _ := os.Stat(p(indexSuffix))
			rng := rand.New(rand.NewPCG(7, 7))
			junk := make([]byte, st.Size())
			for i := range junk {
				junk[i] = byte(rng.Uint32())
			}
			overwrite(t, p(indexSuffix), junk)
		}},
		{"garbage time index", func(t *testing.T, p func(string) string) {
			overwrite(t, p(timeIndexSuffix), bytes.Repeat([]byte{0xff}, 48))
		}},
		{"zero-filled offset index", func(t *testing.T, p func(string) string) {
			st, _ := os.Stat(p(indexSuffix))
			overwrite(t, p(indexSuffix), make([]byte, st.Size()+80))
		}},
		// The time index's last entry is the segment's largest timestamp,
		// which retention.ms and ListOffsets rely on: a lone zeroed entry
		// (its block lost after the file was trimmed) or a last entry with
		// a forged timestamp passes an ordering check.
		{"zeroed lone time index entry", func(t *testing.T, p func(string) string) {
			overwrite(t, p(timeIndexSuffix), make([]byte, timeEntrySize))
		}},
		{"time index ending in a wrong timestamp", func(t *testing.T, p func(string) string) {
			tim, _ := os.ReadFile(p(timeIndexSuffix))
			last := tim[len(tim)-timeEntrySize:]
			last[0] = 0x10 // far in the future, still ordered
			overwrite(t, p(timeIndexSuffix), tim)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "t-0")
			cfg := smallConfig()
			l, want := buildLog(t, dir, cfg, 80)
			bases := l.SegmentBaseOffsets()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			target := bases[1]
			origIdx, _ := os.ReadFile(segPath(dir, target, indexSuffix))
			origTime, _ := os.ReadFile(segPath(dir, target, timeIndexSuffix))
			tc.damage(t, func(s string) string { return segPath(dir, target, s) })
			l2 := openTestLog(t, dir, cfg, OpenOptions{CleanShutdown: true})
			st := l2.LoadStats()
			if st.IndexesRebuilt != 1 || st.SegmentsRecovered != 1 || st.BytesTruncated != 0 {
				t.Fatalf("stats %+v", st)
			}
			equalBatches(t, readAllBatches(t, l2), want)
			if err := l2.Close(); err != nil {
				t.Fatal(err)
			}
			// The rebuilt indexes are the ones appending produced.
			idx, _ := os.ReadFile(segPath(dir, target, indexSuffix))
			tim, _ := os.ReadFile(segPath(dir, target, timeIndexSuffix))
			if !bytes.Equal(idx, origIdx) || !bytes.Equal(tim, origTime) {
				t.Fatalf("rebuilt index differs: %d/%d bytes vs %d/%d", len(idx), len(tim), len(origIdx), len(origTime))
			}
		})
	}
}

func TestOpenLeftoverFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := smallConfig()
	l, want := buildLog(t, dir, cfg, 60)
	bases := l.SegmentBaseOffsets()
	l.Close()
	// Stray files a crash may leave behind.
	junk := []string{
		segmentFileName(bases[0], logSuffix) + deletedSuffix,
		segmentFileName(bases[0], indexSuffix) + deletedSuffix,
		segmentFileName(9999, logSuffix) + cleanedSuffix,
		segmentFileName(99999, logSuffix) + swapSuffix, // above the .cleaned: an incomplete split, discarded
		leaderEpochCheckpointFile + tmpSuffix,
		segmentFileName(777777, indexSuffix), // orphan index
		segmentFileName(777777, txnIndexSuffix),
	}
	for _, name := range junk {
		os.WriteFile(filepath.Join(dir, name), []byte("junk"), 0o644)
	}
	l2 := openTestLog(t, dir, cfg, OpenOptions{CleanShutdown: true})
	defer l2.Close()
	for _, name := range junk {
		if fileExists(filepath.Join(dir, name)) {
			t.Errorf("%s left behind", name)
		}
	}
	equalBatches(t, readAllBatches(t, l2), want)
}

func TestOpenCompletesSwap(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := smallConfig()
	l, want := buildLog(t, dir, cfg, 60)
	bases := l.SegmentBaseOffsets()
	l.Close()
	// Pretend the cleaner rewrote segments 0 and 1 into one swap file
	// (here: their batches unchanged) and crashed before swapping it in.
	var merged []byte
	for _, b := range want {
		if b.BaseOffset() < bases[2] {
			merged = append(merged, b...)
		}
	}
	os.WriteFile(segPath(dir, bases[0], logSuffix)+swapSuffix, merged, 0o644)
	l2 := openTestLog(t, dir, cfg, OpenOptions{CleanShutdown: true})
	defer l2.Close()
	st := l2.LoadStats()
	if st.SwapsCompleted != 1 || st.IndexesRebuilt != 1 {
		t.Fatalf("stats %+v", st)
	}
	if got := l2.SegmentBaseOffsets(); got[0] != bases[0] || got[1] != bases[2] || len(got) != len(bases)-1 {
		t.Fatalf("segments %v, was %v", got, bases)
	}
	if fileExists(segPath(dir, bases[1], logSuffix)) {
		t.Fatal("replaced segment still present")
	}
	equalBatches(t, readAllBatches(t, l2), want)
}

func TestOpenEmptyAndStartOffsets(t *testing.T) {
	cfg := smallConfig()
	t.Run("empty dir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "t-0")
		l := openTestLog(t, dir, cfg, OpenOptions{LogStartOffset: 42, RecoveryPoint: 42})
		defer l.Close()
		if l.LogStartOffset() != 42 || l.LogEndOffset() != 42 || l.SegmentBaseOffsets()[0] != 42 {
			t.Fatalf("start %d end %d segments %v", l.LogStartOffset(), l.LogEndOffset(), l.SegmentBaseOffsets())
		}
		res := mustAppend(t, l, makeBatch(t, 2, 1, 1, 1))
		if res.FirstOffset != 42 {
			t.Fatalf("first offset %d", res.FirstOffset)
		}
	})
	t.Run("start offset ahead of the first segment", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "t-0")
		l, want := buildLog(t, dir, cfg, 60)
		bases := l.SegmentBaseOffsets()
		l.Close()
		start := bases[2] + 1
		l2 := openTestLog(t, dir, cfg, OpenOptions{CleanShutdown: true, LogStartOffset: start, HighWatermark: 1 << 40})
		defer l2.Close()
		if l2.LogStartOffset() != start || l2.HighWatermark() != l2.LogEndOffset() {
			t.Fatalf("start %d hw %d", l2.LogStartOffset(), l2.HighWatermark())
		}
		if _, err := l2.Read(start-1, 100, l2.LogEndOffset(), true); !isErr(err, ErrOffsetOutOfRange) {
			t.Fatalf("read below the start: %v", err)
		}
		// The segments wholly below the start are deleted by Open, not
		// left to retention.
		if st := l2.LoadStats(); st.SegmentsDropped != 2 || l2.SegmentBaseOffsets()[0] != bases[2] {
			t.Fatalf("open below the start dropped %d segments, segments %v", st.SegmentsDropped, l2.SegmentBaseOffsets())
		}
		if n, err := l2.DeleteOldSegments(); err != nil || n != 0 {
			t.Fatalf("retention below the start deleted %d: %v", n, err)
		}
		got := readAllBatches(t, l2)
		if got[0].LastOffset() < start || !bytes.Equal(got[len(got)-1], want[len(want)-1]) {
			t.Fatalf("first batch ends at %d", got[0].LastOffset())
		}
	})
	t.Run("start offset beyond the end", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "t-0")
		l, _ := buildLog(t, dir, cfg, 30)
		end := l.LogEndOffset()
		l.Close()
		l2 := openTestLog(t, dir, cfg, OpenOptions{LogStartOffset: end + 100})
		defer l2.Close()
		if l2.NumSegments() != 1 || l2.LogStartOffset() != end+100 || l2.LogEndOffset() != end+100 || len(l2.LeaderEpochs()) != 0 {
			t.Fatalf("segments %v start %d end %d epochs %v", l2.SegmentBaseOffsets(), l2.LogStartOffset(), l2.LogEndOffset(), l2.LeaderEpochs())
		}
	})
}

func TestRecoveryRebuildsEpochCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := smallConfig()
	l := openTestLog(t, dir, cfg, OpenOptions{})
	var lastOff []int64
	for epoch := int32(0); epoch < 4; epoch++ {
		for i := 0; i < 10; i++ {
			res, err := l.Append(makeBatch(t, 3, 1000, 30, byte(i)), AppendOptions{LeaderEpoch: epoch * 2, Origin: OriginClient})
			if err != nil {
				t.Fatal(err)
			}
			lastOff = append(lastOff, res.LastOffset)
		}
	}
	want := l.LeaderEpochs()
	crash(t, l)
	os.Remove(filepath.Join(dir, leaderEpochCheckpointFile))
	l2 := openTestLog(t, dir, cfg, OpenOptions{})
	if got := l2.LeaderEpochs(); len(got) != len(want) || got[3] != want[3] {
		t.Fatalf("rebuilt epochs %v, want %v", got, want)
	}
	l2.Close()
	// A cut tail takes its epochs with it.
	os.Truncate(filepath.Join(dir, segmentFileName(l2.SegmentBaseOffsets()[l2.NumSegments()-1], logSuffix)), 0)
	bases := l2.SegmentBaseOffsets()
	for _, b := range bases[len(bases)/2:] {
		os.Truncate(segPath(dir, b, logSuffix), 0)
	}
	l3 := openTestLog(t, dir, cfg, OpenOptions{})
	defer l3.Close()
	for _, e := range l3.LeaderEpochs() {
		if e.StartOffset >= l3.LogEndOffset() {
			t.Fatalf("epoch %v beyond the log end %d", e, l3.LogEndOffset())
		}
	}
}

// txnBatch builds a transactional data batch for producer pid.
func txnBatch(t *testing.T, pid int64, n int) record.Batch {
	t.Helper()
	opts := record.DefaultBuilderOptions()
	opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence, opts.Transactional = pid, 0, 0, true
	b := record.NewBuilder(opts)
	for i := 0; i < n; i++ {
		b.Add(1000, []byte("k"), []byte("v"))
	}
	batch, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return batch
}

func TestRecoveryRebuildsTxnIndex(t *testing.T) {
	cfg := smallConfig()
	cfg.SegmentBytes = 400
	for _, full := range []bool{true, false} {
		dir := filepath.Join(t.TempDir(), "t-0")
		l := openTestLog(t, dir, cfg, OpenOptions{})
		marker := func(pid int64, typ record.ControlType) int64 {
			b, err := record.NewEndTxnMarkerBatch(pid, 0, 1000, record.EndTxnMarker{Type: typ})
			if err != nil {
				t.Fatal(err)
			}
			res, err := l.Append(b, AppendOptions{Origin: OriginCoordinator})
			if err != nil {
				t.Fatal(err)
			}
			return res.FirstOffset
		}
		data := func(pid int64) int64 {
			res, err := l.Append(txnBatch(t, pid, 2), AppendOptions{Origin: OriginCoordinator})
			if err != nil {
				t.Fatal(err)
			}
			return res.FirstOffset
		}
		p1 := data(1) // producer 1's transaction starts early...
		for i := 0; i < 6; i++ {
			mustAppend(t, l, makeBatch(t, 2, 1000, 40, byte(i)))
		}
		p2 := data(2)
		marker(2, record.ControlCommit)
		p3 := data(3)
		a1 := marker(1, record.ControlAbort) // ...and is aborted segments later
		a3 := marker(3, record.ControlAbort)
		if l.NumSegments() < 3 {
			t.Fatalf("segments %v", l.SegmentBaseOffsets())
		}
		_ = p2
		bases := l.SegmentBaseOffsets()
		crash(t, l)
		for _, b := range bases {
			os.Remove(segPath(dir, b, txnIndexSuffix))
		}
		opts := OpenOptions{}
		if !full {
			// Recover only the last segments: producer 1's start must be found
			// by walking back through the older ones.
			opts.RecoveryPoint = bases[len(bases)-1]
		}
		l2 := openTestLog(t, dir, cfg, opts)
		got, err := l2.CollectAbortedTxns(0, l2.LogEndOffset())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ProducerID != 1 || got[0].FirstOffset != p1 || got[0].LastOffset != a1 ||
			got[1].ProducerID != 3 || got[1].FirstOffset != p3 || got[1].LastOffset != a3 {
			t.Fatalf("full=%v: aborted %+v (p1 %d a1 %d p3 %d a3 %d)", full, got, p1, a1, p3, a3)
		}
		if full && got[0].LastStableOffset != p3 {
			t.Fatalf("LSO of the first abort %d, want %d (producer 3's open transaction)", got[0].LastStableOffset, p3)
		}
		if !full && got[0].LastStableOffset > p3 {
			t.Fatalf("conservative LSO %d above the true one %d", got[0].LastStableOffset, p3)
		}
		l2.Close()
	}
}

// FuzzRecovery appends random batches, crashes, damages the active
// segment's tail (a truncation and byte flips), reopens and checks that
// the recovered log is a byte-identical prefix of what was appended that
// keeps every batch lying wholly before the first damaged byte.
//
// Flips avoid the 12 bytes of each batch that the format leaves outside
// the CRC (baseOffset and partitionLeaderEpoch, which the broker rewrites
// without recomputing it): a flip there that keeps offsets increasing
// cannot be detected by any recovery, Kafka's included.
func FuzzRecovery(f *testing.F) {
	f.Add(uint64(1), uint8(20), uint16(0xffff), []byte{})
	f.Add(uint64(2), uint8(40), uint16(1000), []byte{3, 200})
	f.Add(uint64(3), uint8(5), uint16(0xffff), []byte{0, 1, 2})
	f.Add(uint64(4), uint8(60), uint16(30), []byte{})
	f.Add(uint64(5), uint8(33), uint16(0xffff), []byte{250, 251, 252, 253})
	f.Add(uint64(6), uint8(1), uint16(5), []byte{9})
	f.Fuzz(func(t *testing.T, seed uint64, n uint8, cut uint16, flips []byte) {
		rng := rand.New(rand.NewPCG(seed, uint64(n)))
		cfg := smallConfig()
		cfg.SegmentBytes = 2048
		cfg.Preallocate = seed%3 == 0
		dir := filepath.Join(t.TempDir(), "t-0")
		l := openTestLog(t, dir, cfg, OpenOptions{})
		var want []record.Batch
		for i := 0; i < int(n%64)+1; i++ {
			b := makeBatch(t, 1+rng.IntN(5), 1000+int64(i), rng.IntN(100), byte(rng.Uint32()))
			buf := append([]byte(nil), b...)
			if _, err := l.Append(buf, AppendOptions{Origin: OriginClient, LeaderEpoch: int32(i / 10)}); err != nil {
				t.Fatal(err)
			}
			want = append(want, record.Batch(buf))
		}
		bases := l.SegmentBaseOffsets()
		activeBase := bases[len(bases)-1]
		rp := l.RecoveryPoint()
		crash(t, l)

		// Positions of the active segment's batches.
		var starts []int64
		var activeIdx []int
		var size int64
		for i, b := range want {
			if b.BaseOffset() >= activeBase {
				starts = append(starts, size)
				activeIdx = append(activeIdx, i)
				size += int64(len(b))
			}
		}
		path := segPath(dir, activeBase, logSuffix)
		firstDamage := size // no damage
		if int64(cut) < size {
			if err := os.Truncate(path, int64(cut)); err != nil {
				t.Fatal(err)
			}
			firstDamage = int64(cut)
		}
		end := min(size, int64(cut))
		if fh, err := os.OpenFile(path, os.O_RDWR, 0); err == nil && end > 0 {
			for i := 0; i+1 < len(flips); i += 2 {
				// Flip somewhere in the last quarter of what is left.
				at := end - 1 - int64(flips[i])*int64(flips[i+1]+1)%max(end/4, 1)
				if at < 0 || !crcCovered(starts, at) {
					continue
				}
				var one [1]byte
				fh.ReadAt(one[:], at)
				one[0] ^= 1 << (flips[i+1] % 8)
				fh.WriteAt(one[:], at)
				firstDamage = min(firstDamage, at)
			}
			fh.Close()
		}

		l2, err := Open(dir, cfg, OpenOptions{RecoveryPoint: rp})
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer l2.Close()
		got := readAllBatches(t, l2) // every batch passes Verify
		if len(got) > len(want) {
			t.Fatalf("recovered %d batches, appended %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("batch %d differs from what was appended", i)
			}
		}
		// Everything wholly before the first damaged byte survived.
		mustKeep := len(want) - len(activeIdx)
		for j, i := range activeIdx {
			if starts[j]+int64(len(want[i])) <= firstDamage {
				mustKeep = i + 1
			}
		}
		if len(got) < mustKeep {
			t.Fatalf("recovered %d batches, the first %d were undamaged (damage at %d)", len(got), mustKeep, firstDamage)
		}
		if len(got) > 0 && l2.LogEndOffset() != got[len(got)-1].NextOffset() {
			t.Fatalf("LEO %d after the last batch ending at %d", l2.LogEndOffset(), got[len(got)-1].NextOffset())
		}
		for _, e := range l2.LeaderEpochs() {
			if e.StartOffset >= max(l2.LogEndOffset(), 1) && l2.LogEndOffset() > 0 {
				t.Fatalf("epoch entry %v at or beyond the log end %d", e, l2.LogEndOffset())
			}
		}
	})
}

// crcCovered reports whether file position at falls in a part of its
// batch that the CRC (or the framing) protects.
func crcCovered(starts []int64, at int64) bool {
	i := len(starts) - 1
	for i > 0 && starts[i] > at {
		i--
	}
	if i < 0 || starts[i] > at {
		return true
	}
	rel := at - starts[i]
	return !(rel < 8 || rel >= 12 && rel < 16)
}

func TestRecoveryDropsSegmentsAfterALostTail(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := smallConfig()
	l, want := buildLog(t, dir, cfg, 80)
	bases := l.SegmentBaseOffsets()
	crash(t, l)
	// Power loss took segment 1's last batches, at a batch boundary: no
	// torn bytes, just a segment ending before segment 2 begins.
	var keep int
	var size int64
	for i, b := range want {
		if b.BaseOffset() >= bases[1] && b.LastOffset() < bases[2]-5 {
			size += int64(len(b))
			keep = i + 1
		}
	}
	if err := os.Truncate(segPath(dir, bases[1], logSuffix), size); err != nil {
		t.Fatal(err)
	}
	l2 := openTestLog(t, dir, cfg, OpenOptions{RecoveryPoint: bases[1]})
	defer l2.Close()
	equalBatches(t, readAllBatches(t, l2), want[:keep])
	if l2.LogEndOffset() != want[keep-1].NextOffset() || l2.NumSegments() != 2 {
		t.Fatalf("LEO %d segments %v", l2.LogEndOffset(), l2.SegmentBaseOffsets())
	}
	if st := l2.LoadStats(); st.SegmentsDropped != len(bases)-2 || st.BytesTruncated != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCleanReopenKeepsReplicationGap(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := DefaultLogConfig()
	l := openTestLog(t, dir, cfg, OpenOptions{})
	mk := func(base int64) []byte {
		b := makeBatch(t, 2, 1000, 5, byte(base))
		b.SetBaseOffset(base)
		return b
	}
	if _, err := l.Append(mk(0), AppendOptions{Origin: OriginReplication}); err != nil {
		t.Fatal(err)
	}
	far := int64(1<<31) + 100
	if _, err := l.Append(mk(far), AppendOptions{Origin: OriginReplication}); err != nil {
		t.Fatal(err)
	}
	want := readAllBatches(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTestLog(t, dir, cfg, OpenOptions{CleanShutdown: true})
	defer l.Close()
	equalBatches(t, readAllBatches(t, l), want)
	if got := l.SegmentBaseOffsets(); len(got) != 2 || got[1] != far {
		t.Fatalf("segments %v", got)
	}
}

func TestRollReplacesEmptyActiveSegment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	l := openTestLog(t, dir, DefaultLogConfig(), OpenOptions{})
	defer l.Close()
	far := int64(1<<31) + 100
	b := makeBatch(t, 2, 1000, 5, 1)
	b.SetBaseOffset(far)
	if _, err := l.Append(b, AppendOptions{Origin: OriginReplication}); err != nil {
		t.Fatal(err)
	}
	if got := l.SegmentBaseOffsets(); len(got) != 1 || got[0] != far {
		t.Fatalf("segments %v, want only %d", got, far)
	}
	if l.LogStartOffset() != 0 || l.LogEndOffset() != far+2 {
		t.Fatalf("start %d end %d", l.LogStartOffset(), l.LogEndOffset())
	}
	if got := readAllBatches(t, l); len(got) != 1 {
		t.Fatalf("read %d batches", len(got))
	}
	if fileExists(segPath(dir, 0, logSuffix)) {
		t.Fatal("empty segment 0 left behind")
	}
}

// TestOpenSyncsSegmentsRebuiltBelowRecoveryPoint: a segment whose indexes
// Open rebuilds (a missing or damaged index) below the recovery point is
// trusted without a scan from then on, and no flush reaches it again, so
// Open must fsync what it wrote there (rebuilt offset, time and
// transaction indexes, new files' directory entries). Otherwise a power
// loss could take a rebuilt .txnindex with it, and read_committed
// consumers would get that segment's aborted records.
func TestOpenSyncsSegmentsRebuiltBelowRecoveryPoint(t *testing.T) {
	for _, clean := range []bool{true, false} {
		dir := filepath.Join(t.TempDir(), "t-0")
		cfg := smallConfig()
		l, _ := buildLog(t, dir, cfg, 120)
		bases := l.SegmentBaseOffsets()
		if len(bases) < 3 {
			t.Fatalf("%d segments", len(bases))
		}
		leo := l.LogEndOffset()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(segPath(dir, bases[1], timeIndexSuffix)); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		synced := map[int64]bool{}
		testHookSynced = func(s *segment) {
			mu.Lock()
			synced[s.base] = true
			mu.Unlock()
		}
		l = openTestLog(t, dir, cfg, OpenOptions{CleanShutdown: clean, RecoveryPoint: leo})
		testHookSynced = nil
		st := l.LoadStats()
		l.Close()
		if st.IndexesRebuilt != 1 {
			t.Fatalf("clean=%v: %+v", clean, st)
		}
		mu.Lock()
		ok := synced[bases[1]]
		mu.Unlock()
		if !ok {
			t.Fatalf("clean=%v: segment %d rebuilt below the recovery point but not fsynced", clean, bases[1])
		}
	}
}
