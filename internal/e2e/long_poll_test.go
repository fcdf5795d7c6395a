package e2e_test

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fetchWritten is a kgo hook that reports each Fetch request written to
// the socket, so a test knows its long poll has left the client.
type fetchWritten chan struct{}

func (c fetchWritten) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key == kmsg.Fetch.Int16() && err == nil {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// The bound for "answered well before MaxWait": generous, since only the
// order of events is the point and machines are noisy.
const promptly = 15 * time.Second

// decodeValues returns the values of the records in raw (uncompressed
// v2 batches).
func decodeValues(t *testing.T, raw []byte) []string {
	t.Helper()
	var out []string
	for len(raw) > 0 {
		var b kmsg.RecordBatch
		if err := b.ReadFrom(raw); err != nil {
			t.Fatalf("decode batch: %v", err)
		}
		raw = raw[12+b.Length:]
		recs := b.Records
		for i := int32(0); i < b.NumRecords; i++ {
			var r kmsg.Record
			if err := r.ReadFrom(recs); err != nil {
				t.Fatalf("decode record: %v", err)
			}
			out = append(out, string(r.Value))
			recs = recs[r.Length+int32(varintLen(int64(r.Length))):]
		}
	}
	return out
}

func varintLen(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

// TestFetchLongPoll checks the fetch purgatory from the outside: a fetch
// for one byte with a 30 s MaxWait is still unanswered while there is no
// data, and answers with the record soon after another client produces it;
// a fetch with a 200 ms MaxWait on a partition with nothing new answers
// empty; one whose MinBytes is never reached answers at MaxWait with what
// there is. Each client's consumer, configured to wait 30 s, also gets a
// record produced while it waits, long before that.
func TestFetchLongPoll(t *testing.T) {
	e := newEnv(t)
	const topic = "longpoll"
	e.createTopic(t, topic, 1, nil)
	id := e.topicID(t, topic)
	prod := newKgo(t, e.b.Addr, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression()))
	produce := func(t *testing.T, topic, value string) {
		t.Helper()
		if err := prod.ProduceSync(ctxFor(t, 10*time.Second), &kgo.Record{Topic: topic, Value: []byte(value)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("answers when data arrives", func(t *testing.T) {
		written := make(fetchWritten, 1)
		fetcher := newKgo(t, e.b.Addr, kgo.WithHooks(written))
		type result struct {
			p   kmsg.FetchResponseTopicPartition
			err error
		}
		done := make(chan result, 1)
		start := time.Now()
		go func() {
			resp, err := fetchReq(topic, id, 0, 0, 30000, 1).RequestWith(context.Background(), fetcher)
			var r result
			r.err = err
			if err == nil {
				if r.err = kerr.ErrorForCode(resp.ErrorCode); r.err == nil && len(resp.Topics) == 1 && len(resp.Topics[0].Partitions) == 1 {
					r.p = resp.Topics[0].Partitions[0]
				}
			}
			done <- r
		}()
		select {
		case <-written:
		case <-time.After(10 * time.Second):
			t.Fatal("the fetch was never written")
		}
		// Parked: with no data and MinBytes 1 there is nothing to answer.
		select {
		case r := <-done:
			t.Fatalf("the fetch answered after %v with no data to give (%d bytes, err %v)", time.Since(start), len(r.p.RecordBatches), r.err)
		case <-time.After(300 * time.Millisecond):
		}
		produce(t, topic, "wake up")
		var r result
		select {
		case r = <-done:
		case <-time.After(35 * time.Second):
			t.Fatal("the fetch never answered")
		}
		elapsed := time.Since(start)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if err := kerr.ErrorForCode(r.p.ErrorCode); err != nil {
			t.Fatal(err)
		}
		if vals := decodeValues(t, r.p.RecordBatches); len(vals) != 1 || vals[0] != "wake up" || r.p.HighWatermark != 1 {
			t.Fatalf("the fetch answered %q with high watermark %d, want the produced record and 1", vals, r.p.HighWatermark)
		}
		if elapsed >= promptly {
			t.Fatalf("the fetch answered %v after it was sent, want well within its 30 s MaxWait", elapsed)
		}
	})

	t.Run("expires empty", func(t *testing.T) {
		start := time.Now()
		p := fetchPartition(t, ctxFor(t, 20*time.Second), e.cl, fetchReq(topic, id, 0, 1, 200, 1))
		elapsed := time.Since(start)
		if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
			t.Fatal(err)
		}
		if len(p.RecordBatches) != 0 || p.HighWatermark != 1 {
			t.Fatalf("expired fetch: %d bytes, high watermark %d; want none and 1", len(p.RecordBatches), p.HighWatermark)
		}
		// It waited (not asserting how precisely: only that it did not
		// answer at once, which would make consumers spin).
		if elapsed < 100*time.Millisecond || elapsed >= promptly {
			t.Fatalf("a fetch with MaxWait 200ms answered after %v", elapsed)
		}
	})

	t.Run("min bytes not reached", func(t *testing.T) {
		start := time.Now()
		p := fetchPartition(t, ctxFor(t, 20*time.Second), e.cl, fetchReq(topic, id, 0, 0, 300, 1<<20))
		elapsed := time.Since(start)
		if vals := decodeValues(t, p.RecordBatches); len(vals) != 1 || vals[0] != "wake up" {
			t.Fatalf("fetch with unreachable MinBytes answered %q, want the one record", vals)
		}
		if elapsed < 150*time.Millisecond || elapsed >= promptly {
			t.Fatalf("a fetch with MaxWait 300ms and MinBytes 1 MiB answered after %v", elapsed)
		}
	})

	// Each client's consumer waits 30 s per fetch; a record produced
	// while it waits reaches it promptly. Each gets its own topic.
	//
	// Closing a sarama or kafka-go consumer waits for its fetch in flight,
	// which the broker rightly holds for up to 30 s; records produced
	// while the consumer closes end those fetches early.
	t.Run("clients", func(t *testing.T) {
		waitAndProduce := func(t *testing.T, topic string, open func() (next func(context.Context) (string, error), close func())) {
			next, closeConsumer := open()
			got := make(chan string, 1)
			errc := make(chan error, 1)
			ctx := ctxFor(t, 35*time.Second)
			start := time.Now()
			go func() {
				v, err := next(ctx)
				if err != nil {
					errc <- err
					return
				}
				got <- v
			}()
			time.Sleep(300 * time.Millisecond) // let the consumer start its long poll
			produce(t, topic, "hello "+topic)
			select {
			case v := <-got:
				if v != "hello "+topic {
					t.Errorf("consumed %q", v)
				}
			case err := <-errc:
				t.Error(err)
			case <-ctx.Done():
				t.Error("nothing consumed")
			}
			if elapsed := time.Since(start); elapsed >= promptly {
				t.Errorf("consumed after %v, want well within the 30 s wait", elapsed)
			}
			stop, stopped := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(stopped)
				for {
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
						r := &kgo.Record{Topic: topic, Value: []byte("closing")}
						if err := prod.ProduceSync(context.Background(), r).FirstErr(); err != nil {
							t.Errorf("produce while closing: %v", err)
							return
						}
					}
				}
			}()
			closeConsumer()
			close(stop)
			<-stopped
		}
		t.Run("franz-go", func(t *testing.T) {
			t.Parallel()
			const topic = "longpoll-franz"
			e.createTopic(t, topic, 1, nil)
			waitAndProduce(t, topic, func() (func(context.Context) (string, error), func()) {
				cl, err := kgo.NewClient(kgo.SeedBrokers(e.b.Addr),
					kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(0)}}),
					kgo.FetchMaxWait(30*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				return func(ctx context.Context) (string, error) {
					for {
						fs := cl.PollFetches(ctx)
						if err := fs.Err(); err != nil {
							return "", err
						}
						if recs := fs.Records(); len(recs) > 0 {
							return string(recs[0].Value), nil
						}
					}
				}, cl.Close
			})
		})
		t.Run("sarama", func(t *testing.T) {
			t.Parallel()
			const topic = "longpoll-sarama"
			e.createTopic(t, topic, 1, nil)
			waitAndProduce(t, topic, func() (func(context.Context) (string, error), func()) {
				cfg := saramaConfig()
				cfg.Consumer.MaxWaitTime = 30 * time.Second
				cfg.Net.ReadTimeout = 40 * time.Second
				cons, err := sarama.NewConsumer([]string{e.b.Addr}, cfg)
				if err != nil {
					t.Fatal(err)
				}
				pc, err := cons.ConsumePartition(topic, 0, sarama.OffsetOldest)
				if err != nil {
					cons.Close()
					t.Fatal(err)
				}
				return func(ctx context.Context) (string, error) {
						select {
						case m := <-pc.Messages():
							return string(m.Value), nil
						case err := <-pc.Errors():
							return "", err
						case <-ctx.Done():
							return "", ctx.Err()
						}
					}, func() {
						pc.AsyncClose()
						for range pc.Messages() {
						}
						if err := cons.Close(); err != nil {
							t.Errorf("close consumer: %v", err)
						}
					}
			})
		})
		t.Run("kafka-go", func(t *testing.T) {
			t.Parallel()
			const topic = "longpoll-kafkago"
			e.createTopic(t, topic, 1, nil)
			waitAndProduce(t, topic, func() (func(context.Context) (string, error), func()) {
				r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{e.b.Addr}, Topic: topic, MaxWait: 30 * time.Second})
				return func(ctx context.Context) (string, error) {
					m, err := r.ReadMessage(ctx)
					return string(m.Value), err
				}, func() { _ = r.Close() }
			})
		})
	})
}
