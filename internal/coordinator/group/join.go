package group

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ClientInfo identifies where a JoinGroup came from: the request header's
// client.id and the client's address as Kafka shows it ("/127.0.0.1").
// Both are kept with the member and reported by DescribeGroups.
type ClientInfo struct {
	ID   string
	Host string
}

// JoinGroup serves a JoinGroup request (v2+, Kafka's classic protocol):
// it adds or updates the member and answers once the group's join phase
// completes, which may be much later (the join barrier), from the shard's
// goroutine. done is called exactly once.
func (c *Coordinator) JoinGroup(req *kmsg.JoinGroupRequest, client ClientInfo, done func(*kmsg.JoinGroupResponse)) {
	if req.Group == "" {
		done(joinError(req.MemberID, codeInvalidGroupID))
		return
	}
	st := millis(req.SessionTimeoutMillis)
	if st < c.set.minSessionTimeout || st > c.set.maxSessionTimeout {
		done(joinError(req.MemberID, codeInvalidSessionTimeout))
		return
	}
	s, code := c.shardFor(req.Group)
	if code != 0 {
		done(joinError(req.MemberID, code))
		return
	}
	j := &joinRequest{
		version:          req.Version,
		group:            req.Group,
		memberID:         req.MemberID,
		instanceID:       cloneStringPtr(req.InstanceID),
		protocolType:     req.ProtocolType,
		sessionTimeout:   st,
		rebalanceTimeout: millis(req.RebalanceTimeoutMillis),
		reason:           "not provided",
		client:           client,
		done:             done,
	}
	if req.Reason != nil {
		j.reason = *req.Reason
	}
	for _, p := range req.Protocols {
		j.protocols = append(j.protocols, protocol{name: p.Name, metadata: bytes.Clone(p.Metadata)})
	}
	s.post(event{
		run:   func() { s.join(j) },
		abort: func() { done(joinError(j.memberID, codeNotCoordinator)) },
	})
}

// joinRequest is a JoinGroup's content, copied out of the request (whose
// buffer is released once the request is answered).
type joinRequest struct {
	version          int16
	group            string
	memberID         string
	instanceID       *string
	protocolType     string
	protocols        []protocol
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	reason           string
	client           ClientInfo
	done             func(*kmsg.JoinGroupResponse)
}

func millis(ms int32) time.Duration {
	if ms < 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

func cloneStringPtr(p *string) *string {
	if p == nil {
		return nil
	}
	s := strings.Clone(*p)
	return &s
}

// joinError is a JoinGroup answer carrying only an error.
func joinError(memberID string, code int16) *kmsg.JoinGroupResponse {
	r := kmsg.NewJoinGroupResponse()
	r.ErrorCode = code
	r.MemberID = memberID
	return &r
}

func syncError(code int16) *kmsg.SyncGroupResponse {
	r := kmsg.NewSyncGroupResponse()
	r.ErrorCode = code
	return &r
}

// newMemberID is Kafka's ClassicGroup.generateMemberId: the instance id
// (static members) or the client id, a dash, and a random UUID.
func newMemberID(clientID string, instanceID *string) string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	id := h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	if instanceID != nil {
		return *instanceID + "-" + id
	}
	return clientID + "-" + id
}

// join is Kafka's classicGroupJoinToClassicGroup, on the shard goroutine.
func (s *shard) join(j *joinRequest) {
	unknown := j.memberID == ""
	if cg := s.consumer[j.group]; cg != nil {
		// A classic member joining a KIP-848 consumer group. An empty
		// one becomes a classic group (Kafka 4's downgrade of an empty
		// group); one with members refuses the classic protocol, as
		// Kafka does when group.consumer.migration.policy forbids
		// classic members in a consumer group.
		if cg.state() != cgEmpty {
			j.done(joinError(j.memberID, codeInconsistentProtocol))
			return
		}
		s.convertEmptyConsumerGroup(cg)
	}
	g := s.groups[j.group]
	if g == nil {
		if !unknown {
			j.done(joinError(j.memberID, codeUnknownMemberID))
			return
		}
		g = newClassicGroup(j.group, stateEmpty, s.nowMs())
		s.groups[j.group] = g
	}
	if !s.acceptJoiningMember(g, j.memberID) {
		if g.hasMember(j.memberID) || g.isPending(j.memberID) {
			s.cancel(heartbeatKey(g.id, j.memberID))
		}
		g.remove(j.memberID)
		s.log.Info("group is full; refusing member", "group", g.id, "member", j.memberID, "max_size", s.c.set.maxSize)
		j.done(joinError("", codeGroupMaxSizeReached))
		return
	}
	if unknown {
		s.joinNewMember(g, j)
	} else {
		s.joinExistingMember(g, j)
	}
}

