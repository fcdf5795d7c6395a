package storage

// BenchmarkClean measures cleaning throughput (bytes of log read per
// second) beside a plain copy of the same segments in the same run, so
// docs/performance.md can state a ratio:
//
//	go test -run '^$' -bench 'Clean' -benchtime 10x -count 3 ./internal/storage/
//
// The log: 32 MiB in 1 MiB segments of batches of 100 records with
// 100-byte values over 20000 keys (about a third of the records
// superseded), uncompressed or zstd.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
)

func benchCompactedLog(b *testing.B, codec record.Codec) (*Log, string) {
	b.Helper()
	cfg := DefaultLogConfig()
	cfg.Compact, cfg.Delete = true, false
	cfg.SegmentBytes = 1 << 20
	cfg.FileDeleteDelayMs = 0
	cfg.RetentionMs = -1
	dir := filepath.Join(b.TempDir(), "bench-0")
	l, err := Open(dir, cfg, OpenOptions{})
	if err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 100)
	for i := 0; l.Size() < 32<<20; i++ {
		opts := record.DefaultBuilderOptions()
		opts.Codec = codec
		bld := record.NewBuilder(opts)
		for j := range 100 {
			bld.Add(1_700_000_000_000, fmt.Appendf(nil, "key-%05d", (i*100+j)%20000), value)
		}
		batch, err := bld.Build()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := l.Append(batch, AppendOptions{Origin: OriginClient}); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Roll(); err != nil {
		b.Fatal(err)
	}
	l.SetHighWatermark(l.LogEndOffset())
	if err := l.Flush(); err != nil {
		b.Fatal(err)
	}
	return l, dir
}

func BenchmarkClean(b *testing.B) {
	for _, codec := range []record.Codec{record.CodecNone, record.CodecZstd} {
		b.Run(codec.String()+"/clean", func(b *testing.B) {
			var read int64
			for b.Loop() {
				b.StopTimer()
				l, _ := benchCompactedLog(b, codec)
				ci := l.cleanableInfo(0, time.Now().UnixMilli())
				b.StartTimer()
				st, err := l.clean(&cleanRun{nowMs: time.Now().UnixMilli(), firstDirty: ci.firstDirty, uncleanable: ci.firstUncleanable, mapBudget: 128 << 20})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				read += st.BytesRead
				l.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(read)/b.Elapsed().Seconds()/1e6, "MB/s")
		})
		b.Run(codec.String()+"/copy-baseline", func(b *testing.B) {
			var read int64
			for b.Loop() {
				b.StopTimer()
				l, dir := benchCompactedLog(b, codec)
				names, _ := filepath.Glob(filepath.Join(dir, "*.log"))
				b.StartTimer()
				// The same segments copied to new files and fsynced: the
				// I/O a cleaning cannot avoid.
				for _, n := range names {
					src, err := os.Open(n)
					if err != nil {
						b.Fatal(err)
					}
					dst, err := os.Create(n + ".copy")
					if err != nil {
						b.Fatal(err)
					}
					n, err := io.Copy(dst, src)
					if err != nil {
						b.Fatal(err)
					}
					read += n
					if err := dst.Sync(); err != nil {
						b.Fatal(err)
					}
					src.Close()
					dst.Close()
				}
				b.StopTimer()
				l.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(read)/b.Elapsed().Seconds()/1e6, "MB/s")
		})
	}
}
