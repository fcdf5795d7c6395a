package e2e_test

import (
	"context"
	"errors"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// TestKafkaGoCodecsAndAcks round-trips the dataset through kafka-go for
// every codec and acks mode: Client creates the topic, Conn reads its
// partitions and end offsets, a Writer (with a balancer that sends each
// record to its partition) writes it round by round, and a Reader per
// partition reads it back from the first offset.
func TestKafkaGoCodecsAndAcks(t *testing.T) {
	e := newEnv(t)
	cl := newKafkaGoClient(t, e.b.Addr)
	for _, c := range codecs {
		for _, a := range ackModes {
			t.Run(c.name+"/"+a.name, func(t *testing.T) {
				t.Parallel()
				topic := "kafkago-" + c.name + "-" + a.name
				ctx := ctxFor(t, 30*time.Second)
				resp, err := cl.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{
					{Topic: topic, NumPartitions: numPartitions, ReplicationFactor: 1},
				}})
				if err == nil {
					err = resp.Errors[topic]
				}
				if err != nil {
					t.Fatalf("create topic: %v", err)
				}
				checkKafkaGoPartitions(t, e.b.Addr, topic)
				want := dataset(time.Now().Add(-time.Hour))
				kafkaGoProduce(t, e, topic, want, c.id, a.acks)
				waitKafkaGoEndOffsets(t, e.b.Addr, topic, perPartition)
				got := kafkaGoConsume(t, e.b.Addr, topic, kafkago.FirstOffset, perPartition)
				checkRecords(t, want, got, 0, kafkaGoNulls)
				// franz-go tells null from empty: it shows that the Writer
				// kept the difference and the broker stored it.
				checkRecords(t, want, franzConsume(t, e.b.Addr, topic, 0, len(want)), 0, true)
				e.checkCodec(t, topic, c.id)
			})
		}
	}
}

// kafkaGoNulls: kafka-go's Reader hands back an empty key or value as a
// nil slice, the same as a null one, so it is not held to the difference;
// the bytes are still compared, and the test reads the same records with
// franz-go, strictly.
const kafkaGoNulls nullMatters = false

// newKafkaGoClient returns a kafka-go Client with its own transport, whose
// pooled connections are closed when the test ends.
func newKafkaGoClient(t *testing.T, addr string) *kafkago.Client {
	t.Helper()
	tr := &kafkago.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &kafkago.Client{Addr: kafkago.TCP(addr), Transport: tr, Timeout: 20 * time.Second}
}

