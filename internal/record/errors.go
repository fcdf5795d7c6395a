package record

import (
	"errors"
	"fmt"
)

// The sentinel errors below are what callers test with errors.Is; every
// error this package returns wraps exactly one of them with details. The
// handler maps them to Kafka error codes at the edge.
var (
	// ErrCorrupt marks bytes that are not a well-formed batch: a CRC
	// mismatch, a length that disagrees with the bytes present, a records
	// block that does not decompress (or would decompress beyond
	// UncompressedLimit), and, from Records, records that do not parse or
	// whose count disagrees with the header. Kafka: CORRUPT_MESSAGE.
	//
	// Validate reports records that do not parse inside a batch whose CRC
	// is intact as ErrInvalid instead, as Kafka does (its record reader
	// throws InvalidRecordException there): the producer built the batch
	// wrong, and CORRUPT_MESSAGE would make it retry the same bytes.
	ErrCorrupt = errors.New("record: corrupt batch")

	// ErrTooLarge marks a batch larger than the topic's max.message.bytes.
	// Kafka: MESSAGE_TOO_LARGE.
	ErrTooLarge = errors.New("record: batch too large")

	// ErrInvalid marks a batch the broker refuses by rule: an old magic,
	// inconsistent offset deltas or record count, a keyless record on a
	// compacted topic, a control batch from a client, a producer id without
	// a sequence. Kafka: INVALID_RECORD.
	ErrInvalid = errors.New("record: invalid batch")

	// ErrInvalidTimestamp marks a batch refused because a record's
	// timestamp lies outside [now - message.timestamp.before.max.ms,
	// now + message.timestamp.after.max.ms], or because a producer set the
	// LogAppendTime timestamp type itself. Kafka: INVALID_TIMESTAMP. It
	// wraps ErrInvalid, so errors.Is(err, ErrInvalid) holds too: a handler
	// that maps errors to codes must test ErrInvalidTimestamp first.
	ErrInvalidTimestamp = fmt.Errorf("%w: invalid timestamp", ErrInvalid)

	// ErrUnsupportedCodec marks a compression codec id this build does not
	// know. Kafka: UNSUPPORTED_COMPRESSION_TYPE.
	ErrUnsupportedCodec = errors.New("record: unsupported compression codec")

	// ErrIncomplete means the buffer ends before the batch it starts does.
	// In a log tail that is a torn write; in a fetch it is the partial
	// batch Kafka allows at the end of a response.
	ErrIncomplete = errors.New("record: incomplete batch")
)
