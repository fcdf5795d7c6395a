package handler

import (
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/replica"
)

func describeTopic(t *testing.T, adm *kadm.Client, topic string) kadm.ResourceConfig {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(ctx10(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	if len(rcs) != 1 || rcs[0].Err != nil {
		t.Fatalf("describe %s: %+v", topic, rcs)
	}
	return rcs[0]
}

func TestIncrementalAlterTopicConfigsRoundTrip(t *testing.T) {
	b := startAdminBroker(t, registered)
	b.createTopic(t, "cfg", 1, map[string]string{"segment.ms": "3600000"})
	adm := b.admin(t)
	ctx := ctx10(t)
	tp := replica.TopicPartition{Topic: "cfg", Partition: 0}

	// SET and APPEND in one request; APPEND starts from the default
	// ("delete") since there is no override.
	resps, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Name: "retention.ms", Value: kmsg.StringPtr("120000")},
		{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kmsg.StringPtr("compact")},
	}, "cfg")
	if err != nil {
		t.Fatal(err)
	}
	if r := resps[0]; r.Err != nil {
		t.Fatalf("alter: %+v", r)
	}
	rc := describeTopic(t, adm, "cfg")
	if c := configOf(t, rc, "retention.ms"); c.MaybeValue() != "120000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Fatalf("retention.ms %+v", c)
	}
	if c := configOf(t, rc, "cleanup.policy"); c.MaybeValue() != "delete,compact" {
		t.Fatalf("cleanup.policy %+v", c)
	}
	if c := configOf(t, rc, "segment.ms"); c.MaybeValue() != "3600000" {
		t.Fatalf("untouched override changed: %+v", c)
	}
	// The change reached the hosted partition's log.
	p, _ := b.Replicas.Partition(tp)
	if cfg := p.Log().Config(); cfg.RetentionMs != 120000 || !cfg.Compact || !cfg.Delete {
		t.Fatalf("log config %+v", cfg)
	}

	// SUBTRACT and DELETE.
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SubtractConfig, Name: "cleanup.policy", Value: kmsg.StringPtr("delete")},
		{Op: kadm.DeleteConfig, Name: "retention.ms"},
	}, "cfg"); err != nil {
		t.Fatal(err)
	}
	got := b.Publisher.Image().TopicConfigs("cfg")
	if got["cleanup.policy"] != "compact" || got["segment.ms"] != "3600000" || len(got) != 2 {
		t.Fatalf("overrides after subtract/delete: %v", got)
	}

	// Validate-only changes nothing.
	vr, err := adm.ValidateAlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kmsg.StringPtr("1")}}, "cfg")
	if err != nil || vr[0].Err != nil {
		t.Fatalf("validate-only: %v %+v", err, vr)
	}
	if _, ok := b.Publisher.Image().TopicConfigs("cfg")["retention.ms"]; ok {
		t.Fatal("validate-only committed")
	}

	// Errors.
	for _, tc := range []struct {
		topic string
		op    kadm.AlterConfig
		want  *kerr.Error
		msg   string
	}{
		{"cfg", kadm.AlterConfig{Name: "no.such", Value: kmsg.StringPtr("1")}, kerr.InvalidConfig, "Unknown topic config name: no.such"},
		{"cfg", kadm.AlterConfig{Name: "segment.bytes", Value: kmsg.StringPtr("1")}, kerr.InvalidConfig, "Invalid value 1 for configuration segment.bytes"},
		{"cfg", kadm.AlterConfig{Op: kadm.AppendConfig, Name: "retention.ms", Value: kmsg.StringPtr("1")}, kerr.InvalidConfig, "Can't APPEND to key retention.ms because its type is not LIST."},
		{"nope", kadm.AlterConfig{Name: "retention.ms", Value: kmsg.StringPtr("1")}, kerr.UnknownTopicOrPartition, "The topic 'nope' does not exist."},
		{"bad name", kadm.AlterConfig{Name: "retention.ms", Value: kmsg.StringPtr("1")}, kerr.InvalidTopicException, "Topic name is invalid"},
	} {
		resps, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{tc.op}, tc.topic)
		if err != nil {
			t.Fatal(err)
		}
		if r := resps[0]; !errors.Is(r.Err, tc.want) || !strings.Contains(r.ErrMessage, tc.msg) {
			t.Errorf("%s %+v: %v %q, want %v %q", tc.topic, tc.op, r.Err, r.ErrMessage, tc.want, tc.msg)
		}
	}
}

