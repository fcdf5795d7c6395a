package storage

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/samsa-streaming/samsa/internal/record"
)

// waitTruncation runs truncate in a goroutine from inside a cleaning
// (a testHookCleanerSwap) and returns once it finished or is waiting for
// the cleaning to stop (cleanAborts), so the cleaning goes on to its
// swap with the truncation either done or pending, never deadlocked.
func waitTruncation(t *testing.T, l *Log, truncate func() error) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- truncate() }()
	for l.cleanAborts.Load() == 0 {
		select {
		case err := <-done:
			// Put it back for the caller.
			done <- err
			return done
		default:
			runtime.Gosched()
		}
	}
	return done
}

// TestCleanAbortedByTruncation: a truncation that comes while a
// cleaning is in progress (after its offset map was built, before a
// swap) must not let the cleaning drop records whose only newer version
// was truncated away, nor leave the cleaner checkpoint above the new
// log end (Kafka's LogManager.truncateTo aborts and pauses cleaning
// around the truncation).
func TestCleanAbortedByTruncation(t *testing.T) {
	for _, full := range []bool{false, true} {
		t.Run(fmt.Sprintf("fully=%v", full), func(t *testing.T) {
			dir := t.TempDir()
			m := newTestManager(t, []string{dir}, func(c *ManagerConfig) { c.DefaultConfig = compactCfg() })
			tp := TopicPartition{Topic: "c"}
			l, err := m.GetOrCreate(tp, compactCfg(), [16]byte{})
			if err != nil {
				t.Fatal(err)
			}
			clk := newTestClock()
			var recs []kv
			recs = append(recs, kv{key: "a", value: "old"})
			for i := range 40 {
				recs = append(recs, kv{key: fmt.Sprintf("f%d", i), value: strings.Repeat("x", 20)})
			}
			recs = append(recs, kv{key: "a", value: "new"})
			for i := range 40 {
				recs = append(recs, kv{key: fmt.Sprintf("g%d", i), value: strings.Repeat("y", 20)})
			}
			written := appendKVs(t, l, clk, record.CodecNone, recs)
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			cut := written[41].offset // "a"="new"
			if full {
				cut = 0
			}
			var pending <-chan error
			testHookCleanerSwap = func(hl *Log, g []*segment, cs *segment) error {
				if pending == nil {
					pending = waitTruncation(t, hl, func() error {
						if full {
							return m.TruncateFullyAndStartAt(tp, 0)
						}
						return m.TruncateTo(tp, cut)
					})
				}
				return nil
			}
			m.CleanOnce()
			testHookCleanerSwap = nil
			if pending == nil {
				t.Fatal("the cleaning never reached a swap")
			}
			if err := <-pending; err != nil {
				t.Fatal(err)
			}
			if l.LogEndOffset() != cut {
				t.Fatalf("log end %d after truncation, want %d", l.LogEndOffset(), cut)
			}
			if ck := m.CleanerCheckpoint(tp); ck > l.LogEndOffset() {
				t.Fatalf("cleaner checkpoint %d above the log end %d after truncation", ck, l.LogEndOffset())
			}
			l.SetHighWatermark(l.LogEndOffset())
			got := latest(readAllKVs(t, l))
			var below []kv
			for _, r := range written {
				if r.offset < cut {
					below = append(below, r)
				}
			}
			for k, want := range latest(below) {
				if g, ok := got[k]; !ok || g.offset != want.offset || g.value != want.value {
					t.Fatalf("key %q: got %+v (present %v), want %+v", k, g, ok, want)
				}
			}
			if len(got) != len(latest(below)) {
				t.Fatalf("%d keys after truncation, want %d", len(got), len(latest(below)))
			}
		})
	}
}

