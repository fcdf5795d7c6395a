package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/cli"
)

func init() { extraCommands = append(extraCommands, newPerfCmd) }

func newPerfCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "perf",
		Short: "Measure produce and consume throughput and latency against a cluster",
		Long: `Load generators in the spirit of kafka-producer-perf-test.sh and
kafka-consumer-perf-test.sh. They use only the standard protocol (through
franz-go), so the same run can be pointed at Samsa or Apache Kafka.
MB means 10^6 bytes of record keys and values (protocol overhead excluded).`,
	}
	cmd.AddCommand(newPerfProduceCmd(), newPerfConsumeCmd())
	return cmd
}

// perfProduceOptions are the flags of `samsa perf produce`.
type perfProduceOptions struct {
	clientFlags
	recordSize  string
	numRecords  int64
	duration    time.Duration
	acks        string
	partitions  int32
	compression string
	linger      time.Duration
	batchMax    string
	throughput  float64
	progress    time.Duration
}

func newPerfProduceCmd() *cobra.Command {
	o := &perfProduceOptions{}
	cmd := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Produce fixed-size records as fast as allowed; report records/s, MB/s and latency",
		Long: `Produce records of --record-size bytes (random upper-case letters, as
Kafka's perf tool does, so compression has something to do) to TOPIC,
either --num-records of them or for --duration, and report throughput and
the latency of each record from the moment it was handed to the client to
its acknowledgement (p50, p99, p99.9, max). A progress line goes to standard
error every --progress; the final report goes to standard output. The topic
is created with --partitions when it does not exist.`,
		Example: `  samsa perf produce bench --num-records 1000000 --record-size 1KiB --acks all --partitions 6
  samsa perf produce bench --duration 30s --compression zstd --linger 5ms`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			return runPerfProduce(ctx, o, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.register(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVarP(&o.recordSize, "record-size", "s", "1KiB", "bytes per record value")
	fs.Int64VarP(&o.numRecords, "num-records", "n", 0, "records to produce (0: run for --duration)")
	fs.DurationVarP(&o.duration, "duration", "d", 0, "produce for this long (used when --num-records is 0)")
	fs.StringVar(&o.acks, "acks", "all", "all (-1), 1 or 0")
	fs.Int32VarP(&o.partitions, "partitions", "p", 6, "partitions of the topic when the command creates it")
	fs.StringVarP(&o.compression, "compression", "z", "none", "none, gzip, snappy, lz4 or zstd")
	fs.DurationVar(&o.linger, "linger", 0, "linger.ms: wait this long for a batch to fill")
	fs.StringVar(&o.batchMax, "batch-max-bytes", "1MiB", "largest record batch the client builds (batch.size)")
	fs.Float64Var(&o.throughput, "throughput", -1, "cap on records per second (-1: none)")
	fs.DurationVar(&o.progress, "progress", 5*time.Second, "interval between progress lines (0: none)")
	return cmd
}

// perfStats accumulates acknowledged records for one reporting window and
// for the whole run. Callbacks from franz-go and the progress printer share
// it.
type perfStats struct {
	mu         sync.Mutex
	total      cli.Histogram // guarded by mu
	window     cli.Histogram // guarded by mu
	bytes      int64         // guarded by mu
	winBytes   int64         // guarded by mu
	winStart   time.Time     // guarded by mu
	failed     int64         // guarded by mu
	firstErr   error         // guarded by mu
	lastAckNow time.Time     // guarded by mu
}

func (s *perfStats) done(r *kgo.Record, err error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.failed++
		if s.firstErr == nil {
			s.firstErr = err
		}
		return
	}
	lat := now.Sub(r.Timestamp)
	s.total.Record(lat)
	s.window.Record(lat)
	n := int64(len(r.Key) + len(r.Value))
	s.bytes += n
	s.winBytes += n
	s.lastAckNow = now
}

func (s *perfStats) failedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.firstErr
}

// printWindow writes a progress line for the records acknowledged since
// the previous one, and starts a new window.
func (s *perfStats) printWindow(w io.Writer, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	secs := now.Sub(s.winStart).Seconds()
	if secs <= 0 {
		return
	}
	h := &s.window
	fmt.Fprintf(w, "%d records acknowledged, %.1f records/s (%.2f MB/s), latency p50 %s p99 %s max %s; %d in total\n",
		h.Count(), float64(h.Count())/secs, float64(s.winBytes)/1e6/secs,
		ms(h.Quantile(0.5)), ms(h.Quantile(0.99)), ms(h.Max()), s.total.Count())
	s.window = cli.Histogram{}
	s.winBytes = 0
	s.winStart = now
}

// ms formats a latency in milliseconds with a precision that suits it.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	if v < 10 {
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

