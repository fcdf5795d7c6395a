package server_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metrics"
	"github.com/samsa-streaming/samsa/internal/server"
	"github.com/samsa-streaming/samsa/internal/testutil"
)

// batchCounter is a kgo hook that adds up what the producer wrote: every
// batch's records and its bytes on the wire (kgo reports the records'
// bytes; a v2 batch adds its 61-byte header).
type batchCounter struct {
	mu             sync.Mutex
	records, bytes int // guarded by mu
}

const batchHeaderLen = 61

func (c *batchCounter) OnProduceBatchWritten(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.ProduceBatchMetrics) {
	c.mu.Lock()
	c.records += m.NumRecords
	c.bytes += m.CompressedBytes + batchHeaderLen
	c.mu.Unlock()
}

func (c *batchCounter) totals() (records, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.records, c.bytes
}

// httpGet GETs path on the side port and returns the status and body.
func httpGet(addr net.Addr, path string) (int, string, error) {
	cl := &http.Client{Timeout: 30 * time.Second}
	resp, err := cl.Get("http://" + addr.String() + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func mustGet(t *testing.T, addr net.Addr, path string, wantStatus int, wantBody string) {
	t.Helper()
	status, body, err := httpGet(addr, path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if status != wantStatus || body != wantBody {
		t.Fatalf("GET %s = %d %q, want %d %q", path, status, body, wantStatus, wantBody)
	}
}

// createTopic creates a one-partition topic.
func createTopic(t *testing.T, addr, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// sumSeries adds up the series of m whose key starts with prefix.
func sumSeries(m testutil.Metrics, prefix string) float64 {
	var sum float64
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			sum += v
		}
	}
	return sum
}

// TestMetricsCountWhatClientsDid produces and consumes with franz-go and
// checks that the scraped counters and gauges moved by exactly that much.
func TestMetricsCountWhatClientsDid(t *testing.T) {
	b := testutil.StartBroker(t)
	const topic, n = "metered", 500
	createTopic(t, b.Addr, topic)
	before := testutil.Scrape(t, b.HTTPAddr().String())

	hook := &batchCounter{}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.DefaultProduceTopic(topic), kgo.WithHooks(hook),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range n {
		cl.Produce(ctx, &kgo.Record{Value: fmt.Appendf(nil, "record %d", i)}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	consumed := 0
	for consumed < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d: %v", consumed, n, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		consumed += len(fs.Records())
	}
	records, bytes := hook.totals()
	if records != n {
		t.Fatalf("producer hook saw %d records, want %d", records, n)
	}

	m := testutil.Scrape(t, b.HTTPAddr().String())
	topicKey := func(name string) string { return testutil.Series(name, "topic", topic) }
	partKey := func(name string) string { return testutil.Series(name, "partition", "0", "topic", topic) }
	for _, c := range []struct {
		series string
		want   float64
	}{
		{topicKey("samsa_topic_messages_in_total"), n},
		{topicKey("samsa_topic_bytes_in_total"), float64(bytes)},
		{"samsa_messages_in_total", n},
		{"samsa_bytes_in_total", float64(bytes)},
		{partKey("samsa_log_end_offset"), n},
		{partKey("samsa_partition_high_watermark"), n},
		{partKey("samsa_log_start_offset"), 0},
		{partKey("samsa_log_segments"), 1},
		// Batches are stored exactly as received.
		{partKey("samsa_log_size_bytes"), float64(bytes)},
		{"samsa_partitions", 1},
		{"samsa_leader_partitions", 1},
		{"samsa_under_replicated_partitions", 0},
		{testutil.Series("samsa_purgatory_delayed_operations", "operation", "Produce"), 0},
	} {
		if got, ok := m[c.series]; !ok || got != c.want {
			t.Errorf("%s = %v (present %v), want %v", c.series, got, ok, c.want)
		}
	}
	// The consumer read every batch at least once (franz-go does not
	// re-read, but the assertion need not depend on it).
	if out := m[topicKey("samsa_topic_bytes_out_total")]; out < float64(bytes) {
		t.Errorf("bytes out %v < bytes produced %d", out, bytes)
	}
	if m["samsa_bytes_out_total"] != m[topicKey("samsa_topic_bytes_out_total")] {
		t.Errorf("all-topics bytes out %v != the only topic's %v", m["samsa_bytes_out_total"], m[topicKey("samsa_topic_bytes_out_total")])
	}

	for _, api := range []string{"Produce", "Fetch", "Metadata", "ApiVersions"} {
		prefix := `samsa_requests_total{api="` + api + `"`
		reqs := sumSeries(m, prefix) - sumSeries(before, prefix)
		if reqs <= 0 {
			t.Errorf("%s requests counted: %v, want > 0", api, reqs)
		}
		count := m[testutil.Series("samsa_request_duration_seconds_count", "api", api)]
		if count != sumSeries(m, prefix) {
			t.Errorf("%s: latency histogram count %v != requests %v", api, count, sumSeries(m, prefix))
		}
	}
	if got := m["samsa_network_bytes_received_total"] - before["samsa_network_bytes_received_total"]; got < float64(bytes) {
		t.Errorf("network bytes received %v < record bytes produced %d", got, bytes)
	}
	if got := m["samsa_network_bytes_sent_total"]; got < m["samsa_bytes_out_total"] {
		t.Errorf("network bytes sent %v < record bytes fetched %v", got, m["samsa_bytes_out_total"])
	}
	if m["samsa_network_connections"] < 1 {
		t.Errorf("connections = %v with a client connected", m["samsa_network_connections"])
	}
	for _, s := range []string{"go_goroutines", "process_open_fds"} {
		if _, ok := m[s]; !ok {
			t.Errorf("%s missing", s)
		}
	}
}

// TestReadinessFollowsStartAndStop checks /healthz and /readyz through a
// broker's life: ready after Start, not ready from the moment Close
// begins (while the Kafka listeners still drain), gone after it.
func TestReadinessFollowsStartAndStop(t *testing.T) {
	b := testutil.StartBroker(t)
	addr := b.HTTPAddr()
	if addr == nil {
		t.Fatal("HTTPAddr is nil with samsa.http.listener set")
	}
	if !b.Ready() {
		t.Fatal("Ready() false after Start")
	}
	mustGet(t, addr, "/healthz", http.StatusOK, "ok\n")
	mustGet(t, addr, "/readyz", http.StatusOK, "ok\n")

	// Hold the drain open: a fetch whose answer is far larger than the
	// loopback socket buffers, from a client that reads only its first
	// bytes, leaves the connection's writer blocked, and Close waits for it.
	stall := stallConnection(t, b.Addr)

	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		closed <- b.Close(ctx)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body, err := httpGet(addr, "/readyz")
		if err != nil {
			t.Fatalf("GET /readyz while stopping: %v (the side port closed before the listeners drained)", err)
		}
		if status == http.StatusServiceUnavailable {
			if body != "shutting down\n" {
				t.Fatalf("/readyz while stopping = %q", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d %q after Close began", status, body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if b.Ready() {
		t.Error("Ready() true while stopping")
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a connection's responses were unwritten", err)
	default:
	}
	// Liveness and metrics are still served during the drain.
	mustGet(t, addr, "/healthz", http.StatusOK, "ok\n")
	if m := testutil.Scrape(t, addr.String()); m["samsa_network_connections"] < 1 {
		t.Errorf("connections during the drain = %v", m["samsa_network_connections"])
	}

	stall.Close()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, _, err := httpGet(addr, "/healthz"); err == nil {
		t.Error("side port still answers after Close")
	}
}

// stallConnection fills a topic with more record bytes than loopback
// socket buffers hold (the kernel caps a send buffer at tcp_wmem's
// maximum, 4 MiB by default, and the client's receive buffer is set
// small), then sends one Fetch for all of them on a raw connection and
// reads only the response's size prefix: from then on the broker is in
// the middle of writing that response and cannot finish until the
// returned connection is read or closed.
func stallConnection(t *testing.T, addr string) net.Conn {
	t.Helper()
	const topic, records, recordSize = "stall", 24, 900_000 // 21.6 MB
	createTopic(t, addr, topic)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	value := make([]byte, recordSize)
	for range records {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()

	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	req := kmsg.NewPtrFetchRequest()
	req.Version = 4
	req.ReplicaID = -1
	req.MaxBytes = 64 << 20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition = 0
	rp.FetchOffset = 0
	rp.PartitionMaxBytes = 64 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("stall")).AppendRequest(nil, req, 1)
	if _, err := nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	var size [4]byte
	if _, err := io.ReadFull(nc, size[:]); err != nil {
		t.Fatalf("stalled fetch got no answer: %v", err)
	}
	if n := binary.BigEndian.Uint32(size[:]); n < records*recordSize {
		t.Fatalf("stalled fetch answer is %d bytes, want all %d records", n, records*recordSize)
	}
	return nc
}

// TestGarbageOnHTTPPortLeavesKafkaAlone throws malformed and half-sent
// HTTP at the side port, more connections than it serves at once, and
// checks that Kafka clients are served meanwhile and the side port
// recovers.
func TestGarbageOnHTTPPortLeavesKafkaAlone(t *testing.T) {
	b := testutil.StartBroker(t)
	addr := b.HTTPAddr().String()
	createTopic(t, b.Addr, "unbothered")

	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	junk := [][]byte{
		[]byte("\x00\x00\x00\x10garbage garbage!\r\n\r\n"),
		[]byte("GET /metrics HTTP/9.9\r\n\r\n"),
		[]byte("GET /" + strings.Repeat("a", 64<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n"),
		[]byte("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
		[]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 32<<10) + "\r\n\r\n"),
		[]byte("GET /readyz HTTP/1.1\r\n"), // never finished: held until the header timeout
	}
	for i := range 40 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		go func(c net.Conn, b []byte) { _, _ = c.Write(b) }(c, junk[i%len(junk)])
	}
	// A malformed request is answered 4xx by net/http, not by a crash.
	c, err := net.Dial("tcp", addr)
	if err == nil {
		held = append(held, c)
	}

	// Kafka traffic is served while the side port is saturated.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.DefaultProduceTopic("unbothered"),
		kgo.ConsumeTopics("unbothered"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 100 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "v%d", i)}).FirstErr(); err != nil {
			t.Fatalf("produce while the side port is flooded: %v", err)
		}
	}
	got := 0
	for got < 100 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of 100 while the side port is flooded: %v", got, err)
		}
		got += len(fs.Records())
	}

	// The first junk connection got a 400 and was closed.
	first := held[0]
	_ = first.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(first).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 400") {
		t.Errorf("garbage got %q, %v; want a 400", line, err)
	}

	for _, c := range held {
		c.Close()
	}
	held = nil
	mustGet(t, b.HTTPAddr(), "/healthz", http.StatusOK, "ok\n")
	status, _, err := httpGet(b.HTTPAddr(), "/nope")
	if err != nil || status != http.StatusNotFound {
		t.Errorf("GET /nope = %d, %v; want 404", status, err)
	}
}

