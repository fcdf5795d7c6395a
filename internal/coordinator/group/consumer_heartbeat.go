package group

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

// The error codes of the consumer group protocol, named once.
var (
	codeInvalidRequest       = kerr.InvalidRequest.Code
	codeFencedMemberEpoch    = kerr.FencedMemberEpoch.Code
	codeUnreleasedInstanceID = kerr.UnreleasedInstanceID.Code
	codeUnsupportedAssignor  = kerr.UnsupportedAssignor.Code
	codeStaleMemberEpoch     = kerr.StaleMemberEpoch.Code
	codeInvalidRegex         = kerr.InvalidRegularExpression.Code
	codeUnsupportedVersion   = kerr.UnsupportedVersion.Code
)

// cgHeartbeat is a ConsumerGroupHeartbeat's content, copied out of the
// request. Nil slices and pointers are "unchanged since the last
// heartbeat", as the protocol defines.
type cgHeartbeat struct {
	version          int16
	group            string
	memberID         string
	memberEpoch      int32
	instanceID       *string
	rackID           *string
	rebalanceTimeout int32 // -1: unchanged
	topicNames       []string
	topicNamesSet    bool
	topicRegex       *string
	serverAssignor   *string
	owned            partSet // nil: unchanged (not sent)
	client           ClientInfo
	done             func(*kmsg.ConsumerGroupHeartbeatResponse)
}

func cgError(memberID string, epoch int32, code int16, msg string) *kmsg.ConsumerGroupHeartbeatResponse {
	r := kmsg.NewConsumerGroupHeartbeatResponse()
	r.ErrorCode = code
	if msg != "" {
		r.ErrorMessage = &msg
	}
	if memberID != "" {
		id := memberID
		r.MemberID = &id
	}
	r.MemberEpoch = epoch
	return &r
}

// ConsumerGroupHeartbeat serves a ConsumerGroupHeartbeat request (KIP-848,
// v0-v1): a member of a consumer group joins (epoch 0), heartbeats and
// acknowledges its assignment (its epoch), or leaves (-1, or -2 for a
// static member that will come back). The answer carries the member's
// epoch and, when it changed or the request was full, its assignment.
// done is called exactly once, possibly later from the shard's goroutine
// (once the records the heartbeat produced are durable).
func (c *Coordinator) ConsumerGroupHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest, client ClientInfo, done func(*kmsg.ConsumerGroupHeartbeatResponse)) {
	if !c.set.consumerProtocol {
		done(cgError("", 0, codeUnsupportedVersion, "The consumer group protocol is disabled by group.coordinator.rebalance.protocols."))
		return
	}
	if code, msg := c.validateHeartbeat(req); code != 0 {
		done(cgError(req.MemberID, 0, code, msg))
		return
	}
	s, code := c.shardFor(req.Group)
	if code != 0 {
		done(cgError(req.MemberID, 0, code, ""))
		return
	}
	h := &cgHeartbeat{
		version:          req.Version,
		group:            strings.Clone(req.Group),
		memberID:         strings.Clone(req.MemberID),
		memberEpoch:      req.MemberEpoch,
		instanceID:       cloneStringPtr(req.InstanceID),
		rackID:           cloneStringPtr(req.RackID),
		rebalanceTimeout: req.RebalanceTimeoutMillis,
		topicRegex:       cloneStringPtr(req.SubscribedTopicRegex),
		serverAssignor:   cloneStringPtr(req.ServerAssignor),
		client:           client,
		done:             done,
	}
	if req.SubscribedTopicNames != nil {
		h.topicNamesSet = true
		h.topicNames = make([]string, len(req.SubscribedTopicNames))
		for i, t := range req.SubscribedTopicNames {
			h.topicNames[i] = strings.Clone(t)
		}
		slices.Sort(h.topicNames)
		h.topicNames = slices.Compact(h.topicNames)
	}
	if req.Topics != nil {
		h.owned = partSet{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				h.owned.add(metadata.UUID(t.TopicID), p)
			}
		}
	}
	memberID, epoch := req.MemberID, req.MemberEpoch
	s.post(event{
		run:   func() { s.consumerHeartbeat(h) },
		abort: func() { done(cgError(memberID, epoch, codeNotCoordinator, "")) },
	})
}

func blank(s *string) bool { return s != nil && strings.TrimSpace(*s) == "" }

