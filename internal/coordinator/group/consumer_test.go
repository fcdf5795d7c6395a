package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestConsumerJoinOne(t *testing.T) {
	e, meta := newConsumerEnv(t, nil)
	tid := meta.addTopic(t, "t", 6)
	a := e.newConsumer("g", "member-a", "t")
	a.mustBeat()
	if a.epoch != 1 || a.owned.count() != 6 || len(a.owned[tid]) != 6 {
		t.Fatalf("epoch %d owned %v", a.epoch, a.owned)
	}
	resp := e.cgHeartbeat(a.request())
	if resp.HeartbeatIntervalMillis != int32(e.broker.GroupConsumerHeartbeatInterval.Milliseconds()) {
		t.Fatalf("heartbeat interval %d", resp.HeartbeatIntervalMillis)
	}
	d := e.cgDescribe("g")
	if d.ErrorCode != 0 || d.State != "Stable" || d.Epoch != 1 || d.AssignmentEpoch != 1 || d.AssignorName != "uniform" ||
		len(d.Members) != 1 || len(d.Members[0].Assignment.TopicPartitions) != 1 || d.Members[0].Assignment.TopicPartitions[0].Topic != "t" {
		t.Fatalf("describe %+v", d)
	}
}

// TestConsumerRevocationBeforeAssignment joins a second and a third
// member: each partition moves only after its previous owner revoked it.
func TestConsumerRevocationBeforeAssignment(t *testing.T) {
	e, meta := newConsumerEnv(t, nil)
	meta.addTopic(t, "t", 6)
	a, b := e.newConsumer("g", "a", "t"), e.newConsumer("g", "b", "t")
	a.mustBeat()
	b.mustBeat()
	if b.epoch != 2 || b.owned.count() != 0 {
		t.Fatalf("b: epoch %d owned %d: partitions still owned by a must not be given yet", b.epoch, b.owned.count())
	}
	if st := e.cgDescribe("g").State; st != "Reconciling" {
		t.Fatalf("state %s", st)
	}
	a.mustBeat() // told to revoke three
	if a.epoch != 1 || a.owned.count() != 3 {
		t.Fatalf("a: epoch %d owned %d", a.epoch, a.owned.count())
	}
	// b is not given a's partitions while a's heartbeat still lists them.
	stale := a.request()
	stale.Topics = nil // "unchanged": the coordinator cannot know they are revoked
	if r := e.cgHeartbeat(stale); r.ErrorCode != 0 || r.MemberEpoch != 1 {
		t.Fatalf("a partial heartbeat: %+v", r)
	}
	b.mustBeat()
	if b.owned.count() != 0 {
		t.Fatalf("b got %d partitions before a acknowledged the revocation", b.owned.count())
	}
	a.mustBeat() // acknowledges: epoch 2
	if a.epoch != 2 || a.owned.count() != 3 {
		t.Fatalf("a: epoch %d owned %d", a.epoch, a.owned.count())
	}
	b.mustBeat()
	if b.owned.count() != 3 {
		t.Fatalf("b owned %d", b.owned.count())
	}
	checkExclusive(t, a, b)
	c := e.newConsumer("g", "c", "t")
	c.mustBeat()
	converge(t, a, b, c)
	for _, m := range []*consumer{a, b, c} {
		if m.owned.count() != 2 || m.epoch != 3 {
			t.Fatalf("%s: epoch %d owned %d", m.id, m.epoch, m.owned.count())
		}
	}
	if st := e.cgDescribe("g").State; st != "Stable" {
		t.Fatalf("state %s", st)
	}
}

func TestConsumerLeaveAndSessionExpiry(t *testing.T) {
	e, meta := newConsumerEnv(t, nil)
	meta.addTopic(t, "t", 6)
	a, b, c := e.newConsumer("g", "a", "t"), e.newConsumer("g", "b", "t"), e.newConsumer("g", "c", "t")
	a.mustBeat()
	b.mustBeat()
	c.mustBeat()
	converge(t, a, b, c)
	if code := c.leave(-1); code != 0 {
		t.Fatalf("leave: %d", code)
	}
	converge(t, a, b)
	if a.owned.count()+b.owned.count() != 6 || a.owned.count() != 3 {
		t.Fatalf("after leave: a %d b %d", a.owned.count(), b.owned.count())
	}
	if code := c.beat(); code != codeUnknownMemberID {
		t.Fatalf("heartbeat after leaving: %d", code)
	}
	// b stops heartbeating; a keeps going until b's session expires.
	session := e.broker.GroupConsumerSessionTimeout
	for elapsed := time.Duration(0); elapsed <= session; elapsed += session / 4 {
		a.mustBeat()
		e.advance(session / 4)
	}
	converge(t, a)
	if a.owned.count() != 6 {
		t.Fatalf("a owns %d after b's session expired", a.owned.count())
	}
	if code := b.beat(); code != codeUnknownMemberID {
		t.Fatalf("expired member heartbeat: %d", code)
	}
	if d := e.cgDescribe("g"); len(d.Members) != 1 {
		t.Fatalf("members %d", len(d.Members))
	}
}

