package storage

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
)

// keepBelow returns the batches whose last offset is below offset.
func keepBelow(bs []record.Batch, offset int64) []record.Batch {
	var out []record.Batch
	for _, b := range bs {
		if b.LastOffset() < offset {
			out = append(out, b)
		}
	}
	return out
}

func TestTruncateTo(t *testing.T) {
	type setup struct {
		want  []record.Batch
		bases []int64
	}
	cases := []struct {
		name    string
		target  func(s setup) int64
		wantEnd func(s setup, target int64) int64
	}{
		{"at a batch boundary in the active segment", func(s setup) int64 { return s.want[len(s.want)-2].BaseOffset() }, nil},
		{"inside the last batch", func(s setup) int64 { return s.want[len(s.want)-1].BaseOffset() + 1 }, nil},
		{"at the active segment's base", func(s setup) int64 { return s.bases[len(s.bases)-1] }, nil},
		{"inside an older segment", func(s setup) int64 { return s.want[len(s.want)/3].BaseOffset() }, nil},
		{"inside a batch of an older segment", func(s setup) int64 { return s.want[len(s.want)/3].BaseOffset() + 1 }, nil},
		{"at a middle segment's base", func(s setup) int64 { return s.bases[2] }, nil},
		{"to zero", func(s setup) int64 { return 0 }, nil},
		{"at the log end", func(s setup) int64 { return s.want[len(s.want)-1].NextOffset() }, nil},
		{"beyond the log end", func(s setup) int64 { return 1 << 40 }, func(s setup, _ int64) int64 { return s.want[len(s.want)-1].NextOffset() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "t-0")
			cfg := smallConfig()
			l := openTestLog(t, dir, cfg, OpenOptions{})
			defer func() { l.Close() }()
			var a appended
			for i := 0; i < 60; i++ {
				b := makeBatch(t, 1+i%4, 1000+int64(i)*10, 30+i%50, byte(i))
				if _, err := l.Append(b, AppendOptions{Origin: OriginClient, LeaderEpoch: int32(i / 10)}); err != nil {
					t.Fatal(err)
				}
				a.batches = append(a.batches, b)
			}
			l.SetHighWatermark(l.LogEndOffset())
			l.Flush()
			s := setup{a.batches, l.SegmentBaseOffsets()}
			target := tc.target(s)
			if err := l.TruncateTo(target); err != nil {
				t.Fatal(err)
			}
			kept := keepBelow(a.batches, target)
			wantEnd := target
			if tc.wantEnd != nil {
				wantEnd = tc.wantEnd(s, target)
			} else if len(kept) < len(a.batches) && a.batches[len(kept)].BaseOffset() < target {
				wantEnd = a.batches[len(kept)].BaseOffset() // cut inside a batch: the whole batch goes
			}
			if l.LogEndOffset() != wantEnd || l.HighWatermark() > wantEnd || l.RecoveryPoint() > wantEnd {
				t.Fatalf("LEO %d HW %d rp %d, want LEO %d", l.LogEndOffset(), l.HighWatermark(), l.RecoveryPoint(), wantEnd)
			}
			equalBatches(t, readAllBatches(t, l), kept)
			for _, e := range l.LeaderEpochs() {
				if e.StartOffset >= wantEnd {
					t.Fatalf("epoch %v survived truncation to %d", e, wantEnd)
				}
			}
			for _, b := range l.SegmentBaseOffsets() {
				if b > wantEnd {
					t.Fatalf("segment %d above the new end %d", b, wantEnd)
				}
			}
			// Indexes were truncated consistently: max timestamp and time
			// lookups see only what is left, and a clean reopen trusts them.
			if len(kept) > 0 {
				off, ts, _, found, err := l.OffsetForTimestamp(MaxTimestampSpec)
				last := kept[len(kept)-1]
				if err != nil || !found || ts != last.MaxTimestamp() || off != last.LastOffset() {
					t.Fatalf("max timestamp after truncation: %d %d %v %v (want %d at %d)", off, ts, found, err, last.MaxTimestamp(), last.LastOffset())
				}
			}
			if _, _, _, found, _ := l.OffsetForTimestamp(a.batches[len(a.batches)-1].MaxTimestamp()); found != (len(kept) == len(a.batches)) {
				t.Fatalf("timestamp of a truncated batch found=%v", found)
			}
			// Appending continues at the new end.
			a.batches = kept
			a.add(t, l, 8, 2, 40, 1)
			equalBatches(t, readAllBatches(t, l), a.batches)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = openTestLog(t, dir, cfg, OpenOptions{CleanShutdown: true})
			if st := l.LoadStats(); st.IndexesRebuilt != 0 || st.SegmentsRecovered != 0 {
				t.Fatalf("reopen after truncation rebuilt indexes: %+v", st)
			}
			equalBatches(t, readAllBatches(t, l), a.batches)
			for _, e := range mustGlob(t, dir, "*"+deletedSuffix) {
				t.Fatalf("deleted file left after close: %s", e)
			}
		})
	}
}

