package group

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

// FuzzGroupProtocol drives a coordinator (two __consumer_offsets
// partitions, a manual clock, real logs) through a sequence of requests
// decoded from the fuzz input: every group API at fuzzed versions, with
// colliding, empty and long group ids, member ids the coordinator handed
// out and ones it never did, fuzzed generations, epochs, timeouts,
// protocol lists, assignments, offsets and regular expressions, mixed
// with clock advances, shard resignations and elections, coordinator
// reloads over the same logs and metadata changes. After each step it
// checks what must hold whatever the input:
//
//   - no panic, and every done callback is called exactly once, with a
//     response that encodes at the request's version (a flush that moves
//     the clock past every deadline, then Close, answers what was
//     parked);
//   - in every KIP-848 group, no partition is held (assigned or pending
//     revocation) by two members, no two target assignments overlap,
//     and the partition epochs name exactly the held partitions;
//   - after a reload, the committed offsets are what a model of the
//     successful commits and deletions says.
func FuzzGroupProtocol(f *testing.F) {
	for _, s := range protocolSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runProtocolFuzz(t, data)
	})
}

// The operations of the fuzz input; each is one byte followed by its
// arguments.
const (
	opJoin byte = iota
	opSync
	opHeartbeat
	opLeave
	opCommit
	opFetch
	opOffsetDelete
	opDescribe
	opList
	opDeleteGroups
	opCGHeartbeat
	opCGDescribe
	opAdvance
	opShard
	opReload
	opMeta
	numOps
)

// protocolSeeds are meaningful sequences: a classic two-step join with a
// sync and commits, a rebalance of two members, static members, a
// consumer group whose members reconcile through a metadata change,
// deletions, shard moves and reloads. The argument bytes follow the
// reads of each operation below (0 is the first, most ordinary choice);
// GROUP_FUZZ_TRACE=1 logs what a sequence does.
func protocolSeeds() [][]byte {
	b := func(ops ...[]byte) []byte { return bytes.Join(ops, nil) }
	// Member bytes: 0 "", 1 never handed out, 2 long, 3 client-made, 4+i
	// the i-th id answers handed out. Epoch bytes: 2 is 0, 3 is 1, 9 the
	// last generation or epoch answered.
	// A join completes when the join barrier's timer runs: advance 1 ms.
	join := func(g, m, inst byte) []byte { return []byte{opJoin, 7, g, m, inst, 0, 0, 0, 1, 0, 0, 0, opAdvance, 0} }
	sync := func(g, m, e, to byte) []byte { return []byte{opSync, 5, g, m, 0, e, 1, 0, 0, 1, to, 0} }
	hb := func(g, m, e byte) []byte { return []byte{opHeartbeat, 4, g, m, 0, e} }
	leave := func(g, m byte) []byte { return []byte{opLeave, 5, g, m, 1, m, 0} }
	commit := func(v, g, m, e byte) []byte {
		return []byte{opCommit, v, g, m, 0, e, 0, 1, 0, 2, 0, 0, 0, 0, 1, 1, 0, 1}
	}
	fetch := func(g byte) []byte { return []byte{opFetch, 8, 0, 1, g, 0, 0} }
	cg := func(g, m, e byte) []byte { return []byte{opCGHeartbeat, 1, g, m, e, 0, 0, 0, 0, 0, 0, 0} }
	cgRegex := func(g, m, e byte) []byte { return []byte{opCGHeartbeat, 1, g, m, e, 0, 0, 0, 4, 1, 0, 0} }
	describe := func(g byte) []byte { return []byte{opDescribe, 5, 1, g, 0} }
	cgDescribe := func(g byte) []byte { return []byte{opCGDescribe, 1, 1, g} }
	advance := func(i byte) []byte { return []byte{opAdvance, i} }
	reload := []byte{opReload}
	return [][]byte{
		b(join(0, 0, 0), join(0, 4, 0), sync(0, 4, 9, 4), commit(5, 0, 4, 9), reload, fetch(0)),
		b(join(0, 0, 0), join(0, 4, 0), sync(0, 4, 9, 4), join(0, 0, 0), join(0, 5, 0), hb(0, 4, 9),
			join(0, 4, 0), sync(0, 4, 9, 4), sync(0, 5, 9, 5), hb(0, 5, 9), leave(0, 5), describe(0),
			advance(7), describe(0)),
		b(join(1, 0, 1), join(1, 0, 2), sync(1, 4, 9, 4), sync(1, 5, 9, 5), join(1, 0, 1), describe(1),
			advance(4), join(1, 0, 1), reload, describe(1)),
		b(cg(1, 3, 2), cg(1, 1, 2), cg(1, 3, 9), cg(1, 1, 9), []byte{opMeta, 1}, cg(1, 3, 9), cg(1, 1, 9),
			cgDescribe(1), reload, cg(1, 3, 9), advance(4), cgDescribe(1)),
		b(cg(1, 3, 2), commit(7, 1, 3, 9), []byte{opOffsetDelete, 0, 1, 1, 0, 1, 0}, []byte{opDeleteGroups, 3, 1, 1},
			[]byte{opShard, 0, 0, 0}, commit(5, 1, 0, 1), []byte{opShard, 0, 1}, commit(5, 1, 0, 1), reload, fetch(1)),
		b(commit(5, 2, 0, 1), join(2, 0, 0), advance(6), join(2, 3, 0), []byte{opList, 5, 0, 0},
			[]byte{opShard, 1, 2}, commit(5, 2, 0, 1), []byte{opDeleteGroups, 3, 1, 2}, reload, fetch(2)),
		b(cgRegex(0, 3, 2), cgRegex(0, 2, 2), []byte{opMeta, 0}, cgRegex(0, 3, 9), cgRegex(0, 2, 9),
			join(0, 0, 0), cg(0, 3, 1), advance(4), cgDescribe(0), reload),
	}
}

