package handler

import (
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/coordinator/group"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/purgatory"
)

// groupsBroker tunes startGroupsBroker.
type groupsBroker struct {
	register     bool // register the bound endpoint, as the server does
	noController bool // a handler without a metadata controller
	props        []string
}

// startGroupsBroker starts a harness broker whose handler has a group
// coordinator (on a timer of its own), with o.props (name, value, ...)
// added to the broker config.
func startGroupsBroker(t *testing.T, o groupsBroker) *testBroker {
	t.Helper()
	timer, err := purgatory.NewTimer(purgatory.TimerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(timer.Close)
	p := map[string]string{}
	for i := 0; i+1 < len(o.props); i += 2 {
		p[o.props[i]] = o.props[i+1]
	}
	b := startBroker(t, func(bo *brokerOptions) {
		bo.Props = p
		bo.Deps = func(d *Deps) {
			b := d.Config.Broker()
			g, err := group.New(group.Config{
				NodeID:        d.NodeID,
				NumPartitions: b.OffsetsTopicNumPartitions,
				Replicas:      d.Replicas,
				Timer:         timer,
				Broker:        b,
				Now:           time.Now,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = g.Close() })
			d.Groups = g
			if o.noController {
				d.Controller = nil
			}
		}
	})
	if o.register {
		addr := b.Server.Addr("PLAINTEXT").(*net.TCPAddr)
		if _, err := b.Controller.RegisterBroker(metadata.Broker{ID: b.NodeID,
			Endpoints: []metadata.Endpoint{{Listener: "PLAINTEXT", Host: addr.IP.String(), Port: uint16(addr.Port)}}}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// findCoordinatorReq builds a FindCoordinator request at version v for
// keys (the first key only below v4).
func findCoordinatorReq(v int16, keyType int8, keys ...string) *kmsg.FindCoordinatorRequest {
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.SetVersion(v)
	req.CoordinatorType = keyType
	if v < 4 {
		req.CoordinatorKey = keys[0]
	} else {
		req.CoordinatorKeys = keys
	}
	return req
}

// coordinatorOf is one key's answer, whatever the version's layout.
type coordinatorOf struct {
	key  string
	code int16
	msg  *string
	node int32
	host string
	port int32
}

func findCoordinator(t *testing.T, b *testBroker, v int16, keyType int8, keys ...string) []coordinatorOf {
	t.Helper()
	resp := b.raw(t, findCoordinatorReq(v, keyType, keys...)).(*kmsg.FindCoordinatorResponse)
	if v < 4 {
		if len(resp.Coordinators) != 0 {
			t.Fatalf("v%d: batched answer %+v", v, resp)
		}
		return []coordinatorOf{{keys[0], resp.ErrorCode, resp.ErrorMessage, resp.NodeID, resp.Host, resp.Port}}
	}
	if resp.ErrorCode != 0 || resp.NodeID != 0 || resp.Host != "" {
		t.Fatalf("v%d: single-key fields set in a batched answer %+v", v, resp)
	}
	out := make([]coordinatorOf, len(resp.Coordinators))
	for i, c := range resp.Coordinators {
		out[i] = coordinatorOf{c.Key, c.ErrorCode, c.ErrorMessage, c.NodeID, c.Host, c.Port}
	}
	return out
}

func maxFindCoordinator() int16 { return kmsg.NewPtrFindCoordinatorRequest().MaxVersion() }

func TestFindCoordinatorVersions(t *testing.T) {
	// Served from v0 (kafka-python < 2.1 needs it) to the newest kmsg knows.
	a := apiFor(kmsg.FindCoordinator.Int16())
	if a == nil || a.min != 0 || a.max != maxFindCoordinator() || a.max < 6 {
		t.Fatalf("FindCoordinator registered as %+v", a)
	}
}

// TestFindCoordinatorCreatesOffsetsTopic: the first lookup creates
// __consumer_offsets with the coordinator's settings and, since the
// controller commits synchronously, already names this broker; every
// version gives the endpoint of the listener the request came in on.
func TestFindCoordinatorCreatesOffsetsTopic(t *testing.T) {
	b := startGroupsBroker(t, groupsBroker{register: true, props: []string{
		"offsets.topic.num.partitions", "5",
		"offsets.topic.segment.bytes", "1048576",
		"auto.create.topics.enable", "false", // internal topics are created regardless
	}})
	addr := b.Server.Addr("PLAINTEXT").(*net.TCPAddr)

	got := findCoordinator(t, b, 3, coordinatorGroup, "g1")[0]
	if got.code != 0 || got.node != 1 || got.host != addr.IP.String() || got.port != int32(addr.Port) {
		t.Fatalf("first lookup: %+v", got)
	}
	topic := b.Publisher.Image().Topic("__consumer_offsets")
	if topic == nil || len(topic.Partitions) != 5 || !topic.Internal {
		t.Fatalf("offsets topic %+v", topic)
	}
	cfgs := b.Publisher.Image().TopicConfigs("__consumer_offsets")
	if cfgs["cleanup.policy"] != "compact" || cfgs["compression.type"] != "producer" || cfgs["segment.bytes"] != "1048576" {
		t.Fatalf("offsets topic configs %v", cfgs)
	}
	for p := range int32(5) {
		if !b.hosts("__consumer_offsets", p) {
			t.Fatalf("__consumer_offsets-%d not hosted", p)
		}
	}

	for v := int16(0); v <= maxFindCoordinator(); v++ {
		for _, key := range []string{"g1", "another-group", ""} {
			got := findCoordinator(t, b, v, coordinatorGroup, key)[0]
			if got.code != 0 || got.node != 1 || got.host != addr.IP.String() || got.port != int32(addr.Port) {
				t.Fatalf("v%d group %q: %+v", v, key, got)
			}
			if v >= 1 && v < 4 && (got.msg == nil || *got.msg != "NONE") {
				t.Fatalf("v%d: error message %v, Kafka sends NONE", v, got.msg)
			}
			if v >= 4 && (got.key != key || got.msg != nil) {
				t.Fatalf("v%d: %+v", v, got)
			}
		}
	}

	// Metadata reports the topic as internal.
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(12)
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("__consumer_offsets")
	req.Topics = append(req.Topics, rt)
	md := b.raw(t, req).(*kmsg.MetadataResponse)
	if len(md.Topics) != 1 || !md.Topics[0].IsInternal || len(md.Topics[0].Partitions) != 5 {
		t.Fatalf("metadata of the offsets topic: %+v", md.Topics)
	}
}

// TestFindCoordinatorBatch: v4+ answers each key, in request order, the
// duplicates too, and creates the topic once for the whole batch.
func TestFindCoordinatorBatch(t *testing.T) {
	b := startGroupsBroker(t, groupsBroker{register: true, props: []string{"offsets.topic.num.partitions", "3"}})
	keys := []string{"a", "b", "a", "c", ""}
	for v := int16(4); v <= maxFindCoordinator(); v++ {
		got := findCoordinator(t, b, v, coordinatorGroup, keys...)
		if len(got) != len(keys) {
			t.Fatalf("v%d: %d answers for %d keys", v, len(got), len(keys))
		}
		for i, g := range got {
			if g.key != keys[i] || g.code != 0 || g.node != 1 {
				t.Fatalf("v%d key %d: %+v", v, i, g)
			}
		}
		// No keys, no answers.
		if got := findCoordinator(t, b, v, coordinatorGroup); len(got) != 0 {
			t.Fatalf("v%d empty batch: %+v", v, got)
		}
	}
}

// TestFindCoordinatorLeaderElsewhere: the coordinator is the partition's
// leader from the metadata image, whichever broker that is, described on
// the request's listener; a leader that is fenced or has no such listener
// makes the group's coordinator unavailable, as does a partition the
// coordinator hashes to that the topic does not have.
func TestFindCoordinatorLeaderElsewhere(t *testing.T) {
	const hashed = 5 // partitions the coordinator hashes into; the topic has 4
	b := startGroupsBroker(t, groupsBroker{register: true, props: []string{"offsets.topic.num.partitions", strconv.Itoa(hashed)}})
	other := func(id int32, listener string, fenced bool) metadata.Broker {
		return metadata.Broker{ID: id, Fenced: fenced,
			Endpoints: []metadata.Endpoint{{Listener: listener, Host: "10.0.0." + strconv.Itoa(int(id)), Port: 9092}}}
	}
	for _, br := range []metadata.Broker{other(2, "PLAINTEXT", false), other(3, "PLAINTEXT", false), other(4, "OTHER", false)} {
		if _, err := b.Controller.RegisterBroker(br); err != nil {
			t.Fatal(err)
		}
	}
	// Partition p is led by broker p+1.
	var as []metadata.PartitionAssignment
	for p := range int32(4) {
		as = append(as, metadata.PartitionAssignment{Partition: p, Replicas: []int32{p + 1}})
	}
	if _, err := b.Controller.CreateTopic(metadata.CreateTopicRequest{
		Name: "__consumer_offsets", NumPartitions: -1, ReplicationFactor: -1, Assignments: as, Internal: true,
	}, false); err != nil {
		t.Fatal(err)
	}
	// Broker 3 is fenced after the placement.
	if _, err := b.Controller.RegisterBroker(other(3, "PLAINTEXT", true)); err != nil {
		t.Fatal(err)
	}

	groups := b.Handler.deps.Groups
	byPartition := map[int32]string{}
	for i := 0; len(byPartition) < hashed && i < 10000; i++ {
		g := "group-" + strconv.Itoa(i)
		p := groups.PartitionFor(g)
		if p < 0 || p >= hashed {
			t.Fatalf("PartitionFor(%q) = %d with %d partitions", g, p, hashed)
		}
		if _, ok := byPartition[p]; !ok {
			byPartition[p] = g
		}
	}
	if len(byPartition) != hashed {
		t.Fatalf("no group id hashes to some partition: %v", byPartition)
	}
	addr := b.Server.Addr("PLAINTEXT").(*net.TCPAddr)
	for v := int16(0); v <= maxFindCoordinator(); v++ {
		for p, g := range byPartition {
			got := findCoordinator(t, b, v, coordinatorGroup, g)[0]
			switch p {
			case 0: // this broker
				if got.code != 0 || got.node != 1 || got.host != addr.IP.String() || got.port != int32(addr.Port) {
					t.Fatalf("v%d partition %d: %+v", v, p, got)
				}
			case 1: // broker 2, on the request's listener
				if got.code != 0 || got.node != 2 || got.host != "10.0.0.2" || got.port != 9092 {
					t.Fatalf("v%d partition %d: %+v", v, p, got)
				}
			default: // fenced leader; leader without the listener; no such partition
				if got.code != kerr.CoordinatorNotAvailable.Code || got.node != -1 || got.host != "" || got.port != -1 {
					t.Fatalf("v%d partition %d: %+v", v, p, got)
				}
				if v >= 1 && got.msg == nil {
					t.Fatalf("v%d partition %d: no error message", v, p)
				}
			}
		}
	}
}

// TestFindCoordinatorKeyTypes: transactional ids are refused with a final
// code (no transaction coordinator), share groups and unknown key types
// with INVALID_REQUEST, at every version that has a key type.
func TestFindCoordinatorKeyTypes(t *testing.T) {
	b := startGroupsBroker(t, groupsBroker{register: true})
	for v := int16(1); v <= maxFindCoordinator(); v++ {
		for _, tc := range []struct {
			keyType int8
			code    int16
		}{
			{coordinatorTransaction, kerr.TransactionalIDAuthorizationFailed.Code},
			{coordinatorShare, kerr.InvalidRequest.Code},
			{3, kerr.InvalidRequest.Code},
			{-1, kerr.InvalidRequest.Code},
		} {
			keys := []string{"k1"}
			if v >= 4 {
				keys = []string{"k1", "k2"}
			}
			for _, got := range findCoordinator(t, b, v, tc.keyType, keys...) {
				if got.code != tc.code || got.node != -1 || got.port != -1 || got.msg == nil {
					t.Fatalf("v%d key type %d: %+v", v, tc.keyType, got)
				}
			}
		}
	}
	// None of that created the offsets topic.
	if b.Publisher.Image().Topic("__consumer_offsets") != nil {
		t.Fatal("offsets topic created by a non-group lookup")
	}
}

// TestFindCoordinatorUnavailable: without a group coordinator, or when
// the offsets topic cannot be created, the answer is the retriable
// COORDINATOR_NOT_AVAILABLE.
func TestFindCoordinatorUnavailable(t *testing.T) {
	t.Run("no coordinator", func(t *testing.T) {
		b := startBroker(t)
		for v := int16(0); v <= maxFindCoordinator(); v++ {
			got := findCoordinator(t, b, v, coordinatorGroup, "g")[0]
			if got.code != kerr.CoordinatorNotAvailable.Code || got.node != -1 {
				t.Fatalf("v%d: %+v", v, got)
			}
		}
		if b.Publisher.Image().Topic("__consumer_offsets") != nil {
			t.Fatal("offsets topic created without a coordinator")
		}
	})
	t.Run("topic cannot be created", func(t *testing.T) {
		// Replication factor 3 on one broker: Kafka's classic
		// single-node pitfall; the lookup keeps answering retriably.
		b := startGroupsBroker(t, groupsBroker{register: true, props: []string{"offsets.topic.replication.factor", "3"}})
		for range 2 {
			got := findCoordinator(t, b, 3, coordinatorGroup, "g")[0]
			if got.code != kerr.CoordinatorNotAvailable.Code || got.node != -1 {
				t.Fatalf("%+v", got)
			}
		}
		if b.Publisher.Image().Topic("__consumer_offsets") != nil {
			t.Fatal("offsets topic created with an unreachable replication factor")
		}
	})
	t.Run("no controller", func(t *testing.T) {
		b := startGroupsBroker(t, groupsBroker{noController: true})
		got := findCoordinator(t, b, 4, coordinatorGroup, "g")[0]
		if got.code != kerr.CoordinatorNotAvailable.Code {
			t.Fatalf("%+v", got)
		}
	})
}

// TestFindCoordinatorClients: franz-go's own lookups (kadm, batched) agree;
// a transactional id's lookup fails with the final code.
func TestFindCoordinatorClients(t *testing.T) {
	b := startGroupsBroker(t, groupsBroker{register: true, props: []string{"offsets.topic.num.partitions", "2"}})
	resp := b.admin(t).FindGroupCoordinators(ctx10(t), "x", "y")
	for _, g := range []string{"x", "y"} {
		c, ok := resp[g]
		if !ok || c.Err != nil || c.NodeID != 1 {
			t.Fatalf("kadm coordinator of %s: %+v", g, c)
		}
	}
	txn := b.admin(t).FindTxnCoordinators(ctx10(t), "tx")
	if c := txn["tx"]; !errors.Is(c.Err, kerr.TransactionalIDAuthorizationFailed) {
		t.Fatalf("kadm coordinator of a transactional id: %+v", c)
	}
}
