package group

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// offsetKey names one committed offset.
type offsetKey struct {
	group, topic string
	partition    int32
}

// pendingCommit tracks the commits of one offsetKey whose append is in
// flight: how many, and the first sequence number still allowed to take
// effect. A deletion (OffsetDelete, DeleteGroups, expiry) raises the
// floor, so a commit appended before the deletion's tombstone does not
// resurrect the offset when it completes after the deletion was applied,
// and expiry skips keys with commits in flight (Kafka's
// pendingOffsetCommits).
type pendingCommit struct {
	count int
	floor uint64
}

// OffsetCommit serves an OffsetCommit request (v2+): it validates the
// committer against the group (generation, member, instance id), writes
// the offsets to __consumer_offsets and, once durable, records them and
// answers. Topics are named by Topic (the handler resolves v10's topic
// IDs first); each response topic carries its request topic's TopicID.
// done is called exactly once.
func (c *Coordinator) OffsetCommit(req *kmsg.OffsetCommitRequest, done func(*kmsg.OffsetCommitResponse)) {
	s, code := c.shardFor(req.Group)
	if code != 0 {
		done(commitResponse(req, func(int) int16 { return code }))
		return
	}
	cr := &commitRequest{
		version:    req.Version,
		group:      req.Group,
		generation: req.Generation,
		memberID:   req.MemberID,
		instanceID: cloneStringPtr(req.InstanceID),
		retention:  req.RetentionTimeMillis,
		resp:       commitResponse(req, func(int) int16 { return 0 }),
		done:       done,
	}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			md := ""
			if p.Metadata != nil {
				md = strings.Clone(*p.Metadata)
			}
			cr.parts = append(cr.parts, commitPartition{
				topic: strings.Clone(t.Topic), partition: p.Partition,
				offset: p.Offset, leaderEpoch: p.LeaderEpoch, metadata: md,
			})
		}
	}
	s.post(event{
		run:   func() { s.commit(cr) },
		abort: func() { cr.respond(func(int) int16 { return codeNotCoordinator }) },
	})
}

type commitRequest struct {
	version    int16
	group      string
	generation int32
	memberID   string
	instanceID *string
	retention  int64
	parts      []commitPartition
	resp       *kmsg.OffsetCommitResponse // the answer's shape, built at entry; codes filled by respond
	done       func(*kmsg.OffsetCommitResponse)
}

// respond answers r once, with code(i) for its i-th partition entry in
// request order (Kafka answers duplicate entries one by one).
func (r *commitRequest) respond(code func(i int) int16) {
	i := 0
	for ti := range r.resp.Topics {
		ps := r.resp.Topics[ti].Partitions
		for pi := range ps {
			ps[pi].ErrorCode = code(i)
			i++
		}
	}
	r.done(r.resp)
}

type commitPartition struct {
	topic       string
	partition   int32
	offset      int64
	leaderEpoch int32
	metadata    string
}

// commitResponse shapes an OffsetCommit answer like the request, with
// the code of the i-th partition entry (counting across topics, in
// request order) from code(i). Entries are answered one by one, as Kafka
// does, so that a request naming a partition twice gets each entry's own
// outcome.
func commitResponse(req *kmsg.OffsetCommitRequest, code func(i int) int16) *kmsg.OffsetCommitResponse {
	resp := kmsg.NewOffsetCommitResponse()
	i := 0
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		rt.TopicID = t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = code(i)
			i++
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return &resp
}

