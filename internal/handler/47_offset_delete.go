package handler

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetDelete (key 47) deletes a group's committed offsets for
// partitions its members no longer consume (KIP-496).
//
// v0, the only version.
func init() {
	register(kmsg.OffsetDelete.Int16(), 0, -1, serveOffsetDelete)
}

func serveOffsetDelete(h *Handler, c *Context, req *kmsg.OffsetDeleteRequest) {
	if h.deps.Groups == nil {
		resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
		resp.ErrorCode = codeCoordinatorNotAvailable
		c.respond(resp)
		return
	}
	h.deps.Groups.OffsetDelete(req, func(resp *kmsg.OffsetDeleteResponse) { c.respond(resp) })
}
