package replica

import (
	"errors"
	"fmt"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// AppendRequest is one partition's part of a produce: the record bytes as
// received (for a client, exactly one v2 batch; see storage.Log.Append).
// Records is modified in place by the append (offsets, epoch, timestamps
// are stamped into it) and must not be used by the caller afterwards.
type AppendRequest struct {
	TP      TopicPartition
	Records []byte
	// TopicID is the topic ID the request named (Produce v13+), checked
	// against the hosted partition's: the name was resolved from the
	// metadata image, which may already describe a re-created topic
	// while this node still hosts the old one's log. A mismatch is
	// ErrUnknownTopicID. Zero skips the check (older versions, internal
	// writers).
	TopicID [16]byte
}

// RecordError is one record's breach of a per-record rule (KIP-467): its
// index in the batch and Kafka's message for it.
type RecordError = record.RecordError

// AppendResult is one partition's outcome. With a nil Err, BaseOffset is
// the offset of the first appended record, LogAppendTimeMs the broker
// time stamped on the batch for message.timestamp.type=LogAppendTime
// topics (-1 otherwise) and LogStartOffset the log start offset after the
// append. On error they are -1, except for ErrRequestTimedOut and
// ErrNotEnoughReplicasAfterAppend, which keep them: the records are in the
// log. RecordErrors and ErrMessage are set when validation refused
// individual records (KIP-467); ErrMessage is then the text Kafka sends in
// ProduceResponse's ErrorMessage.
type AppendResult struct {
	TP              TopicPartition
	Err             error
	BaseOffset      int64
	LogAppendTimeMs int64
	LogStartOffset  int64
	RecordErrors    []RecordError
	ErrMessage      string
}

// AppendRecords appends each partition's records to its log now, whatever
// acks is, and then answers through done:
//
//   - acks 0 and 1: at once, with each partition's append outcome;
//   - acks -1 (all): once every appended partition's high watermark has
//     reached its last appended offset + 1 (all of the ISR has the
//     records), or its leadership went away, through a delayed produce
//     parked in the produce purgatory under each partition; partitions
//     still waiting when timeout expires answer ErrRequestTimedOut. A
//     partition whose ISR is below min.insync.replicas refuses the
//     append with ErrNotEnoughReplicas (Kafka checks before appending).
//
// Any other acks value answers ErrInvalidRequiredAcks for every
// partition, appending nothing. A partition listed twice is appended
// twice; the handler passes each partition once, as Kafka's request map
// does.
//
// done is called exactly once, with results in the order of reqs, on
// this goroutine or another (the purgatory's), and never while a replica
// lock is held. Each append that moves a high watermark, or adds data,
// completes the operations parked on its partition (acks=all produces,
// fetch long polls).
func (m *Manager) AppendRecords(acks int16, timeout time.Duration, origin storage.AppendOrigin, reqs []AppendRequest, done func([]AppendResult)) {
	results := make([]AppendResult, len(reqs))
	for i, r := range reqs {
		results[i] = AppendResult{TP: r.TP, BaseOffset: unknownOffset, LogAppendTimeMs: -1, LogStartOffset: unknownOffset}
	}
	if acks != -1 && acks != 0 && acks != 1 {
		for i := range results {
			results[i].Err = fmt.Errorf("%w: %d (must be -1, 0 or 1)", ErrInvalidRequiredAcks, acks)
		}
		done(results)
		return
	}
	if m.isClosed() {
		for i := range results {
			results[i].Err = ErrClosed
		}
		done(results)
		return
	}

	parts := make([]*Partition, len(reqs))
	hwMoved := make([]bool, len(reqs))
	lastOffsets := make([]int64, len(reqs))
	failed := 0
	for i, r := range reqs {
		p, last, moved, err := m.appendToLeader(r, acks, origin, &results[i])
		parts[i], lastOffsets[i], hwMoved[i] = p, last, moved
		if err != nil {
			results[i].Err = err
			var verr *record.ValidationError
			if errors.As(err, &verr) {
				results[i].RecordErrors = verr.Records
				results[i].ErrMessage = validationMessage(verr)
			}
			failed++
		}
	}
	for i, r := range reqs {
		if parts[i] != nil {
			m.completeDelayed(r.TP, hwMoved[i])
		}
	}

	// Kafka's delayedProduceRequestRequired: acks=all with at least one
	// partition appended.
	if acks != -1 || len(reqs) == 0 || failed == len(reqs) {
		done(results)
		return
	}
	op := &delayedProduce{results: results, done: done, status: make([]produceStatus, len(reqs))}
	keys := make([]TopicPartition, 0, len(reqs))
	for i, r := range reqs {
		if results[i].Err != nil {
			continue
		}
		op.status[i] = produceStatus{p: parts[i], requiredOffset: lastOffsets[i] + 1, pending: true}
		keys = append(keys, r.TP)
	}
	m.produce.TryCompleteElseWatch(op, timeout, keys...)
}

// appendToLeader is Kafka's Partition.appendRecordsToLeader for one
// partition. It fills res on success and returns the partition, the last
// offset appended and whether the high watermark moved.
func (m *Manager) appendToLeader(r AppendRequest, acks int16, origin storage.AppendOrigin, res *AppendResult) (*Partition, int64, bool, error) {
	p, err := m.partition(r.TP)
	if err != nil {
		return nil, 0, false, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if err := p.checkTopicIDLocked(r.TopicID, ErrUnknownTopicID); err != nil {
		return nil, 0, false, err
	}
	if err := p.leaderLogLocked(-1, true); err != nil {
		return nil, 0, false, err
	}
	if minISR := p.effectiveMinISRLocked(); acks == -1 && len(p.isr) < minISR {
		return nil, 0, false, fmt.Errorf("%w: %s: the ISR %v is smaller than min.insync.replicas %d", ErrNotEnoughReplicas, r.TP, p.isr, minISR)
	}
	ar, err := p.log.Append(r.Records, storage.AppendOptions{LeaderEpoch: p.leaderEpoch, Origin: origin})
	if err != nil {
		return nil, 0, false, fmt.Errorf("append to %s: %w", r.TP, err)
	}
	res.BaseOffset, res.LogAppendTimeMs, res.LogStartOffset = ar.FirstOffset, ar.LogAppendTimeMs, ar.LogStartOffset
	if !ar.Duplicate {
		m.countAppend(p.traffic, ar.NumRecords, len(r.Records))
	}
	return p, ar.LastOffset, p.maybeIncrementHWLocked(), nil
}

// validationMessage is the text Kafka puts in ErrorMessage for a batch
// refused by per-record rules: the validation error without the
// sentinel's prefix.
func validationMessage(e *record.ValidationError) string {
	msg := e.Error()
	prefix := e.Err.Error() + ": "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix):]
	}
	return msg
}

