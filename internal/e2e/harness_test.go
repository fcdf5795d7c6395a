package e2e_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	gometrics "github.com/rcrowley/go-metrics"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/samsa-streaming/samsa/internal/network"
	"github.com/samsa-streaming/samsa/internal/testutil"
)

func TestMain(m *testing.M) {
	// Sarama registers meters in go-metrics, whose arbiter goroutine would
	// outlive every test; nil metrics keep goleak's verdict meaningful.
	gometrics.UseNilMetrics = true
	// Released request frames are overwritten, so a handler that kept a
	// slice of a request body past its response shows up as corrupt data.
	network.PoisonReleasedFrames.Store(true)
	goleak.VerifyTestMain(m)
}

// The record set every client round-trips: numPartitions partitions of
// perPartition records each, produced in rounds of perRound records per
// partition so that each partition holds several batches.
const (
	numPartitions = 3
	perPartition  = 24
	perRound      = 8
)

// The compression codecs, by the number Kafka puts in a batch's attributes.
var codecs = []struct {
	name string
	id   int8
}{{"none", 0}, {"gzip", 1}, {"snappy", 2}, {"lz4", 3}, {"zstd", 4}}

// The acks modes a producer can ask for.
var ackModes = []struct {
	name string
	acks int16
}{{"acks0", 0}, {"acks1", 1}, {"acksall", -1}}

type header struct {
	key   string
	value []byte
}

// rec is one record as produced or as consumed, client-neutral.
type rec struct {
	partition int32
	offset    int64 // -1 when produced; the consumed offset otherwise
	key       []byte
	value     []byte
	headers   []header
	ts        int64 // milliseconds since the epoch
}

func (r rec) String() string {
	return fmt.Sprintf("p%d@%d key=%q value=%.40q headers=%v ts=%d", r.partition, r.offset, r.key, r.value, r.headers, r.ts)
}

// dataset returns the records to produce, in production order (round by
// round, partition by partition). Timestamps start at base and increase by
// one millisecond per record in production order, so they are unique and
// identify a record. Some keys and values are null, some empty, some
// headers carry empty values, and values are long and repetitive enough
// that every codec actually compresses them.
func dataset(base time.Time) []rec {
	var out []rec
	ts := base.UnixMilli()
	for round := 0; round < perPartition/perRound; round++ {
		for p := int32(0); p < numPartitions; p++ {
			for j := 0; j < perRound; j++ {
				i := round*perRound + j
				r := rec{partition: p, offset: -1, ts: ts}
				ts++
				switch i % 7 {
				case 3:
					r.key = nil
				case 5:
					r.key = []byte{}
				default:
					r.key = fmt.Appendf(nil, "key-%d-%d", p, i)
				}
				switch i % 11 {
				case 4:
					r.value = nil // a tombstone
				case 9:
					r.value = []byte{}
				default:
					r.value = bytes.Repeat(fmt.Appendf(nil, "value %d of partition %d; ", i, p), 1+i%13)
				}
				for h := 0; h < i%3; h++ {
					v := fmt.Appendf(nil, "hv-%d-%d", i, h)
					if h == 1 {
						v = []byte{}
					}
					r.headers = append(r.headers, header{key: fmt.Sprintf("h%d", h), value: v})
				}
				out = append(out, r)
			}
		}
	}
	return out
}

// rounds splits a dataset into its production rounds.
func rounds(all []rec) [][]rec {
	n := numPartitions * perRound
	var out [][]rec
	for len(all) > 0 {
		out = append(out, all[:n])
		all = all[n:]
	}
	return out
}

// partitionOfTS maps each record's (unique) timestamp to its partition,
// for clients whose writer picks the partition through a balancer.
func partitionOfTS(all []rec) map[int64]int32 {
	m := make(map[int64]int32, len(all))
	for _, r := range all {
		m[r.ts] = r.partition
	}
	return m
}

// nullMatters says whether a client is held to the difference between a
// null and an empty key or value.
type nullMatters bool

