package handler

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

// OffsetFetch (key 9) returns groups' committed offsets: v1-v7 for one
// group, v8+ for several (each from the shard that owns it), v10 (Kafka
// 4.1) with topics named by ID. RequireStable (v7+) is accepted; with no
// transactional offset commits yet, every offset is stable.
//
// Kafka 4 serves v1 and up (KIP-896 dropped v0).
func init() {
	register(kmsg.OffsetFetch.Int16(), 1, -1, serveOffsetFetch)
}

func serveOffsetFetch(h *Handler, c *Context, req *kmsg.OffsetFetchRequest) {
	v := c.Version()
	if h.deps.Groups == nil {
		c.respond(offsetFetchError(req, codeCoordinatorNotAvailable))
		return
	}
	if v < 10 {
		h.deps.Groups.OffsetFetch(req, func(resp *kmsg.OffsetFetchResponse) { c.respond(resp) })
		return
	}
	// v10: name the topics for the coordinator, then put the IDs back.
	im := h.image()
	fwd := *req
	fwd.Groups = make([]kmsg.OffsetFetchRequestGroup, len(req.Groups))
	unknown := map[[16]byte]bool{}
	for i, g := range req.Groups {
		fg := g
		if g.Topics != nil {
			fg.Topics = make([]kmsg.OffsetFetchRequestGroupTopic, len(g.Topics))
			for j, t := range g.Topics {
				ft := t
				if tt := im.TopicByID(metadata.UUID(t.TopicID)); tt != nil {
					ft.Topic = tt.Name
				} else {
					unknown[t.TopicID] = true
				}
				fg.Topics[j] = ft
			}
		}
		fwd.Groups[i] = fg
	}
	h.deps.Groups.OffsetFetch(&fwd, func(resp *kmsg.OffsetFetchResponse) {
		for i := range resp.Groups {
			g := &resp.Groups[i]
			kept := g.Topics[:0]
			for _, t := range g.Topics {
				switch {
				case t.TopicID != [16]byte{} && unknown[t.TopicID]:
					for k := range t.Partitions {
						t.Partitions[k].ErrorCode = kerr.UnknownTopicID.Code
					}
				case t.TopicID == [16]byte{}:
					// A topic of an all-topics fetch: name it by ID, or
					// leave it out if it no longer exists.
					tt := im.Topic(t.Topic)
					if tt == nil {
						continue
					}
					t.TopicID = tt.ID
				}
				kept = append(kept, t)
			}
			g.Topics = kept
		}
		c.respond(resp)
	})
}

// offsetFetchError answers every group of req with code: per group from
// v8, top-level in v2-v7, per requested partition in v1.
func offsetFetchError(req *kmsg.OffsetFetchRequest, code int16) *kmsg.OffsetFetchResponse {
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	switch v := req.Version; {
	case v >= 8:
		for _, g := range req.Groups {
			rg := kmsg.NewOffsetFetchResponseGroup()
			rg.Group = g.Group
			rg.ErrorCode = code
			resp.Groups = append(resp.Groups, rg)
		}
	case v >= 2:
		resp.ErrorCode = code
	default:
		for _, t := range req.Topics {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition = p
				rp.Offset = -1
				rp.ErrorCode = code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
	}
	return resp
}
