package handler

import (
	"errors"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

// Metadata: Kafka 4 still serves every version from 0 (KIP-896 kept v0-v3
// for older clients' sake), up to the newest kmsg knows.
func init() {
	register(kmsg.Metadata.Int16(), 0, -1, serveMetadata)
}

// serveMetadata answers a Metadata request as a Kafka broker does
// (KafkaApis.handleTopicMetadataRequest over KRaftMetadataCache):
//
//   - brokers: every unfenced broker with an endpoint named like the
//     listener the request arrived on, with that endpoint;
//   - topics: all of them when the list is null (or empty in v0), else the
//     ones named, or from v12 the ones given by topic ID (any non-zero ID
//     in the request switches to IDs, as in Kafka);
//   - a named topic that does not exist is auto-created when
//     auto.create.topics.enable is on and the request allows it (always
//     below v4), with num.partitions and default.replication.factor (and
//     the coordinators' settings for __consumer_offsets and
//     __transaction_state).
//
// Auto-creation differs from Kafka in one visible way, deliberately: a
// Kafka broker forwards the creation to the controller and answers
// UNKNOWN_TOPIC_OR_PARTITION for the topic until a later Metadata request
// sees it. Samsa's controller is in-process and commits synchronously (and
// the partitions are hosted before the commit returns), so the response
// already describes the new topic with its leaders. Clients handle both
// answers; this one saves every producer a metadata round trip and a retry
// backoff on its first send to a new topic.
func serveMetadata(h *Handler, c *Context, req *kmsg.MetadataRequest) {
	v := c.Version()
	resp := kmsg.NewPtrMetadataResponse()

	allTopics := req.Topics == nil || (v == 0 && len(req.Topics) == 0)
	if !allTopics && v < 12 {
		// Kafka: versions 10 and 11 define topic IDs and null names on
		// the wire but the broker never implemented them.
		for _, t := range req.Topics {
			switch {
			case t.Topic == nil:
				metadataError(c, req, resp, "Topic name can not be null for version "+strconv.Itoa(int(v)))
				return
			case t.TopicID != [16]byte{}:
				metadataError(c, req, resp, "Topic IDs are not supported in requests for version "+strconv.Itoa(int(v)))
				return
			}
		}
	}

	img := h.image()
	var topics []kmsg.MetadataResponseTopic
	switch {
	case allTopics:
		for _, t := range img.Topics() {
			topics = append(topics, metadataTopic(t))
		}
	case hasTopicIDs(req.Topics):
		seen := map[[16]byte]bool{}
		for _, rt := range req.Topics {
			if rt.TopicID == [16]byte{} || seen[rt.TopicID] {
				continue
			}
			seen[rt.TopicID] = true
			if t := img.TopicByID(metadata.UUID(rt.TopicID)); t != nil {
				topics = append(topics, metadataTopic(t))
				continue
			}
			mt := kmsg.NewMetadataResponseTopic()
			mt.ErrorCode = kerr.UnknownTopicID.Code
			mt.TopicID = rt.TopicID
			mt.Partitions = []kmsg.MetadataResponseTopicPartition{}
			topics = append(topics, mt)
		}
	default:
		autoCreate := h.config().Broker().AutoCreateTopicsEnable && (v < 4 || req.AllowAutoTopicCreation)
		topics, img = h.namedTopics(img, req.Topics, autoCreate)
	}

	view := h.clusterView(img, c.Req.Conn.Listener(), c.Req.Conn.LocalAddr())
	for _, n := range view.nodes {
		if n.fenced {
			continue
		}
		b := kmsg.NewMetadataResponseBroker()
		b.NodeID, b.Host, b.Port, b.Rack = n.id, n.host, n.port, n.rack
		resp.Brokers = append(resp.Brokers, b)
	}
	if v >= 2 {
		resp.ClusterID = strp(h.deps.ClusterID)
	}
	resp.ControllerID = view.controllerID(h.deps.NodeID)

	for i := range topics {
		t := &topics[i]
		if t.ErrorCode == 0 {
			fillPartitions(t, img, view, v)
		}
		if v >= 8 && req.IncludeTopicAuthorizedOperations {
			t.AuthorizedOperations = topicAuthorizedOps
		}
	}
	resp.Topics = topics
	if v >= 8 && v <= 10 && req.IncludeClusterAuthorizedOperations {
		resp.AuthorizedOperations = clusterAuthorizedOps
	}
	c.respond(resp)
}

// metadataError answers a request Kafka rejects as a whole
// (MetadataRequest.getErrorResponse): every requested topic, and from v13
// the top level, carry INVALID_REQUEST.
func metadataError(c *Context, req *kmsg.MetadataRequest, resp *kmsg.MetadataResponse, msg string) {
	c.h.log.Info("invalid metadata request", "version", c.Version(), "reason", msg, "remote", c.Req.Conn.RemoteAddr())
	for _, rt := range req.Topics {
		t := kmsg.NewMetadataResponseTopic()
		t.ErrorCode = kerr.InvalidRequest.Code
		name := ""
		if rt.Topic != nil {
			name = *rt.Topic
		}
		t.Topic = &name
		t.TopicID = rt.TopicID
		t.Partitions = []kmsg.MetadataResponseTopicPartition{}
		resp.Topics = append(resp.Topics, t)
	}
	resp.ControllerID = -1
	resp.ErrorCode = kerr.InvalidRequest.Code
	c.respond(resp)
}

func hasTopicIDs(ts []kmsg.MetadataRequestTopic) bool {
	for _, t := range ts {
		if t.TopicID != [16]byte{} {
			return true
		}
	}
	return false
}

// metadataTopic describes an existing topic; fillPartitions adds the
// partitions once the cluster view is known.
func metadataTopic(t *metadata.Topic) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	mt.Topic = strp(t.Name)
	mt.TopicID = [16]byte(t.ID)
	mt.IsInternal = t.Internal || isInternalTopicName(t.Name)
	return mt
}