// checkRecords compares what was consumed with what was produced: per
// partition, the same records in the same order at contiguous offsets
// starting at from, with every key, value, header and timestamp equal.
// Records arrive interleaved across partitions; only the order within a
// partition is checked.
func checkRecords(t *testing.T, want, got []rec, from int64, strictNull nullMatters) {
	t.Helper()
	wantBy := map[int32][]rec{}
	for _, r := range want {
		wantBy[r.partition] = append(wantBy[r.partition], r)
	}
	gotBy := map[int32][]rec{}
	for _, r := range got {
		gotBy[r.partition] = append(gotBy[r.partition], r)
	}
	for p, g := range gotBy {
		if _, ok := wantBy[p]; !ok {
			t.Errorf("consumed %d records from partition %d, produced none there", len(g), p)
		}
	}
	for p, w := range wantBy {
		g := gotBy[p]
		if len(g) != len(w) {
			t.Errorf("partition %d: consumed %d records, produced %d", p, len(g), len(w))
		}
		for i := 0; i < len(w) && i < len(g); i++ {
			if g[i].offset != from+int64(i) {
				t.Errorf("partition %d: record %d at offset %d, want %d (offsets must be contiguous)", p, i, g[i].offset, from+int64(i))
			}
			if d := diffRec(w[i], g[i], bool(strictNull)); d != "" {
				t.Errorf("partition %d offset %d: %s\n want %v\n  got %v", p, g[i].offset, d, w[i], g[i])
			}
		}
	}
}

func diffRec(w, g rec, strictNull bool) string {
	var d []string
	if !bytes.Equal(w.key, g.key) || (strictNull && (w.key == nil) != (g.key == nil)) {
		d = append(d, "key")
	}
	if !bytes.Equal(w.value, g.value) || (strictNull && (w.value == nil) != (g.value == nil)) {
		d = append(d, "value")
	}
	if w.ts != g.ts {
		d = append(d, "timestamp")
	}
	if len(w.headers) != len(g.headers) {
		d = append(d, "header count")
	} else {
		for i := range w.headers {
			if w.headers[i].key != g.headers[i].key || !bytes.Equal(w.headers[i].value, g.headers[i].value) {
				d = append(d, fmt.Sprintf("header %d", i))
			}
		}
	}
	return strings.Join(d, ", ")
}

// env is one broker and a franz-go client (plain and admin) for the
// test's own bookkeeping: creating topics, listing offsets, raw requests.
type env struct {
	b   *testutil.Broker
	cl  *kgo.Client
	adm *kadm.Client
}

// newEnv starts a broker with the given overrides; everything stops when
// the test ends.
func newEnv(t *testing.T, overrides ...string) *env {
	t.Helper()
	b := testutil.StartBroker(t, overrides...)
	return envFor(t, b)
}

func envFor(t *testing.T, b *testutil.Broker) *env {
	t.Helper()
	cl := newKgo(t, b.Addr)
	return &env{b: b, cl: cl, adm: kadm.NewClient(cl)}
}

