package config

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestUpdateDynamicRules(t *testing.T) {
	c := newBroker(t, map[string]string{"num.io.threads": "8"})
	tests := []struct {
		name      string
		perBroker bool
		updates   map[string]*string
		sentinel  error
		msg       string
	}{
		{"read-only", true, map[string]*string{"log.dirs": ptr("/x"), "num.partitions": ptr("3")}, ErrNotDynamic,
			"Cannot update these configs dynamically: Set(log.dirs, num.partitions)"},
		{"secondary synonym is read-only", false, map[string]*string{"log.retention.hours": ptr("3")}, ErrNotDynamic,
			"Cannot update these configs dynamically: Set(log.retention.hours)"},
		{"per-broker at default level", false, map[string]*string{"listeners": ptr("PLAINTEXT://:1")}, ErrPerBrokerOnly,
			"Cannot update these configs at default cluster level, broker id must be specified: Set(listeners)"},
		{"listener-scoped at default level", false, map[string]*string{"listener.name.plaintext.ssl.client.auth": ptr("required")}, ErrPerBrokerOnly,
			"broker id must be specified"},
		{"ssl without listener prefix", true, map[string]*string{"ssl.keystore.location": ptr("/k.pem")}, ErrNotDynamic,
			"These security configs can be dynamically updated only per-listener using the listener prefix: Set(ssl.keystore.location)"},
		{"unknown", true, map[string]*string{"retention.ms": ptr("1")}, ErrUnknownConfig, "Unknown broker config name: retention.ms"},
		{"invalid value", false, map[string]*string{"message.max.bytes": ptr("-3")}, ErrInvalidValue,
			"Invalid value -3 for configuration message.max.bytes: Value must be at least 0"},
		{"thread pool more than double", false, map[string]*string{"num.io.threads": ptr("17")}, ErrInvalidValue,
			"Dynamic thread count update validation failed for num.io.threads=17, value should not be greater than double the current value 8"},
		{"thread pool less than half", true, map[string]*string{"num.io.threads": ptr("3")}, ErrInvalidValue,
			"value should be at least half the current value 8"},
		{"cleaner threads to zero", false, map[string]*string{"log.cleaner.threads": ptr("0")}, ErrInvalidValue,
			"value should be at least 1"},
		{"cross-field result", true, map[string]*string{"log.cleaner.min.compaction.lag.ms": ptr("10"), "log.cleaner.max.compaction.lag.ms": ptr("5")}, ErrConflict,
			"conflict broker config setting"},
		{"bad listeners", true, map[string]*string{"listeners": ptr("BAD://:1")}, ErrConflict,
			"not found in listener.security.protocol.map"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, apply := range []bool{false, true} {
				var err error
				if apply {
					err = c.UpdateDynamic(tc.perBroker, tc.updates)
				} else {
					err = c.ValidateDynamic(tc.perBroker, tc.updates)
				}
				if !errors.Is(err, tc.sentinel) {
					t.Fatalf("err = %v, want %v", err, tc.sentinel)
				}
				if e := FirstError(err); e == nil || !strings.Contains(e.Message(), tc.msg) {
					t.Errorf("message %q does not contain %q", e.Message(), tc.msg)
				}
			}
			if len(c.Dynamic(true)) != 0 || len(c.Dynamic(false)) != 0 {
				t.Errorf("a rejected update was applied: %v %v", c.Dynamic(true), c.Dynamic(false))
			}
		})
	}
}

