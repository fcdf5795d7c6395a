package e2e_test

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// saramaVersion is the protocol level sarama speaks in these tests: new
// enough for headers and zstd, and sarama then uses recent versions of
// every request.
var saramaVersion = sarama.V3_6_0_0

// TestSaramaCodecsAndAcks round-trips the dataset through sarama for every
// codec and acks mode: ClusterAdmin creates the topic, a SyncProducer with
// the manual partitioner writes it round by round (SendMessages), and a
// PartitionConsumer per partition reads it back from the oldest offset.
func TestSaramaCodecsAndAcks(t *testing.T) {
	e := newEnv(t)
	adm := newSaramaAdmin(t, e.b.Addr)
	for _, c := range codecs {
		for _, a := range ackModes {
			t.Run(c.name+"/"+a.name, func(t *testing.T) {
				t.Parallel()
				topic := "sarama-" + c.name + "-" + a.name
				if err := adm.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: numPartitions, ReplicationFactor: 1}, false); err != nil {
					t.Fatalf("create topic: %v", err)
				}
				want := dataset(time.Now().Add(-time.Hour))
				saramaProduce(t, e.b.Addr, topic, want, c.id, a.acks)
				waitSaramaEndOffsets(t, e.b.Addr, topic, perPartition)
				got := saramaConsume(t, e.b.Addr, topic, sarama.OffsetOldest, perPartition)
				checkRecords(t, want, got, 0, true)
				e.checkCodec(t, topic, c.id)
			})
		}
	}
}

func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = saramaVersion
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	return cfg
}

func newSaramaAdmin(t *testing.T, addr string) sarama.ClusterAdmin {
	t.Helper()
	adm, err := sarama.NewClusterAdmin([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = adm.Close() })
	return adm
}

func newSaramaClient(t *testing.T, addr string) sarama.Client {
	t.Helper()
	cl, err := sarama.NewClient([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

func saramaCodec(id int8) sarama.CompressionCodec {
	switch id {
	case 1:
		return sarama.CompressionGZIP
	case 2:
		return sarama.CompressionSnappy
	case 3:
		return sarama.CompressionLZ4
	case 4:
		return sarama.CompressionZSTD
	}
	return sarama.CompressionNone
}

func saramaAcks(acks int16) sarama.RequiredAcks {
	switch acks {
	case 0:
		return sarama.NoResponse
	case 1:
		return sarama.WaitForLocal
	}
	return sarama.WaitForAll
}

// saramaProduce writes recs to topic with a SyncProducer, one SendMessages
// per round. The producer lingers a little so that a round's records of a
// partition share batches, which is what compression works on.
func saramaProduce(t *testing.T, addr, topic string, recs []rec, codec int8, acks int16) {
	t.Helper()
	cfg := saramaConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Compression = saramaCodec(codec)
	cfg.Producer.RequiredAcks = saramaAcks(acks)
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	prod, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := prod.Close(); err != nil {
			t.Errorf("close producer: %v", err)
		}
	}()
	for i, round := range rounds(recs) {
		msgs := make([]*sarama.ProducerMessage, len(round))
		for j, r := range round {
			m := &sarama.ProducerMessage{Topic: topic, Partition: r.partition, Timestamp: time.UnixMilli(r.ts)}
			// A nil Encoder is a null key or value; a nil ByteEncoder
			// would be an empty one.
			if r.key != nil {
				m.Key = sarama.ByteEncoder(r.key)
			}
			if r.value != nil {
				m.Value = sarama.ByteEncoder(r.value)
			}
			for _, h := range r.headers {
				m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(h.key), Value: h.value})
			}
			msgs[j] = m
		}
		if err := prod.SendMessages(msgs); err != nil {
			t.Fatalf("produce round %d: %v", i, err)
		}
	}
}

// waitSaramaEndOffsets waits, through sarama's own ListOffsets, until
// every partition's end offset reaches n and then requires exactly n.
func waitSaramaEndOffsets(t *testing.T, addr, topic string, n int64) {
	t.Helper()
	cl := newSaramaClient(t, addr)
	end := func(p int32) int64 {
		o, err := cl.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatalf("list offsets %s/%d: %v", topic, p, err)
		}
		return o
	}
	waitFor(t, 20*time.Second, "sarama end offsets", func() bool {
		for p := int32(0); p < numPartitions; p++ {
			if end(p) < n {
				return false
			}
		}
		return true
	})
	for p := int32(0); p < numPartitions; p++ {
		if o := end(p); o != n {
			t.Fatalf("partition %d: end offset %d, want %d", p, o, n)
		}
	}
}

// saramaConsume reads n records from each partition of topic, starting at
// from (an offset or sarama.OffsetOldest), with one PartitionConsumer per
// partition, all consuming at once.
func saramaConsume(t *testing.T, addr, topic string, from int64, n int) []rec {
	t.Helper()
	cons, err := sarama.NewConsumer([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := cons.Close(); err != nil {
			t.Errorf("close consumer: %v", err)
		}
	}()
	pcs := make([]sarama.PartitionConsumer, numPartitions)
	for p := range pcs {
		if pcs[p], err = cons.ConsumePartition(topic, int32(p), from); err != nil {
			t.Fatalf("consume %s/%d: %v", topic, p, err)
		}
		// Closed before the consumer, as sarama requires.
		defer func() {
			if err := pcs[p].Close(); err != nil {
				t.Errorf("close partition consumer %d: %v", p, err)
			}
		}()
	}
	timeout := time.After(30 * time.Second)
	var out []rec
	for p, pc := range pcs {
		for got := 0; got < n; {
			select {
			case m := <-pc.Messages():
				out = append(out, fromSarama(m))
				got++
			case err := <-pc.Errors():
				t.Fatalf("consume %s/%d: %v", topic, p, err)
			case <-timeout:
				t.Fatalf("consume %s/%d: timed out with %d of %d records", topic, p, got, n)
			}
		}
	}
	return out
}

func fromSarama(m *sarama.ConsumerMessage) rec {
	r := rec{partition: m.Partition, offset: m.Offset, key: m.Key, value: m.Value, ts: m.Timestamp.UnixMilli()}
	for _, h := range m.Headers {
		r.headers = append(r.headers, header{key: string(h.Key), value: h.Value})
	}
	return r
}
