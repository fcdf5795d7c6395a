package handler

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/replica"
)

// produceAt appends one batch of n records stamped ts to topic/partition
// through a raw Produce and returns its base offset.
func produceAt(t *testing.T, b *testBroker, topic string, partition int32, ts int64, n int) int64 {
	t.Helper()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "k"
	}
	p := producePartition(t, b.raw(t, produceReq(9, -1, topic, map[int32][]byte{partition: produceBatch(t, record.DefaultBuilderOptions(), ts, keys...)})), 0, 0)
	if p.ErrorCode != 0 {
		t.Fatalf("produce to %s-%d: %v", topic, partition, kerr.ErrorForCode(p.ErrorCode))
	}
	return p.BaseOffset
}

func listOffsetsReq(v int16, topic string, parts ...kmsg.ListOffsetsRequestTopicPartition) *kmsg.ListOffsetsRequest {
	req := kmsg.NewPtrListOffsetsRequest()
	req.SetVersion(v)
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rt.Partitions = parts
	req.Topics = append(req.Topics, rt)
	return req
}

func lop(partition int32, ts int64) kmsg.ListOffsetsRequestTopicPartition {
	p := kmsg.NewListOffsetsRequestTopicPartition()
	p.Partition, p.Timestamp, p.MaxNumOffsets = partition, ts, 10
	return p
}

func TestListOffsetsEveryVersion(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "lo", 1, nil)
	base := time.Now().Add(-time.Hour).UnixMilli()
	produceAt(t, b, "lo", 0, base, 3)     // 0-2
	produceAt(t, b, "lo", 0, base+100, 3) // 3-5: the max timestamp
	produceAt(t, b, "lo", 0, base+50, 3)  // 6-8

	type want struct {
		offset, ts int64
		epoch      int32
	}
	special := []struct {
		name string
		ts   int64
		minV int16
		want want
	}{
		{"latest", -1, 1, want{9, -1, 0}},
		{"earliest", -2, 1, want{0, -1, 0}},
		{"by time", base + 50, 1, want{3, base + 100, 0}},
		{"before everything", base - 1000, 1, want{0, base, 0}},
		{"after everything", base + 101, 1, want{-1, -1, -1}},
		{"max timestamp", -3, 7, want{3, base + 100, 0}},
		{"earliest local", -4, 8, want{0, -1, 0}},
		{"latest tiered", -5, 9, want{-1, -1, -1}},
	}
	maxV := kmsg.NewPtrListOffsetsRequest().MaxVersion()
	for v := int16(1); v <= maxV; v++ {
		for _, tc := range special {
			if v < tc.minV {
				continue
			}
			resp := b.raw(t, listOffsetsReq(v, "lo", lop(0, tc.ts))).(*kmsg.ListOffsetsResponse)
			p := resp.Topics[0].Partitions[0]
			w := tc.want
			if v < 4 {
				w.epoch = -1 // not on the wire
			}
			if p.ErrorCode != 0 || p.Offset != w.offset || p.Timestamp != w.ts || p.LeaderEpoch != w.epoch {
				t.Fatalf("v%d %s: %v offset %d ts %d epoch %d, want %+v", v, tc.name, kerr.ErrorForCode(p.ErrorCode), p.Offset, p.Timestamp, p.LeaderEpoch, w)
			}
		}
	}

	// v0: the old offsets array, newest first.
	resp := b.raw(t, listOffsetsReq(0, "lo", lop(0, -1))).(*kmsg.ListOffsetsResponse)
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || !slices.Equal(p.OldStyleOffsets, []int64{9, 0}) {
		t.Fatalf("v0 latest: %v %v", kerr.ErrorForCode(p.ErrorCode), p.OldStyleOffsets)
	}
	one := lop(0, -1)
	one.MaxNumOffsets = 1
	resp = b.raw(t, listOffsetsReq(0, "lo", one, lop(0, -2))).(*kmsg.ListOffsetsResponse)
	if p := resp.Topics[0].Partitions; !slices.Equal(p[0].OldStyleOffsets, []int64{9}) || !slices.Equal(p[1].OldStyleOffsets, []int64{0}) {
		t.Fatalf("v0 latest max 1, earliest: %v %v", p[0].OldStyleOffsets, p[1].OldStyleOffsets)
	}
	resp = b.raw(t, listOffsetsReq(0, "nope", lop(0, -1))).(*kmsg.ListOffsetsResponse)
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("v0 unknown topic: %v", kerr.ErrorForCode(p.ErrorCode))
	}
}

