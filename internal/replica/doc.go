// Package replica is this broker's replica manager (Kafka's ReplicaManager
// and cluster.Partition): it owns the partitions this node hosts, their
// leadership, leader epoch, replica set, ISR and high watermark, and the
// produce and fetch purgatories, and it serves the data-plane calls of the
// Produce, Fetch, ListOffsets, DeleteRecords and OffsetForLeaderEpoch
// handlers. It sits on internal/storage (the logs) and internal/purgatory
// (delayed operations) and knows nothing of the wire: its API is plain Go
// types and its own error sentinels (errors.go), which the handler maps to
// Kafka error codes.
//
// # Partition lifecycle
//
// The server drives it from metadata changes: BecomeLeader (creates or
// opens the log, records the leader epoch and the offset it started at,
// also in the log's leader epoch cache as Kafka's makeLeader does, and
// takes the replica set, ISR and config), SetConfig (AlterConfigs),
// RemovePartition (deletion or leadership moving away). Each of these
// re-checks the operations parked on the partition, so a parked fetch or
// produce learns at once that its epoch is fenced or its partition gone.
//
// # High watermark
//
// The high watermark is the smallest log end offset among the leader and
// the followers in the ISR (Kafka's maybeIncrementLeaderHW), and it does
// not move while the ISR is smaller than min.insync.replicas (capped at the
// replication factor; KIP-966). Followers report their log end offset with
// every fetch (ReplicaID >= 0). With the leader alone in the ISR, the
// single-node case, every append moves the high watermark to the log end
// offset at once. Who moves it is the only thing a replicated cluster
// changes: the acks=all path below is the same.
//
// # Produce
//
// AppendRecords appends every partition now, whatever acks is. acks 0 and 1
// answer at once. acks -1 (all) parks a delayed produce in the produce
// purgatory, watched under each partition, whose condition is "the high
// watermark reached the last appended offset + 1" (Kafka's
// checkEnoughReplicasReachOffset); a partition still waiting when the
// request's timeout expires answers REQUEST_TIMED_OUT. On a single node
// the condition already holds when the operation is parked, so it
// completes inside TryCompleteElseWatch.
//
// # Fetch
//
// FetchMessages reads every partition in request order within the request
// and partition byte limits (KIP-74: the first partition with data returns
// at least one whole batch unless the request is v0-v2), up to the high
// watermark, the last stable offset (read_committed) or the log end offset
// (followers). It answers at once when it has MinBytes, an error, a
// diverging follower or no wait; otherwise it parks a delayed fetch in the
// fetch purgatory under each partition (Kafka's DelayedFetch). Appends, high
// watermark moves, leadership changes and DeleteRecords call
// CheckAndComplete on the partition; the delayed fetch then completes when
// enough bytes lie below each partition's read bound, or a partition
// errors, or its fetch offset is now in an older segment than the read
// bound; on completion or expiry it reads again and answers with that
// fresh read. The records are file ranges (zero copy) that the caller
// sends with sendfile.
//
// # Traffic
//
// The Manager counts what moves through it, for the metrics side port:
// records and bytes appended and record bytes answered to consumers and
// to followers, per topic and for the whole node (Kafka's
// BrokerTopicMetrics). Each hosted Partition points at its topic's
// counters, so an append or a fetch answer costs an atomic add and no
// lookup; a fetch counts once, when it is answered, not at each re-check
// in the purgatory. Traffic and PurgatoryStats read them at scrape time.
//
// # Concurrency
//
// A Manager and its Partitions are safe for concurrent use. The partition
// map has one RWMutex; each Partition has Kafka's leaderIsrUpdateLock (an
// RWMutex held shared by appends and reads, exclusively by leadership
// changes) and a small mutex for the high watermark's compare-and-move.
// No replica lock is held while calling into a purgatory, and every
// callback (done) runs with no replica lock held, exactly once, on the
// caller's goroutine or the purgatory's.
package replica
