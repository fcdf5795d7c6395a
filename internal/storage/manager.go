package storage

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrManagerClosed is returned by Manager methods after Close.
var ErrManagerClosed = errors.New("storage: log manager closed")

// ErrManagerState marks a Manager call made out of order: Open twice, or
// GetOrCreate, Delete or Start before Open.
var ErrManagerState = errors.New("storage: log manager not opened, or opened twice")

// ErrLogDirLocked marks a log dir another Manager (this process or
// another broker) holds. Kafka: "Failed to acquire lock on file .lock".
var ErrLogDirLocked = errors.New("storage: log dir in use by another broker")

// Kafka's defaults for the ManagerConfig intervals left zero.
const (
	defaultRecoveryThreadsPerDir           = 2               // num.recovery.threads.per.data.dir (Kafka 4, KIP-1030)
	defaultRetentionCheckInterval          = 5 * time.Minute // log.retention.check.interval.ms
	defaultRecoveryCheckpointInterval      = time.Minute     // log.flush.offset.checkpoint.interval.ms
	defaultStartOffsetCheckpointInterval   = time.Minute     // log.flush.start.offset.checkpoint.interval.ms
	defaultHighWatermarkCheckpointInterval = 5 * time.Second // replica.high.watermark.checkpoint.interval.ms
	kafkaMetadataTopic                     = "__cluster_metadata"
)

// ManagerConfig configures a Manager. Zero intervals take Kafka's
// defaults; negative ones disable that background task.
type ManagerConfig struct {
	// Dirs are the log dirs (log.dirs). Each is created if missing.
	Dirs []string
	// RecoveryThreadsPerDir bounds how many partitions of one log dir are
	// loaded (and closed) at once (num.recovery.threads.per.data.dir,
	// default 2).
	RecoveryThreadsPerDir int
	// FlushCheckInterval is how often logs are checked against their
	// flush.ms (log.flush.scheduler.interval.ms). Kafka's default is
	// Long.MaxValue, i.e. never, so zero disables the check here too.
	FlushCheckInterval time.Duration
	// ProducerIDExpirationMs is producer.id.expiration.ms: producers idle
	// this long are forgotten on the retention check (0: 86400000).
	ProducerIDExpirationMs int64
	// RetentionCheckInterval is how often retention runs
	// (log.retention.check.interval.ms, default 5 minutes).
	RetentionCheckInterval time.Duration
	// RecoveryCheckpointInterval is how often recovery-point-offset-checkpoint
	// is written (log.flush.offset.checkpoint.interval.ms, default 60 s).
	RecoveryCheckpointInterval time.Duration
	// StartOffsetCheckpointInterval is how often log-start-offset-checkpoint
	// is written (log.flush.start.offset.checkpoint.interval.ms, default 60 s).
	StartOffsetCheckpointInterval time.Duration
	// HighWatermarkCheckpointInterval is how often replication-offset-checkpoint
	// is written (replica.high.watermark.checkpoint.interval.ms, default 5 s).
	HighWatermarkCheckpointInterval time.Duration
	// DefaultConfig is the broker-level log config; a zero value means
	// DefaultLogConfig(). Its FileDeleteDelayMs (log.segment.delete.delay.ms)
	// is also how long a deleted partition's directory is kept.
	DefaultConfig LogConfig
	// ConfigFor returns a topic's effective config when Open loads its
	// partitions; nil means DefaultConfig for every topic.
	ConfigFor func(topic string) LogConfig
	// Logger receives load, retention and deletion messages; nil discards.
	Logger *slog.Logger
	// Clock is handed to every Log (segment.ms, retention.ms, flush.ms)
	// and drives the flush check; nil means time.Now. The background
	// tasks themselves run on real-time tickers.
	Clock func() time.Time
	// Cleaner configures the log cleaner (compaction, cleaner*.go); the
	// zero value disables it.
	Cleaner CleanerConfig
}

// ManagerLoadStats describes what Manager.Open did.
type ManagerLoadStats struct {
	Logs              int // partition logs loaded
	CleanDirs         int // log dirs that had the clean-shutdown marker
	DeletedDirsPurged int // leftover "-delete" partition directories removed
	// LoadStats sums the per-log statistics (a clean open scans nothing).
	LoadStats
}

