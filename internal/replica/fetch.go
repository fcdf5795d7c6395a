package replica

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/samsa-streaming/samsa/internal/storage"
)

// Isolation levels of a fetch or ListOffsets (the wire's IsolationLevel).
const (
	ReadUncommitted int8 = 0 // read up to the high watermark
	ReadCommitted   int8 = 1 // read up to the last stable offset
	// IsolationNone is not on the wire: it is a follower's (or
	// ListOffsets from a replica's) view, up to the log end offset.
	IsolationNone int8 = -1
)

// FetchParams are a fetch request's request-level settings.
type FetchParams struct {
	// ReplicaID is -1 for a consumer, or the fetching follower's node id.
	ReplicaID int32
	// MaxWait is how long the fetch may wait for MinBytes; <= 0 answers
	// at once.
	MaxWait time.Duration
	// MinBytes is the amount of data worth answering for (fetch.min.bytes).
	MinBytes int32
	// MaxBytes caps the response's records across partitions
	// (fetch.max.bytes); partitions are filled in request order.
	MaxBytes int32
	// IsolationLevel is ReadUncommitted or ReadCommitted (consumers only).
	IsolationLevel int8
	// HardMaxBytesLimit is set for Fetch v0-v2, whose limits are hard:
	// without it the first partition with data returns at least one whole
	// batch even if it exceeds the limits (KIP-74), so a consumer makes
	// progress past a batch larger than its limits.
	HardMaxBytesLimit bool
}

// FetchPartition is one partition of a fetch request.
type FetchPartition struct {
	TP TopicPartition
	// TopicID is the topic ID the request (or its fetch session) named
	// (Fetch v13+), checked against the hosted partition's: the name was
	// resolved from the metadata image, which may already describe a
	// re-created topic while this node still hosts the old one's log. A
	// mismatch is ErrInconsistentTopicID. Zero skips the check.
	TopicID           [16]byte
	FetchOffset       int64
	PartitionMaxBytes int32
	// CurrentLeaderEpoch is the fetcher's view of the leader epoch
	// (KIP-320); -1 skips the check.
	CurrentLeaderEpoch int32
	// LastFetchedEpoch is the epoch of the last batch a follower fetched
	// (KIP-595); -1 when unknown (always for consumers).
	LastFetchedEpoch int32
	// LogStartOffset is a follower's log start offset; -1 for consumers.
	LogStartOffset int64
}

// FetchResult is one partition's answer. On error the offsets are -1 and
// Records is empty.
//
// Records is a byte range of a segment file (zero copy): valid until
// file.delete.delay.ms after a retention or deletion that removes the
// segment, so the caller must send or copy it promptly, as a fetch
// response does. AbortedTxns is nil for read_uncommitted and a (possibly
// empty) list for read_committed: the aborted transactions overlapping the
// offsets from FetchOffset up to the last stable offset (a superset of
// those the returned batches need, as Kafka's index-granular bound is).
type FetchResult struct {
	TP               TopicPartition
	Err              error
	HighWatermark    int64
	LastStableOffset int64
	LogStartOffset   int64
	Records          storage.ReadResult
	AbortedTxns      []storage.AbortedTxn
	// DivergingEpoch and DivergingEndOffset are set (>= 0) when a
	// follower's LastFetchedEpoch shows its log diverged from the
	// leader's: it must truncate to DivergingEndOffset first. -1 otherwise.
	DivergingEpoch     int32
	DivergingEndOffset int64

	traffic *trafficCounters // the partition's topic's, for countFetched; nil on error
}

// FetchMessages reads each partition from its log and answers through
// done (Kafka's ReplicaManager.fetchMessages).
//
// Partitions are read in order, each limited by its PartitionMaxBytes and
// by what is left of MaxBytes; unless HardMaxBytesLimit is set, the
// first partition that has data returns at least its first whole batch
// (KIP-74's minOneMessage), after which limits are hard. Consumers read up
// to the high watermark (read_uncommitted) or last stable offset
// (read_committed); followers read up to the log end offset and report
// their position, which may move the high watermark.
//
// The fetch is answered at once when MaxWait <= 0, there are no
// partitions, the data read reaches MinBytes, or any partition errored or
// diverged. Otherwise it is parked in the fetch purgatory, watched under
// each partition, and answered with a fresh read as soon as enough bytes
// are available below each partition's read bound, a partition changes
// leadership, epoch or is removed, its fetch offset leaves the log (a
// truncation or DeleteRecords), or its data moves to a later segment than
// the fetch offset's; or, failing all that, after MaxWait with whatever
// can be read then (possibly nothing).
//
// done is called exactly once, with results in the order of parts, on
// this goroutine or another, and never while a replica lock is held. The
// Manager keeps no reference to parts after the call.
func (m *Manager) FetchMessages(params FetchParams, parts []FetchPartition, done func([]FetchResult)) {
	results, hwMoved := m.readFromLog(params, parts, true)
	for _, tp := range hwMoved {
		m.completeDelayed(tp, true)
	}
	var bytes int64
	answer := params.MaxWait <= 0 || len(parts) == 0
	for i := range results {
		bytes += results[i].Records.Size
		if results[i].Err != nil || results[i].DivergingEpoch >= 0 {
			answer = true
		}
	}
	if answer || bytes >= int64(params.MinBytes) {
		m.countFetched(params, results)
		done(results)
		return
	}
	op := &delayedFetch{m: m, params: params, parts: slices.Clone(parts), done: done}
	keys := make([]TopicPartition, len(parts))
	for i, fp := range parts {
		keys[i] = fp.TP
	}
	m.fetch.TryCompleteElseWatch(op, params.MaxWait, keys...)
}

