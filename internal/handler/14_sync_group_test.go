package handler

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestSyncGroupEveryVersion(t *testing.T) {
	b := startGroupBroker(t)
	for v := int16(0); v <= kmsg.NewPtrSyncGroupRequest().MaxVersion(); v++ {
		g := fmt.Sprintf("sync-v%d", v)
		j := b.joinOne(t, g, 9)
		req := kmsg.NewPtrSyncGroupRequest()
		req.Version = v
		req.Group = g
		req.MemberID = j.MemberID
		req.Generation = j.Generation
		if v >= 5 {
			req.ProtocolType, req.Protocol = j.ProtocolType, j.Protocol
		}
		a := kmsg.NewSyncGroupRequestGroupAssignment()
		a.MemberID = j.MemberID
		a.MemberAssignment = []byte("assignment")
		req.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{a}
		resp := b.raw(t, req).(*kmsg.SyncGroupResponse)
		if resp.ErrorCode != 0 || string(resp.MemberAssignment) != "assignment" {
			t.Fatalf("v%d: %v %q", v, kerr.ErrorForCode(resp.ErrorCode), resp.MemberAssignment)
		}
		if v >= 5 && (resp.Protocol == nil || *resp.Protocol != "range") {
			t.Fatalf("v%d: protocol %v", v, resp.Protocol)
		}
	}
}

func TestSyncGroupErrors(t *testing.T) {
	b := startGroupBroker(t)
	j := b.joinOne(t, "g", 9)
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version = 5
	req.Group = "g"
	req.MemberID = j.MemberID
	req.Generation = j.Generation
	// v5+ requires protocol type and name.
	if got := b.raw(t, req).(*kmsg.SyncGroupResponse).ErrorCode; got != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("missing protocol: %v", kerr.ErrorForCode(got))
	}
	other := "roundrobin"
	req.ProtocolType, req.Protocol = j.ProtocolType, &other
	if got := b.raw(t, req).(*kmsg.SyncGroupResponse).ErrorCode; got != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("wrong protocol: %v", kerr.ErrorForCode(got))
	}
	req.Protocol = j.Protocol
	req.Generation++
	if got := b.raw(t, req).(*kmsg.SyncGroupResponse).ErrorCode; got != kerr.IllegalGeneration.Code {
		t.Fatalf("wrong generation: %v", kerr.ErrorForCode(got))
	}
	req.Generation--
	req.MemberID = "nobody"
	if got := b.raw(t, req).(*kmsg.SyncGroupResponse).ErrorCode; got != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown member: %v", kerr.ErrorForCode(got))
	}
}
