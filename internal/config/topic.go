package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// SynonymValue is one link of a config's synonym chain, as DescribeConfigs
// reports it: a name at one level with its value there. Value is nil for
// sensitive configs.
type SynonymValue struct {
	Name   string
	Value  *string
	Source Source
}

// topicEntry is one resolved topic config.
type topicEntry struct {
	def      *Def
	value    Value
	source   Source
	synonyms []SynonymValue // highest precedence first; the first supplied value
}

// TopicConfig is the effective configuration of one topic: every topic
// config's value with its source and synonym chain, and typed fields for the
// storage and replication layers. It is immutable and safe for concurrent
// use. Time settings are in milliseconds with Kafka's conventions (-1 means
// unlimited for retention, Long.MAX_VALUE means never).
type TopicConfig struct {
	entries map[string]topicEntry

	CleanupPolicy               []string
	Compact                     bool // cleanup.policy contains "compact"
	Delete                      bool // cleanup.policy contains "delete"
	CompressionType             string
	CompressionGzipLevel        int32
	CompressionLZ4Level         int32
	CompressionZstdLevel        int32
	DeleteRetentionMs           int64
	FileDeleteDelayMs           int64
	FlushMessages               int64
	FlushMs                     int64
	FollowerReplicationThrottle []string
	LeaderReplicationThrottle   []string
	IndexIntervalBytes          int32
	LocalRetentionBytes         int64 // as configured; see EffectiveLocalRetentionBytes
	LocalRetentionMs            int64 // as configured; see EffectiveLocalRetentionMs
	MaxCompactionLagMs          int64
	MaxMessageBytes             int32
	MessageDownconversionEnable bool
	// MessageTimestampBeforeMaxMs and MessageTimestampAfterMaxMs are the
	// effective bounds, with the deprecated
	// message.timestamp.difference.max.ms applied where they are not set (as
	// Kafka 3.x did).
	MessageTimestampBeforeMaxMs int64
	MessageTimestampAfterMaxMs  int64
	MessageTimestampType        string // "CreateTime" or "LogAppendTime"
	MinCleanableDirtyRatio      float64
	MinCompactionLagMs          int64
	MinInsyncReplicas           int32
	Preallocate                 bool
	RemoteLogCopyDisable        bool
	RemoteLogDeleteOnDisable    bool
	RemoteStorageEnable         bool
	RetentionBytes              int64 // -1: unlimited
	RetentionMs                 int64 // -1: unlimited
	// SegmentBytes is segment.bytes, or internal.segment.bytes when set.
	SegmentBytes                int32
	SegmentIndexBytes           int32
	SegmentJitterMs             int64
	SegmentMs                   int64
	UncleanLeaderElectionEnable bool
}

// Get returns a topic config's effective value and source; ok is false for
// names that are not topic configs.
func (t *TopicConfig) Get(name string) (v Value, src Source, ok bool) {
	e, ok := t.entries[name]
	if !ok {
		if d, known := topicRegistry.Lookup(name); known {
			return d.DefaultValue(), SourceDefault, true
		}
		return Value{}, SourceUnknown, false
	}
	return e.value, e.source, true
}

// Synonyms returns a topic config's synonym chain (highest precedence first),
// nil for unknown names; the caller owns the slice.
func (t *TopicConfig) Synonyms(name string) []SynonymValue {
	return slices.Clone(t.entries[name].synonyms)
}

// Overrides returns the topic-level overrides (source DYNAMIC_TOPIC_CONFIG)
// in canonical form; the caller owns the map.
func (t *TopicConfig) Overrides() map[string]string {
	out := map[string]string{}
	for name, e := range t.entries {
		if e.source == SourceDynamicTopic {
			out[name], _ = e.value.Canonical()
		}
	}
	return out
}

// EffectiveLocalRetentionMs is local.retention.ms with -2 resolved to
// retention.ms (Kafka's LogConfig.localRetentionMs).
func (t *TopicConfig) EffectiveLocalRetentionMs() int64 {
	if t.LocalRetentionMs == -2 {
		return t.RetentionMs
	}
	return t.LocalRetentionMs
}

