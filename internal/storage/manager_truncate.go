package storage

import "fmt"

// TruncateTo truncates the partition's log to offset (Log.TruncateTo: a
// follower whose log diverged from its leader's) and writes its log dir's
// recovery-point-offset-checkpoint and log-start-offset-checkpoint before
// any later append can reach the log, as Kafka's LogManager.truncateTo
// does (checkpointLogRecoveryOffsetsInDir right after the truncation).
//
// Without the checkpoints the files could keep, until their next periodic
// write (log.flush.offset.checkpoint.interval.ms), a recovery point above
// the new log end: a crash then would have the next start trust, unscanned,
// segments appended after the truncation, torn or not. And a log start
// offset checkpointed above the new end (DeleteRecords before a deeper
// truncation) would make the next start empty the log. The recovery point
// is in fact checkpointed twice, lowered to offset before the truncation
// touches a file and again after (see Log.truncateWith), so that even a
// crash in the middle of the truncation has the next start scan every
// segment it touched.
//
// It returns ErrUnknownPartition if the manager has no log for tp.
func (m *Manager) TruncateTo(tp TopicPartition, offset int64) error {
	// The cleaner checkpoint must not stay above the new end: Open
	// tolerates gaps below it (see OpenOptions.CleanerOffset).
	// It is capped again inside the truncation, which holds off the
	// cleaner (Log.abortCleaning): a cleaning that finished in between
	// may have recorded a higher one.
	m.cleaner.capOffset(tp, offset)
	return m.truncate(tp, func() { m.cleaner.capOffset(tp, offset) }, func(l *Log, checkpoint func() error) error {
		return l.truncateTo(offset, checkpoint)
	})
}

// TruncateFullyAndStartAt empties the partition's log and restarts it at
// offset (Log.TruncateFullyAndStartAt: a follower whose log end is below
// its leader's log start), then writes its log dir's recovery-point and
// log-start-offset checkpoints before any later append can reach the
// log, as Kafka's LogManager.truncateFullyAndStartAt does; see TruncateTo
// for why. It returns ErrUnknownPartition if the manager has no log for
// tp.
func (m *Manager) TruncateFullyAndStartAt(tp TopicPartition, offset int64) error {
	m.cleaner.capOffset(tp, 0) // nothing of the new log was cleaned
	return m.truncate(tp, func() { m.cleaner.capOffset(tp, 0) }, func(l *Log, checkpoint func() error) error {
		return l.truncateFullyAndStartAt(offset, checkpoint)
	})
}

// truncate runs fn on tp's log, handing it the checkpoint writer of the
// log's dir, which runs capCleaner (under the log's cleanMu, held by the
// truncation) before writing. A partition being created or deleted is waited for; Close
// waits for a truncation in flight.
func (m *Manager) truncate(tp TopicPartition, capCleaner func(), fn func(l *Log, checkpoint func() error) error) error {
	for {
		m.mu.Lock()
		if err := m.usableLocked(); err != nil {
			m.mu.Unlock()
			return err
		}
		s := m.logs[tp]
		if s == nil {
			m.mu.Unlock()
			return fmt.Errorf("%w: %s", ErrUnknownPartition, tp)
		}
		if s.log == nil {
			m.mu.Unlock()
			<-s.done // being created or deleted: look again once settled
			continue
		}
		l := s.log
		m.ops.Add(1)
		m.mu.Unlock()
		err := fn(l, func() error {
			capCleaner()
			return m.checkpointDir(s.dir, ckptRecoveryPoint|ckptLogStart|ckptCleaner)
		})
		m.ops.Done()
		if err != nil {
			return fmt.Errorf("truncate %s: %w", tp, err)
		}
		return nil
	}
}
