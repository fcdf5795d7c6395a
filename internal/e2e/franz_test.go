package e2e_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFranzGoCodecsAndAcks round-trips the dataset through franz-go for
// every codec and acks mode: kadm creates the topic, a kgo producer with
// the codec and acks writes it round by round to explicit partitions, and
// a kgo direct (groupless) consumer reads every partition back from 0.
func TestFranzGoCodecsAndAcks(t *testing.T) {
	e := newEnv(t)
	for _, c := range codecs {
		for _, a := range ackModes {
			t.Run(c.name+"/"+a.name, func(t *testing.T) {
				t.Parallel()
				topic := "franz-" + c.name + "-" + a.name
				e.createTopic(t, topic, numPartitions, nil)
				want := dataset(time.Now().Add(-time.Hour))
				franzProduce(t, e.b.Addr, topic, want, c.id, a.acks)
				waitEndOffsets(t, e, topic, perPartition)
				got := franzConsume(t, e.b.Addr, topic, 0, len(want))
				checkRecords(t, want, got, 0, true)
				e.checkCodec(t, topic, c.id)
			})
		}
	}
}

func franzCodec(id int8) kgo.CompressionCodec {
	switch id {
	case 1:
		return kgo.GzipCompression()
	case 2:
		return kgo.SnappyCompression()
	case 3:
		return kgo.Lz4Compression()
	case 4:
		return kgo.ZstdCompression()
	}
	return kgo.NoCompression()
}

func franzAcks(acks int16) kgo.Acks {
	switch acks {
	case 0:
		return kgo.NoAck()
	case 1:
		return kgo.LeaderAck()
	}
	return kgo.AllISRAcks()
}

// franzProduce writes recs to topic round by round, each round one
// ProduceSync (so one batch per partition per round).
func franzProduce(t *testing.T, addr, topic string, recs []rec, codec int8, acks int16) {
	t.Helper()
	opts := []kgo.Opt{
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(franzCodec(codec)),
		kgo.RequiredAcks(franzAcks(acks)),
	}
	if acks != -1 {
		// Idempotence needs acks=all; with acks=all the producer is
		// idempotent, as franz-go's (and Java's) default.
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	cl := newKgo(t, addr, opts...)
	ctx := ctxFor(t, 30*time.Second)
	for i, round := range rounds(recs) {
		krs := make([]*kgo.Record, len(round))
		for j, r := range round {
			kr := &kgo.Record{Partition: r.partition, Key: r.key, Value: r.value, Timestamp: time.UnixMilli(r.ts)}
			for _, h := range r.headers {
				kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.key, Value: h.value})
			}
			krs[j] = kr
		}
		if err := cl.ProduceSync(ctx, krs...).FirstErr(); err != nil {
			t.Fatalf("produce round %d: %v", i, err)
		}
	}
}

// waitEndOffsets waits until every partition's end offset reaches n. An
// acks=0 producer is told nothing, so this is how a test knows the
// records landed.
func waitEndOffsets(t *testing.T, e *env, topic string, n int64) {
	t.Helper()
	waitFor(t, 20*time.Second, fmt.Sprintf("%s to hold %d records per partition", topic, n), func() bool {
		offs := e.endOffsets(t, topic)
		for p := int32(0); p < numPartitions; p++ {
			if offs[p] < n {
				return false
			}
		}
		return true
	})
	for p, o := range e.endOffsets(t, topic) {
		if o != n {
			t.Fatalf("partition %d: end offset %d, want %d", p, o, n)
		}
	}
}

// franzConsume reads n records from every partition of topic starting at
// from, with a direct kgo consumer.
func franzConsume(t *testing.T, addr, topic string, from int64, n int) []rec {
	t.Helper()
	parts := map[int32]kgo.Offset{}
	for p := int32(0); p < numPartitions; p++ {
		parts[p] = kgo.NewOffset().At(from)
	}
	cl := newKgo(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
		kgo.FetchMaxWait(500*time.Millisecond))
	return franzPoll(t, cl, n)
}

// franzPoll polls cl until it has n records, failing on any fetch error.
func franzPoll(t *testing.T, cl *kgo.Client, n int) []rec {
	t.Helper()
	ctx := ctxFor(t, 30*time.Second)
	var out []rec
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records: %v", len(out), n, ctx.Err())
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) { out = append(out, fromKgo(r)) })
	}
	return out
}

func fromKgo(r *kgo.Record) rec {
	out := rec{partition: r.Partition, offset: r.Offset, key: r.Key, value: r.Value, ts: r.Timestamp.UnixMilli()}
	for _, h := range r.Headers {
		out.headers = append(out.headers, header{key: h.Key, value: h.Value})
	}
	return out
}
