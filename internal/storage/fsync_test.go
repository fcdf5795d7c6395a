package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// injectFsync replaces syncFile for the test: while fail is set, an fsync
// of a file (or directory) whose name satisfies match returns EIO. It
// must be called before the test starts any log, and the test must not be
// parallel (syncFile is global); it is restored at cleanup, after the
// cleanups registered later (which close the logs) have run.
func injectFsync(t *testing.T, match func(name string) bool) (fail *atomic.Bool, calls *atomic.Int64) {
	t.Helper()
	fail, calls = new(atomic.Bool), new(atomic.Int64)
	orig := syncFile
	syncFile = func(f *os.File) error {
		if fail.Load() && match(f.Name()) {
			calls.Add(1)
			return syscall.EIO
		}
		return orig(f)
	}
	t.Cleanup(func() { syncFile = orig })
	return fail, calls
}

// TestFsyncFailureFailsLogForGood injects an fsync failure into a
// flush.messages=1 append: the produce fails, the log refuses every later
// write and flush even once fsync works again (a retry would "succeed"
// over dropped pages), reads keep working, and the manager leaves the dir
// unmarked so the next start recovers it by scanning.
func TestFsyncFailureFailsLogForGood(t *testing.T) {
	dir := t.TempDir()
	fail, calls := injectFsync(t, func(name string) bool {
		return strings.Contains(name, "orders-0") && strings.HasSuffix(name, logSuffix)
	})
	m := newTestManager(t, []string{dir}, nil)
	tp := TopicPartition{"orders", 0}
	cfg := smallConfig()
	cfg.SegmentBytes = 1 << 20 // no roll, so no background flush
	cfg.FlushMessages = 1
	l, err := m.GetOrCreate(tp, cfg, [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	a := &appended{}
	fill(t, l, a, 5)
	rp := l.RecoveryPoint()
	if rp != l.LogEndOffset() || rp == 0 {
		t.Fatalf("recovery point %d, log end %d: flush.messages=1 did not flush", rp, l.LogEndOffset())
	}

	fail.Store(true)
	b := makeBatch(t, 4, time.Now().UnixMilli(), 60, 99)
	res, err := l.Append(append([]byte(nil), b...), AppendOptions{Origin: OriginClient})
	if !errors.Is(err, ErrLogFailed) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Append with a failing fsync: %v, want ErrLogFailed wrapping EIO", err)
	}
	if calls.Load() != 1 || !l.Failed() {
		t.Fatalf("fsync calls %d, Failed %v", calls.Load(), l.Failed())
	}
	b.SetBaseOffset(res.FirstOffset) // as stored: the bytes were written before the flush
	a.batches = append(a.batches, b)

	// fsync works again: a retry would now report the dropped pages as
	// durable. Everything that could move the recovery point or change
	// the files must still refuse.
	fail.Store(false)
	if _, err := l.Append(append([]byte(nil), b...), AppendOptions{Origin: OriginClient}); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("Append after failure: %v", err)
	}
	checks := map[string]error{
		"Flush":                   l.Flush(),
		"FlushUpTo":               l.FlushUpTo(l.LogEndOffset()),
		"Roll":                    l.Roll(),
		"TruncateTo":              l.TruncateTo(1),
		"TruncateFullyAndStartAt": l.TruncateFullyAndStartAt(100),
	}
	_, checks["DeleteOldSegments"] = l.DeleteOldSegments()
	_, checks["DeleteRecordsBefore"] = l.DeleteRecordsBefore(1)
	for name, err := range checks {
		if !errors.Is(err, ErrLogFailed) {
			t.Errorf("%s after failure: %v, want ErrLogFailed", name, err)
		}
	}
	if got := l.RecoveryPoint(); got != rp {
		t.Fatalf("recovery point moved from %d to %d after the fsync failure", rp, got)
	}
	if l.FlushDue(time.Now().Add(24 * time.Hour)) {
		t.Fatal("a failed log reported a flush due")
	}
	// Reads serve everything published, the batch whose flush failed too.
	equalBatches(t, readAllBatches(t, l), a.batches)

	if err := m.Close(); err != nil {
		t.Fatalf("Manager.Close: %v", err)
	}
	logDir := filepath.Dir(l.Dir())
	if _, err := os.Stat(filepath.Join(logDir, cleanShutdownFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("clean-shutdown marker written for a dir with a failed log (stat: %v)", err)
	}
	ckpt, err := readOffsetCheckpoint(filepath.Join(logDir, recoveryPointCheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if ckpt[tp] != rp {
		t.Fatalf("checkpointed recovery point %d, want the frozen %d", ckpt[tp], rp)
	}

	// The next start recovers by scanning and the log works again.
	m2 := newTestManager(t, []string{dir}, nil)
	if st := m2.LoadStats(); st.CleanDirs != 0 || st.SegmentsRecovered == 0 {
		t.Fatalf("reopen after a failed log: %+v, want an unclean dir with segments recovered", st)
	}
	l2, _ := m2.Get(tp)
	if l2.Failed() {
		t.Fatal("reopened log is failed")
	}
	equalBatches(t, readAllBatches(t, l2), a.batches)
	mustAppend(t, l2, makeBatch(t, 1, time.Now().UnixMilli(), 10, 1))
	if err := l2.Flush(); err != nil {
		t.Fatal(err)
	}
	if l2.RecoveryPoint() != l2.LogEndOffset() {
		t.Fatalf("reopened log: recovery point %d, log end %d", l2.RecoveryPoint(), l2.LogEndOffset())
	}
}

// TestFsyncFailureOfDirOrIndexFailsLog covers the other fsyncs of a
// flush: the directory (after a roll, in the background flush) and an
// index. Close of a failed log still closes its files and reports the
// failure.
func TestFsyncFailureOfDirOrIndexFailsLog(t *testing.T) {
	for _, tc := range []struct {
		name  string
		match func(dir, name string) bool
		roll  bool
	}{
		{"dir", func(dir, name string) bool { return name == dir }, true},
		{"index", func(dir, name string) bool { return strings.HasSuffix(name, indexSuffix) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "topic-0")
			fail, calls := injectFsync(t, func(name string) bool { return tc.match(dir, name) })
			l := openTestLog(t, dir, smallConfig(), OpenOptions{})
			a := &appended{}
			a.add(t, l, 3, 4, 60, time.Now().UnixMilli())
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			rp := l.RecoveryPoint()
			a.add(t, l, 3, 4, 60, time.Now().UnixMilli())
			fail.Store(true)
			var err error
			if tc.roll {
				if err = l.Roll(); err != nil {
					t.Fatal(err)
				}
				l.bg.Wait() // the background flush of the rolled segment fails
				err = l.Flush()
			} else {
				err = l.Flush()
			}
			if !errors.Is(err, ErrLogFailed) || calls.Load() == 0 || !l.Failed() {
				t.Fatalf("Flush: %v (fsync failures %d)", err, calls.Load())
			}
			fail.Store(false)
			if _, err := l.Append(append([]byte(nil), a.batches[0]...), AppendOptions{Origin: OriginClient}); !errors.Is(err, ErrLogFailed) {
				t.Fatalf("Append after failure: %v", err)
			}
			if l.RecoveryPoint() != rp {
				t.Fatalf("recovery point moved from %d to %d", rp, l.RecoveryPoint())
			}
			equalBatches(t, readAllBatches(t, l), a.batches)
			if err := l.Close(); !errors.Is(err, ErrLogFailed) {
				t.Fatalf("Close of a failed log: %v", err)
			}
			if _, err := l.Read(0, 1<<20, l.LogEndOffset(), true); !errors.Is(err, ErrLogClosed) {
				t.Fatalf("Read after Close: %v", err)
			}
		})
	}
}
