package handler

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestListGroupsEveryVersion(t *testing.T) {
	b := startGroupBroker(t)
	b.joinOne(t, "joined", 9)
	b.createTopic(t, "t", 2, nil)
	b.raw(t, commitReq(9, "simple", "t", [16]byte{}, 1))
	for v := int16(0); v <= kmsg.NewPtrListGroupsRequest().MaxVersion(); v++ {
		req := kmsg.NewPtrListGroupsRequest()
		req.Version = v
		resp := b.raw(t, req).(*kmsg.ListGroupsResponse)
		if resp.ErrorCode != 0 || len(resp.Groups) != 2 {
			t.Fatalf("v%d: %+v", v, resp)
		}
		if v >= 4 {
			req.StatesFilter = []string{"completingrebalance"}
			resp = b.raw(t, req).(*kmsg.ListGroupsResponse)
			if len(resp.Groups) != 1 || resp.Groups[0].Group != "joined" || resp.Groups[0].GroupState != "CompletingRebalance" {
				t.Fatalf("v%d states filter: %+v", v, resp.Groups)
			}
			req.StatesFilter = nil
		}
		if v >= 5 {
			req.TypesFilter = []string{"consumer"}
			if resp = b.raw(t, req).(*kmsg.ListGroupsResponse); len(resp.Groups) != 0 {
				t.Fatalf("v%d types filter consumer: %+v", v, resp.Groups)
			}
			req.TypesFilter = []string{"Classic"}
			if resp = b.raw(t, req).(*kmsg.ListGroupsResponse); len(resp.Groups) != 2 || resp.Groups[0].GroupType != "classic" {
				t.Fatalf("v%d types filter classic: %+v", v, resp.Groups)
			}
		}
	}
}