// commit is Kafka's OffsetMetadataManager.commitOffset followed by the
// storeOffsets callback, on the shard goroutine.
func (s *shard) commit(r *commitRequest) {
	all := func(code int16) {
		r.respond(func(int) int16 { return code })
	}
	if cg := s.consumer[r.group]; cg != nil {
		// A KIP-848 consumer group: member epochs, not generations.
		if code := validateConsumerCommit(cg, r); code != 0 {
			all(code)
			return
		}
	} else {
		g, code := s.validateCommit(r)
		if code != 0 {
			all(code)
			return
		}
		// A commit keeps a classic member's session alive while the
		// group is Stable or rebalancing.
		if m := g.members[r.memberID]; m != nil && (g.is(stateStable) || g.is(statePreparingRebalance)) {
			s.rescheduleHeartbeat(g, m, m.sessionTimeout)
		}
	}
	now := s.nowMs()
	expire := int64(-1)
	if r.retention != -1 && r.version <= 4 {
		expire = now + r.retention
	}
	// tooLarge marks the entries (r.parts, in request order) refused
	// for their metadata; the others take the append's outcome.
	tooLarge := make([]bool, len(r.parts))
	var recs []kv
	var keys []offsetKey
	var values []offsetAndMetadata
	for i, p := range r.parts {
		k := offsetKey{r.group, p.topic, p.partition}
		if len(p.metadata) > s.c.set.metadataMaxBytes {
			tooLarge[i] = true
			continue
		}
		o := offsetAndMetadata{offset: p.offset, leaderEpoch: p.leaderEpoch, metadata: p.metadata,
			commitTimestamp: now, expireTimestamp: expire}
		if o.leaderEpoch < 0 {
			o.leaderEpoch = -1
		}
		recs = append(recs, kv{offsetCommitKey(r.group, p.topic, p.partition), offsetCommitValue(o)})
		keys = append(keys, k)
		values = append(values, o)
	}
	respond := func(appendCode int16) {
		r.respond(func(i int) int16 {
			if i < len(tooLarge) && tooLarge[i] {
				return codeOffsetMetadataTooLarge
			}
			return appendCode
		})
	}
	if len(recs) == 0 {
		respond(0)
		return
	}
	seqs := s.beginCommits(keys)
	s.appendRecords(recs, func(err error) {
		s.endCommits(keys, seqs, values, err == nil)
		if err != nil {
			s.log.Warn("offset commit failed", "group", r.group, "code", appendErrorCode(err), "err", err)
		}
		respond(appendErrorCode(err))
	}, func() { respond(codeNotCoordinator) })
}

// validateCommit is Kafka's validateOffsetCommit with
// ClassicGroup.validateOffsetCommit. A commit with a negative generation
// to a group that does not exist creates a "simple" group (a consumer
// that stores offsets without membership: kcat, kadm, assign()).
func (s *shard) validateCommit(r *commitRequest) (*classicGroup, int16) {
	g := s.groups[r.group]
	if g == nil {
		if r.generation >= 0 {
			if r.version >= 9 {
				return nil, codeGroupIDNotFound
			}
			return nil, codeIllegalGeneration
		}
		s.log.Info("creating a simple group through a manual offset commit", "group", r.group)
		g = newClassicGroup(r.group, stateEmpty, s.nowMs())
		s.groups[r.group] = g
	}
	if g.is(stateDead) {
		return nil, codeCoordinatorNotAvail
	}
	if r.generation < 0 && g.is(stateEmpty) {
		return g, 0
	}
	if r.generation >= 0 || r.memberID != "" || r.instanceID != nil {
		if code := g.validateMember(r.memberID, r.instanceID); code != 0 {
			return nil, code
		}
		if r.generation != g.generation {
			return nil, codeIllegalGeneration
		}
	} else if !g.is(stateEmpty) {
		return nil, codeUnknownMemberID
	}
	if g.is(stateCompletingRebalance) {
		return nil, codeRebalanceInProgress
	}
	return g, 0
}

// beginCommits registers commits in flight and returns their sequence
// numbers.
func (s *shard) beginCommits(keys []offsetKey) []uint64 {
	seqs := make([]uint64, len(keys))
	for i, k := range keys {
		s.commitSeq++
		seqs[i] = s.commitSeq
		pc := s.pending[k]
		if pc == nil {
			pc = &pendingCommit{}
			s.pending[k] = pc
		}
		pc.count++
	}
	return seqs
}

// endCommits ends commits in flight, applying those that succeeded and
// were not overtaken by a deletion.
func (s *shard) endCommits(keys []offsetKey, seqs []uint64, values []offsetAndMetadata, ok bool) {
	for i, k := range keys {
		pc := s.pending[k]
		apply := ok
		if pc != nil {
			apply = apply && seqs[i] >= pc.floor
			if pc.count--; pc.count <= 0 {
				delete(s.pending, k)
			}
		}
		if !apply {
			continue
		}
		if s.groups[k.group] == nil && s.consumer[k.group] == nil {
			s.groups[k.group] = newClassicGroup(k.group, stateEmpty, s.nowMs())
		}
		s.putOffset(k.group, k.topic, k.partition, values[i])
	}
}

// dropOffset deletes a committed offset from the state at once and
// fences off commits of it still in flight.
func (s *shard) dropOffset(k offsetKey) {
	s.deleteOffset(k.group, k.topic, k.partition)
	if pc := s.pending[k]; pc != nil {
		pc.floor = s.commitSeq + 1
	}
}

