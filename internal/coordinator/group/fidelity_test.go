package group

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestLeaveUnknownGroup checks Kafka's answer to a LeaveGroup for a group
// that does not exist: from v3 every named member is UNKNOWN_MEMBER_ID and
// the top-level code is NONE (clients read the member list); v0-v2, which
// have no member list, get UNKNOWN_MEMBER_ID at the top.
func TestLeaveUnknownGroup(t *testing.T) {
	e := newEnv(t, nil)
	r := e.leave("nope", "m1", "m2")
	wantCode(t, "v5 top level", r.ErrorCode, 0)
	if len(r.Members) != 2 || r.Members[0].MemberID != "m1" || r.Members[1].MemberID != "m2" {
		t.Fatalf("v5 members: %+v", r.Members)
	}
	for _, m := range r.Members {
		wantCode(t, "v5 member "+m.MemberID, m.ErrorCode, codeUnknownMemberID)
	}
	req := kmsg.NewLeaveGroupRequest()
	req.Version = 0
	req.Group, req.MemberID = "nope", "m1"
	a, done := newAsync[*kmsg.LeaveGroupResponse](t)
	e.c.LeaveGroup(&req, done)
	old := a.get()
	wantCode(t, "v0", old.ErrorCode, codeUnknownMemberID)
	if len(old.Members) != 0 {
		t.Fatalf("v0 answer has members: %+v", old.Members)
	}
}