// fin reads the fuzz input; past its end every read is zero.
type fin struct{ b []byte }

func (f *fin) byte() byte {
	if len(f.b) == 0 {
		return 0
	}
	c := f.b[0]
	f.b = f.b[1:]
	return c
}

func (f *fin) n(k int) int { return int(f.byte()) % k }

func (f *fin) u32() uint32 {
	var b [4]byte
	for i := range b {
		b[i] = f.byte()
	}
	return binary.BigEndian.Uint32(b[:])
}

func pick[T any](f *fin, xs ...T) T { return xs[f.n(len(xs))] }

// traceProtocolFuzz logs every answer, to see what a sequence does.
var traceProtocolFuzz = os.Getenv("GROUP_FUZZ_TRACE") != ""

// offKey is one committed offset in the model.
type offKey struct {
	group, topic string
	partition    int32
}

// absent is the model's value for "no committed offset".
const absent int64 = math.MinInt64

type protocolFuzz struct {
	t    *testing.T
	e    *env
	meta *testMeta
	in   *fin

	mu       sync.Mutex
	open     map[int]string                                       // guarded by mu: requests not answered yet
	nextID   int                                                  // guarded by mu
	problems []string                                             // guarded by mu
	members  []string                                             // guarded by mu: member ids seen in answers
	epochs   []int32                                              // guarded by mu: generations and epochs seen in answers
	owned    map[string][]kmsg.ConsumerGroupHeartbeatRequestTopic // guarded by mu: group\x00member -> last assignment
	// memberEpoch is the generation or epoch last answered to a member
	// id. Guarded by mu.
	memberEpoch map[string]int32

	// model maps each offset that may be committed to the values it may
	// have (absent included); only keys some request touched are in it.
	model map[offKey]map[int64]bool
	// expiring marks offsets whose last possible commit carried an
	// explicit retention (OffsetCommit v2-v4 RetentionTimeMillis): they
	// may vanish at any later clock advance, even after a reload found
	// them, so narrowing the model keeps absent allowed for them.
	expiring map[offKey]bool
	touched  map[string]bool // groups whose offsets the model follows
	topicIDs map[string]metadata.UUID
	elected  map[int32]int32 // partition -> leader epoch; missing: resigned
}

func runProtocolFuzz(t *testing.T, data []byte) {
	meta := newTestMeta()
	e := newEnvParts(t, 2, map[string]string{
		// Offsets never expire during a run, so the model needs no
		// clock; RetentionTimeMillis of OffsetCommit v2-v4 is modelled.
		"offsets.retention.minutes": "5256000",
	})
	e.meta = meta.image
	e.restart()
	p := &protocolFuzz{
		t: t, e: e, meta: meta, in: &fin{b: data},
		open:        map[int]string{},
		owned:       map[string][]kmsg.ConsumerGroupHeartbeatRequestTopic{},
		memberEpoch: map[string]int32{},
		model:       map[offKey]map[int64]bool{},
		expiring:    map[offKey]bool{},
		touched:     map[string]bool{},
		topicIDs:    map[string]metadata.UUID{},
		elected:     map[int32]int32{0: 1, 1: 1},
	}
	p.topicIDs["t0"] = meta.addTopic(t, "t0", 3)
	p.topicIDs["t1"] = meta.addTopic(t, "t1", 2)
	for step := 0; step < 64 && len(p.in.b) > 0; step++ {
		p.step()
		p.checkConsumerGroups()
		p.report()
	}
	p.reload()
	p.flush()
	if err := e.c.Close(); err != nil {
		t.Fatal(err)
	}
	e.c = nil
	p.report()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.open) > 0 {
		var left []string
		for _, d := range p.open {
			left = append(left, d)
		}
		sort.Strings(left)
		t.Fatalf("requests never answered: %v", left)
	}
}

// report fails the test with the problems callbacks recorded.
func (p *protocolFuzz) report() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.problems) > 0 {
		p.t.Fatal(strings.Join(p.problems, "\n"))
	}
}

func (p *protocolFuzz) problem(format string, args ...any) {
	p.mu.Lock()
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
	p.mu.Unlock()
}

// answer is the response slot of one request.
type answer[R any] struct {
	mu   sync.Mutex
	resp R
	ok   bool
}

func (a *answer[R]) get() (R, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.resp, a.ok
}

