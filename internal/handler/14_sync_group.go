package handler

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SyncGroup (key 14) is the second step of the classic group protocol:
// the leader hands in the assignment, every member gets its share once
// the coordinator has persisted it.
//
// Every version is served (v0-v5); Kafka 4 dropped none.
func init() {
	register(kmsg.SyncGroup.Int16(), 0, -1, serveSyncGroup)
}

func serveSyncGroup(h *Handler, c *Context, req *kmsg.SyncGroupRequest) {
	if h.deps.Groups == nil {
		resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = codeCoordinatorNotAvailable
		c.respond(resp)
		return
	}
	h.deps.Groups.SyncGroup(req, func(resp *kmsg.SyncGroupResponse) { c.respond(resp) })
}
