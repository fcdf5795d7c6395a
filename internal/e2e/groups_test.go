package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/testutil"
)

// Consumer groups end to end: real clients (franz-go with the eager range
// and the cooperative-sticky balancers, static members, sarama, kafka-go)
// split partitions, hand them over, commit and resume, against brokers
// started with group.initial.rebalance.delay.ms=0 (testutil's default)
// except in TestGroupInitialRebalanceDelay.
//
// Records are identified by (partition, offset). The franz-go members
// process every polled record before they allow a rebalance
// (BlockRebalanceOnPoll), commit synchronously when partitions are revoked
// and before they leave, so in these tests nothing is consumed twice: a
// duplicate means a commit was lost or not visible to the next owner, and
// a gap means a commit ran ahead of what was consumed.

// groupTopic creates topic with n partitions.
func groupTopic(t *testing.T, e *env, topic string, n int32) {
	t.Helper()
	e.createTopic(t, topic, n, nil)
}

// produceEach appends per records to every partition of topic (0..n-1),
// with values naming partition and sequence.
func produceEach(t *testing.T, addr, topic string, n int32, per int, tag string) {
	t.Helper()
	cl := newKgo(t, addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	defer cl.Close()
	var rs []*kgo.Record
	for p := range n {
		for i := range per {
			rs = append(rs, &kgo.Record{Partition: p, Value: fmt.Appendf(nil, "%s-%d-%d", tag, p, i)})
		}
	}
	if err := cl.ProduceSync(ctxFor(t, 30*time.Second), rs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// tpo is one consumed record's position.
type tpo struct {
	p int32
	o int64
}

// member is one franz-go group member polling in its own goroutine.
type member struct {
	t    *testing.T
	name string
	cl   *kgo.Client

	mu        sync.Mutex
	assigned  map[int32]bool // guarded by mu: the current assignment
	consumed  []tpo          // guarded by mu: in consumption order
	revoked   [][]int32      // guarded by mu: each revoke callback's partitions
	callbacks int            // guarded by mu: assign + revoke + lost callbacks

	cancel context.CancelFunc
	done   chan struct{}
}

// startMember starts a member of group consuming topic from the start.
func startMember(t *testing.T, addr, group, topic, name string, opts ...kgo.Opt) *member {
	t.Helper()
	m := &member{t: t, name: name, assigned: map[int32]bool{}, done: make(chan struct{})}
	base := []kgo.Opt{
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.ClientID(name),
		kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.callbacks++
			for _, p := range a[topic] {
				m.assigned[p] = true
			}
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, r map[string][]int32) {
			// Everything polled was processed (rebalances wait for
			// AllowRebalance): commit it before the partitions go.
			if err := cl.CommitUncommittedOffsets(ctx); err != nil && !errors.Is(err, kgo.ErrClientClosed) {
				t.Logf("%s: commit on revoke: %v", name, err)
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			m.callbacks++
			if len(r[topic]) > 0 {
				m.revoked = append(m.revoked, slices.Sorted(slices.Values(r[topic])))
			}
			for _, p := range r[topic] {
				delete(m.assigned, p)
			}
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, l map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.callbacks++
			for _, p := range l[topic] {
				delete(m.assigned, p)
			}
		}),
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt{kgo.SeedBrokers(addr)}, base...), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	m.cl = cl
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		defer close(m.done)
		for {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil || fs.IsClientClosed() {
				cl.AllowRebalance()
				return
			}
			fs.EachError(func(topic string, p int32, err error) {
				if !errors.Is(err, context.Canceled) {
					t.Logf("%s: fetch %s/%d: %v", name, topic, p, err)
				}
			})
			m.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) { m.consumed = append(m.consumed, tpo{r.Partition, r.Offset}) })
			m.mu.Unlock()
			cl.AllowRebalance()
		}
	}()
	t.Cleanup(func() { m.stop(false) })
	return m
}

// stop ends the poll loop, commits what was consumed and closes the
// client (which leaves the group, unless the member is static). Calling it
// again does nothing.
func (m *member) stop(commit bool) {
	select {
	case <-m.done:
		if m.cl == nil {
			return
		}
	default:
	}
	m.cancel()
	<-m.done
	if m.cl == nil {
		return
	}
	if commit {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		if err := m.cl.CommitUncommittedOffsets(ctx); err != nil {
			m.t.Errorf("%s: commit before leaving: %v", m.name, err)
		}
		cancel()
	}
	m.cl.Close()
	m.cl = nil
}

