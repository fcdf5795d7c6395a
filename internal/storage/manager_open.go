package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// dirScan is what Open found in one log dir before loading it.
type dirScan struct {
	dir        *logDir
	clean      bool // had the clean-shutdown marker
	recovery   map[TopicPartition]int64
	logStart   map[TopicPartition]int64
	hw         map[TopicPartition]int64
	cleaner    map[TopicPartition]int64 // cleaner-offset-checkpoint
	partitions []partitionDir
	deleted    []string // "-delete" directories to purge
	rewrite    bool     // a checkpoint file was unreadable
}

// staleEntries reports whether a checkpoint names a partition that did
// not load from this dir (its deletion was cut short by a crash before
// the checkpoints were rewritten): a partition created later under that
// name must not inherit the entry.
func (sc *dirScan) staleEntries(logs []loaded) bool {
	here := make(map[TopicPartition]bool, len(logs))
	for _, r := range logs {
		here[r.tp] = true
	}
	for _, offsets := range []map[TopicPartition]int64{sc.recovery, sc.logStart, sc.hw, sc.cleaner} {
		for tp := range offsets {
			if !here[tp] {
				return true
			}
		}
	}
	return false
}

type partitionDir struct {
	tp   TopicPartition
	name string
}

// loaded is one log Open brought up.
type loaded struct {
	tp   TopicPartition
	slot *logSlot
}

// Open creates and locks every log dir and loads every partition
// directory in them, as Kafka's LogManager.loadLogs does:
//
//   - a dir with the clean-shutdown marker opens its logs with
//     CleanShutdown (indexes trusted, nothing scanned); without it each
//     log recovers from its entry in recovery-point-offset-checkpoint (from
//     offset 0 if it has none);
//   - log-start-offset-checkpoint and replication-offset-checkpoint give
//     each log its start offset and high watermark; an unreadable
//     checkpoint file is logged and ignored (a full recovery is slow but
//     never wrong);
//   - "-delete" directories left by an interrupted deletion are removed,
//     "-future" and "-stray" ones are left alone (with a warning), the
//     KRaft metadata log (__cluster_metadata-0) is skipped, leftover
//     "*.tmp" files are removed, and any other directory whose name does
//     not parse as <topic>-<partition> fails Open, as it fails Kafka's
//     startup;
//   - each dir's partitions load RecoveryThreadsPerDir at a time, all dirs
//     at once;
//   - once a dir has loaded, its marker is deleted (durably), so a crash
//     from now on means an unclean start; its checkpoints are rewritten
//     from the loaded state if one was unreadable or names a partition
//     that is not there (a deletion cut short by a crash), so that a
//     partition recreated under that name never inherits its entry.
//
// If any log fails to load, or ctx is cancelled, Open closes what it
// loaded, leaves the markers in place and returns the error; the Manager
// can then only be closed.
func (m *Manager) Open(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrManagerClosed
	}
	if m.opened || m.dirs != nil {
		m.mu.Unlock()
		return ErrManagerState
	}
	dirs := make([]*logDir, 0, len(m.cfg.Dirs))
	for _, p := range m.cfg.Dirs {
		dirs = append(dirs, &logDir{path: p})
	}
	m.dirs = dirs // Close releases whatever locks get taken below
	m.ops.Add(1)  // a concurrent Close waits for Open to finish
	m.mu.Unlock()
	defer m.ops.Done()

	for _, d := range dirs {
		if err := os.MkdirAll(d.path, 0o755); err != nil {
			return fmt.Errorf("create log dir: %w", err)
		}
		lock, err := lockLogDir(d.path)
		if err != nil {
			return err
		}
		d.lock = lock
	}

	scans := make([]*dirScan, len(dirs))
	owner := map[TopicPartition]string{}
	for i, d := range dirs {
		sc, err := m.scanDir(d)
		if err != nil {
			return err
		}
		for _, p := range sc.partitions {
			if prev, dup := owner[p.tp]; dup {
				return fmt.Errorf("%w: %s is in both %s and %s", ErrInvalidPartitionDir, p.tp, prev, d.path)
			}
			owner[p.tp] = d.path
		}
		scans[i] = sc
	}

	results := make([][]loaded, len(dirs))
	purged := make([]int, len(dirs))
	errs := make([]error, len(dirs))
	var wg sync.WaitGroup
	for i, sc := range scans {
		wg.Go(func() { results[i], purged[i], errs[i] = m.loadDir(ctx, sc) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, rs := range results {
			for _, r := range rs {
				r.slot.log.Close()
				m.sched.runOwner(r.slot)
			}
		}
		return err
	}

	stats := ManagerLoadStats{}
	m.mu.Lock()
	for i, rs := range results {
		for _, r := range rs {
			m.logs[r.tp] = r.slot
			st := r.slot.log.LoadStats()
			stats.Logs++
			stats.Segments += st.Segments
			stats.SegmentsRecovered += st.SegmentsRecovered
			stats.BytesScanned += st.BytesScanned
			stats.BytesTruncated += st.BytesTruncated
			stats.SegmentsDropped += st.SegmentsDropped
			stats.SegmentsSetAside += st.SegmentsSetAside
			stats.IndexesRebuilt += st.IndexesRebuilt
			stats.SwapsCompleted += st.SwapsCompleted
		}
		stats.DeletedDirsPurged += purged[i]
		if scans[i].clean {
			stats.CleanDirs++
		}
	}
	m.stats = stats
	m.opened = true
	m.mu.Unlock()

	var after []error
	for i, sc := range scans {
		if sc.clean {
			err := os.Remove(filepath.Join(sc.dir.path, cleanShutdownFile))
			if err == nil {
				err = syncDir(sc.dir.path)
			}
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				// Without a durable removal a crash would be taken for a
				// clean shutdown: refuse to run on this state.
				after = append(after, fmt.Errorf("remove clean-shutdown marker in %s: %w", sc.dir.path, err))
			}
		}
		// The cleaner checkpoint entries of the logs loaded from this dir
		// (an entry of a partition that did not load is a deleted one's,
		// left by a crash before the checkpoints were rewritten, and a
		// partition created later under that name must start uncleaned).
		// An entry above its log's recovered end (recovery cut into
		// cleaned data) comes down to it, on disk too, before any append:
		// Open skips the gap rule below it, which data appended after
		// the cut must not escape.
		capped := false
		loadedCk := make(map[TopicPartition]int64, len(results[i]))
		for _, r := range results[i] {
			o, ok := sc.cleaner[r.tp]
			if !ok {
				continue
			}
			if leo := r.slot.log.LogEndOffset(); o > leo {
				o, capped = leo, true
			}
			loadedCk[r.tp] = o
		}
		m.cleaner.loadCheckpoint(loadedCk)
		if sc.rewrite || capped || sc.staleEntries(results[i]) {
			if err := m.checkpointDir(sc.dir, allCheckpoints); err != nil {
				after = append(after, err)
			}
		}
	}
	m.logger.Info("loaded logs", "logs", stats.Logs, "segments", stats.Segments,
		"segmentsRecovered", stats.SegmentsRecovered, "bytesScanned", stats.BytesScanned,
		"bytesTruncated", stats.BytesTruncated, "cleanDirs", stats.CleanDirs)
	return errors.Join(after...)
}

