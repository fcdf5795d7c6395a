package storage

import (
	"errors"
	"fmt"
	"math"

	"github.com/samsa-streaming/samsa/internal/record"
)

// AppendOptions says how to append.
type AppendOptions struct {
	// LeaderEpoch is the appending leader's epoch: stamped on every batch
	// for client and coordinator appends (and recorded in the leader
	// epoch cache); for replication appends it is the follower's current
	// epoch, and batches stamped with a later epoch are dropped, as Kafka
	// does since KAFKA-18723.
	LeaderEpoch int32
	Origin      AppendOrigin
}

// AppendResult describes a successful append.
type AppendResult struct {
	FirstOffset int64 // offset of the first appended record; -1 if nothing was appended
	LastOffset  int64 // offset of the last appended record; -1 if nothing was appended
	// LogAppendTimeMs is the broker time stamped on the batches with
	// message.timestamp.type=LogAppendTime, else -1.
	LogAppendTimeMs int64
	LogStartOffset  int64
	LogEndOffset    int64 // after the append
	NumRecords      int
	// MaxTimestamp is the largest timestamp appended and
	// OffsetOfMaxTimestamp the offset of the first record carrying it
	// (-1 if no record has a timestamp).
	MaxTimestamp         int64
	OffsetOfMaxTimestamp int64
	// Duplicate is set when a client batch repeated one of its idempotent
	// producer's last five batches (a retry): nothing was written, and
	// FirstOffset and LastOffset are those of the original batch, which
	// Kafka acknowledges again.
	Duplicate bool
}

// Append writes whole record batches at the end of the log.
//
// For OriginClient and OriginCoordinator the batches are validated with
// record.Validate against the topic config (a client request must hold
// exactly one batch with base offset 0), then rewritten in place: base
// offsets assigned from the log end offset, the leader epoch stamped, and
// the max timestamp (or LogAppendTime) set. records is modified and then
// written as is — no re-encoding, no copy. For OriginReplication the
// batches' CRCs are checked and their offsets must increase from at least
// the log end offset; a trailing partial batch (as fetch responses may
// end with) is ignored.
//
// Append returns once the bytes are written (not fsynced; see
// flush.messages, FlushUpTo and the manager's flush loop). Errors from
// validation wrap record.ErrCorrupt, record.ErrTooLarge,
// record.ErrInvalid, record.ErrInvalidTimestamp or
// record.ErrUnsupportedCodec; nothing is written then. Append is safe for
// concurrent use; appends are serialized.
func (l *Log) Append(records []byte, opts AppendOptions) (AppendResult, error) {
	l.appendMu.Lock()
	res, rolled, err := l.appendLocked(records, opts)
	l.appendMu.Unlock()
	for _, base := range rolled {
		l.flushAsync(base)
	}
	if err != nil {
		return res, err
	}
	if cfg := l.config(); l.leo.Load()-l.recoveryPoint.Load() >= cfg.FlushMessages {
		if err := l.Flush(); err != nil && !errors.Is(err, ErrLogClosed) {
			return res, fmt.Errorf("flush after append: %w", err)
		}
	}
	return res, nil
}

// flushAsync fsyncs the segments below base in the background, as Kafka
// does after a roll, so the append that rolled does not wait for the old
// segment's fsync. Close waits for it.
func (l *Log) flushAsync(base int64) {
	l.bgMu.Lock()
	defer l.bgMu.Unlock()
	if l.bgClosed {
		return // Close flushes everything itself
	}
	l.bg.Go(func() {
		if err := l.FlushUpTo(base); err != nil && !errors.Is(err, ErrLogClosed) {
			l.logger.Error("flushing rolled segment", "upTo", base, "err", err)
		}
	})
}

