package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

const testNow = 1_700_000_000_000

func validateOpts() ValidateOptions {
	return ValidateOptions{
		MaxBatchBytes:        1 << 20,
		NowMs:                testNow,
		TimestampBeforeMaxMs: math.MaxInt64,
		TimestampAfterMaxMs:  3_600_000,
	}
}

// keyed returns n records with keys and timestamps testNow+i.
func keyed(n int) []testRecord {
	recs := make([]testRecord, n)
	for i := range recs {
		recs[i] = testRecord{ts: testNow + int64(i), key: []byte{'k', byte(i)}, value: []byte("value")}
	}
	return recs
}

func TestValidateAcceptsEveryCodec(t *testing.T) {
	recs := keyed(20)
	recs[7].ts = testNow + 500 // the maximum, and not the last record
	recs[12].ts = testNow + 500
	for _, codec := range allCodecs {
		t.Run(codec.String(), func(t *testing.T) {
			opts := codecOpts(codec)
			opts.BaseOffset = 100
			b := buildBatch(t, opts, recs)
			info, err := Validate(b, validateOpts())
			if err != nil {
				t.Fatal(err)
			}
			want := BatchInfo{NumRecords: 20, MaxTimestamp: testNow + 500, OffsetOfMaxTimestamp: 107, Codec: codec}
			raw := buildBatch(t, DefaultBuilderOptions(), recs)
			want.UncompressedBytes = len(raw) - HeaderSize
			if info != want {
				t.Fatalf("BatchInfo = %+v, want %+v", info, want)
			}
		})
	}
}

func TestValidateBatchInfo(t *testing.T) {
	t.Run("no timestamps", func(t *testing.T) {
		b := buildBatch(t, DefaultBuilderOptions(), []testRecord{{ts: -1}, {ts: -1}})
		info, err := Validate(b, validateOpts())
		if err != nil || info.MaxTimestamp != NoTimestamp || info.OffsetOfMaxTimestamp != -1 {
			t.Fatalf("%+v, %v", info, err)
		}
	})
	t.Run("log append time topic", func(t *testing.T) {
		opts := DefaultBuilderOptions()
		opts.BaseOffset = 50
		b := buildBatch(t, opts, []testRecord{{ts: 1}, {ts: 1 << 50}}) // out of range, but not checked
		vo := validateOpts()
		vo.LogAppendTime = true
		info, err := Validate(b, vo)
		if err != nil || info.MaxTimestamp != testNow || info.OffsetOfMaxTimestamp != 50 {
			t.Fatalf("%+v, %v", info, err)
		}
	})
	t.Run("transactional idempotent", func(t *testing.T) {
		opts := DefaultBuilderOptions()
		opts.Transactional, opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence = true, 7, 1, 0
		info, err := Validate(buildBatch(t, opts, keyed(3)), validateOpts())
		if err != nil || !info.Transactional || info.Control {
			t.Fatalf("%+v, %v", info, err)
		}
	})
	t.Run("coordinator marker", func(t *testing.T) {
		b, err := NewEndTxnMarkerBatch(5, 0, testNow, EndTxnMarker{Type: ControlCommit})
		if err != nil {
			t.Fatal(err)
		}
		vo := validateOpts()
		vo.AllowControl = true
		vo.Compacted = true
		info, err := Validate(b, vo)
		if err != nil || !info.Control || !info.Transactional || info.NumRecords != 1 {
			t.Fatalf("%+v, %v", info, err)
		}
	})
	t.Run("max timestamp header fix-up", func(t *testing.T) {
		b := buildBatch(t, DefaultBuilderOptions(), keyed(3))
		lying := withCRC(b, func(b Batch) { binary.BigEndian.PutUint64(b[maxTimestampOffset:], 1) })
		info, err := Validate(lying, validateOpts())
		if err != nil {
			t.Fatal(err)
		}
		lying.SetMaxTimestamp(info.MaxTimestamp)
		if lying.MaxTimestamp() != testNow+2 || lying.Verify() != nil {
			t.Fatalf("SetMaxTimestamp: %d, %v", lying.MaxTimestamp(), lying.Verify())
		}
	})
}