// perfPayload returns n random upper-case letters, the payload Kafka's
// ProducerPerformance uses.
func perfPayload(n int64) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('A' + rand.IntN(26))
	}
	return b
}

// ensureTopic creates topic with partitions when it does not exist yet and
// returns its partition count.
func ensureTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int32) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	tds, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("look up topic %s: %w", topic, err)
	}
	if tds.Has(topic) {
		return len(tds[topic].Partitions), nil
	}
	r, err := adm.CreateTopic(ctx, partitions, -1, nil, topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return 0, fmt.Errorf("create topic %s: %w", topic, withMessage(err, r.ErrMessage))
	}
	return int(partitions), nil
}

func runPerfProduce(ctx context.Context, o *perfProduceOptions, topic string, stdout, stderr io.Writer) error {
	size, err := cli.ParseSize(o.recordSize)
	if err != nil {
		return fmt.Errorf("--record-size: %w", err)
	}
	batchMax, err := cli.ParseSize(o.batchMax)
	if err != nil || batchMax < 1 || batchMax > 1<<30 {
		return fmt.Errorf("--batch-max-bytes: %w: %q", cli.ErrInvalid, o.batchMax)
	}
	if o.numRecords < 0 || (o.numRecords == 0 && o.duration <= 0) {
		return fmt.Errorf("give --num-records N (N > 0) or --duration D")
	}
	acks, idempotent, err := cli.ParseAcks(o.acks)
	if err != nil {
		return fmt.Errorf("--acks: %w", err)
	}
	codec, err := cli.ParseCompression(o.compression)
	if err != nil {
		return fmt.Errorf("--compression: %w", err)
	}
	opts := []kgo.Opt{
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(acks),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(o.linger),
		kgo.ProducerBatchMaxBytes(int32(batchMax)),
	}
	if !idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	cl, err := o.newClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	nparts, err := ensureTopic(ctx, cl, topic, o.partitions)
	if err != nil {
		return err
	}

	payload := perfPayload(size)
	stats := &perfStats{winStart: time.Now()}
	start := stats.winStart
	var deadline time.Time
	if o.numRecords == 0 {
		deadline = start.Add(o.duration)
	}

	progressDone := make(chan struct{})
	var progressWG sync.WaitGroup
	if o.progress > 0 {
		progressWG.Add(1)
		go func() {
			defer progressWG.Done()
			t := time.NewTicker(o.progress)
			defer t.Stop()
			for {
				select {
				case <-progressDone:
					return
				case now := <-t.C:
					stats.printWindow(stderr, now)
				}
			}
		}()
	}

	var sent int64
	for o.numRecords == 0 || sent < o.numRecords {
		if ctx.Err() != nil || stats.failedErr() != nil {
			break
		}
		if o.numRecords == 0 && time.Now().After(deadline) {
			break
		}
		if o.throughput > 0 {
			due := start.Add(time.Duration(float64(sent) / o.throughput * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
				}
			}
		}
		cl.Produce(ctx, &kgo.Record{Value: payload, Timestamp: time.Now()}, stats.done)
		sent++
	}
	flushCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	flushErr := cl.Flush(flushCtx)
	close(progressDone)
	progressWG.Wait()

	stats.mu.Lock()
	defer stats.mu.Unlock()
	end := stats.lastAckNow
	if end.IsZero() {
		end = time.Now()
	}
	elapsed := end.Sub(start)
	h := &stats.total
	fmt.Fprintf(stdout, "perf produce: %d records of %d bytes to %s (%d partitions, acks=%s, compression=%s, linger=%s) in %s\n",
		h.Count(), size, topic, nparts, o.acks, o.compression, o.linger, elapsed.Round(time.Millisecond))
	if secs := elapsed.Seconds(); secs > 0 {
		fmt.Fprintf(stdout, "throughput: %.1f records/s, %.2f MB/s\n", float64(h.Count())/secs, float64(stats.bytes)/1e6/secs)
	}
	fmt.Fprintf(stdout, "latency: avg %s, p50 %s, p99 %s, p99.9 %s, max %s\n",
		ms(h.Mean()), ms(h.Quantile(0.5)), ms(h.Quantile(0.99)), ms(h.Quantile(0.999)), ms(h.Max()))
	switch {
	case stats.failed > 0:
		return fmt.Errorf("%s failed, the first with: %w", plural(int(stats.failed), "record"), stats.firstErr)
	case flushErr != nil:
		return fmt.Errorf("flush: %w", flushErr)
	}
	return nil
}

// perfConsumeOptions are the flags of `samsa perf consume`.
type perfConsumeOptions struct {
	clientFlags
	numRecords int64
	duration   time.Duration
	group      string
	fetchMax   string
	timeout    time.Duration
}

