package handler

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/replica"
)

func offsetForEpochReq(v int16, replicaID int32, topic string, parts ...kmsg.OffsetForLeaderEpochRequestTopicPartition) *kmsg.OffsetForLeaderEpochRequest {
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.SetVersion(v)
	req.ReplicaID = replicaID
	rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
	rt.Topic = topic
	rt.Partitions = parts
	req.Topics = append(req.Topics, rt)
	return req
}

func epochPart(partition, current, epoch int32) kmsg.OffsetForLeaderEpochRequestTopicPartition {
	p := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	p.Partition, p.CurrentLeaderEpoch, p.LeaderEpoch = partition, current, epoch
	return p
}

func TestOffsetForLeaderEpoch(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "ep", 1, nil)
	produceAt(t, b, "ep", 0, time.Now().UnixMilli(), 3) // epoch 0: 0-2
	tp := replica.TopicPartition{Topic: "ep", Partition: 0}
	p, _ := b.Replicas.Partition(tp)
	if err := b.Replicas.BecomeLeader(tp, p.TopicID(), 2, []int32{b.NodeID}, []int32{b.NodeID}, replica.DefaultPartitionConfig()); err != nil {
		t.Fatal(err)
	}
	produceAt(t, b, "ep", 0, time.Now().UnixMilli(), 2) // epoch 2: 3-4

	cases := []struct {
		name           string
		current, epoch int32
		minV           int16
		code           *kerr.Error
		wantEpoch      int32
		wantEnd        int64
	}{
		{"first epoch", -1, 0, 0, nil, 0, 3},
		{"epoch between maps down", -1, 1, 0, nil, 0, 3},
		{"current epoch ends at the log end", -1, 2, 0, nil, 2, 5},
		{"newer than any", -1, 3, 0, nil, -1, -1},
		{"current epoch checked", 2, 0, 2, nil, 0, 3},
		{"fenced", 1, 0, 2, kerr.FencedLeaderEpoch, -1, -1},
		{"unknown", 3, 0, 2, kerr.UnknownLeaderEpoch, -1, -1},
	}
	maxV := kmsg.NewPtrOffsetForLeaderEpochRequest().MaxVersion()
	for v := int16(0); v <= maxV; v++ {
		for _, tc := range cases {
			if v < tc.minV {
				continue
			}
			for _, replicaID := range []int32{-1, 2} { // consumer, follower
				resp := b.raw(t, offsetForEpochReq(v, replicaID, "ep", epochPart(0, tc.current, tc.epoch))).(*kmsg.OffsetForLeaderEpochResponse)
				got := resp.Topics[0].Partitions[0]
				code := int16(0)
				if tc.code != nil {
					code = tc.code.Code
				}
				wantEpoch := tc.wantEpoch
				if v < 1 {
					wantEpoch = -1 // no leader epoch in v0 answers
				}
				if got.ErrorCode != code || got.EndOffset != tc.wantEnd || got.LeaderEpoch != wantEpoch {
					t.Fatalf("v%d replica %d %s: %v epoch %d end %d, want %v %d %d", v, replicaID, tc.name,
						kerr.ErrorForCode(got.ErrorCode), got.LeaderEpoch, got.EndOffset, tc.code, wantEpoch, tc.wantEnd)
				}
			}
		}
	}

	resp := b.raw(t, offsetForEpochReq(4, -1, "nope", epochPart(0, -1, 0))).(*kmsg.OffsetForLeaderEpochResponse)
	if c := resp.Topics[0].Partitions[0].ErrorCode; c != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("unknown topic: %v", kerr.ErrorForCode(c))
	}
	if err := b.Replicas.RemovePartition(tp, false); err != nil {
		t.Fatal(err)
	}
	resp = b.raw(t, offsetForEpochReq(4, -1, "ep", epochPart(0, -1, 0))).(*kmsg.OffsetForLeaderEpochResponse)
	if c := resp.Topics[0].Partitions[0].ErrorCode; c != kerr.NotLeaderForPartition.Code {
		t.Fatalf("not hosted: %v", kerr.ErrorForCode(c))
	}
}

// franz-go validates a consumer's position with OffsetForLeaderEpoch
// (KIP-320) when it has a leader epoch: consuming with kgo exercises it.
func TestOffsetForLeaderEpochWithFranzGo(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "kep", 1, nil)
	produceAt(t, b, "kep", 0, time.Now().UnixMilli(), 3)
	cl := b.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := offsetForEpochReq(4, -1, "kep", epochPart(0, 0, 0))
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.LeaderEpoch != 0 || p.EndOffset != 3 {
		t.Fatalf("%+v", p)
	}
}
