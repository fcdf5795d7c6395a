package replica

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/samsa-streaming/samsa/internal/storage"
)

// unknownOffset is Kafka's UnifiedLog.UnknownOffset: a follower's log end
// offset before its first fetch in the current leader epoch, and the
// offsets an errored fetch or produce answer carries.
const unknownOffset int64 = -1

// followerState is what the leader knows of one follower replica, from
// its fetches (Kafka's ReplicaState).
type followerState struct {
	logEndOffset   int64 // the follower's fetch offset; unknownOffset until it fetches
	logStartOffset int64
}

// Partition is one hosted partition (Kafka's cluster.Partition): its log,
// leadership, replica set, ISR and the high watermark it derives from
// them. It is safe for concurrent use.
//
// mu is Kafka's leaderIsrUpdateLock: appends, reads and state checks hold
// it shared, so a leadership change or removal (exclusive) waits for the
// operations in flight and is seen by every later one. hwMu serialises
// the high watermark's compare-and-move and the followers' positions.
type Partition struct {
	tp     TopicPartition
	nodeID int32
	log    *storage.Log // set at creation, never changes
	// traffic counts the topic's produce and fetch bytes; set by the
	// Manager before the partition is published, never changed.
	traffic *trafficCounters

	mu               sync.RWMutex
	topicID          [16]byte // guarded by mu
	leader           bool     // guarded by mu
	leaderEpoch      int32    // guarded by mu; -1 before the first BecomeLeader
	epochStartOffset int64    // guarded by mu: the log end offset when leaderEpoch began
	replicas         []int32  // guarded by mu; never modified in place
	isr              []int32  // guarded by mu; never modified in place
	minISR           int32    // guarded by mu: min.insync.replicas, >= 1
	removed          error    // guarded by mu: nil while hosted, else what parked operations answer

	hwMu      sync.Mutex
	followers map[int32]*followerState // guarded by hwMu; replaced (under mu too) by makeLeader
}

func newPartition(tp TopicPartition, nodeID int32, l *storage.Log) *Partition {
	id, _ := l.TopicID()
	return &Partition{tp: tp, nodeID: nodeID, log: l, topicID: id, leaderEpoch: -1, minISR: 1,
		followers: map[int32]*followerState{}}
}

// TopicPartition returns the partition's name.
func (p *Partition) TopicPartition() TopicPartition { return p.tp }

// TopicID returns the partition's topic ID (zero if unknown).
func (p *Partition) TopicID() [16]byte {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.topicID
}

// LeaderEpoch returns the current leader epoch.
func (p *Partition) LeaderEpoch() int32 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.leaderEpoch
}

// IsLeader reports whether this node leads the partition.
func (p *Partition) IsLeader() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.leader && p.removed == nil
}

// Log returns the partition's log. Writes must go through the Manager,
// which keeps the high watermark and the purgatories in step.
func (p *Partition) Log() *storage.Log { return p.log }

// HighWatermark returns the offset below which records are replicated to
// the whole ISR and visible to read_uncommitted consumers.
func (p *Partition) HighWatermark() int64 { return p.log.HighWatermark() }

// LogStartOffset returns the first readable offset.
func (p *Partition) LogStartOffset() int64 { return p.log.LogStartOffset() }

// LogEndOffset returns the offset the next appended record gets.
func (p *Partition) LogEndOffset() int64 { return p.log.LogEndOffset() }

// LastStableOffset returns the offset below which read_committed
// consumers may read.
func (p *Partition) LastStableOffset() int64 { return p.log.LastStableOffset() }

// ISR returns a copy of the in-sync replica set.
func (p *Partition) ISR() []int32 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Clone(p.isr)
}

// Replicas returns a copy of the replica set.
func (p *Partition) Replicas() []int32 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Clone(p.replicas)
}

