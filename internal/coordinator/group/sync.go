package group

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// SyncGroup serves a SyncGroup request: the leader's carries the
// assignment, which is persisted before every member gets its share; a
// follower's is parked until then. done is called exactly once, possibly
// later from the shard's goroutine.
func (c *Coordinator) SyncGroup(req *kmsg.SyncGroupRequest, done func(*kmsg.SyncGroupResponse)) {
	if req.Version >= 5 && (req.ProtocolType == nil || req.Protocol == nil) {
		// KafkaApis: from v5 both fields are mandatory.
		done(syncError(codeInconsistentProtocol))
		return
	}
	s, code := c.namedGroupShard(req.Group)
	if code != 0 {
		done(syncError(code))
		return
	}
	sr := &syncRequest{
		group:        req.Group,
		generation:   req.Generation,
		memberID:     req.MemberID,
		instanceID:   cloneStringPtr(req.InstanceID),
		protocolType: cloneStringPtr(req.ProtocolType),
		protocol:     cloneStringPtr(req.Protocol),
		done:         done,
	}
	if len(req.GroupAssignment) > 0 {
		sr.assignment = make(map[string][]byte, len(req.GroupAssignment))
		for _, a := range req.GroupAssignment {
			sr.assignment[strings.Clone(a.MemberID)] = bytes.Clone(a.MemberAssignment)
		}
	}
	s.post(event{
		run:   func() { s.sync(sr) },
		abort: func() { done(syncError(codeNotCoordinator)) },
	})
}

type syncRequest struct {
	group        string
	generation   int32
	memberID     string
	instanceID   *string
	protocolType *string
	protocol     *string
	assignment   map[string][]byte
	done         func(*kmsg.SyncGroupResponse)
}

// sync is Kafka's classicGroupSyncToClassicGroup, on the shard goroutine.
func (s *shard) sync(r *syncRequest) {
	g := s.groups[r.group]
	if g == nil || g.isEmptyGroup() {
		r.done(syncError(codeUnknownMemberID))
		return
	}
	if code := s.validateSync(g, r); code != 0 {
		r.done(syncError(code))
		return
	}
	switch g.state {
	case statePreparingRebalance:
		r.done(syncError(codeRebalanceInProgress))
	case stateCompletingRebalance:
		m := g.members[r.memberID]
		if m.syncDone != nil {
			// A repeated SyncGroup: the first one still gets exactly
			// one answer (Kafka replaces it silently).
			g.completeSync(m, syncError(codeRebalanceInProgress))
		}
		m.syncDone = r.done
		s.removePendingSync(g, m.id)
		if g.leaderID == m.id {
			s.storeAssignment(g, r)
		}
	case stateStable:
		s.removePendingSync(g, r.memberID)
		m := g.members[r.memberID]
		resp := kmsg.NewSyncGroupResponse()
		resp.ProtocolType = nonEmpty(g.protocolType)
		resp.Protocol = g.protocolName
		resp.MemberAssignment = m.assignment
		r.done(&resp)
	default:
		r.done(syncError(codeCoordinatorNotAvail))
	}
}

// validateSync is Kafka's validateSyncGroup.
func (s *shard) validateSync(g *classicGroup, r *syncRequest) int16 {
	if g.is(stateDead) {
		return codeCoordinatorNotAvail
	}
	if code := g.validateMember(r.memberID, r.instanceID); code != 0 {
		return code
	}
	if r.generation != g.generation {
		return codeIllegalGeneration
	}
	if r.protocolType != nil && g.protocolType != "" && *r.protocolType != g.protocolType {
		return codeInconsistentProtocol
	}
	if r.protocol != nil && g.protocolName != nil && *r.protocol != *g.protocolName {
		return codeInconsistentProtocol
	}
	return 0
}

// removePendingSync notes that id sent its SyncGroup, and drops the
// pending-sync deadline once every member has.
func (s *shard) removePendingSync(g *classicGroup, id string) {
	delete(g.pendingSync, id)
	switch g.state {
	case stateCompletingRebalance, stateStable:
		if len(g.pendingSync) > 0 {
			return
		}
	}
	s.cancel(syncKey(g.id))
}

