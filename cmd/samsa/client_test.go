package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/testutil"
)

// These tests run the client subcommands exactly as a user would (through
// the root command, flags and all) against a real in-process broker.

// runCLI executes `samsa args...` with stdin and returns what it printed.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return runCLIContext(ctx, stdin, args...)
}

// runCLIContext is runCLI under ctx: its end is what Ctrl-C is to a user.
func runCLIContext(ctx context.Context, stdin string, args ...string) (stdout, stderr string, err error) {
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// mustCLI is runCLI that fails the test on error.
func mustCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := runCLI(t, stdin, args...)
	if err != nil {
		t.Fatalf("samsa %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout, stderr
}

func TestTopicLifecycle(t *testing.T) {
	b := testutil.StartBroker(t)
	bk := "--brokers=" + b.Addr

	out, _ := mustCLI(t, "", "topic", "create", "orders", bk, "--partitions", "3", "--config", "retention.ms=3600000")
	if !strings.Contains(out, "Created topic orders (3 partitions, replication factor 1)") {
		t.Fatalf("create output: %q", out)
	}
	if _, _, err := runCLI(t, "", "topic", "create", "orders", bk); err == nil || !strings.Contains(err.Error(), "TOPIC_ALREADY_EXISTS") {
		t.Fatalf("second create: err = %v, want TOPIC_ALREADY_EXISTS", err)
	}
	out, _ = mustCLI(t, "", "topic", "create", "orders", bk, "--if-not-exists")
	if !strings.Contains(out, "already exists") {
		t.Fatalf("--if-not-exists output: %q", out)
	}
	mustCLI(t, "", "topic", "create", "audit", bk, "-p", "1")

	out, _ = mustCLI(t, "", "topic", "list", bk)
	if out != "audit\norders\n" {
		t.Fatalf("list = %q", out)
	}

	out, _ = mustCLI(t, "", "topic", "describe", "orders", bk)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "Topic: orders\tTopicId: ") || !strings.Contains(lines[0], "PartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=3600000") {
		t.Fatalf("describe header: %q", lines[0])
	}
	for p := 0; p < 3; p++ {
		want := fmt.Sprintf("\tTopic: orders\tPartition: %d\tLeader: %d\tReplicas: %d\tIsr: %d", p, b.NodeID(), b.NodeID(), b.NodeID())
		if !strings.Contains(out, want+"\n") {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "\tConfig: retention.ms=3600000\tSource: DYNAMIC_TOPIC_CONFIG\n") {
		t.Errorf("describe lacks the override with its source:\n%s", out)
	}
	all, _ := mustCLI(t, "", "topic", "describe", "orders", bk, "--all-configs")
	if !strings.Contains(all, "\tConfig: cleanup.policy=delete\tSource: DEFAULT_CONFIG\n") {
		t.Errorf("--all-configs lacks the cleanup.policy default:\n%s", all)
	}

	out, _ = mustCLI(t, "", "topic", "alter-config", "orders", bk, "--set", "cleanup.policy=compact", "--delete", "retention.ms")
	if !strings.Contains(out, "Altered configs of topic orders.") {
		t.Fatalf("alter-config output: %q", out)
	}
	out, _ = mustCLI(t, "", "topic", "describe", "orders", bk)
	if !strings.Contains(out, "\tConfig: cleanup.policy=compact\tSource: DYNAMIC_TOPIC_CONFIG\n") || strings.Contains(out, "retention.ms=3600000") {
		t.Errorf("describe after alter-config:\n%s", out)
	}
	if _, _, err := runCLI(t, "", "topic", "alter-config", "orders", bk, "--set", "no.such.config=1"); err == nil {
		t.Errorf("alter-config of an unknown key succeeded")
	}

	out, _ = mustCLI(t, "", "topic", "delete", "orders", bk)
	if !strings.Contains(out, "Deleted topic orders.") {
		t.Fatalf("delete output: %q", out)
	}
	out, _ = mustCLI(t, "", "topic", "list", bk)
	if out != "audit\n" {
		t.Fatalf("list after delete = %q", out)
	}
	if _, _, err := runCLI(t, "", "topic", "describe", "orders", bk); err == nil || !strings.Contains(err.Error(), "UNKNOWN_TOPIC_OR_PARTITION") {
		t.Fatalf("describe of a deleted topic: err = %v", err)
	}
	if _, _, err := runCLI(t, "", "topic", "delete", "orders", bk); err == nil {
		t.Fatalf("deleting a missing topic succeeded")
	}
	mustCLI(t, "", "topic", "delete", "orders", bk, "--if-exists")
}

// consumed is one line of the format used by the round-trip tests.
type consumed struct {
	partition      int32
	offset         int64
	key, value, hs string
}

const roundTripFormat = `%p|%o|%k|%s|%h\n`

func parseConsumed(t *testing.T, out string) []consumed {
	t.Helper()
	var recs []consumed
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, "|", 5)
		if len(f) != 5 {
			t.Fatalf("bad output line %q", line)
		}
		p, err1 := strconv.ParseInt(f[0], 10, 32)
		o, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad output line %q", line)
		}
		recs = append(recs, consumed{int32(p), o, f[2], f[3], f[4]})
	}
	return recs
}

