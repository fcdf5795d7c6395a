package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// stable brings group to Stable with n dynamic members and returns their
// ids (the first is the leader) and the generation.
func (e *env) stable(group string, n int) ([]string, int32) {
	e.t.Helper()
	var ids []string
	var pending []async[*kmsg.JoinGroupResponse]
	for range n {
		a, id := e.joinNew(group)
		ids = append(ids, id)
		pending = append(pending, a)
	}
	// The initial rebalance completes on the timer, even with no delay,
	// and extends itself once for the members that joined meanwhile.
	e.advance(0)
	e.advance(0)
	var gen int32
	var leader string
	for _, p := range pending {
		r := p.get()
		wantCode(e.t, "join", r.ErrorCode, 0)
		gen, leader = r.Generation, r.LeaderID
	}
	if leader != ids[0] {
		e.t.Fatalf("leader %s, want the first member %s", leader, ids[0])
	}
	e.syncAll(group, ids, gen)
	return ids, gen
}

// syncAll sends every member's SyncGroup (the leader's last, assigning
// "a-<id>") and checks each gets its assignment.
func (e *env) syncAll(group string, ids []string, gen int32) {
	e.t.Helper()
	assign := map[string][]byte{}
	for _, id := range ids {
		assign[id] = []byte("a-" + id)
	}
	var syncs []async[*kmsg.SyncGroupResponse]
	for _, id := range ids[1:] {
		syncs = append(syncs, e.syncGroup(group, id, gen, nil))
	}
	lr := e.syncGroup(group, ids[0], gen, assign).get()
	wantCode(e.t, "leader sync", lr.ErrorCode, 0)
	for i, s := range syncs {
		r := s.get()
		wantCode(e.t, "follower sync", r.ErrorCode, 0)
		if string(r.MemberAssignment) != "a-"+ids[i+1] {
			e.t.Fatalf("follower assignment %q", r.MemberAssignment)
		}
	}
}

// rejoinAll rejoins every member (the group is rebalancing) and returns
// the new generation.
func (e *env) rejoinAll(group string, ids []string) int32 {
	e.t.Helper()
	var as []async[*kmsg.JoinGroupResponse]
	for _, id := range ids {
		as = append(as, e.join(joinReq(group, id, 9)))
	}
	var gen int32
	for _, a := range as {
		r := a.get()
		wantCode(e.t, "rejoin", r.ErrorCode, 0)
		gen = r.Generation
	}
	return gen
}

func TestJoinSyncHeartbeatLeave(t *testing.T) {
	e := newEnv(t, nil)
	ids, gen := e.stable("g", 2)
	if got := e.state("g"); got != "Stable" {
		t.Fatalf("state %s", got)
	}
	wantCode(t, "heartbeat", e.heartbeat("g", ids[1], gen), 0)
	wantCode(t, "heartbeat bad gen", e.heartbeat("g", ids[1], gen+1), codeIllegalGeneration)
	wantCode(t, "heartbeat unknown", e.heartbeat("g", "nobody", gen), codeUnknownMemberID)
	wantCode(t, "heartbeat unknown group", e.heartbeat("nogroup", ids[0], gen), codeUnknownMemberID)

	// The follower leaves: the leader learns of the rebalance through its
	// heartbeat and rejoins alone.
	lr := e.leave("g", ids[1])
	wantCode(t, "leave", lr.Members[0].ErrorCode, 0)
	wantCode(t, "heartbeat during rebalance", e.heartbeat("g", ids[0], gen), codeRebalanceInProgress)
	r := e.join(joinReq("g", ids[0], 9)).get()
	wantCode(t, "rejoin", r.ErrorCode, 0)
	if r.Generation != gen+1 || len(r.Members) != 1 {
		t.Fatalf("rejoin: generation %d members %d", r.Generation, len(r.Members))
	}
	e.syncAll("g", ids[:1], r.Generation)
	// The last member leaves: the group is Empty, and a sync now is
	// UNKNOWN_MEMBER_ID.
	wantCode(t, "leave", e.leave("g", ids[0]).Members[0].ErrorCode, 0)
	e.sync()
	if got := e.state("g"); got != "Empty" {
		t.Fatalf("state after everyone left: %s", got)
	}
	wantCode(t, "sync to an empty group", e.syncGroup("g", ids[0], r.Generation+1, nil).get().ErrorCode, codeUnknownMemberID)
}

