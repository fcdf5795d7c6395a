package handler

import (
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func configOf(t *testing.T, rc kadm.ResourceConfig, key string) kadm.Config {
	t.Helper()
	for _, c := range rc.Configs {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("%s has no config %s", rc.Name, key)
	return kadm.Config{}
}

func TestDescribeConfigsTopicSourcesAndSynonyms(t *testing.T) {
	// log.retention.hours set statically supplies retention.ms unless the
	// topic overrides it.
	b := startAdminBroker(t, registered, withProps("log.retention.hours", "48"))
	b.createTopic(t, "plain", 1, nil)
	b.createTopic(t, "tuned", 1, map[string]string{"retention.ms": "60000"})
	adm := b.admin(t)

	rcs, err := adm.DescribeTopicConfigs(ctx10(t), "plain", "tuned", "missing", "bad/name")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]kadm.ResourceConfig{}
	for _, rc := range rcs {
		byName[rc.Name] = rc
	}
	plain := configOf(t, byName["plain"], "retention.ms")
	if plain.MaybeValue() != "172800000" || plain.Source != kmsg.ConfigSourceStaticBrokerConfig {
		t.Fatalf("plain retention.ms %+v", plain)
	}
	if len(plain.Synonyms) < 2 || plain.Synonyms[0].Key != "log.retention.hours" ||
		plain.Synonyms[0].Source != kmsg.ConfigSourceStaticBrokerConfig || *plain.Synonyms[0].Value != "48" {
		t.Fatalf("plain synonyms %+v", plain.Synonyms)
	}
	tuned := configOf(t, byName["tuned"], "retention.ms")
	if tuned.MaybeValue() != "60000" || tuned.Source != kmsg.ConfigSourceDynamicTopicConfig ||
		tuned.Synonyms[0].Key != "retention.ms" || tuned.Synonyms[1].Key != "log.retention.hours" {
		t.Fatalf("tuned retention.ms %+v", tuned)
	}
	if def := configOf(t, byName["plain"], "cleanup.policy"); def.Source != kmsg.ConfigSourceDefaultConfig || def.MaybeValue() != "delete" {
		t.Fatalf("cleanup.policy %+v", def)
	}
	if rc := byName["missing"]; !errors.Is(rc.Err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("missing: %+v", rc)
	}
	if rc := byName["bad/name"]; !errors.Is(rc.Err, kerr.InvalidTopicException) || !strings.Contains(rc.ErrMessage, "Topic name is invalid") {
		t.Fatalf("bad name: %+v", rc)
	}
}

func TestDescribeConfigsBrokerRaw(t *testing.T) {
	b := startAdminBroker(t, withProps("num.io.threads", "4", "log.retention.minutes", "90"))
	describe := func(v int16, typ kmsg.ConfigResourceType, name string, keys ...string) kmsg.DescribeConfigsResponseResource {
		t.Helper()
		req := kmsg.NewPtrDescribeConfigsRequest()
		req.SetVersion(v)
		req.IncludeSynonyms = true
		req.IncludeDocumentation = true
		r := kmsg.NewDescribeConfigsRequestResource()
		r.ResourceType, r.ResourceName, r.ConfigNames = typ, name, keys
		req.Resources = append(req.Resources, r)
		resp := b.raw(t, req).(*kmsg.DescribeConfigsResponse)
		if len(resp.Resources) != 1 {
			t.Fatalf("%d resources", len(resp.Resources))
		}
		return resp.Resources[0]
	}

	r := describe(4, kmsg.ConfigResourceTypeBroker, "1", "num.io.threads", "log.retention.minutes", "ssl.key.password", "not.a.config")
	if r.ErrorCode != 0 || len(r.Configs) != 3 {
		t.Fatalf("broker: %+v", r)
	}
	for _, c := range r.Configs {
		switch c.Name {
		case "num.io.threads":
			if *c.Value != "4" || c.Source != kmsg.ConfigSourceStaticBrokerConfig || c.ReadOnly ||
				c.ConfigType != kmsg.ConfigTypeInt || c.Documentation == nil || len(c.ConfigSynonyms) != 2 {
				t.Fatalf("num.io.threads %+v", c)
			}
		case "log.retention.minutes":
			// Synonyms start at the config's own name: the static value,
			// then log.retention.hours' default (Kafka's order).
			if *c.Value != "90" || c.Source != kmsg.ConfigSourceStaticBrokerConfig || len(c.ConfigSynonyms) != 2 ||
				c.ConfigSynonyms[0].Name != "log.retention.minutes" || c.ConfigSynonyms[1].Name != "log.retention.hours" ||
				c.ConfigSynonyms[1].Source != kmsg.ConfigSourceDefaultConfig {
				t.Fatalf("log.retention.minutes %+v", c)
			}
		case "ssl.key.password":
			if !c.IsSensitive || c.Value != nil || c.ConfigType != kmsg.ConfigTypePassword {
				t.Fatalf("ssl.key.password %+v", c)
			}
		}
	}
	// v1-v2 carry no documentation or type.
	r = describe(1, kmsg.ConfigResourceTypeBroker, "1", "num.io.threads")
	if r.ErrorCode != 0 || len(r.Configs) != 1 || r.Configs[0].Documentation != nil {
		t.Fatalf("v1: %+v", r)
	}
	// The cluster-default resource lists only what is set at that level:
	// nothing yet.
	if r = describe(4, kmsg.ConfigResourceTypeBroker, ""); r.ErrorCode != 0 || len(r.Configs) != 0 {
		t.Fatalf("cluster default: %+v", r)
	}
	for _, tc := range []struct {
		typ  kmsg.ConfigResourceType
		name string
		code int16
		msg  string
	}{
		{kmsg.ConfigResourceTypeBroker, "2", kerr.InvalidRequest.Code, "Unexpected broker id, expected 1 or empty string, but received 2"},
		{kmsg.ConfigResourceTypeBroker, "one", kerr.InvalidRequest.Code, "Broker id must be an integer, but it is: one"},
		{kmsg.ConfigResourceTypeBrokerLogger, "", kerr.InvalidRequest.Code, "Broker id must not be empty"},
		{kmsg.ConfigResourceTypeBrokerLogger, "3", kerr.InvalidRequest.Code, "Unexpected broker id, expected 1 but received 3"},
		{kmsg.ConfigResourceType(32), "g", kerr.InvalidRequest.Code, "Unsupported resource type: GROUP"},
		{kmsg.ConfigResourceType(99), "x", kerr.InvalidRequest.Code, "Unsupported resource type: 99"},
	} {
		r := describe(4, tc.typ, tc.name)
		if r.ErrorCode != tc.code || r.ErrorMessage == nil || *r.ErrorMessage != tc.msg {
			t.Errorf("%v %q: %d %v", tc.typ, tc.name, r.ErrorCode, r.ErrorMessage)
		}
	}
	r = describe(4, kmsg.ConfigResourceTypeBrokerLogger, "1")
	if r.ErrorCode != 0 || len(r.Configs) != 1 || r.Configs[0].Name != "root" ||
		r.Configs[0].Source != kmsg.ConfigSourceDynamicBrokerLoggerConfig || r.Configs[0].Value == nil {
		t.Fatalf("broker logger: %+v", r)
	}
}