// validateHeartbeat is Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid.
func (c *Coordinator) validateHeartbeat(req *kmsg.ConsumerGroupHeartbeatRequest) (int16, string) {
	switch {
	case strings.TrimSpace(req.Group) == "":
		return codeInvalidRequest, "GroupId can't be empty."
	case blank(req.InstanceID):
		return codeInvalidRequest, "InstanceId can't be empty."
	case blank(req.RackID):
		return codeInvalidRequest, "RackId can't be empty."
	case req.Version >= 1 && strings.TrimSpace(req.MemberID) == "":
		return codeInvalidRequest, "MemberId can't be empty."
	}
	switch e := req.MemberEpoch; {
	case e > 0 || e == leaveGroupMemberEpoch:
		if strings.TrimSpace(req.MemberID) == "" {
			return codeInvalidRequest, "MemberId can't be empty."
		}
	case e == 0:
		if req.RebalanceTimeoutMillis == -1 {
			return codeInvalidRequest, "RebalanceTimeoutMs must be provided in first request."
		}
		if req.Topics == nil || len(req.Topics) != 0 {
			return codeInvalidRequest, "TopicPartitions must be empty when (re-)joining."
		}
		hasNames := len(req.SubscribedTopicNames) > 0
		hasRegex := req.SubscribedTopicRegex != nil && *req.SubscribedTopicRegex != ""
		if !hasNames && !hasRegex {
			return codeInvalidRequest, "SubscribedTopicNames or SubscribedTopicRegex must be set in first request."
		}
	case e == leaveGroupStaticMemberEpoch:
		if strings.TrimSpace(req.MemberID) == "" {
			return codeInvalidRequest, "MemberId can't be empty."
		}
		if req.InstanceID == nil {
			return codeInvalidRequest, "InstanceId can't be null."
		}
	default:
		return codeInvalidRequest, "MemberEpoch is invalid."
	}
	if req.SubscribedTopicRegex != nil && *req.SubscribedTopicRegex != "" {
		if _, err := compileRegex(*req.SubscribedTopicRegex); err != nil {
			return codeInvalidRegex, "SubscribedTopicRegex is not a valid regular expression: " + err.Error() + "."
		}
	}
	if req.ServerAssignor != nil && !slices.Contains(c.set.consumerAssignors, *req.ServerAssignor) {
		return codeUnsupportedAssignor, fmt.Sprintf("ServerAssignor %s is not supported. Supported assignors: %s.",
			*req.ServerAssignor, strings.Join(c.set.consumerAssignors, ", "))
	}
	return 0, ""
}

// image returns the metadata image the shards assign from.
func (c *Coordinator) image() *metadata.Image {
	if c.cfg.Metadata == nil {
		return metadata.EmptyImage()
	}
	if img := c.cfg.Metadata(); img != nil {
		return img
	}
	return metadata.EmptyImage()
}

// hbError is an error answer with its message, raised on the shard
// goroutine.
type hbError struct {
	code int16
	msg  string
}