func mustGlob(t *testing.T, dir, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTruncateFullyAndStartAt(t *testing.T) {
	for _, start := range []int64{0, 5, 1000} {
		dir := filepath.Join(t.TempDir(), "t-0")
		cfg := smallConfig()
		l, _ := buildLog(t, dir, cfg, 40)
		if err := l.TruncateFullyAndStartAt(start); err != nil {
			t.Fatal(err)
		}
		if l.NumSegments() != 1 || l.LogStartOffset() != start || l.LogEndOffset() != start || l.HighWatermark() != start || l.RecoveryPoint() != start || len(l.LeaderEpochs()) != 0 {
			t.Fatalf("start %d: segments %v start %d end %d hw %d rp %d epochs %v", start, l.SegmentBaseOffsets(), l.LogStartOffset(), l.LogEndOffset(), l.HighWatermark(), l.RecoveryPoint(), l.LeaderEpochs())
		}
		res := mustAppend(t, l, makeBatch(t, 3, 1, 1, 1))
		if res.FirstOffset != start {
			t.Fatalf("first offset %d, want %d", res.FirstOffset, start)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = openTestLog(t, dir, cfg, OpenOptions{CleanShutdown: true, LogStartOffset: start})
		if got := readAllBatches(t, l); len(got) != 1 || got[0].BaseOffset() != start {
			t.Fatalf("after reopen: %d batches", len(got))
		}
		l.Close()
	}
}

func TestTruncateToBelowFirstSegment(t *testing.T) {
	l := newTestLog(t, smallConfig(), nil)
	var a appended
	a.add(t, l, 40, 3, 60, 1)
	l.SetHighWatermark(l.LogEndOffset())
	bases := l.SegmentBaseOffsets()
	if _, err := l.DeleteRecordsBefore(bases[2]); err != nil {
		t.Fatal(err)
	}
	if l.SegmentBaseOffsets()[0] != bases[2] {
		t.Fatalf("segments %v", l.SegmentBaseOffsets())
	}
	if err := l.TruncateTo(bases[1]); err != nil {
		t.Fatal(err)
	}
	if l.NumSegments() != 1 || l.LogEndOffset() != bases[1] || l.LogStartOffset() != bases[1] {
		t.Fatalf("segments %v end %d start %d", l.SegmentBaseOffsets(), l.LogEndOffset(), l.LogStartOffset())
	}
	if err := l.TruncateTo(-1); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("negative truncation: %v", err)
	}
}

func TestDeleteRecordsBefore(t *testing.T) {
	l := newTestLog(t, smallConfig(), nil)
	var a appended
	for i := 0; i < 50; i++ {
		b := makeBatch(t, 3, 1, 60, byte(i))
		if _, err := l.Append(b, AppendOptions{Origin: OriginClient, LeaderEpoch: int32(i / 10)}); err != nil {
			t.Fatal(err)
		}
		a.batches = append(a.batches, b)
	}
	hw := l.LogEndOffset() - 10
	l.SetHighWatermark(hw)
	bases := l.SegmentBaseOffsets()
	cases := []struct {
		offset    int64
		wantStart int64
		wantErr   error
	}{
		{hw + 1, 0, ErrOffsetOutOfRange},
		{-2, 0, ErrOffsetOutOfRange},
		{10, 10, nil},
		{5, 10, nil}, // never moves back
		{bases[2] + 1, bases[2] + 1, nil},
		{-1, hw, nil}, // -1 is the high watermark
	}
	for _, tc := range cases {
		start, err := l.DeleteRecordsBefore(tc.offset)
		if !errors.Is(err, tc.wantErr) || (err == nil && (start != tc.wantStart || l.LogStartOffset() != tc.wantStart)) {
			t.Fatalf("DeleteRecordsBefore(%d) = %d %v, want %d %v", tc.offset, start, err, tc.wantStart, tc.wantErr)
		}
		if err != nil {
			continue
		}
		// Segments wholly below the start are gone; the one holding it stays.
		segs := l.SegmentBaseOffsets()
		if segs[0] > start || (len(segs) > 1 && segs[1] <= start) {
			t.Fatalf("after DeleteRecordsBefore(%d): segments %v", tc.offset, segs)
		}
		if e := l.LeaderEpochs(); len(e) == 0 || e[0].StartOffset > start {
			t.Fatalf("epochs %v after start %d", e, start)
		}
		if _, err := l.Read(start-1, 100, hw, true); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("read below start: %v", err)
		}
		if e, ok := l.epochs.earliest(); !ok || e.StartOffset != start {
			t.Fatalf("earliest epoch %v, want start %d", e, start)
		}
	}
}

