package group

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// onConsumerLoaded starts the clocks of the loaded consumer groups
// (Kafka's onLoaded): every member gets a fresh session timeout, and a
// member still revoking partitions its rebalance timeout.
func (s *shard) onConsumerLoaded() {
	for _, g := range s.consumer {
		for _, m := range g.members {
			s.scheduleConsumerSession(g.id, m.id)
			if m.state == memberUnrevokedPartitions {
				s.scheduleRebalanceTimeout(g.id, m.id, m.memberEpoch, m.rebalanceTimeout)
			}
		}
	}
}

// ConsumerGroupDescribe serves a ConsumerGroupDescribe request (KIP-848,
// v0-v1): each consumer group's state, epochs, assignor and members with
// their current and target assignments. A group that does not exist, or
// is not a consumer group, is GROUP_ID_NOT_FOUND. AuthorizedOperations
// is left at "not requested"; the handler fills it. done is called
// exactly once.
func (c *Coordinator) ConsumerGroupDescribe(req *kmsg.ConsumerGroupDescribeRequest, done func(*kmsg.ConsumerGroupDescribeResponse)) {
	resp := kmsg.NewConsumerGroupDescribeResponse()
	resp.Groups = make([]kmsg.ConsumerGroupDescribeResponseGroup, len(req.Groups))
	ids := make([]string, len(req.Groups))
	for i, id := range req.Groups {
		ids[i] = strings.Clone(id)
		resp.Groups[i] = kmsg.NewConsumerGroupDescribeResponseGroup()
		resp.Groups[i].Group = ids[i]
		resp.Groups[i].AuthorizedOperations = math.MinInt32
	}
	// Kafka's GroupCoordinatorService answers an empty group id
	// INVALID_GROUP_ID here (DescribeGroups, by contrast, accepts it).
	valid := make([]string, len(ids))
	for i, id := range ids {
		if id == "" {
			resp.Groups[i].ErrorCode = codeInvalidGroupID
			continue
		}
		valid[i] = id
	}
	parts := c.byShard(ids, func(i int, code int16) {
		if ids[i] != "" {
			resp.Groups[i].ErrorCode = code
		}
	})
	version := req.Version
	describeOnShards(parts,
		func(s *shard, i int) {
			if valid[i] != "" {
				s.describeConsumer(&resp.Groups[i], version)
			}
		},
		func(i int) { resp.Groups[i].ErrorCode = codeNotCoordinator },
		func() { done(&resp) })
}

// describeConsumer fills one ConsumerGroupDescribe answer on the shard
// goroutine. Topic names come from the current metadata image; a topic
// deleted since the assignment is reported with an empty name.
func (s *shard) describeConsumer(out *kmsg.ConsumerGroupDescribeResponseGroup, version int16) {
	g := s.consumer[out.Group]
	if g == nil {
		msg := fmt.Sprintf("Group %s not found.", out.Group)
		if cg := s.groups[out.Group]; cg != nil && !cg.is(stateDead) {
			msg = fmt.Sprintf("Group %s is not a consumer group.", out.Group)
		}
		out.ErrorCode = codeGroupIDNotFound
		out.ErrorMessage = &msg
		return
	}
	img := s.c.image()
	assignment := func(p partSet) kmsg.Assignment {
		a := kmsg.NewAssignment()
		a.TopicPartitions = []kmsg.AssignmentTopicPartition{}
		for _, t := range p.topics() {
			tp := kmsg.NewAssignmentTopicPartition()
			tp.TopicID = t
			if ti := img.TopicByID(t); ti != nil {
				tp.Topic = ti.Name
			}
			tp.Partitions = p.partitions(t)
			a.TopicPartitions = append(a.TopicPartitions, tp)
		}
		return a
	}
	out.State = g.state().String()
	out.Epoch = g.groupEpoch
	out.AssignmentEpoch = g.assignmentEpoch
	out.AssignorName = s.preferredAssignor(g)
	out.Members = []kmsg.ConsumerGroupDescribeResponseGroupMember{}
	for _, m := range g.sortedMembers() {
		dm := kmsg.NewConsumerGroupDescribeResponseGroupMember()
		dm.MemberID = m.id
		dm.InstanceID = m.instanceID
		dm.RackID = m.rackID
		dm.MemberEpoch = m.memberEpoch
		dm.ClientID = m.clientID
		dm.ClientHost = m.clientHost
		dm.SubscribedTopics = slices.Clone(m.topicNames)
		if dm.SubscribedTopics == nil {
			dm.SubscribedTopics = []string{}
		}
		dm.SubscribedTopicRegex = m.topicRegex
		dm.Assignment = assignment(m.assigned)
		dm.TargetAssignment = assignment(g.target[m.id])
		if version >= 1 {
			dm.MemberType = 1 // consumer protocol (KIP-1099); 0 would be classic
		}
		out.Members = append(out.Members, dm)
	}
}