// EffectiveLocalRetentionBytes is local.retention.bytes with -2 resolved to
// retention.bytes.
func (t *TopicConfig) EffectiveLocalRetentionBytes() int64 {
	if t.LocalRetentionBytes == -2 {
		return t.RetentionBytes
	}
	return t.LocalRetentionBytes
}

// MaxSegmentMs is the time after which the active segment rolls: segment.ms,
// or max.compaction.lag.ms if smaller on a compacted topic (Kafka's
// LogConfig.maxSegmentMs).
func (t *TopicConfig) MaxSegmentMs() int64 {
	if t.Compact && t.MaxCompactionLagMs > 0 {
		return min(t.MaxCompactionLagMs, t.SegmentMs)
	}
	return t.SegmentMs
}

// ResolveTopic returns the effective configuration of a topic with the given
// overrides (config name -> value as stored) over the broker's current
// levels. Overrides are parsed and validated one by one; cross-field rules
// are ValidateTopicConfigs' job, so a stored topic stays readable after a
// broker default changes.
func (c *BrokerConfig) ResolveTopic(overrides map[string]string) (*TopicConfig, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return resolveTopic(c.levelsLocked(c.dynNode, c.dynDefault), overrides)
}

// levels are the broker levels a topic config's synonyms are looked up in,
// highest precedence first.
type levels [3]struct {
	m      map[string]setting
	source Source
}

func (c *BrokerConfig) levelsLocked(dynNode, dynDefault map[string]setting) levels {
	var l levels
	l[0].m, l[0].source = dynNode, SourceDynamicBroker
	l[1].m, l[1].source = dynDefault, SourceDynamicDefaultBroker
	l[2].m, l[2].source = c.static, SourceStaticBroker
	return l
}

