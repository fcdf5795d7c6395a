package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/testutil"
)

// joinReq is a consumer JoinGroup for topic with the range protocol.
func joinReq(group, topic, memberID string) *kmsg.JoinGroupRequest {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{topic}
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group, req.MemberID = group, memberID
	req.SessionTimeoutMillis = 30000
	req.RebalanceTimeoutMillis = 120000
	req.ProtocolType = "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name = "range"
	p.Metadata = meta.AppendTo(nil)
	req.Protocols = append(req.Protocols, p)
	return req
}

// TestCloseAnswersParkedJoins: a JoinGroup parked in the coordinator (here
// for a long initial rebalance delay) must not hold the broker's shutdown:
// the coordinator stops before the network drains in-flight requests and
// answers it NOT_COORDINATOR.
func TestCloseAnswersParkedJoins(t *testing.T) {
	b := testutil.StartBroker(t, "group.initial.rebalance.delay.ms=300000")
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "t"); err != nil {
		t.Fatal(err)
	}
	first, err := joinReq("parked", "t", "").RequestWith(ctx, cl)
	if err != nil || first.ErrorCode != kerr.MemberIDRequired.Code {
		t.Fatalf("first join: %v %v", err, first)
	}
	type result struct {
		resp *kmsg.JoinGroupResponse
		err  error
	}
	parked := make(chan result, 1)
	go func() {
		// A raw request on the coordinator's connection: kgo would
		// retry NOT_COORDINATOR, which is not what is tested here.
		br := cl.Broker(int(b.NodeID()))
		resp, err := br.Request(ctx, joinReq("parked", "t", first.MemberID))
		r := result{err: err}
		if err == nil {
			r.resp = resp.(*kmsg.JoinGroupResponse)
		}
		parked <- r
	}()
	// Let the join reach the coordinator and park.
	time.Sleep(200 * time.Millisecond)
	select {
	case r := <-parked:
		t.Fatalf("the join was answered at once: %+v %v", r.resp, r.err)
	default:
	}

	closeCtx, closeCancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer closeCancel()
	if err := b.Close(closeCtx); err != nil {
		t.Fatalf("close with a parked join: %v", err)
	}
	r := <-parked
	if r.err == nil && r.resp.ErrorCode != kerr.NotCoordinator.Code {
		t.Fatalf("parked join answered %v, want NOT_COORDINATOR (or the connection closed)", kerr.ErrorForCode(r.resp.ErrorCode))
	}
}

// TestOffsetsTopicDeleted: deleting __consumer_offsets drops the
// coordinator's shards with it; recreated on the next lookup, the topic
// starts empty and groups work again from scratch.
func TestOffsetsTopicDeleted(t *testing.T) {
	b := testutil.StartBroker(t, "offsets.topic.num.partitions=2")
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "t"); err != nil {
		t.Fatal(err)
	}
	commit := func(at int64) {
		t.Helper()
		os := kadm.Offsets{}
		os.Add(kadm.Offset{Topic: "t", Partition: 0, At: at, LeaderEpoch: -1})
		var resp kadm.OffsetResponses
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err = adm.CommitOffsets(ctx, "g", os)
			if err == nil && resp.Error() == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("commit %d: %v %v", at, err, resp.Error())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	committed := func() (int64, bool) {
		t.Helper()
		resp, err := adm.FetchOffsets(ctx, "g")
		if err != nil || resp.Error() != nil {
			t.Fatalf("fetch offsets: %v %v", err, resp.Error())
		}
		o, ok := resp.Lookup("t", 0)
		return o.At, ok && o.At >= 0
	}
	commit(7)
	if at, ok := committed(); !ok || at != 7 {
		t.Fatalf("committed %d %v, want 7", at, ok)
	}
	if b.Metadata().Topic("__consumer_offsets") == nil {
		t.Fatal("the offsets topic was not created")
	}

	dr, err := adm.DeleteTopics(ctx, "__consumer_offsets")
	if err != nil || dr.Error() != nil {
		t.Fatalf("delete the offsets topic: %v %v", err, dr.Error())
	}
	// Recreated by the next lookup, empty: the group's commit is gone.
	commit(3)
	if at, ok := committed(); !ok || at != 3 {
		t.Fatalf("after recreating the offsets topic: committed %d %v, want 3", at, ok)
	}
	if b.Metadata().Topic("__consumer_offsets") == nil {
		t.Fatal("the offsets topic was not recreated")
	}
}