// consumerHeartbeat is Kafka's GroupMetadataManager.consumerGroupHeartbeat,
// on the shard goroutine.
func (s *shard) consumerHeartbeat(h *cgHeartbeat) {
	fail := func(e hbError) { h.done(cgError(h.memberID, h.memberEpoch, e.code, e.msg)) }
	if h.memberEpoch == leaveGroupMemberEpoch || h.memberEpoch == leaveGroupStaticMemberEpoch {
		s.consumerLeave(h)
		return
	}
	now := s.nowMs()
	img := s.c.image()
	var extra []kv
	g := s.consumer[h.group]
	isNewGroup := false
	if g == nil {
		if h.memberEpoch != 0 {
			if s.groups[h.group] != nil && !s.groups[h.group].is(stateDead) {
				fail(hbError{codeGroupIDNotFound, fmt.Sprintf("Group %s is not a consumer group", h.group)})
				return
			}
			fail(hbError{codeGroupIDNotFound, fmt.Sprintf("Consumer group %s not found.", h.group)})
			return
		}
		if cg := s.groups[h.group]; cg != nil && !cg.is(stateDead) {
			if !cg.isEmptyGroup() {
				// An online upgrade (group.consumer.migration.policy) is
				// not supported: a classic group with members stays
				// classic.
				fail(hbError{codeGroupIDNotFound, fmt.Sprintf("Group %s is not a consumer group", h.group)})
				return
			}
			s.log.Info("converting the empty classic group to a consumer group", "group", h.group)
			extra = append(extra, kv{key: groupMetadataKey(h.group)})
		}
		g = newConsumerGroup(h.group)
		isNewGroup = true
	}
	if len(g.members) >= s.c.set.consumerMaxSize && (h.memberID == "" || g.members[h.memberID] == nil) {
		fail(hbError{codeGroupMaxSizeReached, fmt.Sprintf("The consumer group has reached its maximum capacity of %d members.", s.c.set.consumerMaxSize)})
		return
	}
	if h.memberID == "" {
		h.memberID = newUUIDString()
	}

	var recs []consumerRecord
	member, replaced, e := s.getOrSubscribeMember(g, h)
	if e != nil {
		fail(*e)
		return
	}
	if replaced != nil {
		recs = append(recs, replaceStaticMemberRecords(g, replaced, member)...)
	}

	// 1. The member's subscription.
	updated := member.clone()
	if h.instanceID != nil {
		updated.instanceID = h.instanceID
	}
	if h.rackID != nil {
		updated.rackID = h.rackID
	}
	if h.rebalanceTimeout != -1 {
		updated.rebalanceTimeout = h.rebalanceTimeout
	}
	if h.serverAssignor != nil {
		updated.serverAssignor = h.serverAssignor
	}
	if h.topicNamesSet {
		updated.topicNames = h.topicNames
	}
	if h.topicRegex != nil {
		if *h.topicRegex == "" {
			updated.topicRegex = nil
		} else {
			updated.topicRegex = h.topicRegex
		}
	}
	updated.clientID = h.client.ID
	updated.clientHost = h.client.Host
	bump := false
	if replaced != nil || g.members[member.id] == nil || !sameMemberMeta(&member.cgMember, &updated.cgMember) {
		recs = append(recs, consumerRecord{kind: cgMemberMetadataKeyVersion, group: g.id, member: updated.id, memberMeta: updated.cgMember})
		// A new member's previous subscription is empty; a static member
		// taking over its instance's membership keeps the subscription,
		// so that a restart does not rebalance the group (KIP-345).
		if !sameSubscription(&member.cgMember, &updated.cgMember) {
			bump = true
		}
	}

	// The subscribed topics as they will be with the updated member: its
	// regular expressions resolved against the current metadata.
	members := make(map[string]*consumerMember, len(g.members)+1)
	for id, m := range g.members {
		members[id] = m
	}
	if replaced != nil {
		delete(members, replaced.id)
	}
	members[updated.id] = updated
	regexRecs, regexChanged := s.refreshRegexes(g, members, img, now)
	recs = append(recs, regexRecs...)
	bump = bump || regexChanged
	topics := map[string]bool{}
	for _, m := range members {
		for t := range g.memberTopicsWith(m, regexRecs) {
			topics[t] = true
		}
	}
	hash := topicsHash(topics, img)
	groupEpoch := g.groupEpoch
	if bump || hash != g.metadataHash {
		groupEpoch++
		recs = append(recs, consumerRecord{kind: cgMetadataKeyVersion, group: g.id, meta: cgMetadata{epoch: groupEpoch, metadataHash: hash}})
		s.log.Info("bumped the consumer group epoch", "group", g.id, "epoch", groupEpoch, "member", updated.id)
	}

	// Apply what we have so far, so that the assignment and the
	// reconciliation below see the group as it now is.
	pending := recs
	recs = nil
	snapshot := s.beginConsumerWrite(g, isNewGroup)
	s.applyConsumer(pending)
	g = s.consumer[h.group]
	member = g.members[updated.id]

	// 2. A new target assignment if the group epoch moved past it.
	if groupEpoch > g.assignmentEpoch {
		trecs, err := s.computeTargetAssignment(g, member, groupEpoch, img)
		if err != nil {
			s.rollbackConsumer(h.group, snapshot)
			fail(*err)
			return
		}
		s.applyConsumer(trecs)
		pending = append(pending, trecs...)
	}

	// 3. Reconcile the member towards its target.
	prevAssigned := member.assigned.clone()
	if !member.isReconciledTo(g.assignmentEpoch) {
		next, err := reconcile(member, g.assignmentEpoch, g.target[member.id], g.currentPartitionEpoch, h.owned)
		if err != nil {
			s.rollbackConsumer(h.group, snapshot)
			fail(*err)
			return
		}
		if !sameCurrent(&member.cgCurrent, &next) {
			rec := consumerRecord{kind: cgCurrentAssignmentKeyVersion, group: g.id, member: member.id, current: next}
			s.applyConsumer([]consumerRecord{rec})
			pending = append(pending, rec)
			member = g.members[member.id]
			s.log.Info("consumer group member reconciled", "group", g.id, "member", member.id,
				"epoch", member.memberEpoch, "state", member.state, "assigned", member.assigned.count(), "revoking", member.pending.count())
			if member.state == memberUnrevokedPartitions {
				s.scheduleRebalanceTimeout(g.id, member.id, member.memberEpoch, member.rebalanceTimeout)
			} else {
				s.cancel(rebalanceTimeoutKey(g.id, member.id))
			}
		}
	}
	s.scheduleConsumerSession(g.id, member.id)

	resp := kmsg.NewConsumerGroupHeartbeatResponse()
	id := member.id
	resp.MemberID = &id
	resp.MemberEpoch = member.memberEpoch
	resp.HeartbeatIntervalMillis = int32(s.c.set.consumerHeartbeat.Milliseconds())
	full := h.memberEpoch == 0 || (h.rebalanceTimeout != -1 && h.topicNamesSet && h.owned != nil)
	if full || !prevAssigned.equal(member.assigned) {
		resp.Assignment = responseAssignment(member.assigned)
	}
	s.finishConsumerWrite(h.group, snapshot, pending, extra, func(code int16) {
		if code != 0 {
			h.done(cgError(h.memberID, h.memberEpoch, code, ""))
			return
		}
		h.done(&resp)
	})
}

// memberTopicsWith is memberTopics with regex resolutions about to be
// written taking precedence over the group's.
func (g *consumerGroup) memberTopicsWith(m *consumerMember, regexRecs []consumerRecord) map[string]bool {
	out := make(map[string]bool, len(m.topicNames))
	for _, t := range m.topicNames {
		out[t] = true
	}
	if m.topicRegex == nil || *m.topicRegex == "" {
		return out
	}
	resolved, ok := g.regexes[*m.topicRegex]
	for _, r := range regexRecs {
		if r.regex == *m.topicRegex && !r.tombstone {
			resolved, ok = r.resolved, true
		}
	}
	if ok {
		for _, t := range resolved.topics {
			out[t] = true
		}
	}
	return out
}

// refreshRegexes resolves the regular expressions the members use whose
// resolution is missing or older than img, and drops those no member
// uses any more. It returns the records and whether a resolution
// changed the subscribed topics.
func (s *shard) refreshRegexes(g *consumerGroup, members map[string]*consumerMember, img *metadata.Image, now int64) ([]consumerRecord, bool) {
	used := map[string]bool{}
	for _, m := range members {
		if m.topicRegex != nil && *m.topicRegex != "" {
			used[*m.topicRegex] = true
		}
	}
	var recs []consumerRecord
	changed := false
	res := make([]string, 0, len(used))
	for re := range used {
		res = append(res, re)
	}
	slices.Sort(res)
	for _, re := range res {
		old, ok := g.regexes[re]
		if ok && old.version == img.Offset() {
			continue
		}
		topics := resolveRegex(re, img)
		if ok && slices.Equal(old.topics, topics) && old.version == img.Offset() {
			continue
		}
		if !ok || !slices.Equal(old.topics, topics) {
			changed = true
		}
		recs = append(recs, consumerRecord{kind: cgRegexKeyVersion, group: g.id, regex: re,
			resolved: cgRegex{topics: topics, version: img.Offset(), timestamp: now}})
	}
	olds := make([]string, 0, len(g.regexes))
	for re := range g.regexes {
		if !used[re] {
			olds = append(olds, re)
		}
	}
	slices.Sort(olds)
	for _, re := range olds {
		recs = append(recs, consumerRecord{kind: cgRegexKeyVersion, group: g.id, regex: re, tombstone: true})
	}
	return recs, changed
}