func TestRetention(t *testing.T) {
	type env struct {
		l     *Log
		clk   *testClock
		sizes []int64 // segment sizes, oldest first
	}
	cases := []struct {
		name  string
		cfg   func(*LogConfig)
		prep  func(t *testing.T, e env)
		check func(t *testing.T, e env, deleted int, before []int64)
	}{
		{"unlimited", func(c *LogConfig) {}, nil, func(t *testing.T, e env, n int, before []int64) {
			if n != 0 {
				t.Fatalf("deleted %d", n)
			}
		}},
		{"by bytes", func(c *LogConfig) { c.RetentionBytes = 10000 }, nil, func(t *testing.T, e env, n int, before []int64) {
			// Kafka: delete oldest while size - segment size >= retention.bytes.
			var total int64
			for _, s := range e.sizes {
				total += s
			}
			want := 0
			for _, s := range e.sizes {
				if total-s < 10000 {
					break
				}
				total -= s
				want++
			}
			if n != want || e.l.Size() != total || e.l.LogStartOffset() != before[want] {
				t.Fatalf("deleted %d (want %d), size %d (want %d), start %d", n, want, e.l.Size(), total, e.l.LogStartOffset())
			}
		}},
		{"by time: old segments only", func(c *LogConfig) { c.RetentionMs = 60 * 60_000 }, func(t *testing.T, e env) {
			// Batches are stamped a minute apart and the clock is 90 minutes
			// after the first: what is older than an hour goes.
		}, func(t *testing.T, e env, n int, before []int64) {
			if n == 0 || n >= len(before) {
				t.Fatalf("deleted %d of %d", n, len(before))
			}
			off, ts, _, found, _ := e.l.OffsetForTimestamp(0)
			age := e.clk.Ms() - ts
			if !found || off != e.l.LogStartOffset() || age > 64*60_000 || age < 57*60_000 {
				t.Fatalf("oldest left: offset %d, %d minutes old", off, age/60_000)
			}
		}},
		{"by time: everything, active rolled", func(c *LogConfig) { c.RetentionMs = 1 }, nil, func(t *testing.T, e env, n int, before []int64) {
			// The last Roll left an empty active segment, which stays.
			if n != len(before)-1 || e.l.NumSegments() != 1 || e.l.Size() != 0 || e.l.LogStartOffset() != e.l.LogEndOffset() {
				t.Fatalf("deleted %d of %d, segments %v size %d", n, len(before), e.l.SegmentBaseOffsets(), e.l.Size())
			}
			if n2, _ := e.l.DeleteOldSegments(); n2 != 0 {
				t.Fatalf("empty active segment deleted (%d)", n2)
			}
		}},
		{"by time: the active segment with data is rolled first", func(c *LogConfig) { c.RetentionMs = 1 }, func(t *testing.T, e env) {
			mustAppend(t, e.l, makeBatchTs(t, e.clk.Ms()-10*60_000))
			e.l.SetHighWatermark(e.l.LogEndOffset())
		}, func(t *testing.T, e env, n int, before []int64) {
			if n != len(before) || e.l.NumSegments() != 1 || e.l.Size() != 0 || e.l.SegmentBaseOffsets()[0] != e.l.LogEndOffset() || e.l.LogStartOffset() != e.l.LogEndOffset() {
				t.Fatalf("deleted %d of %d, segments %v, start %d end %d", n, len(before), e.l.SegmentBaseOffsets(), e.l.LogStartOffset(), e.l.LogEndOffset())
			}
		}},
		{"nothing above the high watermark", func(c *LogConfig) { c.RetentionMs = 1 }, func(t *testing.T, e env) {
			e.l.SetHighWatermark(e.l.SegmentBaseOffsets()[2])
		}, func(t *testing.T, e env, n int, before []int64) {
			if n != 2 || e.l.LogStartOffset() != before[2] {
				t.Fatalf("deleted %d, start %d", n, e.l.LogStartOffset())
			}
		}},
		{"compact policy ignores time and size", func(c *LogConfig) { c.RetentionMs = 1; c.RetentionBytes = 1; c.Delete = false; c.Compact = true }, nil, func(t *testing.T, e env, n int, before []int64) {
			if n != 0 {
				t.Fatalf("deleted %d", n)
			}
		}},
		{"below the log start offset", func(c *LogConfig) {}, func(t *testing.T, e env) {
			e.l.mu.Lock()
			e.l.logStart.Store(e.l.SegmentBaseOffsetsLocked()[3] + 1)
			e.l.mu.Unlock()
		}, func(t *testing.T, e env, n int, before []int64) {
			if n != 3 || e.l.SegmentBaseOffsets()[0] != before[3] {
				t.Fatalf("deleted %d, segments %v", n, e.l.SegmentBaseOffsets())
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newTestClock()
			start := clk.Ms()
			cfg := smallConfig()
			tc.cfg(&cfg)
			l := newTestLog(t, cfg, clk)
			for i := 0; i < 60; i++ {
				// Record timestamps one minute apart.
				mustAppend(t, l, makeBatchTs(t, start+int64(i)*60_000, start+int64(i)*60_000))
				if i%4 == 3 {
					l.Roll()
				}
			}
			clk.Advance(90 * time.Minute)
			l.SetHighWatermark(l.LogEndOffset())
			e := env{l: l, clk: clk}
			l.mu.RLock()
			for _, s := range l.segments {
				e.sizes = append(e.sizes, s.size.Load())
			}
			l.mu.RUnlock()
			if tc.prep != nil {
				tc.prep(t, e)
			}
			before := l.SegmentBaseOffsets()
			n, err := l.DeleteOldSegments()
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, e, n, before)
			if got := readAllBatches(t, l); len(got) > 0 && got[len(got)-1].NextOffset() != l.LogEndOffset() {
				t.Fatal("tail lost")
			}
		})
	}
}

