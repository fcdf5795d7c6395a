package e2e_test

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestListOffsetsByTime produces records with explicit timestamps and
// looks offsets up by time, as Kafka defines it: a timestamp finds the
// earliest offset whose record timestamp is at or after it (with that
// record's timestamp), a timestamp after every record finds nothing
// (offset -1, timestamp -1), earliest (-2) and latest (-1) are the log
// start and end, and max-timestamp (-3, KIP-734) is the first record
// carrying the partition's largest timestamp.
//
// Partition 0's timestamps increase (base, base+10, ... base+90).
// Partition 1's do not: base, base+1, base+50, base+2, base+3, then
// base+4, base+5, so its largest timestamp sits at offset 2 and every
// lookup between base+2 and base+50 lands there too.
func TestListOffsetsByTime(t *testing.T) {
	e := newEnv(t)
	const topic = "times"
	e.createTopic(t, topic, 2, nil)
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond).UnixMilli()

	prod := newKgo(t, e.b.Addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx := ctxFor(t, 30*time.Second)
	produce := func(p int32, tss ...int64) {
		t.Helper()
		var rs []*kgo.Record
		for _, ts := range tss {
			rs = append(rs, &kgo.Record{Partition: p, Value: []byte("v"), Timestamp: time.UnixMilli(ts)})
		}
		if err := prod.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(0, base, base+10, base+20, base+30, base+40)
	produce(0, base+50, base+60, base+70, base+80, base+90)
	produce(1, base, base+1, base+50, base+2, base+3)
	produce(1, base+4, base+5)

	type want struct{ offset, ts int64 }
	cases := []struct {
		name      string
		partition int32
		at        int64 // a timestamp or -1, -2, -3
		want      want
	}{
		{"p0 between two records", 0, base + 25, want{3, base + 30}},
		{"p0 at a record", 0, base + 30, want{3, base + 30}},
		{"p0 one after a record", 0, base + 31, want{4, base + 40}},
		{"p0 before every record", 0, base - 1000, want{0, base}},
		{"p0 at the last record", 0, base + 90, want{9, base + 90}},
		{"p0 after every record", 0, base + 91, want{-1, -1}},
		{"p0 earliest", 0, -2, want{0, -1}},
		{"p0 latest", 0, -1, want{10, -1}},
		{"p0 max timestamp", 0, -3, want{9, base + 90}},
		{"p1 at base+1", 1, base + 1, want{1, base + 1}},
		{"p1 at base+2 finds the max in between", 1, base + 2, want{2, base + 50}},
		{"p1 at base+5 still finds offset 2", 1, base + 5, want{2, base + 50}},
		{"p1 at the max", 1, base + 50, want{2, base + 50}},
		{"p1 after the max", 1, base + 51, want{-1, -1}},
		{"p1 earliest", 1, -2, want{0, -1}},
		{"p1 latest", 1, -1, want{7, -1}},
		{"p1 max timestamp", 1, -3, want{2, base + 50}},
	}

	// The raw request at every version that carries timestamps (v1 up),
	// over a bare connection; max-timestamp exists from v7 (KIP-734).
	t.Run("kmsg", func(t *testing.T) {
		conn := dialRaw(t, e.b.Addr)
		for v := int16(1); v <= kmsg.NewPtrListOffsetsRequest().MaxVersion(); v++ {
			for _, c := range cases {
				if c.at == -3 && v < 7 {
					continue
				}
				req := kmsg.NewPtrListOffsetsRequest()
				rt := kmsg.NewListOffsetsRequestTopic()
				rt.Topic = topic
				rp := kmsg.NewListOffsetsRequestTopicPartition()
				rp.Partition = c.partition
				rp.Timestamp = c.at
				rt.Partitions = append(rt.Partitions, rp)
				req.Topics = append(req.Topics, rt)
				resp := conn.request(t, req, v).(*kmsg.ListOffsetsResponse)
				if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
					t.Fatalf("v%d %s: %d topics in the answer", v, c.name, len(resp.Topics))
				}
				p := resp.Topics[0].Partitions[0]
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					t.Errorf("v%d %s: %v", v, c.name, err)
					continue
				}
				if got := (want{p.Offset, p.Timestamp}); got != c.want {
					t.Errorf("v%d %s: offset %d timestamp %d, want offset %d timestamp %d", v, c.name, got.offset, got.ts, c.want.offset, c.want.ts)
				}
			}
		}
	})

	// kadm's helpers: by time (which turns "none after" into the end
	// offset), start, end and max-timestamp.
	t.Run("kadm", func(t *testing.T) {
		end := map[int32]int64{0: 10, 1: 7}
		for _, c := range cases {
			var listed kadm.ListedOffsets
			var err error
			w := c.want
			switch c.at {
			case -1:
				listed, err = e.adm.ListEndOffsets(ctx, topic)
			case -2:
				listed, err = e.adm.ListStartOffsets(ctx, topic)
			case -3:
				listed, err = e.adm.ListMaxTimestampOffsets(ctx, topic)
			default:
				listed, err = e.adm.ListOffsetsAfterMilli(ctx, c.at, topic)
				if w.offset == -1 {
					w.offset = end[c.partition]
				}
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			o, ok := listed.Lookup(topic, c.partition)
			if !ok || o.Err != nil {
				t.Fatalf("%s: %v (found %v)", c.name, o.Err, ok)
			}
			if o.Offset != w.offset || (c.at >= 0 && w.ts != -1 && o.Timestamp != w.ts) || (c.at == -3 && o.Timestamp != w.ts) {
				t.Errorf("%s: offset %d timestamp %d, want offset %d timestamp %d", c.name, o.Offset, o.Timestamp, w.offset, w.ts)
			}
		}
	})

	// Sarama's Client.GetOffset takes a time in milliseconds or
	// OffsetNewest/OffsetOldest and returns the broker's offset as is.
	t.Run("sarama", func(t *testing.T) {
		cl := newSaramaClient(t, e.b.Addr)
		for _, c := range cases {
			if c.at == -3 {
				continue // sarama has no max-timestamp listing
			}
			at := c.at
			switch at {
			case -1:
				at = sarama.OffsetNewest
			case -2:
				at = sarama.OffsetOldest
			}
			got, err := cl.GetOffset(topic, c.partition, at)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if got != c.want.offset {
				t.Errorf("%s: offset %d, want %d", c.name, got, c.want.offset)
			}
		}
	})

	// kafka-go: Client.ListOffsets by time, first and last (ListOffsets
	// v1-v5); Conn.ReadOffset (v1).
	t.Run("kafka-go", func(t *testing.T) {
		cl := newKafkaGoClient(t, e.b.Addr)
		for _, c := range cases {
			if c.at == -3 {
				continue // kafka-go has no max-timestamp listing
			}
			var req kafkago.OffsetRequest
			switch c.at {
			case -1:
				req = kafkago.LastOffsetOf(int(c.partition))
			case -2:
				req = kafkago.FirstOffsetOf(int(c.partition))
			default:
				req = kafkago.TimeOffsetOf(int(c.partition), time.UnixMilli(c.at))
			}
			resp, err := cl.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: {req}}})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			po := resp.Topics[topic]
			if len(po) != 1 || po[0].Error != nil {
				t.Fatalf("%s: %+v", c.name, po)
			}
			got := int64(-1)
			switch c.at {
			case -1:
				got = po[0].LastOffset
			case -2:
				got = po[0].FirstOffset
			default:
				// kafka-go keys the answer by offset and replaces the
				// broker's timestamp with the requested one, so only the
				// offset is the broker's.
				for off := range po[0].Offsets {
					got = off
				}
			}
			if got != c.want.offset {
				t.Errorf("%s: offset %d, want %d", c.name, got, c.want.offset)
			}
		}
		conn, err := kafkago.DialLeader(ctx, "tcp", e.b.Addr, topic, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if got, err := conn.ReadOffset(time.UnixMilli(base + 25)); err != nil || got != 3 {
			t.Errorf("Conn.ReadOffset(base+25) = %d, %v; want 3", got, err)
		}
	})
}
