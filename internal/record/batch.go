package record

import (
	"encoding/binary"
	"fmt"
)

// Field offsets within a batch; see the layout in doc.go.
const (
	baseOffsetOffset           = 0
	lengthOffset               = 8
	partitionLeaderEpochOffset = 12
	magicOffset                = 16
	crcOffset                  = 17
	attributesOffset           = 21
	lastOffsetDeltaOffset      = 23
	baseTimestampOffset        = 27
	maxTimestampOffset         = 35
	producerIDOffset           = 43
	producerEpochOffset        = 51
	baseSequenceOffset         = 53
	recordCountOffset          = 57

	// HeaderSize is the size of a batch header: every byte before the first
	// record.
	HeaderSize = 61

	// LogOverhead is the size of the two fields that precede batchLength's
	// span: baseOffset and batchLength itself. A batch occupies
	// LogOverhead + batchLength bytes.
	LogOverhead = 12

	// CurrentMagic is the only batch format this broker stores (v2, Kafka
	// 0.11 and later). Kafka 4 dropped older formats too.
	CurrentMagic = 2

	// NoProducerID, NoProducerEpoch and NoSequence are the header values of
	// a batch from a producer that is not idempotent.
	NoProducerID    = -1
	NoProducerEpoch = -1
	NoSequence      = -1

	// NoTimestamp is Kafka's "no timestamp" value (-1).
	NoTimestamp = -1
)

// Batch is one whole RecordBatch: exactly the bytes from baseOffset to the
// end of its records, as a producer sends it and as the log stores it.
// Accessors read header fields straight from the bytes; setters write them
// in place, so a Batch aliases whatever buffer it was sliced from. A Batch
// is a value over shared bytes: it is safe for concurrent reads, not for a
// write concurrent with anything.
type Batch []byte

// Attributes is a batch's attribute bit set.
type Attributes int16

// Codec is a compression codec id, as stored in the low 3 attribute bits.
type Codec int8

// The codecs Kafka defines.
const (
	CodecNone   Codec = 0
	CodecGzip   Codec = 1
	CodecSnappy Codec = 2
	CodecLz4    Codec = 3
	CodecZstd   Codec = 4
)

const (
	codecMask              Attributes = 0x07
	timestampTypeBit       Attributes = 0x08
	transactionalBit       Attributes = 0x10
	controlBit             Attributes = 0x20
	deleteHorizonBit       Attributes = 0x40
	maxKnownAttributesBits Attributes = 0x7f
)

// String returns the codec's Kafka name (compression.type value).
func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLz4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	}
	return fmt.Sprintf("codec(%d)", int8(c))
}

// Codec returns the compression codec of the batch's records.
func (a Attributes) Codec() Codec { return Codec(a & codecMask) }

// LogAppendTime reports whether the batch's timestamps were set by the
// broker (timestamp type LogAppendTime) rather than the producer.
func (a Attributes) LogAppendTime() bool { return a&timestampTypeBit != 0 }

// Transactional reports whether the batch belongs to a transaction.
func (a Attributes) Transactional() bool { return a&transactionalBit != 0 }

// Control reports whether the batch holds a control record (a transaction
// commit or abort marker) rather than data.
func (a Attributes) Control() bool { return a&controlBit != 0 }

// HasDeleteHorizon reports whether the cleaner stamped the batch with a
// delete horizon (then carried in baseTimestamp).
func (a Attributes) HasDeleteHorizon() bool { return a&deleteHorizonBit != 0 }

// WithCodec returns the attributes with the codec replaced.
func (a Attributes) WithCodec(c Codec) Attributes { return a&^codecMask | Attributes(c)&codecMask }

// WithLogAppendTime returns the attributes with the timestamp type set.
func (a Attributes) WithLogAppendTime(on bool) Attributes { return setBit(a, timestampTypeBit, on) }

// WithTransactional returns the attributes with isTransactional set.
func (a Attributes) WithTransactional(on bool) Attributes { return setBit(a, transactionalBit, on) }

// WithControl returns the attributes with isControlBatch set.
func (a Attributes) WithControl(on bool) Attributes { return setBit(a, controlBit, on) }

// WithDeleteHorizon returns the attributes with hasDeleteHorizonMs set.
func (a Attributes) WithDeleteHorizon(on bool) Attributes { return setBit(a, deleteHorizonBit, on) }

