package config

import (
	"reflect"
	"slices"
	"sort"
	"testing"
)

// Every built-in default parses as its type and passes its own validator.
func TestDefaultsParse(t *testing.T) {
	for _, r := range []*Registry{BrokerDefs(), TopicDefs()} {
		for _, d := range r.all {
			raw, ok := d.Default()
			if !ok {
				continue
			}
			if _, err := d.Parse(raw); err != nil {
				t.Errorf("%s %s: default %q does not parse: %v", r.Scope(), d.Name, raw, err)
			}
		}
	}
}

func TestDefsDocumented(t *testing.T) {
	for _, r := range []*Registry{BrokerDefs(), TopicDefs()} {
		for _, d := range r.all {
			if d.Doc == "" {
				t.Errorf("%s has no documentation", d.Name)
			}
			if d.Type == TypeUnknown {
				t.Errorf("%s has no type", d.Name)
			}
			if (d.KafkaDefault != "") && d.DefaultNote == "" {
				t.Errorf("%s records Kafka's default without saying why Samsa differs", d.Name)
			}
			if r.Scope() == ScopeTopic && d.Mode != ModeTopic {
				t.Errorf("topic config %s has mode %v", d.Name, d.Mode)
			}
		}
	}
}

// The topic configs of Kafka's TopicConfig (4.1), plus the two Samsa keeps
// for 3.x compatibility.
func TestTopicConfigsComplete(t *testing.T) {
	want := []string{
		"cleanup.policy", "compression.gzip.level", "compression.lz4.level", "compression.type", "compression.zstd.level",
		"delete.retention.ms", "file.delete.delay.ms", "flush.messages", "flush.ms", "follower.replication.throttled.replicas",
		"index.interval.bytes", "leader.replication.throttled.replicas", "local.retention.bytes", "local.retention.ms",
		"max.compaction.lag.ms", "max.message.bytes", "message.downconversion.enable", "message.timestamp.after.max.ms",
		"message.timestamp.before.max.ms", "message.timestamp.difference.max.ms", "message.timestamp.type",
		"min.cleanable.dirty.ratio", "min.compaction.lag.ms", "min.insync.replicas", "preallocate", "remote.log.copy.disable",
		"remote.log.delete.on.disable", "remote.storage.enable", "retention.bytes", "retention.ms", "segment.bytes",
		"segment.index.bytes", "segment.jitter.ms", "segment.ms", "unclean.leader.election.enable",
	}
	if got := TopicDefs().Names(); !reflect.DeepEqual(got, want) {
		t.Errorf("topic configs:\n got %q\nwant %q", got, want)
	}
	if _, ok := TopicDefs().Lookup(TopicInternalSegmentBytes); !ok {
		t.Error("internal.segment.bytes is not accepted")
	}
}