func TestListOffsetsErrors(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "lo", 2, nil)
	produceAt(t, b, "lo", 0, time.Now().UnixMilli(), 2)

	// Duplicates: both occurrences answer INVALID_REQUEST, others are served.
	resp := b.raw(t, listOffsetsReq(5, "lo", lop(0, -1), lop(1, -1), lop(0, -2))).(*kmsg.ListOffsetsResponse)
	ps := resp.Topics[0].Partitions
	if ps[0].ErrorCode != kerr.InvalidRequest.Code || ps[2].ErrorCode != kerr.InvalidRequest.Code || ps[1].ErrorCode != 0 {
		t.Fatalf("duplicates: %v %v %v", kerr.ErrorForCode(ps[0].ErrorCode), kerr.ErrorForCode(ps[1].ErrorCode), kerr.ErrorForCode(ps[2].ErrorCode))
	}
	if ps[0].Offset != -1 || ps[0].Timestamp != -1 {
		t.Fatalf("duplicate answered with offsets: %+v", ps[0])
	}

	// Unknown topic and partition.
	resp = b.raw(t, listOffsetsReq(5, "nope", lop(0, -1))).(*kmsg.ListOffsetsResponse)
	if c := resp.Topics[0].Partitions[0].ErrorCode; c != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("unknown topic: %v", kerr.ErrorForCode(c))
	}
	resp = b.raw(t, listOffsetsReq(5, "lo", lop(7, -1))).(*kmsg.ListOffsetsResponse)
	if c := resp.Topics[0].Partitions[0].ErrorCode; c != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("unknown partition: %v", kerr.ErrorForCode(c))
	}

	// KIP-320 epochs: the replica layer moves to epoch 5.
	tp := replica.TopicPartition{Topic: "lo", Partition: 0}
	p, _ := b.Replicas.Partition(tp)
	if err := b.Replicas.BecomeLeader(tp, p.TopicID(), 5, []int32{b.NodeID}, []int32{b.NodeID}, replica.DefaultPartitionConfig()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		epoch int32
		want  int16
	}{{4, kerr.FencedLeaderEpoch.Code}, {6, kerr.UnknownLeaderEpoch.Code}, {5, 0}, {-1, 0}} {
		part := lop(0, -1)
		part.CurrentLeaderEpoch = tc.epoch
		got := b.raw(t, listOffsetsReq(4, "lo", part)).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
		if got.ErrorCode != tc.want {
			t.Fatalf("current epoch %d: %v", tc.epoch, kerr.ErrorForCode(got.ErrorCode))
		}
		if tc.want == 0 && (got.Offset != 2 || got.LeaderEpoch != 5) {
			t.Fatalf("current epoch %d: offset %d epoch %d", tc.epoch, got.Offset, got.LeaderEpoch)
		}
	}

	// Known but not hosted here.
	if err := b.Replicas.RemovePartition(tp, false); err != nil {
		t.Fatal(err)
	}
	resp = b.raw(t, listOffsetsReq(5, "lo", lop(0, -1))).(*kmsg.ListOffsetsResponse)
	if c := resp.Topics[0].Partitions[0].ErrorCode; c != kerr.NotLeaderForPartition.Code {
		t.Fatalf("not hosted: %v", kerr.ErrorForCode(c))
	}
}

func TestListOffsetsIsolationAndReplicas(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "iso", 1, nil)
	produceAt(t, b, "iso", 0, time.Now().UnixMilli(), 4)
	for _, tc := range []struct {
		replicaID int32
		isolation int8
	}{{-1, 0}, {-1, 1}, {-2, 0}, {2, 1}} {
		req := listOffsetsReq(6, "iso", lop(0, -1))
		req.ReplicaID, req.IsolationLevel = tc.replicaID, tc.isolation
		p := b.raw(t, req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
		if p.ErrorCode != 0 || p.Offset != 4 {
			t.Fatalf("replica %d isolation %d: %v offset %d", tc.replicaID, tc.isolation, kerr.ErrorForCode(p.ErrorCode), p.Offset)
		}
	}
}

func TestListOffsetsWithFranzGo(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "kadm", 3, nil)
	base := time.Now().Add(-time.Minute).UnixMilli()
	for p := range int32(3) {
		produceAt(t, b, "kadm", p, base, int(p)+1)
		produceAt(t, b, "kadm", p, base+10, 2)
	}
	adm := kadm.NewClient(b.client(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, "kadm")
	if err != nil {
		t.Fatal(err)
	}
	starts, err := adm.ListStartOffsets(ctx, "kadm")
	if err != nil {
		t.Fatal(err)
	}
	after, err := adm.ListOffsetsAfterMilli(ctx, base+5, "kadm")
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(3) {
		e, _ := ends.Lookup("kadm", p)
		s, _ := starts.Lookup("kadm", p)
		a, _ := after.Lookup("kadm", p)
		if e.Err != nil || s.Err != nil || a.Err != nil {
			t.Fatalf("partition %d: %v %v %v", p, e.Err, s.Err, a.Err)
		}
		if e.Offset != int64(p)+3 || s.Offset != 0 || a.Offset != int64(p)+1 {
			t.Fatalf("partition %d: end %d start %d after %d", p, e.Offset, s.Offset, a.Offset)
		}
	}
}
