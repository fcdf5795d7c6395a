package e2e_test

import (
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// partRecs returns the records of partition p from index from on.
func partRecs(all []rec, p int32, from int) []rec {
	var out []rec
	for _, r := range all {
		if r.partition == p {
			out = append(out, r)
		}
	}
	return out[from:]
}

// TestDeleteRecords moves log start offsets with DeleteRecords (kadm for
// partitions 0 and 2, sarama's ClusterAdmin for partition 1) and checks
// what every client then sees: the new start through ListOffsets, reading
// from the beginning starting there, a fetch below it answered with
// OFFSET_OUT_OF_RANGE, and each client's reaction to that as its policy
// says (franz-go resets to start or end or reports the error, sarama
// refuses to start, kafka-go skips forward).
func TestDeleteRecords(t *testing.T) {
	e := newEnv(t)
	const topic = "deleted"
	e.createTopic(t, topic, numPartitions, nil)
	all := dataset(time.Now().Add(-time.Hour))
	franzProduce(t, e.b.Addr, topic, all, 0, -1)
	ctx := ctxFor(t, 30*time.Second)

	// kadm: partition 0 to offset 7, partition 2 to the high watermark
	// (-1), and an offset past the high watermark, which Kafka refuses
	// with OFFSET_OUT_OF_RANGE and changes nothing.
	del := kadm.Offsets{}
	del.Add(kadm.Offset{Topic: topic, Partition: 0, At: 7})
	del.Add(kadm.Offset{Topic: topic, Partition: 2, At: -1})
	resp, err := e.adm.DeleteRecords(ctx, del)
	if err != nil {
		t.Fatal(err)
	}
	for p, lw := range map[int32]int64{0: 7, 2: perPartition} {
		r, ok := resp.Lookup(topic, p)
		if !ok || r.Err != nil || r.LowWatermark != lw {
			t.Fatalf("DeleteRecords p%d: %+v (found %v), want low watermark %d", p, r, ok, lw)
		}
	}
	beyond := kadm.Offsets{}
	beyond.Add(kadm.Offset{Topic: topic, Partition: 1, At: perPartition + 1})
	resp, err = e.adm.DeleteRecords(ctx, beyond)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := resp.Lookup(topic, 1); !errors.Is(r.Err, kerr.OffsetOutOfRange) {
		t.Fatalf("DeleteRecords past the high watermark: %v, want OFFSET_OUT_OF_RANGE", r.Err)
	}

	// sarama: partition 1 to offset 12.
	adm := newSaramaAdmin(t, e.b.Addr)
	if err := adm.DeleteRecords(topic, map[int32]int64{1: 12}); err != nil {
		t.Fatalf("sarama DeleteRecords: %v", err)
	}

	start := map[int32]int64{0: 7, 1: 12, 2: perPartition}

	t.Run("list offsets", func(t *testing.T) {
		listed, err := e.adm.ListStartOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		for p, want := range start {
			if o, _ := listed.Lookup(topic, p); o.Err != nil || o.Offset != want {
				t.Errorf("kadm start offset p%d: %d (%v), want %d", p, o.Offset, o.Err, want)
			}
		}
		for p, o := range e.endOffsets(t, topic) {
			if o != perPartition {
				t.Errorf("end offset p%d moved to %d", p, o)
			}
		}
		scl := newSaramaClient(t, e.b.Addr)
		for p, want := range start {
			if got, err := scl.GetOffset(topic, p, sarama.OffsetOldest); err != nil || got != want {
				t.Errorf("sarama oldest offset p%d: %d (%v), want %d", p, got, err, want)
			}
		}
		for p, want := range start {
			conn, err := kafkago.DialLeader(ctx, "tcp", e.b.Addr, topic, int(p))
			if err != nil {
				t.Fatal(err)
			}
			first, err := conn.ReadFirstOffset()
			conn.Close()
			if err != nil || first != want {
				t.Errorf("kafka-go first offset p%d: %d (%v), want %d", p, first, err, want)
			}
		}
	})

	// A raw Fetch below the start: OFFSET_OUT_OF_RANGE and no records.
	// Kafka answers an out-of-range partition with high watermark and log
	// start offset -1 (ReplicaManager's error read result); so does Samsa.
	t.Run("fetch below start", func(t *testing.T) {
		id := e.topicID(t, topic)
		for p, s := range start {
			fp := fetchPartition(t, ctx, e.cl, fetchReq(topic, id, p, s-1, 0, 0))
			if err := kerr.ErrorForCode(fp.ErrorCode); !errors.Is(err, kerr.OffsetOutOfRange) {
				t.Errorf("fetch p%d at %d: %v, want OFFSET_OUT_OF_RANGE", p, s-1, err)
			}
			if fp.LogStartOffset != -1 || fp.HighWatermark != -1 || len(fp.RecordBatches) != 0 {
				t.Errorf("fetch p%d at %d: log start %d, high watermark %d, %d bytes; want -1, -1, none",
					p, s-1, fp.LogStartOffset, fp.HighWatermark, len(fp.RecordBatches))
			}
		}
	})

	// Reading from the beginning starts at the new log start.
	t.Run("consume from start", func(t *testing.T) {
		var want []rec
		for p := int32(0); p < 2; p++ {
			want = append(want, partRecs(all, p, int(start[p]))...)
		}
		franz := newKgo(t, e.b.Addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {
			0: kgo.NewOffset().AtStart(), 1: kgo.NewOffset().AtStart(),
		}}), kgo.FetchMaxWait(100*time.Millisecond))
		got := franzPoll(t, franz, len(want))
		for p := int32(0); p < 2; p++ {
			checkRecords(t, partRecs(all, p, int(start[p])), filterPart(got, p), start[p], true)
		}

		for p := int32(0); p < 2; p++ {
			checkRecords(t, partRecs(all, p, int(start[p])),
				saramaConsumeOne(t, e.b.Addr, topic, p, sarama.OffsetOldest, perPartition-int(start[p])), start[p], true)
			checkRecords(t, partRecs(all, p, int(start[p])),
				kafkaGoConsumeOne(t, e.b.Addr, topic, int(p), kafkago.FirstOffset, perPartition-int(start[p])), start[p], kafkaGoNulls)
		}
	})

	// franz-go asked for offset 2 of partition 0, which is gone: it
	// resets to the start with AtStart, to the end with AtEnd (and reads
	// what is produced next), and reports the error with NoResetOffset.
	t.Run("franz-go out of range", func(t *testing.T) {
		at2 := kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(2)}})
		atStart := newKgo(t, e.b.Addr, at2, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
		got := franzPoll(t, atStart, perPartition-7)
		checkRecords(t, partRecs(all, 0, 7), got, 7, true)

		none := newKgo(t, e.b.Addr, at2, kgo.ConsumeResetOffset(kgo.NoResetOffset()), kgo.FetchMaxWait(100*time.Millisecond))
		pctx := ctxFor(t, 20*time.Second)
		for {
			fs := none.PollFetches(pctx)
			if pctx.Err() != nil {
				t.Fatal("NoResetOffset: no OFFSET_OUT_OF_RANGE reported")
			}
			if n := fs.NumRecords(); n != 0 {
				t.Fatalf("NoResetOffset: consumed %d records below the log start", n)
			}
			if err := fs.Err(); err != nil {
				if !errors.Is(err, kerr.OffsetOutOfRange) {
					t.Fatalf("NoResetOffset: %v, want OFFSET_OUT_OF_RANGE", err)
				}
				break
			}
		}

		atEnd := newKgo(t, e.b.Addr, at2, kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), kgo.FetchMaxWait(100*time.Millisecond))
		// The consumer resets to the end (24) asynchronously; keep
		// producing to partition 0 until it reads something, which must
		// be one of the new records, never an old one.
		prod := newKgo(t, e.b.Addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		pctx = ctxFor(t, 20*time.Second)
		for {
			if err := prod.ProduceSync(pctx, &kgo.Record{Partition: 0, Value: []byte("after reset")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			fctx := ctxFor(t, 300*time.Millisecond)
			fs := atEnd.PollFetches(fctx)
			fs.EachError(func(_ string, _ int32, err error) {
				if fctx.Err() == nil {
					t.Fatalf("AtEnd: %v", err)
				}
			})
			if recs := fs.Records(); len(recs) > 0 {
				if recs[0].Offset < perPartition || string(recs[0].Value) != "after reset" {
					t.Fatalf("AtEnd: first record at offset %d (%q), want one produced after the reset", recs[0].Offset, recs[0].Value)
				}
				break
			}
			if pctx.Err() != nil {
				t.Fatal("AtEnd: nothing consumed")
			}
		}
	})

	// sarama checks the offset against the log bounds before fetching
	// and refuses one below the start.
	t.Run("sarama out of range", func(t *testing.T) {
		cons, err := sarama.NewConsumer([]string{e.b.Addr}, saramaConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer cons.Close()
		pc, err := cons.ConsumePartition(topic, 1, 5)
		if !errors.Is(err, sarama.ErrOffsetOutOfRange) {
			if pc != nil {
				pc.Close()
			}
			t.Fatalf("ConsumePartition below the start: %v, want ErrOffsetOutOfRange", err)
		}
	})

	// kafka-go's Reader looks up the log bounds when it starts and moves
	// an offset below the start up to it.
	t.Run("kafka-go out of range", func(t *testing.T) {
		checkRecords(t, partRecs(all, 1, 12), kafkaGoConsumeOne(t, e.b.Addr, topic, 1, 5, perPartition-12), 12, kafkaGoNulls)
	})
}

func filterPart(rs []rec, p int32) []rec {
	var out []rec
	for _, r := range rs {
		if r.partition == p {
			out = append(out, r)
		}
	}
	return out
}

// saramaConsumeOne reads n records of one partition from offset from.
func saramaConsumeOne(t *testing.T, addr, topic string, p int32, from int64, n int) []rec {
	t.Helper()
	cons, err := sarama.NewConsumer([]string{addr}, saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	pc, err := cons.ConsumePartition(topic, p, from)
	if err != nil {
		t.Fatalf("consume %s/%d from %d: %v", topic, p, from, err)
	}
	defer pc.Close()
	timeout := time.After(20 * time.Second)
	var out []rec
	for len(out) < n {
		select {
		case m := <-pc.Messages():
			out = append(out, fromSarama(m))
		case err := <-pc.Errors():
			t.Fatalf("consume %s/%d: %v", topic, p, err)
		case <-timeout:
			t.Fatalf("consume %s/%d: timed out with %d of %d records", topic, p, len(out), n)
		}
	}
	return out
}

// kafkaGoConsumeOne reads n records of one partition from offset from
// with a Reader.
func kafkaGoConsumeOne(t *testing.T, addr, topic string, p int, from int64, n int) []rec {
	t.Helper()
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers: []string{addr}, Topic: topic, Partition: p,
		MaxWait: 100 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(from); err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 20*time.Second)
	var out []rec
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read %s/%d after %d records: %v", topic, p, len(out), err)
		}
		out = append(out, fromKafkaGo(m))
	}
	return out
}
