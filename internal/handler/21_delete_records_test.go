package handler

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func deleteRecordsReq(v int16, topic string, offsets map[int32]int64, order ...int32) *kmsg.DeleteRecordsRequest {
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.SetVersion(v)
	req.TimeoutMillis = 5000
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	for _, p := range order {
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = p, offsets[p]
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

func TestDeleteRecordsEveryVersion(t *testing.T) {
	maxV := kmsg.NewPtrDeleteRecordsRequest().MaxVersion()
	for v := int16(0); v <= maxV; v++ {
		b := startBroker(t)
		b.createTopic(t, "dr", 2, nil)
		for range 3 {
			produceAt(t, b, "dr", 0, time.Now().UnixMilli(), 2)
		}
		produceAt(t, b, "dr", 1, time.Now().UnixMilli(), 2)

		resp := b.raw(t, deleteRecordsReq(v, "dr", map[int32]int64{0: 3, 1: -1, 5: 0}, 0, 1, 5)).(*kmsg.DeleteRecordsResponse)
		ps := resp.Topics[0].Partitions
		if ps[0].ErrorCode != 0 || ps[0].LowWatermark != 3 {
			t.Fatalf("v%d delete before 3: %v lw %d", v, kerr.ErrorForCode(ps[0].ErrorCode), ps[0].LowWatermark)
		}
		if ps[1].ErrorCode != 0 || ps[1].LowWatermark != 2 {
			t.Fatalf("v%d delete up to the HW: %v lw %d", v, kerr.ErrorForCode(ps[1].ErrorCode), ps[1].LowWatermark)
		}
		if ps[2].ErrorCode != kerr.UnknownTopicOrPartition.Code || ps[2].LowWatermark != -1 {
			t.Fatalf("v%d unknown partition: %v lw %d", v, kerr.ErrorForCode(ps[2].ErrorCode), ps[2].LowWatermark)
		}
		// The earliest offset moved.
		lo := b.raw(t, listOffsetsReq(5, "dr", lop(0, -2))).(*kmsg.ListOffsetsResponse)
		if off := lo.Topics[0].Partitions[0].Offset; off != 3 {
			t.Fatalf("v%d earliest after delete: %d", v, off)
		}
	}
}

func TestDeleteRecordsErrors(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "dr", 1, nil)
	b.createTopic(t, "compacted", 1, map[string]string{"cleanup.policy": "compact"})
	b.createTopic(t, "__consumer_offsets", 1, nil)
	produceAt(t, b, "dr", 0, time.Now().UnixMilli(), 4)

	for _, tc := range []struct {
		name   string
		topic  string
		offset int64
		want   *kerr.Error
	}{
		{"beyond the high watermark", "dr", 5, kerr.OffsetOutOfRange},
		{"below -1", "dr", -2, kerr.OffsetOutOfRange},
		{"compacted topic", "compacted", -1, kerr.PolicyViolation},
		{"internal topic", "__consumer_offsets", -1, kerr.InvalidTopicException},
		{"unknown topic", "nope", 0, kerr.UnknownTopicOrPartition},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := b.raw(t, deleteRecordsReq(2, tc.topic, map[int32]int64{0: tc.offset}, 0)).(*kmsg.DeleteRecordsResponse)
			if p := resp.Topics[0].Partitions[0]; p.ErrorCode != tc.want.Code || p.LowWatermark != -1 {
				t.Fatalf("%v lw %d, want %v", kerr.ErrorForCode(p.ErrorCode), p.LowWatermark, tc.want)
			}
		})
	}
	// A partition named twice is answered once, for its last offset.
	req := deleteRecordsReq(2, "dr", map[int32]int64{0: 1}, 0)
	again := kmsg.NewDeleteRecordsRequestTopicPartition()
	again.Partition, again.Offset = 0, 2
	req.Topics[0].Partitions = append(req.Topics[0].Partitions, again)
	resp := b.raw(t, req).(*kmsg.DeleteRecordsResponse)
	if ps := resp.Topics[0].Partitions; len(ps) != 1 || ps[0].LowWatermark != 2 {
		t.Fatalf("duplicate partition: %+v", ps)
	}
}

func TestDeleteRecordsWithFranzGo(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "kdr", 1, nil)
	produceAt(t, b, "kdr", 0, time.Now().UnixMilli(), 5)
	adm := kadm.NewClient(b.client(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offsets := kadm.Offsets{}
	offsets.AddOffset("kdr", 0, 4, -1)
	res, err := adm.DeleteRecords(ctx, offsets)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := res.Lookup("kdr", 0)
	if !ok || r.Err != nil || r.LowWatermark != 4 {
		t.Fatalf("DeleteRecords: %+v", r)
	}
}

// TestDeleteRecordsDuplicateAppliesLastOnly: Kafka keeps a partition
// named twice in a map, so only its last offset is applied, not every
// one in turn (which would delete up to the largest).
func TestDeleteRecordsDuplicateAppliesLastOnly(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "dr", 1, nil)
	produceAt(t, b, "dr", 0, time.Now().UnixMilli(), 4)
	req := deleteRecordsReq(2, "dr", map[int32]int64{0: 3}, 0)
	again := kmsg.NewDeleteRecordsRequestTopicPartition()
	again.Partition, again.Offset = 0, 1
	req.Topics[0].Partitions = append(req.Topics[0].Partitions, again)
	resp := b.raw(t, req).(*kmsg.DeleteRecordsResponse)
	if ps := resp.Topics[0].Partitions; len(ps) != 1 || ps[0].ErrorCode != 0 || ps[0].LowWatermark != 1 {
		t.Fatalf("duplicate partition: %+v", ps)
	}
	lo := b.raw(t, listOffsetsReq(5, "dr", lop(0, -2))).(*kmsg.ListOffsetsResponse)
	if off := lo.Topics[0].Partitions[0].Offset; off != 1 {
		t.Fatalf("earliest offset %d after deleting before 1 (the last of the duplicates)", off)
	}
}
