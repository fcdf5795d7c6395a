package group

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestStandaloneCommitAndFetch(t *testing.T) {
	e := newEnv(t, nil)
	// A groupless consumer (kcat, kadm) commits with generation -1.
	c := e.commit("simple", "", -1, 9, map[string]map[int32]int64{"t1": {0: 10, 1: 11}, "t2": {0: 20}})
	for _, code := range commitCodes(c) {
		wantCode(t, "commit", code, 0)
	}
	got := e.fetch("simple")
	if got["t1"][0] != 10 || got["t1"][1] != 11 || got["t2"][0] != 20 || len(got) != 2 {
		t.Fatalf("fetch: %v", got)
	}
	// The group exists, Empty, without a protocol type.
	d := e.describe("simple")[0]
	if d.State != "Empty" || d.ProtocolType != "" {
		t.Fatalf("simple group: %+v", d)
	}
	// Requested partitions: committed metadata and leader epoch, -1 for
	// the unknown.
	r := kmsg.NewOffsetFetchRequest()
	r.Version = 7
	r.Group = "simple"
	ft := kmsg.NewOffsetFetchRequestTopic()
	ft.Topic = "t1"
	ft.Partitions = []int32{1, 5}
	r.Topics = []kmsg.OffsetFetchRequestTopic{ft}
	r.RequireStable = true
	a, done := newAsync[*kmsg.OffsetFetchResponse](t)
	e.c.OffsetFetch(&r, done)
	resp := a.get()
	p := resp.Topics[0].Partitions
	if p[0].Offset != 11 || p[0].LeaderEpoch != 7 || *p[0].Metadata != "md-11" || p[1].Offset != -1 || p[1].LeaderEpoch != -1 || *p[1].Metadata != "" {
		t.Fatalf("fetch partitions: %+v", p)
	}
	// Unknown group: offsets -1, no error.
	if got := e.fetch("nobody"); len(got) != 0 {
		t.Fatalf("unknown group: %v", got)
	}
}

func TestCommitErrors(t *testing.T) {
	e := newEnv(t, map[string]string{"offset.metadata.max.bytes": "8"})
	ids, gen := e.stable("g", 2)
	one := map[string]map[int32]int64{"t1": {0: 1}}
	wantCode(t, "generation", commitCodes(e.commit("g", ids[0], gen+1, 9, one))[0], codeIllegalGeneration)
	wantCode(t, "member", commitCodes(e.commit("g", "ghost", gen, 9, one))[0], codeUnknownMemberID)
	wantCode(t, "standalone commit to a live group", commitCodes(e.commit("g", "", -1, 9, one))[0], codeUnknownMemberID)
	wantCode(t, "unknown group v8", commitCodes(e.commit("nog", "m", 1, 8, one))[0], codeIllegalGeneration)
	wantCode(t, "unknown group v9", commitCodes(e.commit("nog", "m", 1, 9, one))[0], codeGroupIDNotFound)
	// Metadata over offset.metadata.max.bytes: only that partition fails.
	r := kmsg.NewOffsetCommitRequest()
	r.Version = 9
	r.Group, r.MemberID, r.Generation = "g", ids[0], gen
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = "t1"
	for i, md := range []string{"short", strings.Repeat("x", 9)} {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.Metadata = int32(i), 5, &md
		rt.Partitions = append(rt.Partitions, rp)
	}
	r.Topics = []kmsg.OffsetCommitRequestTopic{rt}
	a, done := newAsync[*kmsg.OffsetCommitResponse](t)
	e.c.OffsetCommit(&r, done)
	codes := commitCodes(a.get())
	wantCode(t, "short metadata", codes[0], 0)
	wantCode(t, "long metadata", codes[1], codeOffsetMetadataTooLarge)
	// During CompletingRebalance a member's commit is REBALANCE_IN_PROGRESS.
	as := []async[*kmsg.JoinGroupResponse]{e.join(joinReq("g", ids[0], 9)), e.join(joinReq("g", ids[1], 9))}
	gen2 := as[0].get().Generation
	as[1].get()
	wantCode(t, "completing rebalance", commitCodes(e.commit("g", ids[0], gen2, 9, one))[0], codeRebalanceInProgress)
}

