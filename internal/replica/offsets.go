package replica

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/samsa-streaming/samsa/internal/storage"
)

// The ListOffsets special timestamps (ListOffsetsRequest's constants).
const (
	LatestTimestamp        = storage.LatestTimestamp        // -1: the high watermark (or LSO, or LEO for replicas)
	EarliestTimestamp      = storage.EarliestTimestamp      // -2: the log start offset
	MaxTimestamp           = storage.MaxTimestampSpec       // -3: the record with the largest timestamp (KIP-734)
	EarliestLocalTimestamp = storage.EarliestLocalTimestamp // -4: the local log start (KIP-405; no tiering: -2)
	LatestTieredTimestamp  = storage.LatestTieredTimestamp  // -5: the last tiered offset (KIP-1005; no tiering: -1)
)

// ListOffset answers one partition of ListOffsets v1+ (Kafka's
// Partition.fetchOffsetForTimestamp). isolation is ReadUncommitted or
// ReadCommitted for a consumer, IsolationNone for a replica (which sees
// up to the log end offset); currentLeaderEpoch -1 skips the KIP-320
// check.
//
//   - LatestTimestamp: the high watermark (last stable offset for
//     read_committed, log end offset for replicas), timestamp -1, the
//     current leader epoch;
//   - EarliestTimestamp, EarliestLocalTimestamp: the log start offset and
//     the epoch of its batch;
//   - LatestTieredTimestamp: offset -1, epoch -1 (no tiered storage);
//   - MaxTimestamp and ts >= 0: the found record's offset, timestamp and
//     batch epoch, or offset -1, timestamp -1, epoch -1 when no record
//     qualifies or it is not yet readable (at or above the read bound).
//
// A leader whose high watermark lags the start of its epoch (just elected,
// followers catching up) answers ErrOffsetNotAvailable for Latest and for
// lookups that land beyond what consumers may read.
func (m *Manager) ListOffset(tp TopicPartition, timestamp int64, isolation int8, currentLeaderEpoch int32) (offset, ts int64, leaderEpoch int32, err error) {
	p, err := m.partition(tp)
	if err != nil {
		return -1, -1, -1, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if err := p.leaderLogLocked(currentLeaderEpoch, true); err != nil {
		return -1, -1, -1, err
	}
	l := p.log
	var lastFetchable int64
	switch isolation {
	case ReadCommitted:
		lastFetchable = l.LastStableOffset()
	case ReadUncommitted:
		lastFetchable = l.HighWatermark()
	default:
		lastFetchable = l.LogEndOffset()
	}
	var notAvailable error
	if hw := l.HighWatermark(); isolation != IsolationNone && p.epochStartOffset > hw {
		notAvailable = fmt.Errorf("%w: %s: the high watermark %d lags the start offset %d of leader epoch %d",
			ErrOffsetNotAvailable, tp, hw, p.epochStartOffset, p.leaderEpoch)
	}
	switch timestamp {
	case LatestTimestamp:
		if notAvailable != nil {
			return -1, -1, -1, notAvailable
		}
		return lastFetchable, -1, p.leaderEpoch, nil
	case EarliestTimestamp, EarliestLocalTimestamp:
		off, _, epoch, _, err := l.OffsetForTimestamp(timestamp)
		if err != nil {
			return -1, -1, -1, fmt.Errorf("list offsets of %s: %w", tp, err)
		}
		return off, -1, epoch, nil
	}
	off, found, epoch, ok, err := l.OffsetForTimestamp(timestamp)
	if err != nil {
		return -1, -1, -1, fmt.Errorf("list offsets of %s: %w", tp, err)
	}
	if !ok || off < 0 {
		return -1, -1, -1, nil
	}
	if off >= lastFetchable {
		if notAvailable != nil {
			return -1, -1, -1, notAvailable
		}
		return -1, -1, -1, nil
	}
	return off, found, epoch, nil
}

// LegacyListOffsets answers one partition of ListOffsets v0 (Kafka 2.x's
// legacyFetchOffsetsBefore): up to maxNumOffsets segment boundary offsets,
// newest first, whose segment was last modified at or before timestamp,
// where the log end offset counts as a boundary modified now (if the
// active segment holds data). LatestTimestamp starts from the newest
// boundary and EarliestTimestamp gives just the log start offset. For a
// consumer (fromConsumer) offsets above the high watermark are replaced
// by the high watermark, as Kafka did.
func (m *Manager) LegacyListOffsets(tp TopicPartition, timestamp int64, maxNumOffsets int32, fromConsumer bool) ([]int64, error) {
	p, err := m.partition(tp)
	if err != nil {
		return nil, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if err := p.leaderLogLocked(-1, true); err != nil {
		return nil, err
	}
	l := p.log
	type boundary struct{ offset, mtimeMs int64 }
	start := l.LogStartOffset()
	bases := l.SegmentBaseOffsets()
	var bounds []boundary
	for _, base := range bases {
		// A segment removed meanwhile (retention) drops out of the answer.
		fi, err := os.Stat(filepath.Join(l.Dir(), fmt.Sprintf("%020d.log", base)))
		if err != nil {
			continue
		}
		bounds = append(bounds, boundary{max(base, start), fi.ModTime().UnixMilli()})
	}
	if len(bases) > 0 && l.LogEndOffset() > bases[len(bases)-1] {
		bounds = append(bounds, boundary{l.LogEndOffset(), m.clock().UnixMilli()})
	}
	idx := -1
	switch timestamp {
	case LatestTimestamp:
		idx = len(bounds) - 1
	case EarliestTimestamp:
		if len(bounds) > 0 {
			idx = 0
		}
	default:
		for idx = len(bounds) - 1; idx >= 0 && bounds[idx].mtimeMs > timestamp; idx-- {
		}
	}
	n := min(int(max(maxNumOffsets, 0)), idx+1)
	out := make([]int64, 0, n)
	for j := 0; j < n; j++ {
		out = append(out, bounds[idx-j].offset)
	}
	slices.SortFunc(out, func(a, b int64) int {
		switch {
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return 0
	})
	if hw := l.HighWatermark(); fromConsumer && slices.ContainsFunc(out, func(o int64) bool { return o > hw }) {
		i := 0
		for i < len(out) && out[i] > hw {
			i++
		}
		out = append([]int64{hw}, out[i:]...)
	}
	return out, nil
}

// DeleteRecords moves the log start offset of tp up to beforeOffset (-1:
// the high watermark) and returns the partition's low watermark, the
// smallest log start offset among its live replicas (here: the leader's,
// as followers catch up through their fetches). An offset beyond the high
// watermark, or below -1, is ErrOffsetOutOfRange; a topic whose
// cleanup.policy lacks delete is ErrPolicyViolation. Fetches parked on
// the partition whose offset is now below the log start are answered.
func (m *Manager) DeleteRecords(tp TopicPartition, beforeOffset int64) (lowWatermark int64, err error) {
	p, err := m.partition(tp)
	if err != nil {
		return -1, err
	}
	lw, err := p.deleteRecords(beforeOffset)
	if err != nil {
		return -1, err
	}
	m.completeDelayed(tp, false)
	return lw, nil
}

func (p *Partition) deleteRecords(beforeOffset int64) (int64, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if err := p.leaderLogLocked(-1, true); err != nil {
		return -1, err
	}
	l := p.log
	if !l.Config().Delete {
		return -1, fmt.Errorf("%w: records of %s cannot be deleted: its cleanup.policy does not include delete", ErrPolicyViolation, p.tp)
	}
	offset := beforeOffset
	if offset == -1 {
		offset = l.HighWatermark()
	}
	if offset < 0 {
		return -1, fmt.Errorf("%w: %s: offset %d is not valid", ErrOffsetOutOfRange, p.tp, beforeOffset)
	}
	start, err := l.DeleteRecordsBefore(offset)
	if err != nil {
		return -1, fmt.Errorf("delete records of %s before %d: %w", p.tp, offset, err)
	}
	return start, nil
}

// EndOffsetForEpoch answers one partition of OffsetForLeaderEpoch
// (Kafka's lastOffsetForLeaderEpoch): for leaderEpoch, the largest epoch
// at or below it that the log knows and the offset where the next epoch
// starts (the log end offset for the current epoch); for an epoch older
// than every cached one, that epoch and the start of the oldest cached one
// (the data before it is gone); (-1, -1) for an epoch newer than the log
// knows. currentLeaderEpoch -1 skips the KIP-320 check.
// Only the leader answers.
func (m *Manager) EndOffsetForEpoch(tp TopicPartition, currentLeaderEpoch, leaderEpoch int32) (epoch int32, endOffset int64, err error) {
	p, err := m.partition(tp)
	if err != nil {
		return -1, -1, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.endOffsetForEpochLocked(currentLeaderEpoch, leaderEpoch, true)
}

// endOffsetForEpochLocked is EndOffsetForEpoch with mu held (shared).
func (p *Partition) endOffsetForEpochLocked(currentLeaderEpoch, leaderEpoch int32, requireLeader bool) (int32, int64, error) {
	if err := p.leaderLogLocked(currentLeaderEpoch, requireLeader); err != nil {
		return -1, -1, err
	}
	epoch, end := p.log.EndOffsetForEpoch(leaderEpoch)
	if end == storage.UndefinedEpochOffset || epoch == storage.UndefinedEpoch {
		return -1, -1, nil
	}
	return epoch, end, nil
}
