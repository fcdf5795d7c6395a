package record

import (
	"encoding/binary"
	"fmt"
)

// Record is one record of a batch, as Records presents it: offset and
// timestamp are absolute (the batch's base plus the record's deltas), and
// Key, Value and header values are nil for a null (length -1) and non-nil
// (possibly empty) otherwise.
//
// Records reuses one Record, and its Headers slice, for every record of a
// batch. Key, Value and header Values alias the batch (or, for a
// compressed batch, a pooled decompression buffer that is reused as soon
// as Records returns): they are valid only during the callback. Copy what
// must outlive it. Header keys are strings and so are copies; they may be
// kept.
type Record struct {
	// Attributes is the record's attribute byte, unused by Kafka (0).
	Attributes int8

	// Timestamp is the record's timestamp in ms: the batch's base
	// timestamp plus the record's delta, or the batch's max timestamp for
	// every record of a LogAppendTime batch, as Kafka's consumers read it.
	Timestamp int64

	// Offset is the batch's base offset plus the record's offset delta.
	Offset int64

	Key     []byte
	Value   []byte
	Headers []Header
}

// Records decodes the batch's records in order and calls fn for each,
// stopping at the first error fn returns, which Records returns as is. A
// compressed batch is decompressed first into a pooled buffer, within
// UncompressedLimit. Records does not check the CRC (see Verify).
//
// Parsing is strict: every varint must be well-formed and in range for
// its type, every length must fit inside its record, a record's fields
// must use exactly its declared length, the number of records must equal
// the header's recordCount, and no byte may follow the last record. Any
// violation, and any decompression failure, is ErrCorrupt, with the record
// index and field in the message. Records does not require offset deltas
// to be consecutive: the log cleaner leaves gaps.
//
// The Record passed to fn is reused; see Record for how long its slices
// stay valid. On an uncompressed batch Records makes no allocation per
// record except for header keys (which become strings).
func (b Batch) Records(fn func(*Record) error) error {
	if err := b.checkFraming(); err != nil {
		return err
	}
	data, buf, err := b.uncompressedRecords()
	if buf != nil {
		defer buf.release()
	}
	if err != nil {
		return err
	}
	rr := b.newRecordReader(data, ErrCorrupt)
	if rr.count < 0 {
		return fmt.Errorf("%w: negative record count %d (base offset %d)", ErrCorrupt, rr.count, rr.baseOffset)
	}
	var r Record
	for rr.more() {
		if err := rr.next(&r, true); err != nil {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rr.finish()
}

// checkFraming checks what must hold before anything past the header can
// be read: the header is present, the length field matches the bytes, and
// the magic is 2 (older formats have a different layout).
func (b Batch) checkFraming() error {
	if len(b) < HeaderSize {
		return fmt.Errorf("%w: %d bytes is below the %d-byte header", ErrCorrupt, len(b), HeaderSize)
	}
	if size := b.Size(); size != len(b) {
		return fmt.Errorf("%w: length field says %d bytes, %d present", ErrCorrupt, size, len(b))
	}
	if m := b.Magic(); m != CurrentMagic {
		return fmt.Errorf("%w: magic %d at base offset %d, only magic %d is readable", ErrCorrupt, m, b.BaseOffset(), CurrentMagic)
	}
	return nil
}

// recordReader walks the records of one batch. class is the sentinel that
// structural errors wrap: ErrCorrupt when reading stored batches,
// ErrInvalid when validating a producer's batch whose CRC checked out.
type recordReader struct {
	data          []byte
	pos           int
	index         int32 // of the next record
	count         int32 // declared
	baseOffset    int64
	baseTimestamp int64
	maxTimestamp  int64
	logAppendTime bool
	class         error

	// Set by next for callers that skip Record.Headers.
	offsetDelta int32
}

func (b Batch) newRecordReader(data []byte, class error) recordReader {
	return recordReader{
		data:          data,
		count:         b.NumRecords(),
		baseOffset:    b.BaseOffset(),
		baseTimestamp: b.BaseTimestamp(),
		maxTimestamp:  b.MaxTimestamp(),
		logAppendTime: b.Attributes().LogAppendTime(),
		class:         class,
	}
}

// more reports whether the header promises another record.
func (rr *recordReader) more() bool { return rr.index < rr.count }

// finish checks that the records block held exactly the declared records.
func (rr *recordReader) finish() error {
	if rr.pos != len(rr.data) {
		return fmt.Errorf("%w: %d bytes follow the last of %d declared records (base offset %d)",
			rr.class, len(rr.data)-rr.pos, rr.count, rr.baseOffset)
	}
	return nil
}

func (rr *recordReader) fail(field, format string, args ...any) error {
	return fmt.Errorf("%w: record %d of %d (base offset %d), %s: %s",
		rr.class, rr.index, rr.count, rr.baseOffset, field, fmt.Sprintf(format, args...))
}

// next parses the record at rr.pos into r. With wantHeaders false the
// headers are checked but r.Headers is left alone, which keeps
// validation free of allocations.
func (rr *recordReader) next(r *Record, wantHeaders bool) error {
	data := rr.data
	if rr.pos >= len(data) {
		return rr.fail("length", "records block ends after %d of %d declared records", rr.index, rr.count)
	}
	length, p, ok := varint32(data, rr.pos)
	if !ok {
		return rr.fail("length", "malformed varint")
	}
	if length < 0 || int(length) > len(data)-p {
		return rr.fail("length", "%d, with %d bytes left in the block", length, len(data)-p)
	}
	end := p + int(length)
	body := data[:end]
	if p >= end {
		return rr.fail("attributes", "record of length 0")
	}
	r.Attributes = int8(body[p])
	p++
	tsDelta, n := binary.Varint(body[p:])
	if n <= 0 {
		return rr.fail("timestampDelta", "malformed varlong")
	}
	p += n
	offsetDelta, p, ok := varint32(body, p)
	if !ok {
		return rr.fail("offsetDelta", "malformed varint")
	}
	if r.Key, p, ok = varBytes(body, p); !ok {
		return rr.fail("key", "bad length at byte %d of the record", p-(end-int(length)))
	}
	if r.Value, p, ok = varBytes(body, p); !ok {
		return rr.fail("value", "bad length at byte %d of the record", p-(end-int(length)))
	}
	headers, p, ok := varint32(body, p)
	if !ok || headers < 0 || int(headers) > (end-p)/2 {
		return rr.fail("headerCount", "%d does not fit the record (malformed or out of range)", headers)
	}
	if wantHeaders {
		r.Headers = r.Headers[:0]
	}
	for h := int32(0); h < headers; h++ {
		key, q, ok := varBytes(body, p)
		if !ok || key == nil {
			return rr.fail("header key", "header %d: bad or null key length", h)
		}
		value, q, ok := varBytes(body, q)
		if !ok {
			return rr.fail("header value", "header %d: bad value length", h)
		}
		p = q
		if wantHeaders {
			r.Headers = append(r.Headers, Header{Key: string(key), Value: value})
		}
	}
	if p != end {
		return rr.fail("length", "declares %d bytes but its fields end %d bytes earlier", length, end-p)
	}
	if rr.logAppendTime {
		r.Timestamp = rr.maxTimestamp
	} else {
		r.Timestamp = rr.baseTimestamp + tsDelta
	}
	r.Offset = rr.baseOffset + int64(offsetDelta)
	rr.offsetDelta = offsetDelta
	rr.pos = end
	rr.index++
	return nil
}

// varint32 decodes Kafka's zig-zag varint at b[p:]: at most 5 bytes whose
// value fits in 32 bits. ok is false if b ends first or the encoding runs
// over 32 bits.
func varint32(b []byte, p int) (v int32, next int, ok bool) {
	var u uint32
	for shift := uint(0); shift < 35; shift += 7 {
		if p >= len(b) {
			return 0, p, false
		}
		c := b[p]
		p++
		if shift == 28 && c > 0x0f {
			return 0, p, false
		}
		u |= uint32(c&0x7f) << shift
		if c < 0x80 {
			return int32(u>>1) ^ -int32(u&1), p, true
		}
	}
	return 0, p, false
}

// varBytes decodes a varint length followed by that many bytes: nil for
// length -1, an error for anything below -1 or past the end of b.
func varBytes(b []byte, p int) (v []byte, next int, ok bool) {
	n, p, ok := varint32(b, p)
	if !ok || n < -1 || int(n) > len(b)-p {
		return nil, p, false
	}
	if n == -1 {
		return nil, p, true
	}
	return b[p : p+int(n) : p+int(n)], p + int(n), true
}
