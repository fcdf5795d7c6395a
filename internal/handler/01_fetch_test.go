package handler

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	gometrics "github.com/rcrowley/go-metrics"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/samsa-streaming/samsa/internal/fetchsession"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/replica"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// appendValues appends one batch holding values to a partition through
// the replica manager (the produce path) and returns its base offset.
func appendValues(t *testing.T, b *testBroker, topic string, partition int32, values ...string) int64 {
	t.Helper()
	bld := record.NewBuilder(record.DefaultBuilderOptions())
	now := time.Now().UnixMilli()
	for _, v := range values {
		bld.Add(now, nil, []byte(v))
	}
	batch, err := bld.Build()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []replica.AppendResult, 1)
	b.Replicas.AppendRecords(1, 5*time.Second, storage.OriginClient,
		[]replica.AppendRequest{{TP: replica.TopicPartition{Topic: topic, Partition: partition}, Records: batch}},
		func(r []replica.AppendResult) { done <- r })
	res := (<-done)[0]
	if res.Err != nil {
		t.Fatalf("append to %s-%d: %v", topic, partition, res.Err)
	}
	return res.BaseOffset
}

// logBytes returns the partition's log bytes from offset up to the high
// watermark, as a fetch would send them.
func logBytes(t *testing.T, b *testBroker, topic string, partition int32, offset int64) []byte {
	t.Helper()
	p, ok := b.Replicas.Partition(replica.TopicPartition{Topic: topic, Partition: partition})
	if !ok {
		t.Fatalf("no partition %s-%d", topic, partition)
	}
	rr, err := p.Log().Read(offset, 1<<30, p.HighWatermark(), true)
	if err != nil {
		t.Fatal(err)
	}
	out, err := rr.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fetchValues decodes the record values of a fetch answer.
func fetchValues(t *testing.T, p *kmsg.FetchResponseTopicPartition) []string {
	t.Helper()
	var out []string
	for b := p.RecordBatches; len(b) > 0; {
		batch, err := record.Peek(b)
		if err != nil {
			t.Fatalf("records of partition %d: %v", p.Partition, err)
		}
		if err := batch.Records(func(r *record.Record) error {
			out = append(out, string(r.Value))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		b = b[batch.Size():]
	}
	return out
}

// fetchRequest builds a Fetch of version v reading each partition of
// topic from offsets[i].
type fetchPart struct {
	partition int32
	offset    int64
	epoch     int32
	maxBytes  int32
}

func newFetch(v int16, topic string, id metadata.UUID, parts ...fetchPart) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version = v
	req.MaxBytes = 50 << 20
	req.SessionEpoch = -1
	if len(parts) > 0 {
		addFetchTopic(req, topic, id, parts...)
	}
	return req
}

func addFetchTopic(req *kmsg.FetchRequest, topic string, id metadata.UUID, parts ...fetchPart) {
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	for _, p := range parts {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.CurrentLeaderEpoch = p.partition, p.offset, p.epoch
		rp.PartitionMaxBytes = p.maxBytes
		if rp.PartitionMaxBytes == 0 {
			rp.PartitionMaxBytes = 1 << 20
		}
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
}

func fetchOn(t *testing.T, c *rawConn, req *kmsg.FetchRequest) *kmsg.FetchResponse {
	t.Helper()
	c.send(req)
	return c.recv().(*kmsg.FetchResponse)
}

// onlyPartition returns the one partition of a response.
func onlyPartition(t *testing.T, resp *kmsg.FetchResponse) *kmsg.FetchResponseTopicPartition {
	t.Helper()
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("want one partition, got error %d, %+v", resp.ErrorCode, resp.Topics)
	}
	return &resp.Topics[0].Partitions[0]
}

func TestFetchEveryVersion(t *testing.T) {
	b := startBroker(t)
	id := b.createTopic(t, "t", 1, nil)
	appendValues(t, b, "t", 0, "a", "b")
	appendValues(t, b, "t", 0, "c")
	want := logBytes(t, b, "t", 0, 0)
	c := b.dial(t)
	for v := int16(fetchMinVersion); v <= kmsg.NewPtrFetchRequest().MaxVersion(); v++ {
		for _, isolation := range []int8{0, 1} {
			req := newFetch(v, "t", id, fetchPart{partition: 0, offset: 1, epoch: -1})
			req.IsolationLevel = isolation
			resp := fetchOn(t, c, req)
			if v >= 13 && resp.Topics[0].TopicID != id || v < 13 && resp.Topics[0].Topic != "t" {
				t.Fatalf("v%d: topic %q %x", v, resp.Topics[0].Topic, resp.Topics[0].TopicID)
			}
			p := onlyPartition(t, resp)
			// A fetch from inside a batch returns that whole batch.
			if p.ErrorCode != 0 || !bytes.Equal(p.RecordBatches, want) {
				t.Fatalf("v%d: error %d, %d record bytes, want %d", v, p.ErrorCode, len(p.RecordBatches), len(want))
			}
			if got := fetchValues(t, p); !slices.Equal(got, []string{"a", "b", "c"}) {
				t.Fatalf("v%d: values %v", v, got)
			}
			wantLogStart := int64(0)
			if v < 5 {
				wantLogStart = -1 // not in the version
			}
			if p.HighWatermark != 3 || p.LastStableOffset != 3 || p.LogStartOffset != wantLogStart || p.PreferredReadReplica != -1 {
				t.Fatalf("v%d: hw %d lso %d log start %d preferred %d", v, p.HighWatermark, p.LastStableOffset, p.LogStartOffset, p.PreferredReadReplica)
			}
			if (p.AbortedTransactions == nil) != (isolation == 0) {
				t.Fatalf("v%d isolation %d: aborted transactions %v", v, isolation, p.AbortedTransactions)
			}
			if v >= 7 && (resp.ErrorCode != 0 || resp.SessionID != 0) {
				t.Fatalf("v%d: sessionless fetch got error %d session %d", v, resp.ErrorCode, resp.SessionID)
			}
		}
	}
}

func TestFetchPartitionErrors(t *testing.T) {
	b := startBroker(t)
	id := b.createTopic(t, "t", 2, nil)
	appendValues(t, b, "t", 0, "a", "b", "c")
	c := b.dial(t)
	// Lead partition 0 in a later epoch than the image's, so that a
	// client can be behind (fenced) or ahead (unknown).
	tp := replica.TopicPartition{Topic: "t", Partition: 0}
	p, _ := b.Replicas.Partition(tp)
	imageEpoch := p.LeaderEpoch()
	pcfg, err := b.partitionConfig(b.Publisher.Image(), "t")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Replicas.BecomeLeader(tp, id, imageEpoch+1, p.Replicas(), p.ISR(), pcfg); err != nil {
		t.Fatal(err)
	}
	epoch := p.LeaderEpoch()
	for _, tc := range []struct {
		name    string
		version int16
		topic   string
		id      metadata.UUID
		part    fetchPart
		want    *kerr.Error
	}{
		{"offset past the end", 12, "t", id, fetchPart{0, 4, -1, 0}, kerr.OffsetOutOfRange},
		{"offset past the end by id", 17, "", id, fetchPart{0, 100, -1, 0}, kerr.OffsetOutOfRange},
		{"negative offset", 12, "t", id, fetchPart{0, -5, -1, 0}, kerr.OffsetOutOfRange},
		{"unknown topic", 12, "nope", metadata.UUID{}, fetchPart{0, 0, -1, 0}, kerr.UnknownTopicOrPartition},
		{"unknown partition", 12, "t", id, fetchPart{7, 0, -1, 0}, kerr.UnknownTopicOrPartition},
		{"unknown partition by id", 13, "", id, fetchPart{7, 0, -1, 0}, kerr.UnknownTopicOrPartition},
		{"unknown topic id", 13, "t", metadata.UUID{9, 9}, fetchPart{0, 0, -1, 0}, kerr.UnknownTopicID},
		{"fenced leader epoch", 12, "t", id, fetchPart{0, 0, epoch - 1, 0}, kerr.FencedLeaderEpoch},
		{"unknown leader epoch", 12, "t", id, fetchPart{0, 0, epoch + 1, 0}, kerr.UnknownLeaderEpoch},
		{"fenced leader epoch v16", 16, "", id, fetchPart{0, 0, epoch - 1, 0}, kerr.FencedLeaderEpoch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := fetchOn(t, c, newFetch(tc.version, tc.topic, tc.id, tc.part))
			p := onlyPartition(t, resp)
			if p.ErrorCode != tc.want.Code {
				t.Fatalf("error %d, want %s", p.ErrorCode, tc.want)
			}
			if p.HighWatermark != -1 || p.LastStableOffset != -1 || p.LogStartOffset != -1 || len(p.RecordBatches) != 0 || p.AbortedTransactions != nil {
				t.Fatalf("error answer carries %+v", p)
			}
			if tc.version >= 16 && tc.want == kerr.FencedLeaderEpoch {
				// KIP-951: where the leader is, as the metadata
				// image has it.
				if p.CurrentLeader.LeaderID != b.NodeID || p.CurrentLeader.LeaderEpoch != imageEpoch {
					t.Fatalf("current leader %+v", p.CurrentLeader)
				}
			}
		})
	}

	// Errors and data in one request: the partitions read come first,
	// the ones failing before the read after, as Kafka orders them.
	req := newFetch(13, "", metadata.UUID{8}, fetchPart{0, 0, -1, 0})
	addFetchTopic(req, "", id, fetchPart{1, 0, -1, 0}, fetchPart{0, 0, -1, 0})
	resp := fetchOn(t, c, req)
	if len(resp.Topics) != 2 || resp.Topics[0].TopicID != id || len(resp.Topics[0].Partitions) != 2 ||
		resp.Topics[1].TopicID != (metadata.UUID{8}) || resp.Topics[1].Partitions[0].ErrorCode != kerr.UnknownTopicID.Code {
		t.Fatalf("mixed response %+v", resp.Topics)
	}
	if got := fetchValues(t, &resp.Topics[0].Partitions[1]); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("values %v", got)
	}

	// An isolation level Kafka does not know.
	bad := newFetch(12, "t", id, fetchPart{0, 0, -1, 0})
	bad.IsolationLevel = 3
	resp = fetchOn(t, c, bad)
	if resp.ErrorCode != kerr.InvalidRequest.Code || onlyPartitionCode(resp) != kerr.InvalidRequest.Code {
		t.Fatalf("bad isolation level: %+v", resp)
	}
}

