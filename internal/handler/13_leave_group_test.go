package handler

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestLeaveGroupEveryVersion(t *testing.T) {
	b := startGroupBroker(t)
	for v := int16(0); v <= kmsg.NewPtrLeaveGroupRequest().MaxVersion(); v++ {
		g := fmt.Sprintf("leave-v%d", v)
		j := b.joinOne(t, g, 9)
		req := kmsg.NewPtrLeaveGroupRequest()
		req.Version = v
		req.Group = g
		if v < 3 {
			req.MemberID = j.MemberID
		} else {
			m := kmsg.NewLeaveGroupRequestMember()
			m.MemberID = j.MemberID
			unknown := kmsg.NewLeaveGroupRequestMember()
			unknown.MemberID = "nobody"
			req.Members = []kmsg.LeaveGroupRequestMember{m, unknown}
		}
		resp := b.raw(t, req).(*kmsg.LeaveGroupResponse)
		if v < 3 {
			if resp.ErrorCode != 0 {
				t.Fatalf("v%d: %v", v, kerr.ErrorForCode(resp.ErrorCode))
			}
		} else {
			if resp.ErrorCode != 0 || len(resp.Members) != 2 || resp.Members[0].ErrorCode != 0 ||
				resp.Members[1].ErrorCode != kerr.UnknownMemberID.Code {
				t.Fatalf("v%d: %+v", v, resp)
			}
		}
		// The member is gone: the group became empty.
		d := kmsg.NewPtrDescribeGroupsRequest()
		d.Groups = []string{g}
		if st := b.raw(t, d).(*kmsg.DescribeGroupsResponse).Groups[0].State; st != "Empty" {
			t.Fatalf("v%d: state after leave %s", v, st)
		}
		if v < 3 {
			// v0-v2 fold a member error into the top-level code.
			req.MemberID = "nobody"
			if got := b.raw(t, req).(*kmsg.LeaveGroupResponse).ErrorCode; got != kerr.UnknownMemberID.Code {
				t.Fatalf("v%d unknown member: %v", v, kerr.ErrorForCode(got))
			}
		}
	}
}