func (m *member) assignment() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.assigned))
}

func (m *member) records() []tpo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.consumed)
}

func (m *member) callbackCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.callbacks
}

// allConsumed reports whether members together consumed every offset
// below end[p] of every partition.
func allConsumed(end map[int32]int64, members ...*member) bool {
	seen := map[tpo]bool{}
	for _, m := range members {
		for _, r := range m.records() {
			seen[r] = true
		}
	}
	for p, e := range end {
		for o := int64(0); o < e; o++ {
			if !seen[tpo{p, o}] {
				return false
			}
		}
	}
	return true
}

// checkExactlyOnce requires every offset below end[p] to have been
// consumed exactly once by the members together.
func checkExactlyOnce(t *testing.T, end map[int32]int64, members ...*member) {
	t.Helper()
	count := map[tpo]int{}
	for _, m := range members {
		for _, r := range m.records() {
			count[r]++
		}
	}
	for p, e := range end {
		for o := int64(0); o < e; o++ {
			switch n := count[tpo{p, o}]; {
			case n == 0:
				t.Errorf("partition %d offset %d never consumed", p, o)
			case n > 1:
				t.Errorf("partition %d offset %d consumed %d times", p, o, n)
			}
		}
	}
	for r := range count {
		if r.o >= end[r.p] {
			t.Errorf("consumed %d/%d beyond the end %d", r.p, r.o, end[r.p])
		}
	}
}

func disjointCover(n int32, sets ...[]int32) bool {
	seen := map[int32]bool{}
	for _, s := range sets {
		if len(s) == 0 {
			return false
		}
		for _, p := range s {
			if seen[p] {
				return false
			}
			seen[p] = true
		}
	}
	return len(seen) == int(n)
}

// TestGroupBalancers: with the eager range balancer and with
// cooperative-sticky, two members split the partitions, the second one's
// arrival hands over partitions without losing or repeating a record, a
// member leaving gives the other everything, and a member of a restarted
// client resumes exactly at the committed offsets.
func TestGroupBalancers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		balancer kgo.GroupBalancer
		eager    bool
	}{
		{"range", kgo.RangeBalancer(), true},
		{"cooperative-sticky", kgo.CooperativeStickyBalancer(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const parts = 6
			e := newEnv(t)
			topic, group := "grp-"+tc.name, "g-"+tc.name
			groupTopic(t, e, topic, parts)
			bal := kgo.Balancers(tc.balancer)

			produceEach(t, e.b.Addr, topic, parts, 10, "one")
			a := startMember(t, e.b.Addr, group, topic, "a", bal)
			end := e.endOffsets(t, topic)
			waitFor(t, 30*time.Second, "member a to consume the first round", func() bool {
				return len(a.assignment()) == parts && allConsumed(end, a)
			})

			b := startMember(t, e.b.Addr, group, topic, "b", bal)
			waitFor(t, 30*time.Second, "a and b to split the partitions", func() bool {
				return disjointCover(parts, a.assignment(), b.assignment())
			})
			if got := len(a.assignment()); got != parts/2 {
				t.Errorf("a kept %d partitions, want %d", got, parts/2)
			}
			a.mu.Lock()
			revoked := slices.Clone(a.revoked)
			a.mu.Unlock()
			switch {
			case len(revoked) == 0:
				t.Error("a revoked nothing when b joined")
			case tc.eager && len(revoked[0]) != parts:
				t.Errorf("eager: a revoked %v, want all %d partitions", revoked[0], parts)
			case !tc.eager && len(revoked[0]) != parts/2:
				t.Errorf("cooperative: a revoked %v, want only the %d it gave up", revoked[0], parts/2)
			}

			produceEach(t, e.b.Addr, topic, parts, 10, "two")
			end = e.endOffsets(t, topic)
			waitFor(t, 30*time.Second, "the second round to be consumed", func() bool { return allConsumed(end, a, b) })
			// Each member read the second round only from its own
			// partitions.
			for _, m := range []*member{a, b} {
				mine := map[int32]bool{}
				for _, p := range m.assignment() {
					mine[p] = true
				}
				for _, r := range m.records() {
					if r.o >= 10 && !mine[r.p] {
						t.Errorf("%s consumed %d/%d from a partition it is not assigned", m.name, r.p, r.o)
					}
				}
			}

			a.stop(true)
			waitFor(t, 30*time.Second, "b to take every partition", func() bool { return len(b.assignment()) == parts })
			produceEach(t, e.b.Addr, topic, parts, 10, "three")
			end = e.endOffsets(t, topic)
			waitFor(t, 30*time.Second, "the third round to be consumed", func() bool { return allConsumed(end, a, b) })

			// A fresh client in the group resumes at the commits.
			b.stop(true)
			committed, err := e.adm.FetchOffsets(ctxFor(t, 10*time.Second), group)
			if err != nil || committed.Error() != nil {
				t.Fatalf("fetch offsets: %v %v", err, committed.Error())
			}
			for p, o := range end {
				if c, ok := committed.Lookup(topic, p); !ok || c.At != o {
					t.Errorf("partition %d: committed %+v, want %d", p, c, o)
				}
			}
			produceEach(t, e.b.Addr, topic, parts, 5, "four")
			end = e.endOffsets(t, topic)
			c := startMember(t, e.b.Addr, group, topic, "c", bal)
			waitFor(t, 30*time.Second, "c to consume the fourth round", func() bool { return allConsumed(end, a, b, c) })
			c.stop(true)
			for _, r := range c.records() {
				if r.o < 30 {
					t.Errorf("restarted client re-read %d/%d, below the commit 30", r.p, r.o)
				}
			}
			checkExactlyOnce(t, end, a, b, c)
		})
	}
}