// appendLocked is Append under the append lock; rolled lists the base
// offsets of segments created, whose predecessors need a flush.
func (l *Log) appendLocked(records []byte, opts AppendOptions) (res AppendResult, rolled []int64, err error) {
	res = AppendResult{FirstOffset: -1, LastOffset: -1, LogAppendTimeMs: -1, MaxTimestamp: record.NoTimestamp, OffsetOfMaxTimestamp: -1}
	if l.closed {
		return res, nil, ErrLogClosed
	}
	if err := l.failedErr(); err != nil {
		return res, nil, err
	}
	cfg := l.config()
	now := l.nowMs()
	leo := l.leo.Load()
	res.LogStartOffset, res.LogEndOffset = l.logStart.Load(), leo

	data, info, err := l.analyze(records, opts, cfg, now, leo)
	if info.dup {
		l.pstate.discard()
		res.FirstOffset, res.LastOffset, res.Duplicate = info.dupBatch.FirstOffset, info.dupBatch.LastOffset, true
		res.MaxTimestamp, res.OffsetOfMaxTimestamp = info.dupBatch.MaxTimestamp, info.dupBatch.LastOffset
		if cfg.LogAppendTime {
			res.LogAppendTimeMs = info.dupBatch.MaxTimestamp
		}
		return res, nil, nil
	}
	if err != nil || len(data) == 0 {
		l.pstate.discard()
		return res, nil, err
	}
	defer l.pstate.discard() // whatever was not written
	res.FirstOffset, res.LastOffset, res.NumRecords = info.first, info.last, info.numRecords
	res.MaxTimestamp, res.OffsetOfMaxTimestamp = info.maxTs, info.offsetOfMaxTs
	if cfg.LogAppendTime && opts.Origin != OriginReplication {
		res.LogAppendTimeMs = now
	}
	if int64(len(data)) > int64(cfg.SegmentBytes) {
		return res, nil, fmt.Errorf("%w: %d bytes, segment.bytes is %d", ErrRecordBatchTooLarge, len(data), cfg.SegmentBytes)
	}

	// Record new leader epochs before the data, as Kafka does.
	epochChanged := false
	if opts.Origin == OriginReplication {
		for rest := data; len(rest) > 0; {
			b := record.Batch(rest[:record.Batch(rest).Size()])
			epochChanged = l.epochs.assign(b.PartitionLeaderEpoch(), b.BaseOffset()) || epochChanged
			rest = rest[len(b):]
		}
	} else {
		epochChanged = l.epochs.assign(opts.LeaderEpoch, info.first)
	}
	if epochChanged {
		if err := l.epochs.persist(); err != nil {
			return res, nil, fmt.Errorf("write leader epoch checkpoint: %w", err)
		}
	}

	// Write in runs that fit one segment's relative offsets (normally the
	// whole append is one run), rolling first whenever Kafka's
	// shouldRoll says so.
	interval := int64(cfg.IndexIntervalBytes)
	for len(data) > 0 {
		run, runLast, runMaxTs := nextRun(data)
		runFirst := record.Batch(run).BaseOffset()
		active := l.segments[len(l.segments)-1]
		if l.shouldRoll(active, cfg, now, int64(len(run)), runMaxTs, runLast) {
			s, err := l.rollLocked(runFirst, cfg, now)
			if err != nil {
				return res, rolled, err
			}
			if s != active {
				rolled = append(rolled, s.base)
			}
			active = s
		}
		pos := active.size.Load()
		if _, err := active.log.WriteAt(run, pos); err != nil {
			return res, rolled, fmt.Errorf("append to %s: %w", active.log.Name(), err)
		}
		active.fileSize = max(active.fileSize, pos+int64(len(run)))
		if pos == 0 {
			active.rollingTs, active.rollingTsLoaded = runMaxTs, true
		}
		// Publish without the lock readers take: index entries, then the
		// size that makes the bytes readable, then the log end offset.
		if err := active.indexAppended(run, pos, interval); err != nil {
			return res, rolled, err
		}
		active.size.Store(pos + int64(len(run)))
		l.leo.Store(runLast + 1)
		l.pstate.commitUpTo(runLast)
		data = data[len(run):]
	}
	res.LogEndOffset = l.leo.Load()
	return res, rolled, nil
}

// appendInfo summarizes the batches analyze accepted.
type appendInfo struct {
	first, last   int64
	numRecords    int
	maxTs         int64
	offsetOfMaxTs int64
	dup           bool // a client batch repeating dupBatch
	dupBatch      ProducerBatch
}

