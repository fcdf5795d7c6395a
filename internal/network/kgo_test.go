package network

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kmsgHandler is a minimal handler in the style the handler package will
// use: decode with kmsg, answer with kmsg. It speaks ApiVersions,
// DescribeCluster (flexible from v0: response header v1) and ListGroups
// (offered up to v2, not flexible: response header v0), so a real client
// exercises every header shape.
type kmsgHandler struct {
	mu        sync.Mutex
	clientIDs []string // guarded by mu
}

func (h *kmsgHandler) Handle(r *Request) {
	kreq := kmsg.RequestForKey(r.Header.APIKey)
	if kreq == nil {
		r.CloseConnection()
		return
	}
	kreq.SetVersion(r.Header.APIVersion)
	if err := kreq.ReadFrom(r.Body); err != nil {
		r.CloseConnection()
		return
	}
	h.mu.Lock()
	if r.Header.ClientID != nil {
		h.clientIDs = append(h.clientIDs, *r.Header.ClientID)
	}
	h.mu.Unlock()
	switch req := kreq.(type) {
	case *kmsg.ApiVersionsRequest:
		resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
		for _, k := range []struct{ key, min, max int16 }{{18, 0, 4}, {60, 0, 0}, {16, 0, 2}} {
			ak := kmsg.NewApiVersionsResponseApiKey()
			ak.ApiKey, ak.MinVersion, ak.MaxVersion = k.key, k.min, k.max
			resp.ApiKeys = append(resp.ApiKeys, ak)
		}
		r.RespondMsg(resp)
	case *kmsg.DescribeClusterRequest:
		resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
		resp.ClusterID = "samsa-network-test"
		resp.ControllerID = 1
		b := kmsg.NewDescribeClusterResponseBroker()
		b.NodeID, b.Host, b.Port = 1, "127.0.0.1", 9092
		resp.Brokers = append(resp.Brokers, b)
		r.RespondMsg(resp)
	case *kmsg.ListGroupsRequest:
		resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
		g := kmsg.NewListGroupsResponseGroup()
		g.Group, g.ProtocolType = "group-a", "consumer"
		resp.Groups = append(resp.Groups, g)
		r.RespondMsg(resp)
	default:
		r.CloseConnection()
	}
}

// TestFranzGoClient drives the server with franz-go's kgo client, which
// checks response framing and header versions exactly as a real Kafka
// client does.
func TestFranzGoClient(t *testing.T) {
	h := &kmsgHandler{}
	s, _ := startServer(t, Config{Handler: h, MaxInFlightPerConnection: 5})
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr("PLAINTEXT").String()), kgo.ClientID("samsa-net-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// ApiVersions v4: flexible request (header v2), response header v0.
	av := kmsg.NewPtrApiVersionsRequest()
	av.ClientSoftwareName, av.ClientSoftwareVersion = "samsa-test", "1.0"
	resp, err := cl.Request(ctx, av)
	if err != nil {
		t.Fatalf("ApiVersions: %v", err)
	}
	avr := resp.(*kmsg.ApiVersionsResponse)
	if avr.ErrorCode != 0 || len(avr.ApiKeys) != 3 || avr.ApiKeys[0].ApiKey != 18 || avr.ApiKeys[0].MaxVersion != 4 {
		t.Fatalf("ApiVersions response %+v", avr)
	}

	seed := cl.SeedBrokers()
	if len(seed) != 1 {
		t.Fatalf("%d seed brokers", len(seed))
	}
	// DescribeCluster v0: flexible, response header v1.
	dc := kmsg.NewPtrDescribeClusterRequest()
	resp, err = seed[0].Request(ctx, dc)
	if err != nil {
		t.Fatalf("DescribeCluster: %v", err)
	}
	dcr := resp.(*kmsg.DescribeClusterResponse)
	if dcr.ClusterID != "samsa-network-test" || len(dcr.Brokers) != 1 || dcr.Brokers[0].Port != 9092 {
		t.Fatalf("DescribeCluster response %+v", dcr)
	}
	// ListGroups v2: not flexible, response header v0. Several at once
	// share the connection, pipelined.
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := seed[0].Request(ctx, kmsg.NewPtrListGroupsRequest())
			if err != nil {
				t.Errorf("ListGroups: %v", err)
				return
			}
			lg := resp.(*kmsg.ListGroupsResponse)
			if lg.Version != 2 || len(lg.Groups) != 1 || lg.Groups[0].Group != "group-a" {
				t.Errorf("ListGroups response %+v", lg)
			}
		}()
	}
	wg.Wait()

	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.clientIDs) == 0 {
		t.Fatal("no client ids seen")
	}
	for _, id := range h.clientIDs {
		if id != "samsa-net-test" {
			t.Fatalf("client id %q", id)
		}
	}
}
