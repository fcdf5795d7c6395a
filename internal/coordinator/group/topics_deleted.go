package group

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// OnTopicsDeleted tells the coordinator that topics were deleted from the
// cluster (Kafka's GroupCoordinatorService.onPartitionsDeleted, which
// OffsetMetadataManager.onPartitionsDeleted serves in every shard): every
// group's committed offsets of those topics, classic and consumer groups
// alike, are deleted from the state at once and with tombstones, and
// commits of them still in flight are fenced off, so that a topic
// re-created under the same name starts with no committed offset instead
// of inheriting the old topic's. The whole topic goes, whatever partition
// numbers the offsets name (an admin may have committed to a partition the
// topic never had).
//
// KIP-848 consumer groups need nothing more: the deleted topic leaves the
// metadata image, so their next heartbeat sees a different subscription
// hash and recomputes the assignment without it.
//
// Every shard this node leads gets the deletion as an event, in order with
// the requests already queued. A shard still loading its partition applies
// it right after loading (Kafka's write-all operation skips shards that
// are not active, leaving their offsets of the topic behind until they
// expire; here they go too). It does not block and never fails: a
// tombstone write that fails is logged, and the offsets stay deleted in
// memory (as for every other deletion) until the next load.
func (c *Coordinator) OnTopicsDeleted(topics []string) {
	if len(topics) == 0 {
		return
	}
	// Shared read-only by every shard's goroutine.
	set := make(map[string]bool, len(topics))
	for _, t := range topics {
		set[strings.Clone(t)] = true
	}
	c.mu.RLock()
	shards := slices.Collect(maps.Values(c.shards))
	c.mu.RUnlock()
	for _, s := range shards {
		s.post(event{run: func() { s.onTopicsDeleted(set) }})
	}
}

// onTopicsDeleted runs a topic deletion on the shard goroutine, or keeps it
// for the end of the load when the partition is still loading (replaying
// the log would otherwise bring the offsets back).
func (s *shard) onTopicsDeleted(topics map[string]bool) {
	if s.state.Load() == shardLoading {
		s.deletedTopics = append(s.deletedTopics, topics)
		return
	}
	s.deleteTopicOffsets(topics)
}

// applyDeletedTopics runs the topic deletions that arrived while the shard
// was loading; load calls it once the log is replayed.
func (s *shard) applyDeletedTopics() {
	for _, topics := range s.deletedTopics {
		s.deleteTopicOffsets(topics)
	}
	s.deletedTopics = nil
}

// deleteTopicOffsets deletes every group's committed offsets of topics,
// fences commits of them in flight, and writes the tombstones.
func (s *shard) deleteTopicOffsets(topics map[string]bool) {
	start := time.Now()
	var recs []kv
	groups := slices.Sorted(maps.Keys(s.offsets))
	for _, g := range groups {
		byTopic := s.offsets[g]
		for _, t := range slices.Sorted(maps.Keys(byTopic)) {
			if !topics[t] {
				continue
			}
			for _, p := range slices.Sorted(maps.Keys(byTopic[t])) {
				recs = append(recs, kv{key: offsetCommitKey(g, t, p)})
				s.dropOffset(offsetKey{g, t, p})
			}
		}
	}
	// Commits in flight of partitions with no committed offset yet must
	// not take effect either.
	for k, pc := range s.pending {
		if topics[k.topic] {
			pc.floor = s.commitSeq + 1
		}
	}
	if len(recs) == 0 {
		return
	}
	s.log.Info("deleting the offsets of deleted topics", "topics", slices.Sorted(maps.Keys(topics)),
		"tombstones", len(recs), "took", time.Since(start))
	s.appendRecords(recs, func(err error) {
		if err != nil {
			s.log.Warn("writing deleted topics' offset tombstones failed", "code", appendErrorCode(err), "err", err)
		}
	}, nil)
}