// newKgo returns a franz-go client seeded with addr, closed when the test
// ends, with franz-go's defaults: producers are idempotent (InitProducerId,
// sequence numbers checked by the broker) unless an option says otherwise.
func newKgo(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// ctxFor returns a context that ends after d or with the test.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// createTopic creates topic with n partitions and the given configs
// through kadm and waits for it to appear.
func (e *env) createTopic(t *testing.T, topic string, n int32, configs map[string]*string) {
	t.Helper()
	resp, err := e.adm.CreateTopic(ctxFor(t, 20*time.Second), n, 1, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// endOffsets returns the high watermark of every partition of topic.
func (e *env) endOffsets(t *testing.T, topic string) map[int32]int64 {
	t.Helper()
	listed, err := e.adm.ListEndOffsets(ctxFor(t, 10*time.Second), topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Fatalf("end offset %s/%d: %v", o.Topic, o.Partition, o.Err)
		}
		out[o.Partition] = o.Offset
	})
	return out
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// topicID returns topic's ID from Metadata.
func (e *env) topicID(t *testing.T, topic string) [16]byte {
	t.Helper()
	td, err := e.adm.ListTopics(ctxFor(t, 10*time.Second), topic)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := td[topic]
	if !ok || d.Err != nil {
		t.Fatalf("topic %s: %v", topic, d.Err)
	}
	return d.ID
}

// fetchReq builds a single-partition Fetch at offset that works at every
// version (the topic by name and by ID).
func fetchReq(topic string, id [16]byte, partition int32, offset int64, maxWait, minBytes int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis = maxWait
	req.MinBytes = minBytes
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = topic
	ft.TopicID = id
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.Partition = partition
	fp.FetchOffset = offset
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	req.Topics = append(req.Topics, ft)
	return req
}

// fetchPartition sends req and returns the only partition of the answer.
func fetchPartition(t *testing.T, ctx context.Context, cl *kgo.Client, req *kmsg.FetchRequest) kmsg.FetchResponseTopicPartition {
	t.Helper()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("fetch answered %d topics, want 1 with 1 partition", len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0]
}

// storedCodecs fetches partition from offset 0 with a raw Fetch and returns
// the compression codec of every record batch the broker sends (the
// batches as the producer wrote them, since compression.type is producer).
func (e *env) storedCodecs(t *testing.T, topic string, id [16]byte, partition int32) []int8 {
	t.Helper()
	var codecs []int8
	for offset := int64(0); ; {
		p := fetchPartition(t, ctxFor(t, 10*time.Second), e.cl, fetchReq(topic, id, partition, offset, 0, 0))
		if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
			t.Fatalf("fetch %s/%d@%d: %v", topic, partition, offset, err)
		}
		raw := p.RecordBatches
		if len(raw) == 0 {
			return codecs
		}
		for len(raw) >= 61 { // a v2 batch header is 61 bytes
			length := int(int32(binary.BigEndian.Uint32(raw[8:12])))
			if length < 49 || 12+length > len(raw) {
				break // a partial batch at the end of the answer
			}
			base := int64(binary.BigEndian.Uint64(raw[0:8]))
			lastDelta := int64(int32(binary.BigEndian.Uint32(raw[23:27])))
			codecs = append(codecs, int8(binary.BigEndian.Uint16(raw[21:23])&7))
			offset = base + lastDelta + 1
			raw = raw[12+length:]
		}
		if offset >= p.HighWatermark {
			return codecs
		}
	}
}

// checkCodec requires the batches of topic to carry the codec the
// producer was configured with: no batch may carry another codec, and at
// least one must carry this one, so a producer that silently skipped
// compression (or a broker that recompressed) fails here. A batch may be
// uncompressed: clients (franz-go, librdkafka) send a batch uncompressed
// when compressing would not make it smaller, as it happens with a batch
// of one short record, which an acks=0 producer sends whenever the first
// record of a round goes out alone.
func (e *env) checkCodec(t *testing.T, topic string, codec int8) {
	t.Helper()
	id := e.topicID(t, topic)
	withCodec := 0
	for p := int32(0); p < numPartitions; p++ {
		got := e.storedCodecs(t, topic, id, p)
		if len(got) == 0 {
			t.Errorf("partition %d: no batches fetched", p)
		}
		for i, c := range got {
			switch c {
			case codec:
				withCodec++
			case 0:
			default:
				t.Errorf("partition %d batch %d: codec %d, want %d", p, i, c, codec)
			}
		}
	}
	if withCodec == 0 {
		t.Errorf("%s: no batch carries codec %d", topic, codec)
	}
}

// readMetaProperties returns the key=value pairs of dir/meta.properties.
func readMetaProperties(t *testing.T, dir string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(dir + "/meta.properties")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

// rawConn is a bare TCP connection to the broker that speaks the Kafka
// framing by hand, to send a request at an exact version (or bytes that
// are no request at all).
type rawConn struct {
	net.Conn
	corr int32
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return &rawConn{Conn: c}
}

// requestBytes frames req at version with correlation id corr: the
// request header (v2 if that version is flexible, else v1) and the body.
func requestBytes(req kmsg.Request, version int16, corr int32) []byte {
	req.SetVersion(version)
	b := make([]byte, 4, 64)
	b = binary.BigEndian.AppendUint16(b, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	const clientID = "e2e-raw"
	b = binary.BigEndian.AppendUint16(b, uint16(len(clientID)))
	b = append(b, clientID...)
	if req.IsFlexible() {
		b = append(b, 0) // no header tags
	}
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// request sends req at version and decodes the answer.
func (c *rawConn) request(t *testing.T, req kmsg.Request, version int16) kmsg.Response {
	t.Helper()
	c.corr++
	if _, err := c.Write(requestBytes(req, version, c.corr)); err != nil {
		t.Fatalf("write %s v%d: %v", kmsg.NameForKey(req.Key()), version, err)
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatalf("read %s v%d response: %v", kmsg.NameForKey(req.Key()), version, err)
	}
	frame := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, frame); err != nil {
		t.Fatalf("read %s v%d response: %v", kmsg.NameForKey(req.Key()), version, err)
	}
	if len(frame) < 4 || int32(binary.BigEndian.Uint32(frame)) != c.corr {
		t.Fatalf("%s v%d: response does not carry correlation id %d", kmsg.NameForKey(req.Key()), version, c.corr)
	}
	body := frame[4:]
	if req.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16() {
		if len(body) == 0 || body[0] != 0 {
			t.Fatalf("%s v%d: unexpected response header tags", kmsg.NameForKey(req.Key()), version)
		}
		body = body[1:]
	}
	resp := req.ResponseKind()
	resp.SetVersion(version)
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("decode %s v%d response: %v", kmsg.NameForKey(req.Key()), version, err)
	}
	return resp
}
