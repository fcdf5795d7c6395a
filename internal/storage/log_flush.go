package storage

import (
	"time"
)

// Flush fsyncs everything appended so far and moves the recovery point
// to the log end offset.
func (l *Log) Flush() error { return l.flushTo(l.leo.Load(), false) }

// FlushUpTo fsyncs the segments holding offsets below offset (capped at
// the log end offset) and moves the recovery point there (Kafka's
// flush(offset)). It never holds a lock an appender or reader waits for
// while it fsyncs; concurrent flushes are serialized.
func (l *Log) FlushUpTo(offset int64) error { return l.flushTo(offset, false) }

// FlushDue reports whether flush.ms has passed since the last flush and
// there is something to flush; the manager's flush loop calls it and then
// Flush. A failed log is never due: its flushes can only fail again.
func (l *Log) FlushDue(now time.Time) bool {
	cfg := l.config()
	if l.leo.Load() <= l.recoveryPoint.Load() || l.Failed() {
		return false
	}
	return now.UnixMilli()-l.lastFlushMs.Load() >= cfg.FlushMs
}

// UnflushedMessages returns how many offsets lie above the recovery point.
func (l *Log) UnflushedMessages() int64 { return l.leo.Load() - l.recoveryPoint.Load() }

type flushJob struct {
	s         *segment
	off, time idxView
	finished  bool // s.finishedUnsynced when the job was taken
}

// flushTo is FlushUpTo; force also syncs the active segment and the
// directory when nothing is unflushed (Close persists an empty active
// segment that way, as Kafka's flush(forceFlushActiveSegment) does).
func (l *Log) flushTo(offset int64, force bool) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrLogClosed
	}
	if err := l.failedErr(); err != nil {
		l.mu.RUnlock()
		return err
	}
	offset = min(offset, l.leo.Load())
	rp := l.recoveryPoint.Load()
	first := max(l.floorSegmentLocked(rp), 0)
	// Segments finished after the recovery point had passed them (a roll
	// right after a flush) changed since their last fsync.
	refinished := first
	for refinished > 0 && l.segments[refinished-1].finishedUnsynced.Load() {
		refinished--
	}
	if offset <= rp && !force && refinished == first {
		l.mu.RUnlock()
		return nil
	}
	var jobs []flushJob
	for i := refinished; i < len(l.segments); i++ {
		s := l.segments[i]
		if s.base >= offset && !(force && i == len(l.segments)-1) {
			break
		}
		jobs = append(jobs, flushJob{s, s.offIdx.index.view(), s.timeIdx.index.view(), s.finishedUnsynced.Load()})
	}
	l.mu.RUnlock()

	for _, j := range jobs {
		if err := j.s.syncFiles(j.off, j.time); err != nil {
			if j.s.deleted.Load() {
				continue // retention removed it meanwhile; nothing left to make durable
			}
			return l.fail(err)
		}
		if j.finished {
			j.s.finishedUnsynced.Store(false) // finished before this sync began
		}
	}
	if l.dirDirty.Swap(false) {
		if err := syncDir(l.dir); err != nil {
			l.dirDirty.Store(true)
			return l.fail(err)
		}
	}
	l.mu.Lock()
	if offset > l.recoveryPoint.Load() {
		l.recoveryPoint.Store(offset)
	}
	l.lastFlushMs.Store(l.nowMs())
	l.mu.Unlock()
	return nil
}
