package record

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// testRecord is a record as a test builds it and expects it back.
type testRecord struct {
	ts      int64
	key     []byte
	value   []byte
	headers []Header
}

// sampleRecords returns n records covering the shapes the format allows:
// null and empty keys and values, headers with null and empty values,
// timestamps below the first one (negative deltas), and values large
// enough to span several compression blocks.
func sampleRecords(n int) []testRecord {
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]testRecord, n)
	for i := range recs {
		r := &recs[i]
		r.ts = 1_700_000_000_000 + int64(i)*3 - int64(i%4)*7
		switch i % 5 {
		case 0:
			r.key = nil
		case 1:
			r.key = []byte{}
		default:
			r.key = fmt.Appendf(nil, "key-%d", i)
		}
		switch i % 7 {
		case 0:
			r.value = nil
		case 1:
			r.value = []byte{}
		case 2:
			r.value = bytes.Repeat([]byte("abcdefgh"), 9000) // 72 KiB: crosses 32/64 KiB blocks
		default:
			r.value = make([]byte, 10+rng.IntN(300))
			for j := range r.value {
				r.value[j] = byte('a' + rng.IntN(6))
			}
		}
		switch i % 3 {
		case 1:
			r.headers = []Header{{Key: "trace", Value: []byte{1, 2, 3}}}
		case 2:
			r.headers = []Header{{Key: "null", Value: nil}, {Key: "empty", Value: []byte{}}, {Key: "", Value: []byte("x")}}
		}
	}
	return recs
}

func buildBatch(t testing.TB, opts BuilderOptions, recs []testRecord) Batch {
	t.Helper()
	b := NewBuilder(opts)
	for _, r := range recs {
		b.Add(r.ts, r.key, r.value, r.headers...)
	}
	batch, err := b.Build()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return batch
}

func codecOpts(c Codec) BuilderOptions {
	o := DefaultBuilderOptions()
	o.Codec = c
	return o
}

// gotRecord is a deep copy of what Records produced.
type gotRecord struct {
	offset, ts int64
	attrs      int8
	key, value []byte
	headers    []Header
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func collect(t testing.TB, b Batch) []gotRecord {
	t.Helper()
	var out []gotRecord
	err := b.Records(func(r *Record) error {
		g := gotRecord{offset: r.Offset, ts: r.Timestamp, attrs: r.Attributes, key: clone(r.Key), value: clone(r.Value)}
		for _, h := range r.Headers {
			g.headers = append(g.headers, Header{Key: h.Key, Value: clone(h.Value)})
		}
		out = append(out, g)
		return nil
	})
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	return out
}

// sameBytes compares two byte slices including the null/empty distinction.
func sameBytes(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}

// checkRecords asserts that got holds exactly want, at consecutive offsets
// from base.
func checkRecords(t testing.TB, got []gotRecord, want []testRecord, base int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.offset != base+int64(i) || g.ts != w.ts {
			t.Fatalf("record %d: offset/ts %d/%d, want %d/%d", i, g.offset, g.ts, base+int64(i), w.ts)
		}
		if !sameBytes(g.key, w.key) || !sameBytes(g.value, w.value) {
			t.Fatalf("record %d: key %q (nil %v) value len %d (nil %v), want key %q (nil %v) value len %d (nil %v)",
				i, g.key, g.key == nil, len(g.value), g.value == nil, w.key, w.key == nil, len(w.value), w.value == nil)
		}
		if len(g.headers) != len(w.headers) {
			t.Fatalf("record %d: %d headers, want %d", i, len(g.headers), len(w.headers))
		}
		for j, h := range w.headers {
			if g.headers[j].Key != h.Key || !sameBytes(g.headers[j].Value, h.Value) {
				t.Fatalf("record %d header %d: %q=%v, want %q=%v", i, j, g.headers[j].Key, g.headers[j].Value, h.Key, h.Value)
			}
		}
	}
}

// rawBatch frames hand-written record bytes as an uncompressed batch with
// the given record count and a correct CRC, for tests that need malformed
// records.
func rawBatch(records []byte, count int32) Batch {
	out := make(Batch, HeaderSize, HeaderSize+len(records))
	out = append(out, records...)
	binary.BigEndian.PutUint32(out[lengthOffset:], uint32(len(out)-LogOverhead))
	out[magicOffset] = CurrentMagic
	binary.BigEndian.PutUint32(out[lastOffsetDeltaOffset:], uint32(count-1))
	binary.BigEndian.PutUint64(out[baseTimestampOffset:], 1000)
	binary.BigEndian.PutUint64(out[maxTimestampOffset:], 1000)
	binary.BigEndian.PutUint64(out[producerIDOffset:], ^uint64(0))
	binary.BigEndian.PutUint16(out[producerEpochOffset:], 0xffff)
	binary.BigEndian.PutUint32(out[baseSequenceOffset:], ^uint32(0))
	binary.BigEndian.PutUint32(out[recordCountOffset:], uint32(count))
	out.UpdateCRC()
	return out
}

// rawRecord encodes one record body with a correct length prefix.
func rawRecord(offsetDelta int32, key, value []byte) []byte {
	body := []byte{0}
	body = AppendVarlong(body, 0)
	body = AppendVarint(body, offsetDelta)
	body = appendVarBytes(body, key)
	body = appendVarBytes(body, value)
	body = AppendVarint(body, 0)
	return append(AppendVarint(nil, int32(len(body))), body...)
}

// withCRC returns a copy of b with fields changed by mutate and the CRC
// recomputed, so that only the intended rule is broken.
func withCRC(b Batch, mutate func(Batch)) Batch {
	c := append(Batch{}, b...)
	mutate(c)
	c.UpdateCRC()
	return c
}
