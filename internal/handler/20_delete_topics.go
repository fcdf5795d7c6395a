package handler

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

// DeleteTopics: version 0 was removed in Kafka 4.0 (KIP-896); v6 names
// topics by name or by topic ID.
func init() {
	register(kmsg.DeleteTopics.Int16(), 1, -1, serveDeleteTopics)
}

// serveDeleteTopics deletes topics through the metadata controller with the
// rules of Kafka's ControllerApis.deleteTopics:
//
//   - delete.topic.enable=false fails every topic with
//     TOPIC_DELETION_DISABLED (INVALID_REQUEST before v3, which has no such
//     code);
//   - a name given twice, an ID given twice, an entry with both or neither,
//     and a name resolving to an ID also given fail with INVALID_REQUEST and
//     Kafka's messages;
//   - an unknown name gets UNKNOWN_TOPIC_OR_PARTITION, an unknown ID
//     UNKNOWN_TOPIC_ID.
//
// Internal topics are not protected: Kafka's KRaft controller deletes
// __consumer_offsets when asked (and the coordinator loses its state), so
// Samsa does the same rather than invent an error code.
//
// The partitions' logs are removed by the metadata listener that hosts
// partitions (replica.RemovePartition), which runs before the commit
// returns. As with CreateTopics, the deletion is committed synchronously, so
// timeout_ms cannot expire.
func serveDeleteTopics(h *Handler, c *Context, req *kmsg.DeleteTopicsRequest) {
	v := c.Version()
	resp := kmsg.NewPtrDeleteTopicsResponse()

	// Normalise both wire forms to (name, id) entries.
	type entry struct {
		name *string
		id   [16]byte
	}
	var entries []entry
	if v >= 6 {
		for _, t := range req.Topics {
			entries = append(entries, entry{name: t.Topic, id: t.TopicID})
		}
	} else {
		for _, n := range req.TopicNames {
			entries = append(entries, entry{name: strp(n)})
		}
	}
	add := func(name *string, id [16]byte, code int16, msg *string) {
		r := kmsg.NewDeleteTopicsResponseTopic()
		r.Topic, r.TopicID, r.ErrorCode, r.ErrorMessage = name, id, code, msg
		resp.Topics = append(resp.Topics, r)
	}

	if !h.config().Broker().DeleteTopicEnable {
		code, msg := kerr.TopicDeletionDisabled.Code, "Topic deletion is disabled."
		if v < 3 {
			code, msg = kerr.InvalidRequest.Code, "This version does not support topic deletion."
		}
		for _, e := range entries {
			add(e.name, e.id, code, strp(msg))
		}
		c.respond(resp)
		return
	}

	// Sort out duplicates and malformed entries (Kafka's order of checks).
	nameCount := map[string]int{}
	idCount := map[[16]byte]int{}
	for _, e := range entries {
		switch {
		case e.name == nil && e.id != [16]byte{}:
			idCount[e.id]++
		case e.name != nil && e.id == [16]byte{}:
			nameCount[*e.name]++
		}
	}
	img := h.image()
	var refs []metadata.TopicRef
	var refNames []*string // the name each ref was given by (nil: by ID)
	byID := map[[16]byte]bool{}
	answered := map[string]bool{}
	answeredID := map[[16]byte]bool{}
	for _, e := range entries {
		switch {
		case e.name == nil && e.id == [16]byte{}:
			add(nil, e.id, kerr.InvalidRequest.Code, strp("Neither topic name nor id were specified."))
		case e.name != nil && e.id != [16]byte{}:
			add(e.name, e.id, kerr.InvalidRequest.Code, strp("You may not specify both topic name and topic id."))
		case e.name == nil:
			if answeredID[e.id] {
				continue
			}
			answeredID[e.id] = true
			if idCount[e.id] > 1 {
				add(nil, e.id, kerr.InvalidRequest.Code, strp("Duplicate topic id."))
				continue
			}
			byID[e.id] = true
			refs = append(refs, metadata.TopicRef{ID: metadata.UUID(e.id)})
			refNames = append(refNames, nil)
		default:
			if answered[*e.name] {
				continue
			}
			answered[*e.name] = true
			if nameCount[*e.name] > 1 {
				add(e.name, [16]byte{}, kerr.InvalidRequest.Code, strp("Duplicate topic name."))
				continue
			}
			refs = append(refs, metadata.TopicRef{Name: *e.name})
			refNames = append(refNames, e.name)
		}
	}
	// A name that resolves to an ID the request also gave: Kafka refuses
	// the name, and the ID as well.
	var keep []metadata.TopicRef
	var keepNames []*string
	dupIDs := map[[16]byte]bool{}
	for i, ref := range refs {
		if refNames[i] != nil {
			if t := img.Topic(ref.Name); t != nil && byID[[16]byte(t.ID)] {
				dupIDs[[16]byte(t.ID)] = true
				add(refNames[i], [16]byte(t.ID), kerr.InvalidRequest.Code, strp("The provided topic name maps to an ID that was already supplied."))
				continue
			}
		}
		keep = append(keep, ref)
		keepNames = append(keepNames, refNames[i])
	}
	refs, refNames = nil, nil
	for i, ref := range keep {
		if keepNames[i] == nil && dupIDs[[16]byte(ref.ID)] {
			add(nil, [16]byte(ref.ID), kerr.InvalidRequest.Code, strp("Duplicate topic id."))
			continue
		}
		refs = append(refs, ref)
		refNames = append(refNames, keepNames[i])
	}

	if len(refs) > 0 {
		if h.deps.Controller == nil {
			for i, ref := range refs {
				add(refNames[i], [16]byte(ref.ID), kerr.NotController.Code, nil)
			}
		} else {
			for _, res := range h.deps.Controller.DeleteTopics(refs) {
				var name *string
				if res.Name != "" {
					name = strp(res.Name)
				}
				code, msg := adminError(res.Err)
				add(name, [16]byte(res.ID), code, msg)
			}
		}
	}
	c.respond(resp)
}
