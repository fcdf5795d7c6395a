package handler

import (
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

func metadataReq(v int16, topics ...string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(v)
	req.AllowAutoTopicCreation = true
	for _, name := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

func findTopic(t *testing.T, resp *kmsg.MetadataResponse, name string) kmsg.MetadataResponseTopic {
	t.Helper()
	for _, mt := range resp.Topics {
		if mt.Topic != nil && *mt.Topic == name {
			return mt
		}
	}
	t.Fatalf("topic %s not in response %+v", name, resp.Topics)
	return kmsg.MetadataResponseTopic{}
}

func TestMetadataBrokersClusterAndTopics(t *testing.T) {
	b := startAdminBroker(t, registered, withProps("broker.rack", "rack-a"))
	id := b.createTopic(t, "orders", 3, nil)

	none := metadataReq(12)
	none.Topics = []kmsg.MetadataRequestTopic{}
	resp := b.raw(t, none).(*kmsg.MetadataResponse)
	if len(resp.Brokers) != 1 {
		t.Fatalf("brokers %+v", resp.Brokers)
	}
	br := resp.Brokers[0]
	addr := b.Server.Addr("PLAINTEXT").(*net.TCPAddr)
	if br.NodeID != 1 || br.Host != addr.IP.String() || br.Port != int32(addr.Port) {
		t.Fatalf("broker %+v, listener %v", br, addr)
	}
	if br.Rack == nil || *br.Rack != "rack-a" {
		t.Fatalf("rack %v", br.Rack)
	}
	if resp.ClusterID == nil || *resp.ClusterID != "samsa-handler-test" || resp.ControllerID != 1 {
		t.Fatalf("cluster %v controller %d", resp.ClusterID, resp.ControllerID)
	}
	// v12 request with topics=[] (not null) names no topic.
	if len(resp.Topics) != 0 {
		t.Fatalf("empty topic list answered %d topics", len(resp.Topics))
	}

	all := metadataReq(12)
	all.Topics = nil
	resp = b.raw(t, all).(*kmsg.MetadataResponse)
	mt := findTopic(t, resp, "orders")
	if mt.ErrorCode != 0 || mt.TopicID != [16]byte(id) || mt.IsInternal || len(mt.Partitions) != 3 {
		t.Fatalf("topic %+v", mt)
	}
	for i, p := range mt.Partitions {
		if p.Partition != int32(i) || p.Leader != 1 || p.LeaderEpoch != 0 || p.ErrorCode != 0 ||
			len(p.Replicas) != 1 || p.Replicas[0] != 1 || len(p.ISR) != 1 || len(p.OfflineReplicas) != 0 {
			t.Fatalf("partition %d: %+v", i, p)
		}
	}
	if mt.AuthorizedOperations != -2147483648 {
		t.Fatalf("authorized ops %d when not requested", mt.AuthorizedOperations)
	}

	// v0: an empty list means all topics.
	resp = b.raw(t, metadataReq(0)).(*kmsg.MetadataResponse)
	findTopic(t, resp, "orders")

	// By topic ID (v12+): known and unknown.
	byID := kmsg.NewPtrMetadataRequest()
	byID.SetVersion(13)
	for _, tid := range [][16]byte{[16]byte(id), {9, 9, 9}} {
		rt := kmsg.NewMetadataRequestTopic()
		rt.TopicID = tid
		byID.Topics = append(byID.Topics, rt)
	}
	byID.IncludeTopicAuthorizedOperations = true
	resp = b.raw(t, byID).(*kmsg.MetadataResponse)
	if len(resp.Topics) != 2 {
		t.Fatalf("by id: %+v", resp.Topics)
	}
	if got := resp.Topics[0]; got.ErrorCode != 0 || *got.Topic != "orders" || len(got.Partitions) != 3 ||
		got.AuthorizedOperations != topicAuthorizedOps {
		t.Fatalf("by id known: %+v", got)
	}
	if got := resp.Topics[1]; got.ErrorCode != kerr.UnknownTopicID.Code || got.Topic != nil || got.TopicID != [16]byte{9, 9, 9} {
		t.Fatalf("by id unknown: %+v", got)
	}

	// Topic IDs below v12 are refused as Kafka refuses them.
	v10 := kmsg.NewPtrMetadataRequest()
	v10.SetVersion(10)
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("orders")
	rt.TopicID = [16]byte(id)
	v10.Topics = append(v10.Topics, rt)
	resp = b.raw(t, v10).(*kmsg.MetadataResponse)
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("v10 with topic id: %+v", resp.Topics)
	}

	// Cluster authorized operations (v8-v10).
	v8 := metadataReq(8, "orders")
	v8.IncludeClusterAuthorizedOperations = true
	resp = b.raw(t, v8).(*kmsg.MetadataResponse)
	if resp.AuthorizedOperations != clusterAuthorizedOps {
		t.Fatalf("cluster ops %b", resp.AuthorizedOperations)
	}
}

// Without a registration in the image (the moment between the listener
// opening and the broker registering), the node still describes itself from
// its configuration and the address the client reached.
func TestMetadataSelfWithoutRegistration(t *testing.T) {
	b := startAdminBroker(t)
	b.createTopic(t, "t", 1, nil)
	resp := b.raw(t, metadataReq(9, "t")).(*kmsg.MetadataResponse)
	addr := b.Server.Addr("PLAINTEXT").(*net.TCPAddr)
	if len(resp.Brokers) != 1 || resp.Brokers[0].Port != int32(addr.Port) || resp.Brokers[0].Host != "127.0.0.1" {
		t.Fatalf("brokers %+v", resp.Brokers)
	}
	if p := findTopic(t, resp, "t").Partitions[0]; p.Leader != 1 || p.ErrorCode != 0 {
		t.Fatalf("partition %+v", p)
	}
}

func TestMetadataAutoCreate(t *testing.T) {
	b := startAdminBroker(t, registered, withProps("num.partitions", "3",
		"offsets.topic.num.partitions", "2", "transaction.state.log.num.partitions", "2"))

	resp := b.raw(t, metadataReq(12, "fresh", "bad name!", "fresh")).(*kmsg.MetadataResponse)
	if len(resp.Topics) != 2 {
		t.Fatalf("topics %+v", resp.Topics)
	}
	mt := findTopic(t, resp, "fresh")
	if mt.ErrorCode != 0 || len(mt.Partitions) != 3 || mt.TopicID == [16]byte{} {
		t.Fatalf("auto-created topic %+v", mt)
	}
	for _, p := range mt.Partitions {
		if p.Leader != 1 || p.ErrorCode != 0 {
			t.Fatalf("partition %+v", p)
		}
		if !b.hosts("fresh", p.Partition) {
			t.Fatalf("partition %d not hosted after auto-creation", p.Partition)
		}
	}
	if bad := findTopic(t, resp, "bad name!"); bad.ErrorCode != kerr.InvalidTopicException.Code {
		t.Fatalf("invalid name: %+v", bad)
	}

	// The client may refuse creation; v3 (no flag) always allows it.
	no := metadataReq(12, "not-created")
	no.AllowAutoTopicCreation = false
	resp = b.raw(t, no).(*kmsg.MetadataResponse)
	if mt := findTopic(t, resp, "not-created"); mt.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("no auto-create: %+v", mt)
	}
	if b.Publisher.Image().Topic("not-created") != nil {
		t.Fatal("created although the client said not to")
	}
	resp = b.raw(t, metadataReq(3, "v3-topic")).(*kmsg.MetadataResponse)
	if mt := findTopic(t, resp, "v3-topic"); mt.ErrorCode != 0 || len(mt.Partitions) != 3 {
		t.Fatalf("v3 auto-create: %+v", mt)
	}

	// Internal topics get their coordinators' settings.
	resp = b.raw(t, metadataReq(12, "__consumer_offsets", "__transaction_state", "__share_group_state")).(*kmsg.MetadataResponse)
	co := findTopic(t, resp, "__consumer_offsets")
	if co.ErrorCode != 0 || !co.IsInternal || len(co.Partitions) != 2 {
		t.Fatalf("__consumer_offsets %+v", co)
	}
	if got := b.Publisher.Image().TopicConfigs("__consumer_offsets"); got["cleanup.policy"] != "compact" ||
		got["compression.type"] != "producer" || got["segment.bytes"] != "104857600" {
		t.Fatalf("__consumer_offsets configs %v", got)
	}
	if got := b.Publisher.Image().TopicConfigs("__transaction_state"); got["min.insync.replicas"] != "1" ||
		got["cleanup.policy"] != "compact" || got["unclean.leader.election.enable"] != "false" {
		t.Fatalf("__transaction_state configs %v", got)
	}
	if sg := findTopic(t, resp, "__share_group_state"); sg.ErrorCode != kerr.UnknownTopicOrPartition.Code || !sg.IsInternal {
		t.Fatalf("__share_group_state %+v", sg)
	}

	// A name colliding with an existing one ('.' vs '_') is refused.
	b.createTopic(t, "a.b", 1, nil)
	resp = b.raw(t, metadataReq(12, "a_b")).(*kmsg.MetadataResponse)
	if mt := findTopic(t, resp, "a_b"); mt.ErrorCode != kerr.InvalidTopicException.Code {
		t.Fatalf("colliding name: %+v", mt)
	}
}