// checkOrder verifies that each partition's records came back in offset
// order without gaps, starting at 0, and that each key always maps to the
// same partition.
func checkOrder(t *testing.T, recs []consumed) {
	t.Helper()
	next := map[int32]int64{}
	keyPart := map[string]int32{}
	for _, r := range recs {
		if r.offset != next[r.partition] {
			t.Fatalf("partition %d: offset %d after %d", r.partition, r.offset, next[r.partition]-1)
		}
		next[r.partition]++
		if p, ok := keyPart[r.key]; ok && p != r.partition && r.key != "" {
			t.Fatalf("key %q in partitions %d and %d", r.key, p, r.partition)
		}
		keyPart[r.key] = r.partition
	}
}

func TestProduceConsumeRoundTrip(t *testing.T) {
	b := testutil.StartBroker(t)
	bk := "--brokers=" + b.Addr
	const n = 600
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			topic := "rt-" + codec
			mustCLI(t, "", "topic", "create", topic, bk, "-p", "3")
			var in strings.Builder
			for i := 0; i < n; i++ {
				fmt.Fprintf(&in, "key-%d:value %d: with the separator again\r\n", i%50, i)
			}
			_, summary := mustCLI(t, in.String(), "produce", topic, bk, "--key-separator", ":",
				"--header", "source=test", "--header", "codec="+codec, "--compression", codec, "--acks", "all")
			if !strings.Contains(summary, fmt.Sprintf("Produced %d records", n)) {
				t.Fatalf("produce summary: %q", summary)
			}
			out, stderr := mustCLI(t, "", "consume", topic, bk, "--from-beginning", "--max-messages", strconv.Itoa(n), "--format", roundTripFormat)
			if !strings.Contains(stderr, fmt.Sprintf("Processed a total of %d messages", n)) {
				t.Errorf("consume stderr: %q", stderr)
			}
			recs := parseConsumed(t, out)
			if len(recs) != n {
				t.Fatalf("consumed %d records, want %d", len(recs), n)
			}
			checkOrder(t, recs)
			seen := make([]bool, n)
			for _, r := range recs {
				var i int
				if _, err := fmt.Sscanf(r.value, "value %d: with the separator again", &i); err != nil || i < 0 || i >= n || seen[i] {
					t.Fatalf("unexpected or duplicate value %q", r.value)
				}
				seen[i] = true
				if r.key != fmt.Sprintf("key-%d", i%50) {
					t.Fatalf("value %d came with key %q", i, r.key)
				}
				if r.hs != "source=test,codec="+codec {
					t.Fatalf("headers %q", r.hs)
				}
			}
			// --exit-at-end reads the same records and stops by itself.
			out, _ = mustCLI(t, "", "consume", topic, bk, "-b", "-e", "-f", "%o\n")
			if got := strings.Count(out, "\n"); got != n {
				t.Fatalf("--exit-at-end printed %d records, want %d", got, n)
			}
		})
	}
}

