// Package replica is this broker's replica manager (Kafka's ReplicaManager
// and Partition): it owns the partitions this node hosts, their leader
// epoch and high watermark, and the produce and fetch purgatories, and it
// serves the data-plane calls the Produce, Fetch, ListOffsets,
// DeleteRecords and OffsetForLeaderEpoch handlers make. It sits on
// internal/storage (the logs) and internal/purgatory (delayed operations)
// and knows nothing of the wire: its API is plain Go types and its own
// error sentinels, which the handler maps to Kafka error codes.
package replica
