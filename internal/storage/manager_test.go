package storage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestManager opens a Manager over dirs; mutate adjusts the config
// first. It is closed at cleanup unless the test closed it.
func newTestManager(t testing.TB, dirs []string, mutate func(*ManagerConfig)) *Manager {
	t.Helper()
	cfg := ManagerConfig{Dirs: slices.Clone(dirs), DefaultConfig: smallConfig()}
	if mutate != nil {
		mutate(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	if err := m.Open(context.Background()); err != nil {
		m.Close()
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// crashManager abandons m as a kill -9 would: background tasks stop,
// every descriptor is closed without a flush, an index trim, a checkpoint
// or a marker. What the logs wrote stays (it is in the page cache).
func crashManager(t testing.TB, m *Manager) {
	t.Helper()
	m.mu.Lock()
	m.closed = true
	slots := slices.Collect(maps.Values(m.logs))
	dirs := m.dirs
	m.mu.Unlock()
	close(m.stop)
	m.wg.Wait()
	m.ops.Wait()
	for _, s := range slots {
		if s.log != nil {
			crashLog(s.log)
		}
	}
	m.sched.shutdown() // closes the descriptors of segments awaiting deletion
	for _, d := range dirs {
		if d.lock != nil {
			unlockLogDir(d.lock)
			d.lock = nil
		}
	}
}

// crashLog closes a log's descriptors without flushing or trimming.
func crashLog(l *Log) {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.bg.Wait()
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.segments {
		s.closeFiles()
	}
	l.closed = true
}

// fill appends count batches to l, sets the high watermark to the end,
// and returns what was stored.
func fill(t testing.TB, l *Log, a *appended, count int) {
	t.Helper()
	a.add(t, l, count, 4, 60, time.Now().UnixMilli())
	l.SetHighWatermark(l.LogEndOffset())
}

func TestManagerManyPartitionsTwoDirsCleanReopen(t *testing.T) {
	root := t.TempDir()
	dirs := []string{filepath.Join(root, "d1"), filepath.Join(root, "d2")}
	m := newTestManager(t, dirs, nil)
	const topics, parts = 4, 10
	want := map[TopicPartition]*appended{}
	for i := range topics {
		for p := range parts {
			tp := TopicPartition{fmt.Sprintf("topic-%d.x", i), int32(p)}
			l, err := m.GetOrCreate(tp, LogConfig{}, [16]byte{byte(i + 1), byte(p)})
			if err != nil {
				t.Fatal(err)
			}
			a := &appended{}
			fill(t, l, a, 5+p*3)
			want[tp] = a
		}
	}
	// Kafka's placement: the dir with the fewest partitions.
	for _, d := range dirs {
		entries, _ := os.ReadDir(d)
		n := 0
		for _, e := range entries {
			if e.IsDir() {
				n++
			}
		}
		if n != topics*parts/2 {
			t.Fatalf("%s holds %d partitions, want %d", d, n, topics*parts/2)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, cleanShutdownFile)); err != nil {
			t.Fatalf("no clean-shutdown marker: %v", err)
		}
	}

	m2 := newTestManager(t, dirs, func(c *ManagerConfig) { c.RecoveryThreadsPerDir = 3 })
	st := m2.LoadStats()
	if st.Logs != topics*parts || st.CleanDirs != 2 || st.SegmentsRecovered != 0 || st.BytesScanned != 0 || st.IndexesRebuilt != 0 {
		t.Fatalf("clean reopen stats %+v", st)
	}
	if st.Segments <= topics*parts {
		t.Fatalf("only %d segments: the test wants rolled logs", st.Segments)
	}
	if got := m2.Logs(); len(got) != topics*parts || !slices.IsSortedFunc(got, compareTP) {
		t.Fatalf("Logs() = %v", got)
	}
	for tp, a := range want {
		l, ok := m2.Get(tp)
		if !ok {
			t.Fatalf("%v not loaded", tp)
		}
		equalBatches(t, readAllBatches(t, l), a.batches)
		if id, ok := l.TopicID(); !ok || id[1] != byte(tp.Partition) {
			t.Fatalf("%v topic id %v", tp, id)
		}
		if l.RecoveryPoint() != l.LogEndOffset() || l.HighWatermark() != l.LogEndOffset() {
			t.Fatalf("%v: recovery point %d, hw %d, leo %d", tp, l.RecoveryPoint(), l.HighWatermark(), l.LogEndOffset())
		}
	}
	// The markers are gone once loaded: a crash now is an unclean start.
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, cleanShutdownFile)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("marker still present after Open: %v", err)
		}
	}
}