// listConsumer adds the shard's consumer groups to a ListGroups answer,
// filtered by state (lower case) when states is not empty.
func (s *shard) listConsumer(states map[string]bool) []kmsg.ListGroupsResponseGroup {
	var out []kmsg.ListGroupsResponseGroup
	for _, g := range s.consumer {
		st := g.state().String()
		if len(states) > 0 && !states[strings.ToLower(st)] {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group = g.id
		lg.ProtocolType = consumerProtocolType
		lg.GroupState = st
		lg.GroupType = consumerGroupType
		out = append(out, lg)
	}
	return out
}

// deleteConsumerGroup deletes an Empty consumer group for DeleteGroups
// (Kafka's ConsumerGroup.createGroupTombstoneRecords), returning its
// tombstones, or the error code and message.
func (s *shard) deleteConsumerGroup(id string) ([]kv, int16, string) {
	g := s.consumer[id]
	if g.state() != cgEmpty {
		return nil, codeNonEmptyGroup, fmt.Sprintf("Group %s is not empty.", id)
	}
	recs := consumerGroupTombstones(g)
	out := make([]kv, 0, len(recs))
	for i := range recs {
		out = append(out, recs[i].encode())
	}
	g.dead = true
	delete(s.consumer, id)
	return out, 0, ""
}

// consumerGroupTombstones are the records that delete a group.
func consumerGroupTombstones(g *consumerGroup) []consumerRecord {
	var recs []consumerRecord
	for _, m := range g.sortedMembers() {
		recs = append(recs, removeMemberRecords(g.id, m.id)...)
	}
	for id := range g.target {
		if g.members[id] == nil {
			recs = append(recs, consumerRecord{kind: cgTargetMemberKeyVersion, group: g.id, member: id, tombstone: true})
		}
	}
	res := make([]string, 0, len(g.regexes))
	for re := range g.regexes {
		res = append(res, re)
	}
	slices.Sort(res)
	for _, re := range res {
		recs = append(recs, consumerRecord{kind: cgRegexKeyVersion, group: g.id, regex: re, tombstone: true})
	}
	recs = append(recs,
		consumerRecord{kind: cgTargetMetadataKeyVersion, group: g.id, tombstone: true},
		consumerRecord{kind: cgMetadataKeyVersion, group: g.id, tombstone: true},
	)
	return recs
}

// validateConsumerCommit is Kafka's ConsumerGroup.validateOffsetCommit:
// with no members, an epoch below 0 (admin tools, assign() consumers)
// may commit; otherwise the member must exist, use OffsetCommit v9+
// (whose generation field carries the member epoch) and name its current
// epoch, else STALE_MEMBER_EPOCH.
func validateConsumerCommit(g *consumerGroup, r *commitRequest) int16 {
	if r.generation < 0 && len(g.members) == 0 {
		return 0
	}
	m := g.members[r.memberID]
	if m == nil {
		return codeUnknownMemberID
	}
	if r.version < 9 {
		return codeUnsupportedVersion
	}
	if r.generation != m.memberEpoch {
		return codeStaleMemberEpoch
	}
	return 0
}

// validateConsumerFetch is Kafka's ConsumerGroup.validateOffsetFetch for
// OffsetFetch v9+, which names the member and its epoch: no member id
// with a negative epoch is an admin fetch; otherwise the member must
// exist and name its current epoch.
func validateConsumerFetch(g *consumerGroup, memberID *string, epoch int32) int16 {
	if memberID == nil && epoch < 0 {
		return 0
	}
	id := ""
	if memberID != nil {
		id = *memberID
	}
	m := g.members[id]
	if m == nil {
		return codeUnknownMemberID
	}
	if epoch != m.memberEpoch {
		return codeStaleMemberEpoch
	}
	return 0
}

// expireConsumerGroups is offset expiry for consumer groups (Kafka's
// ConsumerGroup.offsetExpirationCondition): offsets of topics the group
// does not subscribe to expire offsets.retention.minutes after their
// commit; an Empty group left without offsets is deleted.
func (s *shard) expireConsumerGroups(now int64, recs *[]kv) {
	ids := make([]string, 0, len(s.consumer))
	for id := range s.consumer {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	retention := s.c.set.retention.Milliseconds()
	for _, id := range ids {
		g := s.consumer[id]
		subscribed := g.subscribedTopics()
		all := true
		byTopic := s.offsets[id]
		topics := make([]string, 0, len(byTopic))
		for t := range byTopic {
			topics = append(topics, t)
		}
		slices.Sort(topics)
		for _, t := range topics {
			if subscribed[t] {
				all = false
				continue
			}
			for p, o := range byTopic[t] {
				k := offsetKey{id, t, p}
				expired := now-o.commitTimestamp >= retention
				if o.expireTimestamp >= 0 {
					expired = now >= o.expireTimestamp
				}
				if !expired || s.pending[k] != nil {
					all = false
					continue
				}
				*recs = append(*recs, kv{key: offsetCommitKey(id, t, p)})
				s.dropOffset(k)
			}
		}
		if all && g.state() == cgEmpty && !s.hasPendingCommits(id) {
			for _, r := range consumerGroupTombstones(g) {
				*recs = append(*recs, r.encode())
			}
			g.dead = true
			delete(s.consumer, id)
		}
	}
}

// convertEmptyConsumerGroup deletes an empty consumer group so that a
// classic group of the same id can take its place (its offsets stay).
// The tombstones are written in the background, ahead of the classic
// group's own records in the partition.
func (s *shard) convertEmptyConsumerGroup(g *consumerGroup) {
	s.log.Info("converting the empty consumer group to a classic group", "group", g.id)
	recs := consumerGroupTombstones(g)
	kvs := make([]kv, 0, len(recs))
	for i := range recs {
		kvs = append(kvs, recs[i].encode())
	}
	g.dead = true
	delete(s.consumer, g.id)
	id := g.id
	s.appendRecords(kvs, func(err error) {
		if err != nil {
			s.log.Warn("writing the converted consumer group's tombstones failed", "group", id, "code", appendErrorCode(err), "err", err)
		}
	}, nil)
}
