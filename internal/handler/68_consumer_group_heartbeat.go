package handler

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/coordinator/group"
)

// ConsumerGroupHeartbeat (key 68) is the whole KIP-848 consumer group
// protocol: a member joins (epoch 0), heartbeats, acknowledges
// revocations and receives its assignment, or leaves (epoch -1, or -2 for
// a static member coming back). The coordinator computes assignments
// server-side; internal/coordinator/group owns the state machine.
//
// v0-v1 are served (v1, KIP-1082: the client names itself; regex
// subscriptions).
func init() {
	register(kmsg.ConsumerGroupHeartbeat.Int16(), 0, -1, serveConsumerGroupHeartbeat)
}

func serveConsumerGroupHeartbeat(h *Handler, c *Context, req *kmsg.ConsumerGroupHeartbeatRequest) {
	if h.deps.Groups == nil {
		resp := req.ResponseKind().(*kmsg.ConsumerGroupHeartbeatResponse)
		resp.ErrorCode = codeCoordinatorNotAvailable
		c.respond(resp)
		return
	}
	h.deps.Groups.ConsumerGroupHeartbeat(req, group.ClientInfo{ID: c.ClientID(), Host: clientHost(c)},
		func(resp *kmsg.ConsumerGroupHeartbeatResponse) { c.respond(resp) })
}
