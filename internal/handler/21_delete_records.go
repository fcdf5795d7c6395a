package handler

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/replica"
)

func init() {
	register(kmsg.DeleteRecords.Int16(), 0, -1, serveDeleteRecords)
}

// serveDeleteRecords is Kafka's handleDeleteRecordsRequest with
// ReplicaManager.deleteRecordsOnLocalLog: each partition's log start
// offset moves up to the requested offset (-1: the high watermark), and
// the answer is its low watermark. Kafka's rules, per partition: unknown
// partitions answer UNKNOWN_TOPIC_OR_PARTITION (NOT_LEADER_OR_FOLLOWER if
// known but not led here), internal topics INVALID_TOPIC_EXCEPTION, an
// offset beyond the high watermark (or below -1) OFFSET_OUT_OF_RANGE, a
// topic whose cleanup.policy lacks delete POLICY_VIOLATION. A partition
// named twice is applied and answered once, for its last offset, as
// Kafka's request map does.
//
// Kafka parks the answer until every live replica's log start offset has
// caught up (DelayedDeleteRecords); with the leader alone that is at once,
// which is the only case until followers exist.
func serveDeleteRecords(h *Handler, c *Context, req *kmsg.DeleteRecordsRequest) {
	im := h.produceImage()
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	type slot struct{ topic, partition int }
	seen := map[replica.TopicPartition]slot{}
	byTopic := map[string]int{}
	// Only the last occurrence of a partition is applied (Kafka's request
	// map); an earlier one just holds its place in the response.
	last := map[replica.TopicPartition]int{}
	n := 0
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			last[replica.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}] = n
			n++
		}
	}
	n = 0
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			tp := replica.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}
			s, dup := seen[tp]
			if !dup {
				ti, ok := byTopic[rt.Topic]
				if !ok {
					t := kmsg.NewDeleteRecordsResponseTopic()
					t.Topic = rt.Topic
					resp.Topics = append(resp.Topics, t)
					ti = len(resp.Topics) - 1
					byTopic[rt.Topic] = ti
				}
				resp.Topics[ti].Partitions = append(resp.Topics[ti].Partitions, kmsg.DeleteRecordsResponseTopicPartition{})
				s = slot{ti, len(resp.Topics[ti].Partitions) - 1}
				seen[tp] = s
			}
			n++
			if last[tp] != n-1 {
				continue
			}
			p := kmsg.NewDeleteRecordsResponseTopicPartition()
			p.Partition = rp.Partition
			p.LowWatermark = -1
			switch topic := im.Topic(rt.Topic); {
			case topic == nil:
				p.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case !topicHasPartition(topic, rp.Partition):
				p.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case isInternalTopic(topic):
				p.ErrorCode = kerr.InvalidTopicException.Code
			case h.deps.Replicas == nil:
				p.ErrorCode = errorCode(errNoReplicas)
			default:
				lw, err := h.deps.Replicas.DeleteRecords(tp, rp.Offset)
				if err != nil {
					p.ErrorCode = partitionErrorCode(im, tp, err)
				} else {
					p.LowWatermark = lw
				}
			}
			resp.Topics[s.topic].Partitions[s.partition] = p
		}
	}
	c.respond(resp)
}

// topicHasPartition reports whether topic has partition p.
func topicHasPartition(topic *metadata.Topic, p int32) bool {
	_, ok := topic.Partition(p)
	return ok
}
