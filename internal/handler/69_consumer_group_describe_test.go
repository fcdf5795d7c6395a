package handler

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestConsumerGroupDescribeEveryVersion(t *testing.T) {
	b := startConsumerGroupBroker(t)
	b.createTopic(t, "dt", 2, nil)
	hb := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	hb.Version = 1
	hb.Group, hb.MemberID = "dg", "member-1"
	hb.RebalanceTimeoutMillis = 10000
	hb.SubscribedTopicNames = []string{"dt"}
	hb.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	if got := b.raw(t, hb).(*kmsg.ConsumerGroupHeartbeatResponse); got.ErrorCode != 0 {
		t.Fatalf("join: %+v", got)
	}
	b.joinOne(t, "classic-g", 9)
	for v := int16(0); v <= kmsg.NewPtrConsumerGroupDescribeRequest().MaxVersion(); v++ {
		req := kmsg.NewPtrConsumerGroupDescribeRequest()
		req.Version = v
		req.Groups = []string{"dg", "missing", "classic-g"}
		req.IncludeAuthorizedOperations = true
		resp := b.raw(t, req).(*kmsg.ConsumerGroupDescribeResponse)
		if len(resp.Groups) != 3 {
			t.Fatalf("v%d: %d groups", v, len(resp.Groups))
		}
		g := resp.Groups[0]
		if g.ErrorCode != 0 || g.State != "Stable" || g.Epoch != 1 || g.AssignmentEpoch != 1 || g.AssignorName != "uniform" ||
			g.AuthorizedOperations != groupOperations || len(g.Members) != 1 {
			t.Fatalf("v%d: %+v", v, g)
		}
		m := g.Members[0]
		if m.MemberID != "member-1" || m.MemberEpoch != 1 || len(m.Assignment.TopicPartitions) != 1 ||
			m.Assignment.TopicPartitions[0].Topic != "dt" || len(m.TargetAssignment.TopicPartitions[0].Partitions) != 2 {
			t.Fatalf("v%d member %+v", v, m)
		}
		if v >= 1 && m.MemberType != 1 {
			t.Fatalf("v%d member type %d", v, m.MemberType)
		}
		for _, other := range resp.Groups[1:] {
			if other.ErrorCode != kerr.GroupIDNotFound.Code || other.AuthorizedOperations == groupOperations {
				t.Fatalf("v%d %s: %+v", v, other.Group, other)
			}
		}
	}
}