// track registers a request and returns its done callback, which checks
// that it runs once, with a response that encodes at version, and
// learns the member ids and epochs it carries.
func track[R kmsg.Response](p *protocolFuzz, desc string, version int16) (*answer[R], func(R)) {
	p.mu.Lock()
	id := p.nextID
	p.nextID++
	p.open[id] = desc
	p.mu.Unlock()
	a := &answer[R]{}
	return a, func(r R) {
		a.mu.Lock()
		twice := a.ok
		a.resp, a.ok = r, true
		a.mu.Unlock()
		if twice {
			p.problem("%s: done called twice", desc)
			return
		}
		p.mu.Lock()
		delete(p.open, id)
		p.mu.Unlock()
		if any(r) == nil || isNilResponse(r) {
			p.problem("%s: nil response", desc)
			return
		}
		r.SetVersion(version)
		_ = r.AppendTo(nil)
		if traceProtocolFuzz {
			p.t.Logf("%s -> %+v", desc, r)
		}
		p.learn(r)
	}
}

func isNilResponse(r kmsg.Response) bool {
	switch v := r.(type) {
	case *kmsg.JoinGroupResponse:
		return v == nil
	case *kmsg.SyncGroupResponse:
		return v == nil
	case *kmsg.HeartbeatResponse:
		return v == nil
	case *kmsg.LeaveGroupResponse:
		return v == nil
	case *kmsg.OffsetCommitResponse:
		return v == nil
	case *kmsg.OffsetFetchResponse:
		return v == nil
	case *kmsg.OffsetDeleteResponse:
		return v == nil
	case *kmsg.DescribeGroupsResponse:
		return v == nil
	case *kmsg.ListGroupsResponse:
		return v == nil
	case *kmsg.DeleteGroupsResponse:
		return v == nil
	case *kmsg.ConsumerGroupHeartbeatResponse:
		return v == nil
	case *kmsg.ConsumerGroupDescribeResponse:
		return v == nil
	}
	return false
}