func TestOffsetDeleteAndDeleteGroups(t *testing.T) {
	e := newEnv(t, nil)
	e.commit("s", "", -1, 9, map[string]map[int32]int64{"t1": {0: 1, 1: 2}, "t2": {0: 3}})
	od := func(group string, topic string, parts ...int32) *kmsg.OffsetDeleteResponse {
		r := kmsg.NewOffsetDeleteRequest()
		r.Group = group
		rt := kmsg.NewOffsetDeleteRequestTopic()
		rt.Topic = topic
		for _, p := range parts {
			rp := kmsg.NewOffsetDeleteRequestTopicPartition()
			rp.Partition = p
			rt.Partitions = append(rt.Partitions, rp)
		}
		r.Topics = []kmsg.OffsetDeleteRequestTopic{rt}
		a, done := newAsync[*kmsg.OffsetDeleteResponse](t)
		e.c.OffsetDelete(&r, done)
		return a.get()
	}
	if r := od("s", "t1", 0, 9); r.ErrorCode != 0 || r.Topics[0].Partitions[0].ErrorCode != 0 || r.Topics[0].Partitions[1].ErrorCode != 0 {
		t.Fatalf("offset delete: %+v", r)
	}
	if got := e.fetch("s"); len(got["t1"]) != 1 || got["t1"][1] != 2 {
		t.Fatalf("after offset delete: %v", got)
	}
	wantCode(t, "unknown group", od("x", "t1", 0).ErrorCode, codeGroupIDNotFound)
	wantCode(t, "empty group id", od("", "t1", 0).ErrorCode, codeInvalidGroupID)

	// A consumer group whose members consume t1.
	ids, gen := e.stable("g", 1)
	e.commit("g", ids[0], gen, 9, map[string]map[int32]int64{"t1": {0: 5}, "t9": {0: 6}})
	r := od("g", "t1", 0)
	wantCode(t, "subscribed", r.Topics[0].Partitions[0].ErrorCode, codeGroupSubscribedToTopic)
	wantCode(t, "not subscribed", od("g", "t9", 0).Topics[0].Partitions[0].ErrorCode, 0)

	del := func(groups ...string) []kmsg.DeleteGroupsResponseGroup {
		r := kmsg.NewDeleteGroupsRequest()
		r.Version = 3
		r.Groups = groups
		a, done := newAsync[*kmsg.DeleteGroupsResponse](t)
		e.c.DeleteGroups(&r, done)
		return a.get().Groups
	}
	res := del("s", "g", "none")
	wantCode(t, "delete empty", res[0].ErrorCode, 0)
	wantCode(t, "delete live", res[1].ErrorCode, codeNonEmptyGroup)
	wantCode(t, "delete unknown", res[2].ErrorCode, codeGroupIDNotFound)
	if got := e.fetch("s"); len(got) != 0 {
		t.Fatalf("offsets after delete: %v", got)
	}
	if st := e.state("s"); st != "Dead" {
		t.Fatalf("deleted group state %s", st)
	}
	// Deletion survives a reload: the tombstones are in the log.
	e.restart()
	if got := e.fetch("s"); len(got) != 0 {
		t.Fatalf("offsets after delete and reload: %v", got)
	}
	if got := e.fetch("g"); got["t1"][0] != 5 || len(got["t9"]) != 0 {
		t.Fatalf("g after reload: %v", got)
	}
}

func TestPersistenceRoundTrip(t *testing.T) {
	e := newEnvParts(t, 3, nil)
	ids, gen := e.stable("g", 2)
	e.commit("g", ids[0], gen, 9, map[string]map[int32]int64{"t1": {0: 100, 1: 101}})
	e.commit("g", ids[0], gen, 9, map[string]map[int32]int64{"t1": {0: 150}}) // the later commit wins
	e.commit("solo", "", -1, 9, map[string]map[int32]int64{"t2": {3: 7}})
	before := e.describe("g")[0]

	e.restart()
	after := e.describe("g")[0]
	if after.State != "Stable" || after.Protocol != before.Protocol || len(after.Members) != 2 {
		t.Fatalf("after reload: %+v", after)
	}
	for i := range before.Members {
		b, a := before.Members[i], after.Members[i]
		if b.MemberID != a.MemberID || string(b.MemberAssignment) != string(a.MemberAssignment) ||
			string(b.ProtocolMetadata) != string(a.ProtocolMetadata) || b.ClientHost != a.ClientHost {
			t.Fatalf("member %d: %+v vs %+v", i, b, a)
		}
	}
	if got := e.fetch("g"); got["t1"][0] != 150 || got["t1"][1] != 101 {
		t.Fatalf("offsets after reload: %v", got)
	}
	if got := e.fetch("solo"); got["t2"][3] != 7 {
		t.Fatalf("solo after reload: %v", got)
	}
	// The members carry on in the same generation: heartbeats work, and
	// the leader's sync gets its persisted assignment back.
	wantCode(t, "heartbeat after reload", e.heartbeat("g", ids[1], gen), 0)
	s := e.syncGroup("g", ids[1], gen, nil).get()
	if s.ErrorCode != 0 || string(s.MemberAssignment) != "a-"+ids[1] {
		t.Fatalf("sync after reload: %+v", s)
	}
	// A loaded member that stays silent expires like any other.
	e.advance(5 * time.Second)
	wantCode(t, "leader heartbeat after reload", e.heartbeat("g", ids[0], gen), 0)
	e.advance(6 * time.Second)
	if st := e.state("g"); st != "PreparingRebalance" {
		t.Fatalf("state after the loaded members went silent: %s", st)
	}
}

