package handler

import (
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/coordinator/group"
)

// JoinGroup (key 11) is the first step of Kafka's classic group protocol:
// a member joins (or rejoins) a group and, once every member has, learns
// the generation, the leader and (the leader) the members' metadata. The
// request may stay parked in the coordinator for up to the rebalance
// timeout; internal/coordinator/group owns the state machine.
//
// Kafka 4 serves v2-v9 (KIP-896 dropped v0 and v1).
func init() {
	register(kmsg.JoinGroup.Int16(), 2, -1, serveJoinGroup)
}

func serveJoinGroup(h *Handler, c *Context, req *kmsg.JoinGroupRequest) {
	if h.deps.Groups == nil {
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode = codeCoordinatorNotAvailable
		resp.MemberID = req.MemberID
		c.respond(resp)
		return
	}
	h.deps.Groups.JoinGroup(req, group.ClientInfo{ID: c.ClientID(), Host: clientHost(c)}, func(resp *kmsg.JoinGroupResponse) {
		c.respond(resp)
	})
}

// clientHost is the client's address as Kafka reports it in
// DescribeGroups: Java's InetAddress.toString, "/" and the IP.
func clientHost(c *Context) string {
	if c.Req == nil || c.Req.Conn == nil {
		return ""
	}
	addr := c.Req.Conn.RemoteAddr()
	if addr == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		host = addr.String()
	}
	return "/" + host
}