func TestConsumeStartPositions(t *testing.T) {
	b := testutil.StartBroker(t)
	bk := "--brokers=" + b.Addr
	mustCLI(t, "", "topic", "create", "pos", bk, "-p", "2")
	var in strings.Builder
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&in, "v%d\n", i)
	}
	mustCLI(t, in.String(), "produce", "pos", bk, "--partition", "1")
	mid := time.Now()
	time.Sleep(20 * time.Millisecond) // timestamps are milliseconds
	mustCLI(t, "late\n", "produce", "pos", bk, "--partition", "1")

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"offset", []string{"--partition", "1", "--offset", "15", "-n", "5"}, "v15 v16 v17 v18 v19"},
		{"relative", []string{"--partition", "1", "--offset", "-3", "-e"}, "v18 v19 late"},
		{"timestamp ms", []string{"--from-timestamp", strconv.FormatInt(mid.UnixMilli()+1, 10), "-e"}, "late"},
		{"timestamp rfc3339", []string{"--from-timestamp", mid.Add(time.Millisecond).UTC().Format(time.RFC3339Nano), "-e"}, "late"},
		{"future", []string{"--from-timestamp", "2999-01-01T00:00:00Z", "-e"}, ""},
		{"empty partition", []string{"--partition", "0", "-b", "-e"}, ""},
		{"end", []string{"-e"}, ""},
		{"json", []string{"--partition", "1", "--offset", "20", "-n", "1", "-f", "json"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"consume", "pos", bk}, tc.args...)
			out, _ := mustCLI(t, "", args...)
			if tc.name == "json" {
				var rec struct {
					Topic     string `json:"topic"`
					Partition int32  `json:"partition"`
					Offset    int64  `json:"offset"`
					Timestamp int64  `json:"timestamp"`
					Key       *string
					Value     string `json:"value"`
				}
				if err := json.Unmarshal([]byte(out), &rec); err != nil {
					t.Fatalf("json output %q: %v", out, err)
				}
				if rec.Topic != "pos" || rec.Partition != 1 || rec.Offset != 20 || rec.Key != nil || rec.Value != "late" || rec.Timestamp < mid.UnixMilli() {
					t.Fatalf("json record %+v", rec)
				}
				return
			}
			if got := strings.Join(strings.Fields(out), " "); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestConsumeFromEndByDefault: with no start flag a consumer sees only