// readFromLog is Kafka's readFromLog: every partition read in order with
// the shared byte budget. updateFollower records follower positions (not
// for re-reads from the purgatory, as in Kafka); it returns the
// partitions whose high watermark that moved.
func (m *Manager) readFromLog(params FetchParams, parts []FetchPartition, updateFollower bool) ([]FetchResult, []TopicPartition) {
	results := make([]FetchResult, len(parts))
	var hwMoved []TopicPartition
	limit := int64(params.MaxBytes)
	minOne := !params.HardMaxBytesLimit
	for i, fp := range parts {
		maxBytes := max(min(int64(fp.PartitionMaxBytes), limit), 0)
		var moved bool
		results[i], moved = m.read(params, fp, int(min(maxBytes, math.MaxInt32)), minOne, updateFollower)
		if moved {
			hwMoved = append(hwMoved, fp.TP)
		}
		if size := results[i].Records.Size; size > 0 {
			minOne = false
			limit = max(limit-size, 0)
		}
	}
	return results, hwMoved
}

// errFetchResult is a partition's answer to a failed read.
func errFetchResult(tp TopicPartition, err error) FetchResult {
	return FetchResult{TP: tp, Err: err, HighWatermark: unknownOffset, LastStableOffset: unknownOffset,
		LogStartOffset: unknownOffset, DivergingEpoch: -1, DivergingEndOffset: -1}
}

