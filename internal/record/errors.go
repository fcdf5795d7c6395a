package record

import "errors"

// The sentinel errors below are what callers test with errors.Is; every
// error this package returns wraps exactly one of them with details. The
// handler maps them to Kafka error codes at the edge.
var (
	// ErrCorrupt marks bytes that are not a well-formed batch: a CRC
	// mismatch, a length that disagrees with the bytes present, records that
	// do not parse or whose count disagrees with the header. Kafka:
	// CORRUPT_MESSAGE.
	ErrCorrupt = errors.New("record: corrupt batch")

	// ErrTooLarge marks a batch larger than the topic's max.message.bytes.
	// Kafka: MESSAGE_TOO_LARGE.
	ErrTooLarge = errors.New("record: batch too large")

	// ErrInvalid marks a well-formed batch the broker refuses by rule: an
	// old magic, inconsistent offset deltas, a keyless record on a compacted
	// topic, a control batch from a client. Kafka: INVALID_RECORD.
	ErrInvalid = errors.New("record: invalid batch")

	// ErrUnsupportedCodec marks a compression codec id this build does not
	// know. Kafka: UNSUPPORTED_COMPRESSION_TYPE.
	ErrUnsupportedCodec = errors.New("record: unsupported compression codec")

	// ErrIncomplete means the buffer ends before the batch it starts does.
	// In a log tail that is a torn write; in a fetch it is the partial
	// batch Kafka allows at the end of a response.
	ErrIncomplete = errors.New("record: incomplete batch")
)