// acceptJoiningMember is Kafka's rule for group.max.size.
func (s *shard) acceptJoiningMember(g *classicGroup, memberID string) bool {
	max := s.c.set.maxSize
	switch g.state {
	case statePreparingRebalance:
		if m := g.members[memberID]; m != nil && m.awaitingJoin() {
			return true
		}
		return g.numAwaiting < max
	case stateCompletingRebalance, stateStable:
		return g.hasMember(memberID) || len(g.members) < max
	}
	return true
}

func (s *shard) joinNewMember(g *classicGroup, j *joinRequest) {
	switch {
	case g.is(stateDead):
		j.done(joinError("", codeCoordinatorNotAvail))
		return
	case !g.supportsProtocols(j.protocolType, j.protocols):
		j.done(joinError("", codeInconsistentProtocol))
		return
	}
	id := newMemberID(j.client.ID, j.instanceID)
	if j.instanceID != nil {
		if old := g.staticMemberID(*j.instanceID); old != "" {
			s.log.Info("static member rejoins with an unknown member id; replacing its previous member id",
				"group", g.id, "instance_id", *j.instanceID, "old_member", old, "member", id, "state", g.state)
			s.updateStaticMember(g, j, old, id)
			return
		}
		s.log.Info("new static member joins", "group", g.id, "instance_id", *j.instanceID, "member", id, "state", g.state)
		s.addMemberThenRebalanceOrCompleteJoin(g, j, id)
		return
	}
	if j.version >= 4 {
		// KIP-394: hand out the member id first and wait for the member
		// to come back with it, so that a client that times out and
		// retries does not leave a member behind.
		s.log.Info("new dynamic member; requesting a rejoin with its member id", "group", g.id, "member", id, "state", g.state)
		g.pendingJoin[id] = true
		s.schedule(heartbeatKey(g.id, id), j.sessionTimeout, func() { s.expireHeartbeat(g.id, id) })
		r := joinError(id, codeMemberIDRequired)
		j.done(r)
		return
	}
	s.log.Info("new dynamic member joins", "group", g.id, "member", id, "state", g.state)
	s.addMemberThenRebalanceOrCompleteJoin(g, j, id)
}

func (s *shard) joinExistingMember(g *classicGroup, j *joinRequest) {
	switch {
	case g.is(stateDead):
		j.done(joinError(j.memberID, codeCoordinatorNotAvail))
		return
	case !g.supportsProtocols(j.protocolType, j.protocols):
		j.done(joinError(j.memberID, codeInconsistentProtocol))
		return
	case g.isPending(j.memberID):
		if j.instanceID != nil {
			// Kafka throws IllegalStateException: a pending member id is
			// only ever handed to a dynamic member.
			j.done(joinError(j.memberID, codeUnknownServerError))
			return
		}
		s.log.Info("pending member rejoins with its member id", "group", g.id, "member", j.memberID, "state", g.state)
		s.addMemberThenRebalanceOrCompleteJoin(g, j, j.memberID)
		return
	}
	if code := g.validateMember(j.memberID, j.instanceID); code != 0 {
		j.done(joinError(j.memberID, code))
		return
	}
	m := g.members[j.memberID]
	switch g.state {
	case statePreparingRebalance:
		s.updateMemberThenRebalanceOrCompleteJoin(g, m, j,
			fmt.Sprintf("member %s is joining group during %s; client reason: %s", m.id, g.state, j.reason))
	case stateCompletingRebalance:
		if m.matches(j.protocols) {
			// Same metadata: the member probably missed its JoinGroup
			// answer; give it the current generation again.
			r := s.joinResponse(g, m.id, g.leaderID == m.id)
			j.done(r)
			return
		}
		s.updateMemberThenRebalanceOrCompleteJoin(g, m, j,
			fmt.Sprintf("updating metadata for member %s during %s; client reason: %s", m.id, g.state, j.reason))
	case stateStable:
		switch {
		case g.leaderID == m.id:
			// A rejoining leader forces a rebalance: that is how it
			// reacts to changes the member metadata does not show
			// (topic metadata for consumers).
			s.updateMemberThenRebalanceOrCompleteJoin(g, m, j,
				fmt.Sprintf("leader %s re-joining group during %s; client reason: %s", m.id, g.state, j.reason))
		case !m.matches(j.protocols):
			s.updateMemberThenRebalanceOrCompleteJoin(g, m, j,
				fmt.Sprintf("updating metadata for member %s during %s; client reason: %s", m.id, g.state, j.reason))
		default:
			j.done(s.joinResponse(g, m.id, false))
		}
	default:
		s.log.Warn("member rejoins a group in an unexpected state", "group", g.id, "member", j.memberID, "state", g.state)
		j.done(joinError(j.memberID, codeUnknownMemberID))
	}
}