func setBit(a, bit Attributes, on bool) Attributes {
	if on {
		return a | bit
	}
	return a &^ bit
}

// Peek returns the batch that starts buf (a prefix of buf, aliasing it) after
// checking only what is needed to find its end: that the header is present,
// the length is sane and the whole batch is in buf. It checks neither magic
// nor CRC; use Verify for that. An ErrIncomplete error means buf ends inside
// the batch (a torn tail, or the partial batch a fetch may end with);
// ErrCorrupt means the length field cannot be right.
func Peek(buf []byte) (Batch, error) {
	if len(buf) < LogOverhead {
		return nil, fmt.Errorf("%w: %d bytes, need %d for offset and length", ErrIncomplete, len(buf), LogOverhead)
	}
	length := int32(binary.BigEndian.Uint32(buf[lengthOffset:]))
	if length < HeaderSize-LogOverhead {
		return nil, fmt.Errorf("%w: batch length %d is below the %d-byte header", ErrCorrupt, length, HeaderSize-LogOverhead)
	}
	size := LogOverhead + int64(length)
	if int64(len(buf)) < size {
		return nil, fmt.Errorf("%w: batch of %d bytes, %d present", ErrIncomplete, size, len(buf))
	}
	return Batch(buf[:size]), nil
}

// Verify checks the parts of a batch that storage must trust before it
// serves or indexes the batch: magic 2, a plausible header, the CRC over
// attributes..end, and a non-negative lastOffsetDelta. It does not parse
// the records; Validate does that for batches arriving from producers.
// The batch must come from Peek (its length field matches len(b)).
func (b Batch) Verify() error {
	if len(b) < HeaderSize {
		return fmt.Errorf("%w: %d bytes is below the %d-byte header", ErrCorrupt, len(b), HeaderSize)
	}
	if m := b.Magic(); m != CurrentMagic {
		return fmt.Errorf("%w: magic %d at base offset %d, only magic %d is stored", ErrCorrupt, m, b.BaseOffset(), CurrentMagic)
	}
	if got, want := b.ComputeCRC(), b.CRC(); got != want {
		return fmt.Errorf("%w: crc %08x computed, %08x stored, at base offset %d", ErrCorrupt, got, want, b.BaseOffset())
	}
	if d := b.LastOffsetDelta(); d < 0 {
		return fmt.Errorf("%w: negative lastOffsetDelta %d at base offset %d", ErrCorrupt, d, b.BaseOffset())
	}
	return nil
}

// Size returns the number of bytes the batch occupies, from its length field.
func (b Batch) Size() int { return LogOverhead + int(int32(binary.BigEndian.Uint32(b[lengthOffset:]))) }

// BaseOffset returns the offset of the batch's first record.
func (b Batch) BaseOffset() int64 { return int64(binary.BigEndian.Uint64(b[baseOffsetOffset:])) }

// LastOffset returns the offset of the batch's last record (which the
// cleaner may have removed: the batch still claims the offset).
func (b Batch) LastOffset() int64 { return b.BaseOffset() + int64(b.LastOffsetDelta()) }

// NextOffset returns the offset just past the batch.
func (b Batch) NextOffset() int64 { return b.LastOffset() + 1 }

// Length returns the batchLength field.
func (b Batch) Length() int32 { return int32(binary.BigEndian.Uint32(b[lengthOffset:])) }

// PartitionLeaderEpoch returns the leader epoch stamped on append.
func (b Batch) PartitionLeaderEpoch() int32 {
	return int32(binary.BigEndian.Uint32(b[partitionLeaderEpochOffset:]))
}

// Magic returns the format version byte.
func (b Batch) Magic() int8 { return int8(b[magicOffset]) }

// CRC returns the stored checksum.
func (b Batch) CRC() uint32 { return binary.BigEndian.Uint32(b[crcOffset:]) }

// ComputeCRC returns the CRC-32C of the span the checksum covers.
func (b Batch) ComputeCRC() uint32 { return crc32cUpdate(0, b[attributesOffset:]) }

// Attributes returns the attribute bits.
func (b Batch) Attributes() Attributes {
	return Attributes(binary.BigEndian.Uint16(b[attributesOffset:]))
}

