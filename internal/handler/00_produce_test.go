package handler

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/replica"
)

// Every acks mode and every codec, through franz-go, read back through
// ListOffsets (and the log itself).
func TestProduceFranzGoAcksAndCodecs(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "p", 2, nil)
	codecs := []kgo.CompressionCodec{kgo.NoCompression(), kgo.GzipCompression(), kgo.SnappyCompression(), kgo.Lz4Compression(), kgo.ZstdCompression()}
	acks := []kgo.Acks{kgo.NoAck(), kgo.LeaderAck(), kgo.AllISRAcks()}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(b.client(t))

	total := int64(0)
	for _, a := range acks {
		for _, codec := range codecs {
			cl := b.client(t, kgo.RequiredAcks(a), kgo.DisableIdempotentWrite(), kgo.ProducerBatchCompression(codec),
				kgo.DefaultProduceTopic("p"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
			var recs []*kgo.Record
			for i := range 20 {
				recs = append(recs, &kgo.Record{Partition: int32(i % 2), Key: []byte(fmt.Sprint(i)),
					Value: []byte(fmt.Sprintf("value %d, repeated to compress well %[1]d %[1]d %[1]d", i))})
			}
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatalf("acks %v codec %v: %v", a, codec, err)
			}
			total += 20
			if a != kgo.NoAck() {
				for _, r := range recs {
					if r.Offset < 0 || r.Timestamp.IsZero() {
						t.Fatalf("record not acknowledged with an offset: %+v", r)
					}
				}
			}
			// acks=0 has no answer to wait for: poll the end offsets
			// until they account for every record (bounded by ctx).
			for {
				ends, err := adm.ListEndOffsets(ctx, "p")
				if err != nil {
					t.Fatal(err)
				}
				sum := int64(0)
				ends.Each(func(o kadm.ListedOffset) {
					if o.Err != nil {
						t.Fatalf("list end offsets: %v", o.Err)
					}
					sum += o.Offset
				})
				if sum == total {
					break
				}
				if sum > total || ctx.Err() != nil {
					t.Fatalf("end offsets sum to %d, want %d", sum, total)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	starts, err := adm.ListStartOffsets(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	starts.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Offset != 0 {
			t.Fatalf("start offset %+v", o)
		}
	})
	// The log holds every record, each codec's batches intact.
	got := 0
	for p := range int32(2) {
		part, _ := b.Replicas.Partition(replica.TopicPartition{Topic: "p", Partition: p})
		rr, err := part.Log().Read(0, 1<<30, part.HighWatermark(), true)
		if err != nil {
			t.Fatal(err)
		}
		data, err := rr.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := record.Batches(data, func(bt record.Batch) error {
			got += int(bt.NumRecords())
			return bt.Verify()
		}); err != nil {
			t.Fatal(err)
		}
	}
	if int64(got) != total {
		t.Fatalf("log holds %d records, want %d", got, total)
	}
}

// produceBatch builds one producer batch.
func produceBatch(t *testing.T, opts record.BuilderOptions, ts int64, keys ...string) []byte {
	t.Helper()
	bl := record.NewBuilder(opts)
	for _, k := range keys {
		var key []byte
		if k != "" {
			key = []byte(k)
		}
		bl.Add(ts, key, []byte("value of "+k))
	}
	out, err := bl.Build()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func plainBatch(t *testing.T, keys ...string) []byte {
	return produceBatch(t, record.DefaultBuilderOptions(), time.Now().UnixMilli(), keys...)
}

// produceReq builds a Produce request at version v with one topic and
// partitions' records.
func produceReq(v int16, acks int16, topic string, parts map[int32][]byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(v)
	req.Acks, req.TimeoutMillis = acks, 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	keys := make([]int32, 0, len(parts))
	for p := range parts {
		keys = append(keys, p)
	}
	slices.Sort(keys)
	for _, p := range keys {
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = p, parts[p]
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

func producePartition(t *testing.T, resp kmsg.Response, topic int, partition int) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	r := resp.(*kmsg.ProduceResponse)
	if len(r.Topics) <= topic || len(r.Topics[topic].Partitions) <= partition {
		t.Fatalf("response %+v has no topic %d partition %d", r, topic, partition)
	}
	return r.Topics[topic].Partitions[partition]
}

func TestProduceErrors(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "t", 1, nil)
	b.createTopic(t, "small", 1, map[string]string{"max.message.bytes": "200"})
	b.createTopic(t, "compacted", 1, map[string]string{"cleanup.policy": "compact"})

	now := time.Now().UnixMilli()
	corrupt := plainBatch(t, "a")
	corrupt[len(corrupt)-1] ^= 0xff
	magic1 := plainBatch(t, "a")
	magic1[16] = 1
	badMagic := plainBatch(t, "a")
	badMagic[16] = 7
	shortLength := plainBatch(t, "a")
	binary.BigEndian.PutUint32(shortLength[8:], 10)
	zstdOpts := record.DefaultBuilderOptions()
	zstdOpts.Codec = record.CodecZstd
	zstd := produceBatch(t, zstdOpts, now, "a")
	two := append(plainBatch(t, "a"), plainBatch(t, "b")...)

	cases := []struct {
		name    string
		v       int16
		topic   string
		records []byte
		want    *kerr.Error
		recErrs []int32
		msg     bool
	}{
		{"unknown topic", 9, "nope", plainBatch(t, "a"), kerr.UnknownTopicOrPartition, nil, false},
		{"null records", 9, "t", nil, kerr.InvalidRecord, nil, false},
		{"too short for a batch", 9, "t", plainBatch(t, "a")[:16], kerr.InvalidRecord, nil, false},
		{"truncated batch", 9, "t", plainBatch(t, "a")[:40], kerr.InvalidRecord, nil, false},
		{"length below minimum", 9, "t", shortLength, kerr.CorruptMessage, nil, false},
		{"unknown magic", 9, "t", badMagic, kerr.CorruptMessage, nil, false},
		{"old magic", 9, "t", magic1, kerr.InvalidRecord, nil, false},
		{"two batches", 9, "t", two, kerr.InvalidRecord, nil, false},
		{"bad crc", 9, "t", corrupt, kerr.CorruptMessage, nil, false},
		{"zstd before v7", 6, "t", zstd, kerr.UnsupportedCompressionType, nil, false},
		{"too large", 9, "small", plainBatch(t, "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"), kerr.MessageTooLarge, nil, false},
		{"timestamp", 9, "t", produceBatch(t, record.DefaultBuilderOptions(), now+48*3600*1000, "a"), kerr.InvalidTimestamp, []int32{0}, true},
		{"null keys on a compacted topic", 9, "compacted", plainBatch(t, "", "k", ""), kerr.InvalidRecord, []int32{0, 2}, true},
		{"record errors before v8 carry only the code", 7, "compacted", plainBatch(t, "", "k"), kerr.InvalidRecord, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := producePartition(t, b.raw(t, produceReq(tc.v, -1, tc.topic, map[int32][]byte{0: tc.records})), 0, 0)
			if p.ErrorCode != tc.want.Code {
				t.Fatalf("error %v, want %v", kerr.ErrorForCode(p.ErrorCode), tc.want)
			}
			if p.BaseOffset != -1 || p.LogAppendTime != -1 || (tc.v >= 5 && p.LogStartOffset != -1) {
				t.Fatalf("offsets on error: %+v", p)
			}
			var idx []int32
			for _, e := range p.ErrorRecords {
				idx = append(idx, e.RelativeOffset)
			}
			if !slices.Equal(idx, tc.recErrs) || (p.ErrorMessage != nil) != tc.msg {
				t.Fatalf("record errors %v message %v, want %v and a message: %v", idx, p.ErrorMessage, tc.recErrs, tc.msg)
			}
		})
	}

	t.Run("unknown partition and a good one", func(t *testing.T) {
		resp := b.raw(t, produceReq(9, 1, "t", map[int32][]byte{0: plainBatch(t, "a"), 5: plainBatch(t, "b")}))
		if p := producePartition(t, resp, 0, 0); p.ErrorCode != 0 || p.BaseOffset < 0 || p.LogStartOffset != 0 || p.LogAppendTime != -1 {
			t.Fatalf("good partition: %+v", p)
		}
		if p := producePartition(t, resp, 0, 1); p.ErrorCode != kerr.UnknownTopicOrPartition.Code || p.Partition != 5 {
			t.Fatalf("unknown partition: %+v", p)
		}
	})
	t.Run("invalid acks", func(t *testing.T) {
		p := producePartition(t, b.raw(t, produceReq(9, 2, "t", map[int32][]byte{0: plainBatch(t, "a")})), 0, 0)
		if p.ErrorCode != kerr.InvalidRequiredAcks.Code {
			t.Fatalf("acks=2: %v", kerr.ErrorForCode(p.ErrorCode))
		}
	})
	t.Run("zstd from v7", func(t *testing.T) {
		p := producePartition(t, b.raw(t, produceReq(7, 1, "t", map[int32][]byte{0: produceBatch(t, zstdOpts, now, "z")})), 0, 0)
		if p.ErrorCode != 0 {
			t.Fatalf("zstd at v7: %v", kerr.ErrorForCode(p.ErrorCode))
		}
	})
	t.Run("trailing partial batch is trimmed", func(t *testing.T) {
		data := append(plainBatch(t, "a", "b"), plainBatch(t, "c")[:30]...)
		p := producePartition(t, b.raw(t, produceReq(9, 1, "t", map[int32][]byte{0: data})), 0, 0)
		if p.ErrorCode != 0 {
			t.Fatalf("trailing partial batch: %v", kerr.ErrorForCode(p.ErrorCode))
		}
	})
}

func TestProduceDuplicatePartitionKeepsLast(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "t", 1, nil)
	req := produceReq(9, 1, "t", map[int32][]byte{0: plainBatch(t, "first")})
	dup := kmsg.NewProduceRequestTopicPartition()
	dup.Partition, dup.Records = 0, plainBatch(t, "second", "second")
	req.Topics[0].Partitions = append(req.Topics[0].Partitions, dup)
	resp := b.raw(t, req).(*kmsg.ProduceResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("response %+v", resp)
	}
	p, _ := b.Replicas.Partition(replica.TopicPartition{Topic: "t", Partition: 0})
	if p.LogEndOffset() != 2 {
		t.Fatalf("log end offset %d: want only the last batch (2 records) appended", p.LogEndOffset())
	}
}

func TestProduceTransactionalAndIdempotent(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "t", 1, nil)
	idem := record.DefaultBuilderOptions()
	idem.ProducerID, idem.ProducerEpoch, idem.BaseSequence = 7, 0, 0
	p := producePartition(t, b.raw(t, produceReq(9, -1, "t", map[int32][]byte{0: produceBatch(t, idem, time.Now().UnixMilli(), "a")})), 0, 0)
	if p.ErrorCode != 0 {
		t.Fatalf("idempotent batch: %v", kerr.ErrorForCode(p.ErrorCode))
	}

	txn := idem
	txn.Transactional, txn.BaseSequence = true, 1
	batch := produceBatch(t, txn, time.Now().UnixMilli(), "b")
	req := produceReq(9, -1, "t", map[int32][]byte{0: batch})
	p = producePartition(t, b.raw(t, req), 0, 0)
	if p.ErrorCode != kerr.TransactionalIDAuthorizationFailed.Code {
		t.Fatalf("transactional batch without a transactional id: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	req = produceReq(9, -1, "t", map[int32][]byte{0: produceBatch(t, txn, time.Now().UnixMilli(), "b")})
	req.TransactionID = kmsg.StringPtr("txn")
	p = producePartition(t, b.raw(t, req), 0, 0)
	if p.ErrorCode != kerr.InvalidTxnState.Code || p.ErrorMessage == nil {
		t.Fatalf("transactional batch without a coordinator: %v %v", kerr.ErrorForCode(p.ErrorCode), p.ErrorMessage)
	}
}

func TestProduceInternalTopic(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "__consumer_offsets", 1, nil)
	req := produceReq(9, 1, "__consumer_offsets", map[int32][]byte{0: plainBatch(t, "a")})
	if p := producePartition(t, b.raw(t, req), 0, 0); p.ErrorCode != kerr.InvalidTopicException.Code {
		t.Fatalf("client write to an internal topic: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	c := b.dialAs(t, adminClientID)
	c.send(produceReq(9, 1, "__consumer_offsets", map[int32][]byte{0: plainBatch(t, "a")}))
	if p := producePartition(t, c.recv(), 0, 0); p.ErrorCode != 0 {
		t.Fatalf("admin client write to an internal topic: %v", kerr.ErrorForCode(p.ErrorCode))
	}
}

func TestProduceLogAppendTime(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "lat", 1, map[string]string{"message.timestamp.type": "LogAppendTime"})
	before := time.Now().UnixMilli()
	p := producePartition(t, b.raw(t, produceReq(9, 1, "lat", map[int32][]byte{0: produceBatch(t, record.DefaultBuilderOptions(), 1, "a")})), 0, 0)
	if p.ErrorCode != 0 || p.LogAppendTime < before {
		t.Fatalf("LogAppendTime topic: %+v", p)
	}
}

func TestProduceTopicIDs(t *testing.T) {
	b := startBroker(t)
	id := b.createTopic(t, "ids", 1, nil)
	req := produceReq(13, 1, "", map[int32][]byte{0: plainBatch(t, "a")})
	req.Topics[0].TopicID = id
	unknown := kmsg.NewProduceRequestTopic()
	unknown.TopicID = [16]byte{9, 9, 9}
	up := kmsg.NewProduceRequestTopicPartition()
	up.Records = plainBatch(t, "b")
	unknown.Partitions = append(unknown.Partitions, up)
	req.Topics = append(req.Topics, unknown)
	resp := b.raw(t, req).(*kmsg.ProduceResponse)
	if len(resp.Topics) != 2 || resp.Topics[0].TopicID != id || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("known topic id: %+v", resp.Topics)
	}
	if resp.Topics[1].TopicID != unknown.TopicID || resp.Topics[1].Partitions[0].ErrorCode != kerr.UnknownTopicID.Code {
		t.Fatalf("unknown topic id: %+v", resp.Topics[1])
	}
}

func TestProduceOldVersionsCloseConnection(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "t", 1, nil)
	// Advertised from v0 (librdkafka needs it), never served.
	av := b.raw(t, kmsg.NewPtrApiVersionsRequest()).(*kmsg.ApiVersionsResponse)
	for _, k := range av.ApiKeys {
		if k.ApiKey == 0 && (k.MinVersion != 0 || k.MaxVersion != kmsg.NewPtrProduceRequest().MaxVersion()) {
			t.Fatalf("produce advertised %d-%d", k.MinVersion, k.MaxVersion)
		}
	}
	for v := int16(0); v < 3; v++ {
		c := b.dial(t)
		c.send(produceReq(v, 1, "t", map[int32][]byte{0: plainBatch(t, "a")}))
		c.expectClosed()
	}
}

func TestProduceAcksZero(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "t", 1, nil)
	c := b.dial(t)
	c.send(produceReq(9, 0, "t", map[int32][]byte{0: plainBatch(t, "a")}))
	api := c.send(kmsg.NewPtrApiVersionsRequest())
	// No response to the produce: the next frame answers ApiVersions.
	if _, ok := c.recv().(*kmsg.ApiVersionsResponse); !ok {
		t.Fatal("first response is not ApiVersions")
	}
	_ = api
	p, _ := b.Replicas.Partition(replica.TopicPartition{Topic: "t", Partition: 0})
	if p.LogEndOffset() != 1 {
		t.Fatalf("acks=0 produce not appended: LEO %d", p.LogEndOffset())
	}
	// An error with acks=0 closes the connection.
	c.send(produceReq(9, 0, "nope", map[int32][]byte{0: plainBatch(t, "a")}))
	c.expectClosed()
}