func onlyPartitionCode(resp *kmsg.FetchResponse) int16 {
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return -999
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

func TestFetchOffsetOutOfRangeBelowLogStart(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "t", 1, nil)
	appendValues(t, b, "t", 0, "a", "b")
	appendValues(t, b, "t", 0, "c", "d")
	if _, err := b.Replicas.DeleteRecords(replica.TopicPartition{Topic: "t", Partition: 0}, 2); err != nil {
		t.Fatal(err)
	}
	c := b.dial(t)
	resp := fetchOn(t, c, newFetch(12, "t", metadata.UUID{}, fetchPart{0, 1, -1, 0}))
	if p := onlyPartition(t, resp); p.ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("error %d", p.ErrorCode)
	}
	resp = fetchOn(t, c, newFetch(12, "t", metadata.UUID{}, fetchPart{0, 2, -1, 0}))
	p := onlyPartition(t, resp)
	if p.ErrorCode != 0 || p.LogStartOffset != 2 || !slices.Equal(fetchValues(t, p), []string{"c", "d"}) {
		t.Fatalf("after DeleteRecords: %+v", p)
	}
}

func TestFetchLongPollAnswersWhenDataArrives(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "t", 1, nil)
	c := b.dial(t)
	req := newFetch(12, "t", metadata.UUID{}, fetchPart{0, 0, -1, 0})
	req.MaxWaitMillis, req.MinBytes = 30000, 1
	start := time.Now()
	c.send(req)
	got := make(chan kmsg.Response, 1)
	go func() {
		resp, err := c.tryRecv(60 * time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- resp
	}()
	// The fetch is parked: nothing can answer it but data or its 30 s.
	select {
	case r := <-got:
		t.Fatalf("answered before any data: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
	appendValues(t, b, "t", 0, "late")
	resp := (<-got).(*kmsg.FetchResponse)
	p := onlyPartition(t, resp)
	// The answer carries the record appended after the request: it was
	// completed by the append, not by the deadline.
	if !slices.Equal(fetchValues(t, p), []string{"late"}) || p.HighWatermark != 1 {
		t.Fatalf("answer %+v", p)
	}
	if waited := time.Since(start); waited > 20*time.Second {
		t.Fatalf("answered after %v: the append did not complete the parked fetch", waited)
	}
}

func TestFetchLongPollExpiresEmpty(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "t", 2, nil)
	appendValues(t, b, "t", 1, "x")
	c := b.dial(t)
	req := newFetch(13, "", b.Publisher.Image().Topic("t").ID, fetchPart{0, 0, -1, 0}, fetchPart{1, 1, -1, 0})
	req.MaxWaitMillis, req.MinBytes = 200, 1
	resp := fetchOn(t, c, req)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 2 {
		t.Fatalf("response %+v", resp)
	}
	for _, p := range resp.Topics[0].Partitions {
		if p.ErrorCode != 0 || len(p.RecordBatches) != 0 {
			t.Fatalf("partition %+v", p)
		}
	}
	if hw := resp.Topics[0].Partitions[1].HighWatermark; hw != 1 {
		t.Fatalf("hw %d", hw)
	}
}

func TestFetchSessionsRaw(t *testing.T) {
	b := startBroker(t)
	id := b.createTopic(t, "t", 2, nil)
	appendValues(t, b, "t", 0, "a")
	appendValues(t, b, "t", 1, "b")
	c := b.dial(t)

	// Epoch 0: a full fetch opens a session.
	req := newFetch(13, "", id, fetchPart{0, 0, -1, 0}, fetchPart{1, 0, -1, 0})
	req.SessionEpoch = 0
	resp := fetchOn(t, c, req)
	if resp.ErrorCode != 0 || resp.SessionID == 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 2 {
		t.Fatalf("full fetch %+v", resp)
	}
	sid := resp.SessionID

	incremental := func(epoch int32, parts ...fetchPart) *kmsg.FetchResponse {
		req := newFetch(13, "", id)
		req.SessionID, req.SessionEpoch = sid, epoch
		if len(parts) > 0 {
			addFetchTopic(req, "", id, parts...)
		}
		return fetchOn(t, c, req)
	}
	// Epoch 1: the client moved both offsets past the records; nothing
	// changed on the broker, so nothing comes back.
	resp = incremental(1, fetchPart{0, 1, -1, 0}, fetchPart{1, 1, -1, 0})
	if resp.ErrorCode != 0 || resp.SessionID != sid || len(resp.Topics) != 0 {
		t.Fatalf("epoch 1: %+v", resp)
	}
	// Epoch 2: new data on partition 1 only.
	appendValues(t, b, "t", 1, "c")
	resp = incremental(2)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].Partition != 1 {
		t.Fatalf("epoch 2: %+v", resp)
	}
	if got := fetchValues(t, &resp.Topics[0].Partitions[0]); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("epoch 2 values %v", got)
	}
	// A replay of epoch 2, a future epoch, an unknown session, a
	// session of the other topic naming.
	for _, tc := range []struct {
		name string
		req  func() *kmsg.FetchRequest
		want *kerr.Error
	}{
		{"replayed epoch", func() *kmsg.FetchRequest {
			r := newFetch(13, "", id)
			r.SessionID, r.SessionEpoch = sid, 2
			return r
		}, kerr.InvalidFetchSessionEpoch},
		{"unknown session", func() *kmsg.FetchRequest {
			r := newFetch(13, "", id)
			r.SessionID, r.SessionEpoch = sid+1, 3
			return r
		}, kerr.FetchSessionIDNotFound},
		{"names in an id session", func() *kmsg.FetchRequest {
			r := newFetch(12, "t", id)
			r.SessionID, r.SessionEpoch = sid, 3
			return r
		}, kerr.FetchSessionTopicIDError},
	} {
		resp := fetchOn(t, c, tc.req())
		if resp.ErrorCode != tc.want.Code || resp.SessionID != 0 || len(resp.Topics) != 0 {
			t.Fatalf("%s: %+v", tc.name, resp)
		}
	}
	// The session survived the bad requests: epoch 3 works, and
	// forgetting every partition closes it (answered sessionless).
	resp = incremental(3)
	if resp.ErrorCode != 0 || resp.SessionID != sid {
		t.Fatalf("epoch 3: %+v", resp)
	}
	req = newFetch(13, "", id)
	req.SessionID, req.SessionEpoch = sid, 4
	ft := kmsg.NewFetchRequestForgottenTopic()
	ft.TopicID, ft.Partitions = id, []int32{0, 1}
	req.ForgottenTopics = append(req.ForgottenTopics, ft)
	resp = fetchOn(t, c, req)
	if resp.ErrorCode != 0 || resp.SessionID != 0 {
		t.Fatalf("forget all: %+v", resp)
	}
	if resp = incremental(5); resp.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("closed session answered %+v", resp)
	}
	if st := b.Handler.fetchSessions.Stats(); st.Sessions != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFetchManyPartitionsSmallMaxBytes(t *testing.T) {
	b := startBroker(t)
	const n = 12
	id := b.createTopic(t, "t", n, nil)
	value := strings.Repeat("v", 1000)
	for p := range int32(n) {
		appendValues(t, b, "t", p, value+fmt.Sprintf("%02d-0", p))
		appendValues(t, b, "t", p, value+fmt.Sprintf("%02d-1", p))
	}
	batchSize := int32(len(logBytes(t, b, "t", 0, 1)))
	c := b.dial(t)

	// A limit below one batch still returns the first partition's batch
	// (KIP-74), and nothing after it.
	req := newFetch(13, "", id)
	for p := range int32(n) {
		addFetchTopic(req, "", id, fetchPart{p, 0, -1, 1 << 20})
	}
	req.MaxBytes = 10
	resp := fetchOn(t, c, req)
	withData := 0
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			if len(p.RecordBatches) > 0 {
				withData++
				if p.Partition != 0 || len(p.RecordBatches) != int(batchSize) {
					t.Fatalf("%d bytes for partition %d", len(p.RecordBatches), p.Partition)
				}
			}
		}
	}
	if withData != 1 {
		t.Fatalf("%d partitions with data under MaxBytes 10", withData)
	}

	// A per-partition limit below one batch: the same rule.
	req = newFetch(13, "", id, fetchPart{0, 0, -1, 1}, fetchPart{1, 0, -1, 1})
	resp = fetchOn(t, c, req)
	if len(resp.Topics[0].Partitions[0].RecordBatches) != int(batchSize) || len(resp.Topics[0].Partitions[1].RecordBatches) != 0 {
		t.Fatalf("partition max bytes 1: %d and %d bytes", len(resp.Topics[0].Partitions[0].RecordBatches), len(resp.Topics[0].Partitions[1].RecordBatches))
	}

	// In a session, one batch per partition and three per response:
	// after the first incremental fetch, partitions that returned data
	// go to the back of the session, so the others are served first
	// (Kafka's fairness rule), and every partition's first batch comes
	// before any partition's second (but for the first three, whose
	// second batches were next in line before the rotation began).
	req = newFetch(13, "", id)
	req.SessionEpoch = 0
	for p := range int32(n) {
		addFetchTopic(req, "", id, fetchPart{p, 0, -1, batchSize})
	}
	req.MaxBytes = 3 * batchSize
	next := map[int32]int64{}
	var rounds [][]int32
	var sid, epoch int32
	for round := 0; round < 9; round++ {
		resp := fetchOn(t, c, req)
		if resp.ErrorCode != 0 || resp.SessionID == 0 {
			t.Fatalf("round %d: %+v", round, resp)
		}
		sid, epoch = resp.SessionID, epoch+1
		var served []int32
		var moved []fetchPart
		for _, rt := range resp.Topics {
			for _, p := range rt.Partitions {
				if len(p.RecordBatches) == 0 {
					continue
				}
				served = append(served, p.Partition)
				next[p.Partition]++
				moved = append(moved, fetchPart{p.Partition, next[p.Partition], -1, batchSize})
			}
		}
		rounds = append(rounds, served)
		req = newFetch(13, "", id)
		req.SessionID, req.SessionEpoch, req.MaxBytes = sid, epoch, 3*batchSize
		if len(moved) > 0 {
			addFetchTopic(req, "", id, moved...)
		}
	}
	want := "[[0 1 2] [0 1 2] [3 4 5] [6 7 8] [9 10 11] [3 4 5] [6 7 8] [9 10 11] []]"
	if got := fmt.Sprint(rounds); got != want {
		t.Fatalf("partitions served per fetch:\n got %s\nwant %s", got, want)
	}
}