func newPerfConsumeCmd() *cobra.Command {
	o := &perfConsumeOptions{}
	cmd := &cobra.Command{
		Use:   "consume TOPIC",
		Short: "Consume a topic from the beginning as fast as possible; report records/s and MB/s",
		Long: `Read TOPIC from the beginning of every partition until --num-records
were read, or (with --num-records 0) until every partition was read to the
end it had at the start, or --duration passed, and report throughput.
Without --group the partitions are read directly and nothing is committed.`,
		Example: `  samsa perf consume bench
  samsa perf consume bench --num-records 1000000 --group perf`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			return runPerfConsume(ctx, o, args[0], cmd.OutOrStdout())
		},
	}
	o.register(cmd.Flags())
	fs := cmd.Flags()
	fs.Int64VarP(&o.numRecords, "num-records", "n", 0, "records to read (0: everything up to the end as of the start)")
	fs.DurationVarP(&o.duration, "duration", "d", 0, "stop after this long (0: no limit)")
	fs.StringVarP(&o.group, "group", "g", "", "consume as this consumer group (measures group join and commits too)")
	fs.StringVar(&o.fetchMax, "fetch-max-bytes", "50MiB", "fetch.max.bytes per fetch request")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "fail when no record arrives for this long")
	return cmd
}

func runPerfConsume(ctx context.Context, o *perfConsumeOptions, topic string, stdout io.Writer) error {
	fetchMax, err := cli.ParseSize(o.fetchMax)
	if err != nil || fetchMax < 1 || fetchMax > 1<<31-1 {
		return fmt.Errorf("--fetch-max-bytes: %w: %q", cli.ErrInvalid, o.fetchMax)
	}
	if o.numRecords < 0 {
		return fmt.Errorf("--num-records: %w: %d", cli.ErrInvalid, o.numRecords)
	}
	if o.group != "" {
		if err := requireGroupAPIs(ctx, &o.clientFlags); err != nil {
			return err
		}
	}
	opts := []kgo.Opt{
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(int32(fetchMax)),
		kgo.KeepControlRecords(),
	}
	if o.group != "" {
		opts = append(opts, kgo.ConsumerGroup(o.group))
	}
	// The clock starts before the client exists: it begins fetching as
	// soon as it is created, while the end offsets are still being listed.
	start := time.Now()
	cl, err := o.newClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	var remaining map[int32]int64
	if o.numRecords == 0 {
		copts := &consumeOptions{partition: -1, group: o.group}
		remaining, err = endTargets(ctx, kadm.NewClient(cl), topic, copts, cli.StartOffset{Kind: cli.StartAtBeginning}, false)
		if err != nil {
			return err
		}
	}
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}

	var first time.Time
	var records, bytes int64
	finished := func() bool {
		if o.numRecords > 0 {
			return records >= o.numRecords
		}
		return len(remaining) == 0
	}
	var fetchErr error
	for !finished() {
		pollCtx, cancel := context.WithTimeout(ctx, o.timeout)
		fetches := cl.PollFetches(pollCtx)
		timedOut := pollCtx.Err() != nil && ctx.Err() == nil
		cancel()
		if ctx.Err() != nil || fetches.IsClientClosed() {
			break
		}
		if timedOut {
			fetchErr = fmt.Errorf("no records for %s after %d were read", o.timeout, records)
			break
		}
		fetches.EachError(func(t string, p int32, err error) {
			if fetchErr == nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				fetchErr = fmt.Errorf("fetch %s[%d]: %w", t, p, err)
			}
		})
		if fetchErr != nil {
			break
		}
		now := time.Now()
		fetches.EachRecord(func(r *kgo.Record) {
			if finished() {
				return
			}
			if remaining != nil {
				if end, ok := remaining[r.Partition]; ok && r.Offset >= end {
					delete(remaining, r.Partition)
				}
			}
			if r.Attrs.IsControl() {
				return
			}
			if first.IsZero() {
				first = now
			}
			records++
			bytes += int64(len(r.Key) + len(r.Value))
		})
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "perf consume: %d records (%.2f MB) from %s in %s", records, float64(bytes)/1e6, topic, elapsed.Round(time.Millisecond))
	if !first.IsZero() {
		fmt.Fprintf(stdout, " (first record after %s)", ms(first.Sub(start)))
	}
	fmt.Fprintln(stdout)
	if secs := elapsed.Seconds(); secs > 0 {
		fmt.Fprintf(stdout, "throughput: %.1f records/s, %.2f MB/s\n", float64(records)/secs, float64(bytes)/1e6/secs)
	}
	return fetchErr
}
