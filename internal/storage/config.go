package storage

import (
	"fmt"
	"math"
)

// LogConfig is a topic's effective log settings, already resolved from
// broker defaults and topic overrides by internal/config. Field comments
// name the Kafka topic config each one carries. A LogConfig is a plain
// value; Log.SetConfig swaps it atomically.
type LogConfig struct {
	SegmentBytes       int32 // segment.bytes: roll when the active segment would exceed it
	SegmentMs          int64 // segment.ms: roll when the active segment's data spans this long
	SegmentJitterMs    int64 // segment.jitter.ms: random amount subtracted from segment.ms per segment
	SegmentIndexBytes  int32 // segment.index.bytes: preallocated size of .index and .timeindex
	IndexIntervalBytes int32 // index.interval.bytes: log bytes between offset index entries
	MaxMessageBytes    int32 // max.message.bytes: largest batch a producer may append

	RetentionMs    int64 // retention.ms: -1 keeps segments forever by time
	RetentionBytes int64 // retention.bytes: -1 keeps segments forever by size

	FlushMessages     int64 // flush.messages: fsync once this many messages are unflushed
	FlushMs           int64 // flush.ms: fsync when the last flush is this old (driven by the manager)
	FileDeleteDelayMs int64 // file.delete.delay.ms: how long deleted segment files stay readable

	Compact bool // cleanup.policy contains "compact"
	Delete  bool // cleanup.policy contains "delete"

	DeleteRetentionMs      int64   // delete.retention.ms (cleaner)
	MinCompactionLagMs     int64   // min.compaction.lag.ms (cleaner)
	MaxCompactionLagMs     int64   // max.compaction.lag.ms (cleaner)
	MinCleanableDirtyRatio float64 // min.cleanable.dirty.ratio (cleaner)

	LogAppendTime        bool  // message.timestamp.type=LogAppendTime
	TimestampBeforeMaxMs int64 // message.timestamp.before.max.ms
	TimestampAfterMaxMs  int64 // message.timestamp.after.max.ms

	Preallocate bool // preallocate: reserve segment.bytes for each new .log file
}

// DefaultLogConfig returns Kafka 4's topic defaults.
func DefaultLogConfig() LogConfig {
	return LogConfig{
		SegmentBytes:           1 << 30,
		SegmentMs:              7 * 24 * 3600 * 1000,
		SegmentJitterMs:        0,
		SegmentIndexBytes:      10 << 20,
		IndexIntervalBytes:     4096,
		MaxMessageBytes:        1048588,
		RetentionMs:            7 * 24 * 3600 * 1000,
		RetentionBytes:         -1,
		FlushMessages:          math.MaxInt64,
		FlushMs:                math.MaxInt64,
		FileDeleteDelayMs:      60000,
		Delete:                 true,
		DeleteRetentionMs:      24 * 3600 * 1000,
		MinCompactionLagMs:     0,
		MaxCompactionLagMs:     math.MaxInt64,
		MinCleanableDirtyRatio: 0.5,
		TimestampBeforeMaxMs:   math.MaxInt64,
		TimestampAfterMaxMs:    3600000,
	}
}

// validate rejects values the storage code cannot operate with. Kafka's
// own ranges (segment.bytes >= 14 and so on) are internal/config's job;
// this only guards the invariants this package's arithmetic relies on.
func (c LogConfig) validate() error {
	switch {
	case c.SegmentBytes <= 0:
		return fmt.Errorf("%w: segment.bytes %d", ErrInvalidConfig, c.SegmentBytes)
	case c.SegmentIndexBytes < timeEntrySize:
		return fmt.Errorf("%w: segment.index.bytes %d is below one index entry", ErrInvalidConfig, c.SegmentIndexBytes)
	case c.IndexIntervalBytes < 0:
		return fmt.Errorf("%w: index.interval.bytes %d", ErrInvalidConfig, c.IndexIntervalBytes)
	case c.SegmentMs <= 0:
		return fmt.Errorf("%w: segment.ms %d", ErrInvalidConfig, c.SegmentMs)
	case c.SegmentJitterMs < 0:
		return fmt.Errorf("%w: segment.jitter.ms %d", ErrInvalidConfig, c.SegmentJitterMs)
	case c.FileDeleteDelayMs < 0:
		return fmt.Errorf("%w: file.delete.delay.ms %d", ErrInvalidConfig, c.FileDeleteDelayMs)
	}
	return nil
}
