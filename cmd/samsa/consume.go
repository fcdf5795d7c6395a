package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/cli"
)

func init() { extraCommands = append(extraCommands, newConsumeCmd) }

// consumeOptions are the parsed flags of `samsa consume`.
type consumeOptions struct {
	clientFlags
	fromBeginning bool
	offset        string
	fromTimestamp string
	partition     int32
	format        string
	maxMessages   int64
	group         string
	exitAtEnd     bool
	isolation     string
}

func newConsumeCmd() *cobra.Command {
	o := &consumeOptions{}
	cmd := &cobra.Command{
		Use:   "consume TOPIC",
		Short: "Print a topic's records to standard output",
		Long: `Consume a topic and print each record with --format (default: the value
and a newline). Consumption starts at the end of each partition unless
--from-beginning, --offset or --from-timestamp says otherwise. It runs until
interrupted, --max-messages records were printed, or (with --exit-at-end)
every partition was read up to the end it had when the command started;
each of those exits 0. "Processed a total of N messages" goes to standard
error at the end, as with Kafka's console consumer.

Format placeholders (kcat's letters):
  %t topic   %p partition   %o offset   %T timestamp (Unix ms)
  %k key     %K key length  %s value    %S value length
  %h headers as k=v,k=v     %% percent  \n newline  \t tab
--format json prints one JSON object per line (topic, partition, offset,
timestamp, key, value, headers; non-UTF-8 bytes as base64 in *_base64).

Without --group the command reads partitions directly and commits nothing.
With --group it joins that consumer group, starts where the group's
committed offsets say (the start flags then only apply to partitions
without a commit), and commits what it printed.`,
		Example: `  samsa consume demo --from-beginning --max-messages 10
  samsa consume demo --from-beginning --format '%p/%o %k=%s\n' --exit-at-end
  samsa consume demo --partition 2 --offset 100 --format json
  samsa consume demo --from-timestamp 2024-05-01T12:00:00Z
  samsa consume demo --group audit --from-beginning`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signalContext(cmd.Context())
			defer stop()
			return runConsume(ctx, o, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.register(cmd.Flags())
	fs := cmd.Flags()
	fs.BoolVarP(&o.fromBeginning, "from-beginning", "b", false, "start at the oldest record of each partition")
	fs.StringVarP(&o.offset, "offset", "o", "", "start at: earliest, latest, an offset N, or -N for N records before the end")
	fs.StringVar(&o.fromTimestamp, "from-timestamp", "", "start at the first record at or after this time (RFC 3339 or Unix ms)")
	fs.Int32VarP(&o.partition, "partition", "p", -1, "read only this partition (-1: all)")
	fs.StringVarP(&o.format, "format", "f", `%s\n`, "output format with placeholders (see above), or json")
	fs.Int64VarP(&o.maxMessages, "max-messages", "n", 0, "exit after printing this many records (0: no limit)")
	fs.StringVarP(&o.group, "group", "g", "", "consume as a member of this consumer group and commit progress")
	fs.BoolVarP(&o.exitAtEnd, "exit-at-end", "e", false, "exit once every partition has been read to its end as of the start")
	fs.StringVar(&o.isolation, "isolation", "read_uncommitted", "read_uncommitted, or read_committed to skip aborted and open transactions")
	return cmd
}

func runConsume(ctx context.Context, o *consumeOptions, topic string, stdout, stderr io.Writer) error {
	start, err := cli.ParseStartOffset(o.fromBeginning, o.offset, o.fromTimestamp)
	if err != nil {
		return err
	}
	format, err := cli.ParseFormat(o.format)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	if o.maxMessages < 0 {
		return fmt.Errorf("--max-messages: %w: %d is negative", cli.ErrInvalid, o.maxMessages)
	}
	if o.group != "" && o.partition >= 0 {
		return errors.New("--partition and --group exclude each other: a group assigns partitions itself")
	}
	var isolation kgo.IsolationLevel
	switch strings.ToLower(o.isolation) {
	case "read_uncommitted":
		isolation = kgo.ReadUncommitted()
	case "read_committed":
		isolation = kgo.ReadCommitted()
	default:
		return fmt.Errorf("--isolation: %w: %q (want read_uncommitted or read_committed)", cli.ErrInvalid, o.isolation)
	}

	if o.group != "" {
		if err := requireGroupAPIs(ctx, &o.clientFlags); err != nil {
			return err
		}
	}

	// Like Kafka's console consumer, an offset that is out of range falls
	// back to the end (the beginning with --from-beginning).
	reset := kgo.NewOffset().AtEnd()
	if o.fromBeginning {
		reset = kgo.NewOffset().AtStart()
	}
	opts := []kgo.Opt{
		kgo.FetchIsolationLevel(isolation),
		// Control records (transaction markers) are skipped when
		// printing but let --exit-at-end see that a partition whose
		// last offset is a marker has been read to its end.
		kgo.KeepControlRecords(),
	}
	switch {
	case o.group != "":
		opts = append(opts, kgo.ConsumerGroup(o.group), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(start.Offset()), kgo.AutoCommitMarks())
	case o.partition >= 0:
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {o.partition: start.Offset()}}),
			kgo.ConsumeResetOffset(reset))
	default:
		opts = append(opts, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(start.Offset()))
	}
	cl, err := o.newClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	if !o.exitAtEnd {
		warnIfMissing(ctx, cl, topic, stderr)
	}

	// remaining maps each partition still to be read (--exit-at-end) to
	// the offset its last record has.
	var remaining map[int32]int64
	if o.exitAtEnd {
		remaining, err = endTargets(ctx, kadm.NewClient(cl), topic, o, start, isolation == kgo.ReadCommitted())
		if err != nil {
			return err
		}
	}

	out := bufio.NewWriterSize(stdout, 64<<10)
	var (
		printed  int64
		buf      []byte
		warned   = map[string]bool{}
		writeErr error
	)
	done := func() bool {
		return (o.maxMessages > 0 && printed >= o.maxMessages) || (o.exitAtEnd && len(remaining) == 0) || writeErr != nil
	}
	for !done() {
		max := 10000
		if o.maxMessages > 0 {
			max = int(min(o.maxMessages-printed, 10000))
		}
		fetches := cl.PollRecords(ctx, max)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			break
		}
		fetches.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			msg := fmt.Sprintf("%s[%d]: %v", t, p, err)
			if !warned[msg] {
				warned[msg] = true
				fmt.Fprintf(stderr, "warning: %s\n", msg)
			}
		})
		fetches.EachRecord(func(r *kgo.Record) {
			if done() {
				return
			}
			if remaining != nil {
				if last, ok := remaining[r.Partition]; ok && r.Offset >= last {
					delete(remaining, r.Partition)
				}
			}
			if r.Attrs.IsControl() {
				if o.group != "" {
					cl.MarkCommitRecords(r)
				}
				return
			}
			buf = format.Append(buf[:0], r)
			if _, err := out.Write(buf); err != nil {
				writeErr = err
				return
			}
			printed++
			if o.group != "" {
				cl.MarkCommitRecords(r)
			}
		})
		if err := out.Flush(); err != nil && writeErr == nil {
			writeErr = err
		}
	}
	if err := out.Flush(); err != nil && writeErr == nil {
		writeErr = err
	}
	if o.group != "" {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := cl.CommitMarkedOffsets(cctx); err != nil {
			fmt.Fprintf(stderr, "warning: commit offsets of group %s: %v\n", o.group, err)
		}
		cancel()
	}
	fmt.Fprintf(stderr, "Processed a total of %d messages\n", printed)
	if writeErr != nil {
		return fmt.Errorf("write output: %w", writeErr)
	}
	return nil
}

