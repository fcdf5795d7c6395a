package group

import (
	"hash/fnv"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

// consumerGroupType is the type ListGroups v5+ and ConsumerGroupDescribe
// report for KIP-848 groups.
const consumerGroupType = "consumer"

// The special member epochs of ConsumerGroupHeartbeat.
const (
	leaveGroupMemberEpoch       int32 = -1 // a member leaves for good
	leaveGroupStaticMemberEpoch int32 = -2 // a static member leaves for a while (restart)
)

// memberState is where a member is in reconciling its assignment with
// its target (Kafka's MemberState; the values are persisted).
type memberState int8

const (
	// memberStable: the member owns its whole current assignment.
	memberStable memberState = 0
	// memberUnrevokedPartitions: the member must first revoke partitions
	// (it stays in its epoch until its heartbeat no longer lists them).
	memberUnrevokedPartitions memberState = 1
	// memberUnreleasedPartitions: the member is in the target epoch but
	// some partitions of its target are still owned by others.
	memberUnreleasedPartitions memberState = 2
	// memberUnknown: a state written by a newer coordinator.
	memberUnknown memberState = 127
)

func (s memberState) String() string {
	switch s {
	case memberStable:
		return "STABLE"
	case memberUnrevokedPartitions:
		return "UNREVOKED_PARTITIONS"
	case memberUnreleasedPartitions:
		return "UNRELEASED_PARTITIONS"
	}
	return "UNKNOWN"
}

// consumerMember is one member of a consumer group (Kafka's
// ConsumerGroupMember): its subscription (cgMember) and its current
// assignment (cgCurrent).
type consumerMember struct {
	id string
	cgMember
	cgCurrent
}

func (m *consumerMember) clone() *consumerMember {
	c := *m
	c.topicNames = slices.Clone(m.topicNames)
	c.assigned = m.assigned.clone()
	c.pending = m.pending.clone()
	return &c
}

func (m *consumerMember) isReconciledTo(epoch int32) bool {
	return m.state == memberStable && m.memberEpoch == epoch
}

func (m *consumerMember) isStatic() bool { return m.instanceID != nil }

func sameSubscription(a, b *cgMember) bool {
	return slices.Equal(a.topicNames, b.topicNames) && eqStrPtr(a.topicRegex, b.topicRegex)
}

func sameMemberMeta(a, b *cgMember) bool {
	return sameSubscription(a, b) && eqStrPtr(a.instanceID, b.instanceID) && eqStrPtr(a.rackID, b.rackID) &&
		a.clientID == b.clientID && a.clientHost == b.clientHost &&
		a.rebalanceTimeout == b.rebalanceTimeout && eqStrPtr(a.serverAssignor, b.serverAssignor)
}

func sameCurrent(a, b *cgCurrent) bool {
	return a.memberEpoch == b.memberEpoch && a.previousEpoch == b.previousEpoch && a.state == b.state &&
		a.assigned.equal(b.assigned) && a.pending.equal(b.pending)
}

func eqStrPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// consumerGroupState is a consumer group's state (Kafka's
// ConsumerGroupState), derived from its epochs and members.
type consumerGroupState int8

const (
	cgEmpty consumerGroupState = iota
	cgAssigning
	cgReconciling
	cgStable
	cgDead
)

func (s consumerGroupState) String() string {
	switch s {
	case cgEmpty:
		return "Empty"
	case cgAssigning:
		return "Assigning"
	case cgReconciling:
		return "Reconciling"
	case cgStable:
		return "Stable"
	}
	return "Dead"
}

// consumerGroup is one KIP-848 consumer group (Kafka's ConsumerGroup).
// It is owned by its shard's goroutine.
type consumerGroup struct {
	id              string
	groupEpoch      int32
	assignmentEpoch int32
	metadataHash    int64 // of the subscribed topics, when groupEpoch was last bumped for metadata
	dead            bool  // deleted; requests still holding it must not use it

	members map[string]*consumerMember
	static  map[string]string  // instance id -> member id
	target  map[string]partSet // member id -> target assignment
	regexes map[string]cgRegex // subscribed regular expression -> its resolution
	// partitionEpochs maps each partition owned by a member (assigned or
	// pending revocation) to the owner's epoch: a partition is given to
	// a new owner only once it is absent here.
	partitionEpochs map[metadata.UUID]map[int32]int32

	// writeSeq numbers the group's writes, so that a failed append rolls
	// the group back only if nothing was written after it.
	writeSeq uint64
}

func newConsumerGroup(id string) *consumerGroup {
	return &consumerGroup{
		id:              id,
		members:         map[string]*consumerMember{},
		static:          map[string]string{},
		target:          map[string]partSet{},
		regexes:         map[string]cgRegex{},
		partitionEpochs: map[metadata.UUID]map[int32]int32{},
	}
}

// clone deep-copies the group: the snapshot a failed write restores.
func (g *consumerGroup) clone() *consumerGroup {
	c := *g
	c.members = make(map[string]*consumerMember, len(g.members))
	for id, m := range g.members {
		c.members[id] = m.clone()
	}
	c.static = maps.Clone(g.static)
	c.target = make(map[string]partSet, len(g.target))
	for id, t := range g.target {
		c.target[id] = t.clone()
	}
	c.regexes = maps.Clone(g.regexes)
	c.partitionEpochs = make(map[metadata.UUID]map[int32]int32, len(g.partitionEpochs))
	for t, ps := range g.partitionEpochs {
		c.partitionEpochs[t] = maps.Clone(ps)
	}
	return &c
}

func (g *consumerGroup) state() consumerGroupState {
	switch {
	case g.dead:
		return cgDead
	case len(g.members) == 0:
		return cgEmpty
	case g.groupEpoch > g.assignmentEpoch:
		return cgAssigning
	}
	for _, m := range g.members {
		if !m.isReconciledTo(g.assignmentEpoch) {
			return cgReconciling
		}
	}
	return cgStable
}

// currentPartitionEpoch returns the epoch of p's current owner, or -1.
func (g *consumerGroup) currentPartitionEpoch(t metadata.UUID, p int32) int32 {
	if e, ok := g.partitionEpochs[t][p]; ok {
		return e
	}
	return -1
}

func (g *consumerGroup) removePartitionEpochs(ps partSet) {
	for t, parts := range ps {
		for p := range parts {
			delete(g.partitionEpochs[t], p)
		}
		if len(g.partitionEpochs[t]) == 0 {
			delete(g.partitionEpochs, t)
		}
	}
}

func (g *consumerGroup) addPartitionEpochs(ps partSet, epoch int32) {
	for t, parts := range ps {
		if g.partitionEpochs[t] == nil {
			g.partitionEpochs[t] = map[int32]int32{}
		}
		for p := range parts {
			g.partitionEpochs[t][p] = epoch
		}
	}
}

// sortedMembers returns the members ordered by member id.
func (g *consumerGroup) sortedMembers() []*consumerMember {
	out := make([]*consumerMember, 0, len(g.members))
	for _, m := range g.members {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *consumerMember) int { return strings.Compare(a.id, b.id) })
	return out
}

