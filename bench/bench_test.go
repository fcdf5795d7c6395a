package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// The Go-benchmark form of the comparison, for benchstat:
//
//	cd bench && go test -run '^$' -bench . -count 5 | tee new.txt
//
// Each iteration produces and consumes benchRecords records on a fresh
// topic; records/s and MB/s are reported as custom metrics.

const benchRecords = 50000

var (
	samsaOnce sync.Once
	samsaPath string
	samsaErr  error
)

// samsaBinary builds cmd/samsa once per test binary.
func samsaBinary(tb testing.TB) string {
	samsaOnce.Do(func() {
		dir, err := os.MkdirTemp("", "samsa-bench-bin-")
		if err != nil {
			samsaErr = err
			return
		}
		samsaPath, samsaErr = buildSamsa("..", dir)
	})
	if samsaErr != nil {
		tb.Fatal(samsaErr)
	}
	return samsaPath
}

func startBroker(tb testing.TB, name string) broker {
	tb.Helper()
	var (
		b   broker
		err error
	)
	if name == "samsa" {
		b, err = startSamsa(samsaBinary(tb), tb.TempDir(), nil)
	} else {
		b, err = startKfake()
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := b.Stop(); err != nil {
			tb.Error(err)
		}
	})
	return b
}

func BenchmarkEndToEnd(b *testing.B) {
	for _, name := range []string{"samsa", "kfake"} {
		b.Run(name, func(b *testing.B) {
			br := startBroker(b, name)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			var prod, cons, bytes float64
			for i := 0; i < b.N; i++ {
				w := workload{records: benchRecords, recordSize: 1024, partitions: 6, linger: -1, compression: "none", topic: fmt.Sprintf("bench-%d", i)}
				res, err := run(ctx, br.Addr(), w)
				if err != nil {
					b.Fatal(err)
				}
				prod += res.produceTime.Seconds()
				cons += res.consumeTime.Seconds()
				bytes += float64(res.produceBytes)
			}
			n := float64(b.N * benchRecords)
			b.ReportMetric(n/prod, "produce-records/s")
			b.ReportMetric(bytes/1e6/prod, "produce-MB/s")
			b.ReportMetric(n/cons, "consume-records/s")
			b.ReportMetric(bytes/1e6/cons, "consume-MB/s")
		})
	}
}

// TestWorkload runs a small workload against both brokers: the harness
// itself must produce, consume and account for every record.
func TestWorkload(t *testing.T) {
	for _, name := range []string{"kfake", "samsa"} {
		t.Run(name, func(t *testing.T) {
			br := startBroker(t, name)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			res, err := run(ctx, br.Addr(), workload{records: 5000, recordSize: 100, partitions: 3, linger: time.Millisecond, compression: "snappy", topic: "t"})
			if err != nil {
				t.Fatal(err)
			}
			if res.produceRecords != 5000 || res.consumeRecords != 5000 || res.consumeBytes != 500000 || len(res.latencies) != 5000 {
				t.Fatalf("result %+v", res)
			}
			if res.quantile(0.5) > res.quantile(0.99) || res.quantile(0.99) > res.quantile(1) {
				t.Fatalf("quantiles out of order")
			}
		})
	}
}