// makeLeader applies a BecomeLeader and reports whether leadership or the
// epoch changed.
func (p *Partition) makeLeader(topicID [16]byte, epoch int32, replicas, isr []int32, cfg PartitionConfig) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.removed != nil {
		return false, p.removed
	}
	if epoch < p.leaderEpoch {
		return false, fmt.Errorf("%w: %s: leader epoch %d is older than the current %d", ErrFencedLeaderEpoch, p.tp, epoch, p.leaderEpoch)
	}
	if err := p.log.SetConfig(cfg.Log); err != nil {
		return false, fmt.Errorf("replica: %s: %w", p.tp, err)
	}
	changed := !p.leader || epoch > p.leaderEpoch
	if changed {
		// Kafka's makeLeader: the new epoch starts at the log end offset
		// in the leader epoch cache now, not when its first batch is
		// appended, so OffsetForLeaderEpoch for the current epoch answers
		// (epoch, LEO) at once and followers fetching with it as their
		// LastFetchedEpoch are not fenced.
		if err := p.log.AssignLeaderEpoch(epoch); err != nil {
			if errors.Is(err, storage.ErrStaleLeaderEpoch) {
				return false, fmt.Errorf("%w: %s: %w", ErrFencedLeaderEpoch, p.tp, err)
			}
			return false, fmt.Errorf("replica: %s: record leader epoch %d: %w", p.tp, epoch, err)
		}
	}
	if topicID != [16]byte{} {
		p.topicID = topicID
	}
	p.replicas, p.isr = slices.Clone(replicas), slices.Clone(isr)
	p.minISR = max(cfg.MinInsyncReplicas, 1)
	if changed {
		p.leader = true
		p.leaderEpoch = epoch
		p.epochStartOffset = p.log.LogEndOffset()
	}
	// Kafka's updateAssignmentAndIsr: one follower state per replica. A
	// new epoch forgets every position; within an epoch the replica set
	// can still change (a reassignment adds or drops replicas without a
	// new leader epoch), and the replicas that stay keep theirs. A
	// replica without a state would never count toward the high
	// watermark once in the ISR.
	p.hwMu.Lock()
	followers := make(map[int32]*followerState, len(replicas))
	for _, r := range replicas {
		if r == p.nodeID {
			continue
		}
		if f := p.followers[r]; f != nil && !changed {
			followers[r] = f
		} else {
			followers[r] = &followerState{logEndOffset: unknownOffset, logStartOffset: unknownOffset}
		}
	}
	p.followers = followers
	p.hwMu.Unlock()
	p.maybeIncrementHWLocked()
	return changed, nil
}

// setConfig applies a changed topic config; it reports whether the high
// watermark moved.
func (p *Partition) setConfig(cfg PartitionConfig) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.removed != nil {
		return false, p.removed
	}
	if err := p.log.SetConfig(cfg.Log); err != nil {
		return false, err
	}
	p.minISR = max(cfg.MinInsyncReplicas, 1)
	return p.leader && p.maybeIncrementHWLocked(), nil
}

// remove marks the partition as no longer hosted; reason is what
// operations still parked on it answer.
func (p *Partition) remove(reason error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removed = fmt.Errorf("%w: %s was removed from node %d", reason, p.tp, p.nodeID)
	p.leader = false
}

// effectiveMinISRLocked is Kafka's effectiveMinIsr: min.insync.replicas
// capped at the replication factor, so a topic configured above its
// replication factor can still take acks=all writes.
func (p *Partition) effectiveMinISRLocked() int {
	return min(int(p.minISR), max(len(p.replicas), 1))
}

// checkTopicIDLocked is the topic ID check of Kafka's ReplicaManager
// (getPartitionOrException for a TopicIdPartition on produce, readFromLog's
// hasConsistentTopicId on fetch): a request that named its topic by ID
// must find that ID on the hosted partition. A topic deleted and
// re-created under the same name reaches the metadata image before the
// old partition is swapped out, so a request resolved by name through
// the new image may otherwise land in the old topic's log. mismatch is
// the sentinel to wrap (Kafka answers UNKNOWN_TOPIC_ID on produce and
// INCONSISTENT_TOPIC_ID on fetch). A zero requested ID (old request
// versions) or a partition without a known ID passes, as in Kafka. The
// caller holds mu (shared).
func (p *Partition) checkTopicIDLocked(requested [16]byte, mismatch error) error {
	if p.removed != nil {
		return p.removed
	}
	if requested == ([16]byte{}) || p.topicID == ([16]byte{}) || requested == p.topicID {
		return nil
	}
	return fmt.Errorf("%w: %s: the request names topic id %s, the partition hosted here is topic id %s", mismatch, p.tp,
		storage.TopicIDString(requested), storage.TopicIDString(p.topicID))
}