func TestConsumerRebalanceTimeoutFencesSlowRevoker(t *testing.T) {
	e, meta := newConsumerEnv(t, nil)
	meta.addTopic(t, "t", 4)
	a, b := e.newConsumer("g", "a", "t"), e.newConsumer("g", "b", "t")
	a.mustBeat()
	b.mustBeat()
	// a learns it must revoke but never acknowledges.
	r := a.request()
	resp := e.cgHeartbeat(r)
	if resp.ErrorCode != 0 || resp.Assignment == nil {
		t.Fatalf("%+v", resp)
	}
	for range 4 {
		e.advance(10 * time.Second) // rebalance timeout 30s; session kept alive below
		if code := e.cgHeartbeat(r).ErrorCode; code != 0 && code != codeUnknownMemberID {
			t.Fatalf("code %d", code)
		}
		b.mustBeat()
	}
	if code := e.cgHeartbeat(r).ErrorCode; code != codeUnknownMemberID {
		t.Fatalf("slow revoker not fenced: %d", code)
	}
	converge(t, b)
	if b.owned.count() != 4 {
		t.Fatalf("b owns %d", b.owned.count())
	}
}

func TestConsumerStaticMemberRestart(t *testing.T) {
	e, meta := newConsumerEnv(t, nil)
	meta.addTopic(t, "t", 4)
	inst := "instance-1"
	a := e.newConsumer("g", "a1", "t")
	a.instance = &inst
	b := e.newConsumer("g", "b", "t")
	a.mustBeat()
	b.mustBeat()
	converge(t, a, b)
	before := a.owned.clone()
	epoch := e.cgDescribe("g").Epoch

	// Another process with the same instance id while a is live.
	dup := e.newConsumer("g", "a2", "t")
	dup.instance = &inst
	if code := dup.beat(); code != codeUnreleasedInstanceID {
		t.Fatalf("duplicate instance: %d", code)
	}
	if code := a.leave(-2); code != 0 {
		t.Fatalf("static leave: %d", code)
	}
	// Its partitions are not handed out while it is away.
	converge(t, b)
	if b.owned.count() != 2 {
		t.Fatalf("b owns %d while the static member is away", b.owned.count())
	}
	restarted := e.newConsumer("g", "a2", "t")
	restarted.instance = &inst
	restarted.mustBeat()
	if !restarted.owned.equal(before) {
		t.Fatalf("restarted static member got %v, had %v", restarted.owned, before)
	}
	if d := e.cgDescribe("g"); d.Epoch != epoch || len(d.Members) != 2 {
		t.Fatalf("restart bumped the group epoch %d -> %d or members %d", epoch, d.Epoch, len(d.Members))
	}
	a.owned = before
	if code := a.beat(); code != codeFencedInstanceID {
		t.Fatalf("old incarnation: %d", code)
	}
}

func TestConsumerRegexSubscription(t *testing.T) {
	e, meta := newConsumerEnv(t, nil)
	foo1 := meta.addTopic(t, "foo-1", 2)
	meta.addTopic(t, "bar", 2)
	re := "foo-.*"
	a := e.newConsumer("g", "a")
	a.regex = &re
	a.mustBeat()
	if a.owned.count() != 2 || len(a.owned[foo1]) != 2 {
		t.Fatalf("owned %v", a.owned)
	}
	foo2 := meta.addTopic(t, "foo-2", 3)
	a.mustBeat()
	a.mustBeat()
	if a.owned.count() != 5 || len(a.owned[foo2]) != 3 {
		t.Fatalf("owned after foo-2 %v", a.owned)
	}
	bad := "foo-("
	b := e.newConsumer("g", "b")
	b.regex = &bad
	if code := b.beat(); code != codeInvalidRegex {
		t.Fatalf("bad regex: %d", code)
	}
	if d := e.cgDescribe("g"); d.Members[0].SubscribedTopicRegex == nil || *d.Members[0].SubscribedTopicRegex != re {
		t.Fatalf("describe %+v", d.Members[0])
	}
}

