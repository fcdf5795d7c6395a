package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestRecordsRoundTripEveryCodec(t *testing.T) {
	recs := sampleRecords(40)
	for _, codec := range allCodecs {
		t.Run(codec.String(), func(t *testing.T) {
			opts := codecOpts(codec)
			opts.BaseOffset = 1 << 33
			batch := buildBatch(t, opts, recs)
			if err := batch.Verify(); err != nil {
				t.Fatal(err)
			}
			if got := batch.Attributes().Codec(); got != codec {
				t.Fatalf("codec attribute %v", got)
			}
			checkRecords(t, collect(t, batch), recs, 1<<33)
		})
	}
}

func TestRecordsNullVersusEmpty(t *testing.T) {
	recs := []testRecord{
		{ts: 5, key: nil, value: nil},
		{ts: 6, key: []byte{}, value: []byte{}},
		{ts: 7, key: []byte("k"), value: []byte("v"), headers: []Header{{Key: "h", Value: nil}, {Key: "e", Value: []byte{}}}},
	}
	for _, codec := range allCodecs {
		got := collect(t, buildBatch(t, codecOpts(codec), recs))
		if got[0].key != nil || got[0].value != nil {
			t.Fatalf("%v: null key/value came back non-nil", codec)
		}
		if got[1].key == nil || got[1].value == nil {
			t.Fatalf("%v: empty key/value came back nil", codec)
		}
		if got[2].headers[0].Value != nil || got[2].headers[1].Value == nil {
			t.Fatalf("%v: header null/empty values confused: %#v", codec, got[2].headers)
		}
	}
}

func TestRecordsLogAppendTime(t *testing.T) {
	for _, codec := range allCodecs {
		batch := buildBatch(t, codecOpts(codec), sampleRecords(5))
		batch.SetLogAppendTime(123456)
		for i, r := range collect(t, batch) {
			if r.ts != 123456 {
				t.Fatalf("%v: record %d timestamp %d, want the batch's append time", codec, i, r.ts)
			}
		}
	}
}

func TestRecordsTimestampExtremes(t *testing.T) {
	recs := []testRecord{{ts: 0}, {ts: math.MaxInt64}, {ts: -1}, {ts: math.MinInt64 + 1}}
	checkRecords(t, collect(t, buildBatch(t, DefaultBuilderOptions(), recs)), recs, 0)
}

func TestRecordsCallbackErrorStops(t *testing.T) {
	batch := buildBatch(t, DefaultBuilderOptions(), sampleRecords(10))
	stop := errors.New("stop")
	n := 0
	err := batch.Records(func(*Record) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Fatalf("Records = %v after %d records, want the callback's error after 3", err, n)
	}
}

