package server

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/replica"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// topicLogConfig resolves a topic's effective log config from the broker
// config and the topic's overrides in the current image.
func (s *Server) topicLogConfig(topic string) storage.LogConfig {
	return s.topicConfig(topic).Log
}

// topicConfig resolves a topic's effective partition config from the broker
// config and the topic's overrides in the current image.
func (s *Server) topicConfig(topic string) replica.PartitionConfig {
	var overrides map[string]string
	if s.publisher != nil {
		overrides = s.publisher.Image().TopicConfigs(topic)
	}
	tc, err := s.cfg.ResolveTopic(overrides)
	if err != nil {
		// Overrides were validated when committed; a failure here means a
		// broker default changed under them. Run on the broker defaults
		// rather than refuse to serve the partition.
		s.log.Warn("topic config does not resolve; using broker defaults", "topic", topic, "err", err)
		return replica.TopicPartitionConfig(s.broker.LogDefaults)
	}
	return replica.TopicPartitionConfig(tc)
}

// reconcile makes the hosted partitions match img: every partition this node
// leads is hosted with its topic's config, and every log on disk whose topic
// is not in the metadata (a deletion cut short by a crash, or metadata that
// was lost) is set aside as stray, its data kept.
func (s *Server) reconcile(img *metadata.Image) error {
	var errs []error
	hosted := map[storage.TopicPartition]bool{}
	for _, t := range img.Topics() {
		for _, p := range t.Partitions {
			tp := storage.TopicPartition{Topic: t.Name, Partition: p.ID}
			hosted[tp] = true
			if err := s.applyPartition(t, p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, tp := range s.logs.Logs() {
		if !hosted[tp] {
			// Kafka (KAFKA-14616) renames such replicas "-stray" rather
			// than deleting them: the metadata may be what is wrong (a
			// metadata dir lost or restored from an old copy), and deleting
			// would turn that mistake into data loss.
			s.log.Warn("partition log on disk is not in the metadata; keeping it aside as stray",
				"topic", tp.Topic, "partition", tp.Partition)
			if err := s.logs.MarkStray(tp); err != nil {
				errs = append(errs, fmt.Errorf("server: mark %s-%d stray: %w", tp.Topic, tp.Partition, err))
			}
		}
	}
	return errors.Join(errs...)
}

// applyPartition hosts partition p of t as this node's metadata says, and
// tells the group coordinator when p is a __consumer_offsets partition.
// Single node: this node leads every partition it is a replica of.
func (s *Server) applyPartition(t *metadata.Topic, p metadata.Partition) error {
	tp := storage.TopicPartition{Topic: t.Name, Partition: p.ID}
	if p.Leader != s.broker.NodeID {
		s.groupsLeadership(t, p, false)
		return nil
	}
	if err := s.replicas.BecomeLeader(tp, t.ID, p.LeaderEpoch, p.Replicas, p.ISR, s.topicConfig(t.Name)); err != nil {
		return fmt.Errorf("server: lead %s-%d: %w", t.Name, p.ID, err)
	}
	s.groupsLeadership(t, p, true)
	return nil
}

// onMetadataChange is the publisher listener: it runs on the metadata
// writer's goroutine, in commit order, once per change.
func (s *Server) onMetadataChange(_, next *metadata.Image, delta *metadata.Delta) {
	for _, tc := range delta.Topics {
		if tc.Deleted {
			s.groupsTopicDeleted(tc.Name, tc.Topic.Partitions)
			for _, p := range tc.Topic.Partitions {
				tp := storage.TopicPartition{Topic: tc.Name, Partition: p.ID}
				if err := s.replicas.RemovePartition(tp, true); err != nil {
					s.log.Error("delete partition", "topic", tc.Name, "partition", p.ID, "err", err)
				}
			}
			continue
		}
		for _, ids := range [][]int32{tc.AddedPartitions, tc.ChangedPartitions} {
			for _, id := range ids {
				p, ok := tc.Topic.Partition(id)
				if !ok {
					continue
				}
				if err := s.applyPartition(tc.Topic, p); err != nil {
					s.log.Error("apply partition change", "err", err)
				}
			}
		}
	}
	brokerChanged := false
	for _, res := range delta.Configs {
		switch res.Type {
		case metadata.ResourceTopic:
			if t := next.Topic(res.Name); t != nil {
				s.applyTopicConfig(t)
			}
		case metadata.ResourceBroker:
			brokerChanged = true
			perBroker := res.Name != ""
			if perBroker && res.Name != strconv.Itoa(int(s.broker.NodeID)) {
				continue
			}
			if err := s.cfg.ReplaceDynamic(perBroker, next.Configs(res)); err != nil {
				s.log.Error("apply dynamic broker config", "resource", res.Name, "err", err)
			}
		}
	}
	if brokerChanged {
		// Broker-level synonyms (log.retention.ms ...) feed every topic.
		for _, t := range next.Topics() {
			s.applyTopicConfig(t)
		}
	}
}

func (s *Server) applyTopicConfig(t *metadata.Topic) {
	cfg := s.topicConfig(t.Name)
	for _, p := range t.Partitions {
		tp := storage.TopicPartition{Topic: t.Name, Partition: p.ID}
		if _, ok := s.replicas.Partition(tp); !ok {
			continue
		}
		if err := s.replicas.SetConfig(tp, cfg); err != nil {
			s.log.Error("apply topic config", "topic", t.Name, "partition", p.ID, "err", err)
		}
	}
}