func TestThreeMemberRebalance(t *testing.T) {
	e := newEnv(t, nil)
	ids, gen := e.stable("g", 2)

	// A third member joins a Stable group: a rebalance starts, the others
	// learn of it through heartbeats, and the join completes once all
	// three have (re)joined.
	a3, id3 := e.joinNew("g")
	a3.pending()
	wantCode(t, "heartbeat", e.heartbeat("g", ids[0], gen), codeRebalanceInProgress)
	wantCode(t, "sync in PreparingRebalance", e.syncGroup("g", ids[1], gen, nil).get().ErrorCode, codeRebalanceInProgress)
	as := []async[*kmsg.JoinGroupResponse]{e.join(joinReq("g", ids[0], 9)), e.join(joinReq("g", ids[1], 9))}
	r3 := a3.get()
	wantCode(t, "third join", r3.ErrorCode, 0)
	if r3.Generation != gen+1 || r3.LeaderID != ids[0] || len(r3.Members) != 0 {
		t.Fatalf("follower join: %+v", r3)
	}
	lr := as[0].get()
	if len(lr.Members) != 3 {
		t.Fatalf("leader sees %d members", len(lr.Members))
	}
	as[1].get()
	all := append(ids, id3)
	e.syncAll("g", all, gen+1)
	d := e.describe("g")[0]
	if d.State != "Stable" || len(d.Members) != 3 || string(d.Members[2].MemberAssignment) != "a-"+id3 {
		t.Fatalf("describe: %+v", d)
	}
	// A commit with the old generation fails, with the new one succeeds.
	c := e.commit("g", ids[0], gen, 9, map[string]map[int32]int64{"t1": {0: 5}})
	wantCode(t, "stale commit", commitCodes(c)[0], codeIllegalGeneration)
	c = e.commit("g", ids[0], gen+1, 9, map[string]map[int32]int64{"t1": {0: 5}})
	wantCode(t, "commit", commitCodes(c)[0], 0)
}

func TestJoinErrors(t *testing.T) {
	e := newEnv(t, map[string]string{"group.max.size": "2"})
	wantCode(t, "empty group id", e.join(joinReq("", "", 9)).get().ErrorCode, codeInvalidGroupID)
	low := joinReq("g", "", 9)
	low.SessionTimeoutMillis = 10
	wantCode(t, "session too short", e.join(low).get().ErrorCode, codeInvalidSessionTimeout)
	high := joinReq("g", "", 9)
	high.SessionTimeoutMillis = 1 << 30
	wantCode(t, "session too long", e.join(high).get().ErrorCode, codeInvalidSessionTimeout)
	wantCode(t, "unknown member of unknown group", e.join(joinReq("g", "ghost", 9)).get().ErrorCode, codeUnknownMemberID)
	noProto := joinReq("g", "", 9)
	noProto.Protocols = nil
	wantCode(t, "no protocols", e.join(noProto).get().ErrorCode, codeInconsistentProtocol)

	hs, _ := e.stable("h", 1)
	// A member whose protocols the group does not support.
	other := joinReq("h", "", 9, "roundrobin")
	wantCode(t, "inconsistent protocol", e.join(other).get().ErrorCode, codeInconsistentProtocol)
	wrongType := joinReq("h", hs[0], 9)
	wrongType.ProtocolType = "connect"
	wantCode(t, "protocol type", e.join(wrongType).get().ErrorCode, codeInconsistentProtocol)
	// group.max.size = 2: a third member is refused, before its
	// protocols are even looked at.
	e.stable("g", 2)
	r := e.join(joinReq("g", "", 9)).get()
	wantCode(t, "third member", r.ErrorCode, codeGroupMaxSizeReached)
	if r.MemberID != "" {
		t.Fatalf("refused member got id %q", r.MemberID)
	}
	// v3 and below join in one step (no MEMBER_ID_REQUIRED).
	a := e.join(joinReq("old", "", 3))
	e.advance(0)
	wantCode(t, "v3 join", a.get().ErrorCode, 0)
}

