package group

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// classicGroupType is the type ListGroups v5+ reports for these groups.
const classicGroupType = "classic"

// byShard splits group ids by the shard that owns them, keeping each
// id's index in the request; ids whose shard is not usable are reported
// through fail at once.
func (c *Coordinator) byShard(ids []string, fail func(i int, code int16)) map[*shard][]int {
	out := map[*shard][]int{}
	for i, id := range ids {
		s, code := c.shardFor(id)
		if code != 0 {
			fail(i, code)
			continue
		}
		out[s] = append(out[s], i)
	}
	return out
}

// gather counts down the parts of a fanned-out request and calls finish
// once, when the last one is in.
type gather struct {
	mu     sync.Mutex
	left   int
	finish func()
}

func (g *gather) doneOne() {
	g.mu.Lock()
	g.left--
	last := g.left == 0
	g.mu.Unlock()
	if last {
		g.finish()
	}
}

// describeOnShards runs each(s, i) on shard s's goroutine for every
// request entry i that parts (from byShard) gives it, or marks the entries
// NOT_COORDINATOR through failed if the shard stops first, and calls
// finish once every shard is done. The calls are serialised by one lock so
// they may fill one shared response.
func describeOnShards(parts map[*shard][]int, each func(s *shard, i int), failed func(i int), finish func()) {
	var mu sync.Mutex
	g := &gather{left: len(parts) + 1, finish: finish}
	for s, idx := range parts {
		s.post(event{
			run: func() {
				mu.Lock()
				for _, i := range idx {
					each(s, i)
				}
				mu.Unlock()
				g.doneOne()
			},
			abort: func() {
				mu.Lock()
				for _, i := range idx {
					failed(i)
				}
				mu.Unlock()
				g.doneOne()
			},
		})
	}
	g.doneOne()
}

// DescribeGroups serves a DescribeGroups request: each group's state,
// protocol and members (with metadata and assignment once Stable). An
// unknown group is reported Dead, and from v6 also GROUP_ID_NOT_FOUND
// (KIP-1043). AuthorizedOperations is left at "not requested"
// (math.MinInt32); the handler fills it. done is called exactly once.
func (c *Coordinator) DescribeGroups(req *kmsg.DescribeGroupsRequest, done func(*kmsg.DescribeGroupsResponse)) {
	resp := kmsg.NewDescribeGroupsResponse()
	resp.Groups = make([]kmsg.DescribeGroupsResponseGroup, len(req.Groups))
	ids := make([]string, len(req.Groups))
	for i, id := range req.Groups {
		ids[i] = strings.Clone(id)
		resp.Groups[i] = kmsg.NewDescribeGroupsResponseGroup()
		resp.Groups[i].Group = ids[i]
		resp.Groups[i].AuthorizedOperations = math.MinInt32
	}
	parts := c.byShard(ids, func(i int, code int16) { resp.Groups[i].ErrorCode = code })
	version := req.Version
	describeOnShards(parts,
		func(s *shard, i int) { s.describe(&resp.Groups[i], version) },
		func(i int) { resp.Groups[i].ErrorCode = codeNotCoordinator },
		func() { done(&resp) })
}

// describe fills one DescribeGroups answer on the shard goroutine.
func (s *shard) describe(out *kmsg.DescribeGroupsResponseGroup, version int16) {
	g := s.groups[out.Group]
	if g == nil || g.is(stateDead) {
		out.State = stateDead.String()
		if version >= 6 {
			out.ErrorCode = codeGroupIDNotFound
			msg := fmt.Sprintf("Group %s not found.", out.Group)
			if s.consumer[out.Group] != nil {
				// Kafka 4 describes only classic groups here; clients
				// use ConsumerGroupDescribe for consumer groups.
				msg = fmt.Sprintf("Group %s is not a classic group.", out.Group)
			}
			out.ErrorMessage = &msg
		}
		return
	}
	out.State = g.state.String()
	out.ProtocolType = g.protocolType
	stable := g.is(stateStable) && g.protocolName != nil
	if stable {
		out.Protocol = *g.protocolName
	}
	for _, m := range g.orderedMembers() {
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID = m.id
		dm.InstanceID = m.instanceID
		dm.ClientID = m.clientID
		dm.ClientHost = m.clientHost
		dm.ProtocolMetadata = []byte{}
		dm.MemberAssignment = []byte{}
		if stable {
			if md := m.metadata(*g.protocolName); md != nil {
				dm.ProtocolMetadata = md
			}
			if m.assignment != nil {
				dm.MemberAssignment = m.assignment
			}
		}
		out.Members = append(out.Members, dm)
	}
}

