package config

// Topic config names (Kafka's TopicConfig constants).
const (
	TopicCleanupPolicy                   = "cleanup.policy"
	TopicCompressionType                 = "compression.type"
	TopicCompressionGzipLevel            = "compression.gzip.level"
	TopicCompressionLZ4Level             = "compression.lz4.level"
	TopicCompressionZstdLevel            = "compression.zstd.level"
	TopicDeleteRetentionMs               = "delete.retention.ms"
	TopicFileDeleteDelayMs               = "file.delete.delay.ms"
	TopicFlushMessages                   = "flush.messages"
	TopicFlushMs                         = "flush.ms"
	TopicFollowerReplicationThrottled    = "follower.replication.throttled.replicas"
	TopicIndexIntervalBytes              = "index.interval.bytes"
	TopicLeaderReplicationThrottled      = "leader.replication.throttled.replicas"
	TopicLocalRetentionBytes             = "local.retention.bytes"
	TopicLocalRetentionMs                = "local.retention.ms"
	TopicMaxCompactionLagMs              = "max.compaction.lag.ms"
	TopicMaxMessageBytes                 = "max.message.bytes"
	TopicMessageDownconversionEnable     = "message.downconversion.enable"
	TopicMessageTimestampAfterMaxMs      = "message.timestamp.after.max.ms"
	TopicMessageTimestampBeforeMaxMs     = "message.timestamp.before.max.ms"
	TopicMessageTimestampDifferenceMaxMs = "message.timestamp.difference.max.ms"
	TopicMessageTimestampType            = "message.timestamp.type"
	TopicMinCleanableDirtyRatio          = "min.cleanable.dirty.ratio"
	TopicMinCompactionLagMs              = "min.compaction.lag.ms"
	TopicMinInsyncReplicas               = "min.insync.replicas"
	TopicPreallocate                     = "preallocate"
	TopicRemoteLogCopyDisable            = "remote.log.copy.disable"
	TopicRemoteLogDeleteOnDisable        = "remote.log.delete.on.disable"
	TopicRemoteStorageEnable             = "remote.storage.enable"
	TopicRetentionBytes                  = "retention.bytes"
	TopicRetentionMs                     = "retention.ms"
	TopicSegmentBytes                    = "segment.bytes"
	TopicSegmentIndexBytes               = "segment.index.bytes"
	TopicSegmentJitterMs                 = "segment.jitter.ms"
	TopicSegmentMs                       = "segment.ms"
	TopicUncleanLeaderElectionEnable     = "unclean.leader.election.enable"
	// TopicInternalSegmentBytes is Kafka 4's internal.segment.bytes: a
	// segment size that bypasses segment.bytes' 1 MiB minimum, for tests. It
	// is accepted but never listed.
	TopicInternalSegmentBytes = "internal.segment.bytes"
)

// Compression types accepted by compression.type, in Kafka's order
// (BrokerCompressionType.names()).
var brokerCompressionTypes = []string{"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"}

const (
	maxLong    = "9223372036854775807"
	oneWeekMs  = "604800000"
	oneDayMs   = "86400000"
	segment1G  = "1073741824"
	index10M   = "10485760"
	maxMsgSize = "1048588" // 1 MiB + Records.LOG_OVERHEAD (12)
	oneHourMs  = "3600000"
	minSegment = 1024 * 1024 // KIP-1030: segment.bytes >= 1 MiB since Kafka 4.0
)

func same(name string) Synonym    { return Synonym{Name: name} }
func hours(name string) Synonym   { return Synonym{Name: name, Unit: UnitHours} }
func minutes(name string) Synonym { return Synonym{Name: name, Unit: UnitMinutes} }
func topicDef(name string, t Type, dflt string, v Validator, doc string) *Def {
	return newDef(name, t, dflt, v, ImportanceMedium, ModeTopic, doc)
}

