package record

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"testing"
	"time"

	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Batches encoded by real Kafka clients (franz-go's kmsg/kgo encoders and
// kafka-go's protocol package, two independent implementations) must pass
// Peek, Verify, Records and Validate and decode to what was encoded.

// franzGoBatch encodes recs as franz-go's producer does: kmsg records
// concatenated, compressed by kgo's default compressor (raw snappy, as
// franz-go writes), framed in a kmsg.RecordBatch whose length and CRC the
// test computes as franz-go's sink does.
func franzGoBatch(t testing.TB, codec Codec, recs []testRecord, pid int64, seq int32) []byte {
	t.Helper()
	first := recs[0].ts
	maxTs := first
	var raw []byte
	for i, r := range recs {
		maxTs = max(maxTs, r.ts)
		kr := kmsg.Record{TimestampDelta64: r.ts - first, OffsetDelta: int32(i), Key: r.key, Value: r.value}
		for _, h := range r.headers {
			kr.Headers = append(kr.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
		}
		kr.Length = int32(len(kr.AppendTo(nil)) - 1) // the 0 length varint is 1 byte
		raw = kr.AppendTo(raw)
	}
	if codec != CodecNone {
		kc := map[Codec]kgo.CompressionCodec{
			CodecGzip: kgo.GzipCompression(), CodecSnappy: kgo.SnappyCompression(),
			CodecLz4: kgo.Lz4Compression(), CodecZstd: kgo.ZstdCompression(),
		}[codec]
		c, err := kgo.DefaultCompressor(kc)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := c.Compress(new(bytes.Buffer), raw)
		raw = append([]byte{}, out...)
	}
	epoch := int16(-1)
	if pid >= 0 {
		epoch = 0
	}
	rb := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1, Magic: 2, Attributes: int16(codec),
		LastOffsetDelta: int32(len(recs) - 1), FirstTimestamp: first, MaxTimestamp: maxTs,
		ProducerID: pid, ProducerEpoch: epoch, FirstSequence: seq,
		NumRecords: int32(len(recs)), Records: raw,
	}
	rb.Length = int32(len(rb.AppendTo(nil)) - 12)
	enc := rb.AppendTo(nil)
	rb.CRC = int32(crc32.Checksum(enc[21:], crc32.MakeTable(crc32.Castagnoli)))
	return rb.AppendTo(nil)
}

// kafkaGoBatch encodes recs with kafka-go's protocol.RecordSet, which does
// all of it itself (framing, CRC, compression: xerial snappy, as Java).
func kafkaGoBatch(t testing.TB, codec Codec, recs []testRecord) []byte {
	t.Helper()
	var krs []protocol.Record
	for _, r := range recs {
		kr := protocol.Record{Time: time.UnixMilli(r.ts)}
		if r.key != nil {
			kr.Key = protocol.NewBytes(r.key)
		}
		if r.value != nil {
			kr.Value = protocol.NewBytes(r.value)
		}
		for _, h := range r.headers {
			kr.Headers = append(kr.Headers, protocol.Header{Key: h.Key, Value: h.Value})
		}
		krs = append(krs, kr)
	}
	rs := protocol.RecordSet{Version: 2, Attributes: protocol.Attributes(compress.Compression(codec)), Records: protocol.NewRecordReader(krs...)}
	var buf bytes.Buffer
	if _, err := rs.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()[4:] // drop the record set's size prefix
}

// kafkaGoRecords are records kafka-go can carry faithfully: it writes an
// empty key or value as null, so the sample avoids empty ones.
func kafkaGoRecords() []testRecord {
	recs := sampleRecords(30)
	for i := range recs {
		if recs[i].key != nil && len(recs[i].key) == 0 {
			recs[i].key = []byte("k")
		}
		if recs[i].value != nil && len(recs[i].value) == 0 {
			recs[i].value = []byte("v")
		}
		for j := range recs[i].headers {
			if h := &recs[i].headers[j]; h.Value == nil || len(h.Value) == 0 {
				h.Value = []byte("hv")
			}
		}
	}
	return recs
}

func checkClientBatch(t *testing.T, wire []byte, recs []testRecord) {
	t.Helper()
	b, err := Peek(wire)
	if err != nil || len(b) != len(wire) {
		t.Fatalf("Peek: %d of %d bytes, %v", len(b), len(wire), err)
	}
	if err := b.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	checkRecords(t, collect(t, b), recs, b.BaseOffset())
	info, err := Validate(b, ValidateOptions{MaxBatchBytes: 1 << 20, NowMs: recs[0].ts, TimestampBeforeMaxMs: 1 << 40, TimestampAfterMaxMs: 1 << 40})
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if info.NumRecords != int32(len(recs)) {
		t.Fatalf("Validate: %d records", info.NumRecords)
	}
}

func TestGoldenFranzGo(t *testing.T) {
	recs := sampleRecords(30)
	for _, codec := range allCodecs {
		t.Run(codec.String(), func(t *testing.T) {
			checkClientBatch(t, franzGoBatch(t, codec, recs, -1, -1), recs)
			idem := franzGoBatch(t, codec, recs, 9000, 41)
			checkClientBatch(t, idem, recs)
			if b := Batch(idem); b.ProducerID() != 9000 || b.BaseSequence() != 41 || b.LastSequence() != 41+29 {
				t.Fatalf("producer fields %d/%d/%d", b.ProducerID(), b.BaseSequence(), b.LastSequence())
			}
		})
	}
}

func TestGoldenKafkaGo(t *testing.T) {
	recs := kafkaGoRecords()
	for _, codec := range allCodecs {
		t.Run(codec.String(), func(t *testing.T) {
			wire := kafkaGoBatch(t, codec, recs)
			if codec == CodecSnappy && !bytes.HasPrefix(wire[HeaderSize:], xerialHeader[:8]) {
				t.Fatal("kafka-go did not write xerial framing; the test lost its point")
			}
			checkClientBatch(t, wire, recs)
		})
	}
}

// The other direction: what Builder writes, franz-go and kafka-go read
// back identically.
func TestBuilderReadByClients(t *testing.T) {
	recs := kafkaGoRecords()
	dec := kgo.DefaultDecompressor()
	for _, codec := range allCodecs {
		t.Run(codec.String(), func(t *testing.T) {
			b := buildBatch(t, codecOpts(codec), recs)

			var rb kmsg.RecordBatch
			if err := rb.ReadFrom(b); err != nil {
				t.Fatal(err)
			}
			if uint32(rb.CRC) != crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)) {
				t.Fatal("CRC disagrees with franz-go's reading")
			}
			raw, err := dec.Decompress(rb.Records, kgo.CompressionCodecType(codec))
			if err != nil {
				t.Fatalf("franz-go decompress: %v", err)
			}
			for i, want := range recs {
				var kr kmsg.Record
				length, n := binary.Varint(raw)
				size := n + int(length)
				if n <= 0 || size > len(raw) {
					t.Fatalf("franz-go record %d: bad length", i)
				}
				if err := kr.ReadFrom(raw[:size]); err != nil {
					t.Fatalf("franz-go record %d: %v", i, err)
				}
				raw = raw[size:]
				if rb.FirstTimestamp+kr.TimestampDelta64 != want.ts || int(kr.OffsetDelta) != i ||
					!sameBytes(kr.Key, want.key) || !sameBytes(kr.Value, want.value) || len(kr.Headers) != len(want.headers) {
					t.Fatalf("franz-go record %d differs", i)
				}
				for j, h := range want.headers {
					if kr.Headers[j].Key != h.Key || !bytes.Equal(kr.Headers[j].Value, h.Value) {
						t.Fatalf("franz-go record %d header %d differs", i, j)
					}
				}
			}
			if len(raw) != 0 {
				t.Fatalf("%d bytes after the records", len(raw))
			}

			framed := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
			var rs protocol.RecordSet
			if _, err := rs.ReadFrom(bytes.NewReader(append(framed, b...))); err != nil {
				t.Fatalf("kafka-go: %v", err)
			}
			for i, want := range recs {
				r, err := rs.Records.ReadRecord()
				if err != nil {
					t.Fatalf("kafka-go record %d: %v", i, err)
				}
				key, val := readAllBytes(r.Key), readAllBytes(r.Value)
				if r.Time.UnixMilli() != want.ts || !sameBytes(key, want.key) || !sameBytes(val, want.value) || len(r.Headers) != len(want.headers) {
					t.Fatalf("kafka-go record %d differs", i)
				}
			}
		})
	}
}

func readAllBytes(b protocol.Bytes) []byte {
	if b == nil {
		return nil
	}
	out, _ := io.ReadAll(b)
	if out == nil {
		out = []byte{}
	}
	return out
}
