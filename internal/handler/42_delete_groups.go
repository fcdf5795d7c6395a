package handler

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteGroups (key 42) deletes empty groups and their committed offsets
// (KIP-229).
//
// Every version is served (v0-v3); v3 adds an error message per group.
func init() {
	register(kmsg.DeleteGroups.Int16(), 0, -1, serveDeleteGroups)
}

func serveDeleteGroups(h *Handler, c *Context, req *kmsg.DeleteGroupsRequest) {
	if h.deps.Groups == nil {
		resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
		for _, id := range req.Groups {
			g := kmsg.NewDeleteGroupsResponseGroup()
			g.Group = id
			g.ErrorCode = codeCoordinatorNotAvailable
			resp.Groups = append(resp.Groups, g)
		}
		c.respond(resp)
		return
	}
	h.deps.Groups.DeleteGroups(req, func(resp *kmsg.DeleteGroupsResponse) { c.respond(resp) })
}