// The Record passed to the callback is reused, and an uncompressed batch
// costs no allocation per record.
func TestRecordsAllocations(t *testing.T) {
	recs := make([]testRecord, 1000)
	for i := range recs {
		recs[i] = testRecord{ts: int64(i), key: []byte("key"), value: bytes.Repeat([]byte{'v'}, 100)}
	}
	batch := buildBatch(t, DefaultBuilderOptions(), recs)
	var sum int
	fn := func(r *Record) error { sum += len(r.Value); return nil }
	allocs := testing.AllocsPerRun(20, func() {
		if err := batch.Records(fn); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Fatalf("%v allocations per Records call over 1000 records, want at most 1", allocs)
	}
}

func TestRecordsStrictParsing(t *testing.T) {
	good := rawRecord(0, []byte("k"), []byte("v"))
	// A record body, length prefix excluded, that the cases below edit.
	body := func(parts ...[]byte) []byte {
		b := bytes.Join(parts, nil)
		return append(AppendVarint(nil, int32(len(b))), b...)
	}
	attrs, ts, off := []byte{0}, AppendVarlong(nil, 0), AppendVarint(nil, 0)
	key := appendVarBytes(nil, []byte("k"))
	val := appendVarBytes(nil, []byte("v"))
	noHeaders := AppendVarint(nil, 0)
	for _, tc := range []struct {
		name    string
		records []byte
		count   int32
		field   string
	}{
		{"fewer records than declared", good, 2, "records block ends"},
		{"bytes after the last record", append(append([]byte{}, good...), 0), 1, "follow the last"},
		{"varint over 32 bits", append([]byte{0x80, 0x80, 0x80, 0x80, 0x10}, good[1:]...), 1, "length"},
		{"varint too long", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 1, "length"},
		{"truncated varint", []byte{0x80}, 1, "length"},
		{"negative length", AppendVarint(nil, -2), 1, "length"},
		{"length past the block", append(AppendVarint(nil, 100), good[1:]...), 1, "length"},
		{"empty record", AppendVarint(nil, 0), 1, "attributes"},
		{"truncated timestamp", body(attrs, []byte{0x80}), 1, "timestampDelta"},
		{"key length below -1", body(attrs, ts, off, AppendVarint(nil, -2), val, noHeaders), 1, "key"},
		{"key past the record", body(attrs, ts, off, AppendVarint(nil, 50), []byte("k"), val, noHeaders), 1, "key"},
		{"value past the record", body(attrs, ts, off, key, AppendVarint(nil, 9), []byte("v"), noHeaders), 1, "value"},
		{"missing header count", body(attrs, ts, off, key, val), 1, "headerCount"},
		{"negative header count", body(attrs, ts, off, key, val, AppendVarint(nil, -1)), 1, "headerCount"},
		{"header count beyond the record", body(attrs, ts, off, key, val, AppendVarint(nil, 1000)), 1, "headerCount"},
		{"null header key", body(attrs, ts, off, key, val, AppendVarint(nil, 1), AppendVarint(nil, -1), AppendVarint(nil, 0)), 1, "header key"},
		{"header value past the record", body(attrs, ts, off, key, val, AppendVarint(nil, 1), appendVarBytes(nil, []byte("h")), AppendVarint(nil, 5)), 1, "header value"},
		{"trailing bytes inside the record", body(attrs, ts, off, key, val, noHeaders, []byte{7, 7}), 1, "length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := rawBatch(tc.records, tc.count).Records(func(*Record) error { return nil })
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Records = %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %q does not name %q", err, tc.field)
			}
		})
	}
}

func TestRecordsFraming(t *testing.T) {
	good := buildBatch(t, DefaultBuilderOptions(), sampleRecords(3))
	for _, tc := range []struct {
		name  string
		batch Batch
	}{
		{"short", good[:HeaderSize-1]},
		{"length disagrees", good[:len(good)-1]},
		{"magic 1", withCRC(good, func(b Batch) { b[magicOffset] = 1 })},
		{"negative record count", withCRC(rawBatch(nil, 0), func(b Batch) { binary.BigEndian.PutUint32(b[recordCountOffset:], 0x80000000) })},
		{"corrupt gzip block", withCRC(buildBatch(t, codecOpts(CodecGzip), sampleRecords(3)), func(b Batch) { b[len(b)-5] ^= 0xff })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.batch.Records(func(*Record) error { return nil }); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Records = %v, want ErrCorrupt", err)
			}
		})
	}
	if err := rawBatch(nil, 0).Records(func(*Record) error { t.Fatal("record in an empty batch"); return nil }); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
}

func TestVarint32(t *testing.T) {
	for _, v := range []int32{0, 1, -1, 63, -64, 64, 1 << 20, math.MaxInt32, math.MinInt32} {
		enc := AppendVarint(nil, v)
		got, n, ok := varint32(enc, 0)
		if !ok || got != v || n != len(enc) {
			t.Errorf("varint32(%d): %d, %d, %v", v, got, n, ok)
		}
	}
	for _, bad := range [][]byte{{}, {0x80}, {0xff, 0xff, 0xff, 0xff, 0x1f}, {0x80, 0x80, 0x80, 0x80, 0x80, 0x00}} {
		if _, _, ok := varint32(bad, 0); ok {
			t.Errorf("varint32(% x) accepted", bad)
		}
	}
}
