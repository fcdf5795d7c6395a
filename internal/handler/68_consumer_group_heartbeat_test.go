package handler

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/coordinator/group"
)

// startConsumerGroupBroker is startGroupBroker with the coordinator
// reading the broker's metadata image, which KIP-848 groups assign from.
func startConsumerGroupBroker(t *testing.T) *groupBroker {
	t.Helper()
	var coord *group.Coordinator
	b := startBroker(t, func(o *brokerOptions) {
		o.Deps = func(d *Deps) {
			var err error
			coord, err = group.New(group.Config{
				NodeID: 1, NumPartitions: 1, Replicas: d.Replicas, Broker: d.Config.Broker(), Metadata: d.Metadata,
			})
			if err != nil {
				t.Fatal(err)
			}
			d.Groups = coord
		}
	})
	t.Cleanup(func() { _ = coord.Close() })
	b.createTopic(t, group.OffsetsTopic, 1, map[string]string{"cleanup.policy": "compact"})
	p, _ := b.Publisher.Image().Partition(group.OffsetsTopic, 0)
	coord.OnElection(0, p.LeaderEpoch)
	deadline := time.Now().Add(10 * time.Second)
	for {
		req := kmsg.NewPtrConsumerGroupDescribeRequest()
		req.Groups = []string{"probe"}
		if b.raw(t, req).(*kmsg.ConsumerGroupDescribeResponse).Groups[0].ErrorCode != kerr.CoordinatorLoadInProgress.Code {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the group coordinator did not load")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return &groupBroker{testBroker: b, groups: coord}
}

func TestConsumerGroupHeartbeatEveryVersion(t *testing.T) {
	b := startConsumerGroupBroker(t)
	topicID := b.createTopic(t, "cgt", 4, nil)
	for v := int16(0); v <= kmsg.NewPtrConsumerGroupHeartbeatRequest().MaxVersion(); v++ {
		req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		req.Version = v
		req.Group = "cg-v" + string(rune('0'+v))
		if v >= 1 {
			req.MemberID = "client-made-id"
		}
		req.RebalanceTimeoutMillis = 10000
		req.SubscribedTopicNames = []string{"cgt"}
		req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		resp := b.raw(t, req).(*kmsg.ConsumerGroupHeartbeatResponse)
		if resp.ErrorCode != 0 || resp.MemberID == nil || resp.MemberEpoch != 1 || resp.HeartbeatIntervalMillis <= 0 {
			t.Fatalf("v%d join: %+v", v, resp)
		}
		if v >= 1 && *resp.MemberID != "client-made-id" {
			t.Fatalf("v%d member id %q", v, *resp.MemberID)
		}
		if resp.Assignment == nil || len(resp.Assignment.Topics) != 1 || resp.Assignment.Topics[0].TopicID != topicID ||
			len(resp.Assignment.Topics[0].Partitions) != 4 {
			t.Fatalf("v%d assignment %+v", v, resp.Assignment)
		}
		// A heartbeat with the wrong epoch is fenced.
		hb := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		hb.Version = v
		hb.Group, hb.MemberID, hb.MemberEpoch = req.Group, *resp.MemberID, 5
		hb.RebalanceTimeoutMillis = -1
		if got := b.raw(t, hb).(*kmsg.ConsumerGroupHeartbeatResponse); got.ErrorCode != kerr.FencedMemberEpoch.Code || got.ErrorMessage == nil {
			t.Fatalf("v%d fenced: %+v", v, got)
		}
		// Leaving.
		hb.MemberEpoch = -1
		if got := b.raw(t, hb).(*kmsg.ConsumerGroupHeartbeatResponse); got.ErrorCode != 0 || got.MemberEpoch != -1 {
			t.Fatalf("v%d leave: %+v", v, got)
		}
	}
	// A malformed first heartbeat.
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version = 1
	req.Group, req.MemberID = "bad", "m"
	req.RebalanceTimeoutMillis = 10000
	req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	if got := b.raw(t, req).(*kmsg.ConsumerGroupHeartbeatResponse); got.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("no subscription: %+v", got)
	}
}

func TestConsumerGroupHeartbeatWithoutCoordinator(t *testing.T) {
	b := startBroker(t)
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Group = "g"
	if got := b.raw(t, req).(*kmsg.ConsumerGroupHeartbeatResponse); got.ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("%+v", got)
	}
	d := kmsg.NewPtrConsumerGroupDescribeRequest()
	d.Groups = []string{"g"}
	if got := b.raw(t, d).(*kmsg.ConsumerGroupDescribeResponse); got.Groups[0].ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("%+v", got)
	}
}
