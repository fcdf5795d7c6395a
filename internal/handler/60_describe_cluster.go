package handler

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeCluster (KIP-700): every version since 0.
func init() {
	register(kmsg.DescribeCluster.Int16(), 0, -1, serveDescribeCluster)
}

// Kafka's EndpointType ids (KIP-919).
const (
	endpointBroker     int8 = 1
	endpointController int8 = 2
)

// serveDescribeCluster answers as a Kafka broker does
// (AuthHelper.computeDescribeClusterResponse with the broker's node list):
// the cluster id, the controller id (see clusterView.controllerID), and the
// brokers with an endpoint on the request's listener, with their racks;
// from v2 fenced brokers only when asked for, flagged. This node serves
// broker endpoints: a request for controller endpoints (v1+) gets
// MISMATCHED_ENDPOINT_TYPE, an unknown endpoint type
// UNSUPPORTED_ENDPOINT_TYPE (INVALID_REQUEST in v0, which lacks both
// codes). Cluster authorized operations are filled in when asked for.
func serveDescribeCluster(h *Handler, c *Context, req *kmsg.DescribeClusterRequest) {
	v := c.Version()
	resp := kmsg.NewPtrDescribeClusterResponse()
	typ := req.EndpointType
	if v < 1 {
		typ = endpointBroker
	}
	switch typ {
	case endpointBroker:
	case endpointController:
		resp.ErrorCode = kerr.MismatchedEndpointType.Code
		resp.ErrorMessage = strp("The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER")
		c.respond(resp)
		return
	default:
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
		if v == 0 {
			resp.ErrorCode = kerr.InvalidRequest.Code
		}
		resp.ErrorMessage = strp("Unsupported endpoint type " + strconv.Itoa(int(typ)))
		c.respond(resp)
		return
	}

	view := h.clusterView(h.image(), c.Req.Conn.Listener(), c.Req.Conn.LocalAddr())
	resp.EndpointType = endpointBroker
	resp.ClusterID = h.deps.ClusterID
	resp.ControllerID = view.controllerID(h.deps.NodeID)
	for _, n := range view.nodes {
		if n.fenced && !(v >= 2 && req.IncludeFencedBrokers) {
			continue
		}
		b := kmsg.NewDescribeClusterResponseBroker()
		b.NodeID, b.Host, b.Port, b.Rack, b.IsFenced = n.id, n.host, n.port, n.rack, n.fenced
		resp.Brokers = append(resp.Brokers, b)
	}
	if req.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = clusterAuthorizedOps
	}
	c.respond(resp)
}