func TestFetchWithFranzGo(t *testing.T) {
	b := startBroker(t)
	for _, tc := range []struct {
		name string
		opts []kgo.Opt
	}{
		{"topic ids", nil}, // Fetch v13+
		{"topic names", []kgo.Opt{kgo.MaxVersions(kversion.V3_0_0())}}, // Fetch v12
		{"read committed", []kgo.Opt{kgo.FetchIsolationLevel(kgo.ReadCommitted())}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const partitions, perPartition = 3, 60
			topic := "franz-" + strings.ReplaceAll(tc.name, " ", "-")
			b.createTopic(t, topic, partitions, nil)
			want := produceWithFranzGo(t, b, topic, partitions, perPartition)
			before := b.Handler.fetchSessions.Stats()
			cl := b.client(t, append([]kgo.Opt{
				kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
				kgo.FetchMaxBytes(4000), kgo.FetchMaxPartitionBytes(2000), kgo.FetchMaxWait(500 * time.Millisecond),
			}, tc.opts...)...)
			got := map[int32][]string{}
			total := 0
			consume := func(n int) {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				for total < n {
					fs := cl.PollFetches(ctx)
					if err := ctx.Err(); err != nil {
						t.Fatalf("consumed %d of %d: %v", total, n, err)
					}
					fs.EachError(func(topic string, p int32, err error) { t.Fatalf("%s-%d: %v", topic, p, err) })
					fs.EachRecord(func(r *kgo.Record) {
						got[r.Partition] = append(got[r.Partition], string(r.Value))
						total++
					})
				}
			}
			consume(partitions * perPartition)
			// Records produced while the consumer long-polls reach it too.
			late := produceWithFranzGo(t, b, topic, partitions, 1)
			for p := range int32(partitions) {
				want[p] = append(want[p], late[p]...)
			}
			consume(partitions * (perPartition + 1))
			for p := range int32(partitions) {
				if !slices.Equal(got[p], want[p]) {
					t.Fatalf("partition %d: got %v\nwant %v", p, got[p], want[p])
				}
			}
			// franz-go fetched in one incremental session all along:
			// falling back to full fetches would have opened one per
			// fetch.
			if st := b.Handler.fetchSessions.Stats(); st.Sessions != before.Sessions+1 || st.Partitions != before.Partitions+partitions {
				t.Fatalf("sessions %+v, before %+v", st, before)
			}
		})
	}
}

