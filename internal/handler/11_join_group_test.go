package handler

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/coordinator/group"
)

// groupBroker is a test broker with a group coordinator leading its one
// __consumer_offsets partition, loaded and serving.
type groupBroker struct {
	*testBroker
	groups *group.Coordinator
}

func startGroupBroker(t *testing.T) *groupBroker {
	t.Helper()
	var coord *group.Coordinator
	b := startBroker(t, func(o *brokerOptions) {
		o.Props = map[string]string{"group.initial.rebalance.delay.ms": "0"}
		o.Deps = func(d *Deps) {
			var err error
			coord, err = group.New(group.Config{
				NodeID: 1, NumPartitions: 1, Replicas: d.Replicas, Broker: d.Config.Broker(),
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
	gb := &groupBroker{testBroker: b, groups: coord}
	deadline := time.Now().Add(10 * time.Second)
	for {
		// DescribeGroups says COORDINATOR_LOAD_IN_PROGRESS while the
		// shard loads (Heartbeat does not: Kafka answers it NONE then).
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Version = 5
		req.Groups = []string{"probe"}
		resp := b.raw(t, req).(*kmsg.DescribeGroupsResponse)
		if len(resp.Groups) == 1 && resp.Groups[0].ErrorCode != kerr.CoordinatorLoadInProgress.Code {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the group coordinator did not load")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return gb
}

// joinOne joins group as its only member at version v (two steps from
// v4) and returns the JoinGroup answer.
func (b *groupBroker) joinOne(t *testing.T, groupID string, v int16) *kmsg.JoinGroupResponse {
	t.Helper()
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = v
	req.Group = groupID
	req.SessionTimeoutMillis = 10000
	req.RebalanceTimeoutMillis = 10000
	req.ProtocolType = "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name = "range"
	p.Metadata = []byte{0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0}
	req.Protocols = []kmsg.JoinGroupRequestProtocol{p}
	resp := b.raw(t, req).(*kmsg.JoinGroupResponse)
	if v >= 4 {
		if resp.ErrorCode != kerr.MemberIDRequired.Code {
			t.Fatalf("v%d first join: %v", v, kerr.ErrorForCode(resp.ErrorCode))
		}
		req.MemberID = resp.MemberID
		resp = b.raw(t, req).(*kmsg.JoinGroupResponse)
	}
	if resp.ErrorCode != 0 {
		t.Fatalf("v%d join: %v", v, kerr.ErrorForCode(resp.ErrorCode))
	}
	return resp
}

func TestJoinGroupEveryVersion(t *testing.T) {
	b := startGroupBroker(t)
	for v := int16(2); v <= kmsg.NewPtrJoinGroupRequest().MaxVersion(); v++ {
		g := fmt.Sprintf("join-v%d", v)
		resp := b.joinOne(t, g, v)
		if resp.Generation != 1 || resp.LeaderID != resp.MemberID || len(resp.Members) != 1 {
			t.Fatalf("v%d: generation %d leader %q member %q members %d", v, resp.Generation, resp.LeaderID, resp.MemberID, len(resp.Members))
		}
		if resp.Protocol == nil || *resp.Protocol != "range" {
			t.Fatalf("v%d: protocol %v", v, resp.Protocol)
		}
		if v >= 7 && (resp.ProtocolType == nil || *resp.ProtocolType != "consumer") {
			t.Fatalf("v%d: protocol type %v", v, resp.ProtocolType)
		}
	}
}

func TestJoinGroupValidation(t *testing.T) {
	b := startGroupBroker(t)
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 9
	req.Group = ""
	req.SessionTimeoutMillis = 10000
	req.ProtocolType = "consumer"
	if got := b.raw(t, req).(*kmsg.JoinGroupResponse).ErrorCode; got != kerr.InvalidGroupID.Code {
		t.Fatalf("empty group id: %v", kerr.ErrorForCode(got))
	}
	req.Group = "g"
	req.SessionTimeoutMillis = 1 // below group.min.session.timeout.ms
	if got := b.raw(t, req).(*kmsg.JoinGroupResponse).ErrorCode; got != kerr.InvalidSessionTimeout.Code {
		t.Fatalf("session timeout: %v", kerr.ErrorForCode(got))
	}
	req.SessionTimeoutMillis = 10000
	req.MemberID = "who"
	if got := b.raw(t, req).(*kmsg.JoinGroupResponse).ErrorCode; got != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown member of an unknown group: %v", kerr.ErrorForCode(got))
	}
}

// TestGroupAPIsWithoutCoordinator: a broker without a group coordinator
// answers every group API with COORDINATOR_NOT_AVAILABLE.
func TestGroupAPIsWithoutCoordinator(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "t", 1, nil)
	want := kerr.CoordinatorNotAvailable.Code
	check := func(name string, got int16) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %v, want COORDINATOR_NOT_AVAILABLE", name, kerr.ErrorForCode(got))
		}
	}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Version = 9
	join.Group = "g"
	check("JoinGroup", b.raw(t, join).(*kmsg.JoinGroupResponse).ErrorCode)
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Version = 4
	sync.Group = "g"
	check("SyncGroup", b.raw(t, sync).(*kmsg.SyncGroupResponse).ErrorCode)
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Version = 4
	hb.Group = "g"
	check("Heartbeat", b.raw(t, hb).(*kmsg.HeartbeatResponse).ErrorCode)
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Version = 5
	leave.Group = "g"
	check("LeaveGroup", b.raw(t, leave).(*kmsg.LeaveGroupResponse).ErrorCode)
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Version = 9
	commit.Group = "g"
	ct := kmsg.NewOffsetCommitRequestTopic()
	ct.Topic = "t"
	ct.Partitions = []kmsg.OffsetCommitRequestTopicPartition{kmsg.NewOffsetCommitRequestTopicPartition()}
	commit.Topics = []kmsg.OffsetCommitRequestTopic{ct}
	check("OffsetCommit", b.raw(t, commit).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode)
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Version = 7
	fetch.Group = "g"
	check("OffsetFetch", b.raw(t, fetch).(*kmsg.OffsetFetchResponse).ErrorCode)
	desc := kmsg.NewPtrDescribeGroupsRequest()
	desc.Version = 5
	desc.Groups = []string{"g"}
	check("DescribeGroups", b.raw(t, desc).(*kmsg.DescribeGroupsResponse).Groups[0].ErrorCode)
	list := kmsg.NewPtrListGroupsRequest()
	list.Version = 5
	check("ListGroups", b.raw(t, list).(*kmsg.ListGroupsResponse).ErrorCode)
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Version = 3
	del.Groups = []string{"g"}
	check("DeleteGroups", b.raw(t, del).(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode)
	od := kmsg.NewPtrOffsetDeleteRequest()
	od.Group = "g"
	check("OffsetDelete", b.raw(t, od).(*kmsg.OffsetDeleteResponse).ErrorCode)
}