func responseAssignment(p partSet) *kmsg.ConsumerGroupHeartbeatResponseAssignment {
	a := kmsg.NewConsumerGroupHeartbeatResponseAssignment()
	a.Topics = []kmsg.ConsumerGroupHeartbeatResponseAssignmentTopic{}
	for _, t := range p.topics() {
		rt := kmsg.NewConsumerGroupHeartbeatResponseAssignmentTopic()
		rt.TopicID = t
		rt.Partitions = p.partitions(t)
		a.Topics = append(a.Topics, rt)
	}
	return &a
}

// getOrSubscribeMember is Kafka's getOrMaybeSubscribe{Dynamic,Static}
// ConsumerGroupMember: the member the heartbeat is for, a new one on
// epoch 0, with its epoch validated. A static member rejoining under a
// new member id replaces its previous incarnation, which is returned as
// replaced.
func (s *shard) getOrSubscribeMember(g *consumerGroup, h *cgHeartbeat) (m, replaced *consumerMember, e *hbError) {
	create := h.memberEpoch == 0
	if h.instanceID == nil {
		m = g.members[h.memberID]
		if m == nil {
			if !create {
				return nil, nil, &hbError{codeUnknownMemberID, fmt.Sprintf("Member %s is not a member of group %s.", h.memberID, g.id)}
			}
			s.log.Info("member joins the consumer group", "group", g.id, "member", h.memberID)
			return newConsumerMember(h.memberID), nil, nil
		}
		if err := validateMemberEpoch(m, h.memberEpoch, h.owned); err != nil {
			return nil, nil, err
		}
		return m, nil, nil
	}
	existing := g.members[g.static[*h.instanceID]]
	if create {
		if existing == nil {
			if m = g.members[h.memberID]; m != nil {
				return m, nil, nil
			}
			s.log.Info("static member joins the consumer group", "group", g.id, "member", h.memberID, "instance_id", *h.instanceID)
			return newConsumerMember(h.memberID), nil, nil
		}
		if existing.id == h.memberID && existing.memberEpoch != leaveGroupStaticMemberEpoch {
			// The same member rejoining (after a fencing error): it
			// restarts from epoch 0 with its current state.
			return existing, nil, nil
		}
		if existing.memberEpoch != leaveGroupStaticMemberEpoch {
			return nil, nil, &hbError{codeUnreleasedInstanceID, fmt.Sprintf("Static member %s with instance id %s cannot join the group because the instance id is owned by %s member.",
				h.memberID, *h.instanceID, existing.id)}
		}
		nm := existing.clone()
		nm.id = h.memberID
		nm.memberEpoch, nm.previousEpoch = 0, 0
		s.log.Info("static member rejoins the consumer group under a new member id", "group", g.id,
			"instance_id", *h.instanceID, "member", h.memberID, "previous_member", existing.id)
		return nm, existing, nil
	}
	if existing == nil {
		return nil, nil, &hbError{codeUnknownMemberID, fmt.Sprintf("Instance id %s is unknown.", *h.instanceID)}
	}
	if existing.id != h.memberID {
		return nil, nil, &hbError{codeFencedInstanceID, fmt.Sprintf("Static member %s with instance id %s was fenced by member %s.", h.memberID, *h.instanceID, existing.id)}
	}
	if err := validateMemberEpoch(existing, h.memberEpoch, h.owned); err != nil {
		return nil, nil, err
	}
	return existing, nil, nil
}

func newConsumerMember(id string) *consumerMember {
	return &consumerMember{id: id, cgMember: cgMember{rebalanceTimeout: -1},
		cgCurrent: cgCurrent{assigned: partSet{}, pending: partSet{}}}
}

// validateMemberEpoch is Kafka's throwIfConsumerGroupMemberEpochIsInvalid:
// an epoch ahead of the coordinator's, or behind it other than the
// previous epoch with owned partitions the member still has, fences the
// member (it must drop its partitions and rejoin).
func validateMemberEpoch(m *consumerMember, epoch int32, owned partSet) *hbError {
	switch {
	case epoch > m.memberEpoch:
		return &hbError{codeFencedMemberEpoch, fmt.Sprintf("The consumer group member has a greater member epoch (%d) than the one known by the group coordinator (%d). The member must abandon all its partitions and rejoin.", epoch, m.memberEpoch)}
	case epoch < m.memberEpoch:
		if epoch != m.previousEpoch || !isSubset(owned, m.assigned) {
			return &hbError{codeFencedMemberEpoch, fmt.Sprintf("The consumer group member has a smaller member epoch (%d) than the one known by the group coordinator (%d). The member must abandon all its partitions and rejoin.", epoch, m.memberEpoch)}
		}
	}
	return nil
}