func TestManagerUncleanRecoversFromCheckpoint(t *testing.T) {
	dir := t.TempDir()
	m := newTestManager(t, []string{dir}, nil)
	tp := TopicPartition{"orders", 0}
	l, err := m.GetOrCreate(tp, LogConfig{}, [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	a := &appended{}
	fill(t, l, a, 40)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := m.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	checkpointed := l.RecoveryPoint()
	segsBefore := l.NumSegments()
	fill(t, l, a, 15) // not flushed, not checkpointed
	total := l.NumSegments()
	crashManager(t, m)

	m2 := newTestManager(t, []string{dir}, nil)
	st := m2.LoadStats()
	if st.CleanDirs != 0 {
		t.Fatalf("a crashed dir opened as clean: %+v", st)
	}
	// Recovery starts at the segment holding the checkpointed recovery
	// point: the segments wholly below it are not scanned.
	if st.SegmentsRecovered == 0 || st.SegmentsRecovered > total-segsBefore+1 {
		t.Fatalf("recovered %d of %d segments (checkpoint at %d, %d segments then)", st.SegmentsRecovered, total, checkpointed, segsBefore)
	}
	l2, _ := m2.Get(tp)
	equalBatches(t, readAllBatches(t, l2), a.batches)
	if l2.LogEndOffset() != a.batches[len(a.batches)-1].NextOffset() {
		t.Fatalf("leo %d", l2.LogEndOffset())
	}
}

func TestManagerCheckpointsRoundTrip(t *testing.T) {
	root := t.TempDir()
	dirs := []string{filepath.Join(root, "a"), filepath.Join(root, "b")}
	m := newTestManager(t, dirs, nil)
	want := map[TopicPartition]struct{ start, hw, leo int64 }{}
	for p := range 4 {
		tp := TopicPartition{"t", int32(p)}
		l, err := m.GetOrCreate(tp, LogConfig{}, [16]byte{})
		if err != nil {
			t.Fatal(err)
		}
		fill(t, l, &appended{}, 8+p)
		hw := l.LogEndOffset() - int64(p)
		l.SetHighWatermark(hw)
		start := int64(0)
		if p%2 == 1 {
			// DeleteRecords: a log start inside a segment, which only the
			// log-start-offset checkpoint remembers.
			if start, err = l.DeleteRecordsBefore(hw - 3); err != nil {
				t.Fatal(err)
			}
		}
		want[tp] = struct{ start, hw, leo int64 }{start, hw, l.LogEndOffset()}
	}
	if err := m.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	// Files on disk match the logs, per dir.
	seen := map[TopicPartition]bool{}
	for _, d := range dirs {
		rp, err1 := readOffsetCheckpoint(filepath.Join(d, recoveryPointCheckpointFile))
		ls, err2 := readOffsetCheckpoint(filepath.Join(d, logStartOffsetCheckpointFile))
		hw, err3 := readOffsetCheckpoint(filepath.Join(d, replicationOffsetCheckpointFile))
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatal(err)
		}
		for tp, w := range want {
			l, _ := m.Get(tp)
			if filepath.Dir(l.Dir()) != d {
				if _, ok := hw[tp]; ok {
					t.Fatalf("%v checkpointed in the wrong dir %s", tp, d)
				}
				continue
			}
			seen[tp] = true
			if rp[tp] != l.RecoveryPoint() || hw[tp] != w.hw {
				t.Fatalf("%v: checkpoint rp %d hw %d, log rp %d hw %d", tp, rp[tp], hw[tp], l.RecoveryPoint(), w.hw)
			}
			if s, ok := ls[tp]; !ok || s != w.start {
				t.Fatalf("%v: log start checkpoint %d %v, want %d", tp, s, ok, w.start)
			}
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("only %d partitions checkpointed", len(seen))
	}
	crashManager(t, m)

	m2 := newTestManager(t, dirs, nil)
	for tp, w := range want {
		l, ok := m2.Get(tp)
		if !ok {
			t.Fatalf("%v missing", tp)
		}
		if l.LogStartOffset() < w.start || (w.start > 0 && l.LogStartOffset() != w.start) || l.HighWatermark() != w.hw || l.LogEndOffset() != w.leo {
			t.Fatalf("%v reopened with start %d hw %d leo %d, want %+v", tp, l.LogStartOffset(), l.HighWatermark(), l.LogEndOffset(), w)
		}
	}
}

func TestManagerCorruptCheckpointMeansFullRecovery(t *testing.T) {
	dir := t.TempDir()
	m := newTestManager(t, []string{dir}, nil)
	tp := TopicPartition{"t", 0}
	l, _ := m.GetOrCreate(tp, LogConfig{}, [16]byte{})
	a := &appended{}
	fill(t, l, a, 60)
	if err := m.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	segs := l.NumSegments()
	crashManager(t, m)
	// A torn or garbled checkpoint, plus a leftover temp file.
	path := filepath.Join(dir, recoveryPointCheckpointFile)
	if err := os.WriteFile(path, []byte("0\n1\nt 0 9x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+tmpSuffix, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	m2 := newTestManager(t, []string{dir}, nil)
	st := m2.LoadStats()
	if st.SegmentsRecovered != segs {
		t.Fatalf("recovered %d of %d segments after losing the recovery point", st.SegmentsRecovered, segs)
	}
	l2, _ := m2.Get(tp)
	equalBatches(t, readAllBatches(t, l2), a.batches)
	if _, err := os.Stat(path + tmpSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temp file survived Open: %v", err)
	}
	// Open rewrote a valid checkpoint.
	if rp, err := readOffsetCheckpoint(path); err != nil || len(rp) != 1 {
		t.Fatalf("checkpoint after Open: %v %v", rp, err)
	}
}

func TestManagerDeleteAndRecreate(t *testing.T) {
	dir := t.TempDir()
	m := newTestManager(t, []string{dir}, func(c *ManagerConfig) {
		c.DefaultConfig.FileDeleteDelayMs = 50
	})
	m.Start()
	tp := TopicPartition{"doomed.topic", 3}
	l, err := m.GetOrCreate(tp, LogConfig{}, [16]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, l, &appended{}, 40)
	if err := m.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(tp); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Get(tp); ok || len(m.Logs()) != 0 {
		t.Fatal("deleted log still listed")
	}
	if _, err := l.Append(makeBatch(t, 1, 0, 1, 0), AppendOptions{}); !errors.Is(err, ErrLogClosed) {
		t.Fatalf("append to a deleted log: %v", err)
	}
	deleted := func() []string {
		entries, _ := os.ReadDir(dir)
		var out []string
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), deleteDirSuffix) {
				out = append(out, e.Name())
			}
		}
		return out
	}
	if d := deleted(); len(d) != 1 || !strings.HasPrefix(d[0], "doomed.topic-3.") {
		t.Fatalf("renamed dirs %v", d)
	}
	if rp, _ := readOffsetCheckpoint(filepath.Join(dir, recoveryPointCheckpointFile)); len(rp) != 0 {
		t.Fatalf("deleted partition still checkpointed: %v", rp)
	}

	// The same partition works again at once, from offset 0, with a new id.
	l2, err := m.GetOrCreate(tp, LogConfig{}, [16]byte{2})
	if err != nil {
		t.Fatal(err)
	}
	if l2 == l || l2.LogEndOffset() != 0 || l2.NumSegments() != 1 {
		t.Fatalf("recreated log: leo %d segments %d", l2.LogEndOffset(), l2.NumSegments())
	}
	a := &appended{}
	fill(t, l2, a, 3)
	equalBatches(t, readAllBatches(t, l2), a.batches)

	// The renamed directory goes after the delay.
	waitFor(t, func() bool { return len(deleted()) == 0 })

	// Delete again; Close purges the pending removal at once.
	if err := m.Delete(tp); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(tp); err != nil { // nothing to delete
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if d := deleted(); len(d) != 0 {
		t.Fatalf("Close left %v", d)
	}
}

func TestManagerOpenPurgesDeleteDirs(t *testing.T) {
	dir := t.TempDir()
	doomed := filepath.Join(dir, "t-0.0123456789abcdef0123456789abcdef-delete")
	future := filepath.Join(dir, "t-1.0123456789abcdef0123456789abcdef-future")
	for _, d := range []string{doomed, future, filepath.Join(dir, "__cluster_metadata-0")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "00000000000000000000.log"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The crash cut the deletion short before the checkpoints were
	// rewritten: they still name the partition.
	rpPath := filepath.Join(dir, recoveryPointCheckpointFile)
	if err := writeOffsetCheckpoint(rpPath, map[TopicPartition]int64{{"t", 0}: 500}); err != nil {
		t.Fatal(err)
	}
	m := newTestManager(t, []string{dir}, nil)
	if st := m.LoadStats(); st.DeletedDirsPurged != 1 || st.Logs != 0 {
		t.Fatalf("stats %+v", st)
	}
	// A recreated t-0 must not inherit the old recovery point.
	if rp, err := readOffsetCheckpoint(rpPath); err != nil || len(rp) != 0 {
		t.Fatalf("stale checkpoint entry survived Open: %v %v", rp, err)
	}
	if _, err := os.Stat(doomed); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("-delete dir survived: %v", err)
	}
	if _, err := os.Stat(future); err != nil {
		t.Fatalf("-future dir removed: %v", err)
	}
}

func TestManagerRejectsUnknownDirectory(t *testing.T) {
	dir := t.TempDir()
	m := newTestManager(t, []string{dir}, nil)
	l, _ := m.GetOrCreate(TopicPartition{"t", 0}, LogConfig{}, [16]byte{})
	fill(t, l, &appended{}, 5)
	crashManager(t, m)
	if err := os.Mkdir(filepath.Join(dir, "lost+found"), 0o755); err != nil {
		t.Fatal(err)
	}
	m2, err := NewManager(ManagerConfig{Dirs: []string{dir}, DefaultConfig: smallConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Open(context.Background()); !errors.Is(err, ErrInvalidPartitionDir) || !strings.Contains(err.Error(), "lost+found") {
		t.Fatalf("Open = %v", err)
	}
	if _, err := m2.GetOrCreate(TopicPartition{"t", 1}, LogConfig{}, [16]byte{}); !errors.Is(err, ErrManagerState) {
		t.Fatalf("GetOrCreate after failed Open: %v", err)
	}
	if err := m2.Close(); err != nil {
		t.Fatal(err)
	}
	// A failed Open never marks the dir clean.
	if _, err := os.Stat(filepath.Join(dir, cleanShutdownFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("marker written after a failed Open: %v", err)
	}
}

func TestManagerLocksDirs(t *testing.T) {
	dir := t.TempDir()
	newTestManager(t, []string{dir}, nil)
	m2, err := NewManager(ManagerConfig{Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if err := m2.Open(context.Background()); !errors.Is(err, ErrLogDirLocked) {
		t.Fatalf("second Open = %v", err)
	}
	if _, err := NewManager(ManagerConfig{Dirs: []string{dir, dir + "/"}}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("duplicate dirs: %v", err)
	}
}

func TestManagerConcurrentGetOrCreate(t *testing.T) {
	root := t.TempDir()
	m := newTestManager(t, []string{filepath.Join(root, "a"), filepath.Join(root, "b")}, nil)
	tp := TopicPartition{"race", 0}
	const n = 16
	logs := make([]*Log, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			l, err := m.GetOrCreate(tp, LogConfig{}, [16]byte{9})
			if err != nil {
				t.Error(err)
			}
			logs[i] = l
		})
	}
	close(start)
	wg.Wait()
	for _, l := range logs {
		if l != logs[0] || l == nil {
			t.Fatal("concurrent GetOrCreate returned different logs")
		}
	}
	if got := m.Logs(); len(got) != 1 {
		t.Fatalf("Logs() = %v", got)
	}
	if _, err := m.GetOrCreate(tp, LogConfig{}, [16]byte{8}); !errors.Is(err, ErrInconsistentTopicID) {
		t.Fatalf("other topic id: %v", err)
	}
	if _, err := m.GetOrCreate(TopicPartition{"../escape", 0}, LogConfig{}, [16]byte{}); !errors.Is(err, ErrInvalidPartitionDir) {
		t.Fatalf("bad topic name: %v", err)
	}
}

func TestManagerConcurrentCreateDelete(t *testing.T) {
	dir := t.TempDir()
	m := newTestManager(t, []string{dir}, nil)
	m.Start()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 16 {
				tp := TopicPartition{"churn", int32(i % 3)}
				if (i+w)%2 == 0 {
					l, err := m.GetOrCreate(tp, LogConfig{}, [16]byte{})
					if err != nil {
						t.Error(err)
						return
					}
					// The log may be deleted by another worker meanwhile.
					if _, err := l.Append(makeBatch(t, 2, 0, 10, byte(i)), AppendOptions{}); err != nil && !errors.Is(err, ErrLogClosed) {
						t.Error(err)
						return
					}
				} else if err := m.Delete(tp); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2 := newTestManager(t, []string{dir}, nil)
	if st := m2.LoadStats(); st.SegmentsRecovered != 0 || st.Logs != len(m2.Logs()) {
		t.Fatalf("reopen after churn: %+v", st)
	}
}

func TestManagerRetentionLoop(t *testing.T) {
	dir := t.TempDir()
	clk := newTestClock()
	cfg := smallConfig()
	cfg.RetentionMs = time.Hour.Milliseconds()
	m := newTestManager(t, []string{dir}, func(c *ManagerConfig) {
		c.DefaultConfig = cfg
		c.Clock = clk.Now
		c.RetentionCheckInterval = 5 * time.Millisecond
	})
	tp := TopicPartition{"old", 0}
	l, _ := m.GetOrCreate(tp, LogConfig{}, [16]byte{})
	a := &appended{}
	a.add(t, l, 60, 4, 60, clk.Ms())
	l.SetHighWatermark(l.LogEndOffset())
	segs := l.NumSegments()
	if segs < 3 {
		t.Fatalf("%d segments", segs)
	}
	m.Start()
	time.Sleep(30 * time.Millisecond) // several retention runs: nothing is old yet
	if l.NumSegments() != segs {
		t.Fatalf("retention deleted young segments: %d -> %d", segs, l.NumSegments())
	}
	clk.Advance(2 * time.Hour)
	waitFor(t, func() bool { return l.NumSegments() == 1 && l.LogStartOffset() == l.LogEndOffset() })
	// The files go too, through the manager's scheduler.
	waitFor(t, func() bool {
		entries, _ := os.ReadDir(l.Dir())
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), deletedSuffix) || strings.HasSuffix(e.Name(), logSuffix) && e.Name() != segmentFileName(l.LogEndOffset(), logSuffix) {
				return false
			}
		}
		return true
	})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// The new log start offset is implied by the only segment; a reopen
	// keeps it.
	m2 := newTestManager(t, []string{dir}, nil)
	l2, _ := m2.Get(tp)
	if l2.LogStartOffset() != l.LogEndOffset() || l2.LogEndOffset() != l.LogEndOffset() {
		t.Fatalf("reopened start %d end %d, want %d", l2.LogStartOffset(), l2.LogEndOffset(), l.LogEndOffset())
	}
}

func TestManagerFlushLoop(t *testing.T) {
	dir := t.TempDir()
	clk := newTestClock()
	cfg := smallConfig()
	cfg.FlushMs = 1000
	m := newTestManager(t, []string{dir}, func(c *ManagerConfig) {
		c.DefaultConfig = cfg
		c.Clock = clk.Now
		c.FlushCheckInterval = 5 * time.Millisecond
		c.RecoveryCheckpointInterval = 5 * time.Millisecond
	})
	l, _ := m.GetOrCreate(TopicPartition{"f", 0}, LogConfig{}, [16]byte{})
	(&appended{}).add(t, l, 3, 4, 60, clk.Ms())
	m.Start()
	time.Sleep(30 * time.Millisecond)
	if l.RecoveryPoint() != 0 {
		t.Fatalf("flushed before flush.ms: recovery point %d", l.RecoveryPoint())
	}
	clk.Advance(2 * time.Second)
	waitFor(t, func() bool { return l.RecoveryPoint() == l.LogEndOffset() })
	// The recovery-point checkpoint loop catches up too.
	waitFor(t, func() bool {
		rp, err := readOffsetCheckpoint(filepath.Join(dir, recoveryPointCheckpointFile))
		return err == nil && rp[TopicPartition{"f", 0}] == l.LogEndOffset()
	})
}

func TestManagerLifecycleErrors(t *testing.T) {
	dir := t.TempDir()
	m, err := NewManager(ManagerConfig{Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	m.Start() // before Open: ignored
	if _, err := m.GetOrCreate(TopicPartition{"t", 0}, LogConfig{}, [16]byte{}); !errors.Is(err, ErrManagerState) {
		t.Fatalf("GetOrCreate before Open: %v", err)
	}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Open(context.Background()); !errors.Is(err, ErrManagerState) {
		t.Fatalf("second Open: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); !errors.Is(err, ErrManagerClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := m.GetOrCreate(TopicPartition{"t", 0}, LogConfig{}, [16]byte{}); !errors.Is(err, ErrManagerClosed) {
		t.Fatalf("GetOrCreate after Close: %v", err)
	}
	if err := m.SetConfig(TopicPartition{"t", 0}, smallConfig()); !errors.Is(err, ErrUnknownPartition) {
		t.Fatalf("SetConfig: %v", err)
	}
	if _, err := NewManager(ManagerConfig{}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("no dirs: %v", err)
	}

	// A cancelled context stops loading and leaves the dir as it was.
	m2 := newTestManager(t, []string{dir}, nil)
	l, _ := m2.GetOrCreate(TopicPartition{"t", 0}, LogConfig{}, [16]byte{})
	fill(t, l, &appended{}, 3)
	if err := m2.SetConfig(TopicPartition{"t", 0}, smallConfig()); err != nil {
		t.Fatal(err)
	}
	if err := m2.Close(); err != nil {
		t.Fatal(err)
	}
	m3, _ := NewManager(ManagerConfig{Dirs: []string{dir}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m3.Open(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a cancelled context: %v", err)
	}
	m3.Close()
	if _, err := os.Stat(filepath.Join(dir, cleanShutdownFile)); err != nil {
		t.Fatalf("cancelled Open removed the marker: %v", err)
	}
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline (never a timing assertion: only a hang detector).
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestManagerMarkStrayKeepsData takes a log out of service without deleting
// it: the data stays on disk under a "-stray" name that a later Open leaves
// alone, and the partition can be created again at once.
func TestManagerMarkStrayKeepsData(t *testing.T) {
	dir := t.TempDir()
	m := newTestManager(t, []string{dir}, nil)
	tp := TopicPartition{"orphan", 0}
	l, err := m.GetOrCreate(tp, LogConfig{}, [16]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	a := &appended{}
	fill(t, l, a, 5)
	if err := m.MarkStray(tp); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Get(tp); ok || len(m.Logs()) != 0 {
		t.Fatal("stray log still listed")
	}
	stray := func() []string {
		entries, _ := os.ReadDir(dir)
		var out []string
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), strayDirSuffix) {
				out = append(out, e.Name())
			}
		}
		return out
	}
	s := stray()
	if len(s) != 1 || !strings.HasPrefix(s[0], "orphan-0.") {
		t.Fatalf("stray dirs %v", s)
	}
	// Its data is intact: open the renamed directory as a log.
	kept := openTestLog(t, filepath.Join(dir, s[0]), smallConfig(), OpenOptions{})
	equalBatches(t, readAllBatches(t, kept), a.batches)
	kept.Close()

	l2, err := m.GetOrCreate(tp, LogConfig{}, [16]byte{2})
	if err != nil || l2.LogEndOffset() != 0 {
		t.Fatalf("recreated after stray: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2 := newTestManager(t, []string{dir}, nil)
	if logs := m2.Logs(); len(logs) != 1 || logs[0] != tp {
		t.Fatalf("reopened manager loaded %v, want only the recreated %v", logs, tp)
	}
	if len(stray()) != 1 {
		t.Fatal("reopen removed the stray dir")
	}
}
