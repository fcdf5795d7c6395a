package e2e_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// checkAutoCreated requires topic to exist with num.partitions (3)
// partitions of one replica each and no config overrides.
func (e *env) checkAutoCreated(t *testing.T, topic string) {
	t.Helper()
	td, err := e.adm.ListTopics(ctxFor(t, 10*time.Second), topic)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := td[topic]
	if !ok || d.Err != nil {
		t.Fatalf("%s was not created: %v", topic, d.Err)
	}
	if len(d.Partitions) != 3 || d.Partitions.NumReplicas() != 1 {
		t.Fatalf("%s has %d partitions of %d replicas, want num.partitions=3 of 1", topic, len(d.Partitions), d.Partitions.NumReplicas())
	}
	for name, c := range e.describeTopic(t, topic) {
		if c.Source == kmsg.ConfigSourceDynamicTopicConfig {
			t.Errorf("%s: auto-created topic has an override %s", topic, name)
		}
	}
}

// metadataFor sends a raw Metadata v12 for topic with the given
// auto-creation flag and returns the topic's error.
func metadataFor(t *testing.T, addr, topic string, allowAutoCreate bool) error {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	req.AllowAutoTopicCreation = allowAutoCreate
	resp := dialRaw(t, addr).request(t, req, 12).(*kmsg.MetadataResponse)
	if len(resp.Topics) != 1 {
		t.Fatalf("metadata for %s: %d topics", topic, len(resp.Topics))
	}
	return kerr.ErrorForCode(resp.Topics[0].ErrorCode)
}

// TestAutoCreate produces to topics that do not exist: each client asks
// Metadata to create them, and the broker does, with num.partitions
// partitions; the records are there. Metadata that does not ask for
// creation, or a broker with auto.create.topics.enable=false, creates
// nothing and answers UNKNOWN_TOPIC_OR_PARTITION.
func TestAutoCreate(t *testing.T) {
	e := newEnv(t, "num.partitions=3")
	ctx := ctxFor(t, 30*time.Second)

	t.Run("franz-go", func(t *testing.T) {
		const topic = "auto-franz"
		prod := newKgo(t, e.b.Addr, kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic(topic))
		var recs []*kgo.Record
		for i := range 30 {
			recs = append(recs, &kgo.Record{Value: fmt.Appendf(nil, "auto %d", i)})
		}
		if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce to a new topic: %v", err)
		}
		e.checkAutoCreated(t, topic)
		total := int64(0)
		for _, o := range e.endOffsets(t, topic) {
			total += o
		}
		if total != 30 {
			t.Fatalf("%d records in %s, want 30", total, topic)
		}
		cons := newKgo(t, e.b.Addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchMaxWait(100*time.Millisecond))
		seen := map[string]bool{}
		for _, r := range franzPoll(t, cons, 30) {
			seen[string(r.value)] = true
		}
		if len(seen) != 30 {
			t.Fatalf("consumed %d distinct records, want 30", len(seen))
		}
	})

	t.Run("sarama", func(t *testing.T) {
		const topic = "auto-sarama"
		cfg := saramaConfig()
		cfg.Producer.Return.Successes = true
		prod, err := sarama.NewSyncProducer([]string{e.b.Addr}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer prod.Close()
		if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder("auto")}); err != nil {
			t.Fatalf("produce to a new topic: %v", err)
		}
		e.checkAutoCreated(t, topic)
	})

	t.Run("kafka-go", func(t *testing.T) {
		const topic = "auto-kafkago"
		tr := &kafkago.Transport{}
		defer tr.CloseIdleConnections()
		w := &kafkago.Writer{Addr: kafkago.TCP(e.b.Addr), Topic: topic, AllowAutoTopicCreation: true,
			RequiredAcks: kafkago.RequireAll, BatchTimeout: 10 * time.Millisecond, Transport: tr}
		defer w.Close()
		if err := w.WriteMessages(ctx, kafkago.Message{Value: []byte("auto")}); err != nil {
			t.Fatalf("produce to a new topic: %v", err)
		}
		e.checkAutoCreated(t, topic)
	})

	t.Run("not asked", func(t *testing.T) {
		if err := metadataFor(t, e.b.Addr, "not-asked", false); !errors.Is(err, kerr.UnknownTopicOrPartition) {
			t.Fatalf("metadata without auto-creation: %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
		}
		if td, _ := e.adm.ListTopics(ctx); td.Has("not-asked") {
			t.Fatal("metadata without auto-creation created the topic")
		}
	})

	t.Run("disabled", func(t *testing.T) {
		off := newEnv(t, "auto.create.topics.enable=false")
		if err := metadataFor(t, off.b.Addr, "disabled", true); !errors.Is(err, kerr.UnknownTopicOrPartition) {
			t.Fatalf("metadata with auto.create.topics.enable=false: %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
		}
		prod := newKgo(t, off.b.Addr, kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("disabled"),
			kgo.RecordDeliveryTimeout(time.Second))
		if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err == nil {
			t.Fatal("produced to a topic that cannot exist")
		}
		if td, _ := off.adm.ListTopics(ctx); td.Has("disabled") {
			t.Fatal("auto.create.topics.enable=false created the topic")
		}
	})
}