// isSubset reports whether owned (nil: not sent) lists only partitions of
// target.
func isSubset(owned, target partSet) bool {
	if owned == nil {
		return false
	}
	for t, ps := range owned {
		for p := range ps {
			if !target.has(t, p) {
				return false
			}
		}
	}
	return true
}

// replaceStaticMemberRecords are the records of a static member
// rejoining under a new member id (Kafka's replaceMember): the old id's
// records are deleted and the new id takes its target and current
// assignment.
func replaceStaticMemberRecords(g *consumerGroup, old, nm *consumerMember) []consumerRecord {
	recs := removeMemberRecords(g.id, old.id)
	recs = append(recs,
		consumerRecord{kind: cgMemberMetadataKeyVersion, group: g.id, member: nm.id, memberMeta: nm.cgMember},
		consumerRecord{kind: cgTargetMemberKeyVersion, group: g.id, member: nm.id, target: g.target[old.id].clone()},
		consumerRecord{kind: cgCurrentAssignmentKeyVersion, group: g.id, member: nm.id, current: nm.cgCurrent},
	)
	return recs
}

// removeMemberRecords are the tombstones that remove a member (Kafka's
// removeMember): its current assignment, its target, its subscription.
func removeMemberRecords(group, member string) []consumerRecord {
	return []consumerRecord{
		{kind: cgCurrentAssignmentKeyVersion, group: group, member: member, tombstone: true},
		{kind: cgTargetMemberKeyVersion, group: group, member: member, tombstone: true},
		{kind: cgMemberMetadataKeyVersion, group: group, member: member, tombstone: true},
	}
}

// computeTargetAssignment is Kafka's updateTargetAssignment with its
// TargetAssignmentBuilder: the assignor the members prefer (the most
// requested ServerAssignor, else the first of group.consumer.assignors)
// assigns the subscribed topics that exist; the records hold each member
// whose target changed, then the new assignment epoch.
func (s *shard) computeTargetAssignment(g *consumerGroup, updated *consumerMember, epoch int32, img *metadata.Image) ([]consumerRecord, *hbError) {
	name := s.preferredAssignor(g)
	assign := assignorByName(name)
	if assign == nil {
		return nil, &hbError{codeUnknownServerError, fmt.Sprintf("assignor %s is not available", name)}
	}
	ms := g.sortedMembers()
	members := make([]assignmentMember, 0, len(ms))
	subscribed := map[string]bool{}
	for _, m := range ms {
		ts := g.memberTopics(m)
		members = append(members, assignmentMember{id: m.id, topics: ts})
		for t := range ts {
			subscribed[t] = true
		}
	}
	var topics []assignmentTopic
	for _, t := range img.Topics() {
		if subscribed[t.Name] {
			topics = append(topics, assignmentTopic{name: t.Name, id: t.ID, partitions: int32(len(t.Partitions))})
		}
	}
	start := time.Now()
	result := assign(members, topics, g.target)
	var recs []consumerRecord
	for _, m := range ms {
		next := result[m.id]
		if next == nil {
			next = partSet{}
		}
		if old, ok := g.target[m.id]; !ok || !old.equal(next) {
			recs = append(recs, consumerRecord{kind: cgTargetMemberKeyVersion, group: g.id, member: m.id, target: next})
		}
	}
	recs = append(recs, consumerRecord{kind: cgTargetMetadataKeyVersion, group: g.id, assignEp: epoch})
	s.log.Info("computed a new target assignment", "group", g.id, "epoch", epoch, "assignor", name,
		"members", len(ms), "topics", len(topics), "took", time.Since(start))
	return recs, nil
}

// preferredAssignor is Kafka's computePreferredServerAssignor: the
// ServerAssignor most members name (ties to the name first in
// group.consumer.assignors), else the default.
func (s *shard) preferredAssignor(g *consumerGroup) string {
	counts := map[string]int{}
	for _, m := range g.members {
		if m.serverAssignor != nil {
			counts[*m.serverAssignor]++
		}
	}
	best, bestN := "", 0
	for _, a := range s.c.set.consumerAssignors {
		if counts[a] > bestN {
			best, bestN = a, counts[a]
		}
	}
	if best == "" {
		return s.c.set.consumerAssignors[0]
	}
	return best
}

// reconcile is Kafka's CurrentAssignmentBuilder.build: the member's next
// current assignment on its way to target at epoch targetEpoch. A
// partition is given to it only once no other member owns it
// (currentEpoch -1); partitions it must give up are first revoked (it
// keeps its epoch until its heartbeat no longer lists them).
func reconcile(m *consumerMember, targetEpoch int32, target partSet, currentEpoch func(metadata.UUID, int32) int32, owned partSet) (cgCurrent, *hbError) {
	switch m.state {
	case memberStable:
		if m.memberEpoch != targetEpoch {
			return nextAssignment(m, m.memberEpoch, targetEpoch, target, currentEpoch, owned), nil
		}
		return m.cgCurrent, nil
	case memberUnrevokedPartitions:
		if ownsAny(owned, m.pending) {
			return m.cgCurrent, nil
		}
		return nextAssignment(m, m.memberEpoch+1, targetEpoch, target, currentEpoch, owned), nil
	case memberUnreleasedPartitions:
		return nextAssignment(m, m.memberEpoch, targetEpoch, target, currentEpoch, owned), nil
	}
	if owned == nil || owned.count() > 0 {
		return cgCurrent{}, &hbError{codeFencedMemberEpoch, "The consumer group member is in a unknown state. The member must abandon all its partitions and rejoin."}
	}
	return nextAssignment(m, targetEpoch, targetEpoch, target, currentEpoch, owned), nil
}