func TestOffsetExpiration(t *testing.T) {
	e := newEnv(t, map[string]string{
		"offsets.retention.minutes":           "1",
		"offsets.retention.check.interval.ms": "1000",
	})
	e.commit("simple", "", -1, 9, map[string]map[int32]int64{"t1": {0: 1}})
	ids, gen := e.stable("g", 1)
	e.commit("g", ids[0], gen, 9, map[string]map[int32]int64{"t1": {0: 5}})
	// 30 s later the simple group commits another partition.
	for range 6 {
		e.advance(5 * time.Second)
		e.heartbeat("g", ids[0], gen)
	}
	e.commit("simple", "", -1, 9, map[string]map[int32]int64{"t1": {1: 2}})
	// At 61 s the first simple commit has expired (retention counts from
	// the commit), the second has not; the live group's offsets of a
	// topic it consumes never expire.
	for range 6 {
		e.advance(5 * time.Second)
		e.heartbeat("g", ids[0], gen)
	}
	e.advance(1 * time.Second)
	e.heartbeat("g", ids[0], gen)
	if got := e.fetch("simple"); len(got["t1"]) != 1 || got["t1"][1] != 2 {
		t.Fatalf("simple after 61 s: %v", got)
	}
	if got := e.fetch("g"); got["t1"][0] != 5 {
		t.Fatalf("live group after 61 s: %v", got)
	}
	// The member leaves: the group is Empty, and its offsets expire one
	// retention period after that, not after the commit.
	e.leave("g", ids[0])
	e.advance(59 * time.Second)
	if got := e.fetch("g"); got["t1"][0] != 5 {
		t.Fatalf("empty group before retention: %v", got)
	}
	e.advance(2 * time.Second)
	if got := e.fetch("g"); len(got) != 0 {
		t.Fatalf("empty group after retention: %v", got)
	}
	// With its offsets gone the Empty group itself is deleted; so is the
	// simple group once its last offset expires.
	e.advance(time.Second)
	if st := e.state("g"); st != "Dead" {
		t.Fatalf("expired group state %s", st)
	}
	if st := e.state("simple"); st != "Dead" {
		t.Fatalf("expired simple group state %s", st)
	}
	e.restart()
	if got := e.fetch("simple"); len(got) != 0 {
		t.Fatalf("expired offsets came back after reload: %v", got)
	}
	if st := e.state("g"); st != "Dead" {
		t.Fatalf("expired group came back after reload: %s", st)
	}
}

// TestCommitRetentionTime: OffsetCommit v2-v4's retention time sets an
// explicit expiry, as Kafka still honours it.
func TestCommitRetentionTime(t *testing.T) {
	e := newEnv(t, map[string]string{"offsets.retention.check.interval.ms": "1000"})
	r := kmsg.NewOffsetCommitRequest()
	r.Version = 2
	r.Group, r.Generation = "old", -1
	r.RetentionTimeMillis = 5000
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Offset = 3
	rt.Partitions = []kmsg.OffsetCommitRequestTopicPartition{rp}
	r.Topics = []kmsg.OffsetCommitRequestTopic{rt}
	a, done := newAsync[*kmsg.OffsetCommitResponse](t)
	e.c.OffsetCommit(&r, done)
	wantCode(t, "commit", commitCodes(a.get())[0], 0)
	e.advance(4 * time.Second)
	if got := e.fetch("old"); got["t"][0] != 3 {
		t.Fatalf("before expiry: %v", got)
	}
	e.advance(2 * time.Second)
	if got := e.fetch("old"); len(got) != 0 {
		t.Fatalf("after expiry: %v", got)
	}
}
