package handler

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

// IncrementalAlterConfigs: every version since 0 is still served by Kafka 4.
func init() {
	register(kmsg.IncrementalAlterConfigs.Int16(), 0, -1, serveIncrementalAlterConfigs)
}

// serveIncrementalAlterConfigs applies SET, DELETE, APPEND and SUBTRACT to
// topic and broker config overrides, as Kafka's ConfigAdminManager
// (preprocessing on the broker) and ConfigurationControlManager (the
// controller) do:
//
//   - a resource named twice: INVALID_REQUEST for every occurrence; a
//     config named twice in one resource, or a null value for anything but
//     DELETE: INVALID_REQUEST;
//   - APPEND and SUBTRACT work element-wise on LIST configs, starting from
//     the override or, without one, the default; on other types they are
//     INVALID_CONFIG "Can't APPEND to key x because its type is not LIST.";
//   - BROKER (empty name: the cluster-wide default; else this node's id):
//     the resulting level is validated as a dynamic update, failures are
//     INVALID_REQUEST as in Kafka; TOPIC: the resulting override set is
//     validated (INVALID_CONFIG), then the topic must exist
//     (UNKNOWN_TOPIC_OR_PARTITION);
//   - BROKER_LOGGER (this node's id): validated as Kafka's
//     RuntimeLoggerManager does; see alterLoggers.
//
// Each resource succeeds or fails as a whole. The resulting values are
// committed by the controller as SET and DELETE of exactly the keys the
// request names, so overrides it does not mention are untouched; with
// validate_only nothing is committed.
func serveIncrementalAlterConfigs(h *Handler, c *Context, req *kmsg.IncrementalAlterConfigsRequest) {
	resp := kmsg.NewPtrIncrementalAlterConfigsResponse()
	results := make([]kmsg.IncrementalAlterConfigsResponseResource, len(req.Resources))
	dup := duplicateResources(len(req.Resources), func(i int) (int8, string) {
		return int8(req.Resources[i].ResourceType), req.Resources[i].ResourceName
	})
	img := h.image()
	var reqs []metadata.AlterConfigsRequest
	var idx []int
	for i, res := range req.Resources {
		r := &results[i]
		*r = kmsg.NewIncrementalAlterConfigsResponseResource()
		r.ResourceType, r.ResourceName = res.ResourceType, res.ResourceName
		code, msg, ar := h.checkIncrementalResource(img, dup[i], res, req.ValidateOnly)
		r.ErrorCode = code
		if code != 0 {
			r.ErrorMessage = strp(msg)
			continue
		}
		if ar != nil {
			reqs = append(reqs, *ar)
			idx = append(idx, i)
		}
	}
	commitConfigChanges(h.deps.Controller, reqs, idx,
		func(ctl *metadata.Controller, reqs []metadata.AlterConfigsRequest) []error {
			return ctl.IncrementalAlterConfigs(reqs, req.ValidateOnly)
		},
		func(i int, code int16, msg *string) { results[i].ErrorCode, results[i].ErrorMessage = code, msg })
	resp.Resources = results
	c.respond(resp)
}