// read is Kafka's ReplicaManager.read plus Partition.fetchRecords for one
// partition; it reports whether a follower's position moved the high
// watermark.
func (m *Manager) read(params FetchParams, fp FetchPartition, maxBytes int, minOne, updateFollower bool) (FetchResult, bool) {
	p, err := m.partition(fp.TP)
	if err != nil {
		return errFetchResult(fp.TP, err), false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if err := p.checkTopicIDLocked(fp.TopicID, ErrInconsistentTopicID); err != nil {
		return errFetchResult(fp.TP, err), false
	}
	if err := p.leaderLogLocked(fp.CurrentLeaderEpoch, true); err != nil {
		return errFetchResult(fp.TP, err), false
	}
	follower := params.ReplicaID >= 0
	if follower && !p.isFollowerLocked(params.ReplicaID) {
		// Kafka's followerReplicaOrThrow: with an epoch in the request it
		// matched ours, so the replica set is what is out of date.
		err := ErrNotLeader
		if fp.CurrentLeaderEpoch >= 0 {
			err = ErrUnknownLeaderEpoch
		}
		return errFetchResult(fp.TP, fmt.Errorf("%w: %s: replica %d is not a follower in the replica set %v", err, fp.TP, params.ReplicaID, p.replicas)), false
	}

	// The offsets before the read, as Kafka answers them: appends after
	// it must not make a follower look more caught up than it is.
	l := p.log
	res := FetchResult{TP: fp.TP, HighWatermark: l.HighWatermark(), LastStableOffset: l.LastStableOffset(),
		LogStartOffset: l.LogStartOffset(), DivergingEpoch: -1, DivergingEndOffset: -1, traffic: p.traffic}
	leo := l.LogEndOffset()

	if fp.LastFetchedEpoch >= 0 {
		epoch, end, err := p.endOffsetForEpochLocked(fp.CurrentLeaderEpoch, fp.LastFetchedEpoch, false)
		switch {
		case err != nil:
			return errFetchResult(fp.TP, err), false
		case epoch < 0 || end < 0:
			return errFetchResult(fp.TP, fmt.Errorf("%w: %s: no end offset for last fetched epoch %d", ErrOffsetOutOfRange, fp.TP, fp.LastFetchedEpoch)), false
		case fp.FetchOffset < res.LogStartOffset:
			return errFetchResult(fp.TP, fmt.Errorf("%w: %s: offset %d is below the log start offset %d", ErrOffsetOutOfRange, fp.TP, fp.FetchOffset, res.LogStartOffset)), false
		case epoch < fp.LastFetchedEpoch || end < fp.FetchOffset:
			res.DivergingEpoch, res.DivergingEndOffset = epoch, end
			res.Records.FirstOffset = fp.FetchOffset
			return res, false
		}
	}

	upTo := readBound(l, params, leo)
	rr, err := l.Read(fp.FetchOffset, maxBytes, upTo, minOne)
	if err != nil {
		return errFetchResult(fp.TP, fmt.Errorf("read %s at %d: %w", fp.TP, fp.FetchOffset, err)), false
	}
	res.Records = rr
	if !follower && params.IsolationLevel == ReadCommitted {
		res.AbortedTxns = []storage.AbortedTxn{}
		if rr.Size > 0 {
			txns, err := l.CollectAbortedTxns(fp.FetchOffset, upTo)
			if err != nil {
				return errFetchResult(fp.TP, fmt.Errorf("read %s aborted transactions: %w", fp.TP, err)), false
			}
			if txns != nil {
				res.AbortedTxns = txns
			}
		}
	}
	moved := false
	if follower && updateFollower {
		moved = p.updateFollowerLocked(params.ReplicaID, fp.FetchOffset, fp.LogStartOffset)
	}
	return res, moved
}

// readBound is the offset a fetch may read up to (Kafka's FetchIsolation):
// the log end offset for followers, the last stable offset for
// read_committed, the high watermark otherwise.
func readBound(l *storage.Log, params FetchParams, leo int64) int64 {
	switch {
	case params.ReplicaID >= 0:
		return leo
	case params.IsolationLevel == ReadCommitted:
		return l.LastStableOffset()
	default:
		return l.HighWatermark()
	}
}

// delayedFetch is a fetch waiting for fetch.min.bytes (Kafka's
// DelayedFetch). Its callbacks run under the purgatory's per-operation
// lock, and parts is never modified, so it needs no lock of its own.
type delayedFetch struct {
	m      *Manager
	params FetchParams
	parts  []FetchPartition
	done   func([]FetchResult)
}

// TryComplete is Kafka's DelayedFetch.tryComplete: complete if a
// partition is gone or no longer led here (cases A, B), or now hosts
// another topic ID than the fetch named, its epoch check
// fails, its fetch offset is now past the read bound (a truncation) or
// out of the log, its data now starts in a later segment than the fetch
// offset (case C: reading on from the old segment needs no wait), a
// follower's log diverged, or the bytes available across partitions,
// each capped at its PartitionMaxBytes, reach MinBytes (case D).
func (d *delayedFetch) TryComplete() bool {
	var accumulated int64
	for _, fp := range d.parts {
		n, complete := d.available(fp)
		if complete {
			return true
		}
		accumulated += n
	}
	return accumulated >= int64(d.params.MinBytes)
}

// available returns the bytes fp could read now, or complete=true if the
// fetch must be answered now because of fp.
func (d *delayedFetch) available(fp FetchPartition) (n int64, complete bool) {
	p, err := d.m.partition(fp.TP)
	if err != nil {
		return 0, true
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.checkTopicIDLocked(fp.TopicID, ErrInconsistentTopicID) != nil || p.leaderLogLocked(fp.CurrentLeaderEpoch, true) != nil {
		return 0, true
	}
	l := p.log
	if fp.LastFetchedEpoch >= 0 {
		epoch, end, err := p.endOffsetForEpochLocked(fp.CurrentLeaderEpoch, fp.LastFetchedEpoch, false)
		if err != nil || epoch < 0 || end < 0 || epoch < fp.LastFetchedEpoch || end < fp.FetchOffset {
			return 0, true
		}
	}
	end := readBound(l, d.params, l.LogEndOffset())
	switch {
	case fp.FetchOffset == end:
		return 0, false
	case fp.FetchOffset > end:
		return 0, true // the log was truncated below the fetch offset
	case fp.FetchOffset < l.LogStartOffset():
		return 0, true // DeleteRecords or retention passed it: the read errors
	}
	if bases := l.SegmentBaseOffsets(); segmentOf(bases, fp.FetchOffset) != segmentOf(bases, end) {
		return 0, true
	}
	rr, err := l.Read(fp.FetchOffset, math.MaxInt32, end, true)
	if err != nil {
		return 0, true
	}
	return min(rr.Size, max(int64(fp.PartitionMaxBytes), 0)), false
}

// segmentOf returns the index of the segment holding offset: the last
// base offset at or below it.
func segmentOf(bases []int64, offset int64) int {
	i, found := slices.BinarySearch(bases, offset)
	if found {
		return i
	}
	return i - 1
}

// OnExpiration needs no action: OnComplete reads whatever is there.
func (d *delayedFetch) OnExpiration() {}

// OnComplete reads every partition afresh and answers.
func (d *delayedFetch) OnComplete() {
	results, _ := d.m.readFromLog(d.params, d.parts, false)
	d.m.countFetched(d.params, results)
	d.done(results)
}