func TestIncrementalAlterBrokerConfigsRoundTrip(t *testing.T) {
	b := startAdminBroker(t, registered)
	adm := b.admin(t)
	ctx := ctx10(t)

	// Cluster-wide default (no broker named: resource "").
	resps, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: "log.retention.ms", Value: kmsg.StringPtr("7200000")}})
	if err != nil || resps[0].Err != nil {
		t.Fatalf("cluster default: %v %+v", err, resps)
	}
	// Per broker.
	resps, err = adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: "log.cleaner.threads", Value: kmsg.StringPtr("2")}}, 1)
	if err != nil || resps[0].Err != nil {
		t.Fatalf("per broker: %v %+v", err, resps)
	}
	rcs, err := adm.DescribeBrokerConfigs(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c := configOf(t, rcs[0], "log.retention.ms"); c.MaybeValue() != "7200000" || c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig {
		t.Fatalf("log.retention.ms %+v", c)
	}
	if c := configOf(t, rcs[0], "log.cleaner.threads"); c.MaybeValue() != "2" || c.Source != kmsg.ConfigSourceDynamicBrokerConfig {
		t.Fatalf("log.cleaner.threads %+v", c)
	}
	// Topics inherit the new cluster default.
	b.createTopic(t, "inherits", 1, nil)
	if c := configOf(t, describeTopic(t, adm, "inherits"), "retention.ms"); c.MaybeValue() != "7200000" ||
		c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig {
		t.Fatalf("topic retention.ms %+v", c)
	}

	for _, tc := range []struct {
		name    string
		brokers []int32
		op      kadm.AlterConfig
		want    *kerr.Error
		msg     string
	}{
		{"read-only", []int32{1}, kadm.AlterConfig{Name: "node.id", Value: kmsg.StringPtr("5")}, kerr.InvalidRequest, "Cannot update these configs dynamically"},
		{"per-broker at default", nil, kadm.AlterConfig{Name: "log.dirs", Value: kmsg.StringPtr("/x")}, kerr.InvalidRequest, ""},
		{"not a list", []int32{1}, kadm.AlterConfig{Op: kadm.AppendConfig, Name: "log.retention.ms", Value: kmsg.StringPtr("1")}, kerr.InvalidConfig, "because its type is not LIST"},
		{"unknown", []int32{1}, kadm.AlterConfig{Name: "no.such.broker.config", Value: kmsg.StringPtr("1")}, kerr.InvalidRequest, "Unknown broker config name"},
	} {
		resps, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{tc.op}, tc.brokers...)
		if err != nil {
			t.Fatal(err)
		}
		if r := resps[0]; !errors.Is(r.Err, tc.want) || !strings.Contains(r.ErrMessage, tc.msg) {
			t.Errorf("%s: %v %q, want %v %q", tc.name, r.Err, r.ErrMessage, tc.want, tc.msg)
		}
	}
}

func TestIncrementalAlterConfigsOtherBroker(t *testing.T) {
	b := startAdminBroker(t)
	for _, name := range []string{"2", "x"} {
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		r := kmsg.NewIncrementalAlterConfigsRequestResource()
		r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeBroker, name
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Value = "log.cleaner.threads", kmsg.StringPtr("2")
		r.Configs = append(r.Configs, c)
		req.Resources = append(req.Resources, r)
		got := b.raw(t, req).(*kmsg.IncrementalAlterConfigsResponse).Resources[0]
		want := "Unexpected broker id, expected 1, but received 2"
		if name == "x" {
			want = "Node id must be an integer, but it is: x"
		}
		if got.ErrorCode != kerr.InvalidRequest.Code || got.ErrorMessage == nil || *got.ErrorMessage != want {
			t.Errorf("%s: %d %v", name, got.ErrorCode, got.ErrorMessage)
		}
	}
	if len(b.Publisher.Image().ConfigResources()) != 0 {
		t.Fatal("a refused change was committed")
	}
}

