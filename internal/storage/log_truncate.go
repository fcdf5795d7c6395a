package storage

import (
	"errors"
	"fmt"
)

// TruncateTo removes every record at or above offset (a follower
// diverging from its leader). Segments based above offset are deleted
// (after file.delete.delay.ms, like retention); the segment holding offset
// is cut at the start of the batch containing offset and becomes the
// active segment again, with its indexes and the leader epoch cache
// truncated to match. The log end offset becomes offset, or the base
// offset of the batch containing offset when offset falls inside a batch
// (Kafka would claim offset, leaving a hole the follower never refetches;
// this way the follower refetches that batch). The log start offset, high
// watermark and recovery point are lowered to the new end if above it.
// Truncating at or beyond the log end offset changes nothing but the
// epoch cache (Kafka drops epochs starting at or after the end).
//
// The truncation is durable when TruncateTo returns, before any later
// append can reach the log: the directory is fsynced once the doomed
// segments are renamed to .deleted and the producer snapshots above the
// new end removed, and then the cut segment's .log, whose new length is
// what later appends build on. Otherwise a power loss after later appends
// were fsynced (a flush syncs the files before the directory) could bring
// the doomed segments back under their old names, overlapping the new
// data with offsets from before the truncation, or a stale snapshot with
// them; or the cut .log could come back at its old length with stale
// batches after the new ones.
//
// The lowered recovery point is only in memory. Inside the broker, callers
// go through Manager.TruncateTo, which also writes it (and the log start
// offset) to the log dir's checkpoint files, before the first file is
// touched and again after, so that a crash at any instant has the next
// start scan everything the truncation touched. A caller using a Log on
// its own owns that checkpoint (OpenOptions.RecoveryPoint).
func (l *Log) TruncateTo(offset int64) error { return l.truncateTo(offset, nil) }

// truncateTo is TruncateTo; checkpoint, if set, makes the in-memory
// recovery point and log start offset durable (the Manager's checkpoint
// files). See truncateWith.
func (l *Log) truncateTo(offset int64, checkpoint func() error) error {
	if offset < 0 {
		return fmt.Errorf("%w: cannot truncate to negative offset %d", ErrOffsetOutOfRange, offset)
	}
	// A truncation that removes data first stops a cleaning in progress
	// and holds off new ones (see abortCleaning); one at or above the end
	// changes no data and does not wait for the cleaner. The end is
	// checked again under appendMu, since appends may have passed offset
	// meanwhile.
	aborted := false
	for {
		if !aborted && offset < l.leo.Load() {
			release := l.abortCleaning()
			defer release()
			aborted = true
		}
		l.appendMu.Lock()
		if l.closed {
			l.appendMu.Unlock()
			return ErrLogClosed
		}
		if err := l.failedErr(); err != nil {
			l.appendMu.Unlock()
			return err
		}
		leo := l.leo.Load()
		if offset >= leo {
			defer l.appendMu.Unlock()
			if l.epochs.truncateFromEnd(leo) {
				return l.epochs.persist()
			}
			return nil
		}
		if aborted {
			break
		}
		l.appendMu.Unlock()
	}
	defer l.appendMu.Unlock()
	return l.truncateWith(offset, checkpoint, func() error {
		if l.segments[0].base > offset {
			return l.truncateFullyLocked(offset)
		}
		return l.truncateInsideLocked(offset)
	})
}

