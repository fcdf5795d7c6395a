package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-streaming/samsa/internal/cli"
)

func init() { extraCommands = append(extraCommands, newProduceCmd) }

// produceOptions are the parsed flags of `samsa produce`.
type produceOptions struct {
	clientFlags
	keySeparator    string
	headers         []string
	compression     string
	acks            string
	partition       int32
	linger          time.Duration
	deliveryTimeout time.Duration
	maxLineBytes    string
}

func newProduceCmd() *cobra.Command {
	o := &produceOptions{}
	cmd := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Produce records to a topic, one per line of standard input",
		Long: `Read standard input line by line and produce each line as one record
(a trailing \r is dropped, an empty line is an empty value). With
--key-separator, the text before the first separator on a line is the
record's key and the rest its value; a line without the separator is an
error. A topic that does not exist is created with the broker's defaults
when the broker allows it (auto.create.topics.enable, as Kafka's producers
ask). Records without a key are spread over the partitions by franz-go's
sticky partitioner, keyed records by the murmur2 hash of the key, as Kafka's
Java producer does. A summary goes to standard error at the end.`,
		Example: `  printf 'hello\nworld\n' | samsa produce demo
  printf 'user1:login\nuser2:logout\n' | samsa produce demo --key-separator : --header source=cli
  seq 100000 | samsa produce demo --compression zstd --acks 1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			return runProduce(ctx, o, args[0], cmd.InOrStdin(), cmd.ErrOrStderr())
		},
	}
	o.register(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVarP(&o.keySeparator, "key-separator", "K", "", "split each line into key and value at the first occurrence of this string")
	fs.StringArrayVarP(&o.headers, "header", "H", nil, "record header key=value added to every record (repeatable)")
	fs.StringVarP(&o.compression, "compression", "z", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
	fs.StringVar(&o.acks, "acks", "all", "acknowledgements to wait for: all (-1), 1 or 0")
	fs.Int32VarP(&o.partition, "partition", "p", -1, "produce every record to this partition (-1: let the partitioner choose)")
	fs.DurationVar(&o.linger, "linger", 0, "how long to wait for more records before sending a batch (linger.ms)")
	fs.DurationVar(&o.deliveryTimeout, "delivery-timeout", 2*time.Minute, "give up on a record not acknowledged within this time (delivery.timeout.ms)")
	fs.StringVar(&o.maxLineBytes, "max-line-bytes", "1MiB", "longest accepted input line")
	return cmd
}

// produceTally is what the produce callbacks report, shared between them
// (franz-go may call them from its own goroutines) and the reader.
type produceTally struct {
	mu          sync.Mutex
	ok          int64           // guarded by mu
	bytes       int64           // guarded by mu
	failed      int64           // guarded by mu
	firstErr    error           // guarded by mu
	byPartition map[int32]int64 // guarded by mu
}

func (t *produceTally) done(r *kgo.Record, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.failed++
		if t.firstErr == nil {
			t.firstErr = err
		}
		return
	}
	t.ok++
	t.bytes += int64(len(r.Key) + len(r.Value))
	t.byPartition[r.Partition]++
}

func (t *produceTally) err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.firstErr
}

func runProduce(ctx context.Context, o *produceOptions, topic string, in io.Reader, summary io.Writer) error {
	acks, idempotent, err := cli.ParseAcks(o.acks)
	if err != nil {
		return fmt.Errorf("--acks: %w", err)
	}
	codec, err := cli.ParseCompression(o.compression)
	if err != nil {
		return fmt.Errorf("--compression: %w", err)
	}
	headers, err := cli.ParseHeaders(o.headers)
	if err != nil {
		return fmt.Errorf("--header: %w", err)
	}
	maxLine, err := cli.ParseSize(o.maxLineBytes)
	if err != nil || maxLine < 1 {
		return fmt.Errorf("--max-line-bytes: %w", cli.ErrInvalid)
	}
	opts := []kgo.Opt{
		kgo.DefaultProduceTopic(topic),
		// As Kafka's producers do by default (allow.auto.create.topics):
		// a broker with auto.create.topics.enable creates a missing topic.
		kgo.AllowAutoTopicCreation(),
		kgo.RequiredAcks(acks),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(o.linger),
		kgo.RecordDeliveryTimeout(o.deliveryTimeout),
	}
	if !idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	if o.partition >= 0 {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	cl, err := o.newClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	tally := &produceTally{byPartition: map[int32]int64{}}
	start := time.Now()
	sc := bufio.NewScanner(in)
	// The scanner's limit is the larger of its max and the initial
	// buffer's capacity, so the buffer must not start above the limit.
	limit := int(min(maxLine, 1<<30)) + 1
	sc.Buffer(make([]byte, 0, min(limit, 64<<10)), limit)
	sep := []byte(o.keySeparator)
	var readErr error
	line := 0
	for sc.Scan() {
		line++
		if tally.err() != nil || ctx.Err() != nil {
			break
		}
		text := sc.Bytes()
		r := &kgo.Record{Headers: headers, Partition: o.partition}
		if len(sep) > 0 {
			k, v, ok := bytes.Cut(text, sep)
			if !ok {
				readErr = fmt.Errorf("line %d has no key separator %q", line, o.keySeparator)
				break
			}
			r.Key = bytes.Clone(k)
			r.Value = bytes.Clone(v)
		} else {
			r.Value = bytes.Clone(text)
		}
		cl.Produce(ctx, r, tally.done)
	}
	if err := sc.Err(); err != nil && readErr == nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("line %d is longer than --max-line-bytes %s", line+1, o.maxLineBytes)
		}
		readErr = fmt.Errorf("read input: %w", err)
	}
	// Flush with a context that outlives an interrupt: records already
	// handed to the client either land or fail with their own error.
	flushCtx, cancel := context.WithTimeout(context.Background(), o.deliveryTimeout+5*time.Second)
	defer cancel()
	if err := cl.Flush(flushCtx); err != nil && readErr == nil {
		readErr = fmt.Errorf("flush: %w", err)
	}
	elapsed := time.Since(start)

	tally.mu.Lock()
	defer tally.mu.Unlock()
	fmt.Fprintf(summary, "Produced %s (%s) to %s in %s", plural(int(tally.ok), "record"),
		humanBytes(float64(tally.bytes)), topic, elapsed.Round(time.Millisecond))
	if elapsed > 0 && tally.ok > 0 {
		fmt.Fprintf(summary, ", %.0f records/s", float64(tally.ok)/elapsed.Seconds())
	}
	if len(tally.byPartition) > 0 {
		parts := make([]int32, 0, len(tally.byPartition))
		for p := range tally.byPartition {
			parts = append(parts, p)
		}
		sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
		var b strings.Builder
		for i, p := range parts {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d: %d", p, tally.byPartition[p])
		}
		fmt.Fprintf(summary, "; per partition: %s", b.String())
	}
	fmt.Fprintln(summary, ".")
	var errs []error
	if tally.failed > 0 {
		errs = append(errs, fmt.Errorf("%s failed, the first with: %w", plural(int(tally.failed), "record"), tally.firstErr))
	}
	if readErr != nil {
		errs = append(errs, readErr)
	}
	if len(errs) == 0 && ctx.Err() != nil {
		fmt.Fprintln(summary, "Interrupted; input after that point was not produced.")
	}
	return errors.Join(errs...)
}

// humanBytes formats a byte count with a binary unit.
func humanBytes(n float64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%.0f B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	i := -1
	for n >= unit && i < len(units)-1 {
		n /= unit
		i++
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}