// TestGroupStaticMembership: a static member (group.instance.id) that
// restarts within its session gets its partitions back, and the other
// member sees no rebalance at all.
func TestGroupStaticMembership(t *testing.T) {
	e := newEnv(t)
	const topic, group, parts = "static", "g-static", 4
	groupTopic(t, e, topic, parts)
	produceEach(t, e.b.Addr, topic, parts, 5, "one")
	static := func(id string) []kgo.Opt {
		return []kgo.Opt{kgo.Balancers(kgo.RangeBalancer()), kgo.InstanceID(id), kgo.SessionTimeout(30 * time.Second)}
	}
	a := startMember(t, e.b.Addr, group, topic, "a", static("instance-a")...)
	b := startMember(t, e.b.Addr, group, topic, "b", static("instance-b")...)
	end := e.endOffsets(t, topic)
	waitFor(t, 30*time.Second, "a and b to split the partitions and consume", func() bool {
		return disjointCover(parts, a.assignment(), b.assignment()) && allConsumed(end, a, b)
	})
	aParts := a.assignment()
	_, genBefore := b.cl.GroupMetadata()
	bCallbacks := b.callbackCount()
	members := describeGroup(t, e, group).Members
	if len(members) != 2 {
		t.Fatalf("%d members, want 2", len(members))
	}

	a.stop(true) // a static member does not leave the group on close
	if d := describeGroup(t, e, group); d.State != "Stable" || len(d.Members) != 2 {
		t.Fatalf("after a static member closed: %s with %d members, want Stable with 2", d.State, len(d.Members))
	}
	produceEach(t, e.b.Addr, topic, parts, 5, "two")
	end = e.endOffsets(t, topic)
	a2 := startMember(t, e.b.Addr, group, topic, "a2", static("instance-a")...)
	waitFor(t, 30*time.Second, "the restarted static member to consume", func() bool { return allConsumed(end, a, a2, b) })
	if got := a2.assignment(); !slices.Equal(got, aParts) {
		t.Errorf("restarted static member got %v, had %v", got, aParts)
	}
	_, genAfter := b.cl.GroupMetadata()
	if genAfter != genBefore || b.callbackCount() != bCallbacks {
		t.Errorf("the other member rebalanced: generation %d -> %d, callbacks %d -> %d", genBefore, genAfter, bCallbacks, b.callbackCount())
	}
	d := describeGroup(t, e, group)
	if len(d.Members) != 2 {
		t.Errorf("%d members after the static restart, want 2", len(d.Members))
	}
	for _, m := range d.Members {
		if m.InstanceID == nil {
			t.Errorf("member %s has no instance id", m.MemberID)
		}
	}
	a2.stop(true)
	b.stop(true)
	checkExactlyOnce(t, end, a, a2, b)
}

func hasGroup(ls kadm.ListedGroups, group string) bool {
	_, ok := ls[group]
	return ok
}

