package storage

import (
	"os"
	"syscall"
	"testing"
)

// BenchmarkReadSendfile sends each Read's range to /dev/null with
// ReadResult.WriteTo, which uses sendfile(2) on Linux: a plaintext fetch.
func BenchmarkReadSendfile(b *testing.B) {
	fx := newBenchReadFixture(b)
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	b.SetBytes(int64(fx.batchSize))
	b.ReportAllocs()
	offset := int64(0)
	cpu := startCPUMeter(b, int64(fx.batchSize))
	for b.Loop() {
		var rr ReadResult
		rr, offset = fx.next(b, offset)
		if _, err := rr.WriteTo(null); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report()
}

// BenchmarkReadSendfileRaw is the baseline: sendfile(2) of the same file's
// ranges to /dev/null directly.
func BenchmarkReadSendfileRaw(b *testing.B) {
	fx := newBenchReadFixture(b)
	f, err := os.Open(fx.file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	size := int64(fx.batchSize)
	end := 64 * size
	b.SetBytes(size)
	b.ReportAllocs()
	pos := int64(0)
	cpu := startCPUMeter(b, size)
	for b.Loop() {
		if pos >= end {
			pos = 0
		}
		for sent := int64(0); sent < size; {
			off := pos + sent
			n, err := syscall.Sendfile(int(null.Fd()), int(f.Fd()), &off, int(size-sent))
			if err != nil && err != syscall.EINTR {
				b.Fatal(err)
			}
			sent += int64(n)
		}
		pos += size
	}
	cpu.report()
}
