package handler

import (
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

func TestDescribeCluster(t *testing.T) {
	b := startAdminBroker(t, registered, withProps("broker.rack", "r1"))
	if _, err := b.Controller.RegisterBroker(metadata.Broker{ID: 2, Fenced: true,
		Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: "10.0.0.2", Port: 9092}}}); err != nil {
		t.Fatal(err)
	}
	addr := b.Server.Addr("PLAINTEXT").(*net.TCPAddr)
	for v := int16(0); v <= kmsg.NewPtrDescribeClusterRequest().MaxVersion(); v++ {
		req := kmsg.NewPtrDescribeClusterRequest()
		req.SetVersion(v)
		req.IncludeClusterAuthorizedOperations = true
		req.IncludeFencedBrokers = true
		resp := b.raw(t, req).(*kmsg.DescribeClusterResponse)
		if resp.ErrorCode != 0 || resp.ClusterID != "samsa-handler-test" || resp.ControllerID != 1 ||
			resp.ClusterAuthorizedOperations != clusterAuthorizedOps {
			t.Fatalf("v%d: %+v", v, resp)
		}
		wantBrokers := 1
		if v >= 2 {
			wantBrokers = 2 // the fenced one too, flagged
		}
		if len(resp.Brokers) != wantBrokers {
			t.Fatalf("v%d brokers %+v", v, resp.Brokers)
		}
		self := resp.Brokers[0]
		if self.NodeID != 1 || self.Host != addr.IP.String() || self.Port != int32(addr.Port) || self.Rack == nil || *self.Rack != "r1" || self.IsFenced {
			t.Fatalf("v%d self %+v", v, self)
		}
		if v >= 2 && !resp.Brokers[1].IsFenced {
			t.Fatalf("v%d broker 2 not flagged fenced", v)
		}
		if v >= 1 && resp.EndpointType != 1 {
			t.Fatalf("v%d endpoint type %d", v, resp.EndpointType)
		}
	}
	// Not asked for: the schema's "unset" value.
	req := kmsg.NewPtrDescribeClusterRequest()
	if resp := b.raw(t, req).(*kmsg.DescribeClusterResponse); resp.ClusterAuthorizedOperations != -2147483648 {
		t.Fatalf("unrequested ops %d", resp.ClusterAuthorizedOperations)
	}
	for _, tc := range []struct {
		typ  int8
		code int16
	}{{2, kerr.MismatchedEndpointType.Code}, {5, kerr.UnsupportedEndpointType.Code}} {
		req := kmsg.NewPtrDescribeClusterRequest()
		req.SetVersion(1)
		req.EndpointType = tc.typ
		resp := b.raw(t, req).(*kmsg.DescribeClusterResponse)
		if resp.ErrorCode != tc.code || resp.ErrorMessage == nil {
			t.Fatalf("endpoint type %d: %+v", tc.typ, resp)
		}
	}
	// kadm's view agrees.
	bd, err := b.admin(t).ListBrokers(ctx10(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(bd) != 1 || bd[0].NodeID != 1 {
		t.Fatalf("kadm brokers %+v", bd)
	}
}