func TestValidateRules(t *testing.T) {
	good := buildBatch(t, DefaultBuilderOptions(), keyed(3))
	idem := DefaultBuilderOptions()
	idem.ProducerID, idem.ProducerEpoch, idem.BaseSequence = 10, 0, 0
	twoRecords := rawRecord(0, []byte("a"), []byte("x"))
	for _, tc := range []struct {
		name   string
		batch  Batch
		opts   func(*ValidateOptions)
		want   error
		detail string
	}{
		{"short", good[:HeaderSize-1], nil, ErrCorrupt, "header"},
		{"length field disagrees", good[:len(good)-1], nil, ErrCorrupt, "length"},
		{"magic 1", withCRC(good, func(b Batch) { b[magicOffset] = 1 }), nil, ErrInvalid, "magic"},
		{"magic 0 even with a bad crc", func() Batch { c := append(Batch{}, good...); c[magicOffset] = 0; return c }(), nil, ErrInvalid, "magic"},
		{"too large", good, func(o *ValidateOptions) { o.MaxBatchBytes = len(good) - 1 }, ErrTooLarge, "exceeds"},
		{"crc", func() Batch { c := append(Batch{}, good...); c[len(c)-1] ^= 1; return c }(), nil, ErrCorrupt, "crc"},
		{"codec 5", withCRC(good, func(b Batch) { b[attributesOffset+1] |= 5 }), nil, ErrUnsupportedCodec, "codec"},
		{"negative lastOffsetDelta", withCRC(good, func(b Batch) { binary.BigEndian.PutUint32(b[lastOffsetDeltaOffset:], math.MaxUint32) }), nil, ErrInvalid, "offset range"},
		{"zero records", rawBatch(nil, 0), nil, ErrInvalid, "lastOffsetDelta"},
		{"zero record count", withCRC(rawBatch(nil, 1), func(b Batch) { binary.BigEndian.PutUint32(b[recordCountOffset:], 0) }), nil, ErrInvalid, "record count"},
		{"lastOffsetDelta disagrees with count", withCRC(good, func(b Batch) { binary.BigEndian.PutUint32(b[lastOffsetDeltaOffset:], 5) }), nil, ErrInvalid, "inconsistent"},
		{"control batch from a client", func() Batch { b, _ := NewEndTxnMarkerBatch(1, 0, testNow, EndTxnMarker{Type: ControlAbort}); return b }(), nil, ErrInvalid, "control"},
		{"transactional without producer id", withCRC(good, func(b Batch) { b[attributesOffset+1] |= byte(transactionalBit) }), nil, ErrInvalid, "producer id"},
		{"producer id without sequence", withCRC(buildBatch(t, idem, keyed(2)), func(b Batch) { binary.BigEndian.PutUint32(b[baseSequenceOffset:], math.MaxUint32) }), nil, ErrInvalid, "sequence"},
		{"corrupt compressed block", withCRC(buildBatch(t, codecOpts(CodecLz4), keyed(3)), func(b Batch) { b[HeaderSize] ^= 0xff }), nil, ErrCorrupt, "lz4"},
		{"malformed record", rawBatch(append(AppendVarint(nil, 3), 0, 0), 1), nil, ErrInvalid, "record 0"},
		{"more records than declared", withCRC(rawBatch(append(append([]byte{}, twoRecords...), rawRecord(1, []byte("b"), nil)...), 2), func(b Batch) {
			binary.BigEndian.PutUint32(b[recordCountOffset:], 1)
			binary.BigEndian.PutUint32(b[lastOffsetDeltaOffset:], 0)
		}), nil, ErrInvalid, "follow the last"},
		{"fewer records than declared", rawBatch(twoRecords, 2), nil, ErrInvalid, "ends after"},
		{"offset deltas not from 0", rawBatch(append(rawRecord(1, []byte("a"), nil), rawRecord(2, []byte("b"), nil)...), 2), nil, ErrInvalid, "offset delta"},
		{"offset deltas out of order", rawBatch(append(rawRecord(1, []byte("a"), nil), rawRecord(0, []byte("b"), nil)...), 2), nil, ErrInvalid, "offset delta"},
		{"control record without control key", withCRC(rawBatch(rawRecord(0, []byte("k"), nil), 1), func(b Batch) {
			b[attributesOffset+1] |= byte(controlBit | transactionalBit)
			binary.BigEndian.PutUint64(b[producerIDOffset:], 3)
		}), func(o *ValidateOptions) { o.AllowControl = true }, ErrInvalid, "control"},
		{"null key on a compacted topic", buildBatch(t, DefaultBuilderOptions(), []testRecord{{ts: testNow, key: []byte("k")}, {ts: testNow}}),
			func(o *ValidateOptions) { o.Compacted = true }, ErrInvalid, "without key"},
		{"timestamp too far ahead", buildBatch(t, DefaultBuilderOptions(), []testRecord{{ts: testNow}, {ts: testNow + 3_600_001}}), nil, ErrInvalidTimestamp, "out of range"},
		{"timestamp too old", buildBatch(t, DefaultBuilderOptions(), []testRecord{{ts: testNow - 1001}}),
			func(o *ValidateOptions) { o.TimestampBeforeMaxMs = 1000 }, ErrInvalidTimestamp, "out of range"},
		{"producer set LogAppendTime", withCRC(good, func(b Batch) { b[attributesOffset+1] |= byte(timestampTypeBit) }), nil, ErrInvalidTimestamp, "LogAppendTime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := validateOpts()
			if tc.opts != nil {
				tc.opts(&opts)
			}
			_, err := Validate(tc.batch, opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Validate = %v, want %v", err, tc.want)
			}
			if tc.want == ErrInvalid && errors.Is(err, ErrInvalidTimestamp) {
				t.Fatalf("Validate = %v, a timestamp error where a record error was due", err)
			}
			if !strings.Contains(err.Error(), tc.detail) {
				t.Fatalf("error %q does not mention %q", err, tc.detail)
			}
		})
	}
}