// scanDir reads a log dir's marker and checkpoints and sorts its entries.
func (m *Manager) scanDir(d *logDir) (*dirScan, error) {
	sc := &dirScan{dir: d}
	_, err := os.Stat(filepath.Join(d.path, cleanShutdownFile))
	switch {
	case err == nil:
		sc.clean = true
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	read := func(name string) map[TopicPartition]int64 {
		offsets, err := readOffsetCheckpoint(filepath.Join(d.path, name))
		if err != nil {
			m.logger.Warn("ignoring unreadable checkpoint file", "dir", d.path, "file", name, "err", err)
			sc.rewrite = true
			return map[TopicPartition]int64{}
		}
		return offsets
	}
	sc.recovery = read(recoveryPointCheckpointFile)
	sc.logStart = read(logStartOffsetCheckpointFile)
	sc.hw = read(replicationOffsetCheckpointFile)
	sc.cleaner = read(cleanerOffsetCheckpointFile)
	if !sc.clean {
		m.logger.Info("no clean-shutdown marker; recovering logs from their recovery points", "dir", d.path)
	}

	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() {
			if strings.HasSuffix(name, tmpSuffix) {
				// A checkpoint write interrupted by a crash.
				if err := removeIfExists(filepath.Join(d.path, name)); err != nil {
					return nil, err
				}
			}
			continue
		}
		tp, kind, err := parsePartitionDir(name)
		if err != nil {
			return nil, fmt.Errorf("log dir %s: %w", d.path, err)
		}
		switch {
		case kind == dirDeleted:
			sc.deleted = append(sc.deleted, filepath.Join(d.path, name))
		case kind != dirLive:
			m.logger.Warn("leaving future or stray partition directory alone", "dir", filepath.Join(d.path, name))
		case tp.Topic == kafkaMetadataTopic:
			// The KRaft metadata log is not a partition log.
		default:
			sc.partitions = append(sc.partitions, partitionDir{tp, name})
		}
	}
	return sc, nil
}

// loadDir opens the partitions of one scanned dir and purges its
// "-delete" directories, RecoveryThreadsPerDir at a time.
func (m *Manager) loadDir(ctx context.Context, sc *dirScan) ([]loaded, int, error) {
	nParts := len(sc.partitions)
	out := make([]loaded, nParts)
	errs := make([]error, nParts+len(sc.deleted))
	m.parallel(nParts+len(sc.deleted), func(i int) {
		if err := ctx.Err(); err != nil {
			errs[i] = err
			return
		}
		if i >= nParts {
			path := sc.deleted[i-nParts]
			m.logger.Info("removing partition directory marked for deletion", "dir", path)
			errs[i] = os.RemoveAll(path)
			return
		}
		p := sc.partitions[i]
		slot := &logSlot{dir: sc.dir, done: settled}
		opts := m.openOptions(slot)
		opts.RecoveryPoint = sc.recovery[p.tp]
		opts.LogStartOffset = sc.logStart[p.tp]
		opts.HighWatermark = sc.hw[p.tp]
		opts.CleanShutdown = sc.clean
		opts.CleanerOffset = sc.cleaner[p.tp]
		l, err := Open(filepath.Join(sc.dir.path, p.name), m.configFor(p.tp.Topic), opts)
		if err != nil {
			errs[i] = fmt.Errorf("load %s: %w", p.tp, err)
			return
		}
		slot.log = l
		out[i] = loaded{p.tp, slot}
	})
	var ok []loaded
	for _, r := range out {
		if r.slot != nil {
			ok = append(ok, r)
		}
	}
	purged := 0
	for _, err := range errs[nParts:] {
		if err == nil {
			purged++
		}
	}
	if len(sc.deleted) > 0 {
		if err := syncDir(sc.dir.path); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ok, purged, ctxErr
		}
		return ok, purged, err
	}
	return ok, purged, nil
}