// Manager owns the log dirs of one broker, as Kafka's LogManager does: it
// loads every partition directory at start (recovering after an unclean
// shutdown), creates and deletes partition logs, runs the background
// flush, retention and checkpoint tasks, delays file deletions, and on
// Close leaves every dir clean (flushed, checkpointed, marked).
//
// A Manager is safe for concurrent use. Life cycle: NewManager, Open,
// Start, then Close (Close is also valid after a failed Open or without
// Start).
type Manager struct {
	cfg    ManagerConfig
	logger *slog.Logger
	clock  func() time.Time
	sched  *deleteScheduler
	stop   chan struct{}
	wg     sync.WaitGroup // background goroutines
	ops    sync.WaitGroup // Open, GetOrCreate and Delete calls in flight; Close waits

	mu      sync.Mutex
	dirs    []*logDir                   // guarded by mu; set by Open, then read-only
	logs    map[TopicPartition]*logSlot // guarded by mu
	opened  bool                        // guarded by mu
	started bool                        // guarded by mu
	closed  bool                        // guarded by mu
	stats   ManagerLoadStats            // guarded by mu

	cleaner *cleaner // the log cleaner's state (cleaner.go); set by NewManager
}

// logDir is one configured log dir.
type logDir struct {
	path string   // cleaned absolute path
	lock *os.File // the flocked .lock file; nil once released
	// ckptMu serializes checkpoint writes in this dir (they share temp
	// files) and orders them with deletions: a writer snapshots the
	// partitions while holding it. Lock order: ckptMu, then Manager.mu.
	// A truncation (Manager.TruncateTo) checkpoints while it holds its
	// Log's appendMu and flushMu, so a checkpoint writer must never wait
	// for those (it reads offsets atomically and takes Log.mu shared).
	ckptMu sync.Mutex
}

// logSlot is a partition's entry in the manager. While a log is being
// created or deleted, its slot has a nil log and an open done channel;
// callers that need the partition wait on done and look again.
type logSlot struct {
	log  *Log          // guarded by Manager.mu; nil while being created or deleted
	dir  *logDir       // immutable
	done chan struct{} // closed once creation or deletion has settled
}

var settled = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// NewManager checks cfg and returns a Manager that has not touched the
// disk yet; Open loads the dirs.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if len(cfg.Dirs) == 0 {
		return nil, fmt.Errorf("%w: no log dirs", ErrInvalidConfig)
	}
	seen := map[string]bool{}
	for i, d := range cfg.Dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("log dir %q: %w", d, err)
		}
		if seen[abs] {
			return nil, fmt.Errorf("%w: duplicate log dir %s", ErrInvalidConfig, abs)
		}
		seen[abs] = true
		cfg.Dirs[i] = abs
	}
	cfg.Dirs = slices.Clone(cfg.Dirs)
	if cfg.DefaultConfig == (LogConfig{}) {
		cfg.DefaultConfig = DefaultLogConfig()
	}
	if err := cfg.DefaultConfig.validate(); err != nil {
		return nil, err
	}
	if cfg.RecoveryThreadsPerDir <= 0 {
		cfg.RecoveryThreadsPerDir = defaultRecoveryThreadsPerDir
	}
	orDefault := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	orDefault(&cfg.RetentionCheckInterval, defaultRetentionCheckInterval)
	orDefault(&cfg.RecoveryCheckpointInterval, defaultRecoveryCheckpointInterval)
	orDefault(&cfg.StartOffsetCheckpointInterval, defaultStartOffsetCheckpointInterval)
	orDefault(&cfg.HighWatermarkCheckpointInterval, defaultHighWatermarkCheckpointInterval)
	m := &Manager{
		cfg:    cfg,
		logger: cfg.Logger,
		clock:  cfg.Clock,
		sched:  newDeleteScheduler(),
		stop:   make(chan struct{}),
		logs:   map[TopicPartition]*logSlot{},
	}
	m.cleaner = newCleaner(cfg.Cleaner)
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	if m.clock == nil {
		m.clock = time.Now
	}
	return m, nil
}