// describeMaybeGone describes group and reports whether the coordinator
// does not know it: Kafka describes such a group as Dead with no members
// (DescribeGroups v5 and below) or answers GROUP_ID_NOT_FOUND (v6).
func describeMaybeGone(t *testing.T, e *env, group string) (kadm.DescribedGroup, bool) {
	t.Helper()
	ds, err := e.adm.DescribeGroups(ctxFor(t, 10*time.Second), group)
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		t.Fatalf("describe group %s: %v", group, err)
	}
	d := ds[group]
	if errors.Is(d.Err, kerr.GroupIDNotFound) {
		return d, true
	}
	if d.Err != nil {
		t.Fatalf("describe group %s: %v", group, d.Err)
	}
	return d, d.State == "Dead" && len(d.Members) == 0
}

func describeGroup(t *testing.T, e *env, group string) kadm.DescribedGroup {
	t.Helper()
	ds, err := e.adm.DescribeGroups(ctxFor(t, 10*time.Second), group)
	if err != nil {
		t.Fatalf("describe group %s: %v", group, err)
	}
	d := ds[group]
	if d.Err != nil {
		t.Fatalf("describe group %s: %v", group, d.Err)
	}
	return d
}

// rawMember joins group as a consumer subscribed to topic with the range
// protocol, by hand, and never heartbeats. It returns its member id once
// its SyncGroup was answered.
func rawMember(t *testing.T, cl *kgo.Client, group, topic string, sessionMs, rebalanceMs int32) (string, []int32) {
	t.Helper()
	ctx := ctxFor(t, 60*time.Second)
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Version = 0
	meta.Topics = []string{topic}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group = group
	join.SessionTimeoutMillis = sessionMs
	join.RebalanceTimeoutMillis = rebalanceMs
	join.ProtocolType = "consumer"
	proto := kmsg.NewJoinGroupRequestProtocol()
	proto.Name = "range"
	proto.Metadata = meta.AppendTo(nil)
	join.Protocols = append(join.Protocols, proto)
	var resp *kmsg.JoinGroupResponse
	for {
		var err error
		resp, err = join.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("join group: %v", err)
		}
		if resp.ErrorCode == kerr.MemberIDRequired.Code {
			join.MemberID = resp.MemberID
			continue
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			t.Fatalf("join group: %v", err)
		}
		break
	}
	if resp.LeaderID == resp.MemberID {
		t.Fatal("the raw member became the leader; it cannot assign")
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.Generation, sync.MemberID = group, resp.Generation, resp.MemberID
	sync.ProtocolType, sync.Protocol = kmsg.StringPtr("consumer"), resp.Protocol
	sresp, err := sync.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("sync group: %v", err)
	}
	if err := kerr.ErrorForCode(sresp.ErrorCode); err != nil {
		t.Fatalf("sync group: %v", err)
	}
	var a kmsg.ConsumerMemberAssignment
	if err := a.ReadFrom(sresp.MemberAssignment); err != nil {
		t.Fatalf("decode assignment: %v", err)
	}
	var got []int32
	for _, at := range a.Topics {
		if at.Topic == topic {
			got = append(got, at.Partitions...)
		}
	}
	return resp.MemberID, got
}

// TestGroupSessionTimeout: a member that stops heartbeating is removed
// after its session timeout and its partitions go to the member left.
func TestGroupSessionTimeout(t *testing.T) {
	e := newEnv(t, "group.min.session.timeout.ms=500")
	const topic, group, parts = "expiry", "g-expiry", 4
	groupTopic(t, e, topic, parts)
	k := startMember(t, e.b.Addr, group, topic, "k", kgo.Balancers(kgo.RangeBalancer()),
		kgo.HeartbeatInterval(200*time.Millisecond))
	waitFor(t, 30*time.Second, "k to be assigned everything", func() bool { return len(k.assignment()) == parts })

	raw := newKgo(t, e.b.Addr)
	id, got := rawMember(t, raw, group, topic, 1000, 20000)
	if len(got) != parts/2 {
		t.Fatalf("raw member assigned %v, want %d partitions", got, parts/2)
	}
	// It never heartbeats: after about a second it is gone and k, which
	// heartbeats, takes its partitions back.
	waitFor(t, 30*time.Second, "the silent member to expire and k to take everything", func() bool {
		return len(k.assignment()) == parts
	})
	d := describeGroup(t, e, group)
	if len(d.Members) != 1 || d.Members[0].MemberID == id || d.State != "Stable" {
		t.Errorf("after expiry: %s with members %+v", d.State, d.Members)
	}
	// The expired member's heartbeat is refused.
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = group, id, 1
	hresp, err := hb.RequestWith(ctxFor(t, 10*time.Second), raw)
	if err != nil {
		t.Fatal(err)
	}
	if hresp.ErrorCode != kerr.UnknownMemberID.Code {
		t.Errorf("heartbeat of an expired member: %v, want UNKNOWN_MEMBER_ID", kerr.ErrorForCode(hresp.ErrorCode))
	}
}

