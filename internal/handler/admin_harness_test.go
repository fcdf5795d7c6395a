package handler

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/replica"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// The admin tests run on the shared harness (harness_test.go) with two
// additions the admin APIs need and the data-plane tests do not:
//
//   - dynamic broker configs committed through the controller are applied
//     to the broker's config.BrokerConfig (ReplaceDynamic), as the server
//     does, so DescribeConfigs sees what IncrementalAlterConfigs set;
//   - optionally, the broker registers itself with its bound endpoint, as
//     the server does once its listeners are up.
//
// Topic creation and deletion reach the replica manager through the
// harness's publisher listener (BecomeLeader / RemovePartition), which is
// the server's wiring in miniature.

// adminOptions tunes startAdminBroker.
type adminOptions struct {
	props    map[string]string
	register bool // register this node in the image with its bound endpoint
}

func withProps(kv ...string) func(*adminOptions) {
	return func(o *adminOptions) {
		for i := 0; i+1 < len(kv); i += 2 {
			o.props[kv[i]] = kv[i+1]
		}
	}
}

func registered(o *adminOptions) { o.register = true }

// startAdminBroker starts a harness broker for the admin API tests.
func startAdminBroker(t *testing.T, opts ...func(*adminOptions)) *testBroker {
	t.Helper()
	o := adminOptions{props: map[string]string{}}
	for _, f := range opts {
		f(&o)
	}
	b := startBroker(t, func(bo *brokerOptions) { bo.Props = o.props })
	self := strconv.Itoa(int(b.NodeID))
	unsubscribe := b.Publisher.Subscribe(func(_, next *metadata.Image, delta *metadata.Delta) {
		for _, res := range delta.Configs {
			if res.Type != metadata.ResourceBroker || (res.Name != "" && res.Name != self) {
				continue
			}
			b.recordErr(b.Config.ReplaceDynamic(res.Name != "", next.Configs(res)))
		}
	})
	t.Cleanup(unsubscribe)
	if o.register {
		addr := b.Server.Addr("PLAINTEXT").(*net.TCPAddr)
		host, port := addr.IP.String(), addr.Port
		if _, err := b.Controller.RegisterBroker(metadata.Broker{
			ID: b.NodeID, Rack: b.Config.Broker().Rack,
			Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: host, Port: uint16(port)}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// admin returns a kadm client on b.
func (b *testBroker) admin(t *testing.T) *kadm.Client {
	t.Helper()
	return kadm.NewClient(b.client(t))
}

// appendRecords appends n records of size bytes to a hosted partition
// through the replica manager, as an acks=1 produce would.
func (b *testBroker) appendRecords(t *testing.T, topic string, partition int32, n, size int) {
	t.Helper()
	bld := record.NewBuilder(record.DefaultBuilderOptions())
	for i := range n {
		bld.Add(time.Now().UnixMilli(), []byte(strconv.Itoa(i)), make([]byte, size))
	}
	batch, err := bld.Build()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []replica.AppendResult, 1)
	b.Replicas.AppendRecords(1, 10*time.Second, storage.OriginClient,
		[]replica.AppendRequest{{TP: replica.TopicPartition{Topic: topic, Partition: partition}, Records: batch}},
		func(r []replica.AppendResult) { done <- r })
	select {
	case res := <-done:
		if res[0].Err != nil {
			t.Fatalf("append to %s-%d: %v", topic, partition, res[0].Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("append did not complete")
	}
}

// hosts reports whether the replica manager hosts tp.
func (b *testBroker) hosts(topic string, partition int32) bool {
	_, ok := b.Replicas.Partition(replica.TopicPartition{Topic: topic, Partition: partition})
	return ok
}

func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
