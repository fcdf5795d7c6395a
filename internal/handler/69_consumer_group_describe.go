package handler

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ConsumerGroupDescribe (key 69) describes KIP-848 consumer groups: state,
// group and assignment epochs, assignor, and each member's subscription,
// current and target assignment. Groups that are not consumer groups are
// GROUP_ID_NOT_FOUND (clients fall back to DescribeGroups).
//
// v0-v1 are served (v1 adds each member's type, KIP-1099). With no
// authorizer, the operations asked for (IncludeAuthorizedOperations) are
// every operation Kafka defines on a group.
func init() {
	register(kmsg.ConsumerGroupDescribe.Int16(), 0, -1, serveConsumerGroupDescribe)
}

func serveConsumerGroupDescribe(h *Handler, c *Context, req *kmsg.ConsumerGroupDescribeRequest) {
	finish := func(resp *kmsg.ConsumerGroupDescribeResponse) {
		for i := range resp.Groups {
			g := &resp.Groups[i]
			g.AuthorizedOperations = authorizedGroupOperations(req.IncludeAuthorizedOperations, g.ErrorCode)
		}
		c.respond(resp)
	}
	if h.deps.Groups == nil {
		resp := req.ResponseKind().(*kmsg.ConsumerGroupDescribeResponse)
		for _, id := range req.Groups {
			g := kmsg.NewConsumerGroupDescribeResponseGroup()
			g.Group = id
			g.ErrorCode = codeCoordinatorNotAvailable
			resp.Groups = append(resp.Groups, g)
		}
		finish(resp)
		return
	}
	h.deps.Groups.ConsumerGroupDescribe(req, finish)
}
