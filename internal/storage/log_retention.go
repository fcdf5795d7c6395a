package storage

import (
	"errors"
	"fmt"
	"time"
)

// DeleteRecordsBefore advances the log start offset to offset (the
// DeleteRecords API; -1 means the high watermark) and deletes the segments
// that then lie wholly below it. offset must not exceed the high
// watermark (ErrOffsetOutOfRange). It returns the new log start offset
// (the partition's low watermark).
func (l *Log) DeleteRecordsBefore(offset int64) (int64, error) {
	l.appendMu.Lock()
	if l.closed {
		l.appendMu.Unlock()
		return 0, ErrLogClosed
	}
	if err := l.failedErr(); err != nil {
		l.appendMu.Unlock()
		return 0, err
	}
	hw := l.hw.Load()
	if offset == -1 {
		offset = hw
	}
	if offset < 0 || offset > hw {
		l.appendMu.Unlock()
		return 0, fmt.Errorf("%w: cannot delete records before %d, high watermark is %d", ErrOffsetOutOfRange, offset, hw)
	}
	var err error
	if offset > l.logStart.Load() {
		l.mu.Lock()
		l.logStart.Store(offset)
		l.mu.Unlock()
		if l.epochs.truncateFromStart(offset) {
			err = l.epochs.persist()
		}
		err = errors.Join(err, l.deleteSnapshotsBelowStart())
	}
	_, rolled, derr := l.deleteSegmentsLocked(l.startOffsetBreached)
	start := l.logStart.Load()
	l.appendMu.Unlock()
	for _, b := range rolled {
		l.flushAsync(b)
	}
	return start, errors.Join(err, derr)
}

// DeleteOldSegments applies retention (Kafka's UnifiedLog.deleteOldSegments):
// segments wholly below the log start offset always; with the delete
// cleanup policy also, oldest first, segments while the log exceeds
// retention.bytes by at least their size, and segments whose largest
// timestamp is older than retention.ms. Only segments wholly below the
// high watermark are deleted, and an empty active segment never is; if
// every segment must go, a new empty active segment is rolled first. The
// log start offset moves to the first remaining segment. Files are renamed
// to .deleted and removed after file.delete.delay.ms. The manager's
// retention loop calls this.
func (l *Log) DeleteOldSegments() (int, error) {
	l.appendMu.Lock()
	if l.closed {
		l.appendMu.Unlock()
		return 0, ErrLogClosed
	}
	if err := l.failedErr(); err != nil {
		l.appendMu.Unlock()
		return 0, err
	}
	cfg := l.config()
	var rolled []int64
	total := 0
	run := func(pred func(s, next *segment) bool) error {
		n, r, err := l.deleteSegmentsLocked(pred)
		total += n
		rolled = append(rolled, r...)
		return err
	}
	err := run(l.startOffsetBreached)
	if err == nil && cfg.Delete && cfg.RetentionBytes >= 0 {
		if size := l.Size(); size >= cfg.RetentionBytes {
			diff := size - cfg.RetentionBytes
			err = run(func(s, _ *segment) bool {
				if size := s.size.Load(); diff-size >= 0 {
					diff -= size
					return true
				}
				return false
			})
		}
	}
	if err == nil && cfg.Delete && cfg.RetentionMs >= 0 {
		now := l.nowMs()
		err = run(func(s, _ *segment) bool {
			ts := s.largestTimestamp()
			if now < ts {
				l.logger.Warn("segment has future timestamps; not deleting it by time", "base", s.base, "largestTimestamp", ts)
			}
			return now-ts > cfg.RetentionMs
		})
	}
	l.appendMu.Unlock()
	for _, b := range rolled {
		l.flushAsync(b)
	}
	return total, err
}

// startOffsetBreached is the log-start retention rule: the next segment
// starts at or below the log start offset.
func (l *Log) startOffsetBreached(s, next *segment) bool {
	return next != nil && next.base <= l.logStart.Load()
}

