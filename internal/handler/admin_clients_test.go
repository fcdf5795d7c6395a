package handler

import (
	"testing"

	"github.com/IBM/sarama"
	gometrics "github.com/rcrowley/go-metrics"
	kafkago "github.com/segmentio/kafka-go"
)

// Sarama's ClusterAdmin at an old and a recent protocol level: it finds
// the controller through Metadata, then creates, lists (Metadata plus
// DescribeConfigs), describes and deletes topics.
func TestAdminSarama(t *testing.T) {
	gometrics.UseNilMetrics = true // sarama's meters would leave a goroutine behind
	b := startAdminBroker(t, registered)
	for _, version := range []sarama.KafkaVersion{sarama.V2_1_0_0, sarama.V3_6_0_0} {
		t.Run(version.String(), func(t *testing.T) {
			cfg := sarama.NewConfig()
			cfg.Version = version
			adm, err := sarama.NewClusterAdmin([]string{b.Addr}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer adm.Close()
			topic := "sarama-" + version.String()
			retention := "86400000"
			if err := adm.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1,
				ConfigEntries: map[string]*string{"retention.ms": &retention}}, false); err != nil {
				t.Fatal(err)
			}
			if err := adm.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err == nil {
				t.Fatal("second create succeeded")
			}
			topics, err := adm.ListTopics()
			if err != nil {
				t.Fatal(err)
			}
			d, ok := topics[topic]
			if !ok || d.NumPartitions != 2 || d.ReplicationFactor != 1 || d.ConfigEntries["retention.ms"] == nil ||
				*d.ConfigEntries["retention.ms"] != retention {
				t.Fatalf("listed %+v", d)
			}
			entries, err := adm.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range entries {
				if e.Name == "retention.ms" {
					found = true
					if e.Value != retention || e.Source != sarama.SourceTopic {
						t.Fatalf("retention.ms %+v", e)
					}
				}
			}
			if !found {
				t.Fatal("retention.ms not described")
			}
			if err := adm.CreatePartitions(topic, 3, nil, false); err != nil {
				t.Fatal(err)
			}
			if err := adm.DeleteTopic(topic); err != nil {
				t.Fatal(err)
			}
			if b.Publisher.Image().Topic(topic) != nil || b.hosts(topic, 0) {
				t.Fatal("topic not deleted")
			}
		})
	}
}

// kafka-go's Client negotiates versions through ApiVersions.
func TestAdminKafkaGo(t *testing.T) {
	b := startAdminBroker(t, registered)
	cl := &kafkago.Client{Addr: kafkago.TCP(b.Addr)}
	// The client uses kafka-go's shared default transport; drop its
	// pooled connections so no goroutine outlives the test.
	defer kafkago.DefaultTransport.(*kafkago.Transport).CloseIdleConnections()
	ctx := ctx10(t)
	created, err := cl.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{
		{Topic: "kg", NumPartitions: 2, ReplicationFactor: 1},
		{Topic: "kg bad", NumPartitions: 1, ReplicationFactor: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if created.Errors["kg"] != nil || created.Errors["kg bad"] == nil {
		t.Fatalf("create errors %v", created.Errors)
	}
	md, err := cl.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{"kg"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil || len(md.Topics[0].Partitions) != 2 ||
		md.Topics[0].Partitions[0].Leader.ID != 1 || md.Controller.ID != 1 || len(md.Brokers) != 1 {
		t.Fatalf("metadata %+v", md)
	}
}
