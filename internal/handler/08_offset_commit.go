package handler

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

// OffsetCommit (key 8) stores a group's consumed positions in
// __consumer_offsets through the group coordinator.
//
// Kafka 4 serves v2 and up (KIP-896 dropped v0 and v1); v10 (Kafka 4.1)
// names topics by ID.
func init() {
	register(kmsg.OffsetCommit.Int16(), 2, -1, serveOffsetCommit)
}

// codeCoordinatorNotAvailable answers the group APIs when the broker runs
// no group coordinator.
var codeCoordinatorNotAvailable = kerr.CoordinatorNotAvailable.Code

// serveOffsetCommit is Kafka's KafkaApis.handleOffsetCommitRequest: the
// partitions of topics the metadata does not know (or, v10, topic IDs it
// does not know) are refused here with UNKNOWN_TOPIC_OR_PARTITION
// (UNKNOWN_TOPIC_ID); the rest go to the coordinator, and the answers are
// merged in request order.
func serveOffsetCommit(h *Handler, c *Context, req *kmsg.OffsetCommitRequest) {
	im := h.image()
	type key struct {
		topic     int // index in req.Topics
		partition int // index in its Partitions
	}
	refused := map[key]int16{}
	// forwarded lists the entries sent to the coordinator, in the order
	// it answers them: its answer is matched back by position, not by
	// topic and partition, so that a partition named twice gets each
	// entry's own code.
	var forwarded []key
	fwd := *req
	fwd.Topics = nil
	for i, rt := range req.Topics {
		name := rt.Topic
		code := int16(0)
		if c.Version() >= 10 {
			if t := im.TopicByID(metadata.UUID(rt.TopicID)); t != nil {
				name = t.Name
			} else {
				code = kerr.UnknownTopicID.Code
			}
		} else if im.Topic(name) == nil {
			code = kerr.UnknownTopicOrPartition.Code
		}
		ft := rt
		ft.Topic = name
		ft.Partitions = nil
		for j, rp := range rt.Partitions {
			pc := code
			if pc == 0 {
				if _, ok := im.Partition(name, rp.Partition); !ok {
					pc = kerr.UnknownTopicOrPartition.Code
				}
			}
			if pc == 0 && h.deps.Groups == nil {
				pc = codeCoordinatorNotAvailable
			}
			if pc != 0 {
				refused[key{i, j}] = pc
				continue
			}
			ft.Partitions = append(ft.Partitions, rp)
			forwarded = append(forwarded, key{i, j})
		}
		if len(ft.Partitions) > 0 {
			fwd.Topics = append(fwd.Topics, ft)
		}
	}
	finish := func(codes map[key]int16) {
		resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
		for i, rt := range req.Topics {
			t := kmsg.NewOffsetCommitResponseTopic()
			t.Topic = rt.Topic
			t.TopicID = rt.TopicID
			for j, rp := range rt.Partitions {
				p := kmsg.NewOffsetCommitResponseTopicPartition()
				p.Partition = rp.Partition
				if code, ok := refused[key{i, j}]; ok {
					p.ErrorCode = code
				} else if code, ok := codes[key{i, j}]; ok {
					p.ErrorCode = code
				} else {
					// The coordinator answers every entry it is given.
					p.ErrorCode = kerr.UnknownServerError.Code
				}
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		c.respond(resp)
	}
	if len(fwd.Topics) == 0 {
		finish(nil)
		return
	}
	h.deps.Groups.OffsetCommit(&fwd, func(resp *kmsg.OffsetCommitResponse) {
		codes := make(map[key]int16, len(forwarded))
		n := 0
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if n < len(forwarded) {
					codes[forwarded[n]] = p.ErrorCode
				}
				n++
			}
		}
		finish(codes)
	})
}