func TestUpdateDynamicApply(t *testing.T) {
	c := newBroker(t, map[string]string{"num.io.threads": "8", "message.max.bytes": "1000"})
	b0, changed := c.Watch()
	if err := c.UpdateDynamic(false, map[string]*string{"message.max.bytes": ptr("2000"), "num.io.threads": ptr("16"), "log.retention.ms": ptr("60000")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("Watch channel not closed by a change")
	}
	b1, changed := c.Watch()
	if b0.MessageMaxBytes != 1000 || b1.MessageMaxBytes != 2000 || b1.LogDefaults.RetentionMs != 60000 || c.Int("num.io.threads") != 16 {
		t.Errorf("snapshots: old %d new %d retention %d", b0.MessageMaxBytes, b1.MessageMaxBytes, b1.LogDefaults.RetentionMs)
	}
	if _, src, _ := c.Get("message.max.bytes"); src != SourceDynamicDefaultBroker {
		t.Errorf("source = %v", src)
	}
	// Per-broker beats cluster default; deleting it falls back.
	if err := c.UpdateDynamic(true, map[string]*string{"message.max.bytes": ptr("3000"), "listeners": ptr("PLAINTEXT://127.0.0.1:9999")}); err != nil {
		t.Fatal(err)
	}
	if v, src, _ := c.Get("message.max.bytes"); v.Int() != 3000 || src != SourceDynamicBroker {
		t.Errorf("per-broker: %v %v", v, src)
	}
	if c.Broker().Listeners[0].Port != 9999 {
		t.Errorf("listeners not updated: %+v", c.Broker().Listeners)
	}
	<-changed
	if err := c.UpdateDynamic(true, map[string]*string{"message.max.bytes": nil}); err != nil {
		t.Fatal(err)
	}
	if v, src, _ := c.Get("message.max.bytes"); v.Int() != 2000 || src != SourceDynamicDefaultBroker {
		t.Errorf("after delete: %v %v", v, src)
	}
	if got := c.Dynamic(false); !reflect.DeepEqual(got, map[string]string{"message.max.bytes": "2000", "num.io.threads": "16", "log.retention.ms": "60000"}) {
		t.Errorf("Dynamic(false) = %v", got)
	}
	// Cluster-level listener configs may be set per listener at the default level.
	if err := c.UpdateDynamic(false, map[string]*string{"listener.name.plaintext.max.connections": ptr("10")}); err != nil {
		t.Errorf("listener max.connections at default level: %v", err)
	}
	// Per-listener SSL settings are allowed per broker.
	if err := c.UpdateDynamic(true, map[string]*string{"listener.name.plaintext.ssl.client.auth": ptr("required")}); err != nil {
		t.Errorf("per-listener ssl: %v", err)
	}
}

func TestReplaceDynamic(t *testing.T) {
	c := newBroker(t, nil)
	if err := c.UpdateDynamic(false, map[string]*string{"log.retention.ms": ptr("1"), "compression.type": ptr("gzip")}); err != nil {
		t.Fatal(err)
	}
	// A replay sets exactly the given set; thread pools may jump.
	if err := c.ReplaceDynamic(false, map[string]string{"num.io.threads": "64"}); err != nil {
		t.Fatal(err)
	}
	if got := c.Dynamic(false); !reflect.DeepEqual(got, map[string]string{"num.io.threads": "64"}) {
		t.Errorf("Dynamic = %v", got)
	}
	if err := c.ReplaceDynamic(true, map[string]string{"node.id": "3"}); !errors.Is(err, ErrNotDynamic) {
		t.Errorf("replay of a read-only config: %v", err)
	}
}

func TestBrokerDescribe(t *testing.T) {
	c := newBroker(t, map[string]string{
		"log.retention.hours":                     "24",
		"ssl.keystore.password":                   "hunter2",
		"listeners":                               "PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093",
		"listener.name.ssl.ssl.keystore.location": "/ssl.pem",
	})
	if err := c.UpdateDynamic(false, map[string]*string{"log.retention.ms": ptr("5000"), "message.max.bytes": ptr("2000")}); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateDynamic(true, map[string]*string{"message.max.bytes": ptr("3000")}); err != nil {
		t.Fatal(err)
	}
	all := c.Describe(true, DescribeOptions{})
	if len(all) != len(BrokerDefs().Defs())+1 { // + the per-listener key
		t.Errorf("described %d configs", len(all))
	}
	entries := map[string]Entry{}
	for _, e := range c.Describe(true, DescribeOptions{IncludeSynonyms: true, IncludeDocumentation: true}) {
		entries[e.Name] = e
	}
	check := func(name, value string, src Source, readOnly bool, syns []string) {
		t.Helper()
		e, ok := entries[name]
		if !ok {
			t.Errorf("%s not described", name)
			return
		}
		v := "null"
		if e.Value != nil {
			v = *e.Value
		}
		if v != value || e.Source != src || e.ReadOnly != readOnly {
			t.Errorf("%s = %s (%v, readOnly %v), want %s (%v, %v)", name, v, e.Source, e.ReadOnly, value, src, readOnly)
		}
		if got := synString(e.Synonyms); !reflect.DeepEqual(got, syns) {
			t.Errorf("%s synonyms:\n got %q\nwant %q", name, got, syns)
		}
	}
	check("message.max.bytes", "3000", SourceDynamicBroker, false, []string{
		"DYNAMIC_BROKER_CONFIG:message.max.bytes=3000", "DYNAMIC_DEFAULT_BROKER_CONFIG:message.max.bytes=2000", "DEFAULT_CONFIG:message.max.bytes=1048588"})
	check("log.retention.ms", "5000", SourceDynamicDefaultBroker, false, []string{
		"DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=5000", "STATIC_BROKER_CONFIG:log.retention.hours=24", "DEFAULT_CONFIG:log.retention.hours=168"})
	// log.retention.hours' own chain starts at its own name (Kafka drops the
	// higher-precedence log.retention.ms before it).
	check("log.retention.hours", "24", SourceStaticBroker, true, []string{
		"STATIC_BROKER_CONFIG:log.retention.hours=24", "DEFAULT_CONFIG:log.retention.hours=168"})
	check("log.retention.minutes", "null", SourceDefault, true, []string{})
	check("num.partitions", "1", SourceDefault, true, []string{"DEFAULT_CONFIG:num.partitions=1"})
	check("log.dirs", "null", SourceDefault, true, []string{})
	check("listener.name.ssl.ssl.keystore.location", "/ssl.pem", SourceStaticBroker, false, []string{
		"STATIC_BROKER_CONFIG:listener.name.ssl.ssl.keystore.location=/ssl.pem"})

	pw := entries["ssl.keystore.password"]
	if pw.Value != nil || !pw.Sensitive || pw.Type != TypePassword || pw.Source != SourceStaticBroker {
		t.Errorf("password entry = %+v", pw)
	}
	for _, s := range pw.Synonyms {
		if s.Value != nil {
			t.Errorf("password synonym value exposed: %+v", s)
		}
	}
	if d := entries["num.partitions"].Documentation; d == nil || *d == "" {
		t.Error("documentation missing")
	}

	// The cluster-default resource lists only what is set at that level.
	dflt := c.Describe(false, DescribeOptions{IncludeSynonyms: true})
	if len(dflt) != 2 || dflt[0].Name != "log.retention.ms" || dflt[1].Name != "message.max.bytes" {
		t.Fatalf("default-level describe = %+v", dflt)
	}
	if *dflt[1].Value != "2000" || dflt[1].Source != SourceDynamicDefaultBroker ||
		!reflect.DeepEqual(synString(dflt[1].Synonyms), []string{"DYNAMIC_DEFAULT_BROKER_CONFIG:message.max.bytes=2000"}) {
		t.Errorf("default-level entry = %+v %q", dflt[1], synString(dflt[1].Synonyms))
	}
}

func TestConcurrentReadsAndUpdates(t *testing.T) {
	c := newBroker(t, nil)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				if i == 0 {
					v := []string{"producer", "gzip"}[j%2]
					if err := c.UpdateDynamic(false, map[string]*string{"compression.type": &v}); err != nil {
						t.Error(err)
						return
					}
					continue
				}
				_ = c.Broker().LogDefaults.CompressionType
				_, _ = c.ResolveTopic(map[string]string{"retention.ms": "1"})
				_ = c.Describe(true, DescribeOptions{Names: []string{"compression.type"}, IncludeSynonyms: true})
			}
		}(i)
	}
	wg.Wait()
}

