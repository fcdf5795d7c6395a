package storage

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/samsa-streaming/samsa/internal/record"
)

// recordSyncs wraps syncFile for the test: observe is called (serialized)
// with the name of each file or directory fsynced successfully. Like
// injectFsync it must be set up before the test opens any log, and the
// test must not be parallel.
func recordSyncs(t *testing.T, observe func(name string)) {
	t.Helper()
	orig := syncFile
	var mu sync.Mutex
	syncFile = func(f *os.File) error {
		err := orig(f)
		if err == nil {
			mu.Lock()
			observe(f.Name())
			mu.Unlock()
		}
		return err
	}
	t.Cleanup(func() { syncFile = orig })
}

// liveNames lists dir's entries, leaving out .deleted files (whose removal
// may lag; a lost removal only brings back a file Open removes).
func liveNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), deletedSuffix) {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestTruncationDurableOnReturn: when TruncateTo or TruncateFullyAndStartAt
// returns, every directory change it made (renames to .deleted, removed
// snapshots, a created segment) has been followed by an fsync of the
// directory, and a cut segment's .log has been fsynced at its new length,
// so no later append can become durable while the truncation is not.
func TestTruncationDurableOnReturn(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(t *testing.T, l *Log, bases []int64)
		op      func(l *Log, want []record.Batch, bases []int64) error
		cut     bool // the segment holding the offset is cut
	}{
		{"inside the active segment", nil, func(l *Log, want []record.Batch, _ []int64) error {
			return l.TruncateTo(want[len(want)-2].BaseOffset())
		}, true},
		{"inside an older segment", nil, func(l *Log, want []record.Batch, _ []int64) error {
			return l.TruncateTo(want[len(want)/3].BaseOffset() + 1)
		}, true},
		{"at a segment's base", nil, func(l *Log, _ []record.Batch, bases []int64) error {
			return l.TruncateTo(bases[2])
		}, false},
		{"below the first segment", func(t *testing.T, l *Log, bases []int64) {
			if _, err := l.DeleteRecordsBefore(bases[2]); err != nil {
				t.Fatal(err)
			}
		}, func(l *Log, _ []record.Batch, bases []int64) error {
			return l.TruncateTo(bases[1])
		}, false},
		{"fully, restarting ahead", nil, func(l *Log, want []record.Batch, _ []int64) error {
			return l.TruncateFullyAndStartAt(want[len(want)-1].NextOffset() + 100)
		}, false},
		{"fully, restarting behind", nil, func(l *Log, _ []record.Batch, _ []int64) error {
			return l.TruncateFullyAndStartAt(3)
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "t-0")
			var tracking bool
			var listing []string         // dir entries at its last fsync
			synced := map[string]int64{} // .log path -> size at its last fsync
			recordSyncs(t, func(name string) {
				if !tracking {
					return
				}
				if name == dir {
					listing = liveNames(t, dir)
				} else if strings.HasSuffix(name, logSuffix) {
					st, err := os.Stat(name)
					if err == nil {
						synced[name] = st.Size()
					}
				}
			})
			cfg := smallConfig()
			cfg.FileDeleteDelayMs = 60_000
			cfg.Preallocate = true
			l, want := buildLog(t, dir, cfg, 120)
			defer l.Close()
			l.SetHighWatermark(l.LogEndOffset())
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			bases := l.SegmentBaseOffsets()
			if len(bases) < 4 {
				t.Fatalf("only %d segments", len(bases))
			}
			if tc.prepare != nil {
				tc.prepare(t, l, bases)
			}
			tracking = true
			if err := tc.op(l, want, bases); err != nil {
				t.Fatal(err)
			}
			tracking = false
			if listing == nil {
				t.Fatal("the directory was never fsynced")
			}
			if now := liveNames(t, dir); !slices.Equal(now, listing) {
				t.Fatalf("directory changed after its last fsync:\nsynced %v\nnow    %v", listing, now)
			}
			active := activePath(l, logSuffix)
			st, err := os.Stat(active)
			if err != nil {
				t.Fatal(err)
			}
			if size, ok := synced[active]; tc.cut && (!ok || size != st.Size()) {
				t.Fatalf("cut segment %s is %d bytes; fsynced at %d (%v)", active, st.Size(), size, ok)
			}
			// And the log carries on.
			mustAppend(t, l, makeBatch(t, 2, 5000, 10, 1))
		})
	}
}