// joinResponse is a successful JoinGroup answer for the current
// generation; withMembers adds the member list (the leader's answer).
func (s *shard) joinResponse(g *classicGroup, memberID string, withMembers bool) *kmsg.JoinGroupResponse {
	r := kmsg.NewJoinGroupResponse()
	r.MemberID = memberID
	r.Generation = g.generation
	r.Protocol = g.protocolName
	if g.protocolType != "" {
		pt := g.protocolType
		r.ProtocolType = &pt
	}
	r.LeaderID = g.leaderID
	if withMembers {
		r.Members = g.currentMembers()
	}
	return &r
}

func (s *shard) addMemberThenRebalanceOrCompleteJoin(g *classicGroup, j *joinRequest, id string) {
	m := &member{
		id:               id,
		instanceID:       j.instanceID,
		clientID:         j.client.ID,
		clientHost:       j.client.Host,
		rebalanceTimeout: j.rebalanceTimeout,
		sessionTimeout:   j.sessionTimeout,
		protocolType:     j.protocolType,
		protocols:        j.protocols,
		assignment:       []byte{},
		isNew:            true,
	}
	if g.is(statePreparingRebalance) && g.prevState == stateEmpty {
		g.newMemberAdded = true
	}
	g.add(m, j.done)
	// A new member cannot heartbeat while its JoinGroup is parked, so its
	// deadline is the (long) new-member join timeout: a client that gave
	// up and retried does not leave a defunct member in the rebalance
	// forever.
	s.rescheduleHeartbeat(g, m, s.c.set.newMemberJoinTimeout)
	s.maybePrepareRebalanceOrCompleteJoin(g, fmt.Sprintf("adding new member %s with group instance id %s; client reason: %s",
		id, strPtr(j.instanceID), j.reason))
}

