package record

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ValidateOptions are the topic settings and clock a producer batch is
// validated against. Zero values are strict (a zero TimestampAfterMaxMs
// rejects any timestamp after NowMs); callers pass the topic's config.
type ValidateOptions struct {
	// MaxBatchBytes is max.message.bytes: a batch larger than this is
	// ErrTooLarge. Zero or less means no limit.
	MaxBatchBytes int

	// Compacted is cleanup.policy containing compact: every record needs
	// a non-null key.
	Compacted bool

	// NowMs is the broker's clock, in ms since the epoch.
	NowMs int64

	// TimestampBeforeMaxMs and TimestampAfterMaxMs are
	// message.timestamp.before.max.ms and message.timestamp.after.max.ms:
	// a CreateTime record timestamp must lie in
	// [NowMs - TimestampBeforeMaxMs, NowMs + TimestampAfterMaxMs].
	TimestampBeforeMaxMs int64
	TimestampAfterMaxMs  int64

	// LogAppendTime is message.timestamp.type=LogAppendTime: record
	// timestamps are not range-checked (the broker's time replaces them)
	// and BatchInfo reports NowMs as the max timestamp.
	LogAppendTime bool

	// AllowControl marks an append by the broker's own coordinators
	// (Kafka's AppendOrigin.COORDINATOR) rather than a client: control
	// batches (transaction markers) are admitted, and the client-only rule
	// that a producer id comes with a sequence is skipped, since markers
	// and transactional offset commits carry a producer id and no
	// sequence.
	AllowControl bool
}

// BatchInfo is what Validate learned about a batch it accepted.
type BatchInfo struct {
	// NumRecords is the number of records (== the header's recordCount).
	NumRecords int32

	// MaxTimestamp is the largest record timestamp, NoTimestamp if no
	// record has a timestamp above -1, or NowMs with LogAppendTime.
	// Kafka stores it into the batch header (see SetMaxTimestamp), where
	// the producer may have written something else.
	MaxTimestamp int64

	// OffsetOfMaxTimestamp is the absolute offset, computed from the
	// batch's base offset at the time of the call, of the first record
	// whose timestamp is MaxTimestamp: the first record with
	// LogAppendTime, -1 if no record has a timestamp. A log that assigns
	// a new base offset afterwards shifts it by the same amount.
	OffsetOfMaxTimestamp int64

	// Codec, Transactional and Control repeat the batch's attributes.
	Codec         Codec
	Transactional bool
	Control       bool

	// UncompressedBytes is the size of the records block after
	// decompression (its plain size for an uncompressed batch).
	UncompressedBytes int
}

// RecordError is one record's breach of a per-record rule: its index in
// the batch and Kafka's message for it. The handler reports these in a
// ProduceResponse's RecordErrors (KIP-467).
type RecordError struct {
	Index   int32
	Message string
}

// maxRecordErrors caps how many RecordErrors a ValidationError keeps, so
// a batch of millions of bad records does not cost millions of strings.
const maxRecordErrors = 1000

// ValidationError reports a batch refused because some of its records
// broke per-record rules (a null key on a compacted topic, a timestamp out
// of range). As in Kafka the whole batch is refused. It unwraps to
// ErrInvalidTimestamp if any record's timestamp was at fault, else to
// ErrInvalid, as Kafka answers INVALID_TIMESTAMP in the first case and
// INVALID_RECORD otherwise.
type ValidationError struct {
	// Records lists the first (up to 1000) records in error, in order.
	Records []RecordError
	// Total is the number of records in error.
	Total int
	// Err is ErrInvalidTimestamp or ErrInvalid.
	Err error
	// BaseOffset is the batch's base offset, for messages.
	BaseOffset int64
}