// TestDeleteForgetsCleanerCheckpoint: a partition deleted and created
// again must not inherit the old log's cleaner checkpoint (Open would
// skip the gap rule below it, hiding a torn tail of the new log, and the
// cleaner would take the new log's data below it as already cleaned).
func TestDeleteForgetsCleanerCheckpoint(t *testing.T) {
	dir := t.TempDir()
	m := newTestManager(t, []string{dir}, func(c *ManagerConfig) { c.DefaultConfig = compactCfg() })
	tp := TopicPartition{Topic: "c"}
	l, err := m.GetOrCreate(tp, compactCfg(), [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	clk := newTestClock()
	var recs []kv
	for i := range 200 {
		recs = append(recs, kv{key: fmt.Sprintf("k%d", i%7), value: strings.Repeat("x", 20)})
	}
	appendKVs(t, l, clk, record.CodecNone, recs)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if !m.CleanOnce() || m.CleanerCheckpoint(tp) == 0 {
		t.Fatal("the log was not cleaned")
	}
	if err := m.Delete(tp); err != nil {
		t.Fatal(err)
	}
	if _, err := m.GetOrCreate(tp, compactCfg(), [16]byte{}); err != nil {
		t.Fatal(err)
	}
	if ck := m.CleanerCheckpoint(tp); ck != 0 {
		t.Fatalf("recreated partition has cleaner checkpoint %d, want 0", ck)
	}
	if _, ok := m.LastCleanStats(tp); ok {
		t.Fatal("recreated partition has the deleted log's cleaning statistics")
	}
}

// TestCleanCrashAfterFirstSwapLostRecoveryPoint: a crash between two
// group swaps of a log's first cleaning, then a start whose recovery
// point checkpoint is gone (0), must not take the first cleaned group's
// early end for a lost tail and drop the later segments.
func TestCleanCrashAfterFirstSwapLostRecoveryPoint(t *testing.T) {
	dir := t.TempDir()
	m := newTestManager(t, []string{dir}, func(c *ManagerConfig) { c.DefaultConfig = compactCfg() })
	tp := TopicPartition{Topic: "c"}
	l, err := m.GetOrCreate(tp, compactCfg(), [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	clk := newTestClock()
	var recs []kv
	for i := range 300 {
		recs = append(recs, kv{key: fmt.Sprintf("k%d", i%17), value: fmt.Sprintf("v%d", i)})
	}
	written := appendKVs(t, l, clk, record.CodecNone, recs)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	swaps := 0
	testHookCleanerSwap = func(*Log, []*segment, *segment) error {
		swaps++
		if swaps == 2 {
			return errCrash
		}
		return nil
	}
	m.CleanOnce()
	testHookCleanerSwap = nil
	if swaps != 2 {
		t.Fatalf("%d swaps, want a crash before the second", swaps)
	}
	leo := l.LogEndOffset()
	crashManager(t, m)
	if err := os.Remove(filepath.Join(dir, recoveryPointCheckpointFile)); err != nil {
		t.Fatal(err)
	}
	m2 := newTestManager(t, []string{dir}, func(c *ManagerConfig) { c.DefaultConfig = compactCfg() })
	l2, ok := m2.Get(tp)
	if !ok {
		t.Fatal("log gone")
	}
	if l2.LogEndOffset() != leo {
		t.Fatalf("log end %d after recovery, want %d", l2.LogEndOffset(), leo)
	}
	l2.SetHighWatermark(leo)
	got := latest(readAllKVs(t, l2))
	for k, want := range latest(written) {
		if g := got[k]; g.offset != want.offset || g.value != want.value {
			t.Fatalf("key %q: got %+v, want %+v", k, g, want)
		}
	}
}

// TestOpenCapsCleanerCheckpointAtLogEnd: when recovery cuts a log below
// its cleaner checkpoint (a corrupt batch in a cleaned segment), the
// checkpoint must come down to the new end; otherwise data appended
// after the cut, up to the stale checkpoint, would escape the gap rule
// at the next unclean start and count as cleaned.
func TestOpenCapsCleanerCheckpointAtLogEnd(t *testing.T) {
	dir := t.TempDir()
	m := newTestManager(t, []string{dir}, func(c *ManagerConfig) { c.DefaultConfig = compactCfg() })
	tp := TopicPartition{Topic: "c"}
	l, err := m.GetOrCreate(tp, compactCfg(), [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	clk := newTestClock()
	var recs []kv
	for i := range 300 {
		recs = append(recs, kv{key: fmt.Sprintf("k%d", i), value: strings.Repeat("v", 10)})
	}
	appendKVs(t, l, clk, record.CodecNone, recs)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if !m.CleanOnce() {
		t.Fatal("not cleaned")
	}
	ck := m.CleanerCheckpoint(tp)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// Corrupt the first batch's CRC-covered bytes; drop the marker and
	// the recovery point so the next start scans everything.
	seg := filepath.Join(dir, "c-0", segmentFileName(0, logSuffix))
	f, err := os.OpenFile(seg, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff, 0xfe}, 70); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, name := range []string{cleanShutdownFile, recoveryPointCheckpointFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	m2 := newTestManager(t, []string{dir}, func(c *ManagerConfig) { c.DefaultConfig = compactCfg() })
	l2, _ := m2.Get(tp)
	if l2.LogEndOffset() >= ck {
		t.Fatalf("log end %d: the corruption did not cut below the checkpoint %d", l2.LogEndOffset(), ck)
	}
	if got := m2.CleanerCheckpoint(tp); got > l2.LogEndOffset() {
		t.Fatalf("cleaner checkpoint %d above the recovered log end %d", got, l2.LogEndOffset())
	}
}

// TestOpenDropsStaleCleanerEntry: a cleaner-offset-checkpoint entry for a
// partition whose directory is gone (its deletion crashed before the
// checkpoints were rewritten) must not pass to a partition created
// again under that name.
func TestOpenDropsStaleCleanerEntry(t *testing.T) {
	dir := t.TempDir()
	m := newTestManager(t, []string{dir}, func(c *ManagerConfig) { c.DefaultConfig = compactCfg() })
	tp := TopicPartition{Topic: "c"}
	l, err := m.GetOrCreate(tp, compactCfg(), [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	clk := newTestClock()
	var recs []kv
	for i := range 200 {
		recs = append(recs, kv{key: fmt.Sprintf("k%d", i%5), value: "v"})
	}
	appendKVs(t, l, clk, record.CodecNone, recs)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if !m.CleanOnce() {
		t.Fatal("not cleaned")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "c-0")); err != nil {
		t.Fatal(err)
	}
	m2 := newTestManager(t, []string{dir}, func(c *ManagerConfig) { c.DefaultConfig = compactCfg() })
	if _, err := m2.GetOrCreate(tp, compactCfg(), [16]byte{}); err != nil {
		t.Fatal(err)
	}
	if ck := m2.CleanerCheckpoint(tp); ck != 0 {
		t.Fatalf("recreated partition has cleaner checkpoint %d, want 0", ck)
	}
	offs, err := readOffsetCheckpoint(filepath.Join(dir, cleanerOffsetCheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := offs[tp]; ok {
		t.Fatalf("stale entry still in the file: %v", offs)
	}
}

// TestCleanSmallOffsetMapKeepsLatest cleans repeatedly with an offset map
// that holds only a few keys, so that every cleaning stops where the map
// fills (inside a segment or at its end), and checks after each one that
// every key's latest record is still there, unchanged, and that every
// record read was written at that offset.
func TestCleanSmallOffsetMapKeepsLatest(t *testing.T) {
	for _, budget := range []int64{300, 700, 2000} {
		for seed := range uint64(2) {
			t.Run(fmt.Sprintf("budget=%d/seed=%d", budget, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, uint64(budget)))
				clk := newTestClock()
				cfg := compactCfg()
				cfg.SegmentBytes = 300 + int32(rng.IntN(600))
				l := newTestLog(t, cfg, clk)
				var written []kv
				dirty := int64(0)
				for round := range 8 {
					var recs []kv
					for i := range 30 + rng.IntN(60) {
						recs = append(recs, kv{key: fmt.Sprintf("k%d", rng.IntN(12)), value: fmt.Sprintf("v%d.%d", round, i), tomb: rng.IntN(10) == 0})
					}
					written = append(written, appendKVs(t, l, clk, record.Codec(rng.IntN(2)), recs)...)
					if err := l.Roll(); err != nil {
						t.Fatal(err)
					}
					l.SetHighWatermark(l.LogEndOffset())
					if err := l.Flush(); err != nil {
						t.Fatal(err)
					}
					for range 3 {
						ci := l.cleanableInfo(dirty, clk.Ms())
						st, err := l.clean(&cleanRun{nowMs: clk.Ms(), firstDirty: ci.firstDirty, uncleanable: ci.firstUncleanable, mapBudget: budget})
						if err != nil {
							t.Fatalf("round %d: clean: %v", round, err)
						}
						if st.EndOffset < dirty {
							t.Fatalf("round %d: end offset went back from %d to %d", round, dirty, st.EndOffset)
						}
						dirty = st.EndOffset
						got := readAllKVs(t, l)
						byOffset := map[int64]kv{}
						for _, w := range written {
							byOffset[w.offset] = w
						}
						seen := map[string]kv{}
						for _, r := range got {
							w, ok := byOffset[r.offset]
							if !ok || w.key != r.key || w.value != r.value || w.tomb != r.tomb || w.ts != r.ts {
								t.Fatalf("round %d: read %+v at %d, written %+v", round, r, r.offset, w)
							}
							seen[r.key] = r
						}
						for k, want := range latest(written) {
							if g, ok := seen[k]; !ok || g.offset != want.offset {
								t.Fatalf("round %d: key %q latest %+v missing (last read %+v)", round, k, want, g)
							}
						}
					}
				}
			})
		}
	}
}

// TestCleanCrashAtFirstSwapFileStaleRecoveryPoint: a crash right after
// the first cleaned group was renamed to .swap, with the recovery point
// checkpoint as the periodic writer last left it (below the cleaned
// range), must not lose the segments after the group: Open completes the
// swap, and the cleaned segment, ending early, must not be taken for a
// lost tail.
func TestCleanCrashAtFirstSwapFileStaleRecoveryPoint(t *testing.T) {
	dir := t.TempDir()
	m := newTestManager(t, []string{dir}, func(c *ManagerConfig) { c.DefaultConfig = compactCfg() })
	tp := TopicPartition{Topic: "c"}
	l, err := m.GetOrCreate(tp, compactCfg(), [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Checkpoint(); err != nil { // recovery point 0 on disk
		t.Fatal(err)
	}
	clk := newTestClock()
	var recs []kv
	for i := range 300 {
		recs = append(recs, kv{key: fmt.Sprintf("k%d", i%17), value: fmt.Sprintf("v%d", i)})
	}
	written := appendKVs(t, l, clk, record.CodecNone, recs)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	testHookCleanerSwap = func(*Log, []*segment, *segment) error { return errCrash }
	m.CleanOnce()
	testHookCleanerSwap = nil
	leo := l.LogEndOffset()
	crashManager(t, m)
	m2 := newTestManager(t, []string{dir}, func(c *ManagerConfig) { c.DefaultConfig = compactCfg() })
	l2, ok := m2.Get(tp)
	if !ok {
		t.Fatal("log gone")
	}
	if l2.LoadStats().SwapsCompleted == 0 {
		t.Fatal("no swap to complete: the test did not crash where it meant to")
	}
	if l2.LogEndOffset() != leo {
		t.Fatalf("log end %d after recovery, want %d", l2.LogEndOffset(), leo)
	}
	l2.SetHighWatermark(leo)
	got := latest(readAllKVs(t, l2))
	for k, want := range latest(written) {
		if g := got[k]; g.offset != want.offset || g.value != want.value {
			t.Fatalf("key %q: got %+v, want %+v", k, g, want)
		}
	}
}