// analyze validates records for the origin, assigns offsets, epochs and
// timestamps in place for leader appends, and returns the bytes to write
// (records, minus a trailing partial or skipped batches for replication).
func (l *Log) analyze(records []byte, opts AppendOptions, cfg LogConfig, now, leo int64) ([]byte, appendInfo, error) {
	info := appendInfo{first: -1, last: -1, maxTs: record.NoTimestamp, offsetOfMaxTs: -1}
	next := leo
	pos := 0
	for pos < len(records) {
		b, err := record.Peek(records[pos:])
		if err != nil {
			if opts.Origin == OriginReplication && errors.Is(err, record.ErrIncomplete) {
				break // the partial batch a fetch response may end with
			}
			if errors.Is(err, record.ErrIncomplete) {
				err = fmt.Errorf("%w: %w", record.ErrCorrupt, err)
			}
			return nil, info, err
		}
		var n int
		var maxTs, offsetOfMaxTs int64
		switch opts.Origin {
		case OriginClient, OriginCoordinator:
			if opts.Origin == OriginClient {
				if pos > 0 {
					return nil, info, fmt.Errorf("%w: a produce request may carry only one batch per partition", record.ErrInvalid)
				}
				if b.BaseOffset() != 0 {
					return nil, info, fmt.Errorf("%w: the base offset of a produced batch must be 0, not %d", record.ErrInvalid, b.BaseOffset())
				}
			}
			vi, err := record.Validate(b, record.ValidateOptions{
				MaxBatchBytes:        int(cfg.MaxMessageBytes),
				Compacted:            cfg.Compact,
				NowMs:                now,
				TimestampBeforeMaxMs: cfg.TimestampBeforeMaxMs,
				TimestampAfterMaxMs:  cfg.TimestampAfterMaxMs,
				LogAppendTime:        cfg.LogAppendTime,
				AllowControl:         opts.Origin == OriginCoordinator,
			})
			if err != nil {
				return nil, info, err
			}
			if opts.Origin == OriginClient && b.ProducerID() >= 0 {
				if pb, ok := l.pstate.checkDuplicate(b); ok {
					info.dup, info.dupBatch = true, pb
					return nil, info, nil
				}
			}
			shift := next - b.BaseOffset()
			b.SetBaseOffset(next)
			b.SetPartitionLeaderEpoch(opts.LeaderEpoch)
			if cfg.LogAppendTime {
				b.SetLogAppendTime(now)
			} else {
				b.SetMaxTimestamp(vi.MaxTimestamp)
			}
			n, maxTs = int(vi.NumRecords), vi.MaxTimestamp
			offsetOfMaxTs = -1
			if vi.OffsetOfMaxTimestamp >= 0 {
				offsetOfMaxTs = vi.OffsetOfMaxTimestamp + shift
			}
		case OriginReplication:
			if opts.LeaderEpoch >= 0 && b.PartitionLeaderEpoch() > opts.LeaderEpoch {
				l.logger.Info("skipping replicated batches from a later leader epoch", "epoch", b.PartitionLeaderEpoch(), "current", opts.LeaderEpoch)
				records = records[:pos]
				continue
			}
			if err := b.Verify(); err != nil {
				return nil, info, err
			}
			if b.BaseOffset() < next {
				if pos == 0 {
					return nil, info, fmt.Errorf("%w: first offset %d, log end offset %d", ErrUnexpectedAppendOffset, b.BaseOffset(), leo)
				}
				return nil, info, fmt.Errorf("%w: batch at %d follows one ending at %d", ErrOffsetsOutOfOrder, b.BaseOffset(), next-1)
			}
			n, maxTs, offsetOfMaxTs = int(b.NumRecords()), b.MaxTimestamp(), b.LastOffset()
		default:
			return nil, info, fmt.Errorf("%w: unknown append origin %d", record.ErrInvalid, opts.Origin)
		}
		if b.ProducerID() >= 0 {
			if err := l.pstate.stage(b, opts.Origin); err != nil {
				return nil, info, err
			}
		}
		if info.first < 0 {
			info.first = b.BaseOffset()
		}
		info.last = b.LastOffset()
		info.numRecords += n
		if maxTs > info.maxTs {
			info.maxTs, info.offsetOfMaxTs = maxTs, offsetOfMaxTs
		}
		next = b.NextOffset()
		pos += len(b)
	}
	return records[:pos], info, nil
}

