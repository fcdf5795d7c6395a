package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// AppendOrigin says who is appending, which decides how much Append
// checks and whether it assigns offsets (Kafka's AppendOrigin).
type AppendOrigin int8

const (
	// OriginClient is a producer's batch: fully validated (record.Validate),
	// base offset must be 0, offsets, leader epoch and (if configured)
	// LogAppendTime assigned by the log. Control batches are refused.
	OriginClient AppendOrigin = iota
	// OriginCoordinator is the broker's own write (group and transaction
	// coordinators, transaction markers): validated like a client batch
	// but control batches are allowed.
	OriginCoordinator
	// OriginReplication is a follower copying its leader's batches: offsets
	// and epochs are already assigned; Append checks CRCs and that offsets
	// increase and start at or above the log end offset, and stores the
	// bytes unchanged.
	OriginReplication
)

func (o AppendOrigin) String() string {
	switch o {
	case OriginClient:
		return "client"
	case OriginCoordinator:
		return "coordinator"
	case OriginReplication:
		return "replication"
	}
	return fmt.Sprintf("origin(%d)", int8(o))
}

// OpenOptions carries what the log manager knows about a partition
// directory from its checkpoint files and the clean-shutdown marker.
type OpenOptions struct {
	// RecoveryPoint is the partition's entry in
	// recovery-point-offset-checkpoint: everything below it was fsynced.
	// 0 if unknown (recover everything).
	RecoveryPoint int64
	// LogStartOffset is the entry in log-start-offset-checkpoint; 0 if
	// unknown. It may be ahead of the first segment (DeleteRecords);
	// segments wholly below it are deleted.
	LogStartOffset int64
	// HighWatermark is the entry in replication-offset-checkpoint; 0 if
	// unknown. It is clamped to [log start, log end].
	HighWatermark int64
	// CleanShutdown is set when the log dir had Kafka's clean-shutdown
	// marker: indexes are trusted (after a cheap sanity check) and nothing
	// is scanned but the tail of the active segment after its last index
	// entry.
	CleanShutdown bool
	// TopicID, if non-zero, is written to partition.metadata (or checked
	// against it: a different id is ErrInconsistentTopicID).
	TopicID [16]byte
	// Clock returns the current time; nil means time.Now. It drives
	// LogAppendTime, segment.ms, retention.ms and flush.ms.
	Clock func() time.Time
	// Logger receives recovery and retention messages; nil discards them.
	Logger *slog.Logger
	// ScheduleDelete, if set, is how the log asks its owner to run fn
	// (close and remove a deleted segment's files) after delay
	// (file.delete.delay.ms). The owner must run every scheduled fn
	// eventually, even after Close. If nil, the log uses its own timers,
	// and Close runs any still pending at once.
	ScheduleDelete func(delay time.Duration, fn func())
	// ProducerIDExpirationMs is producer.id.expiration.ms (a broker
	// setting): RemoveExpiredProducers drops producers idle this long.
	// 0 means DefaultProducerIDExpirationMs.
	ProducerIDExpirationMs int64
	// CleanerOffset is the partition's entry in cleaner-offset-checkpoint
	// (0 if none): everything below it was written by the log cleaner,
	// whose cleaned segments may end well before the next segment's base
	// (compaction removes offsets). Recovery's gap rule does not apply
	// to a segment followed by one starting at or below it.
	CleanerOffset int64
}

// LoadStats describes what Open did, for logs, metrics and tests (a
// clean open must scan nothing).
type LoadStats struct {
	Segments          int   // segments in the log after Open
	SegmentsRecovered int   // segments scanned batch by batch with CRC checks
	BytesScanned      int64 // bytes read by those scans
	BytesTruncated    int64 // bytes cut off as torn or corrupt
	SegmentsDropped   int   // segments deleted after a corruption or behind the log start
	// SegmentsSetAside counts segments renamed to .deleted because they
	// started inside the recovered data of the segment before them:
	// leftovers of a truncation whose directory update was lost.
	SegmentsSetAside int
	IndexesRebuilt   int // segments recovered because an index was missing or inconsistent
	SwapsCompleted   int // .swap files renamed into place
	// ProducerBatchesScanned counts batch headers read to rebuild the
	// producer state above the snapshot Open loaded (0 after a clean
	// shutdown, which loads the snapshot at the log end offset).
	ProducerBatchesScanned int
}

