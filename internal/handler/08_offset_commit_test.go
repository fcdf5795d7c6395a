package handler

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// commitReq is a standalone (generation -1) commit of t-0 at offset.
func commitReq(v int16, groupID, topic string, id [16]byte, offset int64) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = v
	req.Group = groupID
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rt.TopicID = id
	for p := range int32(2) {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition = p
		rp.Offset = offset + int64(p)
		rp.LeaderEpoch = 3
		md := "meta"
		rp.Metadata = &md
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = []kmsg.OffsetCommitRequestTopic{rt}
	return req
}

func TestOffsetCommitFetchEveryVersion(t *testing.T) {
	b := startGroupBroker(t)
	id := b.createTopic(t, "t", 2, nil)
	for v := int16(2); v <= kmsg.NewPtrOffsetCommitRequest().MaxVersion(); v++ {
		g := fmt.Sprintf("commit-v%d", v)
		resp := b.raw(t, commitReq(v, g, "t", id, int64(100*v))).(*kmsg.OffsetCommitResponse)
		for _, p := range resp.Topics[0].Partitions {
			if p.ErrorCode != 0 {
				t.Fatalf("commit v%d: %v", v, kerr.ErrorForCode(p.ErrorCode))
			}
		}
		if v >= 10 && resp.Topics[0].TopicID != id {
			t.Fatalf("commit v%d: topic id not echoed", v)
		}
		// Read it back at every OffsetFetch version.
		for fv := int16(1); fv <= kmsg.NewPtrOffsetFetchRequest().MaxVersion(); fv++ {
			f := kmsg.NewPtrOffsetFetchRequest()
			f.Version = fv
			var offsets []int64
			var epochs []int32
			if fv < 8 {
				f.Group = g
				ft := kmsg.NewOffsetFetchRequestTopic()
				ft.Topic = "t"
				ft.Partitions = []int32{0, 1, 2}
				f.Topics = []kmsg.OffsetFetchRequestTopic{ft}
				fr := b.raw(t, f).(*kmsg.OffsetFetchResponse)
				if fr.ErrorCode != 0 {
					t.Fatalf("fetch v%d: %v", fv, kerr.ErrorForCode(fr.ErrorCode))
				}
				for _, p := range fr.Topics[0].Partitions {
					offsets = append(offsets, p.Offset)
					epochs = append(epochs, p.LeaderEpoch)
				}
			} else {
				fg := kmsg.NewOffsetFetchRequestGroup()
				fg.Group = g
				ft := kmsg.NewOffsetFetchRequestGroupTopic()
				ft.Topic = "t"
				ft.TopicID = id
				ft.Partitions = []int32{0, 1, 2}
				fg.Topics = []kmsg.OffsetFetchRequestGroupTopic{ft}
				f.Groups = []kmsg.OffsetFetchRequestGroup{fg}
				fr := b.raw(t, f).(*kmsg.OffsetFetchResponse)
				if len(fr.Groups) != 1 || fr.Groups[0].ErrorCode != 0 {
					t.Fatalf("fetch v%d: %+v", fv, fr)
				}
				if fv >= 10 && fr.Groups[0].Topics[0].TopicID != id {
					t.Fatalf("fetch v%d: topic id not echoed", fv)
				}
				for _, p := range fr.Groups[0].Topics[0].Partitions {
					offsets = append(offsets, p.Offset)
					epochs = append(epochs, p.LeaderEpoch)
				}
			}
			want := []int64{int64(100 * v), int64(100*v) + 1, -1}
			if fmt.Sprint(offsets) != fmt.Sprint(want) {
				t.Fatalf("commit v%d fetch v%d: offsets %v, want %v", v, fv, offsets, want)
			}
			if fv >= 5 && v >= 6 && epochs[0] != 3 {
				t.Fatalf("commit v%d fetch v%d: leader epoch %d", v, fv, epochs[0])
			}
		}
	}
}

func TestOffsetCommitUnknownTopics(t *testing.T) {
	b := startGroupBroker(t)
	b.createTopic(t, "t", 1, nil)
	// Partition 1 does not exist; topic "nope" neither.
	resp := b.raw(t, commitReq(9, "g", "t", [16]byte{}, 5)).(*kmsg.OffsetCommitResponse)
	if c0, c1 := resp.Topics[0].Partitions[0].ErrorCode, resp.Topics[0].Partitions[1].ErrorCode; c0 != 0 || c1 != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("codes %v %v", kerr.ErrorForCode(c0), kerr.ErrorForCode(c1))
	}
	resp = b.raw(t, commitReq(9, "g", "nope", [16]byte{}, 5)).(*kmsg.OffsetCommitResponse)
	if c := resp.Topics[0].Partitions[0].ErrorCode; c != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("unknown topic: %v", kerr.ErrorForCode(c))
	}
	resp = b.raw(t, commitReq(10, "g", "", [16]byte{9}, 5)).(*kmsg.OffsetCommitResponse)
	if c := resp.Topics[0].Partitions[0].ErrorCode; c != kerr.UnknownTopicID.Code {
		t.Fatalf("unknown topic id: %v", kerr.ErrorForCode(c))
	}
	// A member commit to a group that does not exist.
	req := commitReq(8, "nogroup", "t", [16]byte{}, 5)
	req.Generation = 3
	req.MemberID = "m"
	req.Topics[0].Partitions = req.Topics[0].Partitions[:1]
	if c := b.raw(t, req).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode; c != kerr.IllegalGeneration.Code {
		t.Fatalf("v8 commit to an unknown group: %v", kerr.ErrorForCode(c))
	}
	req.Version = 9
	if c := b.raw(t, req).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode; c != kerr.GroupIDNotFound.Code {
		t.Fatalf("v9 commit to an unknown group: %v", kerr.ErrorForCode(c))
	}
}