func TestMetadataAutoCreateDisabled(t *testing.T) {
	b := startAdminBroker(t, withProps("auto.create.topics.enable", "false"))
	resp := b.raw(t, metadataReq(12, "nope")).(*kmsg.MetadataResponse)
	if mt := findTopic(t, resp, "nope"); mt.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("%+v", mt)
	}
}

// A franz-go producer whose topic does not exist gets it created by its
// first metadata request and finds its leader at once.
func TestMetadataAutoCreateFranzGo(t *testing.T) {
	b := startAdminBroker(t, registered)
	cl := b.client(t, kgo.AllowAutoTopicCreation())
	req := metadataReq(kmsg.NewPtrMetadataRequest().MaxVersion(), "from-kgo")
	resp, err := req.RequestWith(ctx10(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if mt := findTopic(t, resp, "from-kgo"); mt.ErrorCode != 0 || len(mt.Partitions) != 1 || mt.Partitions[0].Leader != 1 {
		t.Fatalf("%+v", mt)
	}
	md, err := b.admin(t).Metadata(ctx10(t), "from-kgo")
	if err != nil {
		t.Fatal(err)
	}
	if td := md.Topics["from-kgo"]; td.Err != nil || len(td.Partitions) != 1 {
		t.Fatalf("kadm metadata %+v", td)
	}
}

// Partition leadership as a client on the listener sees it: a leader on
// another broker reachable on this listener, a fenced one, one that is not
// registered at all.
func TestMetadataLeaderAvailability(t *testing.T) {
	b := startAdminBroker(t, registered)
	ctl := b.Controller
	if _, err := ctl.RegisterBroker(metadata.Broker{ID: 2, Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "10.0.0.2", Port: 9092}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.RegisterBroker(metadata.Broker{ID: 3, Endpoints: []metadata.Endpoint{{Listener: "INTERNAL", Host: "10.0.0.3", Port: 9093}}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		replicas []int32
	}{{"on-2", []int32{2, 1}}, {"on-3", []int32{3}}} {
		if _, err := ctl.CreateTopic(metadata.CreateTopicRequest{Name: tc.name, NumPartitions: -1, ReplicationFactor: -1,
			Assignments: []metadata.PartitionAssignment{{Partition: 0, Replicas: tc.replicas}}}, false); err != nil {
			t.Fatal(err)
		}
	}

	resp := b.raw(t, metadataReq(12, "on-2", "on-3")).(*kmsg.MetadataResponse)
	if len(resp.Brokers) != 2 { // broker 3 has no PLAINTEXT endpoint
		t.Fatalf("brokers %+v", resp.Brokers)
	}
	if p := findTopic(t, resp, "on-2").Partitions[0]; p.Leader != 2 || p.ErrorCode != 0 || len(p.Replicas) != 2 {
		t.Fatalf("on-2 %+v", p)
	}
	if p := findTopic(t, resp, "on-3").Partitions[0]; p.Leader != -1 || p.ErrorCode != kerr.ListenerNotFound.Code ||
		len(p.OfflineReplicas) != 1 || p.OfflineReplicas[0] != 3 {
		t.Fatalf("on-3 v12 %+v", p)
	}
	// Before v6 the same is LEADER_NOT_AVAILABLE; v0 also drops replicas
	// without an endpoint and says REPLICA_NOT_AVAILABLE.
	resp = b.raw(t, metadataReq(5, "on-3")).(*kmsg.MetadataResponse)
	if p := findTopic(t, resp, "on-3").Partitions[0]; p.ErrorCode != kerr.LeaderNotAvailable.Code {
		t.Fatalf("on-3 v5 %+v", p)
	}

	// Fence broker 2: it leaves the broker list and its partition has no
	// reachable leader.
	if _, err := ctl.RegisterBroker(metadata.Broker{ID: 2, Fenced: true, Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "10.0.0.2", Port: 9092}}}); err != nil {
		t.Fatal(err)
	}
	resp = b.raw(t, metadataReq(12, "on-2")).(*kmsg.MetadataResponse)
	if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 1 {
		t.Fatalf("brokers with 2 fenced: %+v", resp.Brokers)
	}
	if p := findTopic(t, resp, "on-2").Partitions[0]; p.Leader != -1 || p.ErrorCode != kerr.ListenerNotFound.Code ||
		len(p.OfflineReplicas) != 1 || p.OfflineReplicas[0] != 2 {
		t.Fatalf("on-2 fenced %+v", p)
	}
	// Unregister it: LEADER_NOT_AVAILABLE at every version.
	if err := ctl.UnregisterBroker(2); err != nil {
		t.Fatal(err)
	}
	resp = b.raw(t, metadataReq(12, "on-2")).(*kmsg.MetadataResponse)
	if p := findTopic(t, resp, "on-2").Partitions[0]; p.ErrorCode != kerr.LeaderNotAvailable.Code {
		t.Fatalf("on-2 unregistered %+v", p)
	}
	// v0 lists only reachable replicas of a partition whose leader is
	// reachable, flagging the gap.
	if _, err := ctl.CreateTopic(metadata.CreateTopicRequest{Name: "mixed", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: []metadata.PartitionAssignment{{Partition: 0, Replicas: []int32{1, 3}}}}, false); err != nil {
		t.Fatal(err)
	}
	resp = b.raw(t, metadataReq(0, "mixed")).(*kmsg.MetadataResponse)
	if p := findTopic(t, resp, "mixed").Partitions[0]; p.Leader != 1 || p.ErrorCode != kerr.ReplicaNotAvailable.Code ||
		len(p.Replicas) != 1 || len(p.ISR) != 1 {
		t.Fatalf("mixed v0 %+v", p)
	}
	resp = b.raw(t, metadataReq(1, "mixed")).(*kmsg.MetadataResponse)
	if p := findTopic(t, resp, "mixed").Partitions[0]; p.ErrorCode != 0 || len(p.Replicas) != 2 {
		t.Fatalf("mixed v1 %+v", p)
	}
}