// OffsetFetch serves an OffsetFetch request: v1-v7 for one group, v8+
// for several, each answered by the shard that owns it. Topics are named
// (the handler maps v10's topic IDs both ways). done is called exactly
// once, possibly from another goroutine.
func (c *Coordinator) OffsetFetch(req *kmsg.OffsetFetchRequest, done func(*kmsg.OffsetFetchResponse)) {
	groups := req.Groups
	if req.Version < 8 {
		g := kmsg.NewOffsetFetchRequestGroup()
		g.Group = req.Group
		if req.Topics != nil {
			g.Topics = []kmsg.OffsetFetchRequestGroupTopic{}
			for _, t := range req.Topics {
				gt := kmsg.NewOffsetFetchRequestGroupTopic()
				gt.Topic = t.Topic
				gt.Partitions = t.Partitions
				g.Topics = append(g.Topics, gt)
			}
		}
		groups = []kmsg.OffsetFetchRequestGroup{g}
	}
	results := make([]kmsg.OffsetFetchResponseGroup, len(groups))
	var mu sync.Mutex
	left := len(groups)
	finish := func() {
		resp := kmsg.NewOffsetFetchResponse()
		if req.Version >= 8 {
			resp.Groups = results
		} else {
			legacyFetchResponse(&resp, req, results[0])
		}
		done(&resp)
	}
	if left == 0 {
		finish()
		return
	}
	for i := range groups {
		gr := copyFetchGroup(groups[i])
		put := func(r kmsg.OffsetFetchResponseGroup) {
			mu.Lock()
			results[i] = r
			left--
			last := left == 0
			mu.Unlock()
			if last {
				finish()
			}
		}
		fail := func(code int16) {
			r := kmsg.NewOffsetFetchResponseGroup()
			r.Group = gr.Group
			r.ErrorCode = code
			put(r)
		}
		s, code := c.shardFor(gr.Group)
		if code != 0 {
			fail(code)
			continue
		}
		s.post(event{
			run:   func() { put(s.fetchOffsets(gr)) },
			abort: func() { fail(codeNotCoordinator) },
		})
	}
}

// copyFetchGroup copies what the shard reads out of the request.
func copyFetchGroup(g kmsg.OffsetFetchRequestGroup) kmsg.OffsetFetchRequestGroup {
	out := kmsg.NewOffsetFetchRequestGroup()
	out.Group = strings.Clone(g.Group)
	out.MemberID = cloneStringPtr(g.MemberID)
	out.MemberEpoch = g.MemberEpoch
	if g.Topics != nil {
		out.Topics = make([]kmsg.OffsetFetchRequestGroupTopic, len(g.Topics))
		for i, t := range g.Topics {
			out.Topics[i] = kmsg.NewOffsetFetchRequestGroupTopic()
			out.Topics[i].Topic = strings.Clone(t.Topic)
			out.Topics[i].TopicID = t.TopicID
			out.Topics[i].Partitions = slices.Clone(t.Partitions)
		}
	}
	return out
}