// TestGroupInitialRebalanceDelay: with the default
// group.initial.rebalance.delay.ms (3 s), the first rebalance of an empty
// group waits that long for more members; with 0 (the other tests) it does
// not. Only the lower bound is asserted: a slow machine makes the wait
// longer, never shorter.
func TestGroupInitialRebalanceDelay(t *testing.T) {
	join := func(t *testing.T, props map[string]string) time.Duration {
		b := testutil.StartBrokerProps(t, props)
		e := envFor(t, b)
		groupTopic(t, e, "delay", 1)
		cl := newKgo(t, b.Addr)
		start := time.Now()
		rawAlone(t, cl, "g-delay", "delay")
		return time.Since(start)
	}
	def := join(t, map[string]string{"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": t.TempDir()})
	if def < 2500*time.Millisecond {
		t.Errorf("the first join with the default 3 s initial rebalance delay took %v", def)
	}
	t.Logf("first join: %v with the default delay", def)
}

// rawAlone joins group alone (it becomes the leader) and returns when its
// JoinGroup is answered.
func rawAlone(t *testing.T, cl *kgo.Client, group, topic string) {
	t.Helper()
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{topic}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Group = group
	join.SessionTimeoutMillis = 30000
	join.RebalanceTimeoutMillis = 30000
	join.ProtocolType = "consumer"
	proto := kmsg.NewJoinGroupRequestProtocol()
	proto.Name = "range"
	proto.Metadata = meta.AppendTo(nil)
	join.Protocols = append(join.Protocols, proto)
	for {
		resp, err := join.RequestWith(ctxFor(t, 60*time.Second), cl)
		if err != nil {
			t.Fatalf("join group: %v", err)
		}
		if resp.ErrorCode == kerr.MemberIDRequired.Code {
			join.MemberID = resp.MemberID
			continue
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			t.Fatalf("join group: %v", err)
		}
		if resp.LeaderID != resp.MemberID {
			t.Fatalf("alone in the group but not its leader: %+v", resp)
		}
		return
	}
}

// TestGroupOffsetsSurviveRestart: offsets committed before a clean broker
// restart are there after it (reloaded from __consumer_offsets), and a
// member resumes at them.
func TestGroupOffsetsSurviveRestart(t *testing.T) {
	b := testutil.StartBroker(t)
	e := envFor(t, b)
	const topic, group, parts = "durable-group", "g-durable", 3
	groupTopic(t, e, topic, parts)
	produceEach(t, b.Addr, topic, parts, 8, "one")
	end := e.endOffsets(t, topic)
	a := startMember(t, b.Addr, group, topic, "a")
	waitFor(t, 30*time.Second, "a to consume everything", func() bool { return allConsumed(end, a) })
	a.stop(true)
	// An admin commit with metadata, to a partition of another topic.
	other := kadm.Offsets{}
	other.Add(kadm.Offset{Topic: topic + "-other", Partition: 0, At: 42, LeaderEpoch: -1, Metadata: "kept"})
	groupTopic(t, e, topic+"-other", 1)
	if _, err := e.adm.CommitOffsets(ctxFor(t, 10*time.Second), group, other); err != nil {
		t.Fatal(err)
	}
	before, err := e.adm.FetchOffsets(ctxFor(t, 10*time.Second), group)
	if err != nil || before.Error() != nil {
		t.Fatalf("fetch offsets: %v %v", err, before.Error())
	}

	b.Stop(t)
	e.cl.Close()
	props := maps.Clone(b.Props)
	props["listeners"] = "PLAINTEXT://127.0.0.1:0"
	b2 := testutil.StartBrokerProps(t, props)
	e2 := envFor(t, b2)
	// The coordinator may still be loading the partition: clients
	// retry COORDINATOR_LOAD_IN_PROGRESS, and so does this.
	var after kadm.OffsetResponses
	waitFor(t, 30*time.Second, "the offsets to be fetchable after the restart", func() bool {
		after, err = e2.adm.FetchOffsets(ctxFor(t, 10*time.Second), group)
		return err == nil && after.Error() == nil
	})
	if !offsetsEqual(before, after) {
		t.Fatalf("offsets after restart %v, before %v", after, before)
	}
	if o, _ := after.Lookup(topic+"-other", 0); o.Metadata != "kept" || o.At != 42 {
		t.Errorf("admin commit after restart: %+v", o)
	}

	produceEach(t, b2.Addr, topic, parts, 4, "two")
	end = e2.endOffsets(t, topic)
	a2 := startMember(t, b2.Addr, group, topic, "a2")
	waitFor(t, 30*time.Second, "a2 to consume the new records", func() bool { return allConsumed(end, a, a2) })
	a2.stop(true)
	checkExactlyOnce(t, end, a, a2)
}

