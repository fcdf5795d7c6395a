package handler

import (
	"math"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeGroups (key 15) reports groups' states, protocols and members.
//
// Every version is served (v0-v6); Kafka 4 dropped none. v3+ may ask for
// the operations the caller may perform on each group (KIP-430): with no
// authorizer, that is every operation Kafka defines on a group.
func init() {
	register(kmsg.DescribeGroups.Int16(), 0, -1, serveDescribeGroups)
}

// groupOperations is the AuthorizedOperations bit field of every
// operation Kafka supports on a group resource (READ, DELETE, DESCRIBE,
// DESCRIBE_CONFIGS, ALTER_CONFIGS), what a broker without an authorizer
// reports.
const groupOperations int32 = 1<<3 | 1<<6 | 1<<8 | 1<<10 | 1<<11

// authorizedGroupOperations is the AuthorizedOperations a described group
// reports (DescribeGroups, ConsumerGroupDescribe): groupOperations when the
// request asked for them and the group was described, Kafka's "not
// requested" (math.MinInt32) otherwise.
func authorizedGroupOperations(requested bool, errorCode int16) int32 {
	if requested && errorCode == 0 {
		return groupOperations
	}
	return math.MinInt32
}

func serveDescribeGroups(h *Handler, c *Context, req *kmsg.DescribeGroupsRequest) {
	finish := func(resp *kmsg.DescribeGroupsResponse) {
		for i := range resp.Groups {
			g := &resp.Groups[i]
			g.AuthorizedOperations = authorizedGroupOperations(req.IncludeAuthorizedOperations, g.ErrorCode)
		}
		c.respond(resp)
	}
	if h.deps.Groups == nil {
		resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
		for _, id := range req.Groups {
			g := kmsg.NewDescribeGroupsResponseGroup()
			g.Group = id
			g.ErrorCode = codeCoordinatorNotAvailable
			resp.Groups = append(resp.Groups, g)
		}
		finish(resp)
		return
	}
	h.deps.Groups.DescribeGroups(req, finish)
}
