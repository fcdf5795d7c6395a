package group

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupState is a classic group's state (Kafka's ClassicGroupState).
type groupState int8

const (
	// stateEmpty: no members; the group may still hold offsets. It
	// becomes Dead when its metadata expires or it is deleted.
	stateEmpty groupState = iota
	// statePreparingRebalance: the join barrier is up; members must
	// (re)join before the rebalance timeout.
	statePreparingRebalance
	// stateCompletingRebalance: every member has its JoinGroup answer;
	// the coordinator waits for the leader's SyncGroup with the
	// assignment.
	stateCompletingRebalance
	// stateStable: the assignment is persisted and handed out; members
	// heartbeat.
	stateStable
	// stateDead: the group was removed (deleted, expired, or its shard
	// unloaded); any request still holding it must send the client
	// elsewhere.
	stateDead
)

// String returns Kafka's name for the state, as DescribeGroups and
// ListGroups report it.
func (s groupState) String() string {
	switch s {
	case stateEmpty:
		return "Empty"
	case statePreparingRebalance:
		return "PreparingRebalance"
	case stateCompletingRebalance:
		return "CompletingRebalance"
	case stateStable:
		return "Stable"
	}
	return "Dead"
}

// validPrevious lists, per state, the states it may be entered from
// (Kafka's ClassicGroupState.validPreviousStates).
var validPrevious = [...][]groupState{
	stateEmpty:               {statePreparingRebalance},
	statePreparingRebalance:  {stateStable, stateCompletingRebalance, stateEmpty},
	stateCompletingRebalance: {statePreparingRebalance},
	stateStable:              {stateCompletingRebalance},
	stateDead:                {stateStable, statePreparingRebalance, stateCompletingRebalance, stateEmpty, stateDead},
}

// consumerProtocolType is the protocol type of Kafka consumers, whose
// member metadata the coordinator parses to learn the subscribed topics.
const consumerProtocolType = "consumer"

// protocol is one (name, metadata) a member supports, in its order of
// preference.
type protocol struct {
	name     string
	metadata []byte
}

// member is one member of a classic group (Kafka's ClassicGroupMember).
type member struct {
	id         string
	instanceID *string // group.instance.id of a static member (KIP-345)
	clientID   string
	clientHost string

	rebalanceTimeout time.Duration
	sessionTimeout   time.Duration
	protocolType     string
	protocols        []protocol
	assignment       []byte

	// isNew is set from the member's first JoinGroup until the join
	// phase completes: its heartbeat deadline is then the new-member
	// join timeout.
	isNew bool

	// joinDone is the parked JoinGroup's answer, nil when the member is
	// not awaiting a join response.
	joinDone func(*kmsg.JoinGroupResponse)
	// syncDone is the parked SyncGroup's answer, nil when the member is
	// not awaiting a sync response.
	syncDone func(*kmsg.SyncGroupResponse)
}

func (m *member) awaitingJoin() bool { return m.joinDone != nil }
func (m *member) awaitingSync() bool { return m.syncDone != nil }
func (m *member) isStatic() bool     { return m.instanceID != nil }

// metadata returns the member's metadata for protocol name, or nil.
func (m *member) metadata(name string) []byte {
	for _, p := range m.protocols {
		if p.name == name {
			return p.metadata
		}
	}
	return nil
}

// matches reports whether protos are exactly the member's protocols, in
// order, with the same metadata (Kafka's ClassicGroupMember.matches).
func (m *member) matches(protos []protocol) bool {
	return slices.EqualFunc(m.protocols, protos, func(a, b protocol) bool {
		return a.name == b.name && string(a.metadata) == string(b.metadata)
	})
}

// classicGroup is one classic group's membership state (Kafka's
// ClassicGroup). It is owned by its shard's goroutine.
type classicGroup struct {
	id             string
	state          groupState
	prevState      groupState
	stateTimestamp int64 // ms of the last state change; -1 when unknown (loaded from an old record)

	protocolType string  // "" when none (a group used only to store offsets)
	protocolName *string // the protocol selected for the generation, nil when none
	generation   int32
	leaderID     string // "" when none

	members     map[string]*member
	memberOrder []string          // member ids in join order, for stable answers
	static      map[string]string // group.instance.id -> member id
	pendingJoin map[string]bool   // ids handed out with MEMBER_ID_REQUIRED, not yet joined
	pendingSync map[string]bool   // members that must still send SyncGroup this generation
	numAwaiting int               // members with a parked JoinGroup

	supportedProtocols map[string]int // protocol name -> number of members supporting it
	newMemberAdded     bool           // a member joined during the initial delay (InitialDelayedJoin)

	// subscribed is the union of the members' subscribed topics for a
	// "consumer" group whose metadata parses; subscribedKnown is false
	// when the coordinator cannot tell.
	subscribed      map[string]bool
	subscribedKnown bool
}

