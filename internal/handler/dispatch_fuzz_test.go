package handler

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/coordinator/group"
	"github.com/samsa-streaming/samsa/internal/network"
)

// FuzzDispatch sends arbitrary bodies, under the header of any API key and
// version, to a broker holding a topic and running a group coordinator
// (loaded, reading the metadata image, so that group and offset bodies
// reach its state machine rather than COORDINATOR_NOT_AVAILABLE).
// Whatever the bytes, the broker must answer or close that connection
// promptly (no panic, no hang, no runaway decode), and must go on serving
// other connections. The seeds are every registered API's default request
// at its lowest and highest version, plus group requests that get past
// validation (dispatchGroupSeeds).
func FuzzDispatch(f *testing.F) {
	for _, a := range supportedAPIs() {
		req := kmsg.RequestForKey(a.key)
		for _, v := range []int16{a.min, a.max} {
			req.SetVersion(v)
			f.Add(a.key, v, req.AppendTo(nil))
		}
	}
	for _, req := range dispatchGroupSeeds() {
		f.Add(req.Key(), req.GetVersion(), req.AppendTo(nil))
	}
	f.Add(int16(0x7f00), int16(0), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, key, version int16, body []byte) {
		b := startDispatchBroker(t)
		b.createTopic(t, "t", 2, nil)

		hdr := network.AppendRequestHeader(nil, &network.Header{
			APIKey: key, APIVersion: version, CorrelationID: 1,
			ClientID: kmsg.StringPtr("fuzz"), Version: network.RequestHeaderVersion(key, version),
		})
		frame := binary.BigEndian.AppendUint32(nil, uint32(len(hdr)+len(body)))
		frame = append(append(frame, hdr...), body...)
		c := b.dial(t)
		_ = c.conn.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := c.conn.Write(frame); err != nil {
			t.Fatal(err)
		}
		// An answer (or a close) must come; what it says is the API's
		// business, tested elsewhere. acks=0 produce answers nothing, so a
		// follow-up ApiVersions on the same connection proves progress.
		c.send(kmsg.NewPtrApiVersionsRequest())
		var size [4]byte
		var ne net.Error
		if _, err := c.conn.Read(size[:1]); errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s v%d: no answer and no close within the deadline", kmsg.NameForKey(key), version)
		}
		// Still serving.
		if resp := b.raw(t, kmsg.NewPtrApiVersionsRequest()).(*kmsg.ApiVersionsResponse); resp.ErrorCode != 0 {
			t.Fatalf("after %s v%d: ApiVersions error %d", kmsg.NameForKey(key), version, resp.ErrorCode)
		}
	})
}

// startDispatchBroker starts a harness broker with a group coordinator
// that reads the broker's metadata image (KIP-848 groups assign from it),
// without an initial rebalance delay, and waits for it to load its one
// __consumer_offsets partition.
func startDispatchBroker(t *testing.T) *testBroker {
	t.Helper()
	var coord *group.Coordinator
	b := startBroker(t, func(o *brokerOptions) {
		o.Props = map[string]string{"group.initial.rebalance.delay.ms": "0"}
		o.Deps = func(d *Deps) {
			var err error
			coord, err = group.New(group.Config{
				NodeID: 1, NumPartitions: 1, Replicas: d.Replicas, Broker: d.Config.Broker(),
				Metadata: d.Metadata, Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			d.Groups = coord
		}
	})
	t.Cleanup(func() { _ = coord.Close() })
	b.createTopic(t, group.OffsetsTopic, 1, map[string]string{"cleanup.policy": "compact"})
	p, _ := b.Publisher.Image().Partition(group.OffsetsTopic, 0)
	coord.OnElection(0, p.LeaderEpoch)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code := make(chan int16, 1)
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Groups = []string{"probe"}
		coord.DescribeGroups(req, func(r *kmsg.DescribeGroupsResponse) { code <- r.Groups[0].ErrorCode })
		if <-code != kerr.CoordinatorLoadInProgress.Code {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatal("the group coordinator did not load")
		}
		time.Sleep(time.Millisecond)
	}
}

// dispatchGroupSeeds are group requests a fuzzer would take long to find:
// well-formed, naming topic "t", at the versions clients use.
func dispatchGroupSeeds() []kmsg.Request {
	join := kmsg.NewPtrJoinGroupRequest()
	join.Version = 5
	join.Group, join.ProtocolType = "g", "consumer"
	join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = 10000, 10000
	jp := kmsg.NewJoinGroupRequestProtocol()
	jp.Name = "range"
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{"t"}
	jp.Metadata = meta.AppendTo(nil)
	join.Protocols = append(join.Protocols, jp)

	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Version = 5
	sync.Group, sync.MemberID, sync.Generation = "g", "m", 1
	sa := kmsg.NewSyncGroupRequestGroupAssignment()
	sa.MemberID, sa.MemberAssignment = "m", []byte{0, 0}
	sync.GroupAssignment = append(sync.GroupAssignment, sa)

	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Version = 8
	commit.Group, commit.Generation = "g", -1
	ct := kmsg.NewOffsetCommitRequestTopic()
	ct.Topic = "t"
	cp := kmsg.NewOffsetCommitRequestTopicPartition()
	cp.Partition, cp.Offset = 1, 5
	ct.Partitions = append(ct.Partitions, cp)
	commit.Topics = append(commit.Topics, ct)

	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Version = 9
	fg := kmsg.NewOffsetFetchRequestGroup()
	fg.Group = "g"
	fetch.Groups = append(fetch.Groups, fg)

	del := kmsg.NewPtrOffsetDeleteRequest()
	del.Group = "g"
	dt := kmsg.NewOffsetDeleteRequestTopic()
	dt.Topic = "t"
	dt.Partitions = append(dt.Partitions, kmsg.NewOffsetDeleteRequestTopicPartition())
	del.Topics = append(del.Topics, dt)

	cg := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	cg.Version = 1
	cg.Group, cg.MemberID = "cg", "member-1"
	cg.RebalanceTimeoutMillis = 10000
	cg.SubscribedTopicNames = []string{"t"}
	cg.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	cgRegex := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	cgRegex.Version = 1
	cgRegex.Group, cgRegex.MemberID = "cg", "member-2"
	cgRegex.RebalanceTimeoutMillis = 10000
	cgRegex.SubscribedTopicRegex = kmsg.StringPtr("t|(")

	describe := kmsg.NewPtrDescribeGroupsRequest()
	describe.Version = 5
	describe.Groups = []string{"g", "cg", ""}
	cgDescribe := kmsg.NewPtrConsumerGroupDescribeRequest()
	cgDescribe.Version = 1
	cgDescribe.Groups = []string{"cg", "g"}
	delGroups := kmsg.NewPtrDeleteGroupsRequest()
	delGroups.Version = 2
	delGroups.Groups = []string{"g", "cg"}
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Version = 5
	leave.Group = "g"
	leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: "m"}, {InstanceID: kmsg.StringPtr("i")}}
	return []kmsg.Request{join, sync, commit, fetch, del, cg, cgRegex, describe, cgDescribe, delGroups, leave}
}