// namedTopics resolves the topics a request names, creating the missing
// ones when autoCreate is set, and returns them in request order (each name
// once) with the image that includes any topic it created.
func (h *Handler) namedTopics(img *metadata.Image, reqTopics []kmsg.MetadataRequestTopic, autoCreate bool) ([]kmsg.MetadataResponseTopic, *metadata.Image) {
	var names []string
	seen := map[string]bool{}
	for _, rt := range reqTopics {
		if rt.Topic == nil || seen[*rt.Topic] {
			continue
		}
		seen[*rt.Topic] = true
		names = append(names, *rt.Topic)
	}

	// What to create: valid names that do not exist and that this broker
	// may create (never the metadata log's name, nor the share-group state
	// topic, whose coordinator Samsa does not have).
	var creates []metadata.CreateTopicRequest
	if autoCreate && h.deps.Controller != nil {
		b := h.config().Broker()
		for _, name := range names {
			if img.Topic(name) != nil || metadata.ValidateTopicName(name) != nil {
				continue
			}
			if r, ok := autoCreateRequest(name, b); ok {
				creates = append(creates, r)
			}
		}
	}
	createErr := map[string]error{}
	if len(creates) > 0 {
		for _, res := range h.deps.Controller.CreateTopics(creates, false) {
			switch {
			case res.Err == nil:
				h.log.Info("auto-created topic", "topic", res.Name, "partitions", res.NumPartitions,
					"replication_factor", res.ReplicationFactor)
			case errors.Is(res.Err, metadata.ErrTopicExists):
				// Created concurrently by another request: it exists.
			default:
				h.log.Warn("auto topic creation failed", "topic", res.Name, "err", res.Err)
				createErr[res.Name] = res.Err
			}
		}
		img = h.image()
	}

	out := make([]kmsg.MetadataResponseTopic, 0, len(names))
	for _, name := range names {
		if t := img.Topic(name); t != nil {
			out = append(out, metadataTopic(t))
			continue
		}
		mt := kmsg.NewMetadataResponseTopic()
		mt.Topic = strp(name)
		mt.IsInternal = isInternalTopicName(name)
		mt.Partitions = []kmsg.MetadataResponseTopicPartition{}
		switch err := createErr[name]; {
		case metadata.ValidateTopicName(name) != nil:
			mt.ErrorCode = kerr.InvalidTopicException.Code
		case err != nil && errors.Is(err, metadata.ErrInvalidTopic):
			// A name that collides with an existing one ('.' vs '_').
			// Kafka would keep answering UNKNOWN_TOPIC_OR_PARTITION and
			// log the failure; the client would retry until its timeout.
			// Saying why is kinder, and clients treat it as final.
			mt.ErrorCode = kerr.InvalidTopicException.Code
		default:
			mt.ErrorCode = kerr.UnknownTopicOrPartition.Code
		}
		out = append(out, mt)
	}
	return out, img
}

