package handler

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestOffsetCommitDuplicatePartitionEntries: the coordinator's answer is
// merged back entry by entry. A request naming a partition twice, once
// with metadata over offset.metadata.max.bytes, gets
// OFFSET_METADATA_TOO_LARGE for that entry and NONE for the one that was
// written, not one code for both.
func TestOffsetCommitDuplicatePartitionEntries(t *testing.T) {
	b := startGroupBroker(t)
	b.createTopic(t, "dup", 1, nil)
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 8
	req.Group, req.Generation = "dup-group", -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = "dup"
	big := strings.Repeat("x", 5000)
	for _, md := range []*string{&big, kmsg.StringPtr("ok"), nil} {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.Metadata = 0, 7, md
		if md == nil {
			rp.Partition = 3 // not in the topic: refused by the handler
		}
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp := b.raw(t, req).(*kmsg.OffsetCommitResponse)
	var codes []int16
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			codes = append(codes, p.ErrorCode)
		}
	}
	want := []int16{kerr.OffsetMetadataTooLarge.Code, 0, kerr.UnknownTopicOrPartition.Code}
	if len(codes) != 3 || codes[0] != want[0] || codes[1] != want[1] || codes[2] != want[2] {
		t.Fatalf("codes %v, want %v", codes, want)
	}
	f := kmsg.NewPtrOffsetFetchRequest()
	f.Version = 7
	f.Group = "dup-group"
	fr := b.raw(t, f).(*kmsg.OffsetFetchResponse)
	if len(fr.Topics) != 1 || fr.Topics[0].Partitions[0].Offset != 7 {
		t.Fatalf("fetch: %+v", fr.Topics)
	}
}
