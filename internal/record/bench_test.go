package record

import (
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"testing"
	"time"
)

// cpuMeter adds CPU-time metrics to a benchmark: cpu-ns/op, the process's
// user + system time per operation, and cpu-MB/s, bytes per second of it.
// The package's benchmarks start no goroutines and allocate nothing in
// their loops, so the process's CPU time is the loop's.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
}

func startCPUMeter(b *testing.B) cpuMeter { return cpuMeter{b: b, start: processCPU()} }

// report must be called right after the benchmark loop.
func (m cpuMeter) report(bytesPerOp int64) {
	used := processCPU() - m.start
	if used <= 0 || m.b.N == 0 {
		return
	}
	m.b.ReportMetric(float64(used.Nanoseconds())/float64(m.b.N), "cpu-ns/op")
	if bytesPerOp > 0 {
		m.b.ReportMetric(float64(bytesPerOp)*float64(m.b.N)/used.Seconds()/1e6, "cpu-MB/s")
	}
}

// benchRecords returns 1024 records of 1 KiB values (about 1 MiB): words
// from a small vocabulary in random order, so that the data compresses
// about as well as text or JSON does (3-4x), not as well as zeros.
func benchRecords() []testRecord {
	words := []string{"samsa", "kafka", "record", "batch", "offset", "partition", "leader", "epoch",
		"producer", "consumer", "topic", "segment", "index", "value", "key", "header",
		"timestamp", "sequence", "transaction", "commit", "abort", "replica", "fetch", "produce"}
	rng := rand.New(rand.NewPCG(7, 8))
	recs := make([]testRecord, 1024)
	for i := range recs {
		v := make([]byte, 0, 1024)
		for len(v) < 1024 {
			v = append(v, words[rng.IntN(len(words))]...)
			v = append(v, ' ')
		}
		recs[i] = testRecord{ts: testNow + int64(i), key: []byte{byte(i >> 8), byte(i)}, value: v[:1024]}
	}
	return recs
}

// BenchmarkValidate measures Validate on a 1 MiB batch of 1 KiB records
// for each codec, beside baselines in the same run: CRC-32C over the
// uncompressed batch (the least any validation must do; with this
// package's kernel and with hash/crc32), the general
// record walk on the uncompressed batch, and, for each codec,
// decompressing the records block alone, and for snappy both again with
// snappy.DecodeStrict (the -DecodeStrict rows). Every sub-benchmark sets its
// bytes to the uncompressed batch size, so MB/s compare the same logical
// data, and reports CPU time (cpu-ns/op, cpu-MB/s) beside wall-clock
// time. See doc.go for figures.
func BenchmarkValidate(b *testing.B) {
	recs := benchRecords()
	plain := buildBatch(b, DefaultBuilderOptions(), recs)
	size := int64(len(plain))
	opts := ValidateOptions{MaxBatchBytes: 2 << 20, NowMs: testNow, TimestampBeforeMaxMs: 1 << 40, TimestampAfterMaxMs: 1 << 40}

	// CRC-32C as Validate computes it (crc32cUpdate), and as hash/crc32
	// does.
	b.Run("baseline=crc32c", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		var sum uint32
		cpu := startCPUMeter(b)
		for b.Loop() {
			sum += crc32cUpdate(0, plain)
		}
		cpu.report(size)
		_ = sum
	})
	b.Run("baseline=hash-crc32", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		var sum uint32
		cpu := startCPUMeter(b)
		for b.Loop() {
			sum += crc32.Checksum(plain, castagnoli)
		}
		cpu.report(size)
		_ = sum
	})
	// The general record walk alone decides uncompressed batches here
	// (the path Validate takes for compressed and control batches), to
	// show what walkPlain saves.
	b.Run("general-walk=none", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		cpu := startCPUMeter(b)
		for b.Loop() {
			if _, err := validate(plain, opts, false); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(size)
	})
	for _, codec := range allCodecs {
		batch := buildBatch(b, codecOpts(codec), recs)
		b.Run("codec="+codec.String(), func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			cpu := startCPUMeter(b)
			for b.Loop() {
				if _, err := Validate(batch, opts); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(size)
			b.ReportMetric(float64(len(batch)), "wire-bytes")
		})
		if codec == CodecNone {
			continue
		}
		b.Run("decompress-only="+codec.String(), func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			var buf []byte
			cpu := startCPUMeter(b)
			for b.Loop() {
				var err error
				if buf, err = AppendDecompressed(buf[:0], codec, batch.RecordsBytes()); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(size)
		})
	}
	// The same snappy rows with snappy.DecodeStrict, the pure-Go strict
	// decoder used before decodeSnappyStrict, as the baseline.
	batch := buildBatch(b, codecOpts(CodecSnappy), recs)
	snappyBlockDecoder = decodeSnappyStrictGo
	defer func() { snappyBlockDecoder = decodeSnappyStrict }()
	b.Run("codec=snappy-DecodeStrict", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		cpu := startCPUMeter(b)
		for b.Loop() {
			if _, err := Validate(batch, opts); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(size)
	})
	b.Run("decompress-only=snappy-DecodeStrict", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		var buf []byte
		cpu := startCPUMeter(b)
		for b.Loop() {
			var err error
			if buf, err = AppendDecompressed(buf[:0], CodecSnappy, batch.RecordsBytes()); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(size)
	})
}

