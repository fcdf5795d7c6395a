package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	kgzip "github.com/segmentio/kafka-go/compress/gzip"
	klz4 "github.com/segmentio/kafka-go/compress/lz4"
	ksnappy "github.com/segmentio/kafka-go/compress/snappy"
	kzstd "github.com/segmentio/kafka-go/compress/zstd"
	"github.com/twmb/franz-go/pkg/kgo"
)

var allCodecs = []Codec{CodecNone, CodecGzip, CodecSnappy, CodecLz4, CodecZstd}

func compressInputs() map[string][]byte {
	rng := rand.New(rand.NewPCG(3, 4))
	random := make([]byte, 200<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	return map[string][]byte{
		"one byte":      {42},
		"text":          bytes.Repeat([]byte("the quick brown fox "), 100),
		"random 200KiB": random,
		"zeros 1MiB":    make([]byte, 1<<20),
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, codec := range allCodecs {
		for name, in := range compressInputs() {
			t.Run(codec.String()+"/"+name, func(t *testing.T) {
				prefix := []byte("prefix")
				enc, err := AppendCompressed(append([]byte{}, prefix...), codec, in)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(enc, prefix) {
					t.Fatal("AppendCompressed clobbered dst")
				}
				dec, err := AppendDecompressed([]byte("dst:"), codec, enc[len(prefix):])
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(dec, append([]byte("dst:"), in...)) {
					t.Fatalf("round trip mismatch: %d bytes back, want %d", len(dec)-4, len(in))
				}
			})
		}
	}
}

func TestUnknownCodec(t *testing.T) {
	for _, c := range []Codec{5, 6, 7} {
		if _, err := AppendCompressed(nil, c, []byte("x")); !errors.Is(err, ErrUnsupportedCodec) {
			t.Errorf("compress %v: %v", c, err)
		}
		if _, err := AppendDecompressed(nil, c, []byte("x")); !errors.Is(err, ErrUnsupportedCodec) {
			t.Errorf("decompress %v: %v", c, err)
		}
	}
}

// Our encoders must produce what other Kafka clients read, and we must read
// what they produce.
func TestCodecsInteropFranzGo(t *testing.T) {
	in := compressInputs()["text"]
	dec := kgo.DefaultDecompressor()
	codecs := map[Codec]kgo.CompressionCodec{
		CodecGzip: kgo.GzipCompression(), CodecSnappy: kgo.SnappyCompression(),
		CodecLz4: kgo.Lz4Compression(), CodecZstd: kgo.ZstdCompression(),
	}
	for codec, kc := range codecs {
		t.Run(codec.String(), func(t *testing.T) {
			ours, err := AppendCompressed(nil, codec, in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := dec.Decompress(ours, kgo.CompressionCodecType(codec))
			if err != nil || !bytes.Equal(got, in) {
				t.Fatalf("franz-go cannot read our %s: %v", codec, err)
			}
			comp, err := kgo.DefaultCompressor(kc)
			if err != nil {
				t.Fatal(err)
			}
			theirs, used := comp.Compress(new(bytes.Buffer), in)
			if int8(used) != int8(codec) {
				t.Fatalf("franz-go used codec %d", used)
			}
			back, err := AppendDecompressed(nil, codec, theirs)
			if err != nil || !bytes.Equal(back, in) {
				t.Fatalf("cannot read franz-go's %s: %v", codec, err)
			}
		})
	}
}

func TestCodecsInteropKafkaGo(t *testing.T) {
	in := bytes.Repeat(compressInputs()["text"], 100) // 200 KB: several snappy chunks
	type codec interface {
		NewReader(io.Reader) io.ReadCloser
		NewWriter(io.Writer) io.WriteCloser
	}
	cases := []struct {
		name  string
		codec Codec
		kc    codec
	}{
		{"gzip", CodecGzip, new(kgzip.Codec)},
		{"snappy-xerial", CodecSnappy, &ksnappy.Codec{Framing: ksnappy.Framed}},
		{"snappy-raw", CodecSnappy, &ksnappy.Codec{Framing: ksnappy.Unframed}},
		{"lz4", CodecLz4, new(klz4.Codec)},
		{"zstd", CodecZstd, new(kzstd.Codec)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := tc.kc.NewWriter(&buf)
			if _, err := w.Write(in); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			back, err := AppendDecompressed(nil, tc.codec, buf.Bytes())
			if err != nil || !bytes.Equal(back, in) {
				t.Fatalf("cannot read kafka-go's %s: %v", tc.name, err)
			}
			ours, err := AppendCompressed(nil, tc.codec, in)
			if err != nil {
				t.Fatal(err)
			}
			r := tc.kc.NewReader(bytes.NewReader(ours))
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, in) {
				t.Fatalf("kafka-go cannot read our %s: %v", tc.name, err)
			}
		})
	}
}

func TestSnappyXerialFraming(t *testing.T) {
	in := bytes.Repeat([]byte("0123456789"), 10_000) // 100 KB: 4 chunks of 32 KiB
	enc, err := AppendCompressed(nil, CodecSnappy, in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc[:16], xerialHeader[:]) {
		t.Fatalf("snappy output does not start with the xerial header: % x", enc[:16])
	}
	chunks := 0
	for p := 16; p < len(enc); chunks++ {
		n := int(binary.BigEndian.Uint32(enc[p:]))
		if _, err := s2.Decode(nil, enc[p+4:p+4+n]); err != nil {
			t.Fatalf("chunk %d is not a snappy block: %v", chunks, err)
		}
		p += 4 + n
	}
	if chunks != 4 {
		t.Fatalf("%d chunks, want 4 (32 KiB each)", chunks)
	}

	raw := s2.EncodeSnappy(nil, in)
	if got, err := AppendDecompressed(nil, CodecSnappy, raw); err != nil || !bytes.Equal(got, in) {
		t.Fatalf("raw snappy block not accepted: %v", err)
	}

	for _, tc := range []struct {
		name string
		src  []byte
	}{
		{"header only, truncated", enc[:12]},
		{"chunk length truncated", enc[:18]},
		{"chunk longer than input", enc[:len(enc)-1]},
		{"negative chunk length", append(append([]byte{}, xerialHeader[:]...), 0xff, 0xff, 0xff, 0xff)},
		{"chunk not snappy", append(append([]byte{}, xerialHeader[:]...), 0, 0, 0, 2, 0xff, 0xff)},
		{"raw block garbage", []byte{0x05, 0xff, 0xff}},
		{"s2-only repeat offset", s2RepeatBlock()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := AppendDecompressed(nil, CodecSnappy, tc.src); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
		})
	}
}