func offsetsEqual(a, b kadm.OffsetResponses) bool {
	n := 0
	ok := true
	a.Each(func(o kadm.OffsetResponse) {
		n++
		p, found := b.Lookup(o.Topic, o.Partition)
		if !found || p.At != o.At || p.Metadata != o.Metadata {
			ok = false
		}
	})
	m := 0
	b.Each(func(kadm.OffsetResponse) { m++ })
	return ok && n == m && n > 0
}

// TestGroupAdmin: kadm's group operations against live and empty groups.
//
// Known failure (coordinator/group, not this test): ListGroups fans out to
// every shard and counts the answers in a gather whose counter it
// increments (admin.go, "g.left++") without the gather's mutex while shards
// already answering decrement it under the mutex. Under -race this test
// then reports a data race in Coordinator.ListGroups; without -race a lost
// update leaves the ListGroups request unanswered, so the kadm call waits
// for its timeout and the broker's shutdown for its drain deadline
// ("network: close: context deadline exceeded").
func TestGroupAdmin(t *testing.T) {
	e := newEnv(t)
	const topic, group, parts = "admin-groups", "g-admin", 2
	groupTopic(t, e, topic, parts)
	groupTopic(t, e, "unsubscribed", 1)
	produceEach(t, e.b.Addr, topic, parts, 3, "one")
	end := e.endOffsets(t, topic)
	ctx := ctxFor(t, 60*time.Second)

	m := startMember(t, e.b.Addr, group, topic, "m", kgo.Balancers(kgo.RangeBalancer()))
	waitFor(t, 30*time.Second, "m to consume", func() bool { return allConsumed(end, m) })
	if err := m.cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}

	listed, err := e.adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := listed[group]; !ok || l.State != "Stable" || l.ProtocolType != "consumer" {
		t.Fatalf("listed %+v", listed)
	}
	if empty, err := e.adm.ListGroups(ctx, "Empty"); err != nil || hasGroup(empty, group) {
		t.Fatalf("filter by Empty: %v %v", empty, err)
	}
	d := describeGroup(t, e, group)
	if d.State != "Stable" || d.Protocol != "range" || d.ProtocolType != "consumer" || len(d.Members) != 1 {
		t.Fatalf("described %+v", d)
	}
	mem := d.Members[0]
	if mem.ClientID != "m" || mem.ClientHost == "" {
		t.Errorf("member %+v", mem)
	}
	if c, ok := mem.Assigned.AsConsumer(); !ok || len(c.Topics) != 1 || len(c.Topics[0].Partitions) != parts {
		t.Errorf("member assignment %+v", mem.Assigned)
	}
	if j, ok := mem.Join.AsConsumer(); !ok || !slices.Equal(j.Topics, []string{topic}) {
		t.Errorf("member subscription %+v", mem.Join)
	}
	fetched, err := e.adm.FetchOffsets(ctx, group)
	if err != nil || fetched.Error() != nil {
		t.Fatalf("fetch offsets: %v %v", err, fetched.Error())
	}
	for p, o := range end {
		if c, ok := fetched.Lookup(topic, p); !ok || c.At != o {
			t.Errorf("partition %d committed %+v, want %d", p, c, o)
		}
	}

	// A group with members can be neither deleted nor stripped of the
	// offsets of a topic it consumes.
	del, err := e.adm.DeleteGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(del[group].Err, kerr.NonEmptyGroup) {
		t.Errorf("delete a live group: %v", del[group].Err)
	}
	subscribed := kadm.TopicsSet{}
	subscribed.Add(topic, 0)
	delOff, err := e.adm.DeleteOffsets(ctx, group, subscribed)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(delOff[topic][0], kerr.GroupSubscribedToTopic) {
		t.Errorf("delete offsets of a consumed topic: %v", delOff)
	}
	// An admin commit to a topic the group does not consume is allowed
	// only while the group is empty (a live group's generation guards it).
	os := kadm.Offsets{}
	os.Add(kadm.Offset{Topic: "unsubscribed", Partition: 0, At: 0, LeaderEpoch: -1})
	if resp, err := e.adm.CommitOffsets(ctx, group, os); err == nil && resp.Error() == nil {
		t.Error("admin commit to a live group accepted")
	}

	m.stop(true)
	waitFor(t, 10*time.Second, "the group to be empty", func() bool { return describeGroup(t, e, group).State == "Empty" })
	if listed, err := e.adm.ListGroups(ctx, "Empty"); err != nil || !hasGroup(listed, group) {
		t.Fatalf("list Empty groups: %v %v", listed, err)
	}
	os = kadm.Offsets{}
	os.Add(kadm.Offset{Topic: topic, Partition: 0, At: 1, LeaderEpoch: -1, Metadata: "by admin"})
	os.Add(kadm.Offset{Topic: "unsubscribed", Partition: 0, At: 0, LeaderEpoch: -1})
	if resp, err := e.adm.CommitOffsets(ctx, group, os); err != nil || resp.Error() != nil {
		t.Fatalf("admin commit to an empty group: %v %v", err, resp.Error())
	}
	fetched, err = e.adm.FetchOffsets(ctx, group)
	if err != nil || fetched.Error() != nil {
		t.Fatal(err, fetched.Error())
	}
	if c, _ := fetched.Lookup(topic, 0); c.At != 1 || c.Metadata != "by admin" {
		t.Errorf("after the admin commit: %+v", c)
	}
	// Now the offsets of one partition can go.
	delOff, err = e.adm.DeleteOffsets(ctx, group, subscribed)
	if err != nil || delOff.Error() != nil {
		t.Fatalf("delete offsets of an empty group: %v %v", err, delOff.Error())
	}
	fetched, err = e.adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := fetched.Lookup(topic, 0); ok && c.At >= 0 {
		t.Errorf("deleted offset still there: %+v", c)
	}
	if c, ok := fetched.Lookup(topic, 1); !ok || c.At != end[1] {
		t.Errorf("offset of the other partition: %+v", c)
	}

	del, err = e.adm.DeleteGroups(ctx, group)
	if err != nil || del[group].Err != nil {
		t.Fatalf("delete the empty group: %v %v", err, del[group].Err)
	}
	if listed, err := e.adm.ListGroups(ctx); err != nil || hasGroup(listed, group) {
		t.Fatalf("deleted group still listed: %v %v", listed, err)
	}
	if d, gone := describeMaybeGone(t, e, group); !gone {
		t.Errorf("deleted group described as %+v", d)
	}
	fetched, err = e.adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	fetched.Each(func(o kadm.OffsetResponse) {
		if o.At >= 0 {
			t.Errorf("offset left after the group was deleted: %+v", o)
		}
	})
	del, err = e.adm.DeleteGroups(ctx, "never-existed")
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(del["never-existed"].Err, kerr.GroupIDNotFound) {
		t.Errorf("delete an unknown group: %v", del["never-existed"].Err)
	}
}