// ListGroups serves a ListGroups request over every shard this node
// leads: v4's states filter (case-insensitive) and v5's types filter
// ("classic"; any other type matches nothing here). A shard still
// loading makes the whole answer COORDINATOR_LOAD_IN_PROGRESS without
// groups, as Kafka's GroupCoordinatorService answers (a partial list
// would look complete to the client). done is called exactly once.
func (c *Coordinator) ListGroups(req *kmsg.ListGroupsRequest, done func(*kmsg.ListGroupsResponse)) {
	resp := kmsg.NewListGroupsResponse()
	states := map[string]bool{}
	for _, st := range req.StatesFilter {
		states[strings.ToLower(strings.TrimSpace(st))] = true
	}
	typeOK := len(req.TypesFilter) == 0
	consumerOK := typeOK
	for _, t := range req.TypesFilter {
		if strings.EqualFold(strings.TrimSpace(t), classicGroupType) {
			typeOK = true
		}
		if strings.EqualFold(strings.TrimSpace(t), consumerGroupType) {
			consumerOK = true
		}
	}
	c.mu.RLock()
	shards := make([]*shard, 0, len(c.shards))
	for _, s := range c.shards {
		shards = append(shards, s)
	}
	c.mu.RUnlock()
	var mu sync.Mutex // guards resp
	finish := func() {
		if resp.ErrorCode != 0 {
			resp.Groups = nil
		}
		slices.SortFunc(resp.Groups, func(a, b kmsg.ListGroupsResponseGroup) int { return strings.Compare(a.Group, b.Group) })
		done(&resp)
	}
	g := &gather{left: 1, finish: finish}
	for _, s := range shards {
		if _, code := s.usable(); code != 0 {
			if code == codeLoadInProgress {
				resp.ErrorCode = code
			}
			continue
		}
		// Shards posted to earlier may already be counting down.
		g.mu.Lock()
		g.left++
		g.mu.Unlock()
		s.post(event{
			run: func() {
				var listed []kmsg.ListGroupsResponseGroup
				if typeOK {
					listed = s.list(states)
				}
				if consumerOK {
					listed = append(listed, s.listConsumer(states)...)
				}
				mu.Lock()
				resp.Groups = append(resp.Groups, listed...)
				mu.Unlock()
				g.doneOne()
			},
			abort: g.doneOne,
		})
	}
	g.doneOne()
}

