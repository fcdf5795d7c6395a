package handler

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

// AlterConfigs (the legacy, whole-set form): every version since 0 is
// still served by Kafka 4.
func init() {
	register(kmsg.AlterConfigs.Int16(), 0, -1, serveAlterConfigs)
}

// serveAlterConfigs replaces the complete override set of topic and broker
// resources, as Kafka's legacy AlterConfigs: every override the request
// does not name is removed. The checks and their order are Kafka's
// (ConfigAdminManager.preprocess on the broker, then the controller):
//
//   - a resource named twice: INVALID_REQUEST "Each resource must appear at
//     most once." for every occurrence;
//   - a config named twice in one resource, or given a null value:
//     INVALID_REQUEST;
//   - BROKER: the name must be empty (cluster-wide default) or this node's
//     id; the new set is validated as a dynamic update at that level, and a
//     failure is INVALID_REQUEST (Kafka reports broker config validation
//     failures that way, KAFKA-13609);
//   - TOPIC: the name must not be empty and must be valid; the new set is
//     validated against the topic config registry (INVALID_CONFIG); then the
//     topic must exist (UNKNOWN_TOPIC_OR_PARTITION);
//   - anything else (BROKER_LOGGER included, which only the incremental API
//     alters): INVALID_REQUEST "Unknown resource type N".
//
// The resources that pass are committed by the controller; with
// validate_only nothing is.
func serveAlterConfigs(h *Handler, c *Context, req *kmsg.AlterConfigsRequest) {
	resp := kmsg.NewPtrAlterConfigsResponse()
	results := make([]kmsg.AlterConfigsResponseResource, len(req.Resources))
	dup := duplicateResources(len(req.Resources), func(i int) (int8, string) {
		return int8(req.Resources[i].ResourceType), req.Resources[i].ResourceName
	})
	img := h.image()
	var reqs []metadata.ReplaceConfigsRequest
	var idx []int
	for i, res := range req.Resources {
		r := &results[i]
		*r = kmsg.NewAlterConfigsResponseResource()
		r.ResourceType, r.ResourceName = res.ResourceType, res.ResourceName
		code, msg := h.checkAlterResource(img, dup[i], res, &reqs)
		r.ErrorCode = code
		if code != 0 {
			r.ErrorMessage = strp(msg)
			continue
		}
		idx = append(idx, i)
	}
	commitConfigChanges(h.deps.Controller, reqs, idx,
		func(ctl *metadata.Controller, reqs []metadata.ReplaceConfigsRequest) []error {
			return ctl.AlterConfigs(reqs, req.ValidateOnly)
		},
		func(i int, code int16, msg *string) { results[i].ErrorCode, results[i].ErrorMessage = code, msg })
	resp.Resources = results
	c.respond(resp)
}

// checkAlterResource validates one legacy AlterConfigs resource and, when it
// passes, appends its replacement to reqs.
func (h *Handler) checkAlterResource(img *metadata.Image, duplicate bool, res kmsg.AlterConfigsRequestResource,
	reqs *[]metadata.ReplaceConfigsRequest) (int16, string) {
	if duplicate {
		return kerr.InvalidRequest.Code, "Each resource must appear at most once."
	}
	names := make([]string, len(res.Configs))
	var nulls []string
	next := map[string]string{}
	for i, kv := range res.Configs {
		names[i] = kv.Name
		if kv.Value == nil {
			nulls = append(nulls, kv.Name)
			continue
		}
		next[kv.Name] = *kv.Value
	}
	if hasDuplicates(names) {
		return kerr.InvalidRequest.Code, "Error due to duplicate config keys"
	}
	if len(nulls) > 0 {
		return kerr.InvalidRequest.Code, "Null value not supported for : " + strings.Join(nulls, ", ")
	}
	typ := int8(res.ResourceType)
	switch typ {
	case resourceBroker:
		if code, msg := h.checkBrokerResourceName(res.ResourceName); code != 0 {
			return code, msg
		}
		target := metadata.ConfigResource{Type: metadata.ResourceBroker, Name: res.ResourceName}
		if code, msg := h.validateBrokerLevel(res.ResourceName != "", img.Configs(target), next); code != 0 {
			return code, msg
		}
		*reqs = append(*reqs, metadata.ReplaceConfigsRequest{Resource: target, Configs: next})
	case resourceTopic:
		if code, msg := h.validateTopicOverrides(img, res.ResourceName, next); code != 0 {
			return code, msg
		}
		*reqs = append(*reqs, metadata.ReplaceConfigsRequest{
			Resource: metadata.ConfigResource{Type: metadata.ResourceTopic, Name: res.ResourceName},
			Configs:  next,
		})
	default:
		return kerr.InvalidRequest.Code, "Unknown resource type " + strconv.Itoa(int(typ))
	}
	return 0, ""
}