// checkIncrementalResource validates one resource. It returns an error code
// and message, or the controller request that commits it (nil when the
// resource needs no commit: broker loggers).
func (h *Handler) checkIncrementalResource(img *metadata.Image, duplicate bool,
	res kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) (int16, string, *metadata.AlterConfigsRequest) {
	if duplicate {
		return kerr.InvalidRequest.Code, "Each resource must appear at most once.", nil
	}
	names := make([]string, len(res.Configs))
	var nulls []string
	for i, op := range res.Configs {
		names[i] = op.Name
		if op.Op != kmsg.IncrementalAlterConfigOpDelete && op.Value == nil {
			nulls = append(nulls, op.Name)
		}
	}
	if hasDuplicates(names) {
		return kerr.InvalidRequest.Code, "Error due to duplicate config keys", nil
	}
	if len(nulls) > 0 {
		return kerr.InvalidRequest.Code, "Null value not supported for : " + strings.Join(nulls, ", "), nil
	}

	typ := int8(res.ResourceType)
	var target metadata.ConfigResource
	var registry *config.Registry
	switch typ {
	case resourceBrokerLogger:
		code, msg := h.alterLoggers(res, validateOnly)
		return code, msg, nil
	case resourceBroker:
		if code, msg := h.checkBrokerResourceName(res.ResourceName); code != 0 {
			return code, msg, nil
		}
		target = metadata.ConfigResource{Type: metadata.ResourceBroker, Name: res.ResourceName}
		registry = config.BrokerDefs()
	case resourceTopic:
		if res.ResourceName == "" {
			return kerr.InvalidRequest.Code, "Default topic resources are not allowed.", nil
		}
		if err := metadata.ValidateTopicName(res.ResourceName); err != nil {
			return kerr.InvalidTopicException.Code, metadata.ErrorMessage(err), nil
		}
		target = metadata.ConfigResource{Type: metadata.ResourceTopic, Name: res.ResourceName}
		registry = config.TopicDefs()
	default:
		return kerr.InvalidRequest.Code, "Unknown resource type " + strconv.Itoa(int(typ)), nil
	}

	cur := img.Configs(target)
	next := maps.Clone(cur)
	for _, op := range res.Configs {
		switch op.Op {
		case kmsg.IncrementalAlterConfigOpSet, kmsg.IncrementalAlterConfigOpDelete,
			kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
		default:
			return kerr.InvalidRequest.Code, "Unknown operations type " + strconv.Itoa(int(op.Op)), nil
		}
		if err := registry.ApplyIncremental(next, op.Name, config.AlterOp(op.Op), op.Value); err != nil {
			code := kerr.InvalidConfig.Code
			if typ == resourceBroker && errors.Is(err, config.ErrUnknownConfig) {
				code = kerr.InvalidRequest.Code // a broker validation failure (KAFKA-13609)
			}
			return code, configErrorMessage(err), nil
		}
	}
	if typ == resourceBroker {
		if code, msg := h.validateBrokerLevel(res.ResourceName != "", cur, next); code != 0 {
			return code, msg, nil
		}
	} else if code, msg := h.validateTopicOverrides(img, res.ResourceName, next); code != 0 {
		return code, msg, nil
	}

	// Commit exactly the named keys as their resulting values.
	ar := &metadata.AlterConfigsRequest{Resource: target}
	for _, name := range names {
		if v, ok := next[name]; ok {
			ar.Ops = append(ar.Ops, metadata.ConfigOp{Name: name, Op: metadata.ConfigSet, Value: v})
		} else {
			ar.Ops = append(ar.Ops, metadata.ConfigOp{Name: name, Op: metadata.ConfigDelete})
		}
	}
	return 0, "", ar
}

// validLogLevels are log4j's levels Kafka accepts (LogLevelConfig.VALID_LOG_LEVELS),
// sorted as its error message lists them.
var validLogLevels = []string{"DEBUG", "ERROR", "FATAL", "INFO", "TRACE", "WARN"}

// alterLoggers validates a BROKER_LOGGER resource exactly as Kafka's
// RuntimeLoggerManager does: the name is this node's id; SET names an
// existing logger and a valid level; DELETE of the root logger, APPEND and
// SUBTRACT are refused.
//
// Samsa has a single logger, "root", whose level is fixed when the broker
// starts (its structured logger has no runtime level switch). Setting it to
// the level it already has succeeds; any other change is refused with
// INVALID_CONFIG and a message saying so, where Kafka would change log4j's
// level. Validate-only requests succeed whenever Kafka's would.
func (h *Handler) alterLoggers(res kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) (int16, string) {
	id, ok := parseNodeID(res.ResourceName)
	if !ok {
		return kerr.InvalidRequest.Code, "Node id must be an integer, but it is: " + res.ResourceName
	}
	if id != h.deps.NodeID {
		return kerr.InvalidRequest.Code, "Unexpected node id. Expected " + strconv.Itoa(int(h.deps.NodeID)) + ", but received " + res.ResourceName
	}
	for _, op := range res.Configs {
		switch op.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			if op.Name != rootLogger {
				return kerr.InvalidConfig.Code, "Logger " + op.Name + " does not exist!"
			}
			if !slices.Contains(validLogLevels, *op.Value) {
				return kerr.InvalidConfig.Code, "Cannot set the log level of " + op.Name + " to " + *op.Value +
					" as it is not a supported log level. Valid log levels are " + strings.Join(validLogLevels, ", ")
			}
		case kmsg.IncrementalAlterConfigOpDelete:
			if op.Name != rootLogger {
				return kerr.InvalidConfig.Code, "Logger " + op.Name + " does not exist!"
			}
			return kerr.InvalidRequest.Code, "Removing the log level of the " + rootLogger + " logger is not allowed"
		case kmsg.IncrementalAlterConfigOpAppend:
			return kerr.InvalidRequest.Code, "APPEND operation is not allowed for the BROKER_LOGGER resource"
		case kmsg.IncrementalAlterConfigOpSubtract:
			return kerr.InvalidRequest.Code, "SUBTRACT operation is not allowed for the BROKER_LOGGER resource"
		default:
			return kerr.InvalidRequest.Code, "Unknown operation type " + strconv.Itoa(int(op.Op)) + " is not allowed for the BROKER_LOGGER resource"
		}
	}
	if validateOnly {
		return 0, ""
	}
	cur := h.logLevel()
	for _, op := range res.Configs {
		if *op.Value != cur {
			return kerr.InvalidConfig.Code, "Cannot set the log level of " + rootLogger + " to " + *op.Value +
				": this broker cannot change log levels at runtime (it logs at " + cur + "; restart it with the desired level)"
		}
	}
	return 0, ""
}
