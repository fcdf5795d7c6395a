package handler

import (
	"maps"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

// CreateTopics: versions 0 and 1 were removed in Kafka 4.0 (KIP-896).
func init() {
	register(kmsg.CreateTopics.Int16(), 2, -1, serveCreateTopics)
}

// serveCreateTopics creates topics through the metadata controller, with
// the checks and messages of Kafka's ControllerApis.createTopics and
// ReplicationControlManager.createTopics: a name given twice fails once with
// INVALID_REQUEST, __cluster_metadata is refused, then each topic's name,
// existence, configs, replication factor, partition count and manual
// assignment are checked in that order. Topics succeed or fail one by one.
//
// Configs are checked here, against the config registry and the broker's
// defaults, so the client gets Kafka's message ("Unknown topic config name:
// x", "Invalid value 0 for configuration segment.bytes: ...") rather than
// the controller's wrapping of it; the controller checks them again when it
// commits.
//
// A successful topic's result carries, from v5, its partition count,
// replication factor and every topic config with its effective value and
// source (as Kafka's computeEffectiveTopicConfigs), and from v7 its topic
// ID. With validate_only the result is the same and nothing is created (the
// topic ID is then a fresh random one that is not kept, as in Kafka).
//
// timeout_ms bounds, in Kafka, how long the broker waits for the controller.
// Samsa's controller commits synchronously before this function returns, so
// there is nothing to wait for and the timeout cannot expire; a zero or
// negative timeout (ZooKeeper-era clients' "don't wait") still creates.
func serveCreateTopics(h *Handler, c *Context, req *kmsg.CreateTopicsRequest) {
	v := c.Version()
	resp := kmsg.NewPtrCreateTopicsResponse()
	img := h.image()
	cfg := h.config()

	count := map[string]int{}
	for _, t := range req.Topics {
		count[t.Topic]++
	}
	results := map[string]*kmsg.CreateTopicsResponseTopic{}
	var order []string
	var creates []metadata.CreateTopicRequest
	fail := func(name string, code int16, msg string) {
		r := results[name]
		r.ErrorCode = code
		if msg != "" {
			r.ErrorMessage = strp(msg)
		}
	}
	for _, t := range req.Topics {
		if results[t.Topic] != nil {
			continue // a duplicate: answered once, below
		}
		r := kmsg.NewCreateTopicsResponseTopic()
		r.Topic = t.Topic
		results[t.Topic] = &r
		order = append(order, t.Topic)
		switch {
		case count[t.Topic] > 1:
			fail(t.Topic, kerr.InvalidRequest.Code, "Duplicate topic name.")
			continue
		case t.Topic == clusterMetadataTopic:
			fail(t.Topic, kerr.InvalidRequest.Code, "Creation of internal topic "+clusterMetadataTopic+" is prohibited.")
			continue
		}
		overrides := map[string]string{}
		var nulls []string
		for _, kv := range t.Configs {
			if kv.Value == nil {
				nulls = append(nulls, kv.Name)
				continue
			}
			overrides[kv.Name] = *kv.Value // a repeated name: the last wins, as in Kafka
		}
		if checksConfigs(img, t.Topic) {
			if len(nulls) > 0 {
				fail(t.Topic, kerr.InvalidConfig.Code, "Null value not supported for topic configs: "+strings.Join(nulls, ","))
				continue
			}
			if err := cfg.ValidateTopicConfigs(nil, overrides); err != nil {
				fail(t.Topic, kerr.InvalidConfig.Code, configErrorMessage(err))
				continue
			}
		}
		cr := metadata.CreateTopicRequest{
			Name:              t.Topic,
			NumPartitions:     t.NumPartitions,
			ReplicationFactor: t.ReplicationFactor,
			Configs:           make(map[string]*string, len(overrides)),
		}
		for k, val := range overrides {
			cr.Configs[k] = &val
		}
		for _, a := range t.ReplicaAssignment {
			cr.Assignments = append(cr.Assignments, metadata.PartitionAssignment{Partition: a.Partition, Replicas: a.Replicas})
		}
		creates = append(creates, cr)
	}

	if len(creates) > 0 {
		if h.deps.Controller == nil {
			for _, cr := range creates {
				fail(cr.Name, kerr.NotController.Code, "")
			}
		} else {
			for i, res := range h.deps.Controller.CreateTopics(creates, req.ValidateOnly) {
				r := results[res.Name]
				if res.Err != nil {
					r.ErrorCode, r.ErrorMessage = adminError(res.Err)
					continue
				}
				r.TopicID = [16]byte(res.TopicID)
				r.NumPartitions = res.NumPartitions
				r.ReplicationFactor = res.ReplicationFactor
				if v >= 5 {
					r.Configs = createdTopicConfigs(cfg, creates[i].Configs)
				}
			}
		}
	}
	for _, name := range order {
		resp.Topics = append(resp.Topics, *results[name])
	}
	c.respond(resp)
}

// checksConfigs reports whether a topic's configs are what decides its
// outcome: Kafka checks the name (and its '.'/'_' collisions) and existence
// first, so a topic failing those gets that error whatever its configs.
func checksConfigs(img *metadata.Image, name string) bool {
	if metadata.ValidateTopicName(name) != nil || img.Topic(name) != nil {
		return false
	}
	if metadata.HasCollisionChars(name) {
		unified := metadata.UnifyCollisionChars(name)
		for _, t := range img.Topics() {
			if metadata.UnifyCollisionChars(t.Name) == unified {
				return false
			}
		}
	}
	return true
}

// createdTopicConfigs lists a new topic's effective configs for the
// CreateTopics v5+ response.
func createdTopicConfigs(cfg *config.BrokerConfig, configs map[string]*string) []kmsg.CreateTopicsResponseTopicConfig {
	overrides := make(map[string]string, len(configs))
	for k, v := range configs {
		overrides[k] = *v
	}
	tc, err := cfg.ResolveTopic(maps.Clone(overrides))
	if err != nil {
		// Validated before creation; unreachable unless a broker
		// default changed in between. The topic exists either way, so
		// report no configs rather than fail it.
		return []kmsg.CreateTopicsResponseTopicConfig{}
	}
	entries := tc.Describe(config.DescribeOptions{})
	out := make([]kmsg.CreateTopicsResponseTopicConfig, 0, len(entries))
	for _, e := range entries {
		rc := kmsg.NewCreateTopicsResponseTopicConfig()
		rc.Name = e.Name
		rc.Value = e.Value
		rc.ReadOnly = e.ReadOnly
		rc.Source = int8(e.Source)
		rc.IsSensitive = e.Sensitive
		out = append(out, rc)
	}
	return out
}