func TestStaticMemberRejoin(t *testing.T) {
	e := newEnv(t, nil)
	join := func(memberID, instance string) async[*kmsg.JoinGroupResponse] {
		r := joinReq("g", memberID, 9)
		r.InstanceID = &instance
		return e.join(r)
	}
	// Two static members; static members join in one step.
	a1, a2 := join("", "i1"), join("", "i2")
	e.advance(0)
	e.advance(0)
	r1, r2 := a1.get(), a2.get()
	wantCode(t, "join 1", r1.ErrorCode, 0)
	wantCode(t, "join 2", r2.ErrorCode, 0)
	if r1.LeaderID != r1.MemberID || len(r1.Members) != 2 || r1.Members[1].InstanceID == nil {
		t.Fatalf("leader join: %+v", r1)
	}
	gen := r1.Generation
	e.syncAll("g", []string{r1.MemberID, r2.MemberID}, gen)

	// The follower's process restarts: it rejoins with its instance id and
	// no member id. The group stays Stable in the same generation; the
	// member gets a new id and the old one is fenced.
	n2 := join("", "i2").get()
	wantCode(t, "static rejoin", n2.ErrorCode, 0)
	if n2.MemberID == r2.MemberID || n2.Generation != gen || n2.LeaderID != r1.MemberID || n2.SkipAssignment {
		t.Fatalf("static rejoin: %+v", n2)
	}
	if st := e.state("g"); st != "Stable" {
		t.Fatalf("state %s after a static rejoin", st)
	}
	i2 := "i2"
	hb := kmsg.NewHeartbeatRequest()
	hb.Version = 4
	hb.Group, hb.MemberID, hb.Generation, hb.InstanceID = "g", r2.MemberID, gen, &i2
	a, done := newAsync[*kmsg.HeartbeatResponse](t)
	e.c.Heartbeat(&hb, done)
	wantCode(t, "old member id", a.get().ErrorCode, codeFencedInstanceID)
	hb.MemberID = n2.MemberID
	a, done = newAsync[*kmsg.HeartbeatResponse](t)
	e.c.Heartbeat(&hb, done)
	wantCode(t, "new member id", a.get().ErrorCode, 0)
	// It still has its assignment.
	s := e.syncGroup("g", n2.MemberID, gen, nil).get()
	if s.ErrorCode != 0 || string(s.MemberAssignment) != "a-"+r2.MemberID {
		t.Fatalf("sync after static rejoin: %+v", s)
	}

	// The static leader restarts: on v9 it is told to skip the
	// assignment (KIP-814) and gets the members.
	n1 := join("", "i1").get()
	wantCode(t, "leader static rejoin", n1.ErrorCode, 0)
	if !n1.SkipAssignment || n1.LeaderID != n1.MemberID || len(n1.Members) != 2 || n1.Generation != gen {
		t.Fatalf("leader static rejoin: %+v", n1)
	}
	// The static member's restarted process survives a reload with its
	// new id: the metadata was persisted.
	e.restart()
	d := e.describe("g")[0]
	if d.State != "Stable" || len(d.Members) != 2 || d.Members[0].MemberID != n1.MemberID || d.Members[1].MemberID != n2.MemberID {
		t.Fatalf("after reload: %+v", d)
	}
	// An administrator removes a static member by instance id.
	lr := kmsg.NewLeaveGroupRequest()
	lr.Version = 5
	lr.Group = "g"
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.InstanceID = &i2
	unknown := kmsg.NewLeaveGroupRequestMember()
	i9 := "i9"
	unknown.InstanceID = &i9
	lr.Members = []kmsg.LeaveGroupRequestMember{lm, unknown}
	la, ldone := newAsync[*kmsg.LeaveGroupResponse](t)
	e.c.LeaveGroup(&lr, ldone)
	resp := la.get()
	wantCode(t, "leave by instance id", resp.Members[0].ErrorCode, 0)
	wantCode(t, "leave unknown instance id", resp.Members[1].ErrorCode, codeUnknownMemberID)
	if st := e.state("g"); st != "PreparingRebalance" {
		t.Fatalf("state %s after a static member left", st)
	}
}

func TestStaticMemberChangingProtocolRebalances(t *testing.T) {
	e := newEnv(t, nil)
	i1 := "i1"
	r := joinReq("g", "", 9, "range", "roundrobin")
	r.InstanceID = &i1
	a := e.join(r)
	e.advance(0)
	j := a.get()
	e.syncAll("g", []string{j.MemberID}, j.Generation)
	// It restarts preferring another protocol: the selected protocol
	// would change, so the group rebalances.
	r2 := joinReq("g", "", 9, "roundrobin", "range")
	r2.InstanceID = &i1
	a2 := e.join(r2)
	j2 := a2.get()
	wantCode(t, "rejoin", j2.ErrorCode, 0)
	if j2.Generation != j.Generation+1 || *j2.Protocol != "roundrobin" {
		t.Fatalf("rejoin: generation %d protocol %s", j2.Generation, *j2.Protocol)
	}
}

func TestSilentMemberExpires(t *testing.T) {
	e := newEnv(t, nil)
	ids, gen := e.stable("g", 2)
	// Only the leader heartbeats; the follower's session (10 s) lapses.
	e.advance(6 * time.Second)
	wantCode(t, "heartbeat", e.heartbeat("g", ids[0], gen), 0)
	e.advance(6 * time.Second)
	wantCode(t, "heartbeat after the follower expired", e.heartbeat("g", ids[0], gen), codeRebalanceInProgress)
	gen2 := e.rejoinAll("g", ids[:1])
	if gen2 != gen+1 {
		t.Fatalf("generation %d", gen2)
	}
	d := e.describe("g")[0]
	if len(d.Members) != 1 || d.Members[0].MemberID != ids[0] {
		t.Fatalf("members after expiry: %+v", d.Members)
	}
	wantCode(t, "expired member", e.heartbeat("g", ids[1], gen2), codeUnknownMemberID)
}