// TestFetchResponseUsesFileRanges checks the zero-copy path end to end in
// the handler: a read's records become file ranges of the segment, not
// bytes.
func TestFetchResponseUsesFileRanges(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "t", 1, nil)
	appendValues(t, b, "t", 0, strings.Repeat("z", 50000))
	done := make(chan []replica.FetchResult, 1)
	b.Replicas.FetchMessages(replica.FetchParams{ReplicaID: -1, MaxBytes: 1 << 20},
		[]replica.FetchPartition{{TP: replica.TopicPartition{Topic: "t", Partition: 0}, PartitionMaxBytes: 1 << 20, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1, LogStartOffset: -1}},
		func(r []replica.FetchResult) { done <- r })
	res := <-done
	p := newFetchRespPartition(0, 0)
	setFetchRecords(&p, res[0].Records)
	if p.file == nil || p.fileSize != res[0].Records.Size || p.fileSize < 50000 {
		t.Fatalf("records not a file range: %+v", p)
	}
	r := &fetchResp{version: 16, topics: []fetchRespTopic{{parts: []fetchRespPartition{p}}}}
	var e fetchEncoder
	r.encode(&e)
	e.flush()
	var chunkBytes int64
	for _, pc := range e.pieces {
		chunkBytes += int64(len(pc.b))
	}
	if chunkBytes > 200 {
		t.Fatalf("%d bytes encoded in memory for a %d-byte file range", chunkBytes, p.fileSize)
	}
	checkFetchEncoding(t, r)
}