// Error formats the error as Kafka's LogValidator does, with the first
// three record errors.
func (e *ValidationError) Error() string {
	var sb strings.Builder
	sb.WriteString(e.Err.Error())
	if e.Err == ErrInvalidTimestamp {
		fmt.Fprintf(&sb, ": one or more records have been rejected due to invalid timestamp (batch at base offset %d): ", e.BaseOffset)
	} else {
		fmt.Fprintf(&sb, ": one or more records have been rejected due to %d record errors in total (batch at base offset %d), showing at most the first three: ", e.Total, e.BaseOffset)
	}
	for i, r := range e.Records[:min(3, len(e.Records))] {
		if i > 0 {
			sb.WriteString("; ")
		}
		fmt.Fprintf(&sb, "record %d: %s", r.Index, r.Message)
	}
	return sb.String()
}

// Unwrap returns ErrInvalidTimestamp or ErrInvalid.
func (e *ValidationError) Unwrap() error { return e.Err }

// Validate checks a batch as a producer sent it, the way Kafka's broker
// does for magic 2 (ProduceRequest's checks, UnifiedLog's
// analyzeAndValidateRecords and LogValidator), and returns what storage
// needs to append it. b must be exactly one batch (as from Peek). In
// order, the rules and their errors are:
//
//   - the header is present and the length field matches len(b): ErrCorrupt
//   - magic is 2 (older formats are refused for current produce versions):
//     ErrInvalid
//   - len(b) <= MaxBatchBytes: ErrTooLarge
//   - the CRC matches: ErrCorrupt
//   - the codec is known: ErrUnsupportedCodec
//   - lastOffsetDelta >= 0, recordCount > 0 and
//     lastOffsetDelta == recordCount-1: ErrInvalid
//   - no control batch unless AllowControl: ErrInvalid
//   - a transactional batch has a producer id (stricter than Kafka, whose
//     clients cannot build such a batch): ErrInvalid
//   - from a client (not AllowControl), a batch with a producer id
//     (>= 0) has a base sequence >= 0: ErrInvalid
//   - the records block decompresses within UncompressedLimit: ErrCorrupt
//   - every record parses strictly (see Records) and their number is
//     recordCount: ErrInvalid, as Kafka's InvalidRecordException
//   - record i has offset delta i: ErrInvalid (Kafka rewrites such
//     batches instead; this broker stores batches as they arrive, and
//     every magic 2 client writes consecutive deltas)
//   - each record of a control batch has a control key: ErrInvalid
//   - per record, collected over the whole batch into a *ValidationError:
//     a non-null key on a compacted topic, then (for a CreateTime topic
//     and a timestamp other than -1) a timestamp within
//     [NowMs-TimestampBeforeMaxMs, NowMs+TimestampAfterMaxMs]; a batch
//     the producer marked LogAppendTime fails every record
//     (ErrInvalidTimestamp; Kafka accepts one odd case of this, a
//     CreateTime topic and an in-range max timestamp, which no client
//     produces)
//
// Validate does not modify b and does not check producer state (epochs,
// sequence continuity, duplicates), which belongs to the log. It makes no
// allocation for an uncompressed batch that passes; a compressed one is
// decompressed into a pooled buffer. The records of a data batch are
// walked by a fast path (walkPlain) that only accepts; whatever it
// declines the general walk decides, so both give the same result on any
// input. It is safe for concurrent use.
func Validate(b Batch, opts ValidateOptions) (BatchInfo, error) {
	return validate(b, opts, true)
}

