package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func newBroker(t *testing.T, props map[string]string) *BrokerConfig {
	t.Helper()
	c, err := NewBrokerConfig(props)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ptr(s string) *string { return &s }

// synString renders a synonym chain as "SOURCE:name=value" items.
func synString(syns []SynonymValue) []string {
	out := []string{}
	for _, s := range syns {
		v := "null"
		if s.Value != nil {
			v = *s.Value
		}
		out = append(out, s.Source.String()+":"+s.Name+"="+v)
	}
	return out
}

func TestResolveTopicDefaults(t *testing.T) {
	tc, err := newBroker(t, nil).ResolveTopic(nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name, value string
		src         Source
		syns        []string
	}{
		{"retention.ms", "604800000", SourceDefault, []string{"DEFAULT_CONFIG:log.retention.hours=168"}},
		{"segment.ms", "604800000", SourceDefault, []string{"DEFAULT_CONFIG:log.roll.hours=168"}},
		{"flush.ms", "9223372036854775807", SourceDefault, []string{"DEFAULT_CONFIG:log.flush.scheduler.interval.ms=9223372036854775807"}},
		{"max.message.bytes", "1048588", SourceDefault, []string{"DEFAULT_CONFIG:message.max.bytes=1048588"}},
		{"cleanup.policy", "delete", SourceDefault, []string{"DEFAULT_CONFIG:log.cleanup.policy=delete"}},
		{"min.cleanable.dirty.ratio", "0.5", SourceDefault, []string{"DEFAULT_CONFIG:log.cleaner.min.cleanable.ratio=0.5"}},
		{"remote.storage.enable", "false", SourceDefault, []string{}},
		{"segment.jitter.ms", "0", SourceDefault, []string{"DEFAULT_CONFIG:log.roll.jitter.hours=0"}},
	}
	for _, c := range checks {
		v, src, ok := tc.Get(c.name)
		got, _ := v.Canonical()
		if !ok || got != c.value || src != c.src {
			t.Errorf("%s = %q (%v), want %q (%v)", c.name, got, src, c.value, c.src)
		}
		if syns := synString(tc.Synonyms(c.name)); !reflect.DeepEqual(syns, c.syns) {
			t.Errorf("%s synonyms = %q, want %q", c.name, syns, c.syns)
		}
	}
	if tc.RetentionMs != 604800000 || tc.SegmentBytes != 1<<30 || tc.Compact || !tc.Delete || tc.MessageTimestampType != "CreateTime" {
		t.Errorf("typed fields wrong: %+v", tc)
	}
	if _, _, ok := tc.Get("no.such"); ok {
		t.Error("Get accepted unknown name")
	}
}

func TestResolveTopicSynonymsAndSources(t *testing.T) {
	c := newBroker(t, map[string]string{
		"log.retention.hours":        "24",
		"log.roll.hours":             "2",
		"log.flush.interval.ms":      "1000",
		"message.max.bytes":          "2000000",
		"log.cleanup.policy":         "compact",
		"compression.type":           "zstd",
		"log.retention.minutes":      "90",
		"log.roll.jitter.hours":      "1",
		"min.insync.replicas":        "2",
		"log.message.timestamp.type": "LogAppendTime",
	})
	if err := c.UpdateDynamic(false, map[string]*string{"log.retention.ms": ptr("5000")}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateDynamic(true, map[string]*string{"compression.type": ptr("lz4")}); err != nil {
		t.Fatal(err)
	}
	tc, err := c.ResolveTopic(map[string]string{"min.insync.replicas": "3", "segment.ms": "100"})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name, value string
		src         Source
		syns        []string
	}{
		// dynamic cluster default beats static minutes and hours; all levels listed.
		{"retention.ms", "5000", SourceDynamicDefaultBroker, []string{
			"DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=5000",
			"STATIC_BROKER_CONFIG:log.retention.minutes=90",
			"STATIC_BROKER_CONFIG:log.retention.hours=24",
			"DEFAULT_CONFIG:log.retention.hours=168"}},
		// topic override first, then the broker chain (hours converted).
		{"segment.ms", "100", SourceDynamicTopic, []string{
			"DYNAMIC_TOPIC_CONFIG:segment.ms=100",
			"STATIC_BROKER_CONFIG:log.roll.hours=2",
			"DEFAULT_CONFIG:log.roll.hours=168"}},
		{"segment.jitter.ms", "3600000", SourceStaticBroker, []string{
			"STATIC_BROKER_CONFIG:log.roll.jitter.hours=1",
			"DEFAULT_CONFIG:log.roll.jitter.hours=0"}},
		{"flush.ms", "1000", SourceStaticBroker, []string{
			"STATIC_BROKER_CONFIG:log.flush.interval.ms=1000",
			"DEFAULT_CONFIG:log.flush.scheduler.interval.ms=9223372036854775807"}},
		{"max.message.bytes", "2000000", SourceStaticBroker, []string{
			"STATIC_BROKER_CONFIG:message.max.bytes=2000000", "DEFAULT_CONFIG:message.max.bytes=1048588"}},
		{"compression.type", "lz4", SourceDynamicBroker, []string{
			"DYNAMIC_BROKER_CONFIG:compression.type=lz4", "STATIC_BROKER_CONFIG:compression.type=zstd", "DEFAULT_CONFIG:compression.type=producer"}},
		{"min.insync.replicas", "3", SourceDynamicTopic, []string{
			"DYNAMIC_TOPIC_CONFIG:min.insync.replicas=3", "STATIC_BROKER_CONFIG:min.insync.replicas=2", "DEFAULT_CONFIG:min.insync.replicas=1"}},
		{"cleanup.policy", "compact", SourceStaticBroker, nil},
		{"message.timestamp.type", "LogAppendTime", SourceStaticBroker, nil},
	}
	for _, ch := range checks {
		v, src, _ := tc.Get(ch.name)
		got, _ := v.Canonical()
		if got != ch.value || src != ch.src {
			t.Errorf("%s = %q (%v), want %q (%v)", ch.name, got, src, ch.value, ch.src)
		}
		if ch.syns != nil {
			if syns := synString(tc.Synonyms(ch.name)); !reflect.DeepEqual(syns, ch.syns) {
				t.Errorf("%s synonyms:\n got %q\nwant %q", ch.name, syns, ch.syns)
			}
		}
	}
	if !tc.Compact || tc.Delete || tc.MaxSegmentMs() != 100 || tc.SegmentJitterMs != 3600000 {
		t.Errorf("typed: compact %v delete %v maxSegmentMs %d", tc.Compact, tc.Delete, tc.MaxSegmentMs())
	}
	if got := tc.Overrides(); !reflect.DeepEqual(got, map[string]string{"min.insync.replicas": "3", "segment.ms": "100"}) {
		t.Errorf("Overrides = %v", got)
	}
	// Broker LogDefaults follow dynamic changes.
	if got := c.Broker().LogDefaults.RetentionMs; got != 5000 {
		t.Errorf("LogDefaults.RetentionMs = %d", got)
	}
}

func TestResolveTopicUnitConversions(t *testing.T) {
	for props, want := range map[string]int64{
		"log.retention.minutes=30":       30 * 60000,
		"log.retention.hours=-1":         -1, // negative broker retention means unlimited
		"log.retention.ms=-5":            -1,
		"log.retention.ms=1234":          1234,
		"log.retention.hours=2147483647": 2147483647 * 3600000,
	} {
		k, v, _ := strings.Cut(props, "=")
		tc, err := newBroker(t, map[string]string{k: v}).ResolveTopic(nil)
		if err != nil {
			t.Fatal(err)
		}
		if tc.RetentionMs != want {
			t.Errorf("%s: retention.ms = %d, want %d", props, tc.RetentionMs, want)
		}
	}
}

func TestResolveTopicRejectsBadOverrides(t *testing.T) {
	c := newBroker(t, nil)
	_, err := c.ResolveTopic(map[string]string{"retention.mss": "1", "segment.bytes": "12", "log.retention.ms": "5"})
	if !errors.Is(err, ErrUnknownConfig) || !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{
		"Unknown topic config name: retention.mss; did you mean retention.ms?",
		"Unknown topic config name: log.retention.ms; did you mean retention.ms (the topic config whose broker default is log.retention.ms)?",
		"Invalid value 12 for configuration segment.bytes: Value must be at least 1048576",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestInternalSegmentBytes(t *testing.T) {
	c := newBroker(t, nil)
	tc, err := c.ResolveTopic(map[string]string{TopicInternalSegmentBytes: "1024"})
	if err != nil {
		t.Fatal(err)
	}
	if tc.SegmentBytes != 1024 {
		t.Errorf("SegmentBytes = %d", tc.SegmentBytes)
	}
	if len(tc.Describe(DescribeOptions{Names: []string{TopicInternalSegmentBytes}})) != 1 {
		t.Error("a set internal config is not described")
	}
	plain, _ := c.ResolveTopic(nil)
	for _, e := range plain.Describe(DescribeOptions{}) {
		if e.Name == TopicInternalSegmentBytes {
			t.Error("unset internal config described")
		}
	}
}

func TestTimestampDifferenceFallback(t *testing.T) {
	c := newBroker(t, nil)
	tc, _ := c.ResolveTopic(nil)
	if tc.MessageTimestampBeforeMaxMs != 1<<63-1 || tc.MessageTimestampAfterMaxMs != 3600000 {
		t.Errorf("defaults: before %d after %d", tc.MessageTimestampBeforeMaxMs, tc.MessageTimestampAfterMaxMs)
	}
	tc, _ = c.ResolveTopic(map[string]string{"message.timestamp.difference.max.ms": "1000"})
	if tc.MessageTimestampBeforeMaxMs != 1000 || tc.MessageTimestampAfterMaxMs != 1000 {
		t.Errorf("difference only: before %d after %d", tc.MessageTimestampBeforeMaxMs, tc.MessageTimestampAfterMaxMs)
	}
	tc, _ = c.ResolveTopic(map[string]string{"message.timestamp.difference.max.ms": "1000", "message.timestamp.after.max.ms": "5", "message.timestamp.before.max.ms": "7"})
	if tc.MessageTimestampBeforeMaxMs != 7 || tc.MessageTimestampAfterMaxMs != 5 {
		t.Errorf("explicit bounds win: before %d after %d", tc.MessageTimestampBeforeMaxMs, tc.MessageTimestampAfterMaxMs)
	}
	// A broker-level difference applies to topics too.
	tc, _ = newBroker(t, map[string]string{"log.message.timestamp.difference.max.ms": "42"}).ResolveTopic(nil)
	if tc.MessageTimestampBeforeMaxMs != 42 || tc.MessageTimestampAfterMaxMs != 42 {
		t.Errorf("broker difference: before %d after %d", tc.MessageTimestampBeforeMaxMs, tc.MessageTimestampAfterMaxMs)
	}
}

func TestLocalRetention(t *testing.T) {
	tc, _ := newBroker(t, map[string]string{"log.retention.bytes": "100"}).ResolveTopic(map[string]string{"retention.ms": "9"})
	if tc.EffectiveLocalRetentionMs() != 9 || tc.EffectiveLocalRetentionBytes() != 100 {
		t.Errorf("effective local retention: %d %d", tc.EffectiveLocalRetentionMs(), tc.EffectiveLocalRetentionBytes())
	}
	tc, _ = newBroker(t, nil).ResolveTopic(map[string]string{"local.retention.ms": "3", "local.retention.bytes": "4"})
	if tc.EffectiveLocalRetentionMs() != 3 || tc.EffectiveLocalRetentionBytes() != 4 {
		t.Error("explicit local retention ignored")
	}
}

func TestValidateTopicConfigs(t *testing.T) {
	c := newBroker(t, map[string]string{"log.cleaner.max.compaction.lag.ms": "1000"})
	if err := c.ValidateTopicConfigs(nil, map[string]string{"retention.ms": "-1", "cleanup.policy": "compact,delete", "compression.type": "gzip", "compression.gzip.level": "9"}); err != nil {
		t.Errorf("valid configs rejected: %v", err)
	}
	tests := []struct {
		existing, proposed map[string]string
		sentinel           error
		msg                string
	}{
		{nil, map[string]string{"no.such": "1"}, ErrUnknownConfig, "Unknown topic config name: no.such"},
		{nil, map[string]string{"cleanup.policy": "compact,remove"}, ErrInvalidValue, "Invalid value compact,remove for configuration cleanup.policy: String must be one of: compact, delete"},
		{nil, map[string]string{"compression.type": "brotli"}, ErrInvalidValue, "Invalid value brotli for configuration compression.type: String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer"},
		{nil, map[string]string{"min.cleanable.dirty.ratio": "1.5"}, ErrInvalidValue, "Value must be no more than 1"},
		{nil, map[string]string{"message.timestamp.type": "NowTime"}, ErrInvalidValue, "String must be one of: CreateTime, LogAppendTime"},
		{nil, map[string]string{"unclean.leader.election.enable": "maybe"}, ErrInvalidValue, "Expected value to be either true or false"},
		{nil, map[string]string{"leader.replication.throttled.replicas": "1-2"}, ErrInvalidValue, "must be the literal '*'"},
		// min.compaction.lag.ms against the broker's max.
		{nil, map[string]string{"min.compaction.lag.ms": "2000"}, ErrConflict, "conflict topic config setting min.compaction.lag.ms (2000) > max.compaction.lag.ms (1000)"},
		{nil, map[string]string{"remote.storage.enable": "true"}, ErrConflict, "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage."},
		{map[string]string{"remote.storage.enable": "true"}, map[string]string{}, ErrConflict, "It is invalid to disable remote storage without deleting remote data."},
	}
	for _, tc := range tests {
		err := c.ValidateTopicConfigs(tc.existing, tc.proposed)
		if !errors.Is(err, tc.sentinel) {
			t.Errorf("%v: err = %v, want %v", tc.proposed, err, tc.sentinel)
			continue
		}
		if e := FirstError(err); e == nil || e.Message() != tc.msg && !strings.Contains(e.Message(), tc.msg) {
			t.Errorf("%v: message %q, want %q", tc.proposed, e.Message(), tc.msg)
		}
	}
	if err := c.ValidateTopicConfigs(map[string]string{"remote.storage.enable": "true"}, map[string]string{"remote.log.delete.on.disable": "true"}); err != nil {
		t.Errorf("disabling remote storage with delete-on-disable rejected: %v", err)
	}
	if m := NullTopicValueError("retention.ms").Message(); m != "Null value not supported for topic configs: retention.ms" {
		t.Errorf("null message = %q", m)
	}
}

func TestTopicDescribe(t *testing.T) {
	c := newBroker(t, map[string]string{"log.retention.hours": "24"})
	tc, _ := c.ResolveTopic(map[string]string{"cleanup.policy": "compact, delete"})
	all := tc.Describe(DescribeOptions{})
	if len(all) != len(TopicDefs().Defs()) {
		t.Errorf("described %d configs, want %d", len(all), len(TopicDefs().Defs()))
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].Name >= all[i].Name {
			t.Fatal("not sorted")
		}
	}
	got := tc.Describe(DescribeOptions{Names: []string{"cleanup.policy", "retention.ms", "unknown.name"}, IncludeSynonyms: true, IncludeDocumentation: true})
	if len(got) != 2 {
		t.Fatalf("got %d entries", len(got))
	}
	cp, rm := got[0], got[1]
	if *cp.Value != "compact,delete" || cp.Source != SourceDynamicTopic || cp.ReadOnly || cp.Sensitive || cp.Type != TypeList || cp.IsDefault() {
		t.Errorf("cleanup.policy entry = %+v", cp)
	}
	if want := []string{"DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete", "DEFAULT_CONFIG:log.cleanup.policy=delete"}; !reflect.DeepEqual(synString(cp.Synonyms), want) {
		t.Errorf("cleanup.policy synonyms = %q", synString(cp.Synonyms))
	}
	if *rm.Value != "86400000" || rm.Source != SourceStaticBroker || rm.Documentation == nil || *rm.Documentation == "" {
		t.Errorf("retention.ms entry = %+v", rm)
	}
	noSyn := tc.Describe(DescribeOptions{Names: []string{"retention.ms"}})
	if noSyn[0].Synonyms != nil || noSyn[0].Documentation != nil {
		t.Error("synonyms/docs returned without being asked for")
	}
	dep := tc.Describe(DescribeOptions{Names: []string{"message.downconversion.enable"}, IncludeDocumentation: true})
	if !strings.HasPrefix(*dep[0].Documentation, "[DEPRECATED]") {
		t.Errorf("deprecated doc = %q", *dep[0].Documentation)
	}
}
