package handler

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/replica"
)

func init() {
	register(kmsg.OffsetForLeaderEpoch.Int16(), 0, -1, serveOffsetForLeaderEpoch)
}

// serveOffsetForLeaderEpoch is Kafka's handleOffsetForLeaderEpochRequest
// with ReplicaManager.lastOffsetForLeaderEpoch. Consumers (replica id -1,
// KIP-320: checking their position after a leader change) and followers
// (replica id >= 0, or any request before v3, which has no replica id:
// finding where to truncate) are answered alike, by the leader only: for
// each partition, the largest epoch at or below the requested one that the
// log knows and the offset where the epoch after it starts (the log end
// offset for the current epoch), or -1 and -1. CurrentLeaderEpoch (v2+;
// -1 skips) is checked as in KIP-320: FENCED_LEADER_EPOCH if older,
// UNKNOWN_LEADER_EPOCH if newer. Partitions this node does not lead answer
// NOT_LEADER_OR_FOLLOWER, unknown ones UNKNOWN_TOPIC_OR_PARTITION.
func serveOffsetForLeaderEpoch(h *Handler, c *Context, req *kmsg.OffsetForLeaderEpochRequest) {
	im := h.produceImage()
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, rt := range req.Topics {
		t := kmsg.NewOffsetForLeaderEpochResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			tp := replica.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}
			p := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			p.Partition = rp.Partition
			p.LeaderEpoch, p.EndOffset = -1, -1
			current := rp.CurrentLeaderEpoch
			if c.Version() < 2 {
				current = -1 // not on the wire before v2
			}
			switch {
			case h.deps.Replicas == nil:
				p.ErrorCode = errorCode(errNoReplicas)
			default:
				epoch, end, err := h.deps.Replicas.EndOffsetForEpoch(tp, current, rp.LeaderEpoch)
				if err != nil {
					p.ErrorCode = partitionErrorCode(im, tp, err)
					break
				}
				p.LeaderEpoch, p.EndOffset = epoch, end
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	c.respond(resp)
}