// SegmentBaseOffsetsLocked is SegmentBaseOffsets for a caller holding mu.
func (l *Log) SegmentBaseOffsetsLocked() []int64 {
	out := make([]int64, len(l.segments))
	for i, s := range l.segments {
		out[i] = s.base
	}
	return out
}

func TestDeletedSegmentStaysReadableUntilDelay(t *testing.T) {
	type task struct {
		delay time.Duration
		fn    func()
	}
	var mu sync.Mutex
	var tasks []task
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := smallConfig()
	cfg.FileDeleteDelayMs = 60000
	l := openTestLog(t, dir, cfg, OpenOptions{ScheduleDelete: func(d time.Duration, fn func()) {
		mu.Lock()
		tasks = append(tasks, task{d, fn})
		mu.Unlock()
	}})
	var a appended
	a.add(t, l, 40, 3, 60, 1)
	l.SetHighWatermark(l.LogEndOffset())
	first := l.SegmentBaseOffsets()[0]
	rr, err := l.Read(first, 1<<20, l.LogEndOffset(), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.DeleteRecordsBefore(l.SegmentBaseOffsets()[2]); err != nil {
		t.Fatal(err)
	}
	if fileExists(segPath(dir, first, logSuffix)) || !fileExists(segPath(dir, first, logSuffix)+deletedSuffix) {
		t.Fatal("segment not renamed to .deleted")
	}
	if len(tasks) != 1 || tasks[0].delay != time.Minute {
		t.Fatalf("scheduled %d deletions", len(tasks))
	}
	// The reader that held the range can still send it.
	var buf bytes.Buffer
	if n, err := rr.WriteTo(&buf); err != nil || n != rr.Size {
		t.Fatalf("read of a deleted segment: %d %v", n, err)
	}
	tasks[0].fn()
	if fileExists(segPath(dir, first, logSuffix) + deletedSuffix) {
		t.Fatal("deleted segment files not removed")
	}
	if _, err := rr.Bytes(); err == nil {
		t.Fatal("read after removal succeeded")
	}
	l.Close()

	// With the log's own timers, Close runs what is still pending.
	dir2 := filepath.Join(t.TempDir(), "t-1")
	l2 := openTestLog(t, dir2, cfg, OpenOptions{})
	a = appended{}
	a.add(t, l2, 40, 3, 60, 1)
	l2.SetHighWatermark(l2.LogEndOffset())
	if _, err := l2.DeleteRecordsBefore(l2.SegmentBaseOffsets()[2]); err != nil {
		t.Fatal(err)
	}
	if len(mustGlob(t, dir2, "*"+deletedSuffix)) == 0 {
		t.Fatal("nothing pending deletion")
	}
	l2.Close()
	if m := mustGlob(t, dir2, "*"+deletedSuffix); len(m) != 0 {
		t.Fatalf("Close left %v", m)
	}
}

func TestConcurrentReadersWithRetentionAndTruncation(t *testing.T) {
	cfg := smallConfig()
	cfg.SegmentBytes = 2048
	cfg.RetentionBytes = 8 << 10
	cfg.FileDeleteDelayMs = 50
	l := newTestLog(t, cfg, nil)
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 4)
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 1))
			for {
				select {
				case <-done:
					return
				default:
				}
				start, hw := l.LogStartOffset(), l.HighWatermark()
				if hw <= start {
					continue
				}
				off := start + rng.Int64N(hw-start)
				rr, err := l.Read(off, 1+rng.IntN(3000), hw, true)
				if errors.Is(err, ErrOffsetOutOfRange) {
					continue // retention or truncation moved past it
				}
				if err != nil {
					errs <- err
					return
				}
				data, err := rr.Bytes()
				if err != nil && !strings.Contains(err.Error(), "closed") && !errors.Is(err, ErrTruncatedRead) {
					errs <- err
					return
				}
				if err == nil {
					record.Batches(data, func(b record.Batch) error { return nil })
				}
			}
		}(uint64(r))
	}
	for i := 0; i < 300; i++ {
		if _, err := l.Append(makeBatch(t, 2, 1000, 60, byte(i)), AppendOptions{Origin: OriginClient}); err != nil {
			t.Fatal(err)
		}
		l.SetHighWatermark(l.LogEndOffset())
		switch i % 50 {
		case 20:
			if _, err := l.DeleteOldSegments(); err != nil {
				t.Fatal(err)
			}
		case 40:
			if err := l.TruncateTo(l.LogEndOffset() - 3); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if _, err := os.Stat(l.Dir()); err != nil {
		t.Fatal(err)
	}
}