// Dirs returns the log dirs as absolute paths, in configuration order.
func (m *Manager) Dirs() []string { return slices.Clone(m.cfg.Dirs) }

// configFor returns the config to load topic's partitions with.
func (m *Manager) configFor(topic string) LogConfig {
	if m.cfg.ConfigFor != nil {
		return m.cfg.ConfigFor(topic)
	}
	return m.cfg.DefaultConfig
}

// openOptions returns the options every log of the manager opens with;
// slot is the owner of the log's delayed deletions.
func (m *Manager) openOptions(slot *logSlot) OpenOptions {
	return OpenOptions{
		ProducerIDExpirationMs: m.cfg.ProducerIDExpirationMs,
		Clock:                  m.clock,
		Logger:                 m.logger,
		ScheduleDelete: func(delay time.Duration, fn func()) {
			m.sched.schedule(slot, delay, fn)
		},
	}
}

// LoadStats reports what Open did.
func (m *Manager) LoadStats() ManagerLoadStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// Get returns the partition's log, if the manager has it.
func (m *Manager) Get(tp TopicPartition) (*Log, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.logs[tp]; s != nil && s.log != nil {
		return s.log, true
	}
	return nil, false
}

// Logs returns every partition the manager has a log for, sorted by
// topic and partition.
func (m *Manager) Logs() []TopicPartition {
	m.mu.Lock()
	tps := make([]TopicPartition, 0, len(m.logs))
	for tp, s := range m.logs {
		if s.log != nil {
			tps = append(tps, tp)
		}
	}
	m.mu.Unlock()
	slices.SortFunc(tps, compareTP)
	return tps
}

func compareTP(a, b TopicPartition) int {
	return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
}

// SetConfig changes a partition's log config (AlterConfigs). It returns
// ErrUnknownPartition if the manager has no log for tp.
func (m *Manager) SetConfig(tp TopicPartition, cfg LogConfig) error {
	l, ok := m.Get(tp)
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownPartition, tp)
	}
	return l.SetConfig(cfg)
}

// ErrUnknownPartition marks a call about a partition the manager has no
// log for. Kafka: UNKNOWN_TOPIC_OR_PARTITION (or NOT_LEADER_OR_FOLLOWER,
// depending on the caller).
var ErrUnknownPartition = errors.New("storage: no log for partition")

// GetOrCreate returns the partition's log, creating it if the manager has
// none. A new log's directory goes in the log dir holding the fewest
// partitions (ties: the first in Dirs), as Kafka places them. cfg is the
// new log's config (a zero LogConfig means the manager's config for the
// topic); for an existing log it is ignored (use SetConfig). topicID, if
// non-zero, is recorded in the new log's partition.metadata; an existing
// log recorded with a different topic id is ErrInconsistentTopicID.
// Concurrent calls for one partition create one log; a call racing with
// Delete of the same partition waits for the deletion and then creates
// a fresh log.
func (m *Manager) GetOrCreate(tp TopicPartition, cfg LogConfig, topicID [16]byte) (*Log, error) {
	if err := tp.validate(); err != nil {
		return nil, err
	}
	for {
		m.mu.Lock()
		if err := m.usableLocked(); err != nil {
			m.mu.Unlock()
			return nil, err
		}
		if s := m.logs[tp]; s != nil {
			l := s.log
			m.mu.Unlock()
			if l == nil {
				<-s.done // being created or deleted: look again once settled
				continue
			}
			if have, ok := l.TopicID(); ok && topicID != ([16]byte{}) && have != topicID {
				return nil, fmt.Errorf("%w: %s holds topic %s, not %s", ErrInconsistentTopicID, tp, TopicIDString(have), TopicIDString(topicID))
			}
			return l, nil
		}
		s := &logSlot{dir: m.leastLoadedDirLocked(), done: make(chan struct{})}
		m.logs[tp] = s
		m.ops.Add(1)
		m.mu.Unlock()

		l, err := m.createLog(tp, s, cfg, topicID)
		m.mu.Lock()
		if err != nil {
			delete(m.logs, tp)
		} else {
			s.log = l
		}
		m.mu.Unlock()
		close(s.done)
		m.ops.Done()
		return l, err
	}
}