func newClassicGroup(id string, state groupState, nowMs int64) *classicGroup {
	return &classicGroup{
		id:                 id,
		state:              state,
		prevState:          state,
		stateTimestamp:     nowMs,
		members:            map[string]*member{},
		static:             map[string]string{},
		pendingJoin:        map[string]bool{},
		pendingSync:        map[string]bool{},
		supportedProtocols: map[string]int{},
	}
}

func (g *classicGroup) is(s groupState) bool { return g.state == s }

// canTransitionTo reports whether the state machine allows s next.
func (g *classicGroup) canTransitionTo(s groupState) bool {
	return slices.Contains(validPrevious[s], g.state)
}

// transitionTo moves the group to s and stamps the time. Callers check
// canTransitionTo where the path is not already known to be valid.
func (g *classicGroup) transitionTo(s groupState, nowMs int64) {
	g.prevState = g.state
	g.state = s
	g.stateTimestamp = nowMs
}

func (g *classicGroup) hasMember(id string) bool { _, ok := g.members[id]; return ok }

func (g *classicGroup) isPending(id string) bool { return g.pendingJoin[id] }

// orderedMembers returns the members in join order. The slice is new;
// the members are the group's.
func (g *classicGroup) orderedMembers() []*member {
	out := make([]*member, 0, len(g.memberOrder))
	for _, id := range g.memberOrder {
		out = append(out, g.members[id])
	}
	return out
}

// add adds m, parking done as its JoinGroup answer (nil when loading).
func (g *classicGroup) add(m *member, done func(*kmsg.JoinGroupResponse)) {
	if m.instanceID != nil {
		g.static[*m.instanceID] = m.id
	}
	if len(g.members) == 0 {
		g.protocolType = m.protocolType
	}
	g.members[m.id] = m
	g.memberOrder = append(g.memberOrder, m.id)
	for _, p := range m.protocols {
		g.supportedProtocols[p.name]++
	}
	m.joinDone = done
	if done != nil {
		g.numAwaiting++
	}
	delete(g.pendingJoin, m.id)
	if g.leaderID == "" {
		g.leaderID = m.id
	}
}

// remove removes member id (or the pending member id) from the group. A
// leader that leaves is replaced by the first remaining member. A
// JoinGroup or SyncGroup the member still has parked is answered
// UNKNOWN_MEMBER_ID, so that every request gets exactly one answer; the
// callers that must answer otherwise do so before removing.
func (g *classicGroup) remove(id string) {
	m := g.members[id]
	delete(g.pendingJoin, id)
	if m == nil {
		return
	}
	g.completeJoin(m, joinError("", codeUnknownMemberID))
	g.completeSync(m, syncError(codeUnknownMemberID))
	for _, p := range m.protocols {
		g.decSupported(p.name)
	}
	if m.awaitingJoin() {
		g.numAwaiting--
	}
	if m.instanceID != nil && g.static[*m.instanceID] == id {
		delete(g.static, *m.instanceID)
	}
	delete(g.members, id)
	delete(g.pendingSync, id)
	g.memberOrder = slices.DeleteFunc(g.memberOrder, func(s string) bool { return s == id })
	if g.leaderID == id {
		g.leaderID = ""
		if len(g.memberOrder) > 0 {
			g.leaderID = g.memberOrder[0]
		}
	}
}

func (g *classicGroup) decSupported(name string) {
	if g.supportedProtocols[name] <= 1 {
		delete(g.supportedProtocols, name)
		return
	}
	g.supportedProtocols[name]--
}

// updateMember replaces m's protocols and timeouts and parks done as its
// JoinGroup answer (Kafka's ClassicGroup.updateMember).
func (g *classicGroup) updateMember(m *member, protos []protocol, rebalanceTimeout, sessionTimeout time.Duration, done func(*kmsg.JoinGroupResponse)) {
	for _, p := range m.protocols {
		g.decSupported(p.name)
	}
	for _, p := range protos {
		g.supportedProtocols[p.name]++
	}
	m.protocols = protos
	m.rebalanceTimeout = rebalanceTimeout
	m.sessionTimeout = sessionTimeout
	if done == nil {
		return
	}
	if m.awaitingJoin() {
		// A second JoinGroup while one is parked (the client gave up on
		// the first): the first still gets exactly one answer. Kafka
		// drops it silently.
		g.completeJoin(m, joinError(m.id, codeRebalanceInProgress))
	}
	m.joinDone = done
	g.numAwaiting++
}