func TestFetchSessionSlotsConfig(t *testing.T) {
	b := startBroker(t, func(o *brokerOptions) {
		o.Props = map[string]string{"max.incremental.fetch.session.cache.slots": "0"}
	})
	id := b.createTopic(t, "t", 1, nil)
	req := newFetch(13, "", id, fetchPart{0, 0, -1, 0})
	req.SessionEpoch = fetchsession.InitialEpoch
	if resp := fetchOn(t, b.dial(t), req); resp.ErrorCode != 0 || resp.SessionID != 0 {
		t.Fatalf("no slots, yet %+v", resp)
	}
}

// produceWithFranzGo produces n records to each partition of topic
// through the Produce API and returns the values per partition.
func produceWithFranzGo(t *testing.T, b *testBroker, topic string, partitions int32, n int) map[int32][]string {
	t.Helper()
	cl := b.client(t, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0))
	want := map[int32][]string{}
	var recs []*kgo.Record
	for i := range n {
		for p := range partitions {
			v := fmt.Sprintf("%s-%d-%d", topic, p, i)
			recs = append(recs, &kgo.Record{Partition: p, Value: []byte(v)})
			want[p] = append(want[p], v)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return want
}

func TestFetchWithSarama(t *testing.T) {
	b := startBroker(t)
	for _, tc := range []struct {
		name    string
		version sarama.KafkaVersion // decides the Fetch version
	}{
		{"fetch v12", sarama.V2_7_0_0},
		{"fetch v11", sarama.V2_3_0_0},
		{"fetch v10", sarama.V2_1_0_0},
		{"fetch v7", sarama.V1_1_0_0},
		{"fetch v5", sarama.V0_11_0_0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := "sarama-" + strings.ReplaceAll(tc.version.String(), ".", "-")
			b.createTopic(t, topic, 2, nil)
			want := produceWithFranzGo(t, b, topic, 2, 40)
			cfg := sarama.NewConfig()
			// sarama's meters start a goroutine that never ends.
			gometrics.UseNilMetrics = true
			cfg.Version = tc.version
			cfg.Consumer.Fetch.Default = 300 // a few records per fetch
			cfg.Consumer.MaxWaitTime = 200 * time.Millisecond
			consumer, err := sarama.NewConsumer([]string{b.Addr}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer consumer.Close()
			for p := range int32(2) {
				pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				timeout := time.After(20 * time.Second)
				for len(got) < len(want[p]) {
					select {
					case m := <-pc.Messages():
						if m.Offset != int64(len(got)) {
							t.Fatalf("partition %d: offset %d after %d records", p, m.Offset, len(got))
						}
						got = append(got, string(m.Value))
					case err := <-pc.Errors():
						t.Fatal(err)
					case <-timeout:
						t.Fatalf("partition %d: %d of %d records", p, len(got), len(want[p]))
					}
				}
				if !slices.Equal(got, want[p]) {
					t.Fatalf("partition %d: got %v want %v", p, got, want[p])
				}
				if err := pc.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestFetchWithKafkaGo(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "kgo-reader", 2, nil)
	want := produceWithFranzGo(t, b, "kgo-reader", 2, 50)
	for p := range int32(2) {
		r := kafkago.NewReader(kafkago.ReaderConfig{
			Brokers:   []string{b.Addr},
			Topic:     "kgo-reader",
			Partition: int(p),
			MinBytes:  1,
			MaxBytes:  500, // several fetches
			MaxWait:   200 * time.Millisecond,
		})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var got []string
		for len(got) < len(want[p]) {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("partition %d after %d records: %v", p, len(got), err)
			}
			got = append(got, string(m.Value))
		}
		cancel()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want[p]) {
			t.Fatalf("partition %d: got %v want %v", p, got, want[p])
		}
	}
}

func TestFetchParkedWhenClientLeaves(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "t", 1, nil)
	c := b.dial(t)
	req := newFetch(12, "t", metadata.UUID{}, fetchPart{0, 0, -1, 0})
	req.MaxWaitMillis, req.MinBytes = 30000, 1
	c.send(req)
	_ = c.conn.Close()
	// The append completes the parked fetch for a connection that is
	// gone: the response is dropped and the broker carries on.
	appendValues(t, b, "t", 0, "x")
	resp := fetchOn(t, b.dial(t), newFetch(12, "t", metadata.UUID{}, fetchPart{0, 0, -1, 0}))
	if got := fetchValues(t, onlyPartition(t, resp)); !slices.Equal(got, []string{"x"}) {
		t.Fatalf("values %v", got)
	}
}

// FuzzFetchRequest sends Fetch requests drawn from the fuzz input (any
// version, topics by name or ID known or not, partitions, offsets, epochs,
// limits, isolation levels, replica ids, session ids and epochs, forgotten
// topics) to a broker with a topic holding data: every one must be
// answered with a response that decodes at its version, on a connection
// that stays open. (Requests are built, not decoded from the raw input:
// kmsg spends seconds decoding some tiny inputs with huge tag counts.)
func FuzzFetchRequest(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add(bytes.Repeat([]byte{3, 1, 4, 1, 5, 9, 2, 6}, 12))
	f.Add(bytes.Repeat([]byte{0xff, 0, 0x80, 7}, 30))
	f.Fuzz(func(t *testing.T, shape []byte) {
		g := &bytesGen{b: shape}
		b := startBroker(t)
		tid := b.createTopic(t, "t", 2, nil)
		appendValues(t, b, "t", 0, "a", "b")
		appendValues(t, b, "t", 1, "c")
		c := b.dial(t)
		maxV := kmsg.NewPtrFetchRequest().MaxVersion()
		v := int16(fetchMinVersion + g.intn(int(maxV-fetchMinVersion)+1))
		var sessionID, epoch int32 = 0, pick[int32](g, -1, 0, 0, 1, 5)
		for range 1 + g.intn(3) {
			req := kmsg.NewPtrFetchRequest()
			req.Version = v
			req.ReplicaID = pick[int32](g, -1, -1, -1, 1, 2, -2)
			req.ReplicaState.ID = req.ReplicaID
			req.MaxWaitMillis = pick[int32](g, 0, 0, 5, -1)
			req.MinBytes = pick[int32](g, 0, 1, 1<<20, -1)
			req.MaxBytes = pick[int32](g, 1<<20, 0, 1, 100, -5)
			req.IsolationLevel = pick[int8](g, 0, 1, 0, 1, 2)
			req.SessionID, req.SessionEpoch = pick(g, sessionID, sessionID, 0, 12345), epoch
			for range g.intn(4) {
				name, id := pick(g, "t", "t", "nope", ""), pick(g, tid, tid, metadata.UUID{}, metadata.UUID{9})
				var parts []fetchPart
				for range g.intn(4) {
					parts = append(parts, fetchPart{
						partition: pick[int32](g, 0, 1, 0, 2, -1),
						offset:    pick[int64](g, 0, 1, 2, 3, -1, 1<<40),
						epoch:     pick[int32](g, -1, -1, 0, 1, 7),
						maxBytes:  pick[int32](g, 1<<20, 1, 0, -1),
					})
				}
				addFetchTopic(req, name, id, parts...)
			}
			for range g.intn(2) {
				ft := kmsg.NewFetchRequestForgottenTopic()
				ft.Topic, ft.TopicID = pick(g, "t", "x"), pick(g, tid, metadata.UUID{4})
				ft.Partitions = []int32{pick[int32](g, 0, 1, 5)}
				req.ForgottenTopics = append(req.ForgottenTopics, ft)
			}
			c.send(req)
			resp, err := c.tryRecv(10 * time.Second)
			if err != nil {
				t.Fatalf("v%d %+v: %v", v, req, err)
			}
			r := resp.(*kmsg.FetchResponse)
			switch {
			case v >= 7 && r.SessionID != 0:
				sessionID, epoch = r.SessionID, 1
			case v >= 7 && r.ErrorCode == 0 && req.SessionEpoch > 0:
				epoch = fetchsession.NextEpoch(epoch)
			default:
				sessionID, epoch = 0, pick[int32](g, -1, 0)
			}
		}
	})
}

// TestFetchBuildResponse checks how the replica's answers become a
// response, including what a single-node test broker never produces:
// aborted transactions, diverging epochs, and KIP-951's leader hints with
// the leader's endpoint on the request's listener.
func TestFetchBuildResponse(t *testing.T) {
	tid := metadata.UUID{0x42}
	img, _, err := metadata.EmptyImage().Apply(metadata.Batch{Offset: 1, Records: []metadata.Record{
		metadata.RegisterBrokerRecord{BrokerID: 2, Epoch: 1, Rack: "r1", Endpoints: []metadata.Endpoint{
			{Listener: "INTERNAL", Host: "b2-internal", Port: 9094},
			{Listener: "PLAINTEXT", Host: "b2", Port: 9093},
		}},
		metadata.TopicRecord{Name: "t", TopicID: tid},
		metadata.PartitionRecord{PartitionID: 0, TopicID: tid, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1, LeaderEpoch: 5},
		metadata.PartitionRecord{PartitionID: 1, TopicID: tid, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 2, LeaderEpoch: 5},
		metadata.PartitionRecord{PartitionID: 2, TopicID: tid, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 2, LeaderEpoch: 5},
		metadata.PartitionRecord{PartitionID: 3, TopicID: tid, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1, LeaderEpoch: 5},
	}})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Deps{NodeID: 1, Metadata: func() *metadata.Image { return img }})
	file, _ := fetchTestFile(t)
	tp := func(p int32) fetchsession.TopicPartition {
		return fetchsession.TopicPartition{TopicID: tid, Topic: "t", Partition: p}
	}
	rtp := func(p int32) replica.TopicPartition { return replica.TopicPartition{Topic: "t", Partition: p} }
	items := []fetchItem{{tp: tp(0)}, {tp: tp(1)}, {tp: tp(2)}, {tp: tp(3)}}
	results := []replica.FetchResult{
		{TP: rtp(0), HighWatermark: 20, LastStableOffset: 9, LogStartOffset: 1, DivergingEpoch: -1, DivergingEndOffset: -1,
			Records:     storage.ReadResult{File: file, Position: 100, Size: 300},
			AbortedTxns: []storage.AbortedTxn{{ProducerID: 7, FirstOffset: 3, LastOffset: 8}}},
		{TP: rtp(1), Err: fmt.Errorf("wrapped: %w", replica.ErrNotLeader), HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1},
		{TP: rtp(2), Err: replica.ErrUnknownTopicOrPartition, HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1},
		{TP: rtp(3), HighWatermark: 50, LastStableOffset: 50, LogStartOffset: 0, DivergingEpoch: 3, DivergingEndOffset: 42},
	}
	failed := []fetchItem{{tp: fetchsession.TopicPartition{TopicID: metadata.UUID{9}, Partition: 0}, code: kerr.UnknownTopicID.Code}}

	for _, v := range []int16{15, 16, 18} {
		sctx := fetchsession.New(fetchsession.Config{}).NewContext(fetchsession.Request{Version: v, Epoch: fetchsession.FinalEpoch})
		resp := h.buildFetchResponse(v, "PLAINTEXT", "test", sctx, items, results, failed)
		checkFetchEncoding(t, resp)
		if len(resp.topics) != 2 || len(resp.topics[0].parts) != 4 || resp.topics[1].id != (metadata.UUID{9}) {
			t.Fatalf("v%d: topics %+v", v, resp.topics)
		}
		ps := resp.topics[0].parts
		if p := ps[0]; p.errorCode != 0 || p.file != file || p.filePos != 100 || p.fileSize != 300 ||
			p.highWatermark != 20 || p.lastStableOffset != 9 || p.logStartOffset != 1 ||
			!slices.Equal(p.aborted, []abortedTxn{{producerID: 7, firstOffset: 3}}) {
			t.Fatalf("v%d: partition 0 %+v", v, p)
		}
		if p := ps[3]; p.divergingEpoch != (epochEndOffset{3, 42}) || p.file != nil {
			t.Fatalf("v%d: partition 3 %+v", v, p)
		}
		// Not hosted here but in the image: NOT_LEADER_OR_FOLLOWER.
		for _, p := range ps[1:3] {
			if p.errorCode != kerr.NotLeaderForPartition.Code || p.highWatermark != -1 || p.aborted != nil {
				t.Fatalf("v%d: partition %d %+v", v, p.index, p)
			}
			wantLeader := noCurrentLeader
			if v >= 16 {
				wantLeader = leaderIDEpoch{2, 5}
			}
			if p.currentLeader != wantLeader {
				t.Fatalf("v%d: partition %d leader %+v", v, p.index, p.currentLeader)
			}
		}
		if v < 16 && len(resp.nodes) != 0 {
			t.Fatalf("v%d: nodes %+v", v, resp.nodes)
		}
		if v >= 16 && (len(resp.nodes) != 1 || resp.nodes[0].id != 2 || resp.nodes[0].host != "b2" || resp.nodes[0].port != 9093 ||
			resp.nodes[0].rack == nil || *resp.nodes[0].rack != "r1") {
			t.Fatalf("v%d: nodes %+v", v, resp.nodes)
		}
		if f := resp.topics[1].parts[0]; f.errorCode != kerr.UnknownTopicID.Code {
			t.Fatalf("v%d: failed partition %+v", v, f)
		}
	}

	// A session leaves out what did not change.
	cache := fetchsession.New(fetchsession.Config{})
	var sid int32
	for epoch := int32(0); epoch < 2; epoch++ {
		sctx := cache.NewContext(fetchsession.Request{Version: 18, SessionID: sid, Epoch: epoch,
			Partitions: []fetchsession.Partition{{TopicPartition: tp(0)}, {TopicPartition: tp(1)}, {TopicPartition: tp(2)}, {TopicPartition: tp(3)}, {TopicPartition: failed[0].tp}}})
		resp := h.buildFetchResponse(18, "PLAINTEXT", "test", sctx, items, results, failed)
		sid = resp.sessionID
		var got []int32
		for _, tp := range resp.topics {
			for _, p := range tp.parts {
				got = append(got, p.index)
			}
		}
		// Full, then incremental: records, errors, a diverging epoch
		// and an error again, all of which are always sent.
		want := []int32{0, 1, 2, 3, 0}
		if sid == 0 || !slices.Equal(got, want) {
			t.Fatalf("epoch %d: session %d partitions %v", epoch, sid, got)
		}
	}
	quiet := slices.Clone(results)
	quiet[0].Records, quiet[3].DivergingEpoch = storage.ReadResult{}, -1
	quiet[1], quiet[2] = quiet[3], quiet[3]
	quiet[1].TP, quiet[2].TP = rtp(1), rtp(2)
	for epoch := int32(2); epoch < 4; epoch++ {
		sctx := cache.NewContext(fetchsession.Request{Version: 18, SessionID: sid, Epoch: epoch})
		resp := h.buildFetchResponse(18, "PLAINTEXT", "test", sctx, items, quiet, nil)
		var got []int32
		for _, tp := range resp.topics {
			for _, p := range tp.parts {
				got = append(got, p.index)
			}
		}
		// First the changes (partitions 1 and 2 recovered, 3's
		// diverging epoch is gone but its answer is as before), then
		// nothing.
		want := []int32{1, 2}
		if epoch == 3 {
			want = nil
		}
		if resp.errorCode != 0 || !slices.Equal(got, want) {
			t.Fatalf("epoch %d: error %d partitions %v, want %v", epoch, resp.errorCode, got, want)
		}
	}
}

// TestFetchTopicIDMismatch: a v13+ fetch names its topic by ID, which the
// image resolves to a name; if the partition hosted under that name
// belongs to another topic ID (a delete and re-create the replica manager
// has not caught up with), Kafka's readFromLog answers
// INCONSISTENT_TOPIC_ID rather than serve the other topic's records. A
// fetch by name (v12) has no ID to check.
func TestFetchTopicIDMismatch(t *testing.T) {
	b := startBroker(t)
	id := b.createTopic(t, "t", 1, nil)
	appendValues(t, b, "t", 0, "old")
	b.hostAsOtherTopic(t, "t", 0)
	appendValues(t, b, "t", 0, "new")
	c := b.dial(t)

	for _, v := range []int16{13, 17} {
		p := onlyPartition(t, fetchOn(t, c, newFetch(v, "", id, fetchPart{0, 0, -1, 0})))
		if p.ErrorCode != kerr.InconsistentTopicID.Code || len(p.RecordBatches) != 0 || p.HighWatermark != -1 {
			t.Fatalf("v%d fetch of a partition hosting another topic id: %v %+v", v, kerr.ErrorForCode(p.ErrorCode), p)
		}
	}
	p := onlyPartition(t, fetchOn(t, c, newFetch(12, "t", metadata.UUID{}, fetchPart{0, 0, -1, 0})))
	if got := fetchValues(t, p); p.ErrorCode != 0 || !slices.Equal(got, []string{"new"}) {
		t.Fatalf("fetch by name: %v %v", kerr.ErrorForCode(p.ErrorCode), got)
	}
}