func TestProduceNotLeader(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "t", 1, nil)
	if err := b.Replicas.RemovePartition(replica.TopicPartition{Topic: "t", Partition: 0}, false); err != nil {
		t.Fatal(err)
	}
	p := producePartition(t, b.raw(t, produceReq(10, 1, "t", map[int32][]byte{0: plainBatch(t, "a")})), 0, 0)
	if p.ErrorCode != kerr.NotLeaderForPartition.Code {
		t.Fatalf("not hosted: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	if p.CurrentLeader.LeaderID != b.NodeID || p.CurrentLeader.LeaderEpoch < 0 {
		t.Fatalf("current leader %+v", p.CurrentLeader)
	}
}

// Every served version appends and answers with the fields it carries.
func TestProduceEveryVersion(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "v", 1, nil)
	maxV := kmsg.NewPtrProduceRequest().MaxVersion()
	next := int64(0)
	for v := int16(produceMinServedVersion); v <= maxV; v++ {
		req := produceReq(v, -1, "v", map[int32][]byte{0: plainBatch(t, "a", "b")})
		if v >= 13 {
			req.Topics[0].TopicID = b.Publisher.Image().Topic("v").ID
		}
		resp := b.raw(t, req).(*kmsg.ProduceResponse)
		p := producePartition(t, resp, 0, 0)
		if p.ErrorCode != 0 || p.BaseOffset != next || p.LogAppendTime != -1 {
			t.Fatalf("v%d: %v base %d append time %d", v, kerr.ErrorForCode(p.ErrorCode), p.BaseOffset, p.LogAppendTime)
		}
		if v >= 5 && p.LogStartOffset != 0 {
			t.Fatalf("v%d: log start offset %d", v, p.LogStartOffset)
		}
		if v < 13 && resp.Topics[0].Topic != "v" {
			t.Fatalf("v%d: topic %q", v, resp.Topics[0].Topic)
		}
		next += 2
	}
}

