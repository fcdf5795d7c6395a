package handler

import (
	"context"
	"log/slog"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

// DescribeConfigs: version 0 was removed in Kafka 4.0 (KIP-896).
func init() {
	register(kmsg.DescribeConfigs.Int16(), 1, -1, serveDescribeConfigs)
}

// serveDescribeConfigs describes topic, broker and broker-logger resources
// as Kafka's ConfigHelper.describeConfigs does:
//
//   - TOPIC: every topic config with its effective value (the topic's
//     override, else its broker synonyms level by level, else the default)
//     and source; INVALID_TOPIC_EXCEPTION for a bad name,
//     UNKNOWN_TOPIC_OR_PARTITION for a missing topic.
//   - BROKER with this node's id: every broker config with its effective
//     value; BROKER with the empty name: the cluster-wide dynamic defaults
//     only. Any other name is INVALID_REQUEST, with Kafka's message.
//   - BROKER_LOGGER with this node's id: the loggers and their levels.
//     Samsa has one logger, "root", reported at the level the broker's
//     logger is enabled for.
//
// Synonyms (v1+) are included when asked for, documentation (v3+) when
// asked for; sensitive values (passwords) are always null. GROUP and
// CLIENT_METRICS resources, which Samsa does not have configs for, and
// unknown resource types are INVALID_REQUEST.
func serveDescribeConfigs(h *Handler, c *Context, req *kmsg.DescribeConfigsRequest) {
	v := c.Version()
	resp := kmsg.NewPtrDescribeConfigsResponse()
	opts := config.DescribeOptions{IncludeSynonyms: req.IncludeSynonyms, IncludeDocumentation: v >= 3 && req.IncludeDocumentation}
	for _, res := range req.Resources {
		r := kmsg.NewDescribeConfigsResponseResource()
		r.ResourceType, r.ResourceName = res.ResourceType, res.ResourceName
		r.Configs = []kmsg.DescribeConfigsResponseResourceConfig{}
		o := opts
		o.Names = res.ConfigNames
		entries, code, msg := h.describeResource(int8(res.ResourceType), res.ResourceName, o)
		r.ErrorCode = code
		if msg != "" {
			r.ErrorMessage = strp(msg)
		}
		for _, e := range entries {
			rc := kmsg.NewDescribeConfigsResponseResourceConfig()
			rc.Name = e.Name
			rc.Value = e.Value
			rc.ReadOnly = e.ReadOnly
			rc.IsDefault = e.IsDefault()
			rc.Source = kmsg.ConfigSource(e.Source)
			rc.IsSensitive = e.Sensitive
			rc.ConfigType = kmsg.ConfigType(e.Type)
			rc.Documentation = e.Documentation
			for _, s := range e.Synonyms {
				syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
				syn.Name, syn.Value, syn.Source = s.Name, s.Value, kmsg.ConfigSource(s.Source)
				rc.ConfigSynonyms = append(rc.ConfigSynonyms, syn)
			}
			r.Configs = append(r.Configs, rc)
		}
		resp.Resources = append(resp.Resources, r)
	}
	c.respond(resp)
}

// describeResource returns one resource's config entries, or an error code
// and message.
func (h *Handler) describeResource(typ int8, name string, opts config.DescribeOptions) ([]config.Entry, int16, string) {
	cfg := h.config()
	self := h.deps.NodeID
	switch typ {
	case resourceTopic:
		if err := metadata.ValidateTopicName(name); err != nil {
			return nil, kerr.InvalidTopicException.Code, metadata.ErrorMessage(err)
		}
		img := h.image()
		if img.Topic(name) == nil {
			return nil, kerr.UnknownTopicOrPartition.Code, ""
		}
		tc, err := cfg.ResolveTopic(img.TopicConfigs(name))
		if err != nil {
			// Overrides were validated when set; a broker default that
			// changed under them is the only way here. Describe what
			// the broker runs the topic with instead of failing.
			h.log.Warn("topic config does not resolve; describing broker defaults", "topic", name, "err", err)
			tc = cfg.Broker().LogDefaults
		}
		return tc.Describe(opts), 0, ""
	case resourceBroker:
		if name == "" {
			return cfg.Describe(false, opts), 0, ""
		}
		id, ok := parseNodeID(name)
		if !ok {
			return nil, kerr.InvalidRequest.Code, "Broker id must be an integer, but it is: " + name
		}
		if id != self {
			return nil, kerr.InvalidRequest.Code, "Unexpected broker id, expected " + strconv.Itoa(int(self)) + " or empty string, but received " + name
		}
		return cfg.Describe(true, opts), 0, ""
	case resourceBrokerLogger:
		if name == "" {
			return nil, kerr.InvalidRequest.Code, "Broker id must not be empty"
		}
		id, ok := parseNodeID(name)
		if !ok {
			return nil, kerr.InvalidRequest.Code, "Broker id must be an integer, but it is: " + name
		}
		if id != self {
			return nil, kerr.InvalidRequest.Code, "Unexpected broker id, expected " + strconv.Itoa(int(self)) + " but received " + name
		}
		if len(opts.Names) > 0 && !slices.Contains(opts.Names, rootLogger) {
			return nil, 0, ""
		}
		level := h.logLevel()
		e := config.Entry{Name: rootLogger, Value: &level, Source: config.SourceDynamicBrokerLogger, Type: config.TypeUnknown}
		if opts.IncludeSynonyms {
			e.Synonyms = []config.SynonymValue{}
		}
		return []config.Entry{e}, 0, ""
	case resourceGroup:
		return nil, kerr.InvalidRequest.Code, "Unsupported resource type: GROUP"
	case resourceClientMetrics:
		return nil, kerr.InvalidRequest.Code, "Unsupported resource type: CLIENT_METRICS"
	}
	return nil, kerr.InvalidRequest.Code, "Unsupported resource type: " + strconv.Itoa(int(typ))
}

// rootLogger is Kafka's name for the root logger (LoggingController.ROOT_LOGGER).
const rootLogger = "root"

// logLevel is the root logger's level in log4j's words: the most verbose
// level the broker's logger has enabled.
func (h *Handler) logLevel() string {
	ctx := context.Background()
	switch {
	case h.log.Enabled(ctx, slog.LevelDebug):
		return "DEBUG"
	case h.log.Enabled(ctx, slog.LevelInfo):
		return "INFO"
	case h.log.Enabled(ctx, slog.LevelWarn):
		return "WARN"
	}
	return "ERROR"
}