// autoCreateRequest is what Kafka's DefaultAutoTopicCreationManager asks the
// controller for when a client's Metadata names a missing topic: the
// coordinators' partition counts, replication factors and configs for their
// internal topics, the broker defaults for everything else. ok is false for
// names the broker must not create.
func autoCreateRequest(name string, b *config.Broker) (metadata.CreateTopicRequest, bool) {
	switch name {
	case groupMetadataTopic:
		return metadata.CreateTopicRequest{
			Name:              name,
			NumPartitions:     b.OffsetsTopicNumPartitions,
			ReplicationFactor: b.OffsetsTopicReplicationFactor,
			Internal:          true,
			Configs: map[string]*string{
				config.TopicCleanupPolicy:   strp("compact"),
				config.TopicCompressionType: strp("producer"),
				config.TopicSegmentBytes:    strp(strconv.Itoa(int(b.OffsetsTopicSegmentBytes))),
			},
		}, true
	case transactionStateTopic:
		return metadata.CreateTopicRequest{
			Name:              name,
			NumPartitions:     b.TransactionStateLogNumPartitions,
			ReplicationFactor: b.TransactionStateLogReplication,
			Internal:          true,
			Configs: map[string]*string{
				config.TopicUncleanLeaderElectionEnable: strp("false"),
				config.TopicCompressionType:             strp("uncompressed"),
				config.TopicCleanupPolicy:               strp("compact"),
				config.TopicMinInsyncReplicas:           strp(strconv.Itoa(int(b.TransactionStateLogMinISR))),
				config.TopicSegmentBytes:                strp(strconv.Itoa(int(b.TransactionStateLogSegmentBytes))),
			},
		}, true
	case shareGroupStateTopic, clusterMetadataTopic:
		return metadata.CreateTopicRequest{}, false
	}
	return metadata.CreateTopicRequest{
		Name:              name,
		NumPartitions:     b.NumPartitions,
		ReplicationFactor: int16(b.DefaultReplicationFactor),
	}, true
}

// fillPartitions adds t's partitions as KRaftMetadataCache.partitionMetadata
// describes them to a client on the view's listener.
func fillPartitions(t *kmsg.MetadataResponseTopic, img *metadata.Image, view *clusterView, v int16) {
	topic := img.TopicByID(metadata.UUID(t.TopicID))
	if topic == nil {
		t.Partitions = []kmsg.MetadataResponseTopicPartition{}
		return
	}
	// Version 0 lists only replicas it can give endpoints for (and says
	// REPLICA_NOT_AVAILABLE when that drops some); later versions list
	// them all and leave the brokers list to say who is reachable.
	filter := v == 0
	t.Partitions = make([]kmsg.MetadataResponseTopicPartition, 0, len(topic.Partitions))
	for _, p := range topic.Partitions {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = p.ID
		mp.LeaderEpoch = p.LeaderEpoch
		mp.Replicas = aliveReplicas(view, p.Replicas, filter)
		mp.ISR = aliveReplicas(view, p.ISR, filter)
		mp.OfflineReplicas = []int32{}
		for _, r := range p.Replicas {
			if _, ok := view.alive(r); !ok {
				mp.OfflineReplicas = append(mp.OfflineReplicas, r)
			}
		}
		if _, ok := view.alive(p.Leader); ok && p.Leader != metadata.NoLeader {
			mp.Leader = p.Leader
			if len(mp.Replicas) < len(p.Replicas) || len(mp.ISR) < len(p.ISR) {
				mp.ErrorCode = kerr.ReplicaNotAvailable.Code
			}
		} else {
			mp.Leader = -1
			switch {
			case p.Leader == metadata.NoLeader || !view.registered[p.Leader]:
				mp.ErrorCode = kerr.LeaderNotAvailable.Code
			case v >= 6:
				// Registered, but fenced or without this listener:
				// from v6 Kafka names the likely misconfiguration.
				mp.ErrorCode = kerr.ListenerNotFound.Code
			default:
				mp.ErrorCode = kerr.LeaderNotAvailable.Code
			}
		}
		t.Partitions = append(t.Partitions, mp)
	}
}

// aliveReplicas returns ids, or with filter only those alive on the view.
// The result is a new slice: responses never alias the image.
func aliveReplicas(view *clusterView, ids []int32, filter bool) []int32 {
	out := make([]int32, 0, len(ids))
	for _, id := range ids {
		if !filter {
			out = append(out, id)
		} else if _, ok := view.alive(id); ok {
			out = append(out, id)
		}
	}
	return out
}