// TestProduceAcksZeroTransactionalWithoutID: a request-level error on an
// acks=0 produce closes the connection, as Kafka's
// ProduceRequest.getErrorResponse (null for acks=0) makes it do; a
// response the producer does not expect would be read as the answer to
// its next request.
func TestProduceAcksZeroTransactionalWithoutID(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "t", 1, nil)
	txn := record.DefaultBuilderOptions()
	txn.ProducerID, txn.ProducerEpoch, txn.BaseSequence, txn.Transactional = 7, 0, 0, true
	c := b.dial(t)
	c.send(produceReq(9, 0, "t", map[int32][]byte{0: produceBatch(t, txn, time.Now().UnixMilli(), "a")}))
	c.expectClosed()
}

// TestProduceTopicIDMismatch: a v13+ produce names its topic by ID, which
// the image resolves to a name; if the partition hosted under that name
// belongs to another topic ID (a delete and re-create the replica manager
// has not caught up with), Kafka answers UNKNOWN_TOPIC_ID rather than
// append to the other topic's log. Produce by name (v12) has no ID to
// check and appends.
func TestProduceTopicIDMismatch(t *testing.T) {
	b := startBroker(t)
	id := b.createTopic(t, "t", 1, nil)
	b.hostAsOtherTopic(t, "t", 0)

	req := produceReq(13, 1, "", map[int32][]byte{0: plainBatch(t, "a")})
	req.Topics[0].TopicID = id
	resp := b.raw(t, req).(*kmsg.ProduceResponse)
	if len(resp.Topics) != 1 || resp.Topics[0].TopicID != id {
		t.Fatalf("response topics %+v", resp.Topics)
	}
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != kerr.UnknownTopicID.Code || p.BaseOffset != -1 {
		t.Fatalf("produce to a partition hosting another topic id: %v %+v", kerr.ErrorForCode(p.ErrorCode), p)
	}
	hosted, _ := b.Replicas.Partition(replica.TopicPartition{Topic: "t", Partition: 0})
	if leo := hosted.LogEndOffset(); leo != 0 {
		t.Fatalf("the refused produce was appended: LEO %d", leo)
	}
	if p := producePartition(t, b.raw(t, produceReq(12, 1, "t", map[int32][]byte{0: plainBatch(t, "b")})), 0, 0); p.ErrorCode != 0 {
		t.Fatalf("produce by name: %v", kerr.ErrorForCode(p.ErrorCode))
	}
}

