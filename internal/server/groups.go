package server

import (
	"errors"
	"fmt"
	"time"

	"github.com/samsa-streaming/samsa/internal/coordinator/group"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

// This file is the glue between the metadata and the group coordinator:
// the coordinator keeps one shard per __consumer_offsets partition this
// node leads, and the server tells it which those are, as Kafka's
// BrokerMetadataPublisher calls onElection and onResignation.

// startGroups builds the group coordinator on the replica manager and the
// broker's timer. It must run before the partitions are reconciled, which
// elects it for the offsets partitions this node already leads.
func (s *Server) startGroups() error {
	g, err := group.New(group.Config{
		NodeID:        s.broker.NodeID,
		NumPartitions: offsetsTopicPartitions(s.publisher.Image(), s.broker.OffsetsTopicNumPartitions),
		Replicas:      s.replicas,
		Timer:         s.timer,
		Logger:        s.log,
		Broker:        s.broker,
		Metadata:      s.publisher.Image,
		Now:           time.Now,
	})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.groups = g
	return nil
}

// offsetsTopicPartitions is how many partitions the coordinator hashes
// group ids into: those of __consumer_offsets when it exists (its count is
// fixed once created, whatever offsets.topic.num.partitions says now), else
// the configured count it will be created with. Kafka's broker does the
// same at startup.
func offsetsTopicPartitions(img *metadata.Image, configured int32) int32 {
	if t := img.Topic(group.OffsetsTopic); t != nil && len(t.Partitions) > 0 {
		return int32(len(t.Partitions))
	}
	return configured
}

// groupsLeadership tells the coordinator whether this node leads
// partition p of __consumer_offsets (in p's leader epoch); other topics are
// none of its business.
func (s *Server) groupsLeadership(t *metadata.Topic, p metadata.Partition, leading bool) {
	if s.groups == nil || t.Name != group.OffsetsTopic {
		return
	}
	if leading {
		s.groups.OnElection(p.ID, p.LeaderEpoch)
	} else {
		s.groups.OnResignation(p.ID, p.LeaderEpoch)
	}
}

// groupsTopicDeleted tells the coordinator that a topic was deleted. A
// deleted __consumer_offsets drops the coordinator's shards before its
// logs go (a negative epoch resigns unconditionally); any other topic's
// committed offsets are deleted from every group, as Kafka's
// BrokerMetadataPublisher calls GroupCoordinator.onPartitionsDeleted, so
// that a topic re-created under the name does not inherit them. It runs
// at the deletion's place in the delta, before a re-creation of the same
// name (which the delta lists after it).
func (s *Server) groupsTopicDeleted(name string, partitions []metadata.Partition) {
	if s.groups == nil {
		return
	}
	if name != group.OffsetsTopic {
		s.groups.OnTopicsDeleted([]string{name})
		return
	}
	for _, p := range partitions {
		s.groups.OnResignation(p.ID, -1)
	}
}

// closeGroups stops the coordinator: parked JoinGroup and SyncGroup
// requests are answered NOT_COORDINATOR (so the network drain does not
// wait out their rebalance timeouts) and later group requests get the
// same answer, which sends clients looking for another coordinator.
func (s *Server) closeGroups() error {
	if s.groups == nil {
		return nil
	}
	if err := s.groups.Close(); err != nil && !errors.Is(err, group.ErrClosed) {
		return fmt.Errorf("server: close group coordinator: %w", err)
	}
	return nil
}
