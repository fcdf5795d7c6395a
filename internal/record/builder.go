package record

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Header is one record header. A nil Value is a null header value.
type Header struct {
	Key   string
	Value []byte
}

// BuilderOptions are the batch-level fields of a batch to build.
type BuilderOptions struct {
	BaseOffset           int64
	PartitionLeaderEpoch int32
	Codec                Codec
	LogAppendTime        bool
	Transactional        bool
	Control              bool
	ProducerID           int64 // NoProducerID unless idempotent
	ProducerEpoch        int16 // NoProducerEpoch unless idempotent
	BaseSequence         int32 // NoSequence unless idempotent
}

// DefaultBuilderOptions returns options for a plain, non-idempotent,
// uncompressed batch at offset 0.
func DefaultBuilderOptions() BuilderOptions {
	return BuilderOptions{ProducerID: NoProducerID, ProducerEpoch: NoProducerEpoch, BaseSequence: NoSequence}
}

// Builder accumulates records into one batch. It is what tests and the
// broker's own internal-topic writers use; producers' batches arrive already
// built. A Builder is not safe for concurrent use.
type Builder struct {
	opts     BuilderOptions
	records  []byte
	count    int32
	firstTs  int64
	maxTs    int64
	scratch  []byte
	hasFirst bool
}

// NewBuilder returns an empty builder.
func NewBuilder(opts BuilderOptions) *Builder {
	return &Builder{opts: opts}
}

// Len returns the number of records added so far.
func (b *Builder) Len() int { return int(b.count) }

// Add appends a record with the given timestamp (ms). Offsets are
// consecutive from the batch's base offset. A nil key or value is encoded
// as null (a nil value is a tombstone).
func (b *Builder) Add(timestampMs int64, key, value []byte, headers ...Header) {
	if !b.hasFirst {
		b.firstTs, b.maxTs, b.hasFirst = timestampMs, timestampMs, true
	}
	if timestampMs > b.maxTs {
		b.maxTs = timestampMs
	}
	body := b.scratch[:0]
	body = append(body, 0) // record attributes: unused
	body = AppendVarlong(body, timestampMs-b.firstTs)
	body = AppendVarint(body, b.count)
	body = appendVarBytes(body, key)
	body = appendVarBytes(body, value)
	body = AppendVarint(body, int32(len(headers)))
	for _, h := range headers {
		body = appendVarBytes(body, []byte(h.Key))
		body = appendVarBytes(body, h.Value)
	}
	b.records = AppendVarint(b.records, int32(len(body)))
	b.records = append(b.records, body...)
	b.scratch = body
	b.count++
}

// Build returns the finished batch in a new buffer the caller owns, with its
// CRC set and its records compressed with the options' codec (see
// AppendCompressed for the formats). Building an empty batch is an error:
// Kafka has no such thing on the wire from producers. The builder keeps
// its records; Build may be called again.
func (b *Builder) Build() (Batch, error) {
	if b.count == 0 {
		return nil, fmt.Errorf("%w: a batch needs at least one record", ErrInvalid)
	}
	size := HeaderSize + len(b.records)
	if b.opts.Codec != CodecNone {
		size = HeaderSize + len(b.records)/2 + 64
	}
	out, err := AppendCompressed(make([]byte, HeaderSize, size), b.opts.Codec, b.records)
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > math.MaxInt32 {
		return nil, fmt.Errorf("%w: batch of %d bytes", ErrTooLarge, len(out))
	}
	binary.BigEndian.PutUint64(out[baseOffsetOffset:], uint64(b.opts.BaseOffset))
	binary.BigEndian.PutUint32(out[lengthOffset:], uint32(len(out)-LogOverhead))
	binary.BigEndian.PutUint32(out[partitionLeaderEpochOffset:], uint32(b.opts.PartitionLeaderEpoch))
	out[magicOffset] = CurrentMagic
	attrs := Attributes(0).WithCodec(b.opts.Codec).WithLogAppendTime(b.opts.LogAppendTime).
		WithTransactional(b.opts.Transactional).WithControl(b.opts.Control)
	binary.BigEndian.PutUint16(out[attributesOffset:], uint16(attrs))
	binary.BigEndian.PutUint32(out[lastOffsetDeltaOffset:], uint32(b.count-1))
	binary.BigEndian.PutUint64(out[baseTimestampOffset:], uint64(b.firstTs))
	binary.BigEndian.PutUint64(out[maxTimestampOffset:], uint64(b.maxTs))
	binary.BigEndian.PutUint64(out[producerIDOffset:], uint64(b.opts.ProducerID))
	binary.BigEndian.PutUint16(out[producerEpochOffset:], uint16(b.opts.ProducerEpoch))
	binary.BigEndian.PutUint32(out[baseSequenceOffset:], uint32(b.opts.BaseSequence))
	binary.BigEndian.PutUint32(out[recordCountOffset:], uint32(b.count))
	batch := Batch(out)
	batch.UpdateCRC()
	return batch, nil
}

// AppendVarint appends v zig-zag encoded, as Kafka's varint.
func AppendVarint(dst []byte, v int32) []byte {
	return binary.AppendUvarint(dst, uint64(uint32(v<<1)^uint32(v>>31)))
}

// AppendVarlong appends v zig-zag encoded, as Kafka's varlong.
func AppendVarlong(dst []byte, v int64) []byte {
	return binary.AppendVarint(dst, v)
}

func appendVarBytes(dst, p []byte) []byte {
	if p == nil {
		return AppendVarint(dst, -1)
	}
	dst = AppendVarint(dst, int32(len(p)))
	return append(dst, p...)
}
