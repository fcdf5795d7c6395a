package handler

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// LeaveGroup (key 13) removes members from a classic group: v0-v2 the
// caller itself, v3+ a batch, possibly named by group.instance.id only
// (an administrator removing static members, KIP-345).
//
// Every version is served (v0-v5); Kafka 4 dropped none.
func init() {
	register(kmsg.LeaveGroup.Int16(), 0, -1, serveLeaveGroup)
}

func serveLeaveGroup(h *Handler, c *Context, req *kmsg.LeaveGroupRequest) {
	if h.deps.Groups == nil {
		resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
		resp.ErrorCode = codeCoordinatorNotAvailable
		c.respond(resp)
		return
	}
	h.deps.Groups.LeaveGroup(req, func(resp *kmsg.LeaveGroupResponse) { c.respond(resp) })
}