// legacyFetchResponse shapes the one-group answer of v1-v7: a group error
// is the top-level error from v2, and each requested partition's error in
// v1, which has no top-level field.
func legacyFetchResponse(resp *kmsg.OffsetFetchResponse, req *kmsg.OffsetFetchRequest, g kmsg.OffsetFetchResponseGroup) {
	if g.ErrorCode != 0 {
		if req.Version >= 2 {
			resp.ErrorCode = g.ErrorCode
			return
		}
		for _, t := range req.Topics {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition = p
				rp.Offset = -1
				rp.LeaderEpoch = -1
				rp.ErrorCode = g.ErrorCode
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return
	}
	for _, t := range g.Topics {
		rt := kmsg.NewOffsetFetchResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetFetchResponseTopicPartition()
			rp.Partition = p.Partition
			rp.Offset = p.Offset
			rp.LeaderEpoch = p.LeaderEpoch
			rp.Metadata = p.Metadata
			rp.ErrorCode = p.ErrorCode
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
}

// fetchOffsets is Kafka's fetchOffsets / fetchAllOffsets for one group:
// unknown partitions (and unknown groups) answer offset -1, leader epoch
// -1 and empty metadata without an error. Null topics mean every
// committed offset, ordered by topic and partition.
func (s *shard) fetchOffsets(req kmsg.OffsetFetchRequestGroup) kmsg.OffsetFetchResponseGroup {
	resp := kmsg.NewOffsetFetchResponseGroup()
	resp.Group = req.Group
	if cg := s.consumer[req.Group]; cg != nil {
		if code := validateConsumerFetch(cg, req.MemberID, req.MemberEpoch); code != 0 {
			resp.ErrorCode = code
			return resp
		}
	}
	byTopic := s.offsets[req.Group]
	if g := s.groups[req.Group]; g != nil && g.is(stateDead) {
		byTopic = nil
	}
	part := func(p int32, o offsetAndMetadata, ok bool) kmsg.OffsetFetchResponseGroupTopicPartition {
		rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
		rp.Partition = p
		rp.Offset, rp.LeaderEpoch = -1, -1
		md := ""
		if ok {
			rp.Offset, rp.LeaderEpoch, md = o.offset, o.leaderEpoch, o.metadata
		}
		rp.Metadata = &md
		return rp
	}
	if req.Topics == nil {
		topics := make([]string, 0, len(byTopic))
		for t := range byTopic {
			topics = append(topics, t)
		}
		slices.Sort(topics)
		for _, t := range topics {
			rt := kmsg.NewOffsetFetchResponseGroupTopic()
			rt.Topic = t
			parts := make([]int32, 0, len(byTopic[t]))
			for p := range byTopic[t] {
				parts = append(parts, p)
			}
			slices.Sort(parts)
			for _, p := range parts {
				rt.Partitions = append(rt.Partitions, part(p, byTopic[t][p], true))
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	resp.Topics = []kmsg.OffsetFetchResponseGroupTopic{}
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetFetchResponseGroupTopic()
		rt.Topic = t.Topic
		rt.TopicID = t.TopicID
		for _, p := range t.Partitions {
			o, ok := byTopic[t.Topic][p]
			rt.Partitions = append(rt.Partitions, part(p, o, ok))
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// OffsetDelete serves an OffsetDelete request: the group's committed
// offsets of the named partitions are deleted, except for topics the
// group's members still consume (GROUP_SUBSCRIBED_TO_TOPIC). done is
// called exactly once.
func (c *Coordinator) OffsetDelete(req *kmsg.OffsetDeleteRequest, done func(*kmsg.OffsetDeleteResponse)) {
	fail := func(code int16) {
		r := kmsg.NewOffsetDeleteResponse()
		r.ErrorCode = code
		done(&r)
	}
	s, code := c.namedGroupShard(req.Group)
	if code != 0 {
		fail(code)
		return
	}
	group := req.Group
	topics := make([]deleteTopic, len(req.Topics))
	for i, t := range req.Topics {
		topics[i] = deleteTopic{strings.Clone(t.Topic), nil}
		for _, p := range t.Partitions {
			topics[i].parts = append(topics[i].parts, p.Partition)
		}
	}
	s.post(event{
		run: func() {
			if cg := s.consumer[group]; cg != nil {
				// Kafka's ConsumerGroup.validateOffsetDelete accepts any
				// state.
				subscribed := cg.subscribedTopics()
				s.deleteOffsets(group, topics, func(t string) bool { return subscribed[t] }, done, fail)
				return
			}
			g := s.groups[group]
			if g == nil || g.is(stateDead) {
				fail(codeGroupIDNotFound)
				return
			}
			// Kafka's ClassicGroup.validateOffsetDelete: a group with
			// members must use the consumer protocol, so that the
			// coordinator knows what it consumes.
			if !g.is(stateEmpty) && g.protocolType != consumerProtocolType {
				fail(codeNonEmptyGroup)
				return
			}
			s.deleteOffsets(group, topics, g.isSubscribedTo, done, fail)
		},
		abort: func() { fail(codeNotCoordinator) },
	})
}

// deleteTopic is one topic of an OffsetDelete request.
type deleteTopic struct {
	topic string
	parts []int32
}

// deleteOffsets is OffsetDelete once the group is validated: the offsets
// of topics the group consumes stay (GROUP_SUBSCRIBED_TO_TOPIC), the
// others are deleted from the state and with tombstones, and done answers
// once the tombstones are written (fail if they are not).
func (s *shard) deleteOffsets(group string, topics []deleteTopic, subscribed func(topic string) bool, done func(*kmsg.OffsetDeleteResponse), fail func(int16)) {
	resp := kmsg.NewOffsetDeleteResponse()
	var recs []kv
	for _, t := range topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.topic
		consumed := subscribed(t.topic)
		for _, p := range t.parts {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p
			if consumed {
				rp.ErrorCode = codeGroupSubscribedToTopic
			} else if _, ok := s.offsets[group][t.topic][p]; ok {
				recs = append(recs, kv{key: offsetCommitKey(group, t.topic, p)})
				s.dropOffset(offsetKey{group, t.topic, p})
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if len(recs) == 0 {
		done(&resp)
		return
	}
	s.appendRecords(recs, func(err error) {
		if err != nil {
			fail(appendErrorCode(err))
			return
		}
		done(&resp)
	}, func() { fail(codeNotCoordinator) })
}

// scheduleExpiration arms the next offset expiration cycle.
func (s *shard) scheduleExpiration() {
	s.schedule(expirationKey, s.c.set.retentionCheck, s.expireGroupMetadata)
}

// expireGroupMetadata is Kafka's cleanupGroupMetadata: every
// offsets.retention.check.interval.ms, expired offsets are deleted with
// tombstones, and an Empty group whose offsets are all gone is deleted
// too. The state changes at once; the tombstones follow.
func (s *shard) expireGroupMetadata() {
	start := time.Now()
	now := s.nowMs()
	var recs []kv
	ids := make([]string, 0, len(s.groups))
	for id := range s.groups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		g := s.groups[id]
		if s.expireOffsets(g, now, &recs) && g.isEmptyGroup() && !s.hasPendingCommits(id) {
			recs = append(recs, kv{key: groupMetadataKey(id)})
			g.transitionTo(stateDead, now)
			delete(s.groups, id)
		}
	}
	s.expireConsumerGroups(now, &recs)
	if len(recs) > 0 {
		s.log.Info("expiring group metadata", "tombstones", len(recs), "took", time.Since(start))
		s.appendRecords(recs, func(err error) {
			if err != nil {
				s.log.Warn("writing expiration tombstones failed", "code", appendErrorCode(err), "err", err)
			}
		}, nil)
	}
	s.scheduleExpiration()
}

// expireOffsets deletes g's expired offsets, appending their tombstones to
// recs, and reports whether g has no offset left (Kafka's
// cleanupExpiredOffsets with ClassicGroup.offsetExpirationCondition).
func (s *shard) expireOffsets(g *classicGroup, now int64, recs *[]kv) bool {
	byTopic := s.offsets[g.id]
	if len(byTopic) == 0 {
		return true
	}
	// The instant each offset's retention counts from; ok false: this
	// group's offsets do not expire now.
	var base func(o offsetAndMetadata) int64
	switch {
	case g.protocolType == "":
		// A simple group: retention counts from each commit.
		base = func(o offsetAndMetadata) int64 { return o.commitTimestamp }
	case g.is(stateEmpty):
		// Retention counts from when the group became empty, or from
		// each commit if that is unknown (metadata written by an old
		// Kafka).
		base = func(o offsetAndMetadata) int64 {
			if g.stateTimestamp >= 0 {
				return g.stateTimestamp
			}
			return o.commitTimestamp
		}
	case g.protocolType == consumerProtocolType && g.subscribedKnown && g.is(stateStable):
		// Offsets of topics the members no longer consume expire from
		// their commit.
		base = func(o offsetAndMetadata) int64 { return o.commitTimestamp }
	default:
		return false
	}
	retention := s.c.set.retention.Milliseconds()
	all := true
	topics := make([]string, 0, len(byTopic))
	for t := range byTopic {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	for _, t := range topics {
		if g.isSubscribedTo(t) {
			all = false
			continue
		}
		for p, o := range byTopic[t] {
			k := offsetKey{g.id, t, p}
			expired := now-base(o) >= retention
			if o.expireTimestamp >= 0 {
				expired = now >= o.expireTimestamp
			}
			if !expired || s.pending[k] != nil {
				all = false
				continue
			}
			*recs = append(*recs, kv{key: offsetCommitKey(g.id, t, p)})
			s.dropOffset(k)
		}
	}
	return all
}

func (s *shard) hasPendingCommits(group string) bool {
	for k := range s.pending {
		if k.group == group {
			return true
		}
	}
	return false
}

// String names an offset key in logs.
func (k offsetKey) String() string { return fmt.Sprintf("%s/%s-%d", k.group, k.topic, k.partition) }