// --- subscriptions ---

// compileRegex compiles a SubscribedTopicRegex. Kafka (RE2J) matches the
// whole topic name, so the expression is anchored at both ends.
func compileRegex(re string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + re + `)$`)
}

// resolveRegex returns the topics of img whose names match re, sorted.
// Internal topics are never matched, as Kafka's resolution excludes them.
func resolveRegex(re string, img *metadata.Image) []string {
	rx, err := compileRegex(re)
	if err != nil {
		return nil
	}
	var out []string
	for _, t := range img.Topics() {
		if t.Internal || strings.HasPrefix(t.Name, "__") {
			continue
		}
		if rx.MatchString(t.Name) {
			out = append(out, t.Name)
		}
	}
	return out
}

// memberTopics returns the topics member m subscribes to: its names and
// what its regular expression resolved to.
func (g *consumerGroup) memberTopics(m *consumerMember) map[string]bool {
	out := make(map[string]bool, len(m.topicNames))
	for _, t := range m.topicNames {
		out[t] = true
	}
	if m.topicRegex != nil && *m.topicRegex != "" {
		for _, t := range g.regexes[*m.topicRegex].topics {
			out[t] = true
		}
	}
	return out
}

// subscribedTopics returns the union of the members' topics.
func (g *consumerGroup) subscribedTopics() map[string]bool {
	out := map[string]bool{}
	for _, m := range g.members {
		maps.Copy(out, g.memberTopics(m))
	}
	return out
}

// usedRegexes returns the regular expressions some member subscribes to.
func (g *consumerGroup) usedRegexes() map[string]bool {
	out := map[string]bool{}
	for _, m := range g.members {
		if m.topicRegex != nil && *m.topicRegex != "" {
			out[*m.topicRegex] = true
		}
	}
	return out
}

// topicsHash hashes what the assignment depends on in the metadata of
// topics: each existing topic's name, ID and partition count, in name
// order (Kafka 4.1's group metadata hash serves the same purpose; its
// exact value differs, so a group loaded from a Kafka log recomputes
// its target assignment once). Zero means no subscribed topic exists.
func topicsHash(topics map[string]bool, img *metadata.Image) int64 {
	names := make([]string, 0, len(topics))
	for t := range topics {
		if img.Topic(t) != nil {
			names = append(names, t)
		}
	}
	if len(names) == 0 {
		return 0
	}
	slices.Sort(names)
	h := fnv.New64a()
	for _, n := range names {
		t := img.Topic(n)
		_, _ = h.Write([]byte(n))
		_, _ = h.Write(t.ID[:])
		np := len(t.Partitions)
		_, _ = h.Write([]byte{byte(np >> 24), byte(np >> 16), byte(np >> 8), byte(np), 0})
	}
	v := int64(h.Sum64())
	if v == 0 {
		v = 1
	}
	return v
}