// usableLocked reports whether the manager accepts partition calls.
func (m *Manager) usableLocked() error {
	switch {
	case m.closed:
		return ErrManagerClosed
	case !m.opened:
		return ErrManagerState
	}
	return nil
}

// leastLoadedDirLocked returns the log dir with the fewest partitions
// (counting those being created), Kafka's nextLogDirs.
func (m *Manager) leastLoadedDirLocked() *logDir {
	counts := make(map[*logDir]int, len(m.dirs))
	for _, s := range m.logs {
		counts[s.dir]++
	}
	best := m.dirs[0]
	for _, d := range m.dirs[1:] {
		if counts[d] < counts[best] {
			best = d
		}
	}
	return best
}

func (m *Manager) createLog(tp TopicPartition, s *logSlot, cfg LogConfig, topicID [16]byte) (*Log, error) {
	if cfg == (LogConfig{}) {
		cfg = m.configFor(tp.Topic)
	}
	path := filepath.Join(s.dir.path, tp.String())
	_, statErr := os.Stat(path)
	fresh := errors.Is(statErr, fs.ErrNotExist)
	opts := m.openOptions(s)
	opts.TopicID = topicID
	l, err := Open(path, cfg, opts)
	if err != nil {
		if fresh {
			m.sched.runOwner(s)
			if rmErr := os.RemoveAll(path); rmErr != nil {
				m.logger.Warn("removing directory of a partition that failed to create", "dir", path, "err", rmErr)
			}
		}
		return nil, fmt.Errorf("create log for %s: %w", tp, err)
	}
	if fresh {
		// The new directory entry must survive a crash before anything is
		// acknowledged from it.
		if err := syncDir(s.dir.path); err != nil {
			l.Close()
			return nil, fmt.Errorf("create log for %s: %w", tp, err)
		}
	}
	m.logger.Info("created log", "partition", tp.String(), "dir", path)
	return l, nil
}

// Delete removes a partition's log as Kafka's asyncDelete does: the log
// is closed, its directory renamed to "<topic>-<partition>.<uuid>-delete"
// at once (so the same partition can be created again right away), the
// dir's checkpoints rewritten without it, and the renamed directory
// removed after log.segment.delete.delay.ms (DefaultConfig's
// FileDeleteDelayMs). Deleting a partition the manager has no log for
// does nothing.
func (m *Manager) Delete(tp TopicPartition) error { return m.remove(tp, false) }

// MarkStray takes a partition's log out of service without deleting it: the
// log is closed and its directory renamed to "<topic>-<partition>.<uuid>-stray",
// which Open leaves alone, as Kafka does with replicas the metadata no longer
// assigns to this broker. The data stays on disk for an operator to inspect
// or remove; a partition of the same name can be created at once. Marking an
// unknown partition does nothing.
func (m *Manager) MarkStray(tp TopicPartition) error { return m.remove(tp, true) }

func (m *Manager) remove(tp TopicPartition, stray bool) error {
	for {
		m.mu.Lock()
		if err := m.usableLocked(); err != nil {
			m.mu.Unlock()
			return err
		}
		s := m.logs[tp]
		if s == nil {
			m.mu.Unlock()
			return nil
		}
		if s.log == nil {
			m.mu.Unlock()
			<-s.done
			continue
		}
		hold := &logSlot{dir: s.dir, done: make(chan struct{})}
		m.logs[tp] = hold
		m.ops.Add(1)
		m.mu.Unlock()

		err := m.deleteLog(tp, s, stray)
		m.mu.Lock()
		if m.logs[tp] == hold {
			delete(m.logs, tp)
		}
		m.mu.Unlock()
		close(hold.done)
		m.ops.Done()
		return err
	}
}

