package group

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

// testMeta is a metadata image source tests change as they go.
type testMeta struct {
	mu     sync.Mutex
	img    atomic.Pointer[metadata.Image]
	offset int64
	next   byte
}

func newTestMeta() *testMeta {
	m := &testMeta{}
	m.img.Store(metadata.EmptyImage())
	return m
}

func (m *testMeta) image() *metadata.Image { return m.img.Load() }

func (m *testMeta) apply(t testing.TB, recs ...metadata.Record) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.offset++
	next, _, err := m.img.Load().Apply(metadata.Batch{Offset: m.offset, Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	m.img.Store(next)
}

// addTopic creates topic with n partitions and returns its ID.
func (m *testMeta) addTopic(t testing.TB, name string, n int32) metadata.UUID {
	t.Helper()
	m.mu.Lock()
	m.next++
	id := metadata.UUID{0: 0xab, 15: m.next}
	m.mu.Unlock()
	recs := []metadata.Record{metadata.TopicRecord{Name: name, TopicID: id}}
	for p := range n {
		recs = append(recs, metadata.PartitionRecord{PartitionID: p, TopicID: id, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1})
	}
	m.apply(t, recs...)
	return id
}

// addPartitions grows topic to n partitions.
func (m *testMeta) addPartitions(t testing.TB, name string, n int32) {
	t.Helper()
	top := m.image().Topic(name)
	var recs []metadata.Record
	for p := int32(len(top.Partitions)); p < n; p++ {
		recs = append(recs, metadata.PartitionRecord{PartitionID: p, TopicID: top.ID, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1})
	}
	m.apply(t, recs...)
}

// newConsumerEnv is an env whose coordinator sees meta.
func newConsumerEnv(t testing.TB, props map[string]string) (*env, *testMeta) {
	t.Helper()
	meta := newTestMeta()
	e := newEnv(t, props)
	e.meta = meta.image
	e.restart()
	return e, meta
}

func (e *env) cgHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatResponse {
	e.t.Helper()
	a, done := newAsync[*kmsg.ConsumerGroupHeartbeatResponse](e.t)
	e.c.ConsumerGroupHeartbeat(req, ClientInfo{ID: "client", Host: "/127.0.0.1"}, done)
	return a.get()
}

// consumer is a simulated KIP-848 client: it owns exactly the partitions
// of the last assignment it was given, revoking at once.
type consumer struct {
	e        *env
	group    string
	id       string
	epoch    int32
	instance *string
	topics   []string
	regex    *string
	assignor *string
	owned    partSet
	lastCode int16
}

func (e *env) newConsumer(group, id string, topics ...string) *consumer {
	return &consumer{e: e, group: group, id: id, topics: topics, owned: partSet{}}
}

func (c *consumer) request() *kmsg.ConsumerGroupHeartbeatRequest {
	r := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	r.Version = 1
	r.Group = c.group
	r.MemberID = c.id
	r.MemberEpoch = c.epoch
	r.InstanceID = c.instance
	r.RebalanceTimeoutMillis = 30000
	r.SubscribedTopicNames = c.topics
	if c.regex != nil {
		r.SubscribedTopicNames = nil
		r.SubscribedTopicRegex = c.regex
	}
	r.ServerAssignor = c.assignor
	r.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	for _, t := range c.owned.topics() {
		rt := kmsg.NewConsumerGroupHeartbeatRequestTopic()
		rt.TopicID = t
		rt.Partitions = c.owned.partitions(t)
		r.Topics = append(r.Topics, rt)
	}
	return r
}

// beat sends one full heartbeat and adopts the answer; it returns the
// error code.
func (c *consumer) beat() int16 {
	c.e.t.Helper()
	resp := c.e.cgHeartbeat(c.request())
	c.lastCode = resp.ErrorCode
	if resp.ErrorCode != 0 {
		return resp.ErrorCode
	}
	if resp.MemberID != nil {
		c.id = *resp.MemberID
	}
	c.epoch = resp.MemberEpoch
	if resp.Assignment != nil {
		c.owned = partSet{}
		for _, t := range resp.Assignment.Topics {
			for _, p := range t.Partitions {
				c.owned.add(t.TopicID, p)
			}
		}
	}
	return 0
}

func (c *consumer) mustBeat() {
	c.e.t.Helper()
	if code := c.beat(); code != 0 {
		c.e.t.Fatalf("member %s heartbeat: code %d", c.id, code)
	}
}

// leave sends the leave heartbeat (epoch -1, or -2 for a static member
// that will come back).
func (c *consumer) leave(epoch int32) int16 {
	c.e.t.Helper()
	r := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	r.Version = 1
	r.Group, r.MemberID, r.MemberEpoch, r.InstanceID = c.group, c.id, epoch, c.instance
	r.RebalanceTimeoutMillis = -1
	resp := c.e.cgHeartbeat(r)
	c.owned = partSet{}
	return resp.ErrorCode
}

// checkExclusive fails if two consumers own one partition.
func checkExclusive(t testing.TB, cs ...*consumer) {
	t.Helper()
	seen := map[metadata.UUID]map[int32]string{}
	for _, c := range cs {
		for tp, ps := range c.owned {
			for p := range ps {
				if other, ok := seen[tp][p]; ok {
					t.Fatalf("partition %v-%d owned by both %s and %s", tp, p, other, c.id)
				}
				if seen[tp] == nil {
					seen[tp] = map[int32]string{}
				}
				seen[tp][p] = c.id
			}
		}
	}
}

// converge heartbeats every consumer round by round, checking that no
// partition is ever owned twice, until nothing changes; it returns the
// rounds it took.
func converge(t testing.TB, cs ...*consumer) int {
	t.Helper()
	for round := 1; round <= 20; round++ {
		changed := false
		for _, c := range cs {
			before, epoch := c.owned.clone(), c.epoch
			c.mustBeat()
			checkExclusive(t, cs...)
			if !before.equal(c.owned) || epoch != c.epoch {
				changed = true
			}
		}
		if !changed {
			return round
		}
	}
	t.Fatal("the group did not converge")
	return 0
}

func (e *env) cgDescribe(group string) kmsg.ConsumerGroupDescribeResponseGroup {
	e.t.Helper()
	r := kmsg.NewPtrConsumerGroupDescribeRequest()
	r.Version = 1
	r.Groups = []string{group}
	a, done := newAsync[*kmsg.ConsumerGroupDescribeResponse](e.t)
	e.c.ConsumerGroupDescribe(r, done)
	return a.get().Groups[0]
}
