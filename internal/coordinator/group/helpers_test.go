package group

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/purgatory"
	"github.com/samsa-streaming/samsa/internal/replica"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// env is a Coordinator over a real replica.Manager and real logs in a
// temp dir, with one manual clock driving both the timer and the
// coordinator's timestamps: nothing expires until the test moves it.
type env struct {
	t      testing.TB
	dir    string
	logs   *storage.Manager
	clock  *purgatory.ManualClock
	timer  *purgatory.Timer
	rm     *replica.Manager
	c      *Coordinator
	broker *config.Broker
	parts  int32
	// meta is the metadata image source consumer groups assign from
	// (consumer_helpers_test.go); nil for classic-only tests.
	meta func() *metadata.Image
}

const testNode int32 = 1

// testProps are the broker settings tests start from: no initial
// rebalance delay unless a test asks for one.
func testProps(extra map[string]string) map[string]string {
	p := map[string]string{
		"node.id":                          "1",
		"group.initial.rebalance.delay.ms": "0",
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func newEnv(t testing.TB, props map[string]string) *env {
	t.Helper()
	return newEnvParts(t, 1, props)
}

func newEnvParts(t testing.TB, parts int32, props map[string]string) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), parts: parts}
	var err error
	e.logs, err = storage.NewManager(storage.ManagerConfig{Dirs: []string{e.dir}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.logs.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.clock = purgatory.NewManualClock(time.Unix(1_700_000_000, 0))
	e.timer, err = purgatory.NewTimer(purgatory.TimerConfig{Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	e.rm, err = replica.NewManager(replica.Config{NodeID: testNode, Logs: e.logs, Timer: e.timer})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.NewBrokerConfig(testProps(props))
	if err != nil {
		t.Fatal(err)
	}
	e.broker = cfg.Broker()
	for p := range parts {
		tp := replica.TopicPartition{Topic: OffsetsTopic, Partition: p}
		var id [16]byte
		copy(id[:], "offsets")
		if err := e.rm.BecomeLeader(tp, id, 1, []int32{testNode}, []int32{testNode}, replica.DefaultPartitionConfig()); err != nil {
			t.Fatal(err)
		}
	}
	e.start()
	t.Cleanup(func() {
		if e.c != nil {
			_ = e.c.Close()
		}
		_ = e.rm.Close()
		e.timer.Close()
		if err := e.logs.Close(); err != nil {
			t.Errorf("close logs: %v", err)
		}
	})
	return e
}

// start builds a coordinator and loads every partition.
func (e *env) start() {
	e.t.Helper()
	var err error
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv("GROUP_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	e.c, err = New(Config{
		NodeID: testNode, NumPartitions: e.parts, Replicas: e.rm, Timer: e.timer,
		Logger: logger, Broker: e.broker, Now: e.clock.Now, Metadata: e.meta,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	for p := range e.parts {
		e.c.OnElection(p, 1)
	}
	e.waitLoaded()
}

// restart closes the coordinator and builds a new one that loads the
// same logs: the persistence round trip.
func (e *env) restart() {
	e.t.Helper()
	if err := e.c.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.start()
}

func (e *env) waitLoaded() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p := range e.parts {
		for {
			e.c.mu.RLock()
			s := e.c.shards[p]
			e.c.mu.RUnlock()
			if _, code := s.usable(); code == 0 {
				break
			}
			if time.Now().After(deadline) {
				e.t.Fatalf("partition %d did not load", p)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// sync waits until every shard has run everything queued before it.
func (e *env) sync() {
	e.t.Helper()
	e.c.mu.RLock()
	shards := make([]*shard, 0, len(e.c.shards))
	for _, s := range e.c.shards {
		shards = append(shards, s)
	}
	e.c.mu.RUnlock()
	for _, s := range shards {
		ch := make(chan struct{})
		s.post(event{run: func() { close(ch) }, abort: func() { close(ch) }})
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			e.t.Fatal("shard did not drain its events")
		}
	}
}

// advance moves the clock by d, runs what came due, and lets the shards
// handle it.
func (e *env) advance(d time.Duration) {
	e.t.Helper()
	e.sync() // requests already made are handled at the old time
	e.clock.Add(d)
	e.timer.Advance()
	e.sync()
}

// async is a response that may come later.
type async[R any] struct {
	t  testing.TB
	ch chan R
}

func newAsync[R any](t testing.TB) (async[R], func(R)) {
	a := async[R]{t: t, ch: make(chan R, 2)}
	return a, func(r R) { a.ch <- r }
}

// get waits for the response.
func (a async[R]) get() R {
	a.t.Helper()
	select {
	case r := <-a.ch:
		return r
	case <-time.After(10 * time.Second):
		a.t.Fatal("no response")
	}
	var zero R
	return zero
}

// pending asserts there is no response yet.
func (a async[R]) pending() {
	a.t.Helper()
	select {
	case r := <-a.ch:
		a.t.Fatalf("unexpected response %+v", r)
	default:
	}
}

// joinReq builds a JoinGroup request of a consumer with one protocol.
func joinReq(group, memberID string, version int16, protos ...string) *kmsg.JoinGroupRequest {
	r := kmsg.NewJoinGroupRequest()
	r.Version = version
	r.Group = group
	r.MemberID = memberID
	r.SessionTimeoutMillis = 10000
	r.RebalanceTimeoutMillis = 30000
	r.ProtocolType = "consumer"
	if len(protos) == 0 {
		protos = []string{"range"}
	}
	for _, p := range protos {
		jp := kmsg.NewJoinGroupRequestProtocol()
		jp.Name = p
		jp.Metadata = subscription("t1")
		r.Protocols = append(r.Protocols, jp)
	}
	return &r
}

// subscription encodes a v0 ConsumerProtocolSubscription of topics.
func subscription(topics ...string) []byte {
	m := kmsg.NewConsumerMemberMetadata()
	m.Version = 0
	m.Topics = topics
	return m.AppendTo(nil)
}

func (e *env) join(req *kmsg.JoinGroupRequest) async[*kmsg.JoinGroupResponse] {
	a, done := newAsync[*kmsg.JoinGroupResponse](e.t)
	e.c.JoinGroup(req, ClientInfo{ID: "client", Host: "/127.0.0.1"}, done)
	return a
}

// joinNew runs the two-step join of a new dynamic member (v4+) and
// returns the pending second JoinGroup and the member id.
func (e *env) joinNew(group string, protos ...string) (async[*kmsg.JoinGroupResponse], string) {
	e.t.Helper()
	r := e.join(joinReq(group, "", 9, protos...)).get()
	if r.ErrorCode != codeMemberIDRequired {
		e.t.Fatalf("first join: code %d, want MEMBER_ID_REQUIRED", r.ErrorCode)
	}
	return e.join(joinReq(group, r.MemberID, 9, protos...)), r.MemberID
}

func (e *env) syncGroup(group, member string, gen int32, assign map[string][]byte) async[*kmsg.SyncGroupResponse] {
	r := kmsg.NewSyncGroupRequest()
	r.Version = 5
	r.Group, r.MemberID, r.Generation = group, member, gen
	pt, pn := "consumer", "range"
	r.ProtocolType, r.Protocol = &pt, &pn
	for id, a := range assign {
		ga := kmsg.NewSyncGroupRequestGroupAssignment()
		ga.MemberID, ga.MemberAssignment = id, a
		r.GroupAssignment = append(r.GroupAssignment, ga)
	}
	a, done := newAsync[*kmsg.SyncGroupResponse](e.t)
	e.c.SyncGroup(&r, done)
	return a
}

func (e *env) heartbeat(group, member string, gen int32) int16 {
	r := kmsg.NewHeartbeatRequest()
	r.Version = 4
	r.Group, r.MemberID, r.Generation = group, member, gen
	a, done := newAsync[*kmsg.HeartbeatResponse](e.t)
	e.c.Heartbeat(&r, done)
	return a.get().ErrorCode
}

func (e *env) leave(group string, members ...string) *kmsg.LeaveGroupResponse {
	r := kmsg.NewLeaveGroupRequest()
	r.Version = 5
	r.Group = group
	for _, m := range members {
		lm := kmsg.NewLeaveGroupRequestMember()
		lm.MemberID = m
		r.Members = append(r.Members, lm)
	}
	a, done := newAsync[*kmsg.LeaveGroupResponse](e.t)
	e.c.LeaveGroup(&r, done)
	return a.get()
}

func (e *env) commit(group, member string, gen int32, version int16, offsets map[string]map[int32]int64) *kmsg.OffsetCommitResponse {
	r := kmsg.NewOffsetCommitRequest()
	r.Version = version
	r.Group, r.MemberID, r.Generation = group, member, gen
	for t, ps := range offsets {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = t
		for p, o := range ps {
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch = p, o, 7
			md := fmt.Sprintf("md-%d", o)
			rp.Metadata = &md
			rt.Partitions = append(rt.Partitions, rp)
		}
		r.Topics = append(r.Topics, rt)
	}
	a, done := newAsync[*kmsg.OffsetCommitResponse](e.t)
	e.c.OffsetCommit(&r, done)
	return a.get()
}

// commitCodes returns every partition code of an OffsetCommit answer.
func commitCodes(r *kmsg.OffsetCommitResponse) []int16 {
	var out []int16
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			out = append(out, p.ErrorCode)
		}
	}
	return out
}

// fetch returns the committed offsets of group (all topics).
func (e *env) fetch(group string) map[string]map[int32]int64 {
	e.t.Helper()
	r := kmsg.NewOffsetFetchRequest()
	r.Version = 9
	g := kmsg.NewOffsetFetchRequestGroup()
	g.Group = group
	r.Groups = []kmsg.OffsetFetchRequestGroup{g}
	a, done := newAsync[*kmsg.OffsetFetchResponse](e.t)
	e.c.OffsetFetch(&r, done)
	resp := a.get()
	if len(resp.Groups) != 1 || resp.Groups[0].ErrorCode != 0 {
		e.t.Fatalf("fetch %s: %+v", group, resp)
	}
	out := map[string]map[int32]int64{}
	for _, t := range resp.Groups[0].Topics {
		out[t.Topic] = map[int32]int64{}
		for _, p := range t.Partitions {
			out[t.Topic][p.Partition] = p.Offset
		}
	}
	return out
}

func (e *env) describe(groups ...string) []kmsg.DescribeGroupsResponseGroup {
	r := kmsg.NewDescribeGroupsRequest()
	r.Version = 5
	r.Groups = groups
	a, done := newAsync[*kmsg.DescribeGroupsResponse](e.t)
	e.c.DescribeGroups(&r, done)
	return a.get().Groups
}

func (e *env) state(group string) string {
	e.t.Helper()
	return e.describe(group)[0].State
}

func wantCode(t testing.TB, what string, got, want int16) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: error code %d, want %d", what, got, want)
	}
}