// duplicateResources marks the resources of a request that share their
// (type, name) with another.
func duplicateResources(n int, key func(int) (int8, string)) []bool {
	type rk struct {
		typ  int8
		name string
	}
	count := map[rk]int{}
	for i := range n {
		t, name := key(i)
		count[rk{t, name}]++
	}
	out := make([]bool, n)
	for i := range n {
		t, name := key(i)
		out[i] = count[rk{t, name}] > 1
	}
	return out
}

func hasDuplicates(names []string) bool {
	s := slices.Clone(names)
	slices.Sort(s)
	return len(slices.Compact(s)) != len(names)
}

// checkBrokerResourceName applies Kafka's rule for altering a BROKER
// resource on a broker: the name is empty (the cluster-wide default) or
// this node's id (ConfigAdminManager.validateResourceNameIsCurrentNodeId).
func (h *Handler) checkBrokerResourceName(name string) (int16, string) {
	if name == "" {
		return 0, ""
	}
	id, ok := parseNodeID(name)
	if !ok {
		return kerr.InvalidRequest.Code, "Node id must be an integer, but it is: " + name
	}
	if id != h.deps.NodeID {
		return kerr.InvalidRequest.Code, "Unexpected broker id, expected " + strconv.Itoa(int(h.deps.NodeID)) + ", but received " + name
	}
	return 0, ""
}

// validateBrokerLevel checks that a dynamic broker level (perBroker: this
// node's; otherwise the cluster default) may change from cur to next.
// Kafka answers a broker config that fails validation with INVALID_REQUEST
// and the validator's message.
func (h *Handler) validateBrokerLevel(perBroker bool, cur, next map[string]string) (int16, string) {
	updates := make(map[string]*string, len(cur)+len(next))
	for k := range cur {
		updates[k] = nil
	}
	for k, v := range next {
		updates[k] = &v
	}
	if err := h.config().ValidateDynamic(perBroker, updates); err != nil {
		return kerr.InvalidRequest.Code, configErrorMessage(err)
	}
	return 0, ""
}

// validateTopicOverrides checks a topic resource and its proposed complete
// override set in the controller's order: the name, the configs, then the
// topic's existence.
func (h *Handler) validateTopicOverrides(img *metadata.Image, topic string, next map[string]string) (int16, string) {
	if topic == "" {
		return kerr.InvalidRequest.Code, "Default topic resources are not allowed."
	}
	if err := metadata.ValidateTopicName(topic); err != nil {
		return kerr.InvalidTopicException.Code, metadata.ErrorMessage(err)
	}
	if err := h.config().ValidateTopicConfigs(img.TopicConfigs(topic), maps.Clone(next)); err != nil {
		return kerr.InvalidConfig.Code, configErrorMessage(err)
	}
	if img.Topic(topic) == nil {
		return kerr.UnknownTopicOrPartition.Code, "The topic '" + topic + "' does not exist."
	}
	return 0, ""
}
