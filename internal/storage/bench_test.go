//go:build unix

package storage

// Storage benchmarks, each paired with a raw-syscall baseline measured in
// the same run on the same kind of file in the same directory, so that
// docs/performance.md can state ratios rather than machine-bound numbers:
//
//	go test -run '^$' -bench . -benchmem -count 3 ./internal/storage/
//
// The machine these run on is shared and loaded, which moves wall-clock
// figures by a factor of two between runs; every benchmark therefore also
// reports cpu-MB/s, the bytes per second of CPU time (user + system, from
// getrusage) its loop consumed, which contention barely moves.
//
// Appends and raw writes both stay in the page cache: every
// benchWindow bytes the log is emptied (TruncateFullyAndStartAt) and the
// raw file truncated, outside the timer, so neither side ever waits for
// the disk; the fsync that a segment roll triggers in the background is a
// disk cost measured elsewhere (the crash tests), not the append path's.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
)

const (
	benchRecordSize = 1 << 10
	benchRecords    = 1 << 10 // 1 KiB records, 1 MiB of values per batch
	benchWindow     = 256 << 20
)

// benchBatch builds an uncompressed batch of 1024 records with 1 KiB
// values (about 1.03 MiB), as a producer would send it.
func benchBatch(b *testing.B) record.Batch {
	bld := record.NewBuilder(record.DefaultBuilderOptions())
	value := bytes.Repeat([]byte("0123456789abcdef"), benchRecordSize/16)
	for i := range benchRecords {
		bld.Add(1_700_000_000_000+int64(i), fmt.Appendf(nil, "key-%06d", i), value)
	}
	batch, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	return batch
}

func benchLogConfig() LogConfig {
	cfg := DefaultLogConfig()
	cfg.MaxMessageBytes = 2 << 20 // the 1 MiB batch plus its record overhead
	cfg.RetentionMs = -1
	cfg.FileDeleteDelayMs = 0
	return cfg
}