// records produced after it started.
func TestConsumeFromEndByDefault(t *testing.T) {
	b := testutil.StartBroker(t)
	bk := "--brokers=" + b.Addr
	mustCLI(t, "", "topic", "create", "tail", bk, "-p", "1")
	mustCLI(t, "old\n", "produce", "tail", bk)

	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, _, err := runCLI(t, "", "consume", "tail", bk, "-n", "1")
		done <- result{out, err}
	}()
	// The consumer's position is set some time after it starts; keep
	// producing until it has seen one.
	for i := 0; ; i++ {
		select {
		case r := <-done:
			if r.err != nil || !strings.HasPrefix(r.out, "new ") {
				t.Fatalf("consume from the end: %q, %v", r.out, r.err)
			}
			return
		case <-time.After(200 * time.Millisecond):
			if _, _, err := runCLI(t, fmt.Sprintf("new %d\n", i), "produce", "tail", bk); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestConsumeGroupCommits: with --group, what was printed is committed and
// the next member resumes after it. On a broker that does not advertise
// the group APIs the command must say so at once instead of hanging.
func TestConsumeGroupCommits(t *testing.T) {
	b := testutil.StartBroker(t)
	bk := "--brokers=" + b.Addr
	mustCLI(t, "", "topic", "create", "grp", bk, "-p", "1")
	mustCLI(t, "a\nb\nc\nd\ne\nf\n", "produce", "grp", bk)
	if !advertisesGroups(t, b.Addr) {
		for _, args := range [][]string{{"consume", "grp", bk, "--group", "g1", "-b", "-n", "4"}, {"perf", "consume", "grp", bk, "--group", "g1"}} {
			start := time.Now()
			_, _, err := runCLI(t, "", args...)
			if err == nil || !strings.Contains(err.Error(), "does not support consumer groups") {
				t.Fatalf("samsa %v on a broker without groups: err = %v", args, err)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Fatalf("samsa %v took %s to refuse", args, d)
			}
		}
		return
	}
	out, _ := mustCLI(t, "", "consume", "grp", bk, "--group", "g1", "--from-beginning", "-n", "4")
	if got := strings.Fields(out); strings.Join(got, "") != "abcd" {
		t.Fatalf("first member read %q", out)
	}
	// The group committed what was printed: the next member resumes there.
	out, _ = mustCLI(t, "", "consume", "grp", bk, "--group", "g1", "--from-beginning", "-e")
	if got := strings.Fields(out); strings.Join(got, "") != "ef" {
		t.Fatalf("second member read %q", out)
	}
	if _, _, err := runCLI(t, "", "consume", "grp", bk, "--group", "g1", "--partition", "0"); err == nil {
		t.Fatal("--group with --partition accepted")
	}
}

// advertisesGroups reports whether the broker lists JoinGroup in its
// ApiVersions.
func advertisesGroups(t *testing.T, addr string) bool {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range resp.ApiKeys {
		if k.ApiKey == kmsg.JoinGroup.Int16() {
			return true
		}
	}
	return false
}

func TestProduceInputErrors(t *testing.T) {
	b := testutil.StartBroker(t)
	bk := "--brokers=" + b.Addr
	mustCLI(t, "", "topic", "create", "errs", bk, "-p", "1")
	_, summary, err := runCLI(t, "k:v\nno separator\nk:w\n", "produce", "errs", bk, "-K", ":")
	if err == nil || !strings.Contains(err.Error(), "line 2 has no key separator") {
		t.Fatalf("missing separator: err = %v", err)
	}
	if !strings.Contains(summary, "Produced 1 record ") {
		t.Fatalf("summary %q: the line before the bad one should be produced", summary)
	}
	// A missing topic is auto-created by the broker for the producer, as
	// for Kafka's producers.
	_, summary = mustCLI(t, "x\n", "produce", "created-by-produce", bk)
	if !strings.Contains(summary, "Produced 1 record ") {
		t.Fatalf("produce to a new topic: %q", summary)
	}
	for _, args := range [][]string{
		{"--acks", "2"}, {"--compression", "brotli"}, {"--header", "novalue"}, {"--max-line-bytes", "x"},
	} {
		if _, _, err := runCLI(t, "x\n", append([]string{"produce", "errs", bk}, args...)...); err == nil {
			t.Errorf("produce %v accepted", args)
		}
	}
	if _, _, err := runCLI(t, "", "consume", "errs", bk, "--format", "%q"); err == nil {
		t.Error("consume with an unknown --format placeholder accepted")
	}
	if _, _, err := runCLI(t, "", "consume", "errs", bk, "-b", "--offset", "3"); err == nil {
		t.Error("consume --from-beginning --offset accepted")
	}
	// Consuming a topic that does not exist waits for it, and says so;
	// an interrupt then ends it with success.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, stderr, err := runCLIContext(ctx, "", "consume", "no-such-topic", bk, "-n", "1")
	if err != nil || !strings.Contains(stderr, "warning: topic no-such-topic does not exist") || !strings.Contains(stderr, "Processed a total of 0 messages") {
		t.Fatalf("consume of a missing topic: err %v, stderr %q", err, stderr)
	}
	// A line longer than --max-line-bytes is refused, not split.
	_, _, err = runCLI(t, strings.Repeat("x", 2000)+"\n", "produce", "errs", bk, "--max-line-bytes", "1KiB")
	if err == nil || !strings.Contains(err.Error(), "longer than --max-line-bytes") {
		t.Fatalf("long line: err = %v", err)
	}
	out, _ := mustCLI(t, "", "consume", "errs", bk, "-b", "-e", "-f", "%k=%s\n")
	if out != "k=v\n" {
		t.Fatalf("topic holds %q, want only the record before the bad line", out)
	}
}

func TestPerfProduceConsume(t *testing.T) {
	b := testutil.StartBroker(t)
	bk := "--brokers=" + b.Addr
	out, _ := mustCLI(t, "", "perf", "produce", "perf", bk, "--num-records", "3000", "--record-size", "200",
		"--partitions", "3", "--progress", "0", "--linger", "1ms")
	for _, want := range []string{"perf produce: 3000 records of 200 bytes to perf (3 partitions, acks=all", "records/s", "MB/s", "p50", "p99.9", "max"} {
		if !strings.Contains(out, want) {
			t.Errorf("perf produce output lacks %q:\n%s", want, out)
		}
	}
	out, _ = mustCLI(t, "", "perf", "consume", "perf", bk)
	if !strings.Contains(out, "perf consume: 3000 records (0.60 MB)") || !strings.Contains(out, "records/s") {
		t.Errorf("perf consume output:\n%s", out)
	}
	out, _ = mustCLI(t, "", "perf", "consume", "perf", bk, "--num-records", "1000")
	if !strings.Contains(out, "perf consume: 1000 records") {
		t.Errorf("perf consume -n 1000 output:\n%s", out)
	}
	// The topic now exists with 3 partitions: a duration run reuses it.
	out, progress := mustCLI(t, "", "perf", "produce", "perf", bk, "--duration", "1500ms", "--progress", "500ms",
		"--record-size", "64", "--acks", "1", "--compression", "lz4", "--throughput", "2000")
	if !strings.Contains(out, "(3 partitions, acks=1, compression=lz4") {
		t.Errorf("duration run output:\n%s", out)
	}
	if !strings.Contains(progress, "records acknowledged") {
		t.Errorf("no progress line in %q", progress)
	}
	// --throughput paces sends: no more than rate x duration (+1 for the
	// record at time zero) can have been sent.
	var sent int
	if _, err := fmt.Sscanf(out, "perf produce: %d records", &sent); err != nil || sent < 1 || sent > 3001 {
		t.Errorf("duration run at 2000 records/s for 1.5s sent %d records (%v)", sent, err)
	}
	if _, _, err := runCLI(t, "", "perf", "produce", "perf", bk); err == nil {
		t.Error("perf produce without --num-records or --duration accepted")
	}
}