// TestGroupSarama: sarama's ConsumerGroup consumes part of a topic,
// commits on close, and a second session resumes where it stopped.
func TestGroupSarama(t *testing.T) {
	e := newEnv(t)
	const topic, group, parts = "sarama-group", "g-sarama", 3
	groupTopic(t, e, topic, parts)
	produceEach(t, e.b.Addr, topic, parts, 20, "one")
	end := e.endOffsets(t, topic)

	first := saramaGroupConsume(t, e.b.Addr, group, topic, 30)
	committed, err := e.adm.FetchOffsets(ctxFor(t, 10*time.Second), group)
	if err != nil || committed.Error() != nil {
		t.Fatal(err, committed.Error())
	}
	next := map[int32]int64{}
	for _, r := range first {
		next[r.p] = max(next[r.p], r.o+1)
	}
	for p := range int32(parts) {
		c, ok := committed.Lookup(topic, p)
		if next[p] == 0 {
			if ok && c.At > 0 {
				t.Errorf("partition %d: committed %d without consuming", p, c.At)
			}
			continue
		}
		if !ok || c.At != next[p] {
			t.Errorf("partition %d: committed %+v, consumed up to %d", p, c, next[p])
		}
	}
	var total int64
	for _, o := range end {
		total += o
	}
	second := saramaGroupConsume(t, e.b.Addr, group, topic, int(total)-len(first))
	checkOnce(t, end, first, second)
}