// validate is Validate; with fast false it never takes the fast path for
// data batches (walkPlain), so tests can check that both paths reach the
// same verdict, BatchInfo and error on any input.
func validate(b Batch, opts ValidateOptions, fast bool) (BatchInfo, error) {
	if len(b) < HeaderSize {
		return BatchInfo{}, fmt.Errorf("%w: %d bytes is below the %d-byte header", ErrCorrupt, len(b), HeaderSize)
	}
	if size := b.Size(); size != len(b) {
		return BatchInfo{}, fmt.Errorf("%w: length field says %d bytes, %d present", ErrCorrupt, size, len(b))
	}
	if m := b.Magic(); m != CurrentMagic {
		return BatchInfo{}, fmt.Errorf("%w: magic %d; produce requests must carry magic %d batches", ErrInvalid, m, CurrentMagic)
	}
	if opts.MaxBatchBytes > 0 && len(b) > opts.MaxBatchBytes {
		return BatchInfo{}, fmt.Errorf("%w: batch of %d bytes exceeds the maximum of %d", ErrTooLarge, len(b), opts.MaxBatchBytes)
	}
	if got, want := b.ComputeCRC(), b.CRC(); got != want {
		return BatchInfo{}, fmt.Errorf("%w: crc %08x computed, %08x stored", ErrCorrupt, got, want)
	}
	attrs := b.Attributes()
	codec := attrs.Codec()
	count := b.NumRecords()
	if err := checkHeader(b, attrs, opts); err != nil {
		return BatchInfo{}, err
	}
	data, buf, err := b.uncompressedRecords()
	if buf != nil {
		defer buf.release()
	}
	if err != nil {
		return BatchInfo{}, err
	}

	info := BatchInfo{
		NumRecords:           count,
		MaxTimestamp:         NoTimestamp,
		OffsetOfMaxTimestamp: -1,
		Codec:                codec,
		Transactional:        attrs.Transactional(),
		Control:              attrs.Control(),
		UncompressedBytes:    len(data),
	}
	lo := saturatingSub(opts.NowMs, opts.TimestampBeforeMaxMs)
	hi := saturatingAdd(opts.NowMs, opts.TimestampAfterMaxMs)
	if fast && !attrs.Control() && !attrs.LogAppendTime() {
		// A data batch, the common case, has a walk of its own
		// (walkPlain). It accepts only records every rule accepts;
		// anything else goes on to the general walk below, which finds
		// the exact error.
		if w := walkPlain(data, count, b.BaseTimestamp(), lo, hi, !opts.LogAppendTime, opts.Compacted); w.ok {
			info.MaxTimestamp = w.maxTimestamp
			if w.maxIndex >= 0 {
				info.OffsetOfMaxTimestamp = b.BaseOffset() + int64(w.maxIndex)
			}
			if opts.LogAppendTime {
				info.MaxTimestamp = opts.NowMs
				info.OffsetOfMaxTimestamp = b.BaseOffset()
			}
			return info, nil
		}
	}
	var (
		rr   = b.newRecordReader(data, ErrInvalid)
		r    Record
		verr *ValidationError
	)
	for rr.more() {
		i := rr.index
		if err := rr.next(&r, false); err != nil {
			return BatchInfo{}, err
		}
		if rr.offsetDelta != i {
			return BatchInfo{}, fmt.Errorf("%w: record %d has offset delta %d (base offset %d); deltas must run 0..%d",
				ErrInvalid, i, rr.offsetDelta, b.BaseOffset(), count-1)
		}
		if info.Control {
			if _, err := ParseControlKey(r.Key); err != nil {
				return BatchInfo{}, fmt.Errorf("%w: record %d of a control batch: %v", ErrInvalid, i, err)
			}
		}
		switch {
		case opts.Compacted && r.Key == nil:
			verr = addRecordError(verr, b, i, ErrInvalid, "Compacted topic cannot accept message without key")
		case attrs.LogAppendTime():
			verr = addRecordError(verr, b, i, ErrInvalidTimestamp, "Invalid timestamp type in message. Producer should not set timestamp type to LogAppendTime.")
		case !opts.LogAppendTime && r.Timestamp != NoTimestamp && (r.Timestamp < lo || r.Timestamp > hi):
			verr = addRecordError(verr, b, i, ErrInvalidTimestamp, fmt.Sprintf(
				"Timestamp %d of message with offset %d is out of range. The timestamp should be within [%d, %d]",
				r.Timestamp, r.Offset, lo, hi))
		}
		if r.Timestamp > info.MaxTimestamp {
			info.MaxTimestamp = r.Timestamp
			info.OffsetOfMaxTimestamp = r.Offset
		}
	}
	if err := rr.finish(); err != nil {
		return BatchInfo{}, err
	}
	if verr != nil {
		return BatchInfo{}, verr
	}
	if opts.LogAppendTime {
		info.MaxTimestamp = opts.NowMs
		info.OffsetOfMaxTimestamp = b.BaseOffset()
	}
	return info, nil
}