// Timestamp bounds are inclusive, -1 is never checked, and extreme
// settings do not overflow.
func TestValidateTimestampBounds(t *testing.T) {
	for _, tc := range []struct {
		name          string
		ts            int64
		before, after int64
		ok            bool
	}{
		{"at the upper bound", testNow + 10, 0, 10, true},
		{"past the upper bound", testNow + 11, 0, 10, false},
		{"at the lower bound", testNow - 10, 10, 0, true},
		{"past the lower bound", testNow - 11, 10, 0, false},
		{"no timestamp", -1, 0, 0, true},
		{"max int64 with unlimited after", math.MaxInt64, 0, math.MaxInt64, true},
		{"min int64 is below even an unlimited window", math.MinInt64, math.MaxInt64, 0, false},
		{"negative timestamp, unlimited before", -5, math.MaxInt64, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := buildBatch(t, DefaultBuilderOptions(), []testRecord{{ts: tc.ts}})
			opts := validateOpts()
			opts.TimestampBeforeMaxMs, opts.TimestampAfterMaxMs = tc.before, tc.after
			_, err := Validate(b, opts)
			if tc.ok != (err == nil) {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidTimestamp) {
				t.Fatalf("Validate = %v, want ErrInvalidTimestamp", err)
			}
		})
	}
}