// LastOffsetDelta returns the delta of the last offset from the base offset.
func (b Batch) LastOffsetDelta() int32 {
	return int32(binary.BigEndian.Uint32(b[lastOffsetDeltaOffset:]))
}

// BaseTimestamp returns the timestamp record deltas are relative to (or,
// with HasDeleteHorizon, the delete horizon).
func (b Batch) BaseTimestamp() int64 { return int64(binary.BigEndian.Uint64(b[baseTimestampOffset:])) }

// MaxTimestamp returns the largest record timestamp, or the broker's append
// time for a LogAppendTime batch.
func (b Batch) MaxTimestamp() int64 { return int64(binary.BigEndian.Uint64(b[maxTimestampOffset:])) }

// ProducerID returns the idempotent producer id, or NoProducerID.
func (b Batch) ProducerID() int64 { return int64(binary.BigEndian.Uint64(b[producerIDOffset:])) }

// ProducerEpoch returns the producer epoch.
func (b Batch) ProducerEpoch() int16 { return int16(binary.BigEndian.Uint16(b[producerEpochOffset:])) }

// BaseSequence returns the sequence number of the first record, or NoSequence.
func (b Batch) BaseSequence() int32 { return int32(binary.BigEndian.Uint32(b[baseSequenceOffset:])) }

// LastSequence returns the sequence number of the last record, wrapping at
// MaxInt32 as Kafka's sequences do, or NoSequence.
func (b Batch) LastSequence() int32 {
	base := b.BaseSequence()
	if base == NoSequence {
		return NoSequence
	}
	return int32((int64(base) + int64(b.LastOffsetDelta())) % (1 << 31))
}

// NumRecords returns the recordCount field.
func (b Batch) NumRecords() int32 { return int32(binary.BigEndian.Uint32(b[recordCountOffset:])) }

// RecordsBytes returns the records block (compressed if the codec says so),
// aliasing b.
func (b Batch) RecordsBytes() []byte { return b[HeaderSize:] }

// SetBaseOffset writes the base offset. The CRC does not cover it.
func (b Batch) SetBaseOffset(offset int64) {
	binary.BigEndian.PutUint64(b[baseOffsetOffset:], uint64(offset))
}

// SetPartitionLeaderEpoch writes the leader epoch. The CRC does not cover it.
func (b Batch) SetPartitionLeaderEpoch(epoch int32) {
	binary.BigEndian.PutUint32(b[partitionLeaderEpochOffset:], uint32(epoch))
}

// SetLogAppendTime marks the batch as LogAppendTime with the given broker
// time as its max timestamp, as Kafka does (record deltas stay untouched:
// consumers use maxTimestamp for every record of such a batch), and
// recomputes the CRC.
func (b Batch) SetLogAppendTime(nowMs int64) {
	attrs := b.Attributes().WithLogAppendTime(true)
	binary.BigEndian.PutUint16(b[attributesOffset:], uint16(attrs))
	binary.BigEndian.PutUint64(b[maxTimestampOffset:], uint64(nowMs))
	b.UpdateCRC()
}

// SetMaxTimestamp writes the max timestamp of a CreateTime batch, as
// Kafka's broker does with the maximum it computed from the records (the
// producer's value may differ), and recomputes the CRC if the value
// changed.
func (b Batch) SetMaxTimestamp(ts int64) {
	if b.MaxTimestamp() == ts {
		return
	}
	binary.BigEndian.PutUint64(b[maxTimestampOffset:], uint64(ts))
	b.UpdateCRC()
}

// UpdateCRC recomputes and stores the checksum after a covered field changed.
func (b Batch) UpdateCRC() {
	binary.BigEndian.PutUint32(b[crcOffset:], b.ComputeCRC())
}

// Batches calls fn for each whole batch in buf in order, stopping at the
// first error from fn. It returns the number of bytes consumed by whole
// batches and, if buf ends inside a batch or holds a bad length, the error
// Peek reported for it (ErrIncomplete or ErrCorrupt); a buffer that ends
// exactly on a batch boundary yields a nil error. Batches does not verify
// CRCs.
func Batches(buf []byte, fn func(Batch) error) (int, error) {
	pos := 0
	for pos < len(buf) {
		b, err := Peek(buf[pos:])
		if err != nil {
			return pos, err
		}
		if err := fn(b); err != nil {
			return pos, err
		}
		pos += len(b)
	}
	return pos, nil
}
