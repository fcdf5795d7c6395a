package storage

import (
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
func (l *Log) TruncateTo(offset int64) error {
	if offset < 0 {
		return fmt.Errorf("%w: cannot truncate to negative offset %d", ErrOffsetOutOfRange, offset)
	}
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return ErrLogClosed
	}
	if err := l.failedErr(); err != nil {
		return err
	}
	leo := l.leo.Load()
	if offset >= leo {
		if l.epochs.truncateFromEnd(leo) {
			return l.epochs.persist()
		}
		return nil
	}
	if l.segments[0].base > offset {
		return l.truncateFullyLocked(offset)
	}
	l.flushMu.Lock()
	defer l.flushMu.Unlock()

	l.mu.Lock()
	i := l.floorSegmentLocked(offset)
	s := l.segments[i]
	doomed := append([]*segment(nil), l.segments[i+1:]...)
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
// far behind its leader's log start).
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	if offset < 0 {
		return fmt.Errorf("%w: cannot restart at negative offset %d", ErrOffsetOutOfRange, offset)
	}
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	if l.closed {
		return ErrLogClosed
	}
	if err := l.failedErr(); err != nil {
		return err
	}
	return l.truncateFullyLocked(offset)
}

func (l *Log) truncateFullyLocked(offset int64) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
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
	if err := l.deleteSnapshots(func(int64) bool { return true }); err != nil {
		return err
	}
	l.epochs.clear()
	return l.epochs.persist()
}
