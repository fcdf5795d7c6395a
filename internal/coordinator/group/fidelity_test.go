package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/replica"
)

// TestLeaveUnknownGroup checks Kafka's answer to a LeaveGroup for a group
// that does not exist: from v3 every named member is UNKNOWN_MEMBER_ID and
// the top-level code is NONE (clients read the member list); v0-v2, which
// have no member list, get UNKNOWN_MEMBER_ID at the top.
func TestLeaveUnknownGroup(t *testing.T) {
	e := newEnv(t, nil)
	r := e.leave("nope", "m1", "m2")
	wantCode(t, "v5 top level", r.ErrorCode, 0)
	if len(r.Members) != 2 || r.Members[0].MemberID != "m1" || r.Members[1].MemberID != "m2" {
		t.Fatalf("v5 members: %+v", r.Members)
	}
	for _, m := range r.Members {
		wantCode(t, "v5 member "+m.MemberID, m.ErrorCode, codeUnknownMemberID)
	}
	req := kmsg.NewLeaveGroupRequest()
	req.Version = 0
	req.Group, req.MemberID = "nope", "m1"
	a, done := newAsync[*kmsg.LeaveGroupResponse](t)
	e.c.LeaveGroup(&req, done)
	old := a.get()
	wantCode(t, "v0", old.ErrorCode, codeUnknownMemberID)
	if len(old.Members) != 0 {
		t.Fatalf("v0 answer has members: %+v", old.Members)
	}
}

// TestTimerKeysDoNotCollide checks that deadlines of members of different
// groups never share a timer key. KIP-848 member ids are chosen by the
// client, so group "a-b" with member "c" and group "a" with member "b-c"
// once mapped to the same key: the second member's session deadline
// replaced the first's, and the first, gone silent, was never fenced.
func TestTimerKeysDoNotCollide(t *testing.T) {
	e, meta := newConsumerEnv(t, nil)
	meta.addTopic(t, "t", 2)
	quiet := e.newConsumer("a-b", "c", "t")
	quiet.mustBeat()
	busy := e.newConsumer("a", "b-c", "t")
	busy.mustBeat()
	session := e.broker.GroupConsumerSessionTimeout
	for elapsed := time.Duration(0); elapsed <= 2*session; elapsed += session / 4 {
		busy.mustBeat()
		e.advance(session / 4)
	}
	if g := e.cgDescribe("a-b"); len(g.Members) != 0 {
		t.Fatalf("the silent member of a-b was not fenced: %+v", g.Members)
	}
	if g := e.cgDescribe("a"); len(g.Members) != 1 {
		t.Fatalf("group a: %+v", g.Members)
	}
	// The classic keys as well: a static member's id is its instance
	// id, a dash and a UUID, so group ids and member ids with dashes
	// meet in the same way.
	for _, k := range [][2]string{{"a-b", "c"}, {"a", "b-c"}} {
		for _, o := range [][2]string{{"a-b", "c"}, {"a", "b-c"}} {
			if k != o && (heartbeatKey(k[0], k[1]) == heartbeatKey(o[0], o[1]) ||
				sessionTimeoutKey(k[0], k[1]) == sessionTimeoutKey(o[0], o[1]) ||
				rebalanceTimeoutKey(k[0], k[1]) == rebalanceTimeoutKey(o[0], o[1])) {
				t.Fatalf("keys of %v and %v collide", k, o)
			}
		}
	}
}

// TestFailedFenceKeepsSessionDeadline checks that a member whose fencing
// (session expiry) could not be written is still fenced later: the
// failed write rolls the group back, member included, and the member must
// get its session deadline back with it, or a dead member keeps its
// partitions forever.
func TestFailedFenceKeepsSessionDeadline(t *testing.T) {
	e, meta := newConsumerEnv(t, nil)
	meta.addTopic(t, "t", 4)
	a := e.newConsumer("g", "a", "t")
	b := e.newConsumer("g", "b", "t")
	a.mustBeat()
	b.mustBeat()
	converge(t, a, b)
	tp := replica.TopicPartition{Topic: OffsetsTopic, Partition: 0}
	if err := e.rm.RemovePartition(tp, false); err != nil {
		t.Fatal(err)
	}
	// b goes silent; its session expires while the partition is gone,
	// so fencing it cannot be written.
	session := e.broker.GroupConsumerSessionTimeout
	for elapsed := time.Duration(0); elapsed <= session; elapsed += session / 4 {
		a.mustBeat()
		e.advance(session / 4)
	}
	if g := e.cgDescribe("g"); len(g.Members) != 2 {
		t.Fatalf("the failed fence was not rolled back: %+v", g.Members)
	}
	var id [16]byte
	copy(id[:], "offsets")
	if err := e.rm.BecomeLeader(tp, id, 2, []int32{testNode}, []int32{testNode}, replica.DefaultPartitionConfig()); err != nil {
		t.Fatal(err)
	}
	for elapsed := time.Duration(0); elapsed <= 2*session; elapsed += session / 4 {
		a.beat()
		e.advance(session / 4)
	}
	if g := e.cgDescribe("g"); len(g.Members) != 1 || g.Members[0].MemberID != "a" {
		t.Fatalf("b was never fenced after its fence failed: %+v", g.Members)
	}
}

// TestConsumerGroupDescribeEmptyGroupID: Kafka answers an empty group id
// in ConsumerGroupDescribe INVALID_GROUP_ID, next to the real answers.
func TestConsumerGroupDescribeEmptyGroupID(t *testing.T) {
	e, meta := newConsumerEnv(t, nil)
	meta.addTopic(t, "t", 1)
	e.newConsumer("g", "a", "t").mustBeat()
	r := kmsg.NewPtrConsumerGroupDescribeRequest()
	r.Groups = []string{"", "g"}
	a, done := newAsync[*kmsg.ConsumerGroupDescribeResponse](t)
	e.c.ConsumerGroupDescribe(r, done)
	got := a.get().Groups
	wantCode(t, "empty id", got[0].ErrorCode, codeInvalidGroupID)
	wantCode(t, "g", got[1].ErrorCode, 0)
	if len(got[1].Members) != 1 {
		t.Fatalf("g: %+v", got[1])
	}
}