func strPtr(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

func (s *shard) updateMemberThenRebalanceOrCompleteJoin(g *classicGroup, m *member, j *joinRequest, reason string) {
	g.updateMember(m, j.protocols, j.rebalanceTimeout, j.sessionTimeout, j.done)
	s.maybePrepareRebalanceOrCompleteJoin(g, reason)
}

// updateStaticMember is Kafka's updateStaticMemberThenRebalanceOrCompleteJoin:
// a static member rejoining with an unknown member id (a restarted
// process) takes over its instance's membership under a new member id. In
// a Stable group whose selected protocol would not change, there is no
// rebalance: the new id is persisted and the member gets the current
// generation back (KIP-345); a leader on JoinGroup v9+ is told to skip
// the assignment it already made (KIP-814).
func (s *shard) updateStaticMember(g *classicGroup, j *joinRequest, oldID, newID string) {
	old := g.members[oldID]
	oldProtocols, oldRebalance, oldSession := old.protocols, old.rebalanceTimeout, old.sessionTimeout
	nm := g.replaceStaticMember(*j.instanceID, oldID, newID)
	s.cancel(heartbeatKey(g.id, oldID))
	s.rescheduleHeartbeat(g, nm, nm.sessionTimeout)
	g.updateMember(nm, j.protocols, j.rebalanceTimeout, j.sessionTimeout, j.done)

	switch g.state {
	case stateStable:
		if g.protocolName != nil && *g.protocolName == g.selectProtocol() {
			s.log.Info("static member rejoins a stable group without changing its protocol; no rebalance",
				"group", g.id, "instance_id", *j.instanceID, "member", newID)
			assignment := map[string][]byte{}
			for _, m := range g.members {
				assignment[m.id] = m.assignment
			}
			instanceID := *j.instanceID
			s.appendRecords([]kv{{groupMetadataKey(g.id), groupMetadataValue(g, assignment)}},
				func(err error) {
					cur := g.members[newID]
					if cur == nil || g.is(stateDead) {
						// The member or group went away meanwhile (and
						// its join was answered then).
						return
					}
					if err != nil {
						s.log.Warn("persisting a static member's new member id failed; reverting to the old id",
							"group", g.id, "instance_id", instanceID, "member", newID, "old_member", oldID, "err", err)
						code := appendErrorCode(err)
						g.updateMember(cur, oldProtocols, oldRebalance, oldSession, cur.joinDone)
						done := cur.joinDone
						if done != nil {
							cur.joinDone = nil
							g.numAwaiting--
						}
						if g.staticMemberID(instanceID) == newID {
							reverted := g.replaceStaticMember(instanceID, newID, oldID)
							s.cancel(heartbeatKey(g.id, newID))
							s.rescheduleHeartbeat(g, reverted, reverted.sessionTimeout)
						}
						if done != nil {
							r := joinError("", code)
							r.Generation = g.generation
							r.ProtocolType = nonEmpty(g.protocolType)
							r.Protocol = g.protocolName
							r.LeaderID = g.leaderID
							done(r)
						}
						return
					}
					isLeader := g.leaderID == newID
					var r *kmsg.JoinGroupResponse
					if j.version >= 9 {
						r = s.joinResponse(g, newID, isLeader)
						r.SkipAssignment = isLeader
					} else {
						r = s.joinResponse(g, newID, false)
					}
					g.completeJoin(cur, r)
				},
				// The join is parked on the member: unloading answers it.
				nil)
			return
		}
		s.maybePrepareRebalanceOrCompleteJoin(g, fmt.Sprintf("group's selected protocol will change because static member %s with instance id %s joined with a change of protocol; client reason: %s",
			newID, *j.instanceID, j.reason))
	case stateCompletingRebalance:
		// The old member id may already be in the leader's assignment:
		// rebalance so that the new id gets one.
		s.prepareRebalance(g, fmt.Sprintf("updating metadata for static member %s with instance id %s; client reason: %s",
			newID, *j.instanceID, j.reason))
	default:
		s.maybeCompleteJoinPhase(g)
	}
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// rescheduleHeartbeat sets m's session deadline to d from now.
func (s *shard) rescheduleHeartbeat(g *classicGroup, m *member, d time.Duration) {
	gid, mid := g.id, m.id
	s.schedule(heartbeatKey(gid, mid), d, func() { s.expireHeartbeat(gid, mid) })
}

// expireHeartbeat is Kafka's expireClassicGroupMemberHeartbeat: the
// member's session deadline passed without a heartbeat.
func (s *shard) expireHeartbeat(groupID, memberID string) {
	g := s.groups[groupID]
	if g == nil || g.is(stateDead) {
		return
	}
	if g.isPending(memberID) {
		s.log.Info("pending member removed after its session timeout", "group", g.id, "member", memberID)
		g.remove(memberID)
		if g.is(statePreparingRebalance) && g.hasAllMembersJoined() {
			s.completeJoin(g)
		}
		return
	}
	m := g.members[memberID]
	if m == nil {
		return
	}
	// A member parked in a rebalance satisfies its heartbeats, unless it
	// is new (whose deadline is the new-member join timeout).
	if !m.isNew && (m.awaitingJoin() || m.awaitingSync()) {
		return
	}
	s.log.Info("member failed its session timeout; removing it", "group", g.id, "member", m.id, "state", g.state, "session_timeout", m.sessionTimeout)
	s.removeMemberAndUpdateGroup(g, m, fmt.Sprintf("removing member %s on heartbeat expiration", m.id))
}

// removeMemberAndUpdateGroup removes m (answering a parked JoinGroup with
// UNKNOWN_MEMBER_ID so that a still-live client rejoins) and rebalances
// or completes the join phase as its departure allows.
func (s *shard) removeMemberAndUpdateGroup(g *classicGroup, m *member, reason string) {
	g.completeJoin(m, joinError("", codeUnknownMemberID))
	g.remove(m.id)
	switch {
	case g.is(stateStable), g.is(stateCompletingRebalance):
		s.maybePrepareRebalanceOrCompleteJoin(g, reason)
	case g.is(statePreparingRebalance) && g.hasAllMembersJoined():
		s.completeJoin(g)
	}
}

func (s *shard) maybePrepareRebalanceOrCompleteJoin(g *classicGroup, reason string) {
	if g.canTransitionTo(statePreparingRebalance) {
		s.prepareRebalance(g, reason)
		return
	}
	s.maybeCompleteJoinPhase(g)
}

// maybeCompleteJoinPhase completes the join phase once every member has
// rejoined, except in an initial rebalance, which waits out
// group.initial.rebalance.delay.ms so that a starting fleet of consumers
// lands in one rebalance.
func (s *shard) maybeCompleteJoinPhase(g *classicGroup) {
	if !g.is(statePreparingRebalance) || g.prevState == stateEmpty || !g.hasAllMembersJoined() {
		return
	}
	s.completeJoin(g)
}

// prepareRebalance raises the join barrier (Kafka's prepareRebalance).
func (s *shard) prepareRebalance(g *classicGroup, reason string) {
	if g.is(stateCompletingRebalance) {
		// Members waiting for the assignment must rejoin instead.
		s.resetAndPropagateAssignmentWithError(g, codeRebalanceInProgress)
	}
	s.cancel(syncKey(g.id))
	initial := g.is(stateEmpty)
	if initial {
		delay := s.c.set.initialRebalanceDelay
		remaining := maxDuration(g.rebalanceTimeout()-delay, 0)
		s.scheduleInitialRebalance(g.id, delay, remaining)
	}
	old := g.generation
	g.transitionTo(statePreparingRebalance, s.nowMs())
	s.log.Info("preparing to rebalance group", "group", g.id, "old_generation", old, "reason", reason)
	if !initial {
		s.maybeCompleteJoinElseSchedule(g)
	}
}

// scheduleInitialRebalance is Kafka's InitialDelayedJoin: the join phase
// of a group that was empty completes delay from now, extended by up to
// another group.initial.rebalance.delay.ms each time a new member joined
// meanwhile, until the group's rebalance timeout is used up.
func (s *shard) scheduleInitialRebalance(groupID string, delay, remaining time.Duration) {
	s.schedule(joinKey(groupID), delay, func() {
		g := s.groups[groupID]
		if g == nil {
			return
		}
		if g.newMemberAdded && remaining != 0 {
			g.newMemberAdded = false
			next := min(s.c.set.initialRebalanceDelay, remaining)
			s.scheduleInitialRebalance(groupID, next, maxDuration(remaining-delay, 0))
			return
		}
		s.completeJoin(g)
	})
}

func (s *shard) maybeCompleteJoinElseSchedule(g *classicGroup) {
	if g.hasAllMembersJoined() {
		s.completeJoin(g)
		return
	}
	gid := g.id
	s.schedule(joinKey(gid), g.rebalanceTimeout(), func() {
		if g := s.groups[gid]; g != nil {
			s.completeJoin(g)
		}
	})
}

// completeJoin ends the join phase (Kafka's completeClassicGroupJoin):
// dynamic members that did not rejoin are dropped, the next generation
// starts, and every member gets its JoinGroup answer (the leader's with
// the member list), or the group, now empty, persists that.
func (s *shard) completeJoin(g *classicGroup) {
	s.cancel(joinKey(g.id))
	var dropped []string
	for _, m := range g.notYetRejoined() {
		if m.isStatic() {
			continue
		}
		g.remove(m.id)
		s.cancel(heartbeatKey(g.id, m.id))
		dropped = append(dropped, m.id)
	}
	if len(dropped) > 0 {
		s.log.Info("removed dynamic members that did not rejoin", "group", g.id, "members", dropped)
	}
	switch {
	case g.is(stateDead):
		return
	case !g.maybeElectNewJoinedLeader() && len(g.members) > 0:
		// Only static members that did not rejoin are left: wait another
		// rebalance timeout for them (their sessions may expire).
		s.log.Warn("group could not complete its rebalance because no member rejoined", "group", g.id)
		gid := g.id
		s.schedule(joinKey(gid), g.rebalanceTimeout(), func() {
			if g := s.groups[gid]; g != nil {
				s.completeJoin(g)
			}
		})
		return
	}
	g.initNextGeneration(s.nowMs())
	if g.is(stateEmpty) {
		s.log.Info("group is now empty", "group", g.id, "generation", g.generation)
		gid := g.id
		s.appendRecords([]kv{{groupMetadataKey(g.id), groupMetadataValue(g, nil)}},
			func(err error) {
				if err != nil {
					s.log.Warn("writing the empty group's metadata failed", "group", gid, "code", appendErrorCode(err), "err", err)
				}
			}, nil)
		return
	}
	s.log.Info("stabilized group", "group", g.id, "generation", g.generation, "members", len(g.members),
		"protocol", strPtr(g.protocolName))
	for _, m := range g.orderedMembers() {
		g.completeJoin(m, s.joinResponse(g, m.id, g.leaderID == m.id))
		s.rescheduleHeartbeat(g, m, m.sessionTimeout)
		m.isNew = false
		g.pendingSync[m.id] = true
	}
	s.schedulePendingSync(g)
}

// schedulePendingSync gives the members of the new generation one
// rebalance timeout to send SyncGroup (Kafka's pending-sync deadline).
func (s *shard) schedulePendingSync(g *classicGroup) {
	gid, gen := g.id, g.generation
	s.schedule(syncKey(gid), g.rebalanceTimeout(), func() { s.expirePendingSync(gid, gen) })
}

func (s *shard) expirePendingSync(groupID string, generation int32) {
	g := s.groups[groupID]
	if g == nil || g.generation != generation {
		return
	}
	if !g.is(stateCompletingRebalance) && !g.is(stateStable) {
		return
	}
	if len(g.pendingSync) == 0 {
		return
	}
	var ids []string
	for id := range g.pendingSync {
		ids = append(ids, id)
	}
	for _, id := range ids {
		g.remove(id)
		s.cancel(heartbeatKey(g.id, id))
	}
	s.log.Info("removed members that did not send SyncGroup in time", "group", g.id, "members", ids)
	s.prepareRebalance(g, fmt.Sprintf("removing %v on pending sync request expiration", ids))
}

// resetAndPropagateAssignmentWithError answers every parked SyncGroup with
// code and an empty assignment.
func (s *shard) resetAndPropagateAssignmentWithError(g *classicGroup, code int16) {
	for _, m := range g.members {
		m.assignment = []byte{}
	}
	s.propagateAssignment(g, code)
}

// propagateAssignment answers every parked SyncGroup with the member's
// assignment (or code), and restarts its session: a session that expired
// while the member waited was ignored.
func (s *shard) propagateAssignment(g *classicGroup, code int16) {
	for _, m := range g.orderedMembers() {
		if m.syncDone == nil {
			continue
		}
		r := kmsg.NewSyncGroupResponse()
		r.ErrorCode = code
		r.MemberAssignment = m.assignment
		if code == 0 {
			r.ProtocolType = nonEmpty(g.protocolType)
			r.Protocol = g.protocolName
		}
		g.completeSync(m, &r)
		s.rescheduleHeartbeat(g, m, m.sessionTimeout)
	}
}

func (s *shard) nowMs() int64 { return s.c.now().UnixMilli() }