func resolveTopic(lv levels, overrides map[string]string) (*TopicConfig, error) {
	var errs []error
	t := &TopicConfig{entries: make(map[string]topicEntry, len(topicRegistry.all))}
	for _, name := range sortedKeys(overrides) {
		if _, ok := topicRegistry.Lookup(name); !ok {
			errs = append(errs, unknownError(ScopeTopic, name, ""))
		}
	}
	for _, d := range topicRegistry.all {
		e := topicEntry{def: d, source: SourceDefault}
		raw, overridden := overrides[d.Name]
		if overridden {
			v, err := d.Parse(raw)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			canon, _ := v.Canonical()
			e.value, e.source = v, SourceDynamicTopic
			e.synonyms = append(e.synonyms, SynonymValue{Name: d.Name, Value: &canon, Source: SourceDynamicTopic})
		} else if d.Internal {
			continue // internal configs exist only when set
		}
		chain, supplier := brokerChain(lv, d)
		e.synonyms = append(e.synonyms, chain...)
		if !overridden {
			e.value = d.DefaultValue()
			if supplier != nil {
				e.value, e.source = fromSynonym(d, *supplier)
			}
		}
		t.entries[d.Name] = e
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	t.fill()
	return t, nil
}

// brokerLink is a broker synonym present at one level.
type brokerLink struct {
	syn    Synonym
	value  Value
	source Source
}

// brokerChain lists the broker synonyms of a topic config present at each
// level, level by level (dynamic per-node, dynamic default, static, default)
// and within a level in Kafka's synonym order: the order Kafka's
// ConfigHelper reports synonyms in. The first link supplies the value.
func brokerChain(lv levels, d *Def) ([]SynonymValue, *brokerLink) {
	var out []SynonymValue
	var first *brokerLink
	add := func(s Synonym, raw string, v Value, src Source) {
		r := raw
		out = append(out, SynonymValue{Name: s.Name, Value: &r, Source: src})
		if first == nil {
			first = &brokerLink{syn: s, value: v, source: src}
		}
	}
	for _, l := range lv {
		for _, s := range d.Synonyms {
			if set, ok := l.m[s.Name]; ok {
				add(s, set.raw, set.value, l.source)
			}
		}
	}
	for _, s := range d.Synonyms {
		bd, ok := brokerRegistry.Lookup(s.Name)
		if !ok {
			continue
		}
		if raw, ok := bd.Default(); ok {
			add(s, raw, bd.DefaultValue(), SourceDefault)
		}
	}
	return out, first
}

// fromSynonym converts a broker synonym's value to the topic config's type
// and unit.
func fromSynonym(d *Def, l brokerLink) (Value, Source) {
	v := l.value
	switch d.Type {
	case TypeLong, TypeInt, TypeShort:
		n := v.Long()
		switch l.syn.Unit {
		case UnitHours:
			n = satMulInt64(n, 3600000)
		case UnitMinutes:
			n = satMulInt64(n, 60000)
		}
		if d.Name == TopicRetentionMs && n < 0 {
			n = -1 // Kafka's KafkaConfig.logRetentionTimeMillis
		}
		return Value{t: d.Type, i: n}, l.source
	}
	v.t = d.Type
	return v, l.source
}

// fill sets the typed fields from the entries.
func (t *TopicConfig) fill() {
	g := func(name string) Value { return t.entries[name].value }
	t.CleanupPolicy = g(TopicCleanupPolicy).List()
	for _, p := range t.CleanupPolicy {
		switch strings.ToLower(p) {
		case "compact":
			t.Compact = true
		case "delete":
			t.Delete = true
		}
	}
	t.CompressionType = g(TopicCompressionType).Str()
	t.CompressionGzipLevel = g(TopicCompressionGzipLevel).Int()
	t.CompressionLZ4Level = g(TopicCompressionLZ4Level).Int()
	t.CompressionZstdLevel = g(TopicCompressionZstdLevel).Int()
	t.DeleteRetentionMs = g(TopicDeleteRetentionMs).Long()
	t.FileDeleteDelayMs = g(TopicFileDeleteDelayMs).Long()
	t.FlushMessages = g(TopicFlushMessages).Long()
	t.FlushMs = g(TopicFlushMs).Long()
	t.FollowerReplicationThrottle = g(TopicFollowerReplicationThrottled).List()
	t.LeaderReplicationThrottle = g(TopicLeaderReplicationThrottled).List()
	t.IndexIntervalBytes = g(TopicIndexIntervalBytes).Int()
	t.LocalRetentionBytes = g(TopicLocalRetentionBytes).Long()
	t.LocalRetentionMs = g(TopicLocalRetentionMs).Long()
	t.MaxCompactionLagMs = g(TopicMaxCompactionLagMs).Long()
	t.MaxMessageBytes = g(TopicMaxMessageBytes).Int()
	t.MessageDownconversionEnable = g(TopicMessageDownconversionEnable).Bool()
	t.MessageTimestampType = g(TopicMessageTimestampType).Str()
	t.MinCleanableDirtyRatio = g(TopicMinCleanableDirtyRatio).Double()
	t.MinCompactionLagMs = g(TopicMinCompactionLagMs).Long()
	t.MinInsyncReplicas = g(TopicMinInsyncReplicas).Int()
	t.Preallocate = g(TopicPreallocate).Bool()
	t.RemoteLogCopyDisable = g(TopicRemoteLogCopyDisable).Bool()
	t.RemoteLogDeleteOnDisable = g(TopicRemoteLogDeleteOnDisable).Bool()
	t.RemoteStorageEnable = g(TopicRemoteStorageEnable).Bool()
	t.RetentionBytes = g(TopicRetentionBytes).Long()
	t.RetentionMs = g(TopicRetentionMs).Long()
	t.SegmentBytes = g(TopicSegmentBytes).Int()
	if e, ok := t.entries[TopicInternalSegmentBytes]; ok && !e.value.IsNull() {
		t.SegmentBytes = e.value.Int()
	}
	t.SegmentIndexBytes = g(TopicSegmentIndexBytes).Int()
	t.SegmentJitterMs = g(TopicSegmentJitterMs).Long()
	t.SegmentMs = g(TopicSegmentMs).Long()
	t.UncleanLeaderElectionEnable = g(TopicUncleanLeaderElectionEnable).Bool()

	// The deprecated difference bound stands in for unset before/after
	// bounds: Kafka 3.x used it wherever before/after were Long.MAX_VALUE;
	// since Kafka 4 defaults after to one hour, Samsa also lets it stand in
	// for an after bound that is only at its default.
	diff := t.entries[TopicMessageTimestampDifferenceMaxMs]
	before, after := t.entries[TopicMessageTimestampBeforeMaxMs], t.entries[TopicMessageTimestampAfterMaxMs]
	t.MessageTimestampBeforeMaxMs = before.value.Long()
	t.MessageTimestampAfterMaxMs = after.value.Long()
	if diff.source != SourceDefault {
		if t.MessageTimestampBeforeMaxMs == math.MaxInt64 {
			t.MessageTimestampBeforeMaxMs = diff.value.Long()
		}
		if t.MessageTimestampAfterMaxMs == math.MaxInt64 || after.source == SourceDefault {
			t.MessageTimestampAfterMaxMs = diff.value.Long()
		}
	}
}

// ValidateTopicConfigs checks a topic's complete set of overrides the way
// Kafka's LogConfig.validate does for CreateTopics (the new topic's configs)
// and AlterConfigs (the overrides as they would be after the change): every
// name is a topic config ("Unknown topic config name: x"), every value
// parses and passes its validator, and the effective configuration over the
// broker defaults is consistent (min.compaction.lag.ms <=
// max.compaction.lag.ms; no tiered storage, which Samsa lacks; remote
// storage not turned off without remote.log.delete.on.disable). existing is
// the topic's current overrides (nil for a new topic). Every problem is
// reported; a handler answers INVALID_CONFIG with FirstError(err).Message().
func (c *BrokerConfig) ValidateTopicConfigs(existing, proposed map[string]string) error {
	t, err := c.ResolveTopic(proposed)
	if err != nil {
		return err
	}
	var errs []error
	if t.MinCompactionLagMs > t.MaxCompactionLagMs {
		errs = append(errs, conflictError(TopicMinCompactionLagMs, proposed[TopicMinCompactionLagMs],
			fmt.Sprintf("conflict topic config setting %s (%d) > %s (%d)", TopicMinCompactionLagMs, t.MinCompactionLagMs, TopicMaxCompactionLagMs, t.MaxCompactionLagMs)))
	}
	systemTiered := c.Bool(RemoteLogStorageSystemEnable)
	if t.RemoteStorageEnable {
		if !systemTiered {
			errs = append(errs, conflictError(TopicRemoteStorageEnable, proposed[TopicRemoteStorageEnable],
				"Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage."))
		} else if t.Compact {
			errs = append(errs, conflictError(TopicCleanupPolicy, proposed[TopicCleanupPolicy],
				"Remote log storage is unsupported for the compacted topics"))
		}
	} else if was, _ := parseValue(TypeBoolean, existing[TopicRemoteStorageEnable]); was.Bool() && !t.RemoteLogDeleteOnDisable {
		errs = append(errs, conflictError(TopicRemoteStorageEnable, proposed[TopicRemoteStorageEnable],
			"It is invalid to disable remote storage without deleting remote data. If you want to keep the remote data and turn to read only, please set `remote.storage.enable=true,remote.log.copy.disable=true`. If you want to disable remote storage and delete all remote data, please set `remote.storage.enable=false,remote.log.delete.on.disable=true`."))
	}
	return errors.Join(errs...)
}

// NullTopicValueError is the error for a topic config given with a null
// value in CreateTopics, in Kafka's words.
func NullTopicValueError(name string) *Error {
	return &Error{Err: ErrInvalidValue, Name: name, Reason: "Null value not supported for topic configs: " + name, plain: true}
}