// TestProduceIdempotentSequences checks the producer-state errors' wire
// codes and that a retried batch is acknowledged with its original base
// offset without being appended again.
func TestProduceIdempotentSequences(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "t", 1, nil)
	send := func(epoch int16, seq int32, keys ...string) kmsg.ProduceResponseTopicPartition {
		opts := record.DefaultBuilderOptions()
		opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence = 11, epoch, seq
		return producePartition(t, b.raw(t, produceReq(9, -1, "t", map[int32][]byte{0: produceBatch(t, opts, time.Now().UnixMilli(), keys...)})), 0, 0)
	}
	if p := send(1, 0, "a", "b"); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("first batch: %v at %d", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
	if p := send(1, 2, "c"); p.ErrorCode != 0 || p.BaseOffset != 2 {
		t.Fatalf("second batch: %v at %d", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
	if p := send(1, 0, "a", "b"); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("retried batch: %v at %d, want success at 0", kerr.ErrorForCode(p.ErrorCode), p.BaseOffset)
	}
	if p := send(1, 7, "x"); p.ErrorCode != kerr.OutOfOrderSequenceNumber.Code {
		t.Fatalf("gap: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	if p := send(0, 3, "x"); p.ErrorCode != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("old epoch: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	p, _ := b.Replicas.Partition(replica.TopicPartition{Topic: "t", Partition: 0})
	if p.LogEndOffset() != 3 {
		t.Fatalf("log end offset %d, want 3 (the retry not appended)", p.LogEndOffset())
	}
}
