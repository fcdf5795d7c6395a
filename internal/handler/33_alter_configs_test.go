package handler

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Legacy AlterConfigs replaces a resource's whole override set.
func TestAlterConfigsReplacesOverrides(t *testing.T) {
	b := startAdminBroker(t, registered)
	b.createTopic(t, "legacy", 1, map[string]string{"segment.ms": "3600000", "retention.ms": "1000"})
	adm := b.admin(t)
	ctx := ctx10(t)

	resps, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kmsg.StringPtr("2000")}}, "legacy")
	if err != nil || resps[0].Err != nil {
		t.Fatalf("%v %+v", err, resps)
	}
	got := b.Publisher.Image().TopicConfigs("legacy")
	if len(got) != 1 || got["retention.ms"] != "2000" {
		t.Fatalf("overrides %v, want only retention.ms=2000", got)
	}
	if c := configOf(t, describeTopic(t, adm, "legacy"), "segment.ms"); c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("segment.ms not reset: %+v", c)
	}

	// Validate-only and errors.
	if vr, err := adm.ValidateAlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kmsg.StringPtr("5")}}, "legacy"); err != nil || vr[0].Err != nil {
		t.Fatalf("validate-only %v %+v", err, vr)
	}
	if b.Publisher.Image().TopicConfigs("legacy")["retention.ms"] != "2000" {
		t.Fatal("validate-only committed")
	}
	resps, err = adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "min.compaction.lag.ms", Value: kmsg.StringPtr("10")},
		{Name: "max.compaction.lag.ms", Value: kmsg.StringPtr("5")}}, "legacy")
	if err != nil || !errors.Is(resps[0].Err, kerr.InvalidConfig) {
		t.Fatalf("conflicting lags: %v %+v", err, resps)
	}

	// Broker cluster default, whole-set: a second call drops the first key.
	if r, err := adm.AlterBrokerConfigsState(ctx, []kadm.AlterConfig{{Name: "log.retention.ms", Value: kmsg.StringPtr("1000")}}); err != nil || r[0].Err != nil {
		t.Fatalf("%v %+v", err, r)
	}
	if r, err := adm.AlterBrokerConfigsState(ctx, []kadm.AlterConfig{{Name: "log.segment.bytes", Value: kmsg.StringPtr("2097152")}}); err != nil || r[0].Err != nil {
		t.Fatalf("%v %+v", err, r)
	}
	if got := b.Config.Dynamic(false); len(got) != 1 || got["log.segment.bytes"] != "2097152" {
		t.Fatalf("cluster default level %v", got)
	}
}

func TestAlterConfigsRaw(t *testing.T) {
	b := startAdminBroker(t)
	b.createTopic(t, "t", 1, nil)
	req := kmsg.NewPtrAlterConfigsRequest()
	req.SetVersion(0)
	res := func(typ kmsg.ConfigResourceType, name string, kv ...*string) {
		r := kmsg.NewAlterConfigsRequestResource()
		r.ResourceType, r.ResourceName = typ, name
		for i := 0; i+1 < len(kv); i += 2 {
			c := kmsg.NewAlterConfigsRequestResourceConfig()
			c.Name, c.Value = *kv[i], kv[i+1]
			r.Configs = append(r.Configs, c)
		}
		req.Resources = append(req.Resources, r)
	}
	s := kmsg.StringPtr
	res(kmsg.ConfigResourceTypeTopic, "t", s("retention.ms"), s("1"), s("retention.ms"), s("2"))
	res(kmsg.ConfigResourceTypeTopic, "t2", s("retention.ms"), nil)
	res(kmsg.ConfigResourceTypeBrokerLogger, "1", s("root"), s("INFO"))
	res(kmsg.ConfigResourceTypeBroker, "7", s("log.cleaner.threads"), s("2"))
	res(kmsg.ConfigResourceTypeBroker, "1", s("num.io.threads"), s("100"))
	res(kmsg.ConfigResourceTypeTopic, "missing", s("retention.ms"), s("1"))
	resp := b.raw(t, req).(*kmsg.AlterConfigsResponse)
	want := []struct {
		code int16
		msg  string
	}{
		{kerr.InvalidRequest.Code, "Error due to duplicate config keys"},
		{kerr.InvalidRequest.Code, "Null value not supported for : retention.ms"},
		{kerr.InvalidRequest.Code, "Unknown resource type 8"},
		{kerr.InvalidRequest.Code, "Unexpected broker id, expected 1, but received 7"},
		{kerr.InvalidRequest.Code, "Dynamic thread count update validation failed for num.io.threads=100, value should not be greater than double the current value 8"},
		{kerr.UnknownTopicOrPartition.Code, "The topic 'missing' does not exist."},
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
}