// storeAssignment persists the leader's assignment with the group's
// metadata and, once it is durable, hands every member its share and
// makes the group Stable (Kafka's storeGroup callback). Members the
// leader left out get an empty assignment.
func (s *shard) storeAssignment(g *classicGroup, r *syncRequest) {
	s.log.Info("assignment received from the leader", "group", g.id, "leader", r.memberID,
		"generation", g.generation, "members", len(g.members), "static", len(g.static))
	assignment := make(map[string][]byte, len(g.members))
	var missing []string
	for id := range g.members {
		a, ok := r.assignment[id]
		if !ok {
			missing = append(missing, id)
			a = []byte{}
		}
		if a == nil {
			a = []byte{}
		}
		assignment[id] = a
	}
	if len(missing) > 0 {
		s.log.Warn("setting empty assignments for members the leader did not assign", "group", g.id,
			"generation", g.generation, "members", missing)
	}
	gen := g.generation
	s.appendRecords([]kv{{groupMetadataKey(g.id), groupMetadataValue(g, assignment)}},
		func(err error) {
			// Another member may have joined while the write was in
			// flight: only the same generation, still waiting, takes it.
			if !g.is(stateCompletingRebalance) || g.generation != gen || s.groups[g.id] != g {
				return
			}
			if err != nil {
				code := appendErrorCode(err)
				s.log.Warn("storing the group's assignment failed", "group", g.id, "generation", gen, "code", code, "err", err)
				s.resetAndPropagateAssignmentWithError(g, code)
				s.maybePrepareRebalanceOrCompleteJoin(g, fmt.Sprintf("error %d when storing group assignment during SyncGroup (member: %s)", code, r.memberID))
				return
			}
			for _, m := range g.members {
				m.assignment = assignment[m.id]
			}
			s.propagateAssignment(g, 0)
			g.transitionTo(stateStable, s.nowMs())
			s.log.Info("group is stable", "group", g.id, "generation", gen)
		},
		// The SyncGroups are parked on the members: unloading answers
		// them.
		nil)
}

// Heartbeat serves a Heartbeat request: it keeps the member's session
// alive and tells it whether a rebalance is under way. done is called
// exactly once.
func (c *Coordinator) Heartbeat(req *kmsg.HeartbeatRequest, done func(*kmsg.HeartbeatResponse)) {
	fail := func(code int16) {
		r := kmsg.NewHeartbeatResponse()
		r.ErrorCode = code
		done(&r)
	}
	s, code := c.namedGroupShard(req.Group)
	if code == codeLoadInProgress {
		// Kafka's GroupCoordinatorService answers a heartbeat for a group
		// still loading with NONE ("blindly respond"): the member keeps
		// its session, and clients do not treat the load as a fatal
		// heartbeat error (the Java consumer has no case for it).
		fail(0)
		return
	}
	if code != 0 {
		fail(code)
		return
	}
	group, memberID, instanceID, gen := req.Group, req.MemberID, cloneStringPtr(req.InstanceID), req.Generation
	s.post(event{
		run:   func() { fail(s.heartbeat(group, memberID, instanceID, gen)) },
		abort: func() { fail(codeNotCoordinator) },
	})
}

// heartbeat is Kafka's classicGroupHeartbeatToClassicGroup; it returns
// the answer's error code.
func (s *shard) heartbeat(groupID, memberID string, instanceID *string, generation int32) int16 {
	g := s.groups[groupID]
	switch {
	case g == nil:
		return codeUnknownMemberID
	case g.is(stateDead):
		return codeCoordinatorNotAvail
	}
	if code := g.validateMember(memberID, instanceID); code != 0 {
		return code
	}
	if generation != g.generation {
		return codeIllegalGeneration
	}
	m := g.members[memberID]
	switch g.state {
	case statePreparingRebalance:
		s.rescheduleHeartbeat(g, m, m.sessionTimeout)
		return codeRebalanceInProgress
	case stateCompletingRebalance, stateStable:
		s.rescheduleHeartbeat(g, m, m.sessionTimeout)
		return 0
	}
	return codeUnknownMemberID
}