// Log is one partition's log, in one directory: a list of segments, the
// last of them active, plus the leader epoch cache and partition.metadata.
//
// A Log is safe for concurrent use. Appends, rolls, truncations and
// retention are serialized by appendMu; reads never take it. An append
// publishes with atomics after its write(2) (index entries, then the
// segment size, then the log end offset), so it never waits for a reader.
// Readers take mu shared while they locate bytes (index lookups and a few
// header reads), which only structural changes wait for: roll, truncation,
// retention and Close take mu exclusively for their short switch-over.
// fsync happens under neither lock: flushes are serialized by flushMu,
// which the append path never waits for. Lock order: appendMu, then
// flushMu, then mu.
type Log struct {
	dir     string
	logger  *slog.Logger
	clock   func() time.Time
	cfg     atomic.Pointer[LogConfig]
	epochs  *epochCache
	topicID [16]byte // set during Open, then read-only
	stats   LoadStats
	sched   func(time.Duration, func())

	appendMu sync.Mutex
	flushMu  sync.Mutex
	pstate   *producerState // guarded by appendMu (see producerstate.go)
	pidExpMs int64          // producer.id.expiration.ms, read-only

	mu       sync.RWMutex
	segments []*segment // guarded by mu: ascending base offsets, last is active
	closed   bool       // guarded by mu

	// Offsets are written under mu (exclusive) and read anywhere.
	leo           atomic.Int64
	logStart      atomic.Int64
	hw            atomic.Int64
	unstable      atomic.Int64 // first unstable offset set by SetLastStableOffset, -1 if none
	recoveryPoint atomic.Int64
	lastFlushMs   atomic.Int64
	dirDirty      atomic.Bool // a file was created, renamed or removed since the last dir fsync
	// failure is the fsync error that failed the log, nil while healthy.
	// Set once, under flushMu; read anywhere. Once set the recovery point
	// never moves again and every mutating call returns ErrLogFailed.
	failure atomic.Pointer[fsyncError]

	delMu   sync.Mutex
	pending map[*pendingDelete]struct{} // guarded by delMu: own-timer deletions not yet run
	delWG   sync.WaitGroup              // own-timer deletions running

	bgMu     sync.Mutex
	bgClosed bool           // guarded by bgMu: no new background flushes
	bg       sync.WaitGroup // flush-on-roll goroutines

	// cleanMu serializes cleanings of this log (see cleaner_log.go); a
	// cleaning takes appendMu and mu only for each group's swap.
	cleanMu sync.Mutex
	// cleanAborts counts the callers (truncation, deletion) waiting for
	// cleanMu to change what a cleaning in progress read: while it is
	// non-zero a cleaning stops at its next batch or swap
	// (ErrCleaningAborted), as Kafka's abortAndPauseCleaning makes it.
	cleanAborts atomic.Int32
	// cleanGen counts the changes abortCleaning let through: a cleaning
	// whose dirty section was computed under an older generation (before
	// it took cleanMu) starts over, since a truncation may have moved the
	// bounds it was computed from.
	cleanGen atomic.Uint64
	// deleteHorizon is the earliest delete horizon (ms) still pending
	// in the log, 0 if none: the last cleaning's
	// CleanStats.NextDeleteHorizonMs, or after an open the header scan's
	// (recoverDeleteHorizon). Once it has passed, the cleaner cleans the
	// log again to drop the expired tombstones and markers (KIP-534).
	deleteHorizon atomic.Int64
	// horizonKnown is set once deleteHorizon describes the log's
	// segments: by a cleaning or by recoverDeleteHorizon (set under
	// cleanMu). Until then the cleaner scans the cleaned section's batch
	// headers for it, once per Log.
	horizonKnown atomic.Bool
}

func (l *Log) config() LogConfig { return *l.cfg.Load() }

func (l *Log) nowMs() int64 { return l.clock().UnixMilli() }

// Dir returns the partition directory.
func (l *Log) Dir() string { return l.dir }

// TopicID returns the topic id recorded in partition.metadata, if any.
func (l *Log) TopicID() ([16]byte, bool) { return l.topicID, l.topicID != [16]byte{} }

// LoadStats reports what Open did.
func (l *Log) LoadStats() LoadStats { return l.stats }

// Config returns the log's current configuration.
func (l *Log) Config() LogConfig { return l.config() }

// SetConfig replaces the configuration (AlterConfigs). It takes effect for
// the next append, roll, flush check and retention run; existing segments
// keep their index sizes.
func (l *Log) SetConfig(cfg LogConfig) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	l.cfg.Store(&cfg)
	return nil
}

// LogStartOffset returns the first offset a reader may ask for.
func (l *Log) LogStartOffset() int64 { return l.logStart.Load() }

// LogEndOffset returns the offset the next appended record will get.
func (l *Log) LogEndOffset() int64 { return l.leo.Load() }

// HighWatermark returns the offset up to which consumers may read.
func (l *Log) HighWatermark() int64 { return l.hw.Load() }

// LastStableOffset returns the offset up to which read_committed
// consumers may read: the first unstable offset set by
// SetLastStableOffset, capped at the high watermark (Kafka's
// lastStableOffset), or the high watermark when none is set.
func (l *Log) LastStableOffset() int64 {
	hw := l.hw.Load()
	if u := l.unstable.Load(); u >= 0 && u < hw {
		return max(u, l.logStart.Load())
	}
	return hw
}