// s2RepeatBlock returns a block with a copy of offset 0 (6 bytes: the
// literal "ab", then a 1-byte-offset copy of length 4 and offset 0). S2
// reads offset 0 as its "repeat last offset" extension; standard snappy,
// and so a Java consumer, rejects it, and so must we.
func s2RepeatBlock() []byte {
	return []byte{6, 1 << 2, 'a', 'b', 0x01, 0x00}
}

func TestLz4FrameChecks(t *testing.T) {
	in := bytes.Repeat([]byte("lz4 frame "), 20_000) // 200 KB: several 64 KiB blocks
	enc, err := AppendCompressed(nil, CodecLz4, in)
	if err != nil {
		t.Fatal(err)
	}
	if flg := enc[4]; flg&0x20 == 0 || flg&0x04 != 0 || (enc[5]>>4)&7 != 4 {
		t.Fatalf("lz4 frame flags %08b bd %08b: want independent 64 KiB blocks, no content checksum", flg, enc[5])
	}
	dependent := append([]byte{}, enc...)
	dependent[4] &^= 0x20
	twoFrames := append(append([]byte{}, enc...), enc...)
	for _, tc := range []struct {
		name string
		src  []byte
	}{
		{"short", enc[:5]},
		{"bad magic", append([]byte{1, 2, 3, 4}, enc[4:]...)},
		{"dependent blocks", dependent},
		{"truncated", enc[:len(enc)-3]},
		{"trailing byte", append(append([]byte{}, enc...), 0)},
		{"two frames", twoFrames},
		{"flipped data byte", flip(enc, len(enc)/2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := AppendDecompressed(nil, CodecLz4, tc.src); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte{}, b...)
	c[i] ^= 0x55
	return c
}

func TestCorruptCompressedInput(t *testing.T) {
	in := bytes.Repeat([]byte("some records "), 5000)
	for _, codec := range []Codec{CodecGzip, CodecSnappy, CodecLz4, CodecZstd} {
		enc, err := AppendCompressed(nil, codec, in)
		if err != nil {
			t.Fatal(err)
		}
		for name, src := range map[string][]byte{
			"empty-prefix": enc[:len(enc)/2],
			"garbage":      []byte("definitely not compressed data"),
			"flipped tail": flip(enc, len(enc)-2),
		} {
			t.Run(codec.String()+"/"+name, func(t *testing.T) {
				got, err := AppendDecompressed(nil, codec, src)
				if err == nil && bytes.Equal(got, in) {
					t.Fatal("damaged input decoded to the original")
				}
				if err != nil && !errors.Is(err, ErrCorrupt) {
					t.Fatalf("got %v, want ErrCorrupt", err)
				}
			})
		}
	}
}

// The limit mechanism itself, with limits small enough to test every codec
// (LZ4 and snappy cannot exceed 256x, so the public limit never trips for
// them below the ceiling).
func TestDecompressLimitEnforced(t *testing.T) {
	in := make([]byte, 100_000)
	for _, tc := range []struct {
		codec  Codec
		decode func(dst, src []byte, limit int) ([]byte, error)
	}{
		{CodecGzip, appendGunzip},
		{CodecLz4, appendUnlz4},
		{CodecZstd, appendUnzstd},
		{CodecSnappy, appendUnxerial},
	} {
		t.Run(tc.codec.String(), func(t *testing.T) {
			enc, err := AppendCompressed(nil, tc.codec, in)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tc.decode(nil, enc, len(in)); err != nil {
				t.Fatalf("at the limit: %v", err)
			}
			out, err := tc.decode(nil, enc, len(in)-1)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("over the limit: %v, want ErrCorrupt", err)
			}
			if cap(out) > 2*len(in)+(64<<10) {
				t.Fatalf("reserved %d bytes for a %d-byte limit", cap(out), len(in)-1)
			}
		})
	}
	if _, err := appendSnappyBlock(nil, s2.EncodeSnappy(nil, in), len(in)-1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("raw snappy over the limit: %v", err)
	}
}

func TestUncompressedLimit(t *testing.T) {
	for _, tc := range []struct{ in, want int }{
		{0, 16 << 20}, {1000, 16 << 20}, {64 << 10, 16 << 20}, {100 << 10, 100 << 10 * 256},
		{1 << 20, MaxUncompressedBytes}, {1 << 30, MaxUncompressedBytes},
	} {
		if got := UncompressedLimit(tc.in); got != tc.want {
			t.Errorf("UncompressedLimit(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// A decompression bomb is refused after allocating a small multiple of the
// limit (zstd's decoder may copy its output once more when a block
// overflows the reservation), for the codecs that can reach ratios above
// 256.
func TestDecompressionBomb(t *testing.T) {
	zeros := make([]byte, 64<<20)
	var stream bytes.Buffer // zstd without a declared content size, as Java writes it
	zw, err := zstd.NewWriter(&stream, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(zeros); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	gz, err := AppendCompressed(nil, CodecGzip, zeros)
	if err != nil {
		t.Fatal(err)
	}
	zs, err := AppendCompressed(nil, CodecZstd, zeros)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		codec Codec
		src   []byte
	}{
		{"gzip", CodecGzip, gz},
		{"zstd with content size", CodecZstd, zs},
		{"zstd stream", CodecZstd, stream.Bytes()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := AppendDecompressed(nil, tc.codec, tc.src)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%d compressed bytes of 64 MiB: got %v, want ErrCorrupt", len(tc.src), err)
			}
			limit := UncompressedLimit(len(tc.src))
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(4*limit) {
				t.Fatalf("allocated %d bytes refusing a bomb with limit %d", alloc, limit)
			}
		})
	}
}

// Pools are shared by every goroutine: build, validate and read batches of
// every codec concurrently (run with -race).
func TestCodecsConcurrent(t *testing.T) {
	recs := sampleRecords(12)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				codec := allCodecs[(g+i)%len(allCodecs)]
				b := NewBuilder(codecOpts(codec))
				for _, r := range recs {
					b.Add(r.ts, r.key, r.value, r.headers...)
				}
				batch, err := b.Build()
				if err == nil {
					_, err = Validate(batch, ValidateOptions{NowMs: recs[0].ts, TimestampBeforeMaxMs: 1 << 40, TimestampAfterMaxMs: 1 << 40})
				}
				if err == nil {
					n := 0
					err = batch.Records(func(*Record) error { n++; return nil })
					if err == nil && n != len(recs) {
						err = fmt.Errorf("%v: %d records", codec, n)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