// BenchmarkValidateSmallRecords measures Validate where the record walk
// weighs most: a batch of 8192 records with 100-byte values (about
// 1 MiB), uncompressed and with the two fastest codecs, through the fast
// walk (walk=fast, what Validate does) and the general one (walk=general).
func BenchmarkValidateSmallRecords(b *testing.B) {
	recs := benchRecords()
	small := make([]testRecord, 0, 8*len(recs))
	for _, r := range recs {
		for j := range 8 {
			small = append(small, testRecord{ts: r.ts + int64(j), key: r.key, value: r.value[j*100 : j*100+100]})
		}
	}
	size := int64(len(buildBatch(b, DefaultBuilderOptions(), small)))
	opts := ValidateOptions{MaxBatchBytes: 2 << 20, NowMs: testNow, TimestampBeforeMaxMs: 1 << 40, TimestampAfterMaxMs: 1 << 40}
	for _, codec := range []Codec{CodecNone, CodecSnappy, CodecLz4} {
		batch := buildBatch(b, codecOpts(codec), small)
		for _, fast := range []bool{true, false} {
			walk := map[bool]string{true: "fast", false: "general"}[fast]
			b.Run("codec="+codec.String()+"/walk="+walk, func(b *testing.B) {
				b.SetBytes(size)
				b.ReportAllocs()
				cpu := startCPUMeter(b)
				for b.Loop() {
					if _, err := validate(batch, opts, fast); err != nil {
						b.Fatal(err)
					}
				}
				cpu.report(size)
			})
		}
	}
}

// BenchmarkRecords measures iterating the same batch with Records.
func BenchmarkRecords(b *testing.B) {
	recs := benchRecords()
	for _, codec := range []Codec{CodecNone, CodecLz4, CodecZstd} {
		batch := buildBatch(b, codecOpts(codec), recs)
		b.Run("codec="+codec.String(), func(b *testing.B) {
			b.SetBytes(int64(len(buildBatch(b, DefaultBuilderOptions(), recs))))
			b.ReportAllocs()
			var n int
			fn := func(r *Record) error { n += len(r.Value); return nil }
			for b.Loop() {
				if err := batch.Records(fn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBuild measures building (and compressing) the same batch.
func BenchmarkBuild(b *testing.B) {
	recs := benchRecords()
	size := int64(len(buildBatch(b, DefaultBuilderOptions(), recs)))
	for _, codec := range allCodecs {
		b.Run("codec="+codec.String(), func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				buildBatch(b, codecOpts(codec), recs)
			}
		})
	}
}

// BenchmarkCRC32C compares crc32cUpdate (the AVX-512 folding kernel from
// crc32cFoldMin bytes, where the CPU has it) with hash/crc32 over inputs
// of several sizes, to place crc32cFoldMin and to show the gain.
func BenchmarkCRC32C(b *testing.B) {
	for _, size := range []int{256, 512, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 1 << 20} {
		p := make([]byte, size)
		for i := range p {
			p[i] = byte(i * 7)
		}
		for _, impl := range []struct {
			name string
			fn   func([]byte) uint32
		}{
			{"hash-crc32", func(p []byte) uint32 { return crc32.Checksum(p, castagnoli) }},
			{"fold", func(p []byte) uint32 {
				if !haveCRC32CFold || len(p) < 256 {
					return crc32.Checksum(p, castagnoli)
				}
				n := len(p) &^ 15
				return crc32.Update(^castagnoliAVX512(^uint32(0), p[:n]), castagnoli, p[n:])
			}},
		} {
			b.Run(fmt.Sprintf("size=%d/impl=%s", size, impl.name), func(b *testing.B) {
				b.SetBytes(int64(size))
				var sum uint32
				cpu := startCPUMeter(b)
				for b.Loop() {
					sum += impl.fn(p)
				}
				cpu.report(int64(size))
				_ = sum
			})
		}
	}
}