// leaderLogLocked is Kafka's getLocalLog: the KIP-320 epoch check first
// (currentEpoch -1 skips it), then leadership if requireLeader. The
// caller holds mu (shared).
func (p *Partition) leaderLogLocked(currentEpoch int32, requireLeader bool) error {
	if p.removed != nil {
		return p.removed
	}
	if currentEpoch >= 0 {
		switch {
		case currentEpoch < p.leaderEpoch:
			return fmt.Errorf("%w: %s: request epoch %d, leader epoch %d", ErrFencedLeaderEpoch, p.tp, currentEpoch, p.leaderEpoch)
		case currentEpoch > p.leaderEpoch:
			return fmt.Errorf("%w: %s: request epoch %d, leader epoch %d", ErrUnknownLeaderEpoch, p.tp, currentEpoch, p.leaderEpoch)
		}
	}
	if requireLeader && !p.leader {
		return fmt.Errorf("%w: %s on node %d", ErrNotLeader, p.tp, p.nodeID)
	}
	return nil
}

// maybeIncrementHWLocked is Kafka's maybeIncrementLeaderHW: the high
// watermark becomes the smallest log end offset among the leader and the
// followers in the ISR, if that is above the current one, unless the ISR
// is below min.insync.replicas (KIP-966: the high watermark then stays
// put). With the leader alone in the ISR it is the log end offset. It
// reports whether the high watermark moved. The caller holds mu.
func (p *Partition) maybeIncrementHWLocked() bool {
	if !p.leader || len(p.isr) < p.effectiveMinISRLocked() {
		return false
	}
	p.hwMu.Lock()
	defer p.hwMu.Unlock()
	hw := p.log.LogEndOffset()
	for _, r := range p.isr {
		if r == p.nodeID {
			continue
		}
		f := p.followers[r]
		if f == nil {
			return false // an ISR member this leader has no state for: nothing is safe to expose
		}
		hw = min(hw, f.logEndOffset)
	}
	old := p.log.HighWatermark()
	if hw <= old {
		return false
	}
	return p.log.SetHighWatermark(hw) > old
}

// checkEnoughReplicasReachOffset is Kafka's: whether the high watermark
// reached required (every ISR member has the records), and the error to
// answer with. The caller holds no lock.
func (p *Partition) checkEnoughReplicasReachOffset(required int64) (bool, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.removed != nil {
		return false, p.removed
	}
	if !p.leader {
		return false, fmt.Errorf("%w: %s on node %d", ErrNotLeader, p.tp, p.nodeID)
	}
	if p.log.HighWatermark() < required {
		return false, nil
	}
	if minISR := p.effectiveMinISRLocked(); len(p.isr) < minISR {
		return true, fmt.Errorf("%w: %s: ISR %v is below min.insync.replicas %d", ErrNotEnoughReplicasAfterAppend, p.tp, p.isr, minISR)
	}
	return true, nil
}

// updateFollowerLocked records a follower's fetch position (Kafka's
// updateFollowerFetchState) and reports whether the high watermark moved.
// The caller holds mu (shared).
func (p *Partition) updateFollowerLocked(replica int32, fetchOffset, logStartOffset int64) bool {
	p.hwMu.Lock()
	f := p.followers[replica]
	if f != nil {
		f.logEndOffset = fetchOffset
		f.logStartOffset = logStartOffset
	}
	p.hwMu.Unlock()
	return f != nil && p.maybeIncrementHWLocked()
}

// isFollowerLocked reports whether id is a follower: in the replica set
// and not this node (Kafka's remote replicas). A fetch claiming this
// node's own id is no follower and must not read past the high watermark.
func (p *Partition) isFollowerLocked(id int32) bool {
	return id != p.nodeID && slices.Contains(p.replicas, id)
}
