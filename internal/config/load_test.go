package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnvKey(t *testing.T) {
	tests := []struct {
		env, key string
		ok       bool
	}{
		{"SAMSA_LOG_DIRS", "log.dirs", true},
		{"SAMSA_NUM_PARTITIONS", "num.partitions", true},
		{"SAMSA_NODE_ID", "node.id", true},
		{"SAMSA_samsa_HTTP_LISTENER", "samsa.http.listener", true},
		{"SAMSA_LISTENER_NAME_SASL__SSL_SCRAM___SHA___256_SASL_JAAS_CONFIG", "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config", true},
		{"SAMSA_", "", false},
		{"KAFKA_LOG_DIRS", "", false},
		{"samsa_log_dirs", "", false},
		{"PATH", "", false},
	}
	for _, tc := range tests {
		key, ok := EnvKey(tc.env)
		if key != tc.key || ok != tc.ok {
			t.Errorf("EnvKey(%q) = %q, %v; want %q, %v", tc.env, key, ok, tc.key, tc.ok)
		}
	}
	// Every config name survives the round trip through its variable name.
	for _, r := range []*Registry{BrokerDefs(), TopicDefs()} {
		for _, name := range r.Names() {
			if got, ok := EnvKey(EnvName(name)); !ok || got != name {
				t.Errorf("EnvKey(EnvName(%q)) = %q", name, got)
			}
		}
	}
	if got := EnvName("listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config"); got != "SAMSA_LISTENER_NAME_SASL__SSL_SCRAM___SHA___256_SASL_JAAS_CONFIG" {
		t.Errorf("EnvName = %q", got)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "server.properties")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadPrecedence(t *testing.T) {
	path := writeFile(t, `
# file sets all three; env overrides two; --override one
num.partitions=2
default.replication.factor = 2
log.dirs : /from/file
broker.rack  file-rack
`)
	c, err := Load(LoadOptions{
		File:      path,
		Env:       []string{"SAMSA_NUM_PARTITIONS=3", "SAMSA_LOG_DIRS=/from/env", "HOME=/root", "SAMSA_BROKER_RACK=env-rack"},
		Overrides: []string{"log.dirs=/from/override", "broker.rack=first", "broker.rack=last"},
	})
	if err != nil {
		t.Fatal(err)
	}
	b := c.Broker()
	if b.NumPartitions != 3 {
		t.Errorf("num.partitions = %d, want 3 (env over file)", b.NumPartitions)
	}
	if b.DefaultReplicationFactor != 2 {
		t.Errorf("default.replication.factor = %d, want 2 (file)", b.DefaultReplicationFactor)
	}
	if len(b.LogDirs) != 1 || b.LogDirs[0] != "/from/override" {
		t.Errorf("log.dirs = %q, want /from/override (override over env)", b.LogDirs)
	}
	if b.Rack != "last" {
		t.Errorf("broker.rack = %q, want the last --override", b.Rack)
	}
	for _, name := range []string{"num.partitions", "log.dirs", "default.replication.factor"} {
		if _, src, _ := c.Get(name); src != SourceStaticBroker {
			t.Errorf("%s source = %v, want STATIC_BROKER_CONFIG", name, src)
		}
	}
	if _, src, _ := c.Get("num.io.threads"); src != SourceDefault {
		t.Errorf("num.io.threads source = %v", src)
	}
	if c.Static()["num.partitions"] != "3" {
		t.Errorf("Static() = %v", c.Static())
	}
}

func TestLoadZeroConfig(t *testing.T) {
	c, err := Load(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := c.Broker()
	if c.NodeID() != 1 || b.NodeID != 1 || !b.IsBroker || !b.IsController {
		t.Errorf("identity: node %d roles %v", b.NodeID, b.Roles)
	}
	if len(b.Listeners) != 1 || b.Listeners[0].String() != "PLAINTEXT://127.0.0.1:9092" || b.Listeners[0].SecurityProtocol != ProtocolPlaintext {
		t.Errorf("listeners = %+v", b.Listeners)
	}
	if len(b.AdvertisedListeners) != 1 || b.AdvertisedListeners[0] != b.Listeners[0] {
		t.Errorf("advertised = %+v", b.AdvertisedListeners)
	}
	if b.InterBrokerListenerName != "PLAINTEXT" || b.InterBrokerSecurityProtocol != ProtocolPlaintext {
		t.Errorf("inter-broker = %s/%s", b.InterBrokerListenerName, b.InterBrokerSecurityProtocol)
	}
	if len(b.LogDirs) != 1 || b.LogDirs[0] != "./samsa-data" {
		t.Errorf("log dirs = %q", b.LogDirs)
	}
	if b.NumPartitions != 1 || b.DefaultReplicationFactor != 1 || !b.AutoCreateTopicsEnable ||
		b.OffsetsTopicReplicationFactor != 1 || b.TransactionStateLogReplication != 1 || b.TransactionStateLogMinISR != 1 {
		t.Errorf("single-node defaults wrong: %+v", b)
	}
	if b.MessageMaxBytes != 1048588 || b.SocketRequestMaxBytes != 104857600 || b.ConnectionsMaxIdle.Minutes() != 10 {
		t.Errorf("socket defaults wrong")
	}
	if b.HTTPListener != "127.0.0.1:9644" || b.ClusterID != "" || b.Rack != "" {
		t.Errorf("samsa extras: %q %q %q", b.HTTPListener, b.ClusterID, b.Rack)
	}
	if b.LogFlushSchedulerInterval <= 0 || b.OffsetsRetention.Hours() != 168 {
		t.Errorf("durations: flush %v offsets %v", b.LogFlushSchedulerInterval, b.OffsetsRetention)
	}
	if b.LogDefaults == nil || b.LogDefaults.RetentionMs != 604800000 || b.LogDefaults.SegmentBytes != 1<<30 {
		t.Errorf("log defaults = %+v", b.LogDefaults)
	}
}

func TestLoadErrors(t *testing.T) {
	path := writeFile(t, "num.partitions=1\nlog.retention.hourz=5\nsegment.bytes=10\n")
	_, err := Load(LoadOptions{
		File:      path,
		Env:       []string{"SAMSA_NUM_IO_THREADS=lots"},
		Overrides: []string{"num.partitions=0", "message.max.bytes=-1"},
	})
	if err == nil {
		t.Fatal("Load succeeded")
	}
	msg := err.Error()
	for _, want := range []string{
		// unknown keys: named, located, with a suggestion
		"Unknown broker config name: log.retention.hourz (from " + path + ":2); did you mean log.retention.hours?",
		// a topic config given as a broker config is unknown too
		"Unknown broker config name: segment.bytes (from " + path + ":3); did you mean log.segment.bytes (the broker default of topic config segment.bytes)?",
		// invalid values: key, value, expectation, origin
		"Invalid value lots for configuration num.io.threads: Not a number of type INT (from environment variable SAMSA_NUM_IO_THREADS)",
		"Invalid value 0 for configuration num.partitions: Value must be at least 1 (from --override num.partitions)",
		"Invalid value -1 for configuration message.max.bytes: Value must be at least 0 (from --override message.max.bytes)",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not contain %q:\n%s", want, msg)
		}
	}
	if !errors.Is(err, ErrUnknownConfig) || !errors.Is(err, ErrInvalidValue) {
		t.Errorf("error does not wrap both sentinels: %v", err)
	}
	if n := len(Errors(err)); n != 5 {
		t.Errorf("got %d errors, want 5: %v", n, err)
	}
}

func TestLoadMalformed(t *testing.T) {
	_, err := Load(LoadOptions{Overrides: []string{"no-equals-sign"}})
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `--override "no-equals-sign" is not of the form key=value`) {
		t.Errorf("err = %v", err)
	}
	_, err = Load(LoadOptions{File: writeFile(t, `a=\uXYZW`)})
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v", err)
	}
	_, err = Load(LoadOptions{File: filepath.Join(t.TempDir(), "missing.properties")})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.properties") {
		t.Errorf("err = %v", err)
	}
}

