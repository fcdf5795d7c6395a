package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// workload is what every broker gets, identically.
type workload struct {
	records     int
	recordSize  int
	partitions  int32
	linger      time.Duration // < 0: franz-go's default
	maxBuffered int           // <= 0: franz-go's default
	compression string        // none, snappy, lz4, zstd or gzip
	topic       string
}

// codec maps a compression name to franz-go's codec.
func codec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "none":
		return kgo.NoCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("bench: unknown compression %q", name)
}

// result is one broker's figures for one round.
type result struct {
	produceRecords int64
	produceBytes   int64
	produceTime    time.Duration
	latencies      []time.Duration // per record, sorted
	consumeRecords int64
	consumeBytes   int64
	consumeTime    time.Duration
}

func (r result) produceRate() float64 { return float64(r.produceRecords) / r.produceTime.Seconds() }
func (r result) produceMBps() float64 { return float64(r.produceBytes) / 1e6 / r.produceTime.Seconds() }
func (r result) consumeRate() float64 { return float64(r.consumeRecords) / r.consumeTime.Seconds() }
func (r result) consumeMBps() float64 { return float64(r.consumeBytes) / 1e6 / r.consumeTime.Seconds() }

// quantile returns the latency at q (0..1] of the sorted latencies.
func (r result) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(q*float64(len(r.latencies))+0.5) - 1
	return r.latencies[max(0, min(i, len(r.latencies)-1))]
}

// payload returns n random upper-case letters, as Kafka's perf tool sends.
func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('A' + rand.IntN(26))
	}
	return b
}

// run creates the topic on the broker at addr, produces w.records records
// with acks=all, then consumes them all back from the beginning.
func run(ctx context.Context, addr string, w workload) (result, error) {
	var res result
	c, err := codec(w.compression)
	if err != nil {
		return res, err
	}
	popts := []kgo.Opt{
		kgo.SeedBrokers(addr),
		kgo.DefaultProduceTopic(w.topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(c),
	}
	if w.linger >= 0 {
		popts = append(popts, kgo.ProducerLinger(w.linger))
	}
	if w.maxBuffered > 0 {
		popts = append(popts, kgo.MaxBufferedRecords(w.maxBuffered))
	}
	pcl, err := kgo.NewClient(popts...)
	if err != nil {
		return res, fmt.Errorf("bench: producer: %w", err)
	}
	defer pcl.Close()
	if err := createTopic(ctx, pcl, w.topic, w.partitions); err != nil {
		return res, err
	}

	value := payload(w.recordSize)
	var (
		mu       sync.Mutex
		lats     = make([]time.Duration, 0, w.records)
		firstErr error
		last     time.Time
	)
	done := func(r *kgo.Record, err error) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		lats = append(lats, now.Sub(r.Timestamp))
		last = now
	}
	start := time.Now()
	for i := 0; i < w.records; i++ {
		// The client keeps a non-zero timestamp; it doubles as the
		// moment the record was handed over, for its latency.
		pcl.Produce(ctx, &kgo.Record{Value: value, Timestamp: time.Now()}, done)
	}
	if err := pcl.Flush(ctx); err != nil {
		return res, fmt.Errorf("bench: flush: %w", err)
	}
	mu.Lock()
	if firstErr != nil {
		mu.Unlock()
		return res, fmt.Errorf("bench: produce: %w", firstErr)
	}
	res.produceRecords = int64(len(lats))
	res.produceBytes = res.produceRecords * int64(w.recordSize)
	res.produceTime = last.Sub(start)
	slices.Sort(lats)
	res.latencies = lats
	mu.Unlock()

	ccl, err := kgo.NewClient(
		kgo.SeedBrokers(addr),
		kgo.ConsumeTopics(w.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if err != nil {
		return res, fmt.Errorf("bench: consumer: %w", err)
	}
	defer ccl.Close()
	start = time.Now()
	for res.consumeRecords < int64(w.records) {
		fetches := ccl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("bench: consumed %d of %d records: %w", res.consumeRecords, w.records, err)
		}
		var ferr error
		fetches.EachError(func(t string, p int32, err error) {
			if ferr == nil {
				ferr = fmt.Errorf("bench: fetch %s[%d]: %w", t, p, err)
			}
		})
		if ferr != nil {
			return res, ferr
		}
		fetches.EachRecord(func(r *kgo.Record) {
			res.consumeRecords++
			res.consumeBytes += int64(len(r.Value))
		})
	}
	res.consumeTime = time.Since(start)
	if res.consumeRecords != int64(w.records) {
		return res, fmt.Errorf("bench: consumed %d records, produced %d", res.consumeRecords, w.records)
	}
	return res, nil
}

// createTopic creates topic with partitions and waits until every
// partition has a leader.
func createTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int32) error {
	adm := kadm.NewClient(cl)
	err := waitReady(ctx, func(ctx context.Context) error {
		_, err := adm.BrokerMetadata(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("bench: broker not answering: %w", err)
	}
	resp, err := adm.CreateTopic(ctx, partitions, 1, nil, topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("bench: create topic: %w (%s)", err, resp.ErrMessage)
	}
	for {
		md, err := adm.Metadata(ctx, topic)
		if err == nil {
			td := md.Topics[topic]
			ok := td.Err == nil && len(td.Partitions) == int(partitions)
			for _, p := range td.Partitions {
				ok = ok && p.Leader >= 0 && p.Err == nil
			}
			if ok {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: topic %s has no leaders: %w", topic, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
