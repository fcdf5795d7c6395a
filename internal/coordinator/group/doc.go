// Package group is the broker's group coordinator for Kafka's classic
// group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and the
// committed offsets of every group (OffsetCommit, OffsetFetch,
// OffsetDelete), plus the admin views (DescribeGroups, ListGroups,
// DeleteGroups). It re-expresses Apache Kafka 4's group-coordinator
// module (GroupCoordinatorService, GroupMetadataManager, ClassicGroup,
// ConsumerGroup, OffsetMetadataManager) in Go. KIP-848 consumer groups
// (ConsumerGroupHeartbeat, ConsumerGroupDescribe) are a second group type
// in the same shards: a group id is either classic or consumer, and both
// types share the shard, its goroutine, its partition and the offsets.
//
// # Shards
//
// A group lives in __consumer_offsets partition PartitionFor(group)
// (Kafka's abs(javaHashCode(group)) % offsets.topic.num.partitions). The
// broker leading that partition is the group's coordinator: OnElection
// creates the partition's shard, which replays the partition's log (log
// start to log end) into its state and only then serves requests
// (COORDINATOR_LOAD_IN_PROGRESS meanwhile, except a classic Heartbeat,
// answered NONE as Kafka does so that members keep their sessions
// through a failover); OnResignation drops it
// (NOT_COORDINATOR from then on, parked joins and syncs answered so).
//
// Each shard is owned by one goroutine. Requests, append completions and
// deadlines reach it as events in an unbounded mailbox (so posting never
// blocks, even from the shard's own goroutine when an append completes
// synchronously). A write is a record batch built with internal/record
// and appended with acks=all and offsets.commit.timeout.ms through
// replica.Manager.AppendRecords; the state changes and the client is
// answered when the append completes (Kafka's classic storeGroup and
// storeOffsets callbacks), except for deletions (DeleteGroups,
// OffsetDelete, expiry), which change the state at once, as Kafka's
// classic coordinator did, so that no request sees a half-deleted group.
// Offset commits still in flight are tracked so that a deletion applied
// meanwhile is not undone by their completion, and expiry skips them.
// Deleting a topic (OnTopicsDeleted, Kafka's onPartitionsDeleted) deletes
// every group's offsets of it in every shard the same way, so that a
// topic re-created under its name starts without committed offsets.
//
// Deadlines (session timeouts, the join barrier with
// group.initial.rebalance.delay.ms, the pending-SyncGroup deadline, the
// offsets.retention.check.interval.ms cycle) are tasks on the broker's one
// timing wheel (internal/purgatory's Timer), keyed like Kafka 4's
// CoordinatorTimer: scheduling a key replaces its previous task, and a
// task that fires after being replaced is ignored. Per-member keys carry
// the group id with its length, so that client-chosen group and member
// ids can never make two members share a deadline. The conditions Kafka's
// old DelayedJoin and DelayedHeartbeat purgatory operations waited for are
// all changed by the shard's own goroutine, which checks them right where
// they change (as Kafka 4 does), so no goroutine sleeps per member and no
// purgatory watch list is needed.
//
// # Records
//
// The records are Kafka's own, so Kafka's tools (kafka-console-consumer
// with the offsets formatter, kcat) read this topic. Every key starts
// with an int16 version that says what it is; a null value is a
// tombstone:
//
//	OffsetCommitKey (version 0 or 1; written as 1)
//	  int16 version | string group | string topic | int32 partition
//	OffsetCommitValue (versions 0-4 read; written as 3, or 1 with an expire timestamp)
//	  int16 version | int64 offset | [v3+] int32 leader_epoch | string metadata |
//	  int64 commit_timestamp | [v1 only] int64 expire_timestamp | [v4+ tagged fields]
//	GroupMetadataKey (version 2)
//	  int16 version | string group
//	GroupMetadataValue (versions 0-4 read; written as 3)
//	  int16 version | string protocol_type | int32 generation |
//	  nullable string protocol | nullable string leader |
//	  [v2+] int64 current_state_timestamp |
//	  array of members:
//	    string member_id | [v3+] nullable string group_instance_id |
//	    string client_id | string client_host | [v1+] int32 rebalance_timeout |
//	    int32 session_timeout | bytes subscription | bytes assignment
//
// (string: int16 length + bytes; bytes: int32 length + bytes; -1 is null;
// v4 values use the compact, flexible encoding.)
//
// KIP-848 consumer groups use Kafka 4's records. Keys are non-flexible
// (int16 version, then int16-length strings); every value is version 0
// in the flexible encoding: compact strings and arrays (uvarint length+1,
// 0 is null), and each struct ends with a tagged-field section (uvarint
// count, then uvarint tag | uvarint size | bytes), unknown tags skipped:
//
//	3  ConsumerGroupMetadataKey            group
//	   value: int32 group_epoch | tags {0: int64 metadata_hash (Kafka 4.1)}
//	4  ConsumerGroupPartitionMetadataKey   group  (read and ignored, as Kafka 4.1 does)
//	5  ConsumerGroupMemberMetadataKey      group | member_id
//	   value: nullable instance_id | nullable rack_id | client_id |
//	          client_host | [subscribed topic names] | nullable regex |
//	          int32 rebalance_timeout_ms | nullable server_assignor |
//	          tags {0: classic member metadata, never written here}
//	6  ConsumerGroupTargetAssignmentMetadataKey group
//	   value: int32 assignment_epoch
//	7  ConsumerGroupTargetAssignmentMemberKey   group | member_id
//	   value: [uuid topic_id | [int32 partition]]
//	8  ConsumerGroupCurrentMemberAssignmentKey  group | member_id
//	   value: int32 member_epoch | int32 previous_member_epoch |
//	          int8 state (0 stable, 1 unrevoked, 2 unreleased) |
//	          [assigned topic partitions] | [partitions pending revocation]
//	16 ConsumerGroupRegularExpressionKey   group | regex
//	   value: [topic names] | int64 version (image offset) | int64 timestamp
//
// The metadata hash is an FNV-64a of the subscribed topics' names, IDs
// and partition counts, not Kafka 4.1's exact hash: a group loaded from a
// Kafka log recomputes its target assignment once. Keys of other versions
// belong to other group types (share, streams) and are skipped when
// loading; a record that does not decode is skipped with a log line,
// never fatal.
//
// # Consumer groups (KIP-848)
//
// Each ConsumerGroupHeartbeat runs Kafka's three steps on the shard
// goroutine: update the member's subscription (a change bumps the group
// epoch), compute a new target assignment when the group epoch is ahead
// of the assignment epoch (server-side assignors from
// group.consumer.assignors, "uniform" sticky-balanced or "range"; a
// member may ask for one with ServerAssignor), and reconcile the member
// towards its target: partitions it must give up are revoked first (it
// stays in its epoch, UNREVOKED_PARTITIONS, until its heartbeat stops
// listing them), and a partition is given to a new owner only once its
// previous owner released it (UNRELEASED_PARTITIONS meanwhile). The
// records are applied to the state at once, as Kafka's coordinator
// runtime does, and the answer waits for them to be durable; a failed
// append rolls the group back if nothing was written after it, and the
// members it restores get their session deadlines back (a fence that
// failed to be written is retried when the session runs out again).
//
// The topics come from Config.Metadata: each heartbeat resolves the
// members' regular expressions (RE2, matched against whole names,
// internal topics excluded) when the image changed and hashes the
// subscribed topics' metadata; a difference bumps the group epoch, so
// new topics and partitions are assigned at the members' next
// heartbeats. Sessions (group.consumer.session.timeout.ms) and
// revocation deadlines (each member's rebalance timeout) are timer
// tasks like the classic ones; a member that misses one is fenced and
// the group epoch bumped. Epoch -1 leaves; -2 marks a static member as
// away, keeping its partitions until it rejoins under its instance id
// (no rebalance) or its session expires.
//
// Offsets of consumer groups are committed with OffsetCommit v9+, whose
// generation is the member epoch (STALE_MEMBER_EPOCH otherwise;
// UNSUPPORTED_VERSION below v9), and OffsetFetch v9+ checks the member
// epoch it names. DescribeGroups reports consumer groups as Dead
// (GROUP_ID_NOT_FOUND from v6), ConsumerGroupDescribe classic groups as
// GROUP_ID_NOT_FOUND, and ListGroups both with their types.
//
// Migration between the protocols (group.consumer.migration.policy) is
// limited to empty groups: a ConsumerGroupHeartbeat joining an empty
// classic group, or a JoinGroup an empty consumer group, deletes it (with
// tombstones; its offsets stay) and creates the other type. Classic
// members inside a consumer group are not supported: a JoinGroup to a
// consumer group with members is INCONSISTENT_GROUP_PROTOCOL, and a
// ConsumerGroupHeartbeat to a classic group with members is
// GROUP_ID_NOT_FOUND, Kafka's answers with the migration policy disabled.
//
// # Concurrency
//
// A Coordinator is safe for concurrent use. Every request entry point
// (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
// OffsetDelete, DescribeGroups, ListGroups, DeleteGroups,
// ConsumerGroupHeartbeat, ConsumerGroupDescribe) takes a kmsg
// request, whose Version field selects the version's behaviour, and calls
// its done callback exactly once, on the caller's goroutine or later on a
// shard's. The request is not used after the entry point returns: what
// the shard keeps is copied first.
package group
