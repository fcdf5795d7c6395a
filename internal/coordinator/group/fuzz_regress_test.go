package group

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Regressions FuzzGroupProtocol found, each pinned by a plain test.

// TestCommitDuplicatePartitionEntries: an OffsetCommit naming a partition
// twice is answered entry by entry, as Kafka does. An entry refused for
// its metadata must not lend its OFFSET_METADATA_TOO_LARGE to the other
// entry, which is written: the client would be told the commit failed
// while the offset moved.
func TestCommitDuplicatePartitionEntries(t *testing.T) {
	e := newEnv(t, nil)
	r := kmsg.NewPtrOffsetCommitRequest()
	r.Version = 7
	r.Group, r.Generation = "g", -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = "t"
	big, small := strings.Repeat("x", 5000), "ok"
	for _, md := range []*string{&big, &small} {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.Metadata = 0, 5, md
		rt.Partitions = append(rt.Partitions, rp)
	}
	r.Topics = append(r.Topics, rt)
	a, done := newAsync[*kmsg.OffsetCommitResponse](t)
	e.c.OffsetCommit(r, done)
	codes := commitCodes(a.get())
	if len(codes) != 2 || codes[0] != codeOffsetMetadataTooLarge || codes[1] != 0 {
		t.Fatalf("codes %v, want [%d 0]", codes, codeOffsetMetadataTooLarge)
	}
	if got := e.fetch("g")["t"][0]; got != 5 {
		t.Fatalf("committed offset %d, want 5", got)
	}
}