// checkHeader applies, in Validate's order, the rules that read only
// the batch header (codec, offset range and record count, control and
// producer fields), returning the first one broken. Validate applies
// them once the CRC has passed, as Kafka does.
func checkHeader(b Batch, attrs Attributes, opts ValidateOptions) error {
	if codec := attrs.Codec(); codec > CodecZstd {
		return fmt.Errorf("%w: %s", ErrUnsupportedCodec, codec)
	}
	lastDelta, count := b.LastOffsetDelta(), b.NumRecords()
	switch {
	case lastDelta < 0:
		return fmt.Errorf("%w: invalid offset range: lastOffsetDelta %d", ErrInvalid, lastDelta)
	case count <= 0:
		return fmt.Errorf("%w: invalid record count %d", ErrInvalid, count)
	case int64(lastDelta)+1 != int64(count):
		return fmt.Errorf("%w: lastOffsetDelta %d is inconsistent with %d records", ErrInvalid, lastDelta, count)
	}
	if attrs.Control() && !opts.AllowControl {
		return fmt.Errorf("%w: clients may not write control batches", ErrInvalid)
	}
	pid := b.ProducerID()
	if attrs.Transactional() && pid < 0 {
		return fmt.Errorf("%w: transactional batch without a producer id (%d)", ErrInvalid, pid)
	}
	if pid >= 0 && !opts.AllowControl && b.BaseSequence() < 0 {
		return fmt.Errorf("%w: invalid sequence number %d with producer id %d", ErrInvalid, b.BaseSequence(), pid)
	}
	return nil
}

// SingleBatch returns the one batch that records (a partition's records
// in a produce request) must consist of, as Kafka requires since produce
// v3: no bytes at all, or bytes that do not end where the first batch
// ends (a second batch, a partial one), are ErrInvalid; a first batch
// whose length field is below the header size is ErrCorrupt. The batch
// aliases records.
func SingleBatch(records []byte) (Batch, error) {
	if len(records) == 0 {
		return nil, fmt.Errorf("%w: a produce request needs one record batch per partition, got none", ErrInvalid)
	}
	b, err := Peek(records)
	if errors.Is(err, ErrIncomplete) {
		return nil, fmt.Errorf("%w: no complete record batch: %v", ErrInvalid, err)
	}
	if err != nil {
		return nil, err
	}
	if len(b) != len(records) {
		return nil, fmt.Errorf("%w: a produce request carries exactly one record batch per partition; %d bytes follow the first", ErrInvalid, len(records)-len(b))
	}
	return b, nil
}

// addRecordError records record i's error, creating the ValidationError
// on first use; a timestamp error makes the whole error one.
func addRecordError(e *ValidationError, b Batch, i int32, sentinel error, msg string) *ValidationError {
	if e == nil {
		e = &ValidationError{Err: ErrInvalid, BaseOffset: b.BaseOffset()}
	}
	if sentinel == ErrInvalidTimestamp {
		e.Err = ErrInvalidTimestamp
	}
	e.Total++
	if len(e.Records) < maxRecordErrors {
		e.Records = append(e.Records, RecordError{Index: i, Message: msg})
	}
	return e
}

func saturatingSub(a, b int64) int64 {
	if b > 0 && a < math.MinInt64+b {
		return math.MinInt64
	}
	if b < 0 && a > math.MaxInt64+b {
		return math.MaxInt64
	}
	return a - b
}