// Kafka's ServerTopicConfigSynonyms, verbatim (names and order).
func TestTopicSynonymsMatchKafka(t *testing.T) {
	want := map[string][]string{
		"segment.bytes":                       {"log.segment.bytes"},
		"segment.ms":                          {"log.roll.ms", "log.roll.hours"},
		"segment.jitter.ms":                   {"log.roll.jitter.ms", "log.roll.jitter.hours"},
		"segment.index.bytes":                 {"log.index.size.max.bytes"},
		"flush.messages":                      {"log.flush.interval.messages"},
		"flush.ms":                            {"log.flush.interval.ms", "log.flush.scheduler.interval.ms"},
		"retention.bytes":                     {"log.retention.bytes"},
		"retention.ms":                        {"log.retention.ms", "log.retention.minutes", "log.retention.hours"},
		"max.message.bytes":                   {"message.max.bytes"},
		"index.interval.bytes":                {"log.index.interval.bytes"},
		"delete.retention.ms":                 {"log.cleaner.delete.retention.ms"},
		"min.compaction.lag.ms":               {"log.cleaner.min.compaction.lag.ms"},
		"max.compaction.lag.ms":               {"log.cleaner.max.compaction.lag.ms"},
		"file.delete.delay.ms":                {"log.segment.delete.delay.ms"},
		"min.cleanable.dirty.ratio":           {"log.cleaner.min.cleanable.ratio"},
		"cleanup.policy":                      {"log.cleanup.policy"},
		"unclean.leader.election.enable":      {"unclean.leader.election.enable"},
		"min.insync.replicas":                 {"min.insync.replicas"},
		"compression.type":                    {"compression.type"},
		"compression.gzip.level":              {"compression.gzip.level"},
		"compression.lz4.level":               {"compression.lz4.level"},
		"compression.zstd.level":              {"compression.zstd.level"},
		"preallocate":                         {"log.preallocate"},
		"message.timestamp.type":              {"log.message.timestamp.type"},
		"message.timestamp.difference.max.ms": {"log.message.timestamp.difference.max.ms"},
		"message.timestamp.before.max.ms":     {"log.message.timestamp.before.max.ms"},
		"message.timestamp.after.max.ms":      {"log.message.timestamp.after.max.ms"},
		"message.downconversion.enable":       {"log.message.downconversion.enable"},
		"local.retention.ms":                  {"log.local.retention.ms"},
		"local.retention.bytes":               {"log.local.retention.bytes"},
	}
	noServerDefault := []string{"remote.storage.enable", "remote.log.delete.on.disable", "remote.log.copy.disable",
		"leader.replication.throttled.replicas", "follower.replication.throttled.replicas", TopicInternalSegmentBytes}
	for _, d := range TopicDefs().all {
		var got []string
		for _, s := range d.Synonyms {
			got = append(got, s.Name)
		}
		if slices.Contains(noServerDefault, d.Name) {
			if len(got) != 0 {
				t.Errorf("%s has synonyms %q; Kafka has none", d.Name, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, want[d.Name]) {
			t.Errorf("%s synonyms = %q, want %q", d.Name, got, want[d.Name])
		}
	}
	units := map[string]Unit{"log.roll.hours": UnitHours, "log.roll.jitter.hours": UnitHours,
		"log.retention.hours": UnitHours, "log.retention.minutes": UnitMinutes}
	for _, d := range TopicDefs().all {
		for _, s := range d.Synonyms {
			if s.Unit != units[s.Name] {
				t.Errorf("%s synonym %s has unit %d", d.Name, s.Name, s.Unit)
			}
			bd, ok := BrokerDefs().Lookup(s.Name)
			if !ok {
				t.Errorf("%s synonym %s is not a broker config", d.Name, s.Name)
				continue
			}
			// Kafka's DynamicLogConfig.ReconfigurableConfigs: the first synonym
			// of every topic config is cluster-wide; the unit alternatives are
			// read-only.
			wantMode := ModeReadOnly
			if s.Name == d.Synonyms[0].Name {
				wantMode = ModeClusterWide
			}
			if bd.Mode != wantMode {
				t.Errorf("broker config %s has mode %v, want %v", s.Name, bd.Mode, wantMode)
			}
		}
	}
}

func TestBrokerConfigsPresent(t *testing.T) {
	for _, name := range []string{
		"node.id", "broker.id", "process.roles", "listeners", "advertised.listeners", "listener.security.protocol.map",
		"inter.broker.listener.name", "controller.listener.names", "log.dirs", "log.dir", "num.partitions",
		"default.replication.factor", "auto.create.topics.enable", "delete.topic.enable", "message.max.bytes",
		"socket.request.max.bytes", "socket.send.buffer.bytes", "socket.receive.buffer.bytes", "connections.max.idle.ms",
		"broker.rack", "num.io.threads", "num.network.threads", "num.recovery.threads.per.data.dir",
		"log.retention.check.interval.ms", "log.flush.scheduler.interval.ms", "log.flush.offset.checkpoint.interval.ms",
		"log.flush.start.offset.checkpoint.interval.ms", "log.cleaner.enable", "log.cleaner.threads", "log.cleaner.backoff.ms",
		"log.cleaner.dedupe.buffer.size", "log.cleaner.delete.retention.ms", "log.cleaner.min.cleanable.ratio",
		"log.cleaner.min.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", "log.segment.delete.delay.ms",
		"replica.fetch.max.bytes", "replica.fetch.response.max.bytes", "fetch.max.bytes", "group.initial.rebalance.delay.ms",
		"group.min.session.timeout.ms", "group.max.session.timeout.ms", "group.max.size", "offsets.topic.num.partitions",
		"offsets.topic.replication.factor", "offsets.topic.segment.bytes", "offsets.retention.minutes",
		"transaction.state.log.num.partitions", "transaction.state.log.replication.factor", "transactional.id.expiration.ms",
		"transaction.max.timeout.ms", "min.insync.replicas", "unclean.leader.election.enable", "compression.type",
		"log.message.timestamp.type", "queued.max.requests", "request.timeout.ms", "cluster.id", "samsa.http.listener",
	} {
		if _, ok := BrokerDefs().Lookup(name); !ok {
			t.Errorf("broker config %s is missing", name)
		}
	}
}

// Kafka's classification of a few well-known broker configs.
func TestBrokerUpdateModes(t *testing.T) {
	want := map[string]UpdateMode{
		"listeners": ModePerBroker, "advertised.listeners": ModePerBroker, "listener.security.protocol.map": ModePerBroker,
		"ssl.keystore.location": ModePerBroker, "sasl.enabled.mechanisms": ModePerBroker,
		"num.io.threads": ModeClusterWide, "num.network.threads": ModeClusterWide, "log.cleaner.threads": ModeClusterWide,
		"message.max.bytes": ModeClusterWide, "max.connections": ModeClusterWide, "producer.id.expiration.ms": ModeClusterWide,
		"log.retention.ms": ModeClusterWide, "log.retention.hours": ModeReadOnly,
		"node.id": ModeReadOnly, "log.dirs": ModeReadOnly, "num.partitions": ModeReadOnly, "auto.create.topics.enable": ModeReadOnly,
		"offsets.topic.replication.factor": ModeReadOnly, "log.cleaner.enable": ModeReadOnly,
	}
	for name, mode := range want {
		d, ok := BrokerDefs().Lookup(name)
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if d.Mode != mode {
			t.Errorf("%s mode = %v, want %v", name, d.Mode, mode)
		}
	}
}

func TestSamsaDefaults(t *testing.T) {
	want := map[string]string{
		"listeners": "PLAINTEXT://127.0.0.1:9092", "log.dir": "./samsa-data", "node.id": "1", "num.partitions": "1",
		"default.replication.factor": "1", "offsets.topic.replication.factor": "1",
		"transaction.state.log.replication.factor": "1", "auto.create.topics.enable": "true",
		"samsa.http.listener": "127.0.0.1:9644", "segment.bytes": "1073741824",
	}
	for name, dflt := range want {
		d, ok := BrokerDefs().Lookup(name)
		if !ok {
			d, ok = TopicDefs().Lookup(name)
		}
		if !ok {
			t.Fatalf("%s missing", name)
		}
		if got, _ := d.Default(); got != dflt {
			t.Errorf("%s default = %q, want %q", name, got, dflt)
		}
	}
	for _, name := range []string{"listeners", "log.dir", "node.id", "offsets.topic.replication.factor", "transaction.state.log.replication.factor", "transaction.state.log.min.isr"} {
		if d, _ := BrokerDefs().Lookup(name); !d.DiffersFromKafka() {
			t.Errorf("%s differs from Kafka's default but carries no note", name)
		}
	}
}

func TestRegistryListing(t *testing.T) {
	names := BrokerDefs().Names()
	if !sort.StringsAreSorted(names) {
		t.Error("broker names are not sorted")
	}
	if slices.Contains(TopicDefs().Names(), TopicInternalSegmentBytes) {
		t.Error("internal config listed")
	}
	rows := DescribeDefs(TopicDefs())
	if len(rows) != len(TopicDefs().Defs())+1 || rows[0][0] != "Name" {
		t.Fatalf("DescribeDefs returned %d rows", len(rows))
	}
	for _, row := range rows[1:] {
		if row[0] == "retention.ms" && (row[2] != "604800000" || row[3] != "[-1,...]" || row[1] != "long") {
			t.Errorf("retention.ms row = %q", row)
		}
	}
}

func TestListenerOverrideLookup(t *testing.T) {
	tests := []struct {
		key, listener, mech, base string
		ok                        bool
	}{
		{"listener.name.sasl_ssl.ssl.keystore.location", "SASL_SSL", "", "ssl.keystore.location", true},
		{"listener.name.external.max.connections", "EXTERNAL", "", "max.connections", true},
		{"listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config", "SASL_SSL", "SCRAM-SHA-256", "sasl.jaas.config", true},
		{"listener.name.sasl_ssl.sasl.jaas.config", "SASL_SSL", "", "sasl.jaas.config", true},
		{"listener.name.x.num.partitions", "", "", "", false}, // not listener-overridable
		{"listener.name..ssl.keystore.location", "", "", "", false},
		{"listener.name.x.plain.ssl.keystore.location", "", "", "", false},
		{"ssl.keystore.location", "", "", "", false},
	}
	for _, tc := range tests {
		l, m, d, ok := BrokerDefs().LookupListenerOverride(tc.key)
		if ok != tc.ok || l != tc.listener || m != tc.mech || (ok && d.Name != tc.base) {
			t.Errorf("LookupListenerOverride(%q) = %q, %q, %v, %v", tc.key, l, m, d, ok)
		}
	}
	if _, _, _, ok := TopicDefs().LookupListenerOverride("listener.name.a.ssl.keystore.location"); ok {
		t.Error("topic registry accepted a listener override")
	}
}

func TestEditDistanceSuggestion(t *testing.T) {
	if got := suggest(ScopeBroker, "num.partitons"); got != "num.partitions" {
		t.Errorf("suggest = %q", got)
	}
	if got := suggest(ScopeTopic, "retention.mss"); got != "retention.ms" {
		t.Errorf("suggest = %q", got)
	}
	if got := suggest(ScopeBroker, "completely.unrelated.thing"); got != "" {
		t.Errorf("suggest = %q, want none", got)
	}
}
