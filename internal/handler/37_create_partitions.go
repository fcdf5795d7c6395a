package handler

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

// CreatePartitions: every version since 0 is still served by Kafka 4.
func init() {
	register(kmsg.CreatePartitions.Int16(), 0, -1, serveCreatePartitions)
}

// serveCreatePartitions grows topics through the metadata controller, as
// Kafka's ControllerApis.createPartitions: a topic named twice fails once
// with INVALID_REQUEST "Duplicate topic name."; the rest succeed or fail
// one by one with the controller's checks (UNKNOWN_TOPIC_OR_PARTITION,
// INVALID_PARTITIONS when the count does not grow the topic,
// INVALID_REPLICA_ASSIGNMENT for a manual assignment that does not fit).
// New partitions get partition 0's replication factor. validate_only checks
// without creating; the timeout cannot expire (the commit is synchronous).
func serveCreatePartitions(h *Handler, c *Context, req *kmsg.CreatePartitionsRequest) {
	resp := kmsg.NewPtrCreatePartitionsResponse()
	count := map[string]int{}
	for _, t := range req.Topics {
		count[t.Topic]++
	}
	results := map[string]*kmsg.CreatePartitionsResponseTopic{}
	var order []string
	var reqs []metadata.CreatePartitionsRequest
	for _, t := range req.Topics {
		if results[t.Topic] != nil {
			continue
		}
		r := kmsg.NewCreatePartitionsResponseTopic()
		r.Topic = t.Topic
		results[t.Topic] = &r
		order = append(order, t.Topic)
		if count[t.Topic] > 1 {
			r.ErrorCode = kerr.InvalidRequest.Code
			r.ErrorMessage = strp("Duplicate topic name.")
			continue
		}
		cp := metadata.CreatePartitionsRequest{Topic: t.Topic, Count: t.Count}
		if t.Assignment != nil {
			// A non-null (possibly empty) list is a manual assignment.
			cp.Assignments = make([][]int32, 0, len(t.Assignment))
			for _, a := range t.Assignment {
				cp.Assignments = append(cp.Assignments, a.Replicas)
			}
		}
		reqs = append(reqs, cp)
	}
	if len(reqs) > 0 {
		var errs []error
		if h.deps.Controller != nil {
			errs = h.deps.Controller.CreatePartitions(reqs, req.ValidateOnly)
		}
		for i, cp := range reqs {
			r := results[cp.Topic]
			if errs == nil {
				r.ErrorCode = kerr.NotController.Code
				continue
			}
			r.ErrorCode, r.ErrorMessage = adminError(errs[i])
		}
	}
	for _, name := range order {
		resp.Topics = append(resp.Topics, *results[name])
	}
	c.respond(resp)
}