func saturatingAdd(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	if b < 0 && a < math.MinInt64-b {
		return math.MinInt64
	}
	return a + b
}

// plainWalk is what walkPlain found.
type plainWalk struct {
	// ok means every record passed every rule Validate applies to the
	// records of an uncompressed data batch.
	ok bool
	// maxTimestamp is the largest record timestamp (NoTimestamp if none
	// is above -1) and maxIndex the index of the first record carrying
	// it, or -1.
	maxTimestamp int64
	maxIndex     int32
}

// walkPlain checks the (uncompressed) records block of a data batch (no
// control bit, CreateTime attribute) against every per-record rule of
// Validate: strict framing as Records parses it (see recordReader.next),
// count records, offset delta i for record i, a non-null key when
// compacted, and with checkTs a timestamp (baseTs plus the record's
// delta) of -1 or within [lo, hi]. It is the general walk's fast path:
// it builds no Record, formats no message, and stops at the first record
// it cannot accept, leaving ok false; Validate then runs the general
// walk, which reports exactly what is wrong, so this path never decides
// an error. It is safe on any bytes.
//
// walkShort checks records whose varints all take one or two bytes, the
// usual case, in a loop that calls nothing (so the compiler keeps its
// state in registers); a record with a longer varint it hands back to
// walkPlain, which reads that one record with the general reader.
func walkPlain(data []byte, count int32, baseTs, lo, hi int64, checkTs, compacted bool) plainWalk {
	c := walkCursor{maxTimestamp: NoTimestamp, maxIndex: -1}
	if !checkTs {
		lo, hi = math.MinInt64, math.MaxInt64
	}
	minKeyLen := int32(-1)
	if compacted {
		minKeyLen = 0
	}
	var (
		r      Record
		status walkStatus
	)
	for {
		c, status = walkShort(data, count, c, baseTs, lo, hi, minKeyLen)
		switch status {
		case walkDone:
			return plainWalk{ok: c.pos == len(data), maxTimestamp: c.maxTimestamp, maxIndex: c.maxIndex}
		case walkRefused:
			return plainWalk{}
		}
		// Record c.index has a varint of three bytes or more, or is
		// malformed.
		rr := recordReader{data: data, pos: c.pos, index: c.index, count: count, baseTimestamp: baseTs, class: ErrInvalid}
		if rr.next(&r, false) != nil || rr.offsetDelta != c.index || (compacted && r.Key == nil) ||
			(r.Timestamp != NoTimestamp && (r.Timestamp < lo || r.Timestamp > hi)) {
			return plainWalk{}
		}
		if r.Timestamp > c.maxTimestamp {
			c.maxTimestamp, c.maxIndex = r.Timestamp, c.index
		}
		c.pos, c.index = rr.pos, c.index+1
	}
}

// walkCursor is how far walkPlain got: the record at pos in the records
// block is record index; maxTimestamp and maxIndex are as in plainWalk
// over the records before it.
type walkCursor struct {
	pos          int
	index        int32
	maxTimestamp int64
	maxIndex     int32
}

// walkStatus is why walkShort stopped.
type walkStatus int8

const (
	walkDone    walkStatus = iota // every declared record passed
	walkRefused                   // a record broke a rule
	walkLong                      // the record at the cursor has a varint walkShort does not read
)

