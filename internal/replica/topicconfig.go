package replica

import (
	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// TopicPartitionConfig is what a partition of a topic runs with, from the
// topic's resolved configuration (Kafka names, with sources): the log
// settings plus min.insync.replicas, which gates acks=all appends.
func TopicPartitionConfig(tc *config.TopicConfig) PartitionConfig {
	return PartitionConfig{Log: logConfig(tc), MinInsyncReplicas: tc.MinInsyncReplicas}
}

// logConfig converts a topic's resolved configuration (Kafka names, with
// sources) into the typed settings the storage engine runs on. storage does
// not import config, so that the engine stays usable on its own; this is the
// one place the two meet.
func logConfig(tc *config.TopicConfig) storage.LogConfig {
	return storage.LogConfig{
		SegmentBytes:           tc.SegmentBytes,
		SegmentMs:              tc.SegmentMs,
		SegmentJitterMs:        tc.SegmentJitterMs,
		SegmentIndexBytes:      tc.SegmentIndexBytes,
		IndexIntervalBytes:     tc.IndexIntervalBytes,
		MaxMessageBytes:        tc.MaxMessageBytes,
		RetentionMs:            tc.RetentionMs,
		RetentionBytes:         tc.RetentionBytes,
		FlushMessages:          tc.FlushMessages,
		FlushMs:                tc.FlushMs,
		FileDeleteDelayMs:      tc.FileDeleteDelayMs,
		Compact:                tc.Compact,
		Delete:                 tc.Delete,
		DeleteRetentionMs:      tc.DeleteRetentionMs,
		MinCompactionLagMs:     tc.MinCompactionLagMs,
		MaxCompactionLagMs:     tc.MaxCompactionLagMs,
		MinCleanableDirtyRatio: tc.MinCleanableDirtyRatio,
		LogAppendTime:          tc.MessageTimestampType == "LogAppendTime",
		TimestampBeforeMaxMs:   tc.MessageTimestampBeforeMaxMs,
		TimestampAfterMaxMs:    tc.MessageTimestampAfterMaxMs,
		Preallocate:            tc.Preallocate,
	}
}
