package handler

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListGroups (key 16) lists the groups this broker coordinates, filtered
// by state (v4+) and type (v5+).
//
// Every version is served (v0-v5); Kafka 4 dropped none.
func init() {
	register(kmsg.ListGroups.Int16(), 0, -1, serveListGroups)
}

func serveListGroups(h *Handler, c *Context, req *kmsg.ListGroupsRequest) {
	if h.deps.Groups == nil {
		resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
		resp.ErrorCode = codeCoordinatorNotAvailable
		c.respond(resp)
		return
	}
	h.deps.Groups.ListGroups(req, func(resp *kmsg.ListGroupsResponse) { c.respond(resp) })
}