func TestNodeIDAlias(t *testing.T) {
	c, err := NewBrokerConfig(map[string]string{"broker.id": "7"})
	if err != nil {
		t.Fatal(err)
	}
	if c.NodeID() != 7 || c.Int("node.id") != 7 {
		t.Errorf("node.id = %d", c.NodeID())
	}
	c, err = NewBrokerConfig(map[string]string{"node.id": "5"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Int("broker.id") != 5 {
		t.Errorf("broker.id = %d", c.Int("broker.id"))
	}
	if _, err := NewBrokerConfig(map[string]string{"node.id": "5", "broker.id": "6"}); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "must be equal") {
		t.Errorf("err = %v", err)
	}
	if _, err := NewBrokerConfig(map[string]string{"node.id": "5", "broker.id": "5"}); err != nil {
		t.Error(err)
	}
}

func TestTypedAccessors(t *testing.T) {
	c, err := NewBrokerConfig(map[string]string{
		"log.retention.hours": "2", "leader.imbalance.check.interval.seconds": "3", "offsets.retention.minutes": "4",
		"ssl.keystore.password": "s3cret",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Bool("auto.create.topics.enable") != true || c.Int("num.partitions") != 1 || c.Long("log.flush.interval.messages") != 1<<63-1 {
		t.Error("basic accessors wrong")
	}
	if c.Double("log.cleaner.min.cleanable.ratio") != 0.5 || c.String("compression.type") != "producer" || c.String("ssl.keystore.password") != "s3cret" {
		t.Error("string/double accessors wrong")
	}
	if got := c.List("process.roles"); len(got) != 2 {
		t.Errorf("List = %q", got)
	}
	if c.Duration("log.retention.hours").Hours() != 2 || c.Duration("leader.imbalance.check.interval.seconds").Seconds() != 3 ||
		c.Duration("offsets.retention.minutes").Minutes() != 4 || c.Duration("connections.max.idle.ms").Minutes() != 10 {
		t.Error("Duration wrong")
	}
	if c.Duration("log.flush.scheduler.interval.ms") <= 0 {
		t.Error("Long.MAX_VALUE ms did not saturate")
	}
	for _, bad := range []func(){
		func() { c.Int("no.such.config") },
		func() { c.Int("compression.type") },
		func() { c.Duration("num.partitions") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("misuse did not panic")
				}
			}()
			bad()
		}()
	}
	if _, _, ok := c.Get("no.such.config"); ok {
		t.Error("Get accepted an unknown name")
	}
}