// ownsAny reports whether owned (nil: unknown, so yes) still lists a
// partition of revoking.
func ownsAny(owned, revoking partSet) bool {
	if owned == nil {
		return true
	}
	for t, ps := range owned {
		for p := range ps {
			if revoking.has(t, p) {
				return true
			}
		}
	}
	return false
}

// nextAssignment is Kafka's CurrentAssignmentBuilder.computeNextAssignment.
func nextAssignment(m *consumerMember, memberEpoch, targetEpoch int32, target partSet, currentEpoch func(metadata.UUID, int32) int32, owned partSet) cgCurrent {
	assigned, revoking, adding := partSet{}, partSet{}, partSet{}
	unreleased := false
	topics := map[metadata.UUID]bool{}
	for t := range target {
		topics[t] = true
	}
	for t := range m.assigned {
		topics[t] = true
	}
	for t := range topics {
		for p := range m.assigned[t] {
			if target.has(t, p) {
				assigned.add(t, p)
			} else {
				revoking.add(t, p)
			}
		}
		for p := range target[t] {
			if assigned.has(t, p) {
				continue
			}
			if currentEpoch(t, p) != -1 {
				unreleased = true
				continue
			}
			adding.add(t, p)
		}
	}
	next := cgCurrent{previousEpoch: m.memberEpoch, pending: partSet{}}
	switch {
	case revoking.count() > 0 && ownsAny(owned, revoking):
		next.state = memberUnrevokedPartitions
		next.memberEpoch = memberEpoch
		next.assigned = assigned
		next.pending = revoking
	case adding.count() > 0:
		for t, ps := range adding {
			for p := range ps {
				assigned.add(t, p)
			}
		}
		next.state = memberStable
		if unreleased {
			next.state = memberUnreleasedPartitions
		}
		next.memberEpoch = targetEpoch
		next.assigned = assigned
	case unreleased:
		next.state = memberUnreleasedPartitions
		next.memberEpoch = targetEpoch
		next.assigned = assigned
	default:
		next.state = memberStable
		next.memberEpoch = targetEpoch
		next.assigned = assigned
	}
	if next.memberEpoch == m.memberEpoch {
		// Kafka's updateMemberEpoch keeps the previous epoch when the
		// epoch does not move.
		next.previousEpoch = m.previousEpoch
	}
	return next
}

// consumerLeave is Kafka's consumerGroupLeave: epoch -1 removes the
// member; -2 marks a static member as gone for now (it keeps its
// partitions until its session expires or it rejoins).
func (s *shard) consumerLeave(h *cgHeartbeat) {
	fail := func(code int16, msg string) { h.done(cgError(h.memberID, h.memberEpoch, code, msg)) }
	g := s.consumer[h.group]
	if g == nil {
		fail(codeGroupIDNotFound, fmt.Sprintf("Consumer group %s not found.", h.group))
		return
	}
	var m *consumerMember
	if h.instanceID == nil {
		m = g.members[h.memberID]
		if m == nil {
			fail(codeUnknownMemberID, fmt.Sprintf("Member %s is not a member of group %s.", h.memberID, g.id))
			return
		}
	} else {
		m = g.members[g.static[*h.instanceID]]
		if m == nil {
			fail(codeUnknownMemberID, fmt.Sprintf("Instance id %s is unknown.", *h.instanceID))
			return
		}
		if m.id != h.memberID {
			fail(codeFencedInstanceID, fmt.Sprintf("Static member %s with instance id %s was fenced by member %s.", h.memberID, *h.instanceID, m.id))
			return
		}
	}
	resp := kmsg.NewConsumerGroupHeartbeatResponse()
	id := m.id
	resp.MemberID = &id
	resp.MemberEpoch = h.memberEpoch
	respond := func(code int16) {
		if code != 0 {
			fail(code, "")
			return
		}
		h.done(&resp)
	}
	if h.instanceID != nil && h.memberEpoch == leaveGroupStaticMemberEpoch {
		s.log.Info("static member temporarily left the consumer group", "group", g.id, "member", m.id, "instance_id", *h.instanceID)
		cur := m.cgCurrent
		cur.memberEpoch = leaveGroupStaticMemberEpoch
		cur.pending = partSet{}
		rec := consumerRecord{kind: cgCurrentAssignmentKeyVersion, group: g.id, member: m.id, current: cur}
		snapshot := s.beginConsumerWrite(g, false)
		s.applyConsumer([]consumerRecord{rec})
		s.cancel(rebalanceTimeoutKey(g.id, m.id))
		s.finishConsumerWrite(g.id, snapshot, []consumerRecord{rec}, nil, respond)
		return
	}
	s.log.Info("member left the consumer group", "group", g.id, "member", m.id)
	s.fenceMember(g, m, respond)
}