func TestConsumerNewPartitionsReassign(t *testing.T) {
	e, meta := newConsumerEnv(t, nil)
	meta.addTopic(t, "t", 2)
	a, b := e.newConsumer("g", "a", "t"), e.newConsumer("g", "b", "t")
	a.mustBeat()
	b.mustBeat()
	converge(t, a, b)
	epoch := e.cgDescribe("g").Epoch
	meta.addPartitions(t, "t", 6)
	converge(t, a, b)
	if a.owned.count() != 3 || b.owned.count() != 3 {
		t.Fatalf("a %d b %d", a.owned.count(), b.owned.count())
	}
	if d := e.cgDescribe("g"); d.Epoch != epoch+1 {
		t.Fatalf("epoch %d, want %d", d.Epoch, epoch+1)
	}
	// A topic created later that a member subscribed to in advance.
	a.topics = []string{"t", "later"}
	converge(t, a, b)
	meta.addTopic(t, "later", 2)
	converge(t, a, b)
	if a.owned.count() != 5 {
		t.Fatalf("a owns %d after 'later' appeared", a.owned.count())
	}
}

func TestConsumerRangeAssignor(t *testing.T) {
	e, meta := newConsumerEnv(t, nil)
	tid := meta.addTopic(t, "t", 5)
	rng := "range"
	a, b := e.newConsumer("g", "a", "t"), e.newConsumer("g", "b", "t")
	a.assignor, b.assignor = &rng, &rng
	a.mustBeat()
	b.mustBeat()
	converge(t, a, b)
	if got := a.owned.partitions(tid); len(got) != 3 || got[0] != 0 || got[2] != 2 {
		t.Fatalf("a %v", got)
	}
	if d := e.cgDescribe("g"); d.AssignorName != "range" {
		t.Fatalf("assignor %s", d.AssignorName)
	}
	bad := "sticky"
	c := e.newConsumer("g", "c", "t")
	c.assignor = &bad
	if code := c.beat(); code != codeUnsupportedAssignor {
		t.Fatalf("unknown assignor: %d", code)
	}
}

func TestConsumerHeartbeatErrors(t *testing.T) {
	e, meta := newConsumerEnv(t, map[string]string{"group.consumer.max.size": "2"})
	meta.addTopic(t, "t", 2)
	a := e.newConsumer("g", "a", "t")
	a.mustBeat()
	for _, id := range []string{"x1", "x2"} {
		if code := e.newConsumer("full", id, "t").beat(); code != 0 {
			t.Fatal(code)
		}
	}
	// A full group refuses any member it does not know, before anything
	// else is checked.
	if code := e.newConsumer("full", "y", "t").beat(); code != codeGroupMaxSizeReached {
		t.Fatalf("max size: %d", code)
	}
	cases := []struct {
		name string
		mod  func(r *kmsg.ConsumerGroupHeartbeatRequest)
		want int16
	}{
		{"no rebalance timeout", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.RebalanceTimeoutMillis = -1 }, codeInvalidRequest},
		{"owned on join", func(r *kmsg.ConsumerGroupHeartbeatRequest) {
			r.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{{Partitions: []int32{0}}}
		}, codeInvalidRequest},
		{"null owned on join", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Topics = nil }, codeInvalidRequest},
		{"no subscription", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.SubscribedTopicNames = nil }, codeInvalidRequest},
		{"empty member id v1", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberID = "" }, codeInvalidRequest},
		{"bad epoch", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -3 }, codeInvalidRequest},
		{"empty group", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Group = " " }, codeInvalidRequest},
		{"blank instance", func(r *kmsg.ConsumerGroupHeartbeatRequest) { s := ""; r.InstanceID = &s }, codeInvalidRequest},
		{"static leave without instance", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -2 }, codeInvalidRequest},
		{"epoch ahead", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberID = "a"; r.MemberEpoch = 5 }, codeFencedMemberEpoch},
		{"unknown member", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberID = "zz"; r.MemberEpoch = 1 }, codeUnknownMemberID},
		{"unknown group", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Group = "nope"; r.MemberEpoch = 1 }, codeGroupIDNotFound},
	}
	for _, tc := range cases {
		r := e.newConsumer("g", "new", "t").request()
		tc.mod(r)
		if got := e.cgHeartbeat(r).ErrorCode; got != tc.want {
			t.Errorf("%s: code %d, want %d", tc.name, got, tc.want)
		}
	}
	// v0: the coordinator names the member.
	r := e.newConsumer("g0", "", "t").request()
	r.Version = 0
	resp := e.cgHeartbeat(r)
	if resp.ErrorCode != 0 || resp.MemberID == nil || *resp.MemberID == "" || resp.MemberEpoch != 1 {
		t.Fatalf("v0 join: %+v", resp)
	}
}