// nextRun returns the longest prefix of data (whole batches) whose last
// offset is within math.MaxInt32 of its first batch's base offset (so it
// fits one segment's relative offsets), with its last offset and max
// timestamp.
func nextRun(data []byte) (run []byte, last, maxTs int64) {
	first := record.Batch(data).BaseOffset()
	maxTs = record.NoTimestamp
	pos := 0
	for pos < len(data) {
		b := record.Batch(data[pos : pos+record.Batch(data[pos:]).Size()])
		if pos > 0 && b.LastOffset()-first > math.MaxInt32 {
			break
		}
		last = b.LastOffset()
		maxTs = max(maxTs, b.MaxTimestamp())
		pos += len(b)
	}
	return data[:pos], last, maxTs
}

// shouldRoll is Kafka's LogSegment.shouldRoll for an append of size
// bytes: roll when it would overflow segment.bytes, when the segment has
// spanned segment.ms (less its jitter), when either index is full, or when
// its last offset does not fit the segment's relative offsets. An empty
// segment rolls only for the last reason. Appender only.
func (l *Log) shouldRoll(s *segment, cfg LogConfig, now, size, maxTs, lastOffset int64) bool {
	if !s.offIdx.canAppendOffset(lastOffset) {
		return true
	}
	cur := s.size.Load()
	if cur == 0 {
		return false
	}
	return cur > int64(cfg.SegmentBytes)-size ||
		s.timeWaitedForRoll(now, maxTs) > cfg.SegmentMs-s.jitterMs ||
		s.offIdx.isFull() || s.timeIdx.isFull()
}

// Roll closes the active segment and starts a new one at the log end
// offset, unless the active segment is already empty there. The old
// segment is fsynced in the background.
func (l *Log) Roll() error {
	l.appendMu.Lock()
	if l.closed {
		l.appendMu.Unlock()
		return ErrLogClosed
	}
	if err := l.failedErr(); err != nil {
		l.appendMu.Unlock()
		return err
	}
	before := l.segments[len(l.segments)-1]
	s, err := l.rollLocked(0, l.config(), l.nowMs())
	l.appendMu.Unlock()
	if err == nil && s != before {
		l.flushAsync(s.base)
	}
	return err
}

// rollLocked makes a new active segment at max(expectedNext, log end
// offset) and returns it (Kafka's LocalLog.roll), or returns the active
// segment when it is empty and already based there. The old active
// segment gets its final time index entry and is trimmed (or, if empty,
// is deleted). The caller holds the append lock.
func (l *Log) rollLocked(expectedNext int64, cfg LogConfig, now int64) (*segment, error) {
	newBase := max(expectedNext, l.leo.Load())
	active := l.segments[len(l.segments)-1]
	if active.base == newBase && active.size.Load() == 0 {
		return active, nil
	}
	if active.base >= newBase {
		return nil, fmt.Errorf("storage: cannot roll to offset %d, active segment starts at %d", newBase, active.base)
	}
	// An empty active segment is replaced rather than left behind (a
	// replication append jumping past it): an empty segment followed by a
	// higher base would read as lost data to recovery.
	replace := active.size.Load() == 0
	if !replace {
		if err := l.finishSegment(active); err != nil {
			return nil, err
		}
	}
	s, err := createSegment(l.dir, newBase, cfg, now)
	if err != nil {
		return nil, fmt.Errorf("roll to offset %d: %w", newBase, err)
	}
	// Kafka snapshots the producer state at every new segment's base, so
	// recovery replays at most the segments above the recovery point.
	if err := l.writeSnapshotLocked(newBase, false); err != nil {
		s.closeFiles()
		_ = s.removeFiles()
		return nil, err
	}
	l.mu.Lock()
	if replace {
		l.segments[len(l.segments)-1] = s
		active.deleted.Store(true)
	} else {
		active.deactivateLocked()
		l.segments = append(l.segments, s)
	}
	l.mu.Unlock()
	l.dirDirty.Store(true)
	if replace {
		if err := l.removeSegments([]*segment{active}); err != nil {
			return s, err
		}
	}
	return s, nil
}

// finishSegment is segment.becomeInactive for a live log: the caller
// holds the append lock and then drops the resident indexes with
// deactivateLocked under mu. The segment is marked for the next flush
// only once its files are final (even partly, on an error), so a flush
// that sees the mark syncs everything finishing wrote.
func (l *Log) finishSegment(s *segment) error {
	err := s.becomeInactive()
	s.finishedUnsynced.Store(true)
	return err
}