func (s *shard) list(states map[string]bool) []kmsg.ListGroupsResponseGroup {
	var out []kmsg.ListGroupsResponseGroup
	for _, g := range s.groups {
		if g.is(stateDead) {
			continue
		}
		if len(states) > 0 && !states[strings.ToLower(g.state.String())] {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group = g.id
		lg.ProtocolType = g.protocolType
		lg.GroupState = g.state.String()
		lg.GroupType = classicGroupType
		out = append(out, lg)
	}
	return out
}

// DeleteGroups serves a DeleteGroups request: each Empty group's offsets
// and metadata are deleted with tombstones. A group with members is
// NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND. done is called
// exactly once.
func (c *Coordinator) DeleteGroups(req *kmsg.DeleteGroupsRequest, done func(*kmsg.DeleteGroupsResponse)) {
	resp := kmsg.NewDeleteGroupsResponse()
	resp.Groups = make([]kmsg.DeleteGroupsResponseGroup, len(req.Groups))
	ids := make([]string, len(req.Groups))
	for i, id := range req.Groups {
		ids[i] = strings.Clone(id)
		resp.Groups[i] = kmsg.NewDeleteGroupsResponseGroup()
		resp.Groups[i].Group = ids[i]
	}
	withMessage := req.Version >= 3
	setErr := func(i int, code int16, msg string) {
		resp.Groups[i].ErrorCode = code
		if withMessage && code != 0 && msg != "" {
			resp.Groups[i].ErrorMessage = &msg
		}
	}
	var mu sync.Mutex // guards resp.Groups entries written from shards
	parts := c.byShard(ids, func(i int, code int16) { setErr(i, code, "") })
	g := &gather{left: len(parts) + 1, finish: func() { done(&resp) }}
	for s, idx := range parts {
		s.post(event{
			run: func() {
				s.deleteGroups(ids, idx, func(i int, code int16, msg string) {
					mu.Lock()
					setErr(i, code, msg)
					mu.Unlock()
				}, g.doneOne)
			},
			abort: func() {
				mu.Lock()
				for _, i := range idx {
					setErr(i, codeNotCoordinator, "")
				}
				mu.Unlock()
				g.doneOne()
			},
		})
	}
	g.doneOne()
}

// offsetTombstones deletes every committed offset of group id from the
// state, fences off commits of it in flight, and returns the
// tombstones.
func (s *shard) offsetTombstones(id string) []kv {
	var recs []kv
	byTopic := s.offsets[id]
	topics := make([]string, 0, len(byTopic))
	for t := range byTopic {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	for _, t := range topics {
		parts := make([]int32, 0, len(byTopic[t]))
		for p := range byTopic[t] {
			parts = append(parts, p)
		}
		slices.Sort(parts)
		for _, p := range parts {
			recs = append(recs, kv{key: offsetCommitKey(id, t, p)})
			s.dropOffset(offsetKey{id, t, p})
		}
	}
	// Commits in flight for the group must not bring offsets back.
	for k, pc := range s.pending {
		if k.group == id {
			pc.floor = s.commitSeq + 1
		}
	}
	return recs
}

// deleteGroups deletes the groups ids[idx...] (Kafka's
// GroupCoordinatorShard.deleteGroups): the state changes at once, so no
// request sees a group being deleted; the answer waits for the
// tombstones, and reports their write failing for every deleted group.
func (s *shard) deleteGroups(ids []string, idx []int, set func(i int, code int16, msg string), finished func()) {
	var recs []kv
	var deleted []int
	now := s.nowMs()
	for _, i := range idx {
		id := ids[i]
		if s.consumer[id] != nil {
			tombs, code, msg := s.deleteConsumerGroup(id)
			if code != 0 {
				set(i, code, msg)
				continue
			}
			// Offsets first, as for classic groups.
			recs = append(recs, s.offsetTombstones(id)...)
			recs = append(recs, tombs...)
			deleted = append(deleted, i)
			s.log.Info("deleting consumer group", "group", id)
			continue
		}
		g := s.groups[id]
		switch {
		case g == nil || g.is(stateDead):
			set(i, codeGroupIDNotFound, fmt.Sprintf("Group %s not found.", id))
			continue
		case !g.is(stateEmpty):
			set(i, codeNonEmptyGroup, fmt.Sprintf("Group %s is not empty.", id))
			continue
		}
		recs = append(recs, s.offsetTombstones(id)...)
		recs = append(recs, kv{key: groupMetadataKey(id)})
		g.transitionTo(stateDead, now)
		delete(s.groups, id)
		s.cancel(joinKey(id))
		s.cancel(syncKey(id))
		deleted = append(deleted, i)
		s.log.Info("deleting group", "group", id)
	}
	if len(recs) == 0 {
		finished()
		return
	}
	s.appendRecords(recs, func(err error) {
		if err != nil {
			code := appendErrorCode(err)
			s.log.Warn("writing group deletion tombstones failed", "code", code, "err", err)
			for _, i := range deleted {
				set(i, code, "")
			}
		}
		finished()
	}, func() {
		for _, i := range deleted {
			set(i, codeNotCoordinator, "")
		}
		finished()
	})
}