// endTargets returns, for --exit-at-end, each partition that has records
// to read between where consumption starts and the partition's end now
// (high watermark, or last stable offset under read_committed), mapped to
// the offset of its last record. A partition whose start is already at its
// end is left out: there is nothing to wait for.
func endTargets(ctx context.Context, adm *kadm.Client, topic string, o *consumeOptions, start cli.StartOffset, committed bool) (map[int32]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	list := adm.ListEndOffsets
	if committed {
		list = adm.ListCommittedOffsets
	}
	ends, err := list(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list start offsets of %s: %w", topic, err)
	}
	var byTime kadm.ListedOffsets
	if start.Kind == cli.StartAtTime {
		if byTime, err = adm.ListOffsetsAfterMilli(ctx, start.At, topic); err != nil {
			return nil, fmt.Errorf("list offsets of %s by time: %w", topic, err)
		}
	}
	var commits kadm.OffsetResponses
	if o.group != "" {
		// A group that does not exist yet has no commits; that is
		// not an error.
		commits, _ = adm.FetchOffsets(ctx, o.group)
	}
	out := map[int32]int64{}
	for p, end := range ends[topic] {
		if o.partition >= 0 && p != o.partition {
			continue
		}
		logStart := int64(0)
		if s, ok := starts.Lookup(topic, p); ok && s.Err == nil {
			logStart = s.Offset
		}
		at := int64(-1)
		if lo, ok := byTime.Lookup(topic, p); ok && lo.Err == nil {
			at = lo.Offset
		}
		from := start.Position(logStart, end.Offset, at)
		if c, ok := commits.Lookup(topic, p); ok && c.Err == nil && c.At >= 0 {
			from = c.At
		}
		if from < end.Offset {
			out[p] = end.Offset - 1
		}
	}
	return out, nil
}

// groupAPIs are the requests a classic consumer group member needs.
var groupAPIs = []kmsg.Key{kmsg.FindCoordinator, kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat,
	kmsg.OffsetFetch, kmsg.OffsetCommit, kmsg.LeaveGroup}

// requireGroupAPIs fails fast, with a message that says why, when a broker
// does not advertise the consumer group APIs; a group client would
// otherwise retry FindCoordinator forever and look hung.
func requireGroupAPIs(ctx context.Context, f *clientFlags) error {
	cl, err := f.newClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	versions, err := kadm.NewClient(cl).ApiVersions(ctx)
	if err != nil {
		return fmt.Errorf("--group: ask the brokers which APIs they support: %w", err)
	}
	for _, v := range versions.Sorted() {
		if v.Err != nil {
			return fmt.Errorf("--group: ApiVersions of broker %d: %w", v.NodeID, v.Err)
		}
		for _, key := range groupAPIs {
			if _, ok := v.KeyMaxVersion(key.Int16()); !ok {
				return fmt.Errorf("--group: broker %d does not support consumer groups (no %s in its ApiVersions); consume without --group", v.NodeID, key.Name())
			}
		}
	}
	return nil
}

// warnIfMissing tells the user, once, that the topic does not exist (yet):
// the consumer then waits for it silently, which looks like a hang.
func warnIfMissing(ctx context.Context, cl *kgo.Client, topic string, stderr io.Writer) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tds, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err == nil && !tds.Has(topic) {
		fmt.Fprintf(stderr, "warning: topic %s does not exist; waiting for it to be created\n", topic)
	}
}