// walkShort is walkPlain's loop for records whose varints all take one or
// two bytes; it returns the cursor at the first record it cannot finish.
// A timestamp other than -1 must lie in [lo, hi] and a key length be at
// least minKeyLen (0 on a compacted topic, else -1, null).
func walkShort(data []byte, count int32, c walkCursor, baseTs, lo, hi int64, minKeyLen int32) (walkCursor, walkStatus) {
	p, i := c.pos, c.index
	maxTs, maxIdx := c.maxTimestamp, c.maxIndex
	for ; i < count; i++ {
		start := p
		length, n := shortVarint(data, p)
		if n == 0 {
			return walkCursor{start, i, maxTs, maxIdx}, walkLong
		}
		q := p + n
		if length <= 0 || int(length) > len(data)-q {
			return c, walkRefused
		}
		rec := data[q : q+int(length)]
		p = q + int(length)
		// rec[0] is the attributes byte, which any value passes.
		tsDelta, n := shortVarlong(rec, 1)
		if n == 0 {
			return walkCursor{start, i, maxTs, maxIdx}, walkLong
		}
		q = 1 + n
		offsetDelta, n := shortVarint(rec, q)
		if n == 0 {
			return walkCursor{start, i, maxTs, maxIdx}, walkLong
		}
		if offsetDelta != i {
			return c, walkRefused
		}
		q += n
		keyLen, n := shortVarint(rec, q)
		if n == 0 {
			return walkCursor{start, i, maxTs, maxIdx}, walkLong
		}
		q += n
		if keyLen < minKeyLen || int(keyLen) > len(rec)-q {
			return c, walkRefused
		}
		q += max(int(keyLen), 0)
		valueLen, n := shortVarint(rec, q)
		if n == 0 {
			return walkCursor{start, i, maxTs, maxIdx}, walkLong
		}
		q += n
		if valueLen < -1 || int(valueLen) > len(rec)-q {
			return c, walkRefused
		}
		q += max(int(valueLen), 0)
		headers, n := shortVarint(rec, q)
		if n == 0 {
			return walkCursor{start, i, maxTs, maxIdx}, walkLong
		}
		q += n
		if headers < 0 || int(headers) > (len(rec)-q)/2 {
			return c, walkRefused
		}
		for ; headers > 0; headers-- {
			// A header key cannot be null; its value can.
			keyLen, n := shortVarint(rec, q)
			if n == 0 {
				return walkCursor{start, i, maxTs, maxIdx}, walkLong
			}
			q += n
			if keyLen < 0 || int(keyLen) > len(rec)-q {
				return c, walkRefused
			}
			q += int(keyLen)
			valueLen, n := shortVarint(rec, q)
			if n == 0 {
				return walkCursor{start, i, maxTs, maxIdx}, walkLong
			}
			q += n
			if valueLen < -1 || int(valueLen) > len(rec)-q {
				return c, walkRefused
			}
			q += max(int(valueLen), 0)
		}
		if q != len(rec) {
			return c, walkRefused
		}
		ts := baseTs + tsDelta
		if ts != NoTimestamp && (ts < lo || ts > hi) {
			return c, walkRefused
		}
		if ts > maxTs {
			maxTs, maxIdx = ts, i
		}
	}
	return walkCursor{p, i, maxTs, maxIdx}, walkDone
}

// shortVarint decodes the one- and two-byte encodings of a zig-zag
// varint at b[p:] (values -8192..8191: most lengths, deltas and counts),
// small enough to be inlined; n is the number of bytes read, or 0 if the
// encoding is longer or b ends first.
func shortVarint(b []byte, p int) (v int32, n int) {
	if p < len(b) {
		u := uint32(b[p])
		if u < 0x80 {
			return int32(u>>1) ^ -int32(u&1), 1
		}
		if p+1 < len(b) {
			if c := uint32(b[p+1]); c < 0x80 {
				u = u&0x7f | c<<7
				return int32(u>>1) ^ -int32(u&1), 2
			}
		}
	}
	return 0, 0
}

// shortVarlong is shortVarint for a varlong.
func shortVarlong(b []byte, p int) (v int64, n int) {
	if p < len(b) {
		u := uint64(b[p])
		if u < 0x80 {
			return int64(u>>1) ^ -int64(u&1), 1
		}
		if p+1 < len(b) {
			if c := uint64(b[p+1]); c < 0x80 {
				u = u&0x7f | c<<7
				return int64(u>>1) ^ -int64(u&1), 2
			}
		}
	}
	return 0, 0
}