// checkKafkaGoPartitions requires Conn's view of topic (Metadata) to be
// numPartitions partitions led by the broker.
func checkKafkaGoPartitions(t *testing.T, addr, topic string) {
	t.Helper()
	conn, err := kafkago.DialContext(ctxFor(t, 10*time.Second), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	parts, err := conn.ReadPartitions(topic)
	if err != nil {
		t.Fatalf("read partitions: %v", err)
	}
	if len(parts) != numPartitions {
		t.Fatalf("topic %s has %d partitions, want %d", topic, len(parts), numPartitions)
	}
	for _, p := range parts {
		if p.Leader.ID != 1 || p.Leader.Port == 0 {
			t.Fatalf("partition %d led by %+v", p.ID, p.Leader)
		}
	}
}

func kafkaGoCodec(id int8) kafkago.Compression {
	switch id {
	case 1:
		return kafkago.Gzip
	case 2:
		return kafkago.Snappy
	case 3:
		return kafkago.Lz4
	case 4:
		return kafkago.Zstd
	}
	return 0
}

func kafkaGoAcks(acks int16) kafkago.RequiredAcks {
	switch acks {
	case 0:
		return kafkago.RequireNone
	case 1:
		return kafkago.RequireOne
	}
	return kafkago.RequireAll
}

// kafkaGoProduce writes recs with a Writer, one WriteMessages per round.
// The Writer picks partitions through its Balancer, which finds each
// record's partition by its (unique) timestamp; a batch is a round's
// records of one partition.
//
// kafka-go's transport writes a round's partitions concurrently, each on a
// pooled connection of its own, and a later round may take another
// connection than the one before. With acks=0 nothing orders those
// connections' requests (a round's WriteMessages returns once its bytes are
// in the socket, and the broker serves each connection independently, as
// Kafka does), so a later round could land first. With acks=0 the test
// therefore waits for each round's records to be in the log, seen through
// ListOffsets, before writing the next, which is what a user who needs
// order without acks would have to do.
func kafkaGoProduce(t *testing.T, e *env, topic string, recs []rec, codec int8, acks int16) {
	t.Helper()
	addr := e.b.Addr
	part := partitionOfTS(recs)
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	w := &kafkago.Writer{
		Addr:  kafkago.TCP(addr),
		Topic: topic,
		Balancer: kafkago.BalancerFunc(func(m kafkago.Message, _ ...int) int {
			return int(part[m.Time.UnixMilli()])
		}),
		BatchSize:    perRound,
		BatchTimeout: 10 * time.Millisecond,
		RequiredAcks: kafkaGoAcks(acks),
		Compression:  kafkaGoCodec(codec),
		Transport:    tr,
	}
	defer func() {
		if err := w.Close(); err != nil {
			t.Errorf("close writer: %v", err)
		}
	}()
	ctx := ctxFor(t, 30*time.Second)
	for i, round := range rounds(recs) {
		msgs := make([]kafkago.Message, len(round))
		for j, r := range round {
			m := kafkago.Message{Key: r.key, Value: r.value, Time: time.UnixMilli(r.ts)}
			for _, h := range r.headers {
				m.Headers = append(m.Headers, kafkago.Header{Key: h.key, Value: h.value})
			}
			msgs[j] = m
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			t.Fatalf("produce round %d: %v", i, err)
		}
		if acks == 0 {
			waitEndOffsets(t, e, topic, int64((i+1)*perRound))
		}
	}
}

// waitKafkaGoEndOffsets waits, through Conn's ListOffsets, until every
// partition's end offset reaches n, then requires exactly n.
func waitKafkaGoEndOffsets(t *testing.T, addr, topic string, n int64) {
	t.Helper()
	for p := 0; p < numPartitions; p++ {
		conn, err := kafkago.DialLeader(ctxFor(t, 10*time.Second), "tcp", addr, topic, p)
		if err != nil {
			t.Fatal(err)
		}
		var last int64
		waitFor(t, 20*time.Second, "kafka-go end offsets", func() bool {
			if last, err = conn.ReadLastOffset(); err != nil {
				t.Fatalf("read last offset: %v", err)
			}
			return last >= n
		})
		first, err := conn.ReadFirstOffset()
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if first != 0 || last != n {
			t.Fatalf("partition %d: offsets [%d, %d), want [0, %d)", p, first, last, n)
		}
	}
}

// kafkaGoConsume reads n records from each partition of topic, starting at
// from (an offset or kafkago.FirstOffset), with a Reader per partition.
func kafkaGoConsume(t *testing.T, addr, topic string, from int64, n int) []rec {
	t.Helper()
	ctx := ctxFor(t, 30*time.Second)
	var out []rec
	for p := 0; p < numPartitions; p++ {
		r := kafkago.NewReader(kafkago.ReaderConfig{
			Brokers:   []string{addr},
			Topic:     topic,
			Partition: p,
			MaxWait:   100 * time.Millisecond,
		})
		if err := r.SetOffset(from); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("read %s/%d after %d records: %v", topic, p, i, err)
			}
			out = append(out, fromKafkaGo(m))
		}
		if err := r.Close(); err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("close reader: %v", err)
		}
	}
	return out
}

func fromKafkaGo(m kafkago.Message) rec {
	r := rec{partition: int32(m.Partition), offset: m.Offset, key: m.Key, value: m.Value, ts: m.Time.UnixMilli()}
	for _, h := range m.Headers {
		r.headers = append(r.headers, header{key: h.Key, value: h.Value})
	}
	return r
}