// fenceMember is Kafka's consumerGroupFenceMember: the member is removed
// and the group epoch bumped, so that the next heartbeat of another
// member computes a target assignment without it.
func (s *shard) fenceMember(g *consumerGroup, m *consumerMember, respond func(code int16)) {
	recs := removeMemberRecords(g.id, m.id)
	members := make(map[string]*consumerMember, len(g.members))
	for id, o := range g.members {
		if id != m.id {
			members[id] = o
		}
	}
	img := s.c.image()
	regexRecs, _ := s.refreshRegexes(g, members, img, s.nowMs())
	recs = append(recs, regexRecs...)
	topics := map[string]bool{}
	for _, o := range members {
		for t := range g.memberTopicsWith(o, regexRecs) {
			topics[t] = true
		}
	}
	recs = append(recs, consumerRecord{kind: cgMetadataKeyVersion, group: g.id,
		meta: cgMetadata{epoch: g.groupEpoch + 1, metadataHash: topicsHash(topics, img)}})
	snapshot := s.beginConsumerWrite(g, false)
	s.applyConsumer(recs)
	s.cancel(sessionTimeoutKey(g.id, m.id))
	s.cancel(rebalanceTimeoutKey(g.id, m.id))
	if respond == nil {
		respond = func(int16) {}
	}
	s.finishConsumerWrite(g.id, snapshot, recs, nil, respond)
}

func sessionTimeoutKey(group, member string) string {
	return memberTimerKey("consumer-session", group, member)
}
func rebalanceTimeoutKey(group, member string) string {
	return memberTimerKey("rebalance-timeout", group, member)
}

// scheduleConsumerSession (re)arms the member's session timeout
// (group.consumer.session.timeout.ms): a member that does not heartbeat
// in time is fenced.
func (s *shard) scheduleConsumerSession(group, member string) {
	s.schedule(sessionTimeoutKey(group, member), s.c.set.consumerSession, func() {
		g := s.consumer[group]
		if g == nil || g.members[member] == nil {
			return
		}
		s.log.Info("consumer group member fenced: its session expired", "group", group, "member", member,
			"session_timeout", s.c.set.consumerSession)
		s.fenceMember(g, g.members[member], nil)
	})
}

// scheduleRebalanceTimeout gives a member that must revoke partitions
// its rebalance timeout to do so, after which it is fenced (Kafka's
// scheduleConsumerGroupRebalanceTimeout).
func (s *shard) scheduleRebalanceTimeout(group, member string, epoch, timeoutMs int32) {
	d := millis(timeoutMs)
	s.schedule(rebalanceTimeoutKey(group, member), d, func() {
		g := s.consumer[group]
		if g == nil || g.members[member] == nil || g.members[member].memberEpoch != epoch {
			return
		}
		s.log.Info("consumer group member fenced: it did not revoke its partitions within its rebalance timeout",
			"group", group, "member", member, "epoch", epoch, "rebalance_timeout", d)
		s.fenceMember(g, g.members[member], nil)
	})
}

// --- writes ---

// consumerSnapshot is what rolls a group back if its write fails.
type consumerSnapshot struct {
	group *consumerGroup // nil: the group did not exist
	seq   uint64
}

// beginConsumerWrite snapshots g before records are applied to it. A
// new group (not yet in the shard) snapshots as absent.
func (s *shard) beginConsumerWrite(g *consumerGroup, isNew bool) consumerSnapshot {
	if isNew || s.consumer[g.id] == nil {
		return consumerSnapshot{}
	}
	return consumerSnapshot{group: g.clone(), seq: g.writeSeq}
}

// rollbackConsumer restores a snapshot taken by beginConsumerWrite.
func (s *shard) rollbackConsumer(id string, snap consumerSnapshot) {
	if snap.group == nil {
		delete(s.consumer, id)
		return
	}
	s.consumer[id] = snap.group
}

// finishConsumerWrite appends the records already applied to the group
// (and extra, the tombstone of a converted classic group), then calls
// respond with the append's code. Like Kafka's coordinator runtime,
// requests served meanwhile see the new state; if the append fails and
// no later write built on it, the group is rolled back to the snapshot.
func (s *shard) finishConsumerWrite(id string, snap consumerSnapshot, recs []consumerRecord, extra []kv, respond func(code int16)) {
	if len(recs) == 0 && len(extra) == 0 {
		respond(0)
		return
	}
	g := s.consumer[id]
	var seq uint64
	if g != nil {
		g.writeSeq++
		seq = g.writeSeq
	}
	if len(extra) > 0 {
		if cg := s.groups[id]; cg != nil {
			cg.transitionTo(stateDead, s.nowMs())
			delete(s.groups, id)
			s.cancel(joinKey(id))
			s.cancel(syncKey(id))
		}
	}
	kvs := append([]kv(nil), extra...)
	for i := range recs {
		kvs = append(kvs, recs[i].encode())
	}
	s.appendRecords(kvs, func(err error) {
		if err != nil {
			code := appendErrorCode(err)
			s.log.Warn("writing consumer group records failed", "group", id, "code", code, "err", err)
			if cur := s.consumer[id]; cur == g && (g == nil || g.writeSeq == seq) {
				s.rollbackConsumer(id, snap)
				s.rearmConsumerDeadlines(id)
			}
			respond(code)
			return
		}
		respond(0)
	}, func() { respond(codeNotCoordinator) })
}

// rearmConsumerDeadlines gives every member of group id that lacks one a
// session deadline (and a member still revoking its rebalance deadline).
// A rollback restores members whose deadlines were cancelled when the
// failed write was applied (a fence that could not be written, a member
// that left): without this, such a member, if dead, would never expire
// and would keep its partitions. Kafka's coordinator timer retries a
// failed timeout operation for the same reason.
func (s *shard) rearmConsumerDeadlines(id string) {
	g := s.consumer[id]
	if g == nil {
		return
	}
	for _, m := range g.sortedMembers() {
		if s.timers[sessionTimeoutKey(id, m.id)] == nil {
			s.scheduleConsumerSession(id, m.id)
		}
		if m.state == memberUnrevokedPartitions && s.timers[rebalanceTimeoutKey(id, m.id)] == nil {
			s.scheduleRebalanceTimeout(id, m.id, m.memberEpoch, m.rebalanceTimeout)
		}
	}
}