func (m *Manager) deleteLog(tp TopicPartition, s *logSlot, stray bool) error {
	l := s.log
	dir := l.Dir()
	// Stop a cleaning of it first and keep the cleaner out until the
	// directory is renamed: a cleaning writes .cleaned and .swap files by
	// path, which after the rename may be a new log of the partition. Its
	// cleaner checkpoint goes with it.
	release := l.abortCleaning()
	defer release()
	m.cleaner.forget(tp)
	// Close before renaming: an open Log writes by path (rolls, the epoch
	// checkpoint), and after the rename its old path may belong to a new
	// log of the same partition.
	if err := l.Close(); err != nil && !errors.Is(err, ErrLogClosed) {
		m.logger.Warn("closing deleted log", "partition", tp.String(), "err", err)
	}
	// Its pending segment deletions name files under the old path too.
	m.sched.runOwner(s)
	if stray {
		target := filepath.Join(s.dir.path, strayDirName(tp))
		if err := os.Rename(dir, target); err != nil {
			return fmt.Errorf("mark log for %s stray: %w", tp, err)
		}
		if err := syncDir(s.dir.path); err != nil {
			m.logger.Warn("fsync log dir after marking a log stray", "dir", s.dir.path, "err", err)
		}
		if err := m.checkpointDir(s.dir, allCheckpoints); err != nil {
			m.logger.Error("writing checkpoints after marking a log stray", "dir", s.dir.path, "err", err)
		}
		m.logger.Warn("marked log stray; its data is kept", "partition", tp.String(), "renamedTo", target)
		return nil
	}
	target := filepath.Join(s.dir.path, deleteDirName(tp))
	if err := os.Rename(dir, target); err != nil {
		m.logger.Error("renaming deleted log; removing it now", "partition", tp.String(), "err", err)
		if rmErr := os.RemoveAll(dir); rmErr != nil {
			return fmt.Errorf("delete log for %s: %w", tp, errors.Join(err, rmErr))
		}
		target = ""
	}
	if err := syncDir(s.dir.path); err != nil {
		m.logger.Warn("fsync log dir after deleting a log", "dir", s.dir.path, "err", err)
	}
	// Kafka rewrites the checkpoints at once, so a partition recreated
	// under the same name never inherits the old one's recovery point.
	if err := m.checkpointDir(s.dir, allCheckpoints); err != nil {
		m.logger.Error("writing checkpoints after deleting a log", "dir", s.dir.path, "err", err)
	}
	if target != "" {
		delay := time.Duration(m.cfg.DefaultConfig.FileDeleteDelayMs) * time.Millisecond
		m.sched.schedule(nil, delay, func() {
			if err := os.RemoveAll(target); err != nil {
				m.logger.Error("removing deleted log directory", "dir", target, "err", err)
			}
		})
	}
	m.logger.Info("deleted log", "partition", tp.String(), "renamedTo", target)
	return nil
}

// logEntry is a partition and its log, as the background tasks see them.
type logEntry struct {
	tp  TopicPartition
	log *Log
	dir *logDir
}

// snapshot returns the live logs (all dirs if d is nil).
func (m *Manager) snapshot(d *logDir) []logEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]logEntry, 0, len(m.logs))
	for tp, s := range m.logs {
		if s.log != nil && (d == nil || s.dir == d) {
			out = append(out, logEntry{tp, s.log, s.dir})
		}
	}
	return out
}

// The checkpoint files the manager writes.
type checkpointSet uint8

const (
	ckptRecoveryPoint checkpointSet = 1 << iota
	ckptLogStart
	ckptHighWatermark
	ckptCleaner    // cleaner-offset-checkpoint (cleaner.go)
	allCheckpoints = ckptRecoveryPoint | ckptLogStart | ckptHighWatermark | ckptCleaner
)