// Per-record errors are collected over the batch; any timestamp error
// makes the whole error INVALID_TIMESTAMP, as in Kafka; a record with a
// key error is not also checked for its timestamp.
func TestValidateRecordErrors(t *testing.T) {
	recs := []testRecord{
		{ts: testNow, key: []byte("a")},
		{ts: testNow},                           // null key
		{ts: testNow + 1<<40, key: []byte("c")}, // bad timestamp
		{ts: testNow + 1<<40},                   // null key and bad timestamp: reported as the key
	}
	opts := validateOpts()
	opts.Compacted = true
	_, err := Validate(buildBatch(t, DefaultBuilderOptions(), recs), opts)
	var verr *ValidationError
	if !errors.As(err, &verr) || !errors.Is(err, ErrInvalidTimestamp) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Validate = %v, want a ValidationError wrapping ErrInvalidTimestamp", err)
	}
	if verr.Total != 3 || len(verr.Records) != 3 {
		t.Fatalf("%d record errors (%d kept), want 3", verr.Total, len(verr.Records))
	}
	for i, want := range []struct {
		index int32
		msg   string
	}{{1, "without key"}, {2, "out of range"}, {3, "without key"}} {
		if r := verr.Records[i]; r.Index != want.index || !strings.Contains(r.Message, want.msg) {
			t.Fatalf("record error %d = %+v, want index %d %q", i, r, want.index, want.msg)
		}
	}

	// Without a timestamp error the batch is INVALID_RECORD.
	_, err = Validate(buildBatch(t, DefaultBuilderOptions(), recs[:2]), opts)
	if !errors.As(err, &verr) || errors.Is(err, ErrInvalidTimestamp) || !errors.Is(err, ErrInvalid) || verr.Total != 1 {
		t.Fatalf("Validate = %v, want a ValidationError wrapping only ErrInvalid", err)
	}
}

func TestValidateRecordErrorsCapped(t *testing.T) {
	recs := make([]testRecord, 3000)
	for i := range recs {
		recs[i] = testRecord{ts: testNow}
	}
	opts := validateOpts()
	opts.Compacted = true
	_, err := Validate(buildBatch(t, DefaultBuilderOptions(), recs), opts)
	var verr *ValidationError
	if !errors.As(err, &verr) || verr.Total != 3000 || len(verr.Records) != maxRecordErrors {
		t.Fatalf("Validate = %v", err)
	}
}

// A producer-id batch with a sequence of -1 is refused from a client, but
// a non-idempotent batch with any sequence (sarama sends 0) is accepted, as
// in Kafka; the coordinators write transactional batches (offset commits,
// markers) with a producer id and no sequence.
func TestValidateProducerFields(t *testing.T) {
	opts := DefaultBuilderOptions()
	opts.Transactional, opts.ProducerID, opts.ProducerEpoch = true, 12, 3
	txnCommit := buildBatch(t, opts, keyed(2))
	if _, err := Validate(txnCommit, validateOpts()); !errors.Is(err, ErrInvalid) {
		t.Fatalf("client batch with producer id and no sequence: %v", err)
	}
	coordinator := validateOpts()
	coordinator.AllowControl = true
	if _, err := Validate(txnCommit, coordinator); err != nil {
		t.Fatalf("coordinator's transactional offset commit: %v", err)
	}

	plain := withCRC(buildBatch(t, DefaultBuilderOptions(), keyed(2)), func(b Batch) {
		binary.BigEndian.PutUint32(b[baseSequenceOffset:], 0)
	})
	if _, err := Validate(plain, validateOpts()); err != nil {
		t.Fatalf("non-idempotent batch with sequence 0: %v", err)
	}
	negative := withCRC(plain, func(b Batch) { binary.BigEndian.PutUint64(b[producerIDOffset:], uint64(math.MaxUint64-4)) })
	if _, err := Validate(negative, validateOpts()); err != nil {
		t.Fatalf("producer id -5 (none): %v", err)
	}
}