// RecoveryPoint returns the offset below which everything is fsynced.
func (l *Log) RecoveryPoint() int64 { return l.recoveryPoint.Load() }

// Failed reports whether an fsync of the log's files failed (see
// ErrLogFailed). The manager writes no clean-shutdown marker for a dir
// holding a failed log, so the next start recovers it by scanning.
func (l *Log) Failed() bool { return l.failure.Load() != nil }

// failedErr returns an error wrapping ErrLogFailed and naming the fsync
// that failed, or nil while the log is healthy.
func (l *Log) failedErr() error {
	if fe := l.failure.Load(); fe != nil {
		return fmt.Errorf("%w: %s: %w", ErrLogFailed, l.dir, fe)
	}
	return nil
}

// fail records err, an fsync failure, as the log's failure (the first one
// wins) and returns it wrapped in ErrLogFailed. The caller holds flushMu,
// so no flush that started before can still move the recovery point.
func (l *Log) fail(err error) error {
	var fe *fsyncError
	if !errors.As(err, &fe) {
		return err
	}
	if l.failure.CompareAndSwap(nil, fe) {
		l.logger.Error("fsync failed; the log refuses writes and flushes until a restart recovers it", "dir", l.dir, "err", err)
	}
	return l.failedErr()
}

// LastFlushTime returns when the log was last flushed (or opened).
func (l *Log) LastFlushTime() time.Time { return time.UnixMilli(l.lastFlushMs.Load()) }

// SetHighWatermark moves the high watermark, clamped to [log start, log
// end], and returns the value set. A single node sets it to the log end
// offset after each append; the replica layer does so once the ISR has
// the data.
//
// It takes no lock: a truncation racing with it lowers the log end offset
// first, and the loop below re-clamps until the stored value is within
// the bounds it saw after storing.
func (l *Log) SetHighWatermark(hw int64) int64 {
	for {
		old := l.hw.Load()
		v := max(min(hw, l.leo.Load()), l.logStart.Load())
		if !l.hw.CompareAndSwap(old, v) {
			continue
		}
		if v <= l.leo.Load() {
			return v
		}
	}
}

// SetLastStableOffset records the first offset of the earliest open
// transaction (the transaction state drives it); -1 clears it, making the
// last stable offset equal the high watermark again.
func (l *Log) SetLastStableOffset(firstUnstable int64) {
	if firstUnstable < 0 {
		firstUnstable = -1
	}
	l.unstable.Store(firstUnstable)
}

// Size returns the bytes of all segments.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var n int64
	for _, s := range l.segments {
		n += s.size.Load()
	}
	return n
}

// NumSegments returns the number of segments.
func (l *Log) NumSegments() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.segments)
}

// SegmentBaseOffsets returns the base offset of every segment, oldest
// first.
func (l *Log) SegmentBaseOffsets() []int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]int64, len(l.segments))
	for i, s := range l.segments {
		out[i] = s.base
	}
	return out
}

// LeaderEpochs returns a copy of the leader epoch cache.
func (l *Log) LeaderEpochs() []EpochEntry { return l.epochs.snapshot() }

// LatestEpoch returns the newest leader epoch in the cache.
func (l *Log) LatestEpoch() (int32, bool) {
	e, ok := l.epochs.latest()
	return e.Epoch, ok
}

// AssignLeaderEpoch records that leader epoch epoch starts at the log end
// offset, as Kafka's Partition.makeLeader does on a new leader epoch
// (UnifiedLog.maybeAssignEpochStartOffset). Without it an epoch is only
// known once a batch stamped with it is appended, so a new leader with no
// data yet in its epoch would answer OffsetForLeaderEpoch for the current
// epoch with (-1, -1) and fence followers that send it as LastFetchedEpoch.
// An epoch equal to the latest cached one changes nothing; an epoch older
// than it is refused with ErrStaleLeaderEpoch (Kafka would silently drop
// the newer entries, discarding history a follower may still need; a
// leader can only go backwards through a metadata bug). The entry is
// persisted to the leader-epoch-checkpoint before AssignLeaderEpoch
// returns. Negative epochs are invalid.
func (l *Log) AssignLeaderEpoch(epoch int32) error {
	if epoch < 0 {
		return fmt.Errorf("%w: leader epoch %d is negative", ErrStaleLeaderEpoch, epoch)
	}
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return ErrLogClosed
	}
	if err := l.failedErr(); err != nil {
		return err
	}
	if latest, ok := l.epochs.latest(); ok {
		if epoch == latest.Epoch {
			return nil
		}
		if epoch < latest.Epoch {
			return fmt.Errorf("%w: leader epoch %d is older than the log's latest %d (from offset %d)",
				ErrStaleLeaderEpoch, epoch, latest.Epoch, latest.StartOffset)
		}
	}
	if !l.epochs.assign(epoch, l.leo.Load()) {
		return nil
	}
	if err := l.epochs.persist(); err != nil {
		return fmt.Errorf("write leader epoch checkpoint: %w", err)
	}
	return nil
}