// truncateWith runs a truncation to offset under the flush lock, so that
// no flush moves the recovery point meanwhile. The recovery point is
// first lowered to offset and, if it moved and checkpoint is set,
// checkpointed before truncate touches any file: whatever instant a crash
// comes, the next Open then scans the whole region the truncation
// touches, from the segment holding offset on, where a half-done
// truncation (a cut segment with its doomed successors still present, or
// the reverse) is caught by recovery's gap and overlap rules instead of
// being trusted. Once truncate is done (or failed part way), checkpoint
// runs again to record the final recovery point and log start offset. The
// caller holds appendMu for the whole call, so no append slips in before
// the last checkpoint.
func (l *Log) truncateWith(offset int64, checkpoint func() error, truncate func() error) error {
	l.flushMu.Lock()
	l.mu.Lock()
	lowered := l.recoveryPoint.Load() > offset
	if lowered {
		l.recoveryPoint.Store(offset)
	}
	l.mu.Unlock()
	if lowered && checkpoint != nil {
		if err := checkpoint(); err != nil {
			l.flushMu.Unlock()
			return fmt.Errorf("checkpoint the recovery point before truncating to %d: %w", offset, err)
		}
	}
	err := truncate()
	l.flushMu.Unlock()
	if checkpoint != nil {
		if cerr := checkpoint(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("checkpoint after truncating to %d: %w", offset, cerr))
		}
	}
	return err
}

// truncateInsideLocked is TruncateTo for an offset within the segments:
// the segment holding it is cut and every later one deleted. The caller
// holds appendMu and flushMu.
func (l *Log) truncateInsideLocked(offset int64) error {
	l.mu.Lock()
	i := l.floorSegmentLocked(offset)
	s := l.segments[i]
	doomed := append([]*segment(nil), l.segments[i+1:]...)
	oldSize := s.size.Load()
	newEnd, err := l.truncateSegmentLocked(s, offset)
	if err != nil {
		l.mu.Unlock()
		return err
	}
	l.segments = l.segments[:i+1]
	for _, d := range doomed {
		d.deleted.Store(true)
	}
	l.leo.Store(newEnd)
	l.logStart.Store(min(l.logStart.Load(), newEnd))
	l.recoveryPoint.Store(min(l.recoveryPoint.Load(), newEnd))
	l.hw.Store(min(l.hw.Load(), newEnd))
	l.mu.Unlock()

	err = l.removeSegments(doomed)
	// Producer state as of the new end: snapshots above it go and the
	// state is reloaded from the newest remaining one (Kafka's
	// truncateAndReload).
	if e := l.deleteSnapshots(func(off int64) bool { return off > newEnd }); e != nil && err == nil {
		err = e
	}
	var cut *segment
	if s.size.Load() < oldSize {
		cut = s
	}
	if e := l.syncTruncationLocked(cut); e != nil {
		return errors.Join(err, e)
	}
	l.mu.RLock()
	if e := l.rebuildProducerStateLocked(); e != nil && err == nil {
		err = e
	}
	l.mu.RUnlock()
	if l.epochs.truncateFromEnd(newEnd) {
		if perr := l.epochs.persist(); err == nil {
			err = perr
		}
	}
	return err
}

// syncTruncationLocked makes a truncation's file changes durable before
// the truncation returns (see TruncateTo): first the directory (segments
// renamed to .deleted, snapshots removed, a segment created), then cut's
// .log (its new length), if a segment was cut. The directory goes first
// so that, even where the recovery point was not checkpointed, a power
// loss in between leaves the doomed segments gone and the cut segment
// whole or cut, both prefixes of what was written. A failed fsync fails
// the log (ErrLogFailed). The caller holds appendMu and flushMu.
func (l *Log) syncTruncationLocked(cut *segment) error {
	l.dirDirty.Store(false)
	if err := syncDir(l.dir); err != nil {
		l.dirDirty.Store(true)
		return l.fail(err)
	}
	if cut != nil {
		if err := fsync(cut.log, cut.log.Name()); err != nil {
			return l.fail(err)
		}
	}
	return nil
}