func TestConsumerCommitWithMemberEpochs(t *testing.T) {
	e, meta := newConsumerEnv(t, nil)
	meta.addTopic(t, "t", 2)
	a := e.newConsumer("g", "a", "t")
	a.mustBeat()
	offsets := map[string]map[int32]int64{"t": {0: 10}}
	if codes := commitCodes(e.commit("g", a.id, a.epoch, 9, offsets)); codes[0] != 0 {
		t.Fatalf("commit: %v", codes)
	}
	if codes := commitCodes(e.commit("g", a.id, a.epoch-1, 9, offsets)); codes[0] != codeStaleMemberEpoch {
		t.Fatalf("stale commit: %v", codes)
	}
	if codes := commitCodes(e.commit("g", a.id, a.epoch, 8, offsets)); codes[0] != codeUnsupportedVersion {
		t.Fatalf("v8 commit: %v", codes)
	}
	if codes := commitCodes(e.commit("g", "nobody", a.epoch, 9, offsets)); codes[0] != codeUnknownMemberID {
		t.Fatalf("unknown member commit: %v", codes)
	}
	if codes := commitCodes(e.commit("g", "", -1, 9, offsets)); codes[0] != codeUnknownMemberID {
		t.Fatalf("admin commit to a group with members: %v", codes)
	}
	fetch := func(member *string, epoch int32) kmsg.OffsetFetchResponseGroup {
		r := kmsg.NewOffsetFetchRequest()
		r.Version = 9
		g := kmsg.NewOffsetFetchRequestGroup()
		g.Group, g.MemberID, g.MemberEpoch = "g", member, epoch
		r.Groups = []kmsg.OffsetFetchRequestGroup{g}
		as, done := newAsync[*kmsg.OffsetFetchResponse](t)
		e.c.OffsetFetch(&r, done)
		return as.get().Groups[0]
	}
	id := a.id
	if g := fetch(&id, a.epoch); g.ErrorCode != 0 || g.Topics[0].Partitions[0].Offset != 10 {
		t.Fatalf("fetch %+v", g)
	}
	if g := fetch(&id, a.epoch+1); g.ErrorCode != codeStaleMemberEpoch {
		t.Fatalf("stale fetch %+v", g)
	}
	if g := fetch(nil, -1); g.ErrorCode != 0 {
		t.Fatalf("admin fetch %+v", g)
	}
	// Offsets outlive the members.
	if code := a.leave(-1); code != 0 {
		t.Fatal(code)
	}
	if codes := commitCodes(e.commit("g", "", -1, 9, map[string]map[int32]int64{"t": {1: 5}})); codes[0] != 0 {
		t.Fatalf("admin commit to the empty group: %v", codes)
	}
	if got := e.fetch("g"); got["t"][0] != 10 || got["t"][1] != 5 {
		t.Fatalf("offsets %v", got)
	}
}