func benchAppend(b *testing.B, origin AppendOrigin) {
	// Segment removals run here, outside the timer, like the baseline's
	// truncate: the log's own timer would run them concurrently.
	var removals []func()
	runRemovals := func() {
		for _, fn := range removals {
			fn()
		}
		removals = nil
	}
	opts := OpenOptions{ScheduleDelete: func(_ time.Duration, fn func()) { removals = append(removals, fn) }}
	l, err := Open(filepath.Join(b.TempDir(), "bench-0"), benchLogConfig(), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer runRemovals()
	defer l.Close()
	batch := benchBatch(b)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	var written int64
	cpu := startCPUMeter(b, int64(len(batch)))
	for b.Loop() {
		if written >= benchWindow {
			cpu.pause()
			if err := l.TruncateFullyAndStartAt(l.LogEndOffset()); err != nil {
				b.Fatal(err)
			}
			runRemovals()
			written = 0
			cpu.resume()
		}
		// The client path takes a producer batch at base offset 0; the
		// replication path one whose offsets the leader assigned.
		if origin == OriginReplication {
			batch.SetBaseOffset(l.LogEndOffset())
		} else {
			batch.SetBaseOffset(0)
		}
		if _, err := l.Append(batch, AppendOptions{Origin: origin}); err != nil {
			b.Fatal(err)
		}
		written += int64(len(batch))
	}
	cpu.report()
}

// BenchmarkAppend appends 1 MiB producer batches of 1 KiB records through
// Log.Append: full validation (CRC, every record's framing), offset
// assignment, the write and index maintenance.
func BenchmarkAppend(b *testing.B) { benchAppend(b, OriginClient) }

// BenchmarkAppendReplication is the follower path: CRC and offset checks
// only.
func BenchmarkAppendReplication(b *testing.B) { benchAppend(b, OriginReplication) }

// BenchmarkAppendRawWrite is the baseline: write(2) of the same bytes in a loop
// to a file in the same kind of directory.
func BenchmarkAppendRawWrite(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "raw.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	batch := benchBatch(b)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	var written int64
	cpu := startCPUMeter(b, int64(len(batch)))
	for b.Loop() {
		if written >= benchWindow {
			cpu.pause()
			if err := f.Truncate(0); err != nil {
				b.Fatal(err)
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				b.Fatal(err)
			}
			written = 0
			cpu.resume()
		}
		if _, err := f.Write(batch); err != nil {
			b.Fatal(err)
		}
		written += int64(len(batch))
	}
	cpu.report()
}

// BenchmarkAppendRawWriteCRC is the baseline plus the one check no
// append may skip, CRC32C of the batch (record.Batch.Verify): what is left
// between it and BenchmarkAppend is the storage layer's own work and the
// per-record validation.
func BenchmarkAppendRawWriteCRC(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "raw.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	batch := benchBatch(b)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	var written int64
	cpu := startCPUMeter(b, int64(len(batch)))
	for b.Loop() {
		if written >= benchWindow {
			cpu.pause()
			if err := f.Truncate(0); err != nil {
				b.Fatal(err)
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				b.Fatal(err)
			}
			written = 0
			cpu.resume()
		}
		if err := batch.Verify(); err != nil {
			b.Fatal(err)
		}
		if _, err := f.Write(batch); err != nil {
			b.Fatal(err)
		}
		written += int64(len(batch))
	}
	cpu.report()
}

// benchReadFixture is a log of 64 batches of 1 MiB, in the page cache.
type benchReadFixture struct {
	log       *Log
	batchSize int
	file      string // the segment file, for the raw baselines
}

func newBenchReadFixture(b *testing.B) *benchReadFixture {
	dir := filepath.Join(b.TempDir(), "bench-0")
	l, err := Open(dir, benchLogConfig(), OpenOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	batch := benchBatch(b)
	for range 64 {
		batch.SetBaseOffset(0)
		if _, err := l.Append(batch, AppendOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	l.SetHighWatermark(l.LogEndOffset())
	return &benchReadFixture{log: l, batchSize: len(batch), file: filepath.Join(dir, segmentFileName(0, logSuffix))}
}

// next reads the batch after offset (wrapping at the end) and returns the
// result and the offset after it.
func (fx *benchReadFixture) next(b *testing.B, offset int64) (ReadResult, int64) {
	if offset >= fx.log.LogEndOffset() {
		offset = 0
	}
	rr, err := fx.log.Read(offset, fx.batchSize, fx.log.HighWatermark(), true)
	if err != nil || rr.Size != int64(fx.batchSize) {
		b.Fatalf("Read(%d) = %d bytes, %v", offset, rr.Size, err)
	}
	return rr, offset + benchRecords
}

// BenchmarkRead reads the log sequentially, one batch per Read, copying
// each range out with pread (ReadInto): what a TLS connection or a
// follower fetch does.
func BenchmarkRead(b *testing.B) {
	fx := newBenchReadFixture(b)
	buf := make([]byte, 0, fx.batchSize)
	b.SetBytes(int64(fx.batchSize))
	b.ReportAllocs()
	offset := int64(0)
	cpu := startCPUMeter(b, int64(fx.batchSize))
	for b.Loop() {
		var rr ReadResult
		rr, offset = fx.next(b, offset)
		var err error
		if buf, err = rr.ReadInto(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report()
}

// BenchmarkReadRaw is the baseline: read(2) of the same file, in the same
// chunk size, sequentially and wrapping.
func BenchmarkReadRaw(b *testing.B) {
	fx := newBenchReadFixture(b)
	f, err := os.Open(fx.file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, fx.batchSize)
	b.SetBytes(int64(fx.batchSize))
	b.ReportAllocs()
	cpu := startCPUMeter(b, int64(fx.batchSize))
	for b.Loop() {
		if _, err := io.ReadFull(f, buf); err != nil {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(f, buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	cpu.report()
}

// cpuMeter measures the CPU time (user + system, whole process) spent in
// a benchmark loop, excluding paused stretches, and reports it as
// cpu-MB/s.
type cpuMeter struct {
	b       *testing.B
	bytes   int64 // per op
	total   time.Duration
	started time.Duration
}

func startCPUMeter(b *testing.B, bytesPerOp int64) *cpuMeter {
	m := &cpuMeter{b: b, bytes: bytesPerOp}
	m.resume()
	return m
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (m *cpuMeter) pause() {
	m.b.StopTimer()
	m.total += processCPU(m.b) - m.started
}

func (m *cpuMeter) resume() {
	m.started = processCPU(m.b)
	m.b.StartTimer()
}

func (m *cpuMeter) report() {
	m.total += processCPU(m.b) - m.started
	if m.total > 0 {
		m.b.ReportMetric(float64(m.bytes)*float64(m.b.N)/m.total.Seconds()/1e6, "cpu-MB/s")
	}
}
