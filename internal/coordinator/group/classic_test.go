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
	pending := make([]func() *kmsg.JoinGroupResponse, 0, n)
	for range n {
		a, id := e.joinNew(group)
		ids = append(ids, id)
		pending = append(pending, func() *kmsg.JoinGroupResponse { r := a.get(); return r })
	}
	// The initial rebalance completes on the timer, even with no delay,
	// and extends itself once for the members that joined meanwhile.
	e.advance(0)
	e.advance(0)
	var gen int32
	var leader string
	for _, p := range pending {
		r := p()
		wantCode(e.t, "join", r.ErrorCode, 0)
		gen, leader = r.Generation, r.LeaderID
	}
	if leader != ids[0] {
		e.t.Fatalf("leader %s, want the first member %s", leader, ids[0])
	}
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
	return ids, gen
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
	_ = time.Second
}