func TestConsumerPersistenceRoundTrip(t *testing.T) {
	e, meta := newConsumerEnv(t, nil)
	meta.addTopic(t, "t", 6)
	re := "t.*"
	inst := "i"
	a, b := e.newConsumer("g", "a", "t"), e.newConsumer("g", "b")
	a.instance = &inst
	b.regex = &re
	a.mustBeat()
	b.mustBeat()
	a.mustBeat() // a is now revoking: the persisted state is mid-reconciliation
	before := e.cgDescribe("g")
	if codes := commitCodes(e.commit("g", b.id, b.epoch, 9, map[string]map[int32]int64{"t": {3: 33}})); codes[0] != 0 {
		t.Fatalf("commit %v", codes)
	}
	e.restart()
	after := e.cgDescribe("g")
	if before.Epoch != after.Epoch || before.AssignmentEpoch != after.AssignmentEpoch || before.State != after.State ||
		len(after.Members) != 2 {
		t.Fatalf("before %+v\nafter %+v", before, after)
	}
	for i := range before.Members {
		bm, am := before.Members[i], after.Members[i]
		if bm.MemberID != am.MemberID || bm.MemberEpoch != am.MemberEpoch ||
			len(bm.Assignment.TopicPartitions) != len(am.Assignment.TopicPartitions) ||
			!eqStrPtr(bm.InstanceID, am.InstanceID) || !eqStrPtr(bm.SubscribedTopicRegex, am.SubscribedTopicRegex) {
			t.Fatalf("member %d: before %+v after %+v", i, bm, am)
		}
	}
	converge(t, a, b)
	if a.owned.count() != 3 || b.owned.count() != 3 {
		t.Fatalf("after reload: a %d b %d", a.owned.count(), b.owned.count())
	}
	if got := e.fetch("g"); got["t"][3] != 33 {
		t.Fatalf("offsets %v", got)
	}
	// Leaving and deleting survive a reload too.
	a.leave(-1)
	b.leave(-1)
	e.sync()
	e.restart()
	if d := e.cgDescribe("g"); d.State != "Empty" || len(d.Members) != 0 {
		t.Fatalf("after leaving and reload: %+v", d)
	}
	r := kmsg.NewDeleteGroupsRequest()
	r.Version = 2
	r.Groups = []string{"g"}
	as, done := newAsync[*kmsg.DeleteGroupsResponse](t)
	e.c.DeleteGroups(&r, done)
	if code := as.get().Groups[0].ErrorCode; code != 0 {
		t.Fatalf("delete: %d", code)
	}
	e.restart()
	if d := e.cgDescribe("g"); d.ErrorCode != codeGroupIDNotFound {
		t.Fatalf("deleted group reloaded: %+v", d)
	}
	if got := e.fetch("g"); len(got) != 0 {
		t.Fatalf("offsets of the deleted group: %v", got)
	}
}

func TestConsumerAndClassicGroupTypes(t *testing.T) {
	e, meta := newConsumerEnv(t, nil)
	meta.addTopic(t, "t", 2)
	a := e.newConsumer("cg", "a", "t")
	a.mustBeat()
	// A classic member cannot join a consumer group with members.
	r := e.join(joinReq("cg", "", 9)).get()
	wantCode(t, "classic join to a consumer group", r.ErrorCode, codeInconsistentProtocol)
	// A consumer member cannot join a classic group with members.
	ids, _ := e.stable("classic", 1)
	if code := e.newConsumer("classic", "x", "t").beat(); code != codeGroupIDNotFound {
		t.Fatalf("consumer heartbeat to a classic group: %d", code)
	}
	// ListGroups reports both types; the types filter picks one.
	list := func(types ...string) map[string]string {
		r := kmsg.NewListGroupsRequest()
		r.Version = 5
		r.TypesFilter = types
		as, done := newAsync[*kmsg.ListGroupsResponse](t)
		e.c.ListGroups(&r, done)
		out := map[string]string{}
		for _, g := range as.get().Groups {
			out[g.Group] = g.GroupType + "/" + g.GroupState
		}
		return out
	}
	if got := list(); got["cg"] != "consumer/Stable" || got["classic"] != "classic/Stable" {
		t.Fatalf("list %v", got)
	}
	if got := list("consumer"); len(got) != 1 || got["cg"] == "" {
		t.Fatalf("list consumer %v", got)
	}
	// DescribeGroups (classic only) and ConsumerGroupDescribe (consumer only).
	dr := kmsg.NewDescribeGroupsRequest()
	dr.Version = 6
	dr.Groups = []string{"cg"}
	as, done := newAsync[*kmsg.DescribeGroupsResponse](t)
	e.c.DescribeGroups(&dr, done)
	if g := as.get().Groups[0]; g.ErrorCode != codeGroupIDNotFound || g.State != "Dead" {
		t.Fatalf("describe groups of a consumer group: %+v", g)
	}
	if d := e.cgDescribe("classic"); d.ErrorCode != codeGroupIDNotFound {
		t.Fatalf("consumer describe of a classic group: %+v", d)
	}
	// An empty group of either type converts to the other.
	wantCode(t, "leave", e.leave("classic", ids[0]).ErrorCode, 0)
	e.advance(0)
	conv := e.newConsumer("classic", "y", "t")
	conv.mustBeat()
	if conv.owned.count() != 2 {
		t.Fatalf("converted group assignment %d", conv.owned.count())
	}
	a.leave(-1)
	r2, _ := e.joinNew("cg")
	e.advance(0)
	e.advance(0)
	wantCode(t, "classic join to an empty consumer group", r2.get().ErrorCode, 0)
	e.sync()
	e.restart()
	// The consumer group's tombstones were written; the classic group
	// that replaced it had not stored an assignment yet.
	if got := list(); got["cg"] != "" || got["classic"] != "consumer/Stable" {
		t.Fatalf("after reload %v", got)
	}
}