// deleteSegmentsLocked is Kafka's deletableSegments plus deleteSegments:
// from the oldest segment on, while pred holds and the segment lies wholly
// below the high watermark, collect segments (never a last, empty one);
// roll first if that is every segment; remove them from the log, advance
// the log start offset, and schedule their files' removal. The caller
// holds the append lock.
func (l *Log) deleteSegmentsLocked(pred func(s, next *segment) bool) (n int, rolled []int64, err error) {
	hw, leo := l.hw.Load(), l.leo.Load()
	var deletable []*segment
	for i, s := range l.segments {
		var next *segment
		upper := leo
		if i+1 < len(l.segments) {
			next = l.segments[i+1]
			upper = next.base
		}
		lastAndEmpty := next == nil && s.size.Load() == 0
		if !(hw >= upper && pred(s, next)) || lastAndEmpty {
			break
		}
		deletable = append(deletable, s)
	}
	if len(deletable) == 0 {
		return 0, nil, nil
	}
	if len(deletable) == len(l.segments) {
		s, err := l.rollLocked(0, l.config(), l.nowMs())
		if err != nil {
			return 0, nil, err
		}
		rolled = append(rolled, s.base)
	}
	newStart := l.segments[len(deletable)].base
	l.mu.Lock()
	l.segments = append([]*segment(nil), l.segments[len(deletable):]...)
	for _, s := range deletable {
		s.deleted.Store(true)
	}
	if newStart > l.logStart.Load() {
		l.logStart.Store(newStart)
	}
	l.mu.Unlock()
	if l.epochs.truncateFromStart(l.logStart.Load()) {
		err = l.epochs.persist()
	}
	err = errors.Join(err, l.deleteSnapshotsBelowStart())
	for _, s := range deletable {
		l.logger.Info("deleting segment", "base", s.base, "size", s.size.Load(), "logStartOffset", l.logStart.Load())
	}
	return len(deletable), rolled, errors.Join(err, l.removeSegments(deletable))
}

// removeSegments renames segments already taken out of the log to
// .deleted and schedules their removal.
func (l *Log) removeSegments(segs []*segment) error {
	err := l.renameSegments(segs)
	l.scheduleRemoval(segs)
	return err
}

// renameSegments renames every file of segs to its .deleted name; open
// descriptors stay valid.
func (l *Log) renameSegments(segs []*segment) error {
	var errs []error
	for _, s := range segs {
		if err := s.renameForDeletion(); err != nil {
			errs = append(errs, fmt.Errorf("rename segment %d for deletion: %w", s.base, err))
		}
	}
	if len(segs) > 0 {
		l.dirDirty.Store(true)
	}
	return errors.Join(errs...)
}

// scheduleRemoval closes and removes segs' files after
// file.delete.delay.ms, so a reader still holding one of them (a
// ReadResult) can finish copying.
func (l *Log) scheduleRemoval(segs []*segment) {
	if len(segs) == 0 {
		return
	}
	doomed := append([]*segment(nil), segs...)
	delay := time.Duration(l.config().FileDeleteDelayMs) * time.Millisecond
	l.scheduleDelete(delay, func() {
		for _, s := range doomed {
			if err := s.removeFiles(); err != nil {
				l.logger.Warn("removing deleted segment files", "base", s.base, "err", err)
			}
		}
	})
}

// deleteSnapshotsBelowStart removes producer snapshots below the log
// start offset (Kafka's deleteSnapshotsBefore). The producers themselves
// stay, as in Kafka since KIP-360, so a producer whose batches were all
// deleted keeps its sequence (until producer.id.expiration.ms). The
// caller holds appendMu.
func (l *Log) deleteSnapshotsBelowStart() error {
	start := l.logStart.Load()
	return l.deleteSnapshots(func(off int64) bool { return off < start })
}

// RemoveExpiredProducers drops the producers without an open transaction
// whose last batch's timestamp is producer.id.expiration.ms or more
// before now (Kafka's removeExpiredProducers, run by the manager's
// periodic check). It returns how many went.
func (l *Log) RemoveExpiredProducers() int {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	return l.pstate.expire(l.nowMs(), l.pidExpMs)
}

// ProducerState returns a copy of the producer state (tests, admin APIs
// such as DescribeProducers).
func (l *Log) ProducerState() map[int64]ProducerEntry {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	out := make(map[int64]ProducerEntry, len(l.pstate.producers))
	for pid, e := range l.pstate.producers {
		out[pid] = *e
	}
	return out
}
