// Package group is the broker's group coordinator for Kafka's classic
// group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and the
// committed offsets of every group (OffsetCommit, OffsetFetch,
// OffsetDelete), plus the admin views (DescribeGroups, ListGroups,
// DeleteGroups). It re-expresses Apache Kafka 4's group-coordinator
// module (GroupCoordinatorService, GroupMetadataManager, ClassicGroup,
// OffsetMetadataManager) in Go; KIP-848 consumer groups are meant to be
// another group type in the same shards.
//
// # Shards
//
// A group lives in __consumer_offsets partition PartitionFor(group)
// (Kafka's abs(javaHashCode(group)) % offsets.topic.num.partitions). The
// broker leading that partition is the group's coordinator: OnElection
// creates the partition's shard, which replays the partition's log (log
// start to log end) into its state and only then serves requests
// (COORDINATOR_LOAD_IN_PROGRESS meanwhile); OnResignation drops it
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
//
// Deadlines (session timeouts, the join barrier with
// group.initial.rebalance.delay.ms, the pending-SyncGroup deadline, the
// offsets.retention.check.interval.ms cycle) are tasks on the broker's one
// timing wheel (internal/purgatory's Timer), keyed like Kafka 4's
// CoordinatorTimer: scheduling a key replaces its previous task, and a
// task that fires after being replaced is ignored. The conditions Kafka's
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
// v4 values use the compact, flexible encoding.) Keys of higher versions
// belong to other group types and are skipped when loading; a record that
// does not decode is skipped with a log line, never fatal.
//
// # Concurrency
//
// A Coordinator is safe for concurrent use. Every request entry point
// (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
// OffsetDelete, DescribeGroups, ListGroups, DeleteGroups) takes a kmsg
// request, whose Version field selects the version's behaviour, and calls
// its done callback exactly once, on the caller's goroutine or later on a
// shard's. The request is not used after the entry point returns: what
// the shard keeps is copied first.
package group