// checkpointDir writes the chosen checkpoint files of one log dir from
// the current state of its logs.
func (m *Manager) checkpointDir(d *logDir, which checkpointSet) error {
	d.ckptMu.Lock()
	defer d.ckptMu.Unlock()
	logs := m.snapshot(d)
	var errs []error
	if which&ckptRecoveryPoint != 0 {
		offsets := make(map[TopicPartition]int64, len(logs))
		for _, e := range logs {
			offsets[e.tp] = e.log.RecoveryPoint()
		}
		errs = append(errs, writeOffsetCheckpoint(filepath.Join(d.path, recoveryPointCheckpointFile), offsets))
	}
	if which&ckptLogStart != 0 {
		// Every log's start offset. Kafka writes only those ahead of the
		// first segment (DeleteRecords), the others being implied by the
		// segments; but a segment removal whose directory update a power
		// loss took back (retention, TruncateFullyAndStartAt restarting a
		// log ahead of its old end) brings back segments below the start,
		// and only this file then tells Open they lie wholly below it
		// (Open drops them rather than serve them, or treat the new
		// segment after them as following lost data).
		offsets := make(map[TopicPartition]int64, len(logs))
		for _, e := range logs {
			offsets[e.tp] = e.log.LogStartOffset()
		}
		errs = append(errs, writeOffsetCheckpoint(filepath.Join(d.path, logStartOffsetCheckpointFile), offsets))
	}
	if which&ckptHighWatermark != 0 {
		offsets := make(map[TopicPartition]int64, len(logs))
		for _, e := range logs {
			offsets[e.tp] = e.log.HighWatermark()
		}
		errs = append(errs, writeOffsetCheckpoint(filepath.Join(d.path, replicationOffsetCheckpointFile), offsets))
	}
	if which&ckptCleaner != 0 {
		errs = append(errs, writeOffsetCheckpoint(cleanerCheckpointPath(d), m.cleaner.checkpointOffsets(logs)))
	}
	return errors.Join(errs...)
}

// Checkpoint writes the recovery-point, log-start-offset and
// replication-offset (high watermark) checkpoints of every log dir now.
// The background tasks do this periodically; callers use it after
// changes they want durable at once.
func (m *Manager) Checkpoint() error {
	m.mu.Lock()
	dirs := m.dirs
	m.mu.Unlock()
	var errs []error
	for _, d := range dirs {
		errs = append(errs, m.checkpointDir(d, allCheckpoints))
	}
	return errors.Join(errs...)
}

func (m *Manager) checkpointAll(which checkpointSet) {
	m.mu.Lock()
	dirs := m.dirs
	m.mu.Unlock()
	for _, d := range dirs {
		if err := m.checkpointDir(d, which); err != nil {
			m.logger.Error("writing checkpoint", "dir", d.path, "err", err)
		}
	}
}

// Start launches the background tasks: the flush check (flush.ms), the
// retention check, the three checkpoint writers and the delayed-deletion
// scheduler. Deletions scheduled before Start wait for it (or for Close).
// Calls before Open, after Close, or a second time do nothing.
func (m *Manager) Start() {
	m.mu.Lock()
	if !m.opened || m.started || m.closed {
		m.mu.Unlock()
		return
	}
	m.started = true
	m.mu.Unlock()
	m.wg.Go(func() { m.sched.run(m.stop) })
	m.every(m.cfg.FlushCheckInterval, m.flushDirtyLogs)
	m.every(m.cfg.RetentionCheckInterval, m.cleanupLogs)
	m.every(m.cfg.RecoveryCheckpointInterval, func() { m.checkpointAll(ckptRecoveryPoint) })
	m.every(m.cfg.StartOffsetCheckpointInterval, func() { m.checkpointAll(ckptLogStart) })
	m.every(m.cfg.HighWatermarkCheckpointInterval, func() { m.checkpointAll(ckptHighWatermark) })
	m.startCleaner()
}

// every runs fn every d until Close; d <= 0 disables it.
func (m *Manager) every(d time.Duration, fn func()) {
	if d <= 0 {
		return
	}
	m.wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				fn()
			}
		}
	})
}

// flushDirtyLogs fsyncs every log whose flush.ms has passed since its
// last flush (Kafka's flushDirtyLogs).
func (m *Manager) flushDirtyLogs() {
	now := m.clock()
	for _, e := range m.snapshot(nil) {
		if !e.log.FlushDue(now) {
			continue
		}
		if err := e.log.Flush(); err != nil && !errors.Is(err, ErrLogClosed) {
			m.logger.Error("flushing log", "partition", e.tp.String(), "err", err)
		}
	}
}