// topicDefs lists every topic config of Apache Kafka 4.1's LogConfig, plus
// two that Kafka 4.0 removed or emptied and Samsa keeps for clients and
// tools written against 3.x (message.timestamp.difference.max.ms and
// message.downconversion.enable), with Kafka's defaults, validators and
// broker synonyms (ServerTopicConfigSynonyms, in its order).
func topicDefs() []*Def {
	return []*Def{
		topicDef(TopicCleanupPolicy, TypeList, "delete", ListOf("compact", "delete"),
			`The retention policy for log segments. "delete" discards old segments when their retention time or size limit is reached; "compact" enables log compaction, which keeps the latest value for each key. Both may be given ("delete,compact"): old segments are then discarded per the retention settings and the retained ones compacted.`).
			syn(same("log.cleanup.policy")),
		topicDef(TopicCompressionType, TypeString, "producer", OneOf(brokerCompressionTypes...),
			`The final compression type for the topic's data: one of the standard codecs (gzip, snappy, lz4, zstd), "uncompressed" for none, or "producer" to keep whatever codec the producer used.`).
			syn(same("compression.type")),
		topicDef(TopicCompressionGzipLevel, TypeInt, "-1", gzipLevel,
			"The compression level to use if compression.type is set to gzip.").
			syn(same("compression.gzip.level")),
		topicDef(TopicCompressionLZ4Level, TypeInt, "9", Between(1, 17),
			"The compression level to use if compression.type is set to lz4.").
			syn(same("compression.lz4.level")),
		topicDef(TopicCompressionZstdLevel, TypeInt, "3", Between(-131072, 22),
			"The compression level to use if compression.type is set to zstd.").
			syn(same("compression.zstd.level")),
		topicDef(TopicDeleteRetentionMs, TypeLong, oneDayMs, AtLeast(0),
			"How long delete tombstones are retained in compacted topics. This also bounds how long a consumer reading from offset 0 has to finish its scan and still see a consistent snapshot.").
			syn(same("log.cleaner.delete.retention.ms")),
		topicDef(TopicFileDeleteDelayMs, TypeLong, "60000", AtLeast(0),
			"The time to wait before deleting a file from the filesystem.").
			syn(same("log.segment.delete.delay.ms")),
		topicDef(TopicFlushMessages, TypeLong, maxLong, AtLeast(1),
			"The number of messages after which the log is fsynced. Prefer replication for durability and leave this at its default, letting the operating system flush in the background.").
			syn(same("log.flush.interval.messages")),
		topicDef(TopicFlushMs, TypeLong, maxLong, AtLeast(0),
			"The time in ms after which the log is fsynced. Prefer replication for durability and leave this at its default.").
			syn(same("log.flush.interval.ms"), same("log.flush.scheduler.interval.ms")),
		topicDef(TopicFollowerReplicationThrottled, TypeList, "", throttledReplicas(TopicFollowerReplicationThrottled),
			`A list of replicas whose log replication is throttled on the follower side, as [PartitionId]:[BrokerId],... or the wildcard "*" for all replicas of the topic.`),
		topicDef(TopicIndexIntervalBytes, TypeInt, "4096", AtLeast(0),
			"How often, in bytes of log, an entry is added to the offset index. More entries let reads start closer to the wanted offset but make the index larger.").
			syn(same("log.index.interval.bytes")),
		topicDef(TopicLeaderReplicationThrottled, TypeList, "", throttledReplicas(TopicLeaderReplicationThrottled),
			`A list of replicas whose log replication is throttled on the leader side, as [PartitionId]:[BrokerId],... or the wildcard "*" for all replicas of the topic.`),
		topicDef(TopicLocalRetentionBytes, TypeLong, "-2", AtLeast(-2),
			"The maximum size of local log segments of a partition with tiered storage before old ones are deleted. -2 means retention.bytes applies.").
			syn(same("log.local.retention.bytes")),
		topicDef(TopicLocalRetentionMs, TypeLong, "-2", AtLeast(-2),
			"How long local log segments of a partition with tiered storage are kept. -2 means retention.ms applies.").
			syn(same("log.local.retention.ms")),
		topicDef(TopicMaxCompactionLagMs, TypeLong, maxLong, AtLeast(1),
			"The maximum time a message stays ineligible for compaction. Only applies to compacted topics.").
			syn(same("log.cleaner.max.compaction.lag.ms")),
		topicDef(TopicMaxMessageBytes, TypeInt, maxMsgSize, AtLeast(0),
			"The largest record batch size allowed, after compression.").
			syn(same("message.max.bytes")),
		topicDef(TopicMessageDownconversionEnable, TypeBoolean, "true", nil,
			"Whether message format down-conversion for old consumers is enabled. Records are always stored and served in format v2, so this has no effect.").
			deprecated("Kafka 4.0 made this a no-op (down-conversion is no longer possible) and will remove it in 5.0; Samsa never down-converts.").
			syn(same("log.message.downconversion.enable")),
		topicDef(TopicMessageTimestampAfterMaxMs, TypeLong, oneHourMs, AtLeast(0),
			"How far, in ms, a record's timestamp may be ahead of the broker's clock. With message.timestamp.type=CreateTime a batch further in the future is rejected; ignored with LogAppendTime.").
			syn(same("log.message.timestamp.after.max.ms")),
		topicDef(TopicMessageTimestampBeforeMaxMs, TypeLong, maxLong, AtLeast(0),
			"How far, in ms, a record's timestamp may be behind the broker's clock. With message.timestamp.type=CreateTime an older batch is rejected; ignored with LogAppendTime.").
			syn(same("log.message.timestamp.before.max.ms")),
		topicDef(TopicMessageTimestampDifferenceMaxMs, TypeLong, maxLong, AtLeast(0),
			"The maximum difference allowed between the broker's clock and a record's timestamp when message.timestamp.type=CreateTime. Where message.timestamp.before.max.ms or message.timestamp.after.max.ms is not set, this bound applies in its place.").
			deprecated("Deprecated in Kafka 3.6 and removed in 4.0; use message.timestamp.before.max.ms and message.timestamp.after.max.ms. Samsa still honours it as Kafka 3.x did.").
			syn(same("log.message.timestamp.difference.max.ms")),
		topicDef(TopicMessageTimestampType, TypeString, "CreateTime", OneOf("CreateTime", "LogAppendTime"),
			"Whether record timestamps are the producer's create time or the broker's log append time. The value should be either CreateTime or LogAppendTime.").
			syn(same("log.message.timestamp.type")),
		topicDef(TopicMinCleanableDirtyRatio, TypeDouble, "0.5", Between(0, 1),
			"How dirty (the uncompacted fraction) a log must be before the compactor cleans it. A higher ratio means fewer, more efficient cleanings and more wasted space. With min.compaction.lag.ms or max.compaction.lag.ms, a log is also eligible once it has had dirty records for the max lag.").
			syn(same("log.cleaner.min.cleanable.ratio")),
		topicDef(TopicMinCompactionLagMs, TypeLong, "0", AtLeast(0),
			"The minimum time a message stays uncompacted. Only applies to compacted topics.").
			syn(same("log.cleaner.min.compaction.lag.ms")),
		topicDef(TopicMinInsyncReplicas, TypeInt, "1", AtLeast(1),
			`With acks=all (or -1), the minimum number of in-sync replicas that must acknowledge a write; if fewer are in sync the producer gets NOT_ENOUGH_REPLICAS (or NOT_ENOUGH_REPLICAS_AFTER_APPEND).`).
			syn(same("min.insync.replicas")),
		topicDef(TopicPreallocate, TypeBoolean, "false", nil,
			"Whether to preallocate the file on disk when creating a new log segment.").
			syn(same("log.preallocate")),
		topicDef(TopicRemoteLogCopyDisable, TypeBoolean, "false", nil,
			"Whether tiered data of the topic becomes read-only: no more segments are uploaded, and local retention gives way to retention.ms/bytes."),
		topicDef(TopicRemoteLogDeleteOnDisable, TypeBoolean, "false", nil,
			"Whether tiered data is deleted when tiered storage is disabled on the topic. Must be true to turn remote.storage.enable from true to false."),
		topicDef(TopicRemoteStorageEnable, TypeBoolean, "false", nil,
			"Whether the topic uses tiered storage. Samsa has no tiered storage, so enabling it is rejected while remote.log.storage.system.enable is false."),
		topicDef(TopicRetentionBytes, TypeLong, "-1", nil,
			`The maximum size a partition may grow to before old segments are discarded under the "delete" policy. -1 means no size limit. This is per partition.`).
			syn(same("log.retention.bytes")),
		topicDef(TopicRetentionMs, TypeLong, oneWeekMs, AtLeast(-1),
			`How long a log is retained before old segments are discarded under the "delete" policy. -1 means no time limit.`).
			syn(same("log.retention.ms"), minutes("log.retention.minutes"), hours("log.retention.hours")),
		topicDef(TopicSegmentBytes, TypeInt, segment1G, AtLeast(minSegment),
			"The segment file size of the log. Retention and compaction work a segment at a time, so larger segments mean fewer files but coarser control over retention.").
			syn(same("log.segment.bytes")),
		topicDef(TopicSegmentIndexBytes, TypeInt, index10M, AtLeast(4),
			"The size of the offset index of a segment. The index is preallocated and shrunk when the segment rolls.").
			syn(same("log.index.size.max.bytes")),
		topicDef(TopicSegmentJitterMs, TypeLong, "0", AtLeast(0),
			"The maximum random jitter subtracted from the scheduled segment roll time, so that segments do not all roll at once.").
			syn(same("log.roll.jitter.ms"), hours("log.roll.jitter.hours")),
		topicDef(TopicSegmentMs, TypeLong, oneWeekMs, AtLeast(1),
			"The time after which the active segment is rolled even if it is not full, so that retention can delete or compact old data.").
			syn(same("log.roll.ms"), hours("log.roll.hours")),
		topicDef(TopicUncleanLeaderElectionEnable, TypeBoolean, "false", nil,
			"Whether a replica outside the ISR may be elected leader as a last resort, even though this may lose data.").
			syn(same("unclean.leader.election.enable")),
		topicDef(TopicInternalSegmentBytes, TypeInt, nullDefault, AtLeast(1),
			"The maximum size of a single log file, bypassing segment.bytes' minimum. For testing only.").
			internal(),
	}
}
