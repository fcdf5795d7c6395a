package handler

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestOffsetFetchAllTopicsAndGroups: null topics fetch every committed
// offset; v8+ fetches several groups at once.
func TestOffsetFetchAllTopicsAndGroups(t *testing.T) {
	b := startGroupBroker(t)
	id := b.createTopic(t, "t", 2, nil)
	for _, g := range []string{"a", "b"} {
		b.raw(t, commitReq(9, g, "t", id, 10))
	}
	f := kmsg.NewPtrOffsetFetchRequest()
	f.Version = 10
	for _, g := range []string{"a", "b", "none"} {
		fg := kmsg.NewOffsetFetchRequestGroup()
		fg.Group = g
		f.Groups = append(f.Groups, fg)
	}
	fr := b.raw(t, f).(*kmsg.OffsetFetchResponse)
	if len(fr.Groups) != 3 {
		t.Fatalf("groups %d", len(fr.Groups))
	}
	for _, g := range fr.Groups[:2] {
		if g.ErrorCode != 0 || len(g.Topics) != 1 || g.Topics[0].TopicID != id || len(g.Topics[0].Partitions) != 2 ||
			g.Topics[0].Partitions[1].Offset != 11 {
			t.Fatalf("group %s: %+v", g.Group, g)
		}
	}
	if len(fr.Groups[2].Topics) != 0 || fr.Groups[2].ErrorCode != 0 {
		t.Fatalf("unknown group: %+v", fr.Groups[2])
	}
	// v2-v7: null topics, one group.
	f = kmsg.NewPtrOffsetFetchRequest()
	f.Version = 7
	f.Group = "a"
	fr = b.raw(t, f).(*kmsg.OffsetFetchResponse)
	if fr.ErrorCode != 0 || len(fr.Topics) != 1 || fr.Topics[0].Topic != "t" || len(fr.Topics[0].Partitions) != 2 {
		t.Fatalf("v7 all topics: %+v", fr)
	}
}
