package e2e_test

import (
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/testutil"
)

// freePort returns a loopback port that was free a moment ago, for a
// test that must know its broker's port before starting it (to put it in
// advertised.listeners).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// TestIdentity starts a broker as node 7 in rack r1, listening on
// 127.0.0.1 and advertising localhost, and checks that every client and
// every version of Metadata and DescribeCluster report exactly that node,
// host, port and rack, node 7 as the controller, and the cluster id
// written in meta.properties; and that clients following the advertised
// address can produce and consume.
func TestIdentity(t *testing.T) {
	port := freePort(t)
	b := testutil.StartBroker(t,
		"node.id=7",
		"broker.rack=r1",
		fmt.Sprintf("listeners=PLAINTEXT://127.0.0.1:%d", port),
		fmt.Sprintf("advertised.listeners=PLAINTEXT://localhost:%d", port),
	)
	e := envFor(t, b)
	meta := readMetaProperties(t, b.Dir)
	clusterID := meta["cluster.id"]
	if len(clusterID) != 22 || meta["node.id"] != "7" {
		t.Fatalf("meta.properties: %v", meta)
	}
	if b.ClusterID() != clusterID {
		t.Fatalf("server reports cluster id %q, meta.properties has %q", b.ClusterID(), clusterID)
	}
	ctx := ctxFor(t, 30*time.Second)
	const topic = "identity"
	e.createTopic(t, topic, 2, nil)

	t.Run("kadm", func(t *testing.T) {
		m, err := e.adm.BrokerMetadata(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Cluster != clusterID || m.Controller != 7 || len(m.Brokers) != 1 {
			t.Fatalf("metadata: cluster %q controller %d brokers %v", m.Cluster, m.Controller, m.Brokers)
		}
		br := m.Brokers[0]
		if br.NodeID != 7 || br.Host != "localhost" || br.Port != int32(port) || br.Rack == nil || *br.Rack != "r1" {
			t.Fatalf("broker %+v, want node 7 at localhost:%d in r1", br, port)
		}
		tm, err := e.adm.Metadata(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range tm.Topics[topic].Partitions {
			if p.Leader != 7 || len(p.Replicas) != 1 || p.Replicas[0] != 7 || len(p.ISR) != 1 || p.ISR[0] != 7 {
				t.Fatalf("partition %+v, want led and replicated by 7", p)
			}
		}
	})

	// Metadata at every version and DescribeCluster at every version,
	// raw, so each field is checked where the version has it.
	t.Run("raw versions", func(t *testing.T) {
		conn := dialRaw(t, b.Addr)
		for v := int16(0); v <= kmsg.NewPtrMetadataRequest().MaxVersion(); v++ {
			req := kmsg.NewPtrMetadataRequest()
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(topic)
			req.Topics = append(req.Topics, rt)
			resp := conn.request(t, req, v).(*kmsg.MetadataResponse)
			if len(resp.Brokers) != 1 {
				t.Fatalf("Metadata v%d: %d brokers", v, len(resp.Brokers))
			}
			br := resp.Brokers[0]
			if br.NodeID != 7 || br.Host != "localhost" || br.Port != int32(port) {
				t.Errorf("Metadata v%d: broker %d at %s:%d", v, br.NodeID, br.Host, br.Port)
			}
			if v >= 1 && (br.Rack == nil || *br.Rack != "r1" || resp.ControllerID != 7) {
				t.Errorf("Metadata v%d: rack %v, controller %d", v, br.Rack, resp.ControllerID)
			}
			if v >= 2 && (resp.ClusterID == nil || *resp.ClusterID != clusterID) {
				t.Errorf("Metadata v%d: cluster id %v, want %s", v, resp.ClusterID, clusterID)
			}
			if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 || len(resp.Topics[0].Partitions) != 2 {
				t.Errorf("Metadata v%d: topics %+v", v, resp.Topics)
			} else if p := resp.Topics[0].Partitions[0]; p.Leader != 7 {
				t.Errorf("Metadata v%d: leader %d", v, p.Leader)
			}
		}
		for v := int16(0); v <= kmsg.NewPtrDescribeClusterRequest().MaxVersion(); v++ {
			resp := conn.request(t, kmsg.NewPtrDescribeClusterRequest(), v).(*kmsg.DescribeClusterResponse)
			if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
				t.Fatalf("DescribeCluster v%d: %v", v, err)
			}
			if resp.ClusterID != clusterID || resp.ControllerID != 7 || len(resp.Brokers) != 1 {
				t.Fatalf("DescribeCluster v%d: cluster %q controller %d brokers %d", v, resp.ClusterID, resp.ControllerID, len(resp.Brokers))
			}
			br := resp.Brokers[0]
			if br.NodeID != 7 || br.Host != "localhost" || br.Port != int32(port) || br.Rack == nil || *br.Rack != "r1" || br.IsFenced {
				t.Errorf("DescribeCluster v%d: broker %+v", v, br)
			}
		}
	})

	t.Run("sarama", func(t *testing.T) {
		adm := newSaramaAdmin(t, b.Addr)
		brokers, controller, err := adm.DescribeCluster()
		if err != nil {
			t.Fatal(err)
		}
		if controller != 7 || len(brokers) != 1 || brokers[0].ID() != 7 ||
			brokers[0].Addr() != net.JoinHostPort("localhost", strconv.Itoa(port)) || brokers[0].Rack() != "r1" {
			t.Fatalf("DescribeCluster: controller %d brokers %v", controller, brokers)
		}
		cl := newSaramaClient(t, b.Addr)
		ctrl, err := cl.Controller()
		if err != nil {
			t.Fatal(err)
		}
		if ctrl.ID() != 7 || ctrl.Addr() != net.JoinHostPort("localhost", strconv.Itoa(port)) {
			t.Fatalf("controller %d at %s", ctrl.ID(), ctrl.Addr())
		}
		md, err := ctrl.GetMetadata(&sarama.MetadataRequest{Version: 9})
		if err != nil {
			t.Fatal(err)
		}
		if md.ClusterID == nil || *md.ClusterID != clusterID {
			t.Fatalf("cluster id %v, want %s", md.ClusterID, clusterID)
		}
		if leader, err := cl.Leader(topic, 1); err != nil || leader.ID() != 7 {
			t.Fatalf("leader of %s/1: %v %v", topic, leader, err)
		}
	})

	t.Run("kafka-go", func(t *testing.T) {
		cl := newKafkaGoClient(t, b.Addr)
		md, err := cl.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
		if err != nil {
			t.Fatal(err)
		}
		if md.ClusterID != clusterID || md.Controller.ID != 7 || len(md.Brokers) != 1 {
			t.Fatalf("metadata: cluster %q controller %+v brokers %+v", md.ClusterID, md.Controller, md.Brokers)
		}
		if br := md.Brokers[0]; br.ID != 7 || br.Host != "localhost" || br.Port != port || br.Rack != "r1" {
			t.Fatalf("broker %+v", br)
		}
		conn, err := kafkago.DialContext(ctx, "tcp", b.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctrl, err := conn.Controller()
		if err != nil || ctrl.ID != 7 || ctrl.Host != "localhost" || ctrl.Port != port {
			t.Fatalf("Conn.Controller: %+v %v", ctrl, err)
		}
	})

	// The clients connect to the advertised localhost:port for data.
	t.Run("data through the advertised address", func(t *testing.T) {
		prod := newKgo(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err := prod.ProduceSync(ctx, &kgo.Record{Partition: 1, Value: []byte("to node 7")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		cons := newKgo(t, b.Addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {1: kgo.NewOffset().At(0)}}),
			kgo.FetchMaxWait(100*time.Millisecond))
		got := franzPoll(t, cons, 1)
		if string(got[0].value) != "to node 7" {
			t.Fatalf("consumed %q", got[0].value)
		}
	})
}