// completeJoin answers m's parked JoinGroup, if any, with resp.
func (g *classicGroup) completeJoin(m *member, resp *kmsg.JoinGroupResponse) {
	if m.joinDone == nil {
		return
	}
	done := m.joinDone
	m.joinDone = nil
	g.numAwaiting--
	done(resp)
}

// completeSync answers m's parked SyncGroup, if any, with resp.
func (g *classicGroup) completeSync(m *member, resp *kmsg.SyncGroupResponse) {
	if m.syncDone == nil {
		return
	}
	done := m.syncDone
	m.syncDone = nil
	done(resp)
}

// hasAllMembersJoined is Kafka's ClassicGroup.hasAllMembersJoined: every
// member has a parked JoinGroup and no MEMBER_ID_REQUIRED answer is still
// outstanding.
func (g *classicGroup) hasAllMembersJoined() bool {
	return len(g.members) == g.numAwaiting && len(g.pendingJoin) == 0
}

// rebalanceTimeout is the largest rebalance timeout of the members: how
// long the join barrier waits.
func (g *classicGroup) rebalanceTimeout() time.Duration {
	var max time.Duration
	for _, m := range g.members {
		max = maxDuration(max, m.rebalanceTimeout)
	}
	return max
}

func maxDuration(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// supportsProtocols is Kafka's ClassicGroup.supportsProtocols: an empty
// group takes any non-empty protocol type and list; otherwise the type
// must match and one of protos must be supported by every member.
func (g *classicGroup) supportsProtocols(protocolType string, protos []protocol) bool {
	if g.is(stateEmpty) {
		return protocolType != "" && len(protos) > 0
	}
	if g.protocolType != protocolType {
		return false
	}
	for _, p := range protos {
		if g.supportedProtocols[p.name] == len(g.members) {
			return true
		}
	}
	return false
}

// selectProtocol is Kafka's ClassicGroup.selectProtocol: among the
// protocols every member supports, each member votes for the first one in
// its own preference order; the most votes win. Ties go to the candidate
// that comes first in the leader's preference, which keeps the choice
// deterministic (Kafka leaves it to a hash map's order).
func (g *classicGroup) selectProtocol() string {
	candidates := map[string]bool{}
	for name, n := range g.supportedProtocols {
		if n == len(g.members) {
			candidates[name] = true
		}
	}
	votes := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if candidates[p.name] {
				votes[p.name]++
				break
			}
		}
	}
	var order []protocol
	if l := g.members[g.leaderID]; l != nil {
		order = l.protocols
	} else if len(g.memberOrder) > 0 {
		order = g.members[g.memberOrder[0]].protocols
	}
	best, bestVotes := "", -1
	for _, p := range order {
		if candidates[p.name] && votes[p.name] > bestVotes {
			best, bestVotes = p.name, votes[p.name]
		}
	}
	return best
}

// notYetRejoined returns the members without a parked JoinGroup.
func (g *classicGroup) notYetRejoined() []*member {
	var out []*member
	for _, m := range g.orderedMembers() {
		if !m.awaitingJoin() {
			out = append(out, m)
		}
	}
	return out
}

// maybeElectNewJoinedLeader is Kafka's method of that name: a leader that
// did not rejoin is replaced by a member that did. It reports whether the
// group has a leader that rejoined.
func (g *classicGroup) maybeElectNewJoinedLeader() bool {
	l := g.members[g.leaderID]
	if l == nil {
		return false
	}
	if l.awaitingJoin() {
		return true
	}
	for _, m := range g.orderedMembers() {
		if m.awaitingJoin() {
			g.leaderID = m.id
			return true
		}
	}
	return false
}

// initNextGeneration starts the next generation: bump the generation,
// select the protocol and move to CompletingRebalance, or to Empty when
// no member is left.
func (g *classicGroup) initNextGeneration(nowMs int64) {
	g.generation++
	if len(g.members) > 0 {
		p := g.selectProtocol()
		g.protocolName = &p
		g.computeSubscribedTopics()
		g.transitionTo(stateCompletingRebalance, nowMs)
	} else {
		g.protocolName = nil
		g.computeSubscribedTopics()
		g.transitionTo(stateEmpty, nowMs)
	}
	clear(g.pendingSync)
}

// staticMemberID returns the member id bound to instanceID, or "".
func (g *classicGroup) staticMemberID(instanceID string) string { return g.static[instanceID] }

