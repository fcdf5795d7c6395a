package handler

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestHeartbeatEveryVersion(t *testing.T) {
	b := startGroupBroker(t)
	j := b.joinOne(t, "g", 9)
	for v := int16(0); v <= kmsg.NewPtrHeartbeatRequest().MaxVersion(); v++ {
		req := kmsg.NewPtrHeartbeatRequest()
		req.Version = v
		req.Group = "g"
		req.MemberID = j.MemberID
		req.Generation = j.Generation
		if got := b.raw(t, req).(*kmsg.HeartbeatResponse).ErrorCode; got != 0 {
			t.Fatalf("v%d: %v", v, kerr.ErrorForCode(got))
		}
		req.Generation++
		if got := b.raw(t, req).(*kmsg.HeartbeatResponse).ErrorCode; got != kerr.IllegalGeneration.Code {
			t.Fatalf("v%d wrong generation: %v", v, kerr.ErrorForCode(got))
		}
	}
	req := kmsg.NewPtrHeartbeatRequest()
	req.Version = 4
	req.Group = "unknown"
	if got := b.raw(t, req).(*kmsg.HeartbeatResponse).ErrorCode; got != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown group: %v", kerr.ErrorForCode(got))
	}
}