// TestMemberMissingRebalanceIsDropped: a member that does not rejoin
// within the rebalance timeout is removed when the join phase completes.
func TestMemberMissingRebalanceIsDropped(t *testing.T) {
	e := newEnv(t, nil)
	ids, _ := e.stable("g", 2)
	a := e.join(joinReq("g", ids[0], 9)) // the leader rejoins: rebalance
	a.pending()
	// Keep the follower's session alive so that only the rebalance
	// timeout (30 s) can drop it: heartbeats get REBALANCE_IN_PROGRESS.
	for range 5 {
		e.advance(5 * time.Second)
		e.heartbeat("g", ids[1], 1)
	}
	a.pending()
	e.advance(6 * time.Second)
	r := a.get()
	wantCode(t, "join", r.ErrorCode, 0)
	if len(r.Members) != 1 || r.Generation != 2 {
		t.Fatalf("join after the rebalance timeout: %+v", r)
	}
}

// TestPendingSyncExpires: members that do not send SyncGroup within the
// rebalance timeout after the join phase are removed.
func TestPendingSyncExpires(t *testing.T) {
	e := newEnv(t, nil)
	ids, _ := e.stable("g", 2)
	as := []async[*kmsg.JoinGroupResponse]{e.join(joinReq("g", ids[0], 9)), e.join(joinReq("g", ids[1], 9))}
	gen := as[0].get().Generation
	as[1].get()
	// Only the leader syncs (its assignment makes the group Stable); the
	// follower heartbeats but never syncs, and is dropped at the
	// deadline (the rebalance timeout, 30 s).
	assign := map[string][]byte{ids[0]: []byte("x"), ids[1]: []byte("y")}
	wantCode(t, "leader sync", e.syncGroup("g", ids[0], gen, assign).get().ErrorCode, 0)
	for range 5 {
		e.advance(5 * time.Second)
		wantCode(t, "leader heartbeat", e.heartbeat("g", ids[0], gen), 0)
		wantCode(t, "follower heartbeat", e.heartbeat("g", ids[1], gen), 0)
	}
	e.advance(6 * time.Second)
	wantCode(t, "leader heartbeat", e.heartbeat("g", ids[0], gen), codeRebalanceInProgress)
	d := e.describe("g")[0]
	if len(d.Members) != 1 {
		t.Fatalf("members after the sync deadline: %d", len(d.Members))
	}
}

func TestInitialRebalanceDelay(t *testing.T) {
	e := newEnv(t, map[string]string{"group.initial.rebalance.delay.ms": "3000"})
	a1, _ := e.joinNew("g")
	e.advance(2 * time.Second)
	a1.pending()
	// A second member joins within the delay: the delay is extended by
	// another group.initial.rebalance.delay.ms from when the first one
	// ran out.
	a2, _ := e.joinNew("g")
	e.advance(1 * time.Second) // first delay over: extended
	a1.pending()
	a2.pending()
	e.advance(2999 * time.Millisecond)
	a1.pending()
	e.advance(time.Millisecond)
	r1, r2 := a1.get(), a2.get()
	wantCode(t, "join 1", r1.ErrorCode, 0)
	wantCode(t, "join 2", r2.ErrorCode, 0)
	if r1.Generation != 1 || r2.Generation != 1 || len(r1.Members) != 2 {
		t.Fatalf("joins: %+v %+v", r1, r2)
	}
}

func TestPendingMemberExpires(t *testing.T) {
	e := newEnv(t, nil)
	// A new member gets MEMBER_ID_REQUIRED and never comes back: its
	// pending id expires after the session timeout.
	r := e.join(joinReq("g", "", 9)).get()
	wantCode(t, "first join", r.ErrorCode, codeMemberIDRequired)
	e.advance(11 * time.Second)
	wantCode(t, "expired pending id", e.join(joinReq("g", r.MemberID, 9)).get().ErrorCode, codeUnknownMemberID)
}

// TestLeaderMissingRebalance: a new member joins and the leader never
// rejoins; at the rebalance timeout the (dynamic) leader is dropped and
// the new member leads.
func TestLeaderMissingRebalance(t *testing.T) {
	e := newEnv(t, nil)
	ids, _ := e.stable("g", 1)
	a, id := e.joinNew("g")
	e.advance(31 * time.Second)
	r := a.get()
	wantCode(t, "join", r.ErrorCode, 0)
	if r.LeaderID != id || len(r.Members) != 1 {
		t.Fatalf("join: %+v (old leader %s)", r, ids[0])
	}
}
