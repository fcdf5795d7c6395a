package e2e_test

import (
	"maps"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/testutil"
)

// TestCleanRestart produces, moves a log start with DeleteRecords, stops
// the broker cleanly and starts it again on the same data dir (on a fresh
// port), then checks that users see the same broker: the same cluster and
// topic ids, topic configs, log start and end offsets, every record
// (through all three clients), offsets found by time, and new records
// continuing the offsets. Unclean stops (kill -9, torn tails) are the
// storage package's crash tests.
func TestCleanRestart(t *testing.T) {
	b := testutil.StartBroker(t, "num.partitions=3")
	e := envFor(t, b)
	const topic = "durable"
	e.createTopic(t, topic, numPartitions, map[string]*string{"retention.ms": strp("86400000")})
	all := dataset(time.Now().Add(-time.Hour))
	franzProduce(t, b.Addr, topic, all, 3, -1) // lz4
	del := kadm.Offsets{}
	del.Add(kadm.Offset{Topic: topic, Partition: 0, At: 5})
	if resp, err := e.adm.DeleteRecords(ctxFor(t, 10*time.Second), del); err != nil || resp.Error() != nil {
		t.Fatalf("DeleteRecords: %v %v", err, resp.Error())
	}
	topicID := e.topicID(t, topic)
	clusterID := b.ClusterID()

	b.Stop(t)
	e.cl.Close()
	props := maps.Clone(b.Props)
	props["listeners"] = "PLAINTEXT://127.0.0.1:0"
	b2 := testutil.StartBrokerProps(t, props)
	if st := b2.LogLoadStats(); st.Logs != numPartitions || st.CleanDirs != 1 || st.SegmentsRecovered != 0 {
		t.Errorf("restart after a clean stop: %+v, want %d logs loaded clean", st, numPartitions)
	}
	e2 := envFor(t, b2)
	ctx := ctxFor(t, 30*time.Second)

	if b2.ClusterID() != clusterID {
		t.Errorf("cluster id %q after restart, was %q", b2.ClusterID(), clusterID)
	}
	if id := e2.topicID(t, topic); id != topicID {
		t.Errorf("topic id %x after restart, was %x", id, topicID)
	}
	checkConfigs(t, "after restart", e2.describeTopic(t, topic), map[string]cfgWant{
		"retention.ms": {"86400000", kmsg.ConfigSourceDynamicTopicConfig},
	})
	start := map[int32]int64{0: 5, 1: 0, 2: 0}
	starts, err := e2.adm.ListStartOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range start {
		if o, _ := starts.Lookup(topic, p); o.Offset != want {
			t.Errorf("log start p%d: %d after restart, want %d", p, o.Offset, want)
		}
	}
	for p, o := range e2.endOffsets(t, topic) {
		if o != perPartition {
			t.Errorf("end offset p%d: %d after restart, want %d", p, o, perPartition)
		}
	}

	t.Run("franz-go", func(t *testing.T) {
		parts := map[int32]kgo.Offset{}
		n := 0
		for p, s := range start {
			parts[p] = kgo.NewOffset().AtStart()
			n += perPartition - int(s)
		}
		cl := newKgo(t, b2.Addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}), kgo.FetchMaxWait(100*time.Millisecond))
		got := franzPoll(t, cl, n)
		for p, s := range start {
			checkRecords(t, partRecs(all, p, int(s)), filterPart(got, p), s, true)
		}
	})
	t.Run("sarama", func(t *testing.T) {
		checkRecords(t, partRecs(all, 1, 0), saramaConsumeOne(t, b2.Addr, topic, 1, sarama.OffsetOldest, perPartition), 0, true)
	})
	t.Run("kafka-go", func(t *testing.T) {
		checkRecords(t, partRecs(all, 2, 0), kafkaGoConsumeOne(t, b2.Addr, topic, 2, kafkago.FirstOffset, perPartition), 0, kafkaGoNulls)
	})
	t.Run("offsets by time", func(t *testing.T) {
		r := partRecs(all, 1, 0)[10]
		listed, err := e2.adm.ListOffsetsAfterMilli(ctx, r.ts, topic)
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := listed.Lookup(topic, 1); o.Offset != 10 || o.Timestamp != r.ts {
			t.Errorf("offset at %d on p1: %d (timestamp %d), want 10", r.ts, o.Offset, o.Timestamp)
		}
	})
	t.Run("offsets continue", func(t *testing.T) {
		prod := newKgo(t, b2.Addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		for p := int32(0); p < numPartitions; p++ {
			res := prod.ProduceSync(ctx, &kgo.Record{Partition: p, Value: []byte("after restart")})
			if r, err := res.First(); err != nil || r.Offset != perPartition {
				t.Errorf("first record on p%d after restart: offset %v, %v; want %d", p, r, err, perPartition)
			}
		}
	})
}
