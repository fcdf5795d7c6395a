package handler

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/replica"
)

func init() {
	// Kafka 4 serves v1 and up (KIP-896 dropped v0); v0 is served here
	// too, with its OldStyleOffsets answer, for clients that never moved on.
	register(kmsg.ListOffsets.Int16(), 0, -1, serveListOffsets)
}

// ListOffsets replica ids (ListOffsetsRequest's constants).
const (
	listOffsetsConsumer  int32 = -1 // CONSUMER_REPLICA_ID: isolation level applies
	listOffsetsDebugging int32 = -2 // DEBUGGING_REPLICA_ID
)

// serveListOffsets is Kafka's handleListOffsetRequest: v0 through
// handleListOffsetRequestV0 (segment-boundary offsets, Kafka 2.x's
// legacyFetchOffsetsBefore), v1+ through fetchOffsetForTimestamp. For v1+
// a partition named twice in the request answers INVALID_REQUEST for every
// occurrence; the isolation level applies to consumers (replica id -1),
// and replicas see up to the log end offset; a lookup that cannot answer
// yet on a new leader answers OFFSET_NOT_AVAILABLE (LEADER_NOT_AVAILABLE
// before v5). Unknown partitions answer UNKNOWN_TOPIC_OR_PARTITION, known
// ones this node does not lead NOT_LEADER_OR_FOLLOWER.
func serveListOffsets(h *Handler, c *Context, req *kmsg.ListOffsetsRequest) {
	v := c.Version()
	im := h.produceImage()
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)

	dups := map[replica.TopicPartition]int{}
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			dups[replica.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}]++
		}
	}
	isolation := replica.IsolationNone
	if req.ReplicaID == listOffsetsConsumer {
		isolation = req.IsolationLevel
		if isolation != replica.ReadCommitted {
			isolation = replica.ReadUncommitted
		}
	}

	for _, rt := range req.Topics {
		t := kmsg.NewListOffsetsResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			tp := replica.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}
			var p kmsg.ListOffsetsResponseTopicPartition
			if v == 0 {
				p = h.listOffsetsV0(im, tp, rp, req.ReplicaID == listOffsetsConsumer)
			} else {
				p = kmsg.NewListOffsetsResponseTopicPartition()
				p.Partition = rp.Partition
				p.Timestamp, p.Offset = -1, -1
				if dups[tp] > 1 {
					p.ErrorCode = kerr.InvalidRequest.Code
				} else {
					h.listOffset(&p, im, tp, rp, isolation, v)
				}
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	c.respond(resp)
}

// listOffset fills one v1+ partition answer.
func (h *Handler) listOffset(p *kmsg.ListOffsetsResponseTopicPartition, im *metadata.Image, tp replica.TopicPartition,
	rp kmsg.ListOffsetsRequestTopicPartition, isolation int8, v int16) {
	if h.deps.Replicas == nil {
		p.ErrorCode = errorCode(errNoReplicas)
		return
	}
	off, ts, epoch, err := h.deps.Replicas.ListOffset(tp, rp.Timestamp, isolation, rp.CurrentLeaderEpoch)
	if err != nil {
		p.ErrorCode = partitionErrorCode(im, tp, err)
		if errors.Is(err, replica.ErrOffsetNotAvailable) && v < 5 {
			p.ErrorCode = kerr.LeaderNotAvailable.Code
		}
		return
	}
	p.Timestamp, p.Offset = ts, off
	if v >= 4 {
		p.LeaderEpoch = epoch
	}
}

// listOffsetsV0 answers one v0 partition: OldStyleOffsets, newest first.
func (h *Handler) listOffsetsV0(im *metadata.Image, tp replica.TopicPartition, rp kmsg.ListOffsetsRequestTopicPartition, fromConsumer bool) kmsg.ListOffsetsResponseTopicPartition {
	p := kmsg.NewListOffsetsResponseTopicPartition()
	p.Partition = rp.Partition
	if h.deps.Replicas == nil {
		p.ErrorCode = errorCode(errNoReplicas)
		return p
	}
	offsets, err := h.deps.Replicas.LegacyListOffsets(tp, rp.Timestamp, rp.MaxNumOffsets, fromConsumer)
	if err != nil {
		p.ErrorCode = partitionErrorCode(im, tp, err)
		return p
	}
	p.OldStyleOffsets = offsets
	if p.OldStyleOffsets == nil {
		p.OldStyleOffsets = []int64{}
	}
	return p
}
