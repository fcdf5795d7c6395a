package handler

import (
	"errors"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

// FindCoordinator (key 10) tells a client which broker coordinates its
// group: the leader of the __consumer_offsets partition the group id hashes
// to. v4 (KIP-699) looks up a batch of keys at once, v5 (KIP-890) and v6
// (KIP-932) change no field, only what the client promises to understand.
//
// v0 is served although KIP-896 drops it from Kafka 4: it is v1 without
// the key type (always a group), so it costs nothing, and two clients
// still find their group coordinator with v0 only, kafka-go (segmentio,
// through 0.4.x) and kafka-python before 2.1 (the version Debian ships);
// without it their consumers could not use a group at all.
func init() {
	register(kmsg.FindCoordinator.Int16(), 0, -1, serveFindCoordinator)
}

// Kafka's CoordinatorType ids, the request's key type.
const (
	coordinatorGroup       int8 = 0
	coordinatorTransaction int8 = 1
	coordinatorShare       int8 = 2
)

// coordinatorAnswer is the outcome of one key's lookup: the coordinator's
// node, or an error code with Kafka's Node.noNode (-1, "", -1).
type coordinatorAnswer struct {
	code int16
	msg  *string // nil: the code's standard text where the version has a message
	node int32
	host string
	port int32
}

func coordinatorError(code int16, msg string) coordinatorAnswer {
	a := coordinatorAnswer{code: code, node: -1, port: -1}
	if msg != "" {
		a.msg = &msg
	}
	return a
}

// serveFindCoordinator is Kafka's KafkaApis.handleFindCoordinatorRequest
// (both the single-key path below v4 and the batched one) over
// getCoordinator:
//
//   - group keys: the group id hashes to a __consumer_offsets partition
//     (the group coordinator's PartitionFor); the answer is that
//     partition's leader, with its endpoint on the listener the request
//     arrived on, as Metadata describes brokers. If the topic does not
//     exist yet it is created as Kafka's AutoTopicCreationManager creates
//     it (offsets.topic.num.partitions, offsets.topic.replication.factor,
//     compacted; whether or not auto.create.topics.enable is set). Kafka
//     answers COORDINATOR_NOT_AVAILABLE to the request that triggers the
//     creation and the client retries; this broker's controller commits
//     synchronously and hosts the partitions before it returns, so the
//     answer is usually the coordinator at once, and
//     COORDINATOR_NOT_AVAILABLE only when the partition has no reachable
//     leader yet. Whether the coordinator has finished loading the
//     partition is for the group APIs to say (COORDINATOR_LOAD_IN_PROGRESS),
//     as in Kafka. A group id is not validated here (Kafka hashes any
//     string, the empty one too; JoinGroup refuses an invalid one).
//   - transactional ids: TRANSACTIONAL_ID_AUTHORIZATION_FAILED, for the
//     reason InitProducerId gives it (22_init_producer_id.go): this broker
//     has no transaction coordinator yet, and every client treats that
//     code as final and reports it, where a retriable code would have
//     them retry until a timeout and hide the cause.
//   - share groups: INVALID_REQUEST, as Kafka answers below v6 and from v6
//     when share groups are not enabled (this broker has none).
//   - any other key type: Kafka's CoordinatorType.forId throws, which
//     fails the whole request with INVALID_REQUEST.
func serveFindCoordinator(h *Handler, c *Context, req *kmsg.FindCoordinatorRequest) {
	v := c.Version()
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	keys := req.CoordinatorKeys
	if v < 4 {
		keys = []string{req.CoordinatorKey}
	}
	keyType := req.CoordinatorType // 0 (group) below v1: the field is absent

	look := &coordinatorLookup{h: h, c: c}
	answers := make([]coordinatorAnswer, len(keys))
	switch keyType {
	case coordinatorGroup, coordinatorTransaction, coordinatorShare:
		for i, key := range keys {
			answers[i] = look.find(keyType, key)
		}
	default:
		h.log.Info("invalid find coordinator request", "key_type", keyType, "remote", c.Req.Conn.RemoteAddr())
		for i := range answers {
			answers[i] = coordinatorError(kerr.InvalidRequest.Code,
				"Unknown coordinator type received: "+strconv.Itoa(int(keyType)))
		}
	}

	if v < 4 {
		a := answers[0]
		resp.ErrorCode, resp.NodeID, resp.Host, resp.Port = a.code, a.node, a.host, a.port
		resp.ErrorMessage = a.msg
		if resp.ErrorMessage == nil {
			// Kafka sets Errors.message(): the exception's text, or on
			// success the enum's name, "NONE".
			if e := kerr.ErrorForCode(a.code); e != nil {
				resp.ErrorMessage = strp(e.(*kerr.Error).Description)
			} else {
				resp.ErrorMessage = strp("NONE")
			}
		}
		c.respond(resp)
		return
	}
	resp.Coordinators = make([]kmsg.FindCoordinatorResponseCoordinator, len(keys))
	for i, key := range keys {
		a := answers[i]
		co := kmsg.NewFindCoordinatorResponseCoordinator()
		co.Key = key
		co.NodeID, co.Host, co.Port = a.node, a.host, a.port
		co.ErrorCode, co.ErrorMessage = a.code, a.msg
		if a.code != 0 && co.ErrorMessage == nil {
			co.ErrorMessage = strp(kerr.ErrorForCode(a.code).(*kerr.Error).Description)
		}
		resp.Coordinators[i] = co
	}
	c.respond(resp)
}

// coordinatorLookup answers the keys of one request from one metadata
// image and one cluster view, taken when first needed and taken again once
// after it creates __consumer_offsets, so that a batch of keys creates the
// topic at most once.
type coordinatorLookup struct {
	h       *Handler
	c       *Context
	img     *metadata.Image
	view    *clusterView
	created bool // creating __consumer_offsets was tried
}

func (l *coordinatorLookup) refresh() {
	l.img = l.h.image()
	l.view = l.h.clusterView(l.img, l.c.Req.Conn.Listener(), l.c.Req.Conn.LocalAddr())
}

// find answers one key of type keyType.
func (l *coordinatorLookup) find(keyType int8, key string) coordinatorAnswer {
	switch keyType {
	case coordinatorTransaction:
		return coordinatorError(kerr.TransactionalIDAuthorizationFailed.Code,
			"transactions are not supported by this broker yet")
	case coordinatorShare:
		return coordinatorError(kerr.InvalidRequest.Code, "share groups are not supported by this broker")
	}

	h := l.h
	if h.deps.Groups == nil {
		return coordinatorError(kerr.CoordinatorNotAvailable.Code, "")
	}
	partition := h.deps.Groups.PartitionFor(key)
	if l.img == nil {
		l.refresh()
	}
	topic := l.img.Topic(groupMetadataTopic)
	if topic == nil && !l.created {
		l.created = true
		h.createOffsetsTopic()
		l.refresh()
		topic = l.img.Topic(groupMetadataTopic)
	}
	if topic == nil {
		return coordinatorError(kerr.CoordinatorNotAvailable.Code, "")
	}
	p, ok := topic.Partition(partition)
	if !ok || p.Leader == metadata.NoLeader {
		return coordinatorError(kerr.CoordinatorNotAvailable.Code, "")
	}
	n, ok := l.view.alive(p.Leader)
	if !ok {
		return coordinatorError(kerr.CoordinatorNotAvailable.Code, "")
	}
	return coordinatorAnswer{node: n.id, host: n.host, port: n.port}
}

// createOffsetsTopic asks the controller for __consumer_offsets with the
// group coordinator's settings (autoCreateRequest), as Kafka's
// getOrCreateInternalTopic does. A topic created concurrently by another
// request counts as success; any other failure is logged and the caller
// answers COORDINATOR_NOT_AVAILABLE, so the client retries.
func (h *Handler) createOffsetsTopic() {
	if h.deps.Controller == nil {
		return
	}
	r, _ := autoCreateRequest(groupMetadataTopic, h.config().Broker())
	res, err := h.deps.Controller.CreateTopic(r, false)
	switch {
	case err == nil:
		h.log.Info("created the offsets topic", "topic", res.Name, "partitions", res.NumPartitions,
			"replication_factor", res.ReplicationFactor)
	case errors.Is(err, metadata.ErrTopicExists):
	default:
		h.log.Warn("creating the offsets topic failed", "topic", groupMetadataTopic, "err", err)
	}
}