// TestHTTPListenerTakenFailsStart starts a second broker on the first's
// side port: the start fails, naming the config key, and leaves nothing
// running.
func TestHTTPListenerTakenFailsStart(t *testing.T) {
	b := testutil.StartBroker(t)
	cfg, err := config.NewBrokerConfig(map[string]string{
		"listeners":           "PLAINTEXT://127.0.0.1:0",
		"log.dirs":            t.TempDir(),
		"samsa.http.listener": b.HTTPAddr().String(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := server.Start(ctx, cfg, nil)
	if err == nil {
		srv.Close(ctx)
		t.Fatal("a second broker started on a taken samsa.http.listener")
	}
	if !errors.Is(err, metrics.ErrListen) || !strings.Contains(err.Error(), "samsa.http.listener="+b.HTTPAddr().String()) {
		t.Fatalf("error %q does not name the key and address (or is not metrics.ErrListen)", err)
	}
	// The first broker is untouched.
	mustGet(t, b.HTTPAddr(), "/readyz", http.StatusOK, "ok\n")
}

// TestHTTPListenerDisabled: an empty samsa.http.listener binds nothing.
func TestHTTPListenerDisabled(t *testing.T) {
	b := testutil.StartBroker(t, "samsa.http.listener=")
	if a := b.HTTPAddr(); a != nil {
		t.Fatalf("HTTPAddr = %v with the side port disabled", a)
	}
	if !b.Ready() {
		t.Fatal("Ready() false after Start")
	}
	b.Stop(t)
	if b.Ready() {
		t.Fatal("Ready() true after Close")
	}
}
