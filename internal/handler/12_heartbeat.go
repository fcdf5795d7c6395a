package handler

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Heartbeat (key 12) keeps a classic group member's session alive and
// tells it when the group rebalances (REBALANCE_IN_PROGRESS).
//
// Every version is served (v0-v4); Kafka 4 dropped none.
func init() {
	register(kmsg.Heartbeat.Int16(), 0, -1, serveHeartbeat)
}

func serveHeartbeat(h *Handler, c *Context, req *kmsg.HeartbeatRequest) {
	if h.deps.Groups == nil {
		resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.ErrorCode = codeCoordinatorNotAvailable
		c.respond(resp)
		return
	}
	h.deps.Groups.Heartbeat(req, func(resp *kmsg.HeartbeatResponse) { c.respond(resp) })
}