// cleanupLogs applies retention to every log (Kafka's cleanupLogs); each
// Log decides from its own cleanup.policy, retention.ms and
// retention.bytes what may go.
func (m *Manager) cleanupLogs() {
	total := 0
	for _, e := range m.snapshot(nil) {
		e.log.RemoveExpiredProducers()
		n, err := e.log.DeleteOldSegments()
		// A failed log logged its failure once when it happened.
		if err != nil && !errors.Is(err, ErrLogClosed) && !errors.Is(err, ErrLogFailed) {
			m.logger.Error("applying retention", "partition", e.tp.String(), "err", err)
		}
		total += n
	}
	if total > 0 {
		m.logger.Info("retention deleted segments", "segments", total)
	}
}

// Close stops the background tasks, flushes and closes every log, writes
// every checkpoint, runs the pending delayed deletions, and then marks
// each log dir whose logs all closed cleanly with the clean-shutdown
// marker, so the next Open scans nothing there. A dir holding a failed
// log (ErrLogFailed) gets its checkpoints but no marker, so the next Open
// recovers it by scanning; that is logged, not returned, since the
// failure was reported when it happened. The logs are unusable
// afterwards. A second Close returns ErrManagerClosed.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrManagerClosed
	}
	m.closed = true
	m.mu.Unlock()
	close(m.stop)
	m.wg.Wait()
	m.ops.Wait() // GetOrCreate, Delete and Open calls in flight
	m.mu.Lock()
	dirs, opened := m.dirs, m.opened
	m.mu.Unlock()

	errs := make([]error, len(dirs))
	failed := make([][]TopicPartition, len(dirs))
	if opened {
		var wg sync.WaitGroup
		for i, d := range dirs {
			wg.Go(func() { failed[i], errs[i] = m.closeDir(d) })
		}
		wg.Wait()
	}
	m.sched.shutdown()
	for i, d := range dirs {
		if len(failed[i]) > 0 {
			m.logger.Error("not marking log dir clean: an fsync failed, the next start recovers it by scanning", "dir", d.path, "failedLogs", len(failed[i]), "first", failed[i][0].String())
		}
		// After a failed Open the logs were never all loaded, and a
		// failed log's data may not be on disk: no marker.
		if opened && errs[i] == nil && len(failed[i]) == 0 {
			errs[i] = writeFileAtomic(filepath.Join(d.path, cleanShutdownFile), []byte(`{"version":0,"brokerEpoch":-1}`))
		}
		if d.lock != nil {
			if err := unlockLogDir(d.lock); err != nil && errs[i] == nil {
				errs[i] = err
			}
			d.lock = nil
		}
	}
	return errors.Join(errs...)
}

// closeDir flushes and closes the logs of one dir, RecoveryThreadsPerDir
// at a time, and writes its checkpoints. It returns the partitions whose
// log had failed (ErrLogFailed): their files are closed and their frozen
// recovery points are still safe to checkpoint, but the dir must not be
// marked clean.
func (m *Manager) closeDir(d *logDir) ([]TopicPartition, error) {
	logs := m.snapshot(d)
	errs := make([]error, len(logs))
	m.parallel(len(logs), func(i int) {
		err := logs[i].log.Close()
		if logs[i].log.Failed() || errors.Is(err, ErrLogClosed) {
			return // a failed log's Close reports the failure; see below
		}
		if err != nil {
			errs[i] = fmt.Errorf("close log %s: %w", logs[i].tp, err)
		}
	})
	var failed []TopicPartition
	for _, e := range logs {
		if e.log.Failed() {
			failed = append(failed, e.tp)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return failed, err
	}
	return failed, m.checkpointDir(d, allCheckpoints)
}

// parallel runs fn(0..n-1) on RecoveryThreadsPerDir goroutines and waits.
func (m *Manager) parallel(n int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(m.cfg.RecoveryThreadsPerDir, n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