// validateMember is Kafka's ClassicGroup.validateMember: a static member
// must be known by instance id and hold the given member id (else
// FENCED_INSTANCE_ID: another process took the instance id); a dynamic
// one must be a member. It returns the error code, 0 if valid.
func (g *classicGroup) validateMember(memberID string, instanceID *string) int16 {
	if instanceID != nil {
		existing, ok := g.static[*instanceID]
		switch {
		case !ok:
			return codeUnknownMemberID
		case existing != memberID:
			return codeFencedInstanceID
		}
		return 0
	}
	if !g.hasMember(memberID) {
		return codeUnknownMemberID
	}
	return 0
}

// replaceStaticMember gives a static member a new member id (a restarted
// process rejoining with the same group.instance.id). A JoinGroup or
// SyncGroup the old id still has parked is answered FENCED_INSTANCE_ID.
func (g *classicGroup) replaceStaticMember(instanceID, oldID, newID string) *member {
	old := g.members[oldID]
	g.completeJoin(old, &kmsg.JoinGroupResponse{
		ErrorCode: codeFencedInstanceID, MemberID: oldID, Generation: -1,
	})
	g.completeSync(old, &kmsg.SyncGroupResponse{ErrorCode: codeFencedInstanceID})
	nm := &member{
		id:               newID,
		instanceID:       old.instanceID,
		clientID:         old.clientID,
		clientHost:       old.clientHost,
		rebalanceTimeout: old.rebalanceTimeout,
		sessionTimeout:   old.sessionTimeout,
		protocolType:     old.protocolType,
		protocols:        old.protocols,
		assignment:       old.assignment,
	}
	delete(g.members, oldID)
	g.members[newID] = nm
	if i := slices.Index(g.memberOrder, oldID); i >= 0 {
		g.memberOrder[i] = newID
	}
	if g.pendingSync[oldID] {
		delete(g.pendingSync, oldID)
		g.pendingSync[newID] = true
	}
	if g.leaderID == oldID {
		g.leaderID = newID
	}
	g.static[instanceID] = newID
	return nm
}

// currentMembers returns the members' (id, instance id, metadata for the
// selected protocol), as the leader's JoinGroup answer carries them.
func (g *classicGroup) currentMembers() []kmsg.JoinGroupResponseMember {
	name := ""
	if g.protocolName != nil {
		name = *g.protocolName
	}
	out := make([]kmsg.JoinGroupResponseMember, 0, len(g.members))
	for _, m := range g.orderedMembers() {
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID = m.id
		jm.InstanceID = m.instanceID
		jm.ProtocolMetadata = m.metadata(name)
		out = append(out, jm)
	}
	return out
}

// computeSubscribedTopics is Kafka's ClassicGroup.computeSubscribedTopics:
// for a "consumer" group, the union of the topics in each member's
// subscription for the selected protocol, read as version 0 of the
// consumer protocol (the prefix of every version). A subscription that
// does not parse leaves the topics unknown.
func (g *classicGroup) computeSubscribedTopics() {
	g.subscribed, g.subscribedKnown = nil, false
	if g.protocolType != consumerProtocolType {
		return
	}
	if len(g.members) == 0 {
		g.subscribed, g.subscribedKnown = map[string]bool{}, true
		return
	}
	if g.protocolName == nil {
		return
	}
	topics := map[string]bool{}
	for _, m := range g.members {
		ts, ok := subscriptionTopics(m.metadata(*g.protocolName))
		if !ok {
			return
		}
		for _, t := range ts {
			topics[t] = true
		}
	}
	g.subscribed, g.subscribedKnown = topics, true
}

// isSubscribedTo reports whether the group's members consume topic, as
// far as the coordinator knows.
func (g *classicGroup) isSubscribedTo(topic string) bool {
	return g.subscribedKnown && g.subscribed[topic]
}

// subscriptionTopics reads the topics of a ConsumerProtocolSubscription:
// int16 version, then (version 0 prefix) an int32 count of int16-length
// strings. Later versions append fields, which are ignored.
func subscriptionTopics(b []byte) ([]string, bool) {
	if len(b) < 6 {
		return nil, false
	}
	if int16(binary.BigEndian.Uint16(b)) < 0 {
		return nil, false
	}
	n := int32(binary.BigEndian.Uint32(b[2:]))
	b = b[6:]
	if n < 0 || int(n) > len(b)/2 {
		return nil, false
	}
	topics := make([]string, 0, n)
	for range n {
		if len(b) < 2 {
			return nil, false
		}
		l := int16(binary.BigEndian.Uint16(b))
		b = b[2:]
		if l < 0 || int(l) > len(b) {
			return nil, false
		}
		topics = append(topics, string(b[:l]))
		b = b[l:]
	}
	return topics, true
}

// isEmptyGroup reports whether the group counts as empty for deletion and
// expiry (Kafka's ClassicGroup.isEmpty: the Empty state).
func (g *classicGroup) isEmptyGroup() bool { return g.is(stateEmpty) }
