package replica

import (
	"errors"

	"github.com/samsa-streaming/samsa/internal/storage"
)

// The sentinels below are the per-partition outcomes of this package's
// calls; every error it returns wraps one of them, or an error from
// internal/storage or internal/record (validation, corruption, I/O). The
// handler maps them to Kafka error codes at the edge.
var (
	// ErrNotLeader: this node hosts the partition but is not its leader,
	// or stopped hosting it without deleting it (reassignment) while an
	// operation was parked. Kafka: NOT_LEADER_OR_FOLLOWER.
	ErrNotLeader = errors.New("replica: not the leader for this partition")

	// ErrUnknownTopicOrPartition: this node does not host the partition,
	// or it was deleted while an operation was parked. Kafka:
	// UNKNOWN_TOPIC_OR_PARTITION (a handler that finds the partition in
	// the metadata image answers NOT_LEADER_OR_FOLLOWER instead, as
	// Kafka's ReplicaManager does for a partition it knows but does not
	// host).
	ErrUnknownTopicOrPartition = errors.New("replica: unknown topic or partition")

	// ErrFencedLeaderEpoch: the request's current leader epoch is older
	// than the partition's (KIP-320). Kafka: FENCED_LEADER_EPOCH.
	ErrFencedLeaderEpoch = errors.New("replica: fenced leader epoch")

	// ErrUnknownLeaderEpoch: the request's current leader epoch is newer
	// than the partition's (this node has not caught up with the
	// metadata), or a follower is not among the partition's replicas.
	// Kafka: UNKNOWN_LEADER_EPOCH.
	ErrUnknownLeaderEpoch = errors.New("replica: unknown leader epoch")

	// ErrNotEnoughReplicas: an acks=all produce to a partition whose ISR
	// is smaller than min.insync.replicas; nothing was appended. Kafka:
	// NOT_ENOUGH_REPLICAS.
	ErrNotEnoughReplicas = errors.New("replica: not enough in-sync replicas")

	// ErrNotEnoughReplicasAfterAppend: an acks=all produce was appended
	// and replicated up to the high watermark, but the ISR shrank below
	// min.insync.replicas meanwhile. Kafka:
	// NOT_ENOUGH_REPLICAS_AFTER_APPEND.
	ErrNotEnoughReplicasAfterAppend = errors.New("replica: not enough in-sync replicas after append")

	// ErrOffsetOutOfRange is storage's sentinel, re-exported so callers
	// need one name: a fetch offset outside the log, a DeleteRecords
	// offset beyond the high watermark. Kafka: OFFSET_OUT_OF_RANGE.
	ErrOffsetOutOfRange = storage.ErrOffsetOutOfRange

	// ErrOffsetNotAvailable: a ListOffsets lookup on a new leader whose
	// high watermark has not yet reached the start of its epoch. Kafka:
	// OFFSET_NOT_AVAILABLE (LEADER_NOT_AVAILABLE before ListOffsets v5).
	ErrOffsetNotAvailable = errors.New("replica: offset not available")

	// ErrRequestTimedOut: an acks=all produce whose partition's high
	// watermark did not reach the appended records before the request's
	// timeout. The records are in the leader's log. Kafka:
	// REQUEST_TIMED_OUT.
	ErrRequestTimedOut = errors.New("replica: request timed out waiting for replication")

	// ErrInvalidRequiredAcks: acks other than -1, 0 or 1. Kafka:
	// INVALID_REQUIRED_ACKS.
	ErrInvalidRequiredAcks = errors.New("replica: invalid required acks")

	// ErrPolicyViolation: DeleteRecords on a topic whose cleanup.policy
	// does not include delete. Kafka: POLICY_VIOLATION.
	ErrPolicyViolation = errors.New("replica: policy violation")

	// ErrInconsistentTopicID: BecomeLeader for a partition hosted under
	// another topic ID (the topic was deleted and re-created, and the old
	// partition was not removed first), or a fetch naming a topic ID
	// (Fetch v13+) other than the hosted partition's. Kafka:
	// INCONSISTENT_TOPIC_ID.
	ErrInconsistentTopicID = errors.New("replica: inconsistent topic id")

	// ErrUnknownTopicID: a produce naming a topic ID (Produce v13+) other
	// than the hosted partition's, as when the topic was just deleted and
	// re-created and this node still hosts the old one. Kafka:
	// UNKNOWN_TOPIC_ID (ReplicaManager.getPartitionOrException).
	ErrUnknownTopicID = errors.New("replica: unknown topic id")

	// ErrInvalidConfig: a Config the Manager cannot work with.
	ErrInvalidConfig = errors.New("replica: invalid config")

	// ErrClosed: the manager is shut down. A broker that is stopping
	// stops leading; the handler answers NOT_LEADER_OR_FOLLOWER so that
	// clients look for the partition elsewhere.
	ErrClosed = errors.New("replica: manager closed")
)