// produceStatus is one partition of a delayed produce (Kafka's
// ProducePartitionStatus).
type produceStatus struct {
	p              *Partition // the partition appended to; a replacement after removal does not count
	requiredOffset int64      // the high watermark that acknowledges the records
	pending        bool       // still waiting for the high watermark
}

// delayedProduce is an acks=all produce waiting for replication (Kafka's
// DelayedProduce). Its callbacks run under the purgatory's per-operation
// lock, so its fields need no lock of their own.
type delayedProduce struct {
	status  []produceStatus // parallel to results; zero (not pending) for failed appends
	results []AppendResult
	done    func([]AppendResult)
}

// TryComplete settles each pending partition whose high watermark reached
// its records, or that can no longer reach them (not leader, removed),
// and completes once none is pending.
func (d *delayedProduce) TryComplete() bool {
	waiting := false
	for i := range d.status {
		s := &d.status[i]
		if !s.pending {
			continue
		}
		ok, err := s.p.checkEnoughReplicasReachOffset(s.requiredOffset)
		if err != nil || ok {
			s.pending = false
			d.results[i].Err = err
			continue
		}
		waiting = true
	}
	return !waiting
}

// OnExpiration answers REQUEST_TIMED_OUT for the partitions still waiting.
func (d *delayedProduce) OnExpiration() {
	for i := range d.status {
		if s := &d.status[i]; s.pending {
			s.pending = false
			d.results[i].Err = fmt.Errorf("%w: %s: high watermark %d has not reached %d", ErrRequestTimedOut,
				d.results[i].TP, s.p.HighWatermark(), s.requiredOffset)
		}
	}
}

// OnComplete answers the produce.
func (d *delayedProduce) OnComplete() { d.done(d.results) }