// LeaveGroup serves a LeaveGroup request: v0-v2 name one member, v3+ a
// batch, possibly by group.instance.id alone (an administrator removing
// static members). done is called exactly once.
func (c *Coordinator) LeaveGroup(req *kmsg.LeaveGroupRequest, done func(*kmsg.LeaveGroupResponse)) {
	members := req.Members
	if req.Version < 3 {
		m := kmsg.NewLeaveGroupRequestMember()
		m.MemberID = req.MemberID
		members = []kmsg.LeaveGroupRequestMember{m}
	}
	fail := func(code int16) {
		r := kmsg.NewLeaveGroupResponse()
		r.ErrorCode = code
		done(&r)
	}
	s, code := c.namedGroupShard(req.Group)
	if code != 0 {
		fail(code)
		return
	}
	leaving := make([]leavingMember, len(members))
	for i, m := range members {
		leaving[i] = leavingMember{id: strings.Clone(m.MemberID), instanceID: cloneStringPtr(m.InstanceID), reason: "not provided"}
		if m.Reason != nil {
			leaving[i].reason = *m.Reason
		}
	}
	group, version := req.Group, req.Version
	s.post(event{
		run:   func() { done(legacyLeave(version, s.leave(group, leaving))) },
		abort: func() { fail(codeNotCoordinator) },
	})
}

type leavingMember struct {
	id         string
	instanceID *string
	reason     string
}

// legacyLeave folds the per-member answers into the top-level error code
// for v0-v2, which have no member list (Kafka's LeaveGroupResponse
// constructor: the top-level error, else the first member error).
func legacyLeave(version int16, r *kmsg.LeaveGroupResponse) *kmsg.LeaveGroupResponse {
	if version >= 3 {
		return r
	}
	if r.ErrorCode == 0 {
		for _, m := range r.Members {
			if m.ErrorCode != 0 {
				r.ErrorCode = m.ErrorCode
				break
			}
		}
	}
	r.Members = nil
	return r
}

// leave is Kafka's classicGroupLeaveToClassicGroup.
func (s *shard) leave(groupID string, leaving []leavingMember) *kmsg.LeaveGroupResponse {
	resp := kmsg.NewLeaveGroupResponse()
	g := s.groups[groupID]
	switch {
	case g == nil:
		// Kafka's GroupCoordinatorService turns the group not being found
		// into UNKNOWN_MEMBER_ID for each member, with no top-level
		// error (v0-v2 fold it into the top-level code).
		for _, l := range leaving {
			mr := kmsg.NewLeaveGroupResponseMember()
			mr.MemberID = l.id
			mr.InstanceID = l.instanceID
			mr.ErrorCode = codeUnknownMemberID
			resp.Members = append(resp.Members, mr)
		}
		return &resp
	case g.is(stateDead):
		resp.ErrorCode = codeCoordinatorNotAvail
		return &resp
	}
	var left []string
	for _, l := range leaving {
		mr := kmsg.NewLeaveGroupResponseMember()
		mr.MemberID = l.id
		mr.InstanceID = l.instanceID
		switch {
		case l.id == "":
			if l.instanceID != nil && g.staticMemberID(*l.instanceID) != "" {
				id := g.staticMemberID(*l.instanceID)
				s.removeLeavingMember(g, id, l.reason)
				left = append(left, id)
			} else {
				mr.ErrorCode = codeUnknownMemberID
			}
		case g.isPending(l.id):
			g.remove(l.id)
			s.cancel(heartbeatKey(g.id, l.id))
			s.log.Info("pending member left the group", "group", g.id, "member", l.id, "reason", l.reason)
			left = append(left, l.id)
		default:
			if code := g.validateMember(l.id, l.instanceID); code != 0 {
				mr.ErrorCode = code
			} else {
				s.removeLeavingMember(g, l.id, l.reason)
				left = append(left, l.id)
			}
		}
		resp.Members = append(resp.Members, mr)
	}
	if len(left) > 0 {
		switch g.state {
		case stateStable, stateCompletingRebalance:
			s.maybePrepareRebalanceOrCompleteJoin(g, fmt.Sprintf("explicit LeaveGroup request for members %v", left))
		case statePreparingRebalance:
			s.maybeCompleteJoinPhase(g)
		}
	}
	return &resp
}

// removeLeavingMember removes a member that asked to leave; a JoinGroup it
// still has parked is answered UNKNOWN_MEMBER_ID.
func (s *shard) removeLeavingMember(g *classicGroup, id, reason string) {
	m := g.members[id]
	s.cancel(heartbeatKey(g.id, id))
	s.log.Info("member left the group", "group", g.id, "member", id, "reason", reason)
	g.completeJoin(m, joinError("", codeUnknownMemberID))
	g.completeSync(m, syncError(codeUnknownMemberID))
	g.remove(id)
}