// Validate makes no allocation for an uncompressed batch that passes.
func TestValidateAllocations(t *testing.T) {
	recs := keyed(500)
	for i := range recs {
		recs[i].headers = []Header{{Key: "h", Value: []byte("v")}}
	}
	// Records with three-byte varints take the fast walk's other road.
	recs[7].value = make([]byte, 9000)
	recs[8].ts = testNow - 1<<30
	b := buildBatch(t, DefaultBuilderOptions(), recs)
	opts := validateOpts()
	opts.Compacted = true
	if allocs := testing.AllocsPerRun(50, func() {
		if _, err := Validate(b, opts); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Fatalf("%v allocations per Validate, want 0", allocs)
	}
}

// Anything Validate accepts, Verify and Records accept too.
func TestValidateImpliesReadable(t *testing.T) {
	for _, codec := range allCodecs {
		b := buildBatch(t, codecOpts(codec), keyed(50))
		if _, err := Validate(b, validateOpts()); err != nil {
			t.Fatal(err)
		}
		if err := b.Verify(); err != nil {
			t.Fatal(err)
		}
		if got := collect(t, b); len(got) != 50 {
			t.Fatalf("%v: %d records", codec, len(got))
		}
	}
}

func TestSingleBatch(t *testing.T) {
	b := buildBatch(t, DefaultBuilderOptions(), keyed(2))
	got, err := SingleBatch(b)
	if err != nil || len(got) != len(b) {
		t.Fatalf("SingleBatch(one batch) = %d bytes, %v", len(got), err)
	}
	for _, tc := range []struct {
		name    string
		records []byte
		want    error
	}{
		{"no bytes", nil, ErrInvalid},
		{"partial batch", b[:len(b)-1], ErrInvalid},
		{"shorter than a length field", b[:5], ErrInvalid},
		{"two batches", append(append([]byte{}, b...), b...), ErrInvalid},
		{"trailing partial batch", append(append([]byte{}, b...), b[:20]...), ErrInvalid},
		{"length below the header", withCRC(b, func(b Batch) { binary.BigEndian.PutUint32(b[lengthOffset:], 10) }), ErrCorrupt},
	} {
		if _, err := SingleBatch(tc.records); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// appendPaddedVarint appends v zig-zag encoded with pad extra 7-bit
// groups of zeros: a longer, still valid encoding of the same value, as a
// producer may write (varint32 accepts up to 5 bytes).
func appendPaddedVarint(dst []byte, v int32, pad int) []byte {
	u := uint64(uint32(v<<1) ^ uint32(v>>31))
	for u >= 0x80 {
		dst = append(dst, byte(u)|0x80)
		u >>= 7
	}
	if pad == 0 {
		return append(dst, byte(u))
	}
	dst = append(dst, byte(u)|0x80)
	for ; pad > 1; pad-- {
		dst = append(dst, 0x80)
	}
	return append(dst, 0)
}

// randomDataBatch returns a batch of random records and options to
// validate it with: mostly well-formed, with every shape the format
// allows (null and empty keys and values, lengths and deltas of one to
// five varint bytes, padded varints, headers, timestamps of -1 and out of
// range, keyless records for compacted topics), a quarter of the time
// compressed with any codec, and then, half the time, broken: bytes
// flipped, records cut or appended, header fields changed, with the CRC
// fixed up or not.
func randomDataBatch(rng *rand.Rand) (Batch, ValidateOptions) {
	n := 1 + rng.IntN(40)
	if rng.IntN(8) == 0 {
		n = 1 + rng.IntN(600)
	}
	opts := ValidateOptions{
		NowMs:                testNow,
		Compacted:            rng.IntN(3) == 0,
		LogAppendTime:        rng.IntN(5) == 0,
		TimestampBeforeMaxMs: math.MaxInt64,
		TimestampAfterMaxMs:  math.MaxInt64,
	}
	if rng.IntN(6) == 0 {
		opts.TimestampBeforeMaxMs, opts.TimestampAfterMaxMs = rng.Int64N(6000), rng.Int64N(20000)
	}
	bytesOf := func() []byte {
		switch rng.IntN(10) {
		case 0:
			if opts.Compacted && rng.IntN(8*n) != 0 {
				return []byte("k") // keep most batches for compacted topics valid
			}
			return nil
		case 1:
			return []byte{}
		case 2:
			return make([]byte, 60+rng.IntN(8200)) // two-byte lengths, or three past 8191
		default:
			b := make([]byte, rng.IntN(60))
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return b
		}
	}
	pad := func() int {
		if rng.IntN(10) == 0 {
			return 1 + rng.IntN(3)
		}
		return 0
	}
	baseTs := int64(testNow) + rng.Int64N(2000) - 1000
	if rng.IntN(10) == 0 {
		baseTs = -rng.Int64N(100) // timestamps around -1, the one not checked
		opts.NowMs = 0
	}
	var (
		records []byte
		tsDelta int64
	)
	for i := 0; i < n; i++ {
		switch rng.IntN(7) {
		case 0:
			tsDelta = -1 - baseTs // record timestamp -1
		case 1:
			tsDelta = rng.Int64N(1<<41) - 1<<40
		case 2:
			// the previous record's timestamp again
		default:
			tsDelta = rng.Int64N(20000) - 5000
		}
		defect := rng.IntN(40 * n) // now and then one record breaks a rule
		body := []byte{byte(rng.IntN(2))}
		body = AppendVarlong(body, tsDelta)
		offsetDelta := int32(i)
		if defect == 3 {
			offsetDelta += int32(rng.IntN(2)*2 - 1)
		}
		body = appendPaddedVarint(body, offsetDelta, pad())
		for f, field := range [][]byte{bytesOf(), bytesOf()} {
			switch {
			case defect == 4+f:
				body = appendPaddedVarint(body, -2, pad()) // a length below -1
			case field == nil:
				body = appendPaddedVarint(body, -1, pad())
			default:
				body = append(appendPaddedVarint(body, int32(len(field)), pad()), field...)
			}
		}
		headers := 0
		if rng.IntN(4) == 0 || defect == 1 {
			headers = 1 + rng.IntN(3)
		}
		if defect == 0 {
			headers += 1 + rng.IntN(2) // declares more headers than it has
		}
		body = appendPaddedVarint(body, int32(headers), pad())
		for h := range headers {
			if defect == 1 && h == 0 {
				body = appendPaddedVarint(body, -1, 0) // a null header key
			} else {
				body = append(appendPaddedVarint(body, 1, pad()), 'h')
			}
			if v := bytesOf(); v == nil {
				body = appendPaddedVarint(body, -1, 0)
			} else {
				body = append(appendPaddedVarint(body, int32(len(v)), 0), v...)
			}
		}
		if defect == 2 {
			body = append(body, make([]byte, 1+rng.IntN(3))...) // bytes no field claims
		}
		records = append(appendPaddedVarint(records, int32(len(body)), pad()), body...)
	}
	b := rawBatch(records, int32(n))
	binary.BigEndian.PutUint64(b[baseOffsetOffset:], uint64(rng.Int64N(1<<40)))
	binary.BigEndian.PutUint64(b[baseTimestampOffset:], uint64(baseTs))
	b.UpdateCRC()

	if rng.IntN(4) == 0 {
		codec := allCodecs[1+rng.IntN(len(allCodecs)-1)]
		compressed, err := AppendCompressed(append([]byte{}, b[:HeaderSize]...), codec, b[HeaderSize:])
		if err != nil {
			panic(err)
		}
		b = Batch(compressed)
		binary.BigEndian.PutUint32(b[lengthOffset:], uint32(len(b)-LogOverhead))
		binary.BigEndian.PutUint16(b[attributesOffset:], uint16(b.Attributes().WithCodec(codec)))
		b.UpdateCRC()
	}
	if rng.IntN(2) == 0 {
		return b, opts
	}
	switch rng.IntN(4) {
	case 0: // flip bytes in the records
		for range 1 + rng.IntN(3) {
			if len(b) > HeaderSize {
				b[HeaderSize+rng.IntN(len(b)-HeaderSize)] ^= byte(1 + rng.IntN(255))
			}
		}
	case 1: // cut the records short, or add bytes
		if cut := rng.IntN(len(b) - HeaderSize + 1); rng.IntN(2) == 0 {
			b = b[:len(b)-cut]
		} else {
			b = append(b, make([]byte, 1+rng.IntN(4))...)
		}
		binary.BigEndian.PutUint32(b[lengthOffset:], uint32(len(b)-LogOverhead))
	case 2: // claim another record count
		c := int32(n + rng.IntN(3) - 1)
		binary.BigEndian.PutUint32(b[recordCountOffset:], uint32(c))
		binary.BigEndian.PutUint32(b[lastOffsetDeltaOffset:], uint32(c-1))
	case 3: // other header fields
		b[attributesOffset+1] ^= byte(1) << rng.IntN(7)
	}
	if rng.IntN(8) != 0 {
		b.UpdateCRC()
	}
	return b, opts
}

// gzipOffset matches the decoder's words in a corrupt-gzip message, which
// two calls may word differently for the same input: the pooled
// klauspost/compress gzip readers keep Huffman tables from earlier
// streams, so where a reader notices that a stream is corrupt depends on
// what it decoded before (every call still refuses it as ErrCorrupt).
var gzipOffset = regexp.MustCompile(`gzip records block: .* \(batch at base offset`)

// sameValidation fails t unless the fast path and the general path
// of Validate agree exactly on b: the same BatchInfo, or errors with the
// same text, the same sentinels and the same record errors.
func sameValidation(t testing.TB, b Batch, opts ValidateOptions) (BatchInfo, error) {
	t.Helper()
	fastInfo, fastErr := validate(b, opts, true)
	info, err := validate(b, opts, false)
	if fastInfo != info || (fastErr == nil) != (err == nil) {
		t.Fatalf("fast path: %+v, %v; general path: %+v, %v", fastInfo, fastErr, info, err)
	}
	if err == nil {
		return info, nil
	}
	if gzipOffset.ReplaceAllString(fastErr.Error(), "gzip") != gzipOffset.ReplaceAllString(err.Error(), "gzip") {
		t.Fatalf("fast path error %q, general path error %q", fastErr, err)
	}
	for _, s := range []error{ErrCorrupt, ErrTooLarge, ErrInvalid, ErrInvalidTimestamp, ErrUnsupportedCodec} {
		if errors.Is(fastErr, s) != errors.Is(err, s) {
			t.Fatalf("fast path error %v and general path error %v disagree on %v", fastErr, err, s)
		}
	}
	var fv, gv *ValidationError
	if errors.As(fastErr, &fv) != errors.As(err, &gv) || (fv != nil && !reflect.DeepEqual(*fv, *gv)) {
		t.Fatalf("record errors differ: %+v vs %+v", fv, gv)
	}
	return info, err
}

// The fast path (walkPlain) must reach exactly the general path's
// verdict, and it must be the one that accepts every data batch the
// general path accepts, or it would be a slow path in disguise.
func TestValidateFastPathMatchesGeneral(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	var accepted, refused, compressed int
	for range 3000 {
		b, opts := randomDataBatch(rng)
		_, err := sameValidation(t, b, opts)
		if err != nil {
			refused++
			continue
		}
		accepted++
		attrs := b.Attributes()
		if attrs.Control() || attrs.LogAppendTime() {
			continue
		}
		if attrs.Codec() != CodecNone {
			compressed++
		}
		data, buf, err := b.uncompressedRecords()
		if err != nil {
			t.Fatal(err)
		}
		lo := saturatingSub(opts.NowMs, opts.TimestampBeforeMaxMs)
		hi := saturatingAdd(opts.NowMs, opts.TimestampAfterMaxMs)
		w := walkPlain(data, b.NumRecords(), b.BaseTimestamp(), lo, hi, !opts.LogAppendTime, opts.Compacted)
		if buf != nil {
			buf.release()
		}
		if !w.ok {
			t.Fatalf("walkPlain declined a %v batch Validate accepts: %+v", attrs.Codec(), w)
		}
	}
	if accepted < 500 || refused < 500 || compressed < 100 {
		t.Fatalf("%d batches accepted (%d compressed) and %d refused: the generator no longer covers all three", accepted, compressed, refused)
	}
}

// walkPlain itself accepts valid batches of every shape, whether its
// short loop or the general reader takes each record: the differential
// tests cannot tell a fast path that declines too much from one that is
// right.
func TestWalkPlainAcceptsValidBatches(t *testing.T) {
	big := bytes.Repeat([]byte("v"), 9000) // a three-byte length
	// [90, 110], which -1 is not in: it is never checked.
	window := func(o *ValidateOptions) { o.NowMs, o.TimestampBeforeMaxMs, o.TimestampAfterMaxMs = 100, 10, 10 }
	for _, tc := range []struct {
		name string
		recs []testRecord
		opts func(*ValidateOptions)
	}{
		{"timestamp -1 outside a tight window", []testRecord{{ts: 100, key: []byte("k")}, {ts: -1}, {ts: 105}}, window},
		{"null and empty keys and values", []testRecord{{ts: 101}, {ts: 102, key: []byte{}, value: []byte{}}, {ts: 103, value: []byte("v")}}, window},
		{"headers with null and empty values", []testRecord{{ts: 101, headers: []Header{{Key: "a"}, {Key: "", Value: []byte{}}, {Key: "c", Value: []byte("x")}}}}, window},
		{"long varints", []testRecord{{ts: testNow, key: big}, {ts: testNow - 1<<40, value: big}, {ts: -1}, {ts: testNow}}, nil},
		{"compacted", []testRecord{{ts: 101, key: []byte{}}, {ts: 102, key: big}}, func(o *ValidateOptions) { window(o); o.Compacted = true }},
		{"many records", keyed(300), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := buildBatch(t, DefaultBuilderOptions(), tc.recs)
			opts := validateOpts()
			if tc.opts != nil {
				tc.opts(&opts)
			}
			info, err := sameValidation(t, b, opts)
			if err != nil {
				t.Fatal(err)
			}
			lo := saturatingSub(opts.NowMs, opts.TimestampBeforeMaxMs)
			hi := saturatingAdd(opts.NowMs, opts.TimestampAfterMaxMs)
			w := walkPlain(b[HeaderSize:], b.NumRecords(), b.BaseTimestamp(), lo, hi, true, opts.Compacted)
			if !w.ok || w.maxTimestamp != info.MaxTimestamp || int64(w.maxIndex) != info.OffsetOfMaxTimestamp {
				t.Fatalf("walkPlain = %+v, Validate: %+v", w, info)
			}
		})
	}
}

// shortVarint and shortVarlong read the one- and two-byte encodings as
// varint32 and binary.Varint do, and nothing else.
func TestShortVarints(t *testing.T) {
	for v := int32(-20000); v <= 20000; v++ {
		for pad := range 3 {
			enc := appendPaddedVarint(nil, v, pad)
			want, next, _ := varint32(enc, 0)
			enc = append(enc, 0x55) // a following byte must not be read
			got, n := shortVarint(enc, 0)
			if n != 0 && (n != next || got != want) || (n == 0) != (next > 2) {
				t.Fatalf("%d padded %d (% x): shortVarint %d, %d bytes; varint32 %d, %d bytes", v, pad, enc, got, n, want, next)
			}
			l, n := shortVarlong(enc, 0)
			bv, bn := binary.Varint(enc[:next])
			if n != 0 && (n != bn || l != bv) || (n == 0) != (bn > 2) {
				t.Fatalf("%d padded %d: shortVarlong %d, %d bytes; binary.Varint %d, %d", v, pad, l, n, bv, bn)
			}
		}
	}
	for _, bad := range [][]byte{{}, {0x80}, {0x80, 0x80}, {0xff, 0xff, 0x01}} {
		if v, n := shortVarint(bad, 0); n != 0 {
			t.Errorf("shortVarint(% x) = %d", bad, v)
		}
		if v, n := shortVarlong(bad, 0); n != 0 {
			t.Errorf("shortVarlong(% x) = %d", bad, v)
		}
	}
	// Reading at the end, or past it, reads nothing.
	for _, p := range []int{2, 3} {
		if _, n := shortVarint([]byte{1, 1}, p); n != 0 {
			t.Errorf("shortVarint at %d of 2 bytes read something", p)
		}
		if _, n := shortVarlong([]byte{1, 1}, p); n != 0 {
			t.Errorf("shortVarlong at %d of 2 bytes read something", p)
		}
	}
}
