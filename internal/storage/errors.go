package storage

import "errors"

// The sentinel errors below are what callers test with errors.Is; every
// error this package returns wraps one of them (or an error from
// internal/record, or an *os.PathError from the file system) with context.
// The handler maps them to Kafka error codes at the edge.
var (
	// ErrOffsetOutOfRange marks a read, lookup or DeleteRecords offset
	// outside [log start offset, log end offset] (or above the high
	// watermark for DeleteRecords). Kafka: OFFSET_OUT_OF_RANGE.
	ErrOffsetOutOfRange = errors.New("storage: offset out of range")

	// ErrLogClosed is returned by every operation on a Log after Close or
	// Delete. Kafka: KAFKA_STORAGE_ERROR (the partition is offline here).
	ErrLogClosed = errors.New("storage: log closed")

	// ErrLogFailed is returned by every Append, Flush, FlushUpTo, Roll,
	// truncation and retention call on a Log after one of its fsyncs
	// failed (the failing flush itself returns it too). The log stays
	// failed until the broker restarts and recovers the directory by
	// scanning it: after a failed fsync Linux may drop the dirty pages, so
	// retrying would report data durable that never reached the disk.
	// Kafka: KAFKA_STORAGE_ERROR (Kafka takes the whole log dir offline).
	ErrLogFailed = errors.New("storage: log failed (an fsync failed); restart to recover")

	// ErrRecordBatchTooLarge marks an append larger than segment.bytes:
	// it can never fit in one segment. Kafka: RECORD_BATCH_TOO_LARGE.
	ErrRecordBatchTooLarge = errors.New("storage: record batch larger than segment.bytes")

	// ErrOffsetsOutOfOrder marks a replication append whose batches do not
	// have strictly increasing offsets. Kafka: OffsetsOutOfOrderException
	// (UNKNOWN_SERVER_ERROR on the wire; a follower bug).
	ErrOffsetsOutOfOrder = errors.New("storage: offsets out of order")

	// ErrUnexpectedAppendOffset marks a replication append whose first
	// offset is below the log end offset. Kafka:
	// UnexpectedAppendOffsetException.
	ErrUnexpectedAppendOffset = errors.New("storage: append offset below log end offset")

	// ErrCorruptIndex marks an index file that fails its sanity check.
	// Open never returns it: it rebuilds the index instead. It is exported
	// so tests and logs can name the condition.
	ErrCorruptIndex = errors.New("storage: corrupt index")

	// ErrCorruptSegment marks log bytes that stopped parsing after Open had
	// accepted them (a disk that changed under a running broker). Reads
	// that hit it fail rather than serve garbage.
	ErrCorruptSegment = errors.New("storage: corrupt segment data")

	// ErrCorruptCheckpoint marks a leader-epoch-checkpoint or
	// partition.metadata file that does not parse.
	ErrCorruptCheckpoint = errors.New("storage: corrupt checkpoint file")

	// ErrInconsistentTopicID marks a partition directory whose
	// partition.metadata names a different topic id than the one Open was
	// given. Kafka: INCONSISTENT_TOPIC_ID.
	ErrInconsistentTopicID = errors.New("storage: inconsistent topic id")

	// ErrStaleLeaderEpoch marks an AssignLeaderEpoch with an epoch older
	// than the newest one the log already holds (or a negative one): a
	// leader epoch never goes backwards. Kafka: FENCED_LEADER_EPOCH.
	ErrStaleLeaderEpoch = errors.New("storage: leader epoch older than the log's latest")

	// ErrTruncatedRead means the bytes a ReadResult described were cut
	// from the file (by TruncateTo) before they were copied out; the
	// caller must drop what it sent (close the connection).
	ErrTruncatedRead = errors.New("storage: read range truncated before it was copied")

	// ErrInvalidConfig marks a LogConfig value this package cannot work
	// with (internal/config validates the Kafka ranges first).
	ErrInvalidConfig = errors.New("storage: invalid log config")

	// ErrInvalidProducerEpoch marks a producer batch whose epoch is older
	// than the producer's current one (a zombie producer). Kafka:
	// INVALID_PRODUCER_EPOCH.
	ErrInvalidProducerEpoch = errors.New("storage: producer epoch older than the current one")

	// ErrOutOfOrderSequence marks an idempotent batch whose sequence does
	// not follow its producer's last one. Kafka: OUT_OF_ORDER_SEQUENCE_NUMBER.
	ErrOutOfOrderSequence = errors.New("storage: out of order sequence number")

	// ErrCorruptSnapshot marks a producer state snapshot that does not
	// parse. Open never returns it: it falls back to an older snapshot or
	// a scan of the log.
	ErrCorruptSnapshot = errors.New("storage: corrupt producer state snapshot")
)
