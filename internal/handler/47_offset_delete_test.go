package handler

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestOffsetDelete(t *testing.T) {
	b := startGroupBroker(t)
	b.createTopic(t, "t", 2, nil)
	b.raw(t, commitReq(9, "g", "t", [16]byte{}, 1))
	req := kmsg.NewPtrOffsetDeleteRequest()
	req.Group = "g"
	rt := kmsg.NewOffsetDeleteRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewOffsetDeleteRequestTopicPartition()
	rp.Partition = 0
	rt.Partitions = []kmsg.OffsetDeleteRequestTopicPartition{rp}
	req.Topics = []kmsg.OffsetDeleteRequestTopic{rt}
	resp := b.raw(t, req).(*kmsg.OffsetDeleteResponse)
	if resp.ErrorCode != 0 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("delete: %+v", resp)
	}
	f := kmsg.NewPtrOffsetFetchRequest()
	f.Version = 7
	f.Group = "g"
	fr := b.raw(t, f).(*kmsg.OffsetFetchResponse)
	if len(fr.Topics) != 1 || len(fr.Topics[0].Partitions) != 1 || fr.Topics[0].Partitions[0].Partition != 1 {
		t.Fatalf("after delete: %+v", fr.Topics)
	}
	req.Group = "missing"
	if c := b.raw(t, req).(*kmsg.OffsetDeleteResponse).ErrorCode; c != kerr.GroupIDNotFound.Code {
		t.Fatalf("missing group: %v", kerr.ErrorForCode(c))
	}
	// A member consuming t: its offsets cannot be deleted.
	b.joinOne(t, "member", 9)
	req.Group = "member"
	req.Topics[0].Topic = "t"
	resp = b.raw(t, req).(*kmsg.OffsetDeleteResponse)
	if resp.ErrorCode != 0 || resp.Topics[0].Partitions[0].ErrorCode != kerr.GroupSubscribedToTopic.Code {
		t.Fatalf("subscribed: %+v", resp)
	}
}
