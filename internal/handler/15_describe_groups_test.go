package handler

import (
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestDescribeGroupsEveryVersion(t *testing.T) {
	b := startGroupBroker(t)
	j := b.joinOne(t, "g", 9)
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Version = 5
	sync.Group, sync.MemberID, sync.Generation = "g", j.MemberID, j.Generation
	sync.ProtocolType, sync.Protocol = j.ProtocolType, j.Protocol
	a := kmsg.NewSyncGroupRequestGroupAssignment()
	a.MemberID, a.MemberAssignment = j.MemberID, []byte("x")
	sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{a}
	b.raw(t, sync)
	for v := int16(0); v <= kmsg.NewPtrDescribeGroupsRequest().MaxVersion(); v++ {
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Version = v
		req.Groups = []string{"g", "missing"}
		req.IncludeAuthorizedOperations = v >= 3
		resp := b.raw(t, req).(*kmsg.DescribeGroupsResponse)
		g := resp.Groups[0]
		if g.ErrorCode != 0 || g.State != "Stable" || g.Protocol != "range" || g.ProtocolType != "consumer" ||
			len(g.Members) != 1 || string(g.Members[0].MemberAssignment) != "x" || g.Members[0].ClientHost != "/127.0.0.1" {
			t.Fatalf("v%d: %+v", v, g)
		}
		if v >= 3 && g.AuthorizedOperations != groupOperations {
			t.Fatalf("v%d: authorized operations %d", v, g.AuthorizedOperations)
		}
		m := resp.Groups[1]
		if m.State != "Dead" {
			t.Fatalf("v%d missing group: state %s", v, m.State)
		}
		if want := int16(0); v >= 6 {
			if m.ErrorCode != kerr.GroupIDNotFound.Code {
				t.Fatalf("v%d missing group: %v", v, kerr.ErrorForCode(m.ErrorCode))
			}
		} else if m.ErrorCode != want {
			t.Fatalf("v%d missing group: %v", v, kerr.ErrorForCode(m.ErrorCode))
		}
	}
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Version = 5
	req.Groups = []string{"g"}
	if ops := b.raw(t, req).(*kmsg.DescribeGroupsResponse).Groups[0].AuthorizedOperations; ops != math.MinInt32 {
		t.Fatalf("operations not requested: %d", ops)
	}
}