func TestIncrementalAlterConfigsRaw(t *testing.T) {
	b := startAdminBroker(t)
	b.createTopic(t, "r", 1, nil)
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.SetVersion(1)
	res := func(typ kmsg.ConfigResourceType, name string, ops ...kmsg.IncrementalAlterConfigsRequestResourceConfig) {
		r := kmsg.NewIncrementalAlterConfigsRequestResource()
		r.ResourceType, r.ResourceName, r.Configs = typ, name, ops
		req.Resources = append(req.Resources, r)
	}
	op := func(name string, o kmsg.IncrementalAlterConfigOp, v *string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = name, o, v
		return c
	}
	set := kmsg.IncrementalAlterConfigOpSet
	res(kmsg.ConfigResourceTypeTopic, "r", op("retention.ms", set, kmsg.StringPtr("5000")), op("retention.ms", set, kmsg.StringPtr("6000")))
	res(kmsg.ConfigResourceTypeTopic, "r2", op("retention.ms", set, nil))
	res(kmsg.ConfigResourceTypeTopic, "", op("retention.ms", set, kmsg.StringPtr("1")))
	res(kmsg.ConfigResourceTypeTopic, "r3", op("retention.ms", kmsg.IncrementalAlterConfigOp(9), kmsg.StringPtr("1")))
	res(kmsg.ConfigResourceType(99), "x")
	res(kmsg.ConfigResourceTypeBrokerLogger, "1", op("root", set, kmsg.StringPtr("LOUD")))
	res(kmsg.ConfigResourceTypeBrokerLogger, "1", op("root", kmsg.IncrementalAlterConfigOpDelete, nil))
	resp := b.raw(t, req).(*kmsg.IncrementalAlterConfigsResponse)
	want := []struct {
		code int16
		msg  string
	}{
		{kerr.InvalidRequest.Code, "Error due to duplicate config keys"},
		{kerr.InvalidRequest.Code, "Null value not supported for : retention.ms"},
		{kerr.InvalidRequest.Code, "Default topic resources are not allowed."},
		{kerr.InvalidRequest.Code, "Unknown operations type 9"},
		{kerr.InvalidRequest.Code, "Unknown resource type 99"},
		// The two broker-logger resources share (type, name): both refused.
		{kerr.InvalidRequest.Code, "Each resource must appear at most once."},
		{kerr.InvalidRequest.Code, "Each resource must appear at most once."},
	}
	if len(resp.Resources) != len(want) {
		t.Fatalf("%d results", len(resp.Resources))
	}
	for i, w := range want {
		r := resp.Resources[i]
		if r.ErrorCode != w.code || r.ErrorMessage == nil || *r.ErrorMessage != w.msg {
			t.Errorf("resource %d (%s): %d %v, want %d %q", i, r.ResourceName, r.ErrorCode, r.ErrorMessage, w.code, w.msg)
		}
	}

	// Broker loggers one at a time: Kafka's validation, and a no-op set.
	for _, tc := range []struct {
		op   kmsg.IncrementalAlterConfigsRequestResourceConfig
		code int16
		msg  string
	}{
		{op("root", set, kmsg.StringPtr("LOUD")), kerr.InvalidConfig.Code, "Cannot set the log level of root to LOUD as it is not a supported log level. Valid log levels are DEBUG, ERROR, FATAL, INFO, TRACE, WARN"},
		{op("kafka.server", set, kmsg.StringPtr("INFO")), kerr.InvalidConfig.Code, "Logger kafka.server does not exist!"},
		{op("root", kmsg.IncrementalAlterConfigOpDelete, nil), kerr.InvalidRequest.Code, "Removing the log level of the root logger is not allowed"},
		{op("root", kmsg.IncrementalAlterConfigOpAppend, kmsg.StringPtr("INFO")), kerr.InvalidRequest.Code, "APPEND operation is not allowed for the BROKER_LOGGER resource"},
		{op("root", set, kmsg.StringPtr(b.Handler.logLevel())), 0, ""},
	} {
		req.Resources = nil
		res(kmsg.ConfigResourceTypeBrokerLogger, "1", tc.op)
		r := b.raw(t, req).(*kmsg.IncrementalAlterConfigsResponse).Resources[0]
		m := ""
		if r.ErrorMessage != nil {
			m = *r.ErrorMessage
		}
		if r.ErrorCode != tc.code || m != tc.msg {
			t.Errorf("logger %+v: %d %q, want %d %q", tc.op, r.ErrorCode, m, tc.code, tc.msg)
		}
	}
}
