package e2e_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// cfgWant is a config's expected value and source.
type cfgWant struct {
	value  string
	source kmsg.ConfigSource
}

// describeTopic returns topic's configs through kadm (DescribeConfigs
// with synonyms), by name.
func (e *env) describeTopic(t *testing.T, topic string) map[string]kadm.Config {
	t.Helper()
	rcs, err := e.adm.DescribeTopicConfigs(ctxFor(t, 10*time.Second), topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		t.Fatalf("describe %s: %v", topic, err)
	}
	return configsByName(rc.Configs)
}

func configsByName(cs []kadm.Config) map[string]kadm.Config {
	out := make(map[string]kadm.Config, len(cs))
	for _, c := range cs {
		out[c.Key] = c
	}
	return out
}

// checkConfigs requires each named config to have the wanted value and
// source.
func checkConfigs(t *testing.T, what string, got map[string]kadm.Config, want map[string]cfgWant) {
	t.Helper()
	for name, w := range want {
		c, ok := got[name]
		if !ok {
			t.Errorf("%s: %s not described", what, name)
			continue
		}
		if c.Value == nil || *c.Value != w.value || c.Source != w.source {
			v := "<null>"
			if c.Value != nil {
				v = *c.Value
			}
			t.Errorf("%s: %s = %q (%v), want %q (%v)", what, name, v, c.Source, w.value, w.source)
		}
	}
}

func strp(s string) *string { return &s }

// alterErr returns the error kadm reports for resource name.
func alterErr(resp kadm.AlterConfigsResponses, name string) error {
	r, err := resp.On(name, nil)
	if err != nil {
		return err
	}
	return r.Err
}