// truncateSegmentLocked cuts s at the batch holding offset, makes it the
// active segment, and returns the new log end offset. The caller holds
// the append and flush locks and mu for writing.
func (l *Log) truncateSegmentLocked(s *segment, offset int64) (int64, error) {
	cfg := l.config()
	size := s.size.Load()
	r := newHeaderReader(s.log, size)
	pos, h, found, err := s.findBatch(r, offset)
	newSize, newEnd := size, offset
	if err == nil && found {
		newSize = pos
		newEnd = min(offset, h.BaseOffset())
	}
	r.release()
	if err != nil {
		return 0, err
	}
	if err := s.offIdx.truncateTo(newEnd); err != nil {
		return 0, err
	}
	if err := s.timeIdx.truncateTo(newEnd); err != nil {
		return 0, err
	}
	if err := s.txnIdx.truncateTo(newEnd); err != nil {
		return 0, err
	}
	if newSize < s.fileSize {
		if err := s.log.Truncate(newSize); err != nil {
			return 0, fmt.Errorf("truncate %s: %w", s.log.Name(), err)
		}
		s.fileSize = newSize
	}
	s.size.Store(newSize)
	if err := s.activate(cfg); err != nil {
		return 0, err
	}
	if err := s.recomputeMaxTimestampLocked(); err != nil {
		return 0, err
	}
	s.bytesSinceIndex = 0
	s.rollingTs, s.rollingTsLoaded = -1, false
	if newSize == 0 {
		s.createdMs, s.rollingTsLoaded = l.nowMs(), true
	}
	return newEnd, nil
}

// recomputeMaxTimestampLocked is Kafka's readLargestTimestamp after a
// truncation: the time index's last entry, then a scan of the batches
// after its position for anything later.
func (s *segment) recomputeMaxTimestampLocked() error {
	maxTs, offOfMax := s.timeIdx.lastTs, s.timeIdx.lastOff
	if s.timeIdx.count() == 0 {
		maxTs, offOfMax = -1, s.base
	}
	_, pos, err := s.offIdx.view().lookup(offOfMax)
	if err != nil {
		return err
	}
	size := s.size.Load()
	r := newHeaderReader(s.log, size)
	defer r.release()
	for pos < size {
		h, err := r.at(pos)
		if err != nil {
			return err
		}
		if h.MaxTimestamp() > maxTs {
			maxTs, offOfMax = h.MaxTimestamp(), h.LastOffset()
		}
		pos += batchSize(h)
	}
	s.setMaxTimestamp(maxTs, offOfMax)
	return nil
}

// TruncateFullyAndStartAt empties the log and restarts it at offset: every
// segment is deleted (after file.delete.delay.ms), one empty segment is
// created at offset, the log start, end, high watermark and recovery point
// all become offset, and the leader epoch cache is cleared (a follower too
// far behind its leader's log start). Like TruncateTo, the change is
// durable (the directory fsynced) when it returns, and callers inside the
// broker go through Manager.TruncateFullyAndStartAt, which checkpoints
// the new recovery point and log start offset.
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	return l.truncateFullyAndStartAt(offset, nil)
}

func (l *Log) truncateFullyAndStartAt(offset int64, checkpoint func() error) error {
	if offset < 0 {
		return fmt.Errorf("%w: cannot restart at negative offset %d", ErrOffsetOutOfRange, offset)
	}
	release := l.abortCleaning()
	defer release()
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return ErrLogClosed
	}
	if err := l.failedErr(); err != nil {
		return err
	}
	return l.truncateWith(offset, checkpoint, func() error { return l.truncateFullyLocked(offset) })
}

// truncateFullyLocked is TruncateFullyAndStartAt; the caller holds
// appendMu and flushMu.
func (l *Log) truncateFullyLocked(offset int64) error {
	doomed := append([]*segment(nil), l.segments...)
	// Rename first: the new segment may reuse a doomed segment's name.
	if err := l.renameSegments(doomed); err != nil {
		return err
	}
	s, err := createSegment(l.dir, offset, l.config(), l.nowMs())
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.segments = []*segment{s}
	for _, d := range doomed {
		d.deleted.Store(true)
	}
	l.leo.Store(offset)
	l.logStart.Store(offset)
	l.recoveryPoint.Store(offset)
	l.hw.Store(offset)
	l.mu.Unlock()
	l.scheduleRemoval(doomed)
	l.pstate.producers = make(map[int64]*ProducerEntry)
	err = l.deleteSnapshots(func(int64) bool { return true })
	if serr := l.syncTruncationLocked(nil); serr != nil {
		return errors.Join(err, serr)
	}
	l.epochs.clear()
	return errors.Join(err, l.epochs.persist())
}