func TestApplyIncremental(t *testing.T) {
	topics := TopicDefs()
	o := map[string]string{}
	steps := []struct {
		name  string
		op    AlterOp
		value *string
		want  map[string]string
		err   string
	}{
		{"retention.ms", OpSet, ptr("100"), map[string]string{"retention.ms": "100"}, ""},
		{"retention.ms", OpSet, nil, map[string]string{}, ""},
		// APPEND starts from the default when nothing is set.
		{"cleanup.policy", OpAppend, ptr("compact"), map[string]string{"cleanup.policy": "delete,compact"}, ""},
		{"cleanup.policy", OpAppend, ptr("compact"), map[string]string{"cleanup.policy": "delete,compact"}, ""},
		{"cleanup.policy", OpSubtract, ptr("delete"), map[string]string{"cleanup.policy": "compact"}, ""},
		{"cleanup.policy", OpSubtract, ptr("compact"), map[string]string{"cleanup.policy": ""}, ""},
		{"leader.replication.throttled.replicas", OpAppend, ptr("0:1,1:2"), map[string]string{"cleanup.policy": "", "leader.replication.throttled.replicas": "0:1,1:2"}, ""},
		{"cleanup.policy", OpDelete, nil, map[string]string{"leader.replication.throttled.replicas": "0:1,1:2"}, ""},
		{"retention.ms", OpAppend, ptr("1"), nil, "Can't APPEND to key retention.ms because its type is not LIST."},
		{"nope", OpSet, ptr("1"), nil, "Unknown topic config name: nope"},
		{"retention.ms", AlterOp(9), ptr("1"), nil, "Unknown IncrementalAlterConfigs operation"},
	}
	for i, s := range steps {
		err := topics.ApplyIncremental(o, s.name, s.op, s.value)
		if s.err != "" {
			if e := FirstError(err); e == nil || !strings.Contains(e.Message(), s.err) {
				t.Errorf("step %d: err = %v, want %q", i, err, s.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if !reflect.DeepEqual(o, s.want) {
			t.Errorf("step %d (%v %s): overrides = %v, want %v", i, s.op, s.name, o, s.want)
		}
	}
	// Broker registry: listener keys resolve; the result still needs validation.
	b := map[string]string{}
	if err := BrokerDefs().ApplyIncremental(b, "listener.name.ssl.ssl.enabled.protocols", OpAppend, ptr("TLSv1.3")); err != nil {
		t.Fatal(err)
	}
	if b["listener.name.ssl.ssl.enabled.protocols"] != "TLSv1.2,TLSv1.3" {
		t.Errorf("broker append = %v", b)
	}
}