// checkOnce requires the consumed positions together to cover every
// offset below end exactly once.
func checkOnce(t *testing.T, end map[int32]int64, runs ...[]tpo) {
	t.Helper()
	count := map[tpo]int{}
	for _, run := range runs {
		for _, r := range run {
			count[r]++
		}
	}
	for p, e := range end {
		for o := int64(0); o < e; o++ {
			if n := count[tpo{p, o}]; n != 1 {
				t.Errorf("partition %d offset %d consumed %d times", p, o, n)
			}
		}
	}
	if len(count) != int(sumOffsets(end)) {
		t.Errorf("consumed %d distinct positions, want %d", len(count), sumOffsets(end))
	}
}

func sumOffsets(end map[int32]int64) int64 {
	var n int64
	for _, o := range end {
		n += o
	}
	return n
}

// saramaHandler records and marks every message it is given until it has
// want of them, then cancels the session.
type saramaHandler struct {
	mu     sync.Mutex
	got    []tpo
	want   int
	cancel context.CancelFunc
}

func (*saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (*saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-c.Messages():
			if !ok {
				return nil
			}
			h.mu.Lock()
			if len(h.got) >= h.want {
				h.mu.Unlock()
				return nil // not marked: the next session reads it
			}
			h.got = append(h.got, tpo{m.Partition, m.Offset})
			if len(h.got) >= h.want {
				h.cancel()
			}
			h.mu.Unlock()
			s.MarkMessage(m, "")
		case <-s.Context().Done():
			return nil
		}
	}
}

func saramaGroupConsume(t *testing.T, addr, group, topic string, want int) []tpo {
	t.Helper()
	cfg := saramaConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	cg, err := sarama.NewConsumerGroup([]string{addr}, group, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := &saramaHandler{want: want, cancel: cancel}
	go func() {
		for err := range cg.Errors() {
			t.Logf("sarama group: %v", err)
		}
	}()
	for ctx.Err() == nil {
		if err := cg.Consume(ctx, []string{topic}, h); err != nil && !errors.Is(err, sarama.ErrClosedConsumerGroup) {
			t.Fatalf("sarama consume: %v", err)
		}
	}
	// Close commits the marked offsets and leaves the group.
	if err := cg.Close(); err != nil {
		t.Fatalf("close sarama group: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.got) < want {
		t.Fatalf("sarama consumed %d of %d records", len(h.got), want)
	}
	return h.got
}

// TestGroupKafkaGo: a kafka-go Reader with a GroupID reads (committing
// each message), and a second Reader of the same group resumes after the
// last commit.
func TestGroupKafkaGo(t *testing.T) {
	e := newEnv(t)
	const topic, group, parts = "kafkago-group", "g-kafkago", 3
	groupTopic(t, e, topic, parts)
	produceEach(t, e.b.Addr, topic, parts, 10, "one")
	end := e.endOffsets(t, topic)
	read := func(n int) []tpo {
		r := kafkago.NewReader(kafkago.ReaderConfig{
			Brokers:           []string{e.b.Addr},
			GroupID:           group,
			Topic:             topic,
			MaxWait:           100 * time.Millisecond,
			StartOffset:       kafkago.FirstOffset,
			HeartbeatInterval: 200 * time.Millisecond,
		})
		defer func() {
			if err := r.Close(); err != nil {
				t.Errorf("close reader: %v", err)
			}
		}()
		ctx := ctxFor(t, 60*time.Second)
		var got []tpo
		for len(got) < n {
			m, err := r.ReadMessage(ctx) // commits synchronously (CommitInterval 0)
			if err != nil {
				t.Fatalf("read after %d messages: %v", len(got), err)
			}
			got = append(got, tpo{int32(m.Partition), m.Offset})
		}
		return got
	}
	first := read(12)
	second := read(int(sumOffsets(end)) - len(first))
	checkOnce(t, end, first, second)
}