// TestTruncationFsyncFailureFailsLog: a failed fsync of the directory
// during a truncation fails the log (ErrLogFailed) like any other failed
// fsync: the truncation may not be durable, so nothing may be appended.
func TestTruncationFsyncFailureFailsLog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	fail, calls := injectFsync(t, func(name string) bool { return name == dir })
	l, want := buildLog(t, dir, smallConfig(), 60)
	defer l.Close()
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	if err := l.TruncateTo(want[10].BaseOffset()); !errors.Is(err, ErrLogFailed) || calls.Load() == 0 {
		t.Fatalf("truncation with a failing directory fsync: %v (%d failed fsyncs)", err, calls.Load())
	}
	fail.Store(false)
	if _, err := l.Append(makeBatch(t, 1, 1, 1, 1), AppendOptions{Origin: OriginClient}); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("append after the failed truncation: %v", err)
	}
}

// TestManagerTruncateCheckpoints: Manager.TruncateTo and
// TruncateFullyAndStartAt leave the log dir's recovery-point checkpoint at
// or below the new log end and its log-start checkpoint at the new log
// start before returning, and the recovery point was checkpointed at or
// below the truncation offset before the partition directory changed.
func TestManagerTruncateCheckpoints(t *testing.T) {
	tp := TopicPartition{"trunc", 3}
	cases := []struct {
		name         string
		deleteBefore int // segment index DeleteRecords moves the start to, 0 for none
		full         bool
		offset       func(bases []int64, leo int64) int64
	}{
		{"inside the active segment", 0, false, func(_ []int64, leo int64) int64 { return leo - 5 }},
		{"inside an older segment", 0, false, func(bases []int64, _ int64) int64 { return bases[1] + 3 }},
		{"below a DeleteRecords log start", 3, false, func(bases []int64, _ int64) int64 { return bases[1] + 2 }},
		{"inside, above a DeleteRecords log start", 2, false, func(bases []int64, _ int64) int64 { return bases[2] + 3 }},
		{"fully, behind", 2, true, func(bases []int64, _ int64) int64 { return bases[1] }},
		{"fully, ahead", 0, true, func(_ []int64, leo int64) int64 { return leo + 1000 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			pdir := filepath.Join(root, tp.String())
			rpPath := filepath.Join(root, recoveryPointCheckpointFile)
			var tracking, firstSeen bool
			var before, atFirst []string
			rpAtFirst := int64(-1)
			recordSyncs(t, func(name string) {
				// The first fsync of the log dir itself during the
				// truncation is the recovery-point checkpoint's.
				if tracking && !firstSeen && name == root {
					firstSeen = true
					atFirst = liveNames(t, pdir)
					if rp, err := readOffsetCheckpoint(rpPath); err == nil {
						rpAtFirst = rp[tp]
					}
				}
			})
			m := newTestManager(t, []string{root}, func(c *ManagerConfig) {
				c.RecoveryCheckpointInterval = -1
				c.StartOffsetCheckpointInterval = -1
				c.HighWatermarkCheckpointInterval = -1
				c.RetentionCheckInterval = -1
			})
			l, err := m.GetOrCreate(tp, LogConfig{}, [16]byte{})
			if err != nil {
				t.Fatal(err)
			}
			a := &appended{}
			fill(t, l, a, 80)
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			bases := l.SegmentBaseOffsets()
			if len(bases) < 4 {
				t.Fatalf("only %d segments", len(bases))
			}
			if tc.deleteBefore > 0 {
				if _, err := l.DeleteRecordsBefore(bases[tc.deleteBefore] + 1); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.Checkpoint(); err != nil {
				t.Fatal(err)
			}
			offset := tc.offset(bases, l.LogEndOffset())
			lowers := offset < l.RecoveryPoint()
			before = liveNames(t, pdir)
			tracking = true
			if tc.full {
				err = m.TruncateFullyAndStartAt(tp, offset)
			} else {
				err = m.TruncateTo(tp, offset)
			}
			tracking = false
			if err != nil {
				t.Fatal(err)
			}
			if lowers {
				if !firstSeen || rpAtFirst < 0 || rpAtFirst > offset {
					t.Fatalf("first checkpoint during the truncation: seen %v, recovery point %d (truncating to %d)", firstSeen, rpAtFirst, offset)
				}
				if !slices.Equal(atFirst, before) {
					t.Fatalf("partition directory changed before the recovery point was checkpointed:\nbefore %v\nthen   %v", before, atFirst)
				}
			}
			rp, err := readOffsetCheckpoint(rpPath)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := rp[tp]; !ok || got > l.LogEndOffset() || got != l.RecoveryPoint() {
				t.Fatalf("recovery point checkpoint %d (%v), log end %d, recovery point %d", got, ok, l.LogEndOffset(), l.RecoveryPoint())
			}
			starts, err := readOffsetCheckpoint(filepath.Join(root, logStartOffsetCheckpointFile))
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := starts[tp]; !ok || got != l.LogStartOffset() {
				t.Fatalf("log start checkpoint %d (%v), log start %d", got, ok, l.LogStartOffset())
			}
			if !tc.full && l.LogEndOffset() > offset {
				t.Fatalf("log end %d after truncating to %d", l.LogEndOffset(), offset)
			}
		})
	}
}

func TestManagerTruncateErrors(t *testing.T) {
	m := newTestManager(t, []string{t.TempDir()}, nil)
	tp := TopicPartition{"none", 0}
	if err := m.TruncateTo(tp, 0); !errors.Is(err, ErrUnknownPartition) {
		t.Fatalf("unknown partition: %v", err)
	}
	if _, err := m.GetOrCreate(tp, LogConfig{}, [16]byte{}); err != nil {
		t.Fatal(err)
	}
	if err := m.TruncateTo(tp, -1); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("negative offset: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.TruncateFullyAndStartAt(tp, 0); !errors.Is(err, ErrManagerClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// appendIdemKeep appends an idempotent batch of n records and returns
// the bytes as stored (offsets assigned).
func appendIdemKeep(t *testing.T, l *Log, pid int64, seq int32, n int) record.Batch {
	t.Helper()
	b := append(record.Batch(nil), idemBatch(t, pid, 0, seq, n)...)
	if _, err := l.Append(b, AppendOptions{Origin: OriginClient}); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRecoverySetsAsideLeftoversOfLostTruncation simulates a truncation
// whose directory update a power loss took back (a disk that lied, or a
// log written before truncations synced their directory): after the
// truncation and new appends (flushed: acknowledged), the doomed segment
// files and producer snapshots come back under their old names, as they
// were. Recovery must serve exactly the data below the truncation point
// followed by every new batch, never the stale segments (set aside, with
// one warning naming them, or dropped after a gap), and the producer state
// must not come from a stale snapshot.
func TestRecoverySetsAsideLeftoversOfLostTruncation(t *testing.T) {
	tp := TopicPartition{"lost", 1}
	const oldPID, newPID = 7, 9
	cases := []struct {
		name       string
		segBytes   int32
		old, added int // batches before the truncation, and after
		target     func(old []record.Batch, bases []int64) int64
		deleteTo   int  // segment index DeleteRecords moves the start to first, 0 for none
		full       bool // TruncateFullyAndStartAt(target)
		clean      bool // shut down cleanly before the power loss
		setAside   bool // some restored segment starts below the new end
		grow       bool // no roll after the truncation: the newest snapshot below the new end is a stale one
	}{
		{"new data stays in the cut segment, past stale snapshots", 4096, 100, 100,
			func(old []record.Batch, _ []int64) int64 { return old[33].BaseOffset() }, 0, false, false, true, true},
		{"new data covers every stale segment", 4096, 100, 150,
			func(old []record.Batch, _ []int64) int64 { return old[30].BaseOffset() }, 0, false, false, true, false},
		{"new data covers some, the rest follow a gap", 4096, 150, 40,
			func(old []record.Batch, _ []int64) int64 { return old[35].BaseOffset() + 2 }, 0, false, false, true, false},
		{"new data stops short of the stale segments", 4096, 120, 3,
			func(_ []record.Batch, bases []int64) int64 { return bases[2] - 40 }, 0, false, false, false, false},
		{"new data rolls into new segments between stale ones", 3000, 160, 170,
			func(old []record.Batch, _ []int64) int64 { return old[22].BaseOffset() }, 0, false, false, true, false},
		{"truncated below a DeleteRecords log start", 4096, 120, 120,
			func(_ []record.Batch, bases []int64) int64 { return bases[2] - 30 }, 3, false, false, true, false},
		{"fully, behind the old log", 4096, 120, 120,
			func(_ []record.Batch, bases []int64) int64 { return bases[1] + 5 }, 0, true, false, true, false},
		{"fully, ahead of the old log", 4096, 120, 60,
			func(old []record.Batch, _ []int64) int64 { return old[len(old)-1].NextOffset() + 50 }, 0, true, false, false, false},
		{"clean shutdown after the truncation", 4096, 120, 150,
			func(old []record.Batch, _ []int64) int64 { return old[40].BaseOffset() }, 0, false, true, true, false},
		{"clean shutdown, new data in new segments", 3000, 160, 170,
			func(old []record.Batch, _ []int64) int64 { return old[22].BaseOffset() }, 0, false, true, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			pdir := filepath.Join(root, tp.String())
			var logs syncBuffer
			mutate := func(c *ManagerConfig) {
				c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
				c.RecoveryCheckpointInterval = -1
				c.StartOffsetCheckpointInterval = -1
				c.HighWatermarkCheckpointInterval = -1
				c.RetentionCheckInterval = -1
			}
			m := newTestManager(t, []string{root}, mutate)
			cfg := smallConfig()
			cfg.SegmentBytes = tc.segBytes
			cfg.FileDeleteDelayMs = 60_000
			l, err := m.GetOrCreate(tp, cfg, [16]byte{1})
			if err != nil {
				t.Fatal(err)
			}
			var old []record.Batch
			for i := range tc.old {
				old = append(old, appendIdemKeep(t, l, oldPID, int32(i*10), 10))
			}
			l.SetHighWatermark(l.LogEndOffset())
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			bases := l.SegmentBaseOffsets()
			if tc.deleteTo > 0 {
				if _, err := l.DeleteRecordsBefore(bases[tc.deleteTo]); err != nil {
					t.Fatal(err)
				}
			}
			// What a lost directory update brings back: the segment files
			// and producer snapshots as they are now.
			saved := map[string][]byte{}
			entries, err := os.ReadDir(pdir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				_, suffix, ok := parseSegmentFileName(e.Name())
				if ok && (isSegmentFile(suffix) || suffix == snapshotSuffix) {
					data, err := os.ReadFile(filepath.Join(pdir, e.Name()))
					if err != nil {
						t.Fatal(err)
					}
					saved[e.Name()] = data
				}
			}

			target := tc.target(old, bases)
			if tc.full {
				err = m.TruncateFullyAndStartAt(tp, target)
			} else {
				err = m.TruncateTo(tp, target)
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.grow {
				cfg.SegmentBytes = 1 << 20
				if err := l.SetConfig(cfg); err != nil {
					t.Fatal(err)
				}
			}
			var want []record.Batch
			if !tc.full {
				for _, b := range old {
					if b.LastOffset() < l.LogEndOffset() && b.BaseOffset() >= l.LogStartOffset() {
						want = append(want, b)
					}
				}
			}
			kept := len(want)
			for j := range tc.added {
				want = append(want, appendIdemKeep(t, l, newPID, int32(j*7), 7))
			}
			l.SetHighWatermark(l.LogEndOffset())
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			newStart, newEnd := l.LogStartOffset(), l.LogEndOffset()
			if tc.clean {
				if err := m.Close(); err != nil {
					t.Fatal(err)
				}
			} else {
				crashManager(t, m)
			}

			// The power loss: whatever the truncation removed comes back.
			var restored []int64
			for name, data := range saved {
				path := filepath.Join(pdir, name)
				if fileExists(path) {
					continue // reused by the new history
				}
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
				os.Remove(path + deletedSuffix)
				if base, suffix, _ := parseSegmentFileName(name); suffix == logSuffix {
					restored = append(restored, base)
				}
			}
			slices.Sort(restored)
			var wantAside []string
			for _, base := range restored {
				if base == newEnd {
					t.Fatalf("scenario restores a segment exactly at the new log end %d, which no rule can tell from a new one", base)
				}
				// Below the new start: dropped as wholly below it; above
				// the new end: dropped after the gap.
				if base > newStart && base < newEnd {
					wantAside = append(wantAside, segmentFileName(base, logSuffix))
				}
			}
			if len(restored) == 0 || (len(wantAside) > 0) != tc.setAside {
				t.Fatalf("scenario restored segments %v, %d of them below the new end %d", restored, len(wantAside), newEnd)
			}

			logs = syncBuffer{}
			m2 := newTestManager(t, []string{root}, mutate)
			l2, ok := m2.Get(tp)
			if !ok {
				t.Fatal("log gone")
			}
			equalBatches(t, readAllBatches(t, l2), want)
			if l2.LogEndOffset() != newEnd {
				t.Fatalf("log end %d, want %d", l2.LogEndOffset(), newEnd)
			}
			for _, base := range restored {
				if fileExists(segPath(pdir, base, logSuffix)) {
					t.Fatalf("stale segment %d still under its live name", base)
				}
			}
			st := l2.LoadStats()
			if st.SegmentsSetAside != len(wantAside) {
				t.Fatalf("set aside %d segments, want %d (%+v)", st.SegmentsSetAside, len(wantAside), st)
			}
			out := logs.String()
			if n := strings.Count(out, "set aside"); n != min(len(wantAside), 1) {
				t.Fatalf("%d set-aside warnings, want %d:\n%s", n, min(len(wantAside), 1), out)
			}
			for _, name := range wantAside {
				if !strings.Contains(out, name) {
					t.Fatalf("warning does not name %s:\n%s", name, out)
				}
			}
			// Producer state as of the new history: the old producer's
			// last batch is the last one kept, never a stale one.
			ps := l2.ProducerState()
			if e, ok := ps[oldPID]; kept > 0 != ok || ok && e.Batches[e.NumBatches-1].LastOffset != want[kept-1].LastOffset() {
				t.Fatalf("old producer state %+v, last kept batch ends at %d", e, want[max(kept, 1)-1].LastOffset())
			}
			if e, ok := ps[newPID]; !ok || e.Batches[e.NumBatches-1].LastOffset != want[len(want)-1].LastOffset() {
				t.Fatalf("new producer state %+v", e)
			}
			// Appends carry on at the end.
			want = append(want, appendIdemKeep(t, l2, newPID, int32(tc.added*7), 7))
			equalBatches(t, readAllBatches(t, l2), want)
		})
	}
}
