package handler

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestDeleteGroupsEveryVersion(t *testing.T) {
	b := startGroupBroker(t)
	b.createTopic(t, "t", 2, nil)
	b.joinOne(t, "busy", 9)
	for v := int16(0); v <= kmsg.NewPtrDeleteGroupsRequest().MaxVersion(); v++ {
		b.raw(t, commitReq(9, "simple", "t", [16]byte{}, 1))
		req := kmsg.NewPtrDeleteGroupsRequest()
		req.Version = v
		req.Groups = []string{"simple", "busy", "missing"}
		resp := b.raw(t, req).(*kmsg.DeleteGroupsResponse)
		want := []int16{0, kerr.NonEmptyGroup.Code, kerr.GroupIDNotFound.Code}
		for i, g := range resp.Groups {
			if g.ErrorCode != want[i] {
				t.Fatalf("v%d %s: %v", v, g.Group, kerr.ErrorForCode(g.ErrorCode))
			}
			if v >= 3 && g.ErrorCode != 0 && g.ErrorMessage == nil {
				t.Fatalf("v%d %s: no error message", v, g.Group)
			}
		}
		f := kmsg.NewPtrOffsetFetchRequest()
		f.Version = 7
		f.Group = "simple"
		if fr := b.raw(t, f).(*kmsg.OffsetFetchResponse); len(fr.Topics) != 0 {
			t.Fatalf("v%d: offsets survived the deletion: %+v", v, fr.Topics)
		}
	}
}