// EndOffsetForEpoch answers OffsetForLeaderEpoch: for the requested
// epoch, the largest epoch <= it that the log knows and the offset where
// the next epoch starts (the log end offset for the latest epoch), or
// (UndefinedEpoch, UndefinedEpochOffset).
func (l *Log) EndOffsetForEpoch(epoch int32) (int32, int64) {
	return l.epochs.endOffsetFor(epoch, l.leo.Load())
}

// floorSegmentLocked returns the index of the last segment whose base is
// <= offset, or -1. The caller holds mu.
func (l *Log) floorSegmentLocked(offset int64) int {
	i := sort.Search(len(l.segments), func(i int) bool { return l.segments[i].base > offset })
	return i - 1
}

// Close trims the active segment's indexes and preallocated space, flushes
// everything, closes every file and runs any deletions still pending on
// the log's own timers. The log is unusable afterwards; a
// ReadResult obtained earlier can no longer be copied. A failed log
// (ErrLogFailed) is not flushed; its files are still closed and the
// failure is returned.
func (l *Log) Close() error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.mu.RLock()
	closed := l.closed
	l.mu.RUnlock()
	if closed {
		return ErrLogClosed
	}
	// Finish the active segment first (final time index entry, trimmed
	// files) so that the flush makes the trimmed state durable: the
	// clean-shutdown marker written after Close vouches for it.
	err := l.finishSegment(l.segments[len(l.segments)-1])
	if l.failure.Load() == nil {
		// The snapshot at the log end offset lets the next clean open
		// load the producer state without reading the log.
		if e := l.writeSnapshotLocked(l.leo.Load(), true); err == nil {
			err = e
		}
	}
	if e := l.flushTo(l.leo.Load(), true); err == nil {
		err = e
	}
	l.stopBackground()
	l.flushMu.Lock()
	l.mu.Lock()
	for _, s := range l.segments {
		if e := s.close(); e != nil && err == nil {
			err = e
		}
	}
	l.closed = true
	l.mu.Unlock()
	l.flushMu.Unlock()
	l.runPendingDeletes()
	return err
}

// stopBackground refuses new background flushes and waits for running
// ones.
func (l *Log) stopBackground() {
	l.bgMu.Lock()
	l.bgClosed = true
	l.bgMu.Unlock()
	l.bg.Wait()
}

// Delete closes the log and removes its directory and everything in it
// (DeleteTopics, or a replica removed from this broker). Pending segment
// deletions run first.
func (l *Log) Delete() error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.stopBackground()
	l.flushMu.Lock()
	l.mu.Lock()
	if !l.closed {
		for _, s := range l.segments {
			s.closeFiles()
		}
		l.closed = true
	}
	l.mu.Unlock()
	l.flushMu.Unlock()
	l.runPendingDeletes()
	if err := os.RemoveAll(l.dir); err != nil {
		return fmt.Errorf("delete log %s: %w", l.dir, err)
	}
	return nil
}

// pendingDelete is one segment deletion waiting for file.delete.delay.ms
// on the log's own timer.
type pendingDelete struct {
	once  sync.Once
	timer *time.Timer
	fn    func()
}

// scheduleDelete arranges for fn to run after delay, through the owner's
// scheduler if one was given, else on a timer of the log's own.
func (l *Log) scheduleDelete(delay time.Duration, fn func()) {
	if l.sched != nil {
		l.sched(delay, fn)
		return
	}
	p := &pendingDelete{fn: fn}
	l.delMu.Lock()
	if l.pending == nil {
		l.pending = make(map[*pendingDelete]struct{})
	}
	l.pending[p] = struct{}{}
	l.delWG.Add(1)
	p.timer = time.AfterFunc(delay, func() { l.runDelete(p) })
	l.delMu.Unlock()
}

func (l *Log) runDelete(p *pendingDelete) {
	p.once.Do(func() {
		defer l.delWG.Done()
		p.fn()
		l.delMu.Lock()
		delete(l.pending, p)
		l.delMu.Unlock()
	})
}

// runPendingDeletes runs every own-timer deletion now and waits for any
// already running.
func (l *Log) runPendingDeletes() {
	l.delMu.Lock()
	ps := make([]*pendingDelete, 0, len(l.pending))
	for p := range l.pending {
		ps = append(ps, p)
	}
	l.delMu.Unlock()
	for _, p := range ps {
		p.timer.Stop()
		l.runDelete(p)
	}
	l.delWG.Wait()
}