// TestConfigRoundTrips creates a topic with configs and changes them with
// every alter API, reading them back after each step through kadm, sarama
// and kafka-go, with Kafka's names, defaults and sources: a topic override
// is DYNAMIC_TOPIC_CONFIG, a value the broker was started with is
// STATIC_BROKER_CONFIG (also for the topic config it stands in for), and
// everything else DEFAULT_CONFIG. It also checks that a topic config
// takes effect (max.message.bytes refuses a larger batch until raised).
func TestConfigRoundTrips(t *testing.T) {
	e := newEnv(t, "num.partitions=3", "log.segment.bytes=2097152", "log.retention.hours=100")
	ctx := ctxFor(t, 30*time.Second)
	const topic = "configured"
	e.createTopic(t, topic, 1, map[string]*string{
		"retention.ms":      strp("3600000"),
		"cleanup.policy":    strp("compact"),
		"max.message.bytes": strp("2000"),
	})

	t.Run("create", func(t *testing.T) {
		checkConfigs(t, "after create", e.describeTopic(t, topic), map[string]cfgWant{
			"retention.ms":      {"3600000", kmsg.ConfigSourceDynamicTopicConfig},
			"cleanup.policy":    {"compact", kmsg.ConfigSourceDynamicTopicConfig},
			"max.message.bytes": {"2000", kmsg.ConfigSourceDynamicTopicConfig},
			"segment.bytes":     {"2097152", kmsg.ConfigSourceStaticBrokerConfig},
			"compression.type":  {"producer", kmsg.ConfigSourceDefaultConfig},
			"segment.ms":        {"604800000", kmsg.ConfigSourceDefaultConfig},
		})
		// A topic with no overrides shows the broker's log.retention.hours
		// as its retention.ms.
		e.createTopic(t, "plain", 1, nil)
		checkConfigs(t, "plain topic", e.describeTopic(t, "plain"), map[string]cfgWant{
			"retention.ms":      {"360000000", kmsg.ConfigSourceStaticBrokerConfig},
			"cleanup.policy":    {"delete", kmsg.ConfigSourceDefaultConfig},
			"max.message.bytes": {"1048588", kmsg.ConfigSourceDefaultConfig},
		})
	})

	t.Run("config takes effect", func(t *testing.T) {
		// Uncompressed: the limit applies to the batch as sent.
		prod := newKgo(t, e.b.Addr, kgo.DefaultProduceTopic(topic), kgo.RecordRetries(0),
			kgo.ProducerBatchCompression(kgo.NoCompression()))
		big := &kgo.Record{Key: []byte("k"), Value: bytes.Repeat([]byte("x"), 5000)}
		if err := prod.ProduceSync(ctx, big).FirstErr(); !errors.Is(err, kerr.MessageTooLarge) {
			t.Fatalf("5000-byte record with max.message.bytes=2000: %v, want MESSAGE_TOO_LARGE", err)
		}
		resp, err := e.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.message.bytes", Value: strp("100000")}}, topic)
		if err == nil {
			err = alterErr(resp, topic)
		}
		if err != nil {
			t.Fatal(err)
		}
		big = &kgo.Record{Key: []byte("k"), Value: bytes.Repeat([]byte("x"), 5000)}
		if err := prod.ProduceSync(ctx, big).FirstErr(); err != nil {
			t.Fatalf("5000-byte record with max.message.bytes=100000: %v", err)
		}
	})

	// IncrementalAlterConfigs through kadm: SET, DELETE (back to the
	// default) and APPEND to a list.
	t.Run("incremental", func(t *testing.T) {
		resp, err := e.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
			{Op: kadm.SetConfig, Name: "retention.ms", Value: strp("7200000")},
			{Op: kadm.DeleteConfig, Name: "max.message.bytes"},
			{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: strp("delete")},
		}, topic)
		if err == nil {
			err = alterErr(resp, topic)
		}
		if err != nil {
			t.Fatal(err)
		}
		checkConfigs(t, "after incremental alter", e.describeTopic(t, topic), map[string]cfgWant{
			"retention.ms":      {"7200000", kmsg.ConfigSourceDynamicTopicConfig},
			"max.message.bytes": {"1048588", kmsg.ConfigSourceDefaultConfig},
			"cleanup.policy":    {"compact,delete", kmsg.ConfigSourceDynamicTopicConfig},
		})
		// Invalid values and unknown names are refused with
		// INVALID_CONFIG, and nothing changes.
		for _, bad := range []kadm.AlterConfig{
			{Op: kadm.SetConfig, Name: "retention.ms", Value: strp("soon")},
			{Op: kadm.SetConfig, Name: "no.such.config", Value: strp("1")},
		} {
			resp, err := e.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{bad}, topic)
			if err == nil {
				err = alterErr(resp, topic)
			}
			if !errors.Is(err, kerr.InvalidConfig) {
				t.Errorf("set %s=%s: %v, want INVALID_CONFIG", bad.Name, *bad.Value, err)
			}
		}
		checkConfigs(t, "after refused alters", e.describeTopic(t, topic), map[string]cfgWant{
			"retention.ms": {"7200000", kmsg.ConfigSourceDynamicTopicConfig},
		})
	})

	// Sarama: DescribeConfig, the legacy AlterConfigs (which replaces the
	// whole set of overrides: what it does not name goes back to its
	// default), then IncrementalAlterConfig.
	t.Run("sarama", func(t *testing.T) {
		adm := newSaramaAdmin(t, e.b.Addr)
		res := sarama.ConfigResource{Type: sarama.TopicResource, Name: topic}
		describe := func() map[string]sarama.ConfigEntry {
			t.Helper()
			entries, err := adm.DescribeConfig(res)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]sarama.ConfigEntry{}
			for _, e := range entries {
				out[e.Name] = e
			}
			return out
		}
		check := func(what string, want map[string]cfgWant) {
			t.Helper()
			got := describe()
			for name, w := range want {
				if c, ok := got[name]; !ok || c.Value != w.value || int8(c.Source) != int8(w.source) {
					t.Errorf("%s: %s = %q (source %d, found %v), want %q (%v)", what, name, c.Value, c.Source, ok, w.value, w.source)
				}
			}
		}
		check("sarama describe", map[string]cfgWant{
			"retention.ms":   {"7200000", kmsg.ConfigSourceDynamicTopicConfig},
			"cleanup.policy": {"compact,delete", kmsg.ConfigSourceDynamicTopicConfig},
			"segment.bytes":  {"2097152", kmsg.ConfigSourceStaticBrokerConfig},
		})
		if err := adm.AlterConfig(sarama.TopicResource, topic, map[string]*string{
			"retention.ms": strp("1000000"),
			"segment.ms":   strp("3600000"),
		}, false); err != nil {
			t.Fatalf("AlterConfig: %v", err)
		}
		check("after legacy alter", map[string]cfgWant{
			"retention.ms":   {"1000000", kmsg.ConfigSourceDynamicTopicConfig},
			"segment.ms":     {"3600000", kmsg.ConfigSourceDynamicTopicConfig},
			"cleanup.policy": {"delete", kmsg.ConfigSourceDefaultConfig},
		})
		if err := adm.IncrementalAlterConfig(sarama.TopicResource, topic, map[string]sarama.IncrementalAlterConfigsEntry{
			"retention.ms": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: strp("500000")},
			"segment.ms":   {Operation: sarama.IncrementalAlterConfigsOperationDelete},
		}, false); err != nil {
			t.Fatalf("IncrementalAlterConfig: %v", err)
		}
		check("after sarama incremental alter", map[string]cfgWant{
			"retention.ms": {"500000", kmsg.ConfigSourceDynamicTopicConfig},
			"segment.ms":   {"604800000", kmsg.ConfigSourceDefaultConfig},
		})
		// And kadm agrees with sarama.
		checkConfigs(t, "kadm after sarama", e.describeTopic(t, topic), map[string]cfgWant{
			"retention.ms": {"500000", kmsg.ConfigSourceDynamicTopicConfig},
			"segment.ms":   {"604800000", kmsg.ConfigSourceDefaultConfig},
		})
	})

	// kafka-go: DescribeConfigs and IncrementalAlterConfigs.
	t.Run("kafka-go", func(t *testing.T) {
		cl := newKafkaGoClient(t, e.b.Addr)
		alt, err := cl.IncrementalAlterConfigs(ctx, &kafkago.IncrementalAlterConfigsRequest{
			Resources: []kafkago.IncrementalAlterConfigsRequestResource{{
				ResourceType: kafkago.ResourceTypeTopic, ResourceName: topic,
				Configs: []kafkago.IncrementalAlterConfigsRequestConfig{
					{Name: "retention.bytes", Value: "123456789", ConfigOperation: kafkago.ConfigOperationSet},
				},
			}},
		})
		if err == nil && len(alt.Resources) == 1 {
			err = alt.Resources[0].Error
		}
		if err != nil {
			t.Fatalf("IncrementalAlterConfigs: %v", err)
		}
		desc, err := cl.DescribeConfigs(ctx, &kafkago.DescribeConfigsRequest{Resources: []kafkago.DescribeConfigRequestResource{{
			ResourceType: kafkago.ResourceTypeTopic, ResourceName: topic,
			ConfigNames: []string{"retention.bytes", "retention.ms", "segment.bytes"},
		}}})
		if err != nil || len(desc.Resources) != 1 || desc.Resources[0].Error != nil {
			t.Fatalf("DescribeConfigs: %v %+v", err, desc)
		}
		got := map[string]kafkago.DescribeConfigResponseConfigEntry{}
		for _, c := range desc.Resources[0].ConfigEntries {
			got[c.ConfigName] = c
		}
		for name, w := range map[string]cfgWant{
			"retention.bytes": {"123456789", kmsg.ConfigSourceDynamicTopicConfig},
			"retention.ms":    {"500000", kmsg.ConfigSourceDynamicTopicConfig},
			"segment.bytes":   {"2097152", kmsg.ConfigSourceStaticBrokerConfig},
		} {
			if c, ok := got[name]; !ok || c.ConfigValue != w.value || c.ConfigSource != int8(w.source) {
				t.Errorf("kafka-go: %s = %+v (found %v), want %q (%v)", name, c, ok, w.value, w.source)
			}
		}
		if len(got) != 3 {
			t.Errorf("kafka-go asked for 3 configs, got %d", len(got))
		}
	})

	// Broker configs: what the broker was started with is
	// STATIC_BROKER_CONFIG, the rest DEFAULT_CONFIG.
	t.Run("broker", func(t *testing.T) {
		want := map[string]cfgWant{
			"num.partitions":            {"3", kmsg.ConfigSourceStaticBrokerConfig},
			"log.segment.bytes":         {"2097152", kmsg.ConfigSourceStaticBrokerConfig},
			"log.retention.hours":       {"100", kmsg.ConfigSourceStaticBrokerConfig},
			"message.max.bytes":         {"1048588", kmsg.ConfigSourceDefaultConfig},
			"auto.create.topics.enable": {"true", kmsg.ConfigSourceDefaultConfig},
		}
		rcs, err := e.adm.DescribeBrokerConfigs(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := rcs.On("1", nil)
		if err == nil {
			err = rc.Err
		}
		if err != nil {
			t.Fatalf("describe broker 1: %v", err)
		}
		checkConfigs(t, "kadm broker 1", configsByName(rc.Configs), want)

		adm := newSaramaAdmin(t, e.b.Addr)
		entries, err := adm.DescribeConfig(sarama.ConfigResource{Type: sarama.BrokerResource, Name: "1"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]sarama.ConfigEntry{}
		for _, c := range entries {
			got[c.Name] = c
		}
		for name, w := range want {
			if c, ok := got[name]; !ok || c.Value != w.value || int8(c.Source) != int8(w.source) {
				t.Errorf("sarama broker 1: %s = %q (source %d, found %v), want %q (%v)", name, c.Value, c.Source, ok, w.value, w.source)
			}
		}
	})
}