// applyConsumer applies records to the shard's state: the one path both
// live writes and loading take (Kafka's GroupMetadataManager.replay).
func (s *shard) applyConsumer(recs []consumerRecord) {
	for i := range recs {
		s.replayConsumer(&recs[i])
	}
}

// consumerGroupForReplay returns the consumer group id, creating it if
// create is set. A classic group of that id without members (a simple
// group holding offsets) gives way, as in Kafka's
// getOrMaybeCreatePersistedConsumerGroup.
func (s *shard) consumerGroupForReplay(id string, create bool) *consumerGroup {
	if g := s.consumer[id]; g != nil {
		return g
	}
	if !create {
		return nil
	}
	if cg := s.groups[id]; cg != nil {
		if !cg.isEmptyGroup() {
			s.log.Warn("a consumer group record names a classic group with members; replacing it", "group", id)
		}
		cg.transitionTo(stateDead, s.nowMs())
		delete(s.groups, id)
	}
	g := newConsumerGroup(id)
	s.consumer[id] = g
	return g
}

// replayConsumer applies one consumer-group record.
func (s *shard) replayConsumer(r *consumerRecord) {
	switch r.kind {
	case cgMetadataKeyVersion:
		if r.tombstone {
			if g := s.consumer[r.group]; g != nil {
				g.dead = true
				delete(s.consumer, r.group)
			}
			return
		}
		g := s.consumerGroupForReplay(r.group, true)
		g.groupEpoch = r.meta.epoch
		g.metadataHash = r.meta.metadataHash
	case cgPartitionMetadataKeyVersion:
		// Kafka 4.1 ignores it too: the metadata hash replaced it.
	case cgMemberMetadataKeyVersion:
		g := s.consumerGroupForReplay(r.group, !r.tombstone)
		if g == nil {
			return
		}
		if r.tombstone {
			if m := g.members[r.member]; m != nil {
				g.removePartitionEpochs(m.assigned)
				g.removePartitionEpochs(m.pending)
				if m.instanceID != nil && g.static[*m.instanceID] == m.id {
					delete(g.static, *m.instanceID)
				}
				delete(g.members, r.member)
			}
			return
		}
		m := g.members[r.member]
		if m == nil {
			m = newConsumerMember(r.member)
			g.members[r.member] = m
		}
		if m.instanceID != nil && g.static[*m.instanceID] == m.id {
			delete(g.static, *m.instanceID)
		}
		m.cgMember = r.memberMeta
		m.topicNames = slices.Clone(r.memberMeta.topicNames)
		if m.instanceID != nil {
			g.static[*m.instanceID] = m.id
		}
	case cgTargetMemberKeyVersion:
		g := s.consumerGroupForReplay(r.group, !r.tombstone)
		if g == nil {
			return
		}
		if r.tombstone {
			delete(g.target, r.member)
			return
		}
		g.target[r.member] = r.target.clone()
	case cgTargetMetadataKeyVersion:
		g := s.consumerGroupForReplay(r.group, !r.tombstone)
		if g == nil {
			return
		}
		if r.tombstone {
			g.assignmentEpoch = -1
			return
		}
		g.assignmentEpoch = r.assignEp
	case cgCurrentAssignmentKeyVersion:
		g := s.consumerGroupForReplay(r.group, !r.tombstone)
		if g == nil {
			return
		}
		m := g.members[r.member]
		if r.tombstone {
			if m != nil {
				g.removePartitionEpochs(m.assigned)
				g.removePartitionEpochs(m.pending)
				m.cgCurrent = cgCurrent{memberEpoch: leaveGroupMemberEpoch, previousEpoch: -1, assigned: partSet{}, pending: partSet{}}
			}
			return
		}
		if m == nil {
			m = newConsumerMember(r.member)
			g.members[r.member] = m
		}
		g.removePartitionEpochs(m.assigned)
		g.removePartitionEpochs(m.pending)
		m.cgCurrent = cgCurrent{memberEpoch: r.current.memberEpoch, previousEpoch: r.current.previousEpoch,
			state: r.current.state, assigned: r.current.assigned.clone(), pending: r.current.pending.clone()}
		if m.assigned == nil {
			m.assigned = partSet{}
		}
		if m.pending == nil {
			m.pending = partSet{}
		}
		g.addPartitionEpochs(m.assigned, m.memberEpoch)
		g.addPartitionEpochs(m.pending, m.memberEpoch)
	case cgRegexKeyVersion:
		g := s.consumerGroupForReplay(r.group, !r.tombstone)
		if g == nil {
			return
		}
		if r.tombstone {
			delete(g.regexes, r.regex)
			return
		}
		g.regexes[r.regex] = cgRegex{topics: slices.Clone(r.resolved.topics), version: r.resolved.version, timestamp: r.resolved.timestamp}
	}
}

// newUUIDString is a random UUID in Kafka's string form (v0 heartbeats:
// the coordinator names new members).
func newUUIDString() string {
	u, err := metadata.RandomUUID(rand.Reader)
	if err != nil {
		return newMemberID("", nil)
	}
	return u.String()
}