// learn remembers the member ids and epochs an answer hands out, so that
// later requests use them.
func (p *protocolFuzz) learn(r kmsg.Response) {
	var ids []string
	var epochs []int32
	own := map[string]int32{}
	switch v := r.(type) {
	case *kmsg.JoinGroupResponse:
		if v.ErrorCode == 0 {
			own[v.MemberID] = v.Generation
		}
		ids = append(ids, v.MemberID, v.LeaderID)
		for _, m := range v.Members {
			ids = append(ids, m.MemberID)
		}
		epochs = append(epochs, v.Generation)
	case *kmsg.ConsumerGroupHeartbeatResponse:
		if v.MemberID != nil {
			ids = append(ids, *v.MemberID)
			if v.ErrorCode == 0 {
				own[*v.MemberID] = v.MemberEpoch
			}
		}
		epochs = append(epochs, v.MemberEpoch)
	case *kmsg.DescribeGroupsResponse:
		for _, g := range v.Groups {
			for _, m := range g.Members {
				ids = append(ids, m.MemberID)
			}
		}
	case *kmsg.ConsumerGroupDescribeResponse:
		for _, g := range v.Groups {
			epochs = append(epochs, g.Epoch)
			for _, m := range g.Members {
				ids = append(ids, m.MemberID)
				epochs = append(epochs, m.MemberEpoch)
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, e := range own {
		p.memberEpoch[id] = e
	}
	for _, id := range ids {
		if id != "" && !slices.Contains(p.members, id) && len(p.members) < 24 {
			p.members = append(p.members, id)
		}
	}
	for _, e := range epochs {
		if !slices.Contains(p.epochs, e) && len(p.epochs) < 24 {
			p.epochs = append(p.epochs, e)
		}
	}
}

// --- value pickers ---

var longGroup = strings.Repeat("long-group-", 400)

func (p *protocolFuzz) group() string {
	return pick(p.in, "g", "h", "k", "", "a-b", longGroup, "g\x00", "consumer-group")
}

func (p *protocolFuzz) member() string {
	p.mu.Lock()
	seen := slices.Clone(p.members)
	p.mu.Unlock()
	n := p.in.n(4 + len(seen))
	switch {
	case n == 0:
		return ""
	case n == 1:
		return "never-handed-out"
	case n == 2:
		return strings.Repeat("m", 300)
	case n == 3:
		return "client-made-id"
	}
	return seen[n-4]
}

func (p *protocolFuzz) instance() *string {
	switch p.in.n(5) {
	case 1:
		return kmsg.StringPtr("i1")
	case 2:
		return kmsg.StringPtr("i2")
	case 3:
		return kmsg.StringPtr("")
	}
	return nil
}

// epoch picks a generation or member epoch for a request of member: a
// fixed or random value, the one last answered to member, or any one
// answered.
func (p *protocolFuzz) epoch(member string) int32 {
	p.mu.Lock()
	seen := slices.Clone(p.epochs)
	own, ok := p.memberEpoch[member]
	p.mu.Unlock()
	fixed := []int32{-2, -1, 0, 1, 2, 3, math.MaxInt32, math.MinInt32}
	n := p.in.n(len(fixed) + 2 + len(seen))
	switch {
	case n < len(fixed):
		return fixed[n]
	case n == len(fixed):
		return int32(p.in.u32())
	case n == len(fixed)+1:
		if ok {
			return own
		}
		if len(seen) == 0 {
			return 0
		}
		return seen[len(seen)-1]
	}
	return seen[n-len(fixed)-2]
}

func (p *protocolFuzz) timeout() int32 {
	return pick(p.in, int32(10000), 6000, 45000, -1, 0, 1, 300000, math.MaxInt32, -5, 30*60000+1)
}

func (p *protocolFuzz) version(key kmsg.Key, min int16) int16 {
	max := kmsg.RequestForKey(key.Int16()).MaxVersion()
	return min + int16(p.in.n(int(max-min)+1))
}

func (p *protocolFuzz) bytesArg() []byte {
	switch p.in.n(5) {
	case 0:
		return subscription("t0", "t1")
	case 1:
		return nil
	case 2:
		return []byte{}
	case 3:
		return bytes.Repeat([]byte{0xff}, 64<<10)
	}
	n := p.in.n(16)
	out := make([]byte, n)
	for i := range out {
		out[i] = p.in.byte()
	}
	return out
}

func (p *protocolFuzz) topic() string {
	return pick(p.in, "t0", "t1", "unknown", "", "t0")
}

func (p *protocolFuzz) partition() int32 {
	return pick(p.in, int32(0), 1, 2, -1, 99, math.MinInt32)
}

// --- operations ---

func (p *protocolFuzz) step() {
	switch op := p.in.byte() % numOps; op {
	case opJoin:
		p.join()
	case opSync:
		p.syncGroup()
	case opHeartbeat:
		p.heartbeat()
	case opLeave:
		p.leave()
	case opCommit:
		p.commit()
	case opFetch:
		p.fetch()
	case opOffsetDelete:
		p.offsetDelete()
	case opDescribe:
		p.describe()
	case opList:
		p.list()
	case opDeleteGroups:
		p.deleteGroups()
	case opCGHeartbeat:
		p.cgHeartbeat()
	case opCGDescribe:
		p.cgDescribe()
	case opAdvance:
		p.e.advance(pick(p.in, time.Millisecond, 100*time.Millisecond, 3*time.Second, 10*time.Second,
			46*time.Second, 5*time.Minute, 5*time.Minute+time.Second, 31*time.Minute, 0))
	case opShard:
		p.shardChange()
	case opReload:
		p.reload()
	case opMeta:
		p.metaChange()
	}
}

// settle lets the shards run what the last request queued.
func (p *protocolFuzz) settle() { p.e.sync() }

func (p *protocolFuzz) join() {
	v := p.version(kmsg.JoinGroup, 2)
	r := kmsg.NewPtrJoinGroupRequest()
	r.Version = v
	r.Group = p.group()
	r.MemberID = p.member()
	r.InstanceID = p.instance()
	r.SessionTimeoutMillis = p.timeout()
	r.RebalanceTimeoutMillis = p.timeout()
	r.ProtocolType = pick(p.in, "consumer", "", "connect")
	n := p.in.n(4)
	for range n {
		jp := kmsg.NewJoinGroupRequestProtocol()
		jp.Name = pick(p.in, "range", "roundrobin", "", "range")
		jp.Metadata = p.bytesArg()
		r.Protocols = append(r.Protocols, jp)
	}
	if p.in.n(4) == 1 {
		r.Reason = kmsg.StringPtr("fuzz")
	}
	_, done := track[*kmsg.JoinGroupResponse](p, fmt.Sprintf("JoinGroup v%d %.20q/%.20q", v, r.Group, r.MemberID), v)
	p.e.c.JoinGroup(r, ClientInfo{ID: "client", Host: "/127.0.0.1"}, done)
	p.settle()
}

func (p *protocolFuzz) syncGroup() {
	v := p.version(kmsg.SyncGroup, 0)
	r := kmsg.NewPtrSyncGroupRequest()
	r.Version = v
	r.Group = p.group()
	r.MemberID = p.member()
	r.InstanceID = p.instance()
	r.Generation = p.epoch(r.MemberID)
	if p.in.n(3) != 0 {
		r.ProtocolType = kmsg.StringPtr(pick(p.in, "consumer", "connect"))
		r.Protocol = kmsg.StringPtr(pick(p.in, "range", "roundrobin"))
	}
	n := p.in.n(4)
	for range n {
		ga := kmsg.NewSyncGroupRequestGroupAssignment()
		ga.MemberID = p.member()
		ga.MemberAssignment = p.bytesArg()
		r.GroupAssignment = append(r.GroupAssignment, ga)
	}
	_, done := track[*kmsg.SyncGroupResponse](p, fmt.Sprintf("SyncGroup v%d %.20q/%.20q", v, r.Group, r.MemberID), v)
	p.e.c.SyncGroup(r, done)
	p.settle()
}

func (p *protocolFuzz) heartbeat() {
	v := p.version(kmsg.Heartbeat, 0)
	r := kmsg.NewPtrHeartbeatRequest()
	r.Version = v
	r.Group = p.group()
	r.MemberID = p.member()
	r.InstanceID = p.instance()
	r.Generation = p.epoch(r.MemberID)
	_, done := track[*kmsg.HeartbeatResponse](p, fmt.Sprintf("Heartbeat v%d %.20q", v, r.Group), v)
	p.e.c.Heartbeat(r, done)
	p.settle()
}

func (p *protocolFuzz) leave() {
	v := p.version(kmsg.LeaveGroup, 0)
	r := kmsg.NewPtrLeaveGroupRequest()
	r.Version = v
	r.Group = p.group()
	r.MemberID = p.member()
	n := p.in.n(4)
	for range n {
		m := kmsg.NewLeaveGroupRequestMember()
		m.MemberID = p.member()
		m.InstanceID = p.instance()
		r.Members = append(r.Members, m)
	}
	_, done := track[*kmsg.LeaveGroupResponse](p, fmt.Sprintf("LeaveGroup v%d %.20q", v, r.Group), v)
	p.e.c.LeaveGroup(r, done)
	p.settle()
}

func (p *protocolFuzz) commit() {
	v := p.version(kmsg.OffsetCommit, 2)
	r := kmsg.NewPtrOffsetCommitRequest()
	r.Version = v
	r.Group = p.group()
	r.MemberID = p.member()
	r.InstanceID = p.instance()
	r.Generation = p.epoch(r.MemberID)
	r.RetentionTimeMillis = pick(p.in, int64(-1), 1, 1<<40)
	var keys []offKey
	var offs []int64
	nt := p.in.n(3)
	for range nt {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = p.topic()
		rt.TopicID = p.topicIDs[rt.Topic]
		np := p.in.n(4)
		for range np {
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Partition = p.partition()
			rp.Offset = pick(p.in, int64(5), 9, 0, -1, math.MaxInt64, -7)
			rp.LeaderEpoch = pick(p.in, int32(-1), 3)
			switch p.in.n(4) {
			case 1:
				rp.Metadata = kmsg.StringPtr("md")
			case 2:
				rp.Metadata = kmsg.StringPtr(strings.Repeat("x", 5000))
			}
			rt.Partitions = append(rt.Partitions, rp)
			keys = append(keys, offKey{r.Group, rt.Topic, rp.Partition})
			// A negative offset is stored, but OffsetFetch cannot tell
			// it from none.
			o := rp.Offset
			if o < 0 {
				o = absent
			}
			offs = append(offs, o)
		}
		r.Topics = append(r.Topics, rt)
	}
	desc := fmt.Sprintf("OffsetCommit v%d %.20q", v, r.Group)
	a, done := track[*kmsg.OffsetCommitResponse](p, desc, v)
	p.touched[r.Group] = true
	p.e.c.OffsetCommit(r, done)
	p.settle()
	resp, ok := a.get()
	var codes []int16
	if ok {
		for _, t := range resp.Topics {
			for _, pp := range t.Partitions {
				codes = append(codes, pp.ErrorCode)
			}
		}
		if len(codes) != len(keys) {
			p.problem("%s: %d partitions answered for %d asked", desc, len(codes), len(keys))
			return
		}
	}
	explicitRetention := v <= 4 && r.RetentionTimeMillis >= 0
	for i, k := range keys {
		set := p.model[k]
		if set == nil {
			set = map[int64]bool{absent: true}
			p.model[k] = set
		}
		switch {
		case !ok:
			// Still in flight: it may land.
			set[offs[i]] = true
			p.expiring[k] = p.expiring[k] || explicitRetention
		case codes[i] == 0:
			clear(set)
			set[offs[i]] = true
			p.expiring[k] = explicitRetention
			if explicitRetention {
				set[absent] = true // it may expire
			}
		case codes[i] == codeNotCoordinator || codes[i] == codeCoordinatorNotAvail ||
			codes[i] == codeUnknownServerError || codes[i] == kerr.RequestTimedOut.Code:
			// A write whose outcome the client cannot know.
			set[offs[i]] = true
			p.expiring[k] = p.expiring[k] || explicitRetention
		}
	}
}

func (p *protocolFuzz) fetch() {
	v := p.version(kmsg.OffsetFetch, 1)
	r := kmsg.NewPtrOffsetFetchRequest()
	r.Version = v
	r.RequireStable = p.in.n(2) == 1
	topics := func() []kmsg.OffsetFetchRequestGroupTopic {
		if p.in.n(3) == 0 {
			return nil
		}
		var out []kmsg.OffsetFetchRequestGroupTopic
		for range p.in.n(3) {
			t := kmsg.NewOffsetFetchRequestGroupTopic()
			t.Topic = p.topic()
			for range p.in.n(3) {
				t.Partitions = append(t.Partitions, p.partition())
			}
			out = append(out, t)
		}
		if out == nil {
			out = []kmsg.OffsetFetchRequestGroupTopic{}
		}
		return out
	}
	if v < 8 {
		r.Group = p.group()
		if ts := topics(); ts != nil {
			r.Topics = []kmsg.OffsetFetchRequestTopic{}
			for _, t := range ts {
				rt := kmsg.NewOffsetFetchRequestTopic()
				rt.Topic, rt.Partitions = t.Topic, t.Partitions
				r.Topics = append(r.Topics, rt)
			}
		}
	} else {
		for range p.in.n(4) {
			g := kmsg.NewOffsetFetchRequestGroup()
			g.Group = p.group()
			if p.in.n(2) == 1 {
				g.MemberID = kmsg.StringPtr(p.member())
				g.MemberEpoch = p.epoch(*g.MemberID)
			}
			g.Topics = topics()
			r.Groups = append(r.Groups, g)
		}
	}
	desc := fmt.Sprintf("OffsetFetch v%d", v)
	a, done := track[*kmsg.OffsetFetchResponse](p, desc, v)
	p.e.c.OffsetFetch(r, done)
	p.settle()
	if resp, ok := a.get(); ok && v >= 8 && len(resp.Groups) != len(r.Groups) {
		p.problem("%s: %d groups answered for %d asked", desc, len(resp.Groups), len(r.Groups))
	}
}

func (p *protocolFuzz) offsetDelete() {
	v := p.version(kmsg.OffsetDelete, 0)
	r := kmsg.NewPtrOffsetDeleteRequest()
	r.Version = v
	r.Group = p.group()
	var keys []offKey
	for range p.in.n(3) {
		t := kmsg.NewOffsetDeleteRequestTopic()
		t.Topic = p.topic()
		for range p.in.n(3) {
			pp := kmsg.NewOffsetDeleteRequestTopicPartition()
			pp.Partition = p.partition()
			t.Partitions = append(t.Partitions, pp)
			keys = append(keys, offKey{r.Group, t.Topic, pp.Partition})
		}
		r.Topics = append(r.Topics, t)
	}
	desc := fmt.Sprintf("OffsetDelete v%d %.20q", v, r.Group)
	a, done := track[*kmsg.OffsetDeleteResponse](p, desc, v)
	p.e.c.OffsetDelete(r, done)
	p.settle()
	resp, ok := a.get()
	if !ok {
		for _, k := range keys {
			if set := p.model[k]; set != nil {
				set[absent] = true
			}
		}
		return
	}
	if resp.ErrorCode != 0 {
		return
	}
	i := 0
	for _, t := range resp.Topics {
		for _, pp := range t.Partitions {
			if i < len(keys) && pp.ErrorCode == 0 {
				if set := p.model[keys[i]]; set != nil {
					clear(set)
					set[absent] = true
				}
			}
			i++
		}
	}
	if i != len(keys) {
		p.problem("%s: %d partitions answered for %d asked", desc, i, len(keys))
	}
}

func (p *protocolFuzz) describe() {
	v := p.version(kmsg.DescribeGroups, 0)
	r := kmsg.NewPtrDescribeGroupsRequest()
	r.Version = v
	for range p.in.n(4) {
		r.Groups = append(r.Groups, p.group())
	}
	r.IncludeAuthorizedOperations = p.in.n(2) == 1
	desc := fmt.Sprintf("DescribeGroups v%d", v)
	a, done := track[*kmsg.DescribeGroupsResponse](p, desc, v)
	p.e.c.DescribeGroups(r, done)
	p.settle()
	if resp, ok := a.get(); ok && len(resp.Groups) != len(r.Groups) {
		p.problem("%s: %d groups answered for %d asked", desc, len(resp.Groups), len(r.Groups))
	}
}

func (p *protocolFuzz) list() {
	v := p.version(kmsg.ListGroups, 0)
	r := kmsg.NewPtrListGroupsRequest()
	r.Version = v
	for range p.in.n(3) {
		r.StatesFilter = append(r.StatesFilter, pick(p.in, "Stable", "Empty", "stable", "bogus", "Assigning"))
	}
	for range p.in.n(3) {
		r.TypesFilter = append(r.TypesFilter, pick(p.in, "classic", "consumer", "Consumer", "share"))
	}
	_, done := track[*kmsg.ListGroupsResponse](p, fmt.Sprintf("ListGroups v%d", v), v)
	p.e.c.ListGroups(r, done)
	p.settle()
}

func (p *protocolFuzz) deleteGroups() {
	v := p.version(kmsg.DeleteGroups, 0)
	r := kmsg.NewPtrDeleteGroupsRequest()
	r.Version = v
	for range p.in.n(4) {
		r.Groups = append(r.Groups, p.group())
	}
	desc := fmt.Sprintf("DeleteGroups v%d", v)
	a, done := track[*kmsg.DeleteGroupsResponse](p, desc, v)
	p.e.c.DeleteGroups(r, done)
	p.settle()
	resp, ok := a.get()
	if ok && len(resp.Groups) != len(r.Groups) {
		p.problem("%s: %d groups answered for %d asked", desc, len(resp.Groups), len(r.Groups))
		return
	}
	for i, g := range r.Groups {
		if ok && resp.Groups[i].ErrorCode != 0 {
			continue
		}
		for k, set := range p.model {
			if k.group == g {
				if ok {
					clear(set)
				}
				set[absent] = true
			}
		}
	}
}

func (p *protocolFuzz) cgHeartbeat() {
	v := p.version(kmsg.ConsumerGroupHeartbeat, 0)
	r := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	r.Version = v
	r.Group = p.group()
	r.MemberID = p.member()
	r.MemberEpoch = p.epoch(r.MemberID)
	r.InstanceID = p.instance()
	if p.in.n(3) == 1 {
		r.RackID = kmsg.StringPtr("rack")
	}
	r.RebalanceTimeoutMillis = p.timeout()
	switch p.in.n(5) {
	case 0:
		r.SubscribedTopicNames = []string{"t0", "t1"}
	case 1:
		r.SubscribedTopicNames = []string{"t0"}
	case 2:
		r.SubscribedTopicNames = []string{"t1", "unknown", "t1", ""}
	case 3:
		r.SubscribedTopicNames = []string{}
	}
	switch p.in.n(6) {
	case 1:
		r.SubscribedTopicRegex = kmsg.StringPtr("t.*")
	case 2:
		r.SubscribedTopicRegex = kmsg.StringPtr("(")
	case 3:
		r.SubscribedTopicRegex = kmsg.StringPtr("")
	case 4:
		r.SubscribedTopicRegex = kmsg.StringPtr("t0|n.*|__consumer_offsets")
	}
	switch p.in.n(5) {
	case 1:
		r.ServerAssignor = kmsg.StringPtr("uniform")
	case 2:
		r.ServerAssignor = kmsg.StringPtr("range")
	case 3:
		r.ServerAssignor = kmsg.StringPtr("bogus")
	}
	switch p.in.n(4) {
	case 0:
		// What the member was last given: a client that follows.
		p.mu.Lock()
		r.Topics = slices.Clone(p.owned[r.Group+"\x00"+r.MemberID])
		p.mu.Unlock()
		if r.Topics == nil {
			r.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		}
	case 1:
		r.Topics = nil
	case 2:
		r.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	case 3:
		for range p.in.n(3) {
			t := kmsg.NewConsumerGroupHeartbeatRequestTopic()
			t.TopicID = pick(p.in, p.topicIDs["t0"], p.topicIDs["t1"], metadata.UUID{9})
			for range p.in.n(4) {
				t.Partitions = append(t.Partitions, p.partition())
			}
			r.Topics = append(r.Topics, t)
		}
	}
	desc := fmt.Sprintf("ConsumerGroupHeartbeat v%d %.20q/%.20q@%d", v, r.Group, r.MemberID, r.MemberEpoch)
	a, done := track[*kmsg.ConsumerGroupHeartbeatResponse](p, desc, v)
	p.e.c.ConsumerGroupHeartbeat(r, ClientInfo{ID: "client", Host: "/127.0.0.1"}, done)
	p.settle()
	if resp, ok := a.get(); ok && resp.ErrorCode == 0 && resp.Assignment != nil {
		id := r.MemberID
		if resp.MemberID != nil {
			id = *resp.MemberID
		}
		var owned []kmsg.ConsumerGroupHeartbeatRequestTopic
		for _, t := range resp.Assignment.Topics {
			rt := kmsg.NewConsumerGroupHeartbeatRequestTopic()
			rt.TopicID = t.TopicID
			rt.Partitions = slices.Clone(t.Partitions)
			owned = append(owned, rt)
		}
		p.mu.Lock()
		p.owned[r.Group+"\x00"+id] = owned
		p.mu.Unlock()
	}
}

func (p *protocolFuzz) cgDescribe() {
	v := p.version(kmsg.ConsumerGroupDescribe, 0)
	r := kmsg.NewPtrConsumerGroupDescribeRequest()
	r.Version = v
	for range p.in.n(4) {
		r.Groups = append(r.Groups, p.group())
	}
	desc := fmt.Sprintf("ConsumerGroupDescribe v%d", v)
	a, done := track[*kmsg.ConsumerGroupDescribeResponse](p, desc, v)
	p.e.c.ConsumerGroupDescribe(r, done)
	p.settle()
	if resp, ok := a.get(); ok && len(resp.Groups) != len(r.Groups) {
		p.problem("%s: %d groups answered for %d asked", desc, len(resp.Groups), len(r.Groups))
	}
}

// shardChange resigns a partition or elects it again (in a newer epoch,
// or a stale one that must be ignored).
func (p *protocolFuzz) shardChange() {
	part := int32(p.in.n(2))
	switch p.in.n(4) {
	case 0: // resign
		p.e.c.OnResignation(part, pick(p.in, int32(-1), p.elected[part]))
		p.e.c.mu.RLock()
		_, still := p.e.c.shards[part]
		p.e.c.mu.RUnlock()
		if !still {
			delete(p.elected, part)
		}
	case 1: // elect in a newer epoch and wait for the load
		ep := p.elected[part] + 1
		if ep < 2 {
			ep = 2
		}
		p.e.c.OnElection(part, ep)
		p.elected[part] = ep
		p.waitLoaded(part)
	case 2: // elect and do not wait: requests meet a loading shard
		ep := p.elected[part] + 1
		if ep < 2 {
			ep = 2
		}
		p.e.c.OnElection(part, ep)
		p.elected[part] = ep
	case 3: // a stale resignation
		p.e.c.OnResignation(part, 0)
	}
}

func (p *protocolFuzz) waitLoaded(part int32) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.e.c.mu.RLock()
		s := p.e.c.shards[part]
		p.e.c.mu.RUnlock()
		if _, code := s.usable(); code != codeLoadInProgress {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("partition %d did not load", part)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// reload closes the coordinator and opens a new one over the same logs,
// then checks the committed offsets against the model.
func (p *protocolFuzz) reload() {
	p.e.restart()
	p.elected = map[int32]int32{0: 1, 1: 1}
	p.checkOffsets()
	p.report()
}

// checkOffsets compares every group's committed offsets with the model,
// then narrows the model to what it found.
func (p *protocolFuzz) checkOffsets() {
	if len(p.touched) == 0 {
		return
	}
	r := kmsg.NewPtrOffsetFetchRequest()
	r.Version = 9
	var groups []string
	for g := range p.touched {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		fg := kmsg.NewOffsetFetchRequestGroup()
		fg.Group = g
		r.Groups = append(r.Groups, fg)
	}
	a, done := track[*kmsg.OffsetFetchResponse](p, "OffsetFetch (model check)", 9)
	p.e.c.OffsetFetch(r, done)
	p.settle()
	resp, ok := a.get()
	if !ok || len(resp.Groups) != len(groups) {
		p.t.Fatalf("model check: fetch answered %v", ok)
	}
	got := map[offKey]int64{}
	for _, g := range resp.Groups {
		if g.ErrorCode != 0 {
			p.t.Fatalf("model check: group %.20q: code %d", g.Group, g.ErrorCode)
		}
		for _, t := range g.Topics {
			for _, pp := range t.Partitions {
				if pp.ErrorCode == 0 && pp.Offset >= 0 {
					got[offKey{g.Group, t.Topic, pp.Partition}] = pp.Offset
				}
			}
		}
	}
	for k, o := range got {
		if set := p.model[k]; set == nil || !set[o] {
			p.t.Fatalf("after reload, %.20q %q-%d is at %d; the model allows %v", k.group, k.topic, k.partition, o, set)
		}
	}
	for k, set := range p.model {
		o, ok := got[k]
		if !ok {
			o = absent
		}
		if !set[o] {
			p.t.Fatalf("after reload, %.20q %q-%d is at %d (absent=%d); the model allows %v", k.group, k.topic, k.partition, o, absent, set)
		}
		clear(set)
		set[o] = true
		if p.expiring[k] {
			set[absent] = true
		}
	}
}

// metaChange creates a topic or grows one, which changes what consumer
// groups must assign.
func (p *protocolFuzz) metaChange() {
	switch p.in.n(3) {
	case 0:
		if _, ok := p.topicIDs["t2"]; !ok {
			p.topicIDs["t2"] = p.meta.addTopic(p.t, "t2", 2)
		}
	case 1:
		top := p.meta.image().Topic("t0")
		if len(top.Partitions) < 8 {
			p.meta.addPartitions(p.t, "t0", int32(len(top.Partitions))+1)
		}
	case 2:
		if _, ok := p.topicIDs["n1"]; !ok {
			p.topicIDs["n1"] = p.meta.addTopic(p.t, "n1", 1)
		}
	}
}

// flush moves the clock past every deadline a request may be parked on
// (the largest rebalance timeout is MaxInt32 ms, about 25 days).
func (p *protocolFuzz) flush() {
	for range 4 {
		p.e.advance(26 * 24 * time.Hour)
	}
}

// checkConsumerGroups checks, on each shard's goroutine, that no
// partition of a KIP-848 group has two holders and that the partition
// epochs match the members' assignments.
func (p *protocolFuzz) checkConsumerGroups() {
	p.e.c.mu.RLock()
	var shards []*shard
	for _, s := range p.e.c.shards {
		shards = append(shards, s)
	}
	p.e.c.mu.RUnlock()
	for _, s := range shards {
		ch := make(chan struct{})
		s.post(event{run: func() {
			defer close(ch)
			if s.state.Load() != shardActive {
				return
			}
			for _, g := range s.consumer {
				if err := consumerGroupInvariant(g); err != nil {
					p.problem("consumer group %.20q: %v", g.id, err)
				}
			}
		}, abort: func() { close(ch) }})
		<-ch
	}
}

// consumerGroupInvariant says what is wrong with g's ownership, if
// anything.
func consumerGroupInvariant(g *consumerGroup) error {
	held := map[metadata.UUID]map[int32]string{}
	for _, m := range g.sortedMembers() {
		for _, ps := range []partSet{m.assigned, m.pending} {
			for t, parts := range ps {
				for n := range parts {
					if other, ok := held[t][n]; ok {
						return fmt.Errorf("partition %x-%d held by %.20q and %.20q", t[15], n, other, m.id)
					}
					if held[t] == nil {
						held[t] = map[int32]string{}
					}
					held[t][n] = m.id
					if _, ok := g.partitionEpochs[t][n]; !ok {
						return fmt.Errorf("partition %x-%d of %.20q has no partition epoch", t[15], n, m.id)
					}
				}
			}
		}
	}
	for t, parts := range g.partitionEpochs {
		for n := range parts {
			if _, ok := held[t][n]; !ok {
				return fmt.Errorf("partition %x-%d has an epoch but no holder", t[15], n)
			}
		}
	}
	targets := map[metadata.UUID]map[int32]string{}
	for id, ps := range g.target {
		for t, parts := range ps {
			for n := range parts {
				if other, ok := targets[t][n]; ok {
					return fmt.Errorf("partition %x-%d targeted to %.20q and %.20q", t[15], n, other, id)
				}
				if targets[t] == nil {
					targets[t] = map[int32]string{}
				}
				targets[t][n] = id
			}
		}
	}
	return nil
}
