package handler

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestCreateTopicsKadm(t *testing.T) {
	b := startAdminBroker(t, registered)
	adm := b.admin(t)
	ctx := ctx10(t)

	retention := "3600000"
	resps, err := adm.CreateTopics(ctx, 3, 1, map[string]*string{"retention.ms": &retention}, "events")
	if err != nil {
		t.Fatal(err)
	}
	r := resps["events"]
	if r.Err != nil || r.NumPartitions != 3 || r.ReplicationFactor != 1 || r.ID == [16]byte{} {
		t.Fatalf("create: %+v", r)
	}
	if img := b.Publisher.Image().Topic("events"); img == nil || [16]byte(img.ID) != [16]byte(r.ID) {
		t.Fatalf("image topic %+v, response id %v", img, r.ID)
	}
	// The response lists every topic config with its source (v5+).
	if c := r.Configs["retention.ms"]; c.MaybeValue() != "3600000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Fatalf("retention.ms in response: %+v", c)
	}
	if c := r.Configs["cleanup.policy"]; c.MaybeValue() != "delete" || c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("cleanup.policy in response: %+v", c)
	}
	// Its partitions are hosted, with their logs on disk.
	for p := int32(0); p < 3; p++ {
		if !b.hosts("events", p) {
			t.Fatalf("partition %d not hosted", p)
		}
		if _, err := os.Stat(filepath.Join(b.Dir, fmt.Sprintf("events-%d", p))); err != nil {
			t.Fatalf("log dir of partition %d: %v", p, err)
		}
	}

	// Validate-only: a normal answer, nothing created.
	vr, err := adm.ValidateCreateTopics(ctx, 2, 1, nil, "dry")
	if err != nil {
		t.Fatal(err)
	}
	if vr["dry"].Err != nil || vr["dry"].NumPartitions != 2 {
		t.Fatalf("validate-only: %+v", vr["dry"])
	}
	if b.Publisher.Image().Topic("dry") != nil || b.hosts("dry", 0) {
		t.Fatal("validate-only created the topic")
	}

	bad := func(v string) map[string]*string { return map[string]*string{"segment.bytes": &v} }
	unknown := "x"
	for _, tc := range []struct {
		name       string
		partitions int32
		rf         int16
		configs    map[string]*string
		want       *kerr.Error
		msg        string
	}{
		{"events", 1, 1, nil, kerr.TopicAlreadyExists, "Topic 'events' already exists."},
		{"bad/name", 1, 1, nil, kerr.InvalidTopicException, "Topic name is invalid"},
		{"rf3", 1, 3, nil, kerr.InvalidReplicationFactor, "Unable to replicate the partition 3 time(s)"},
		{"zero", 0, 1, nil, kerr.InvalidPartitions, "Number of partitions was set to an invalid non-positive value."},
		{"badcfg", 1, 1, bad("12"), kerr.InvalidConfig, "Invalid value 12 for configuration segment.bytes"},
		{"unknowncfg", 1, 1, map[string]*string{"no.such.config": &unknown}, kerr.InvalidConfig, "Unknown topic config name: no.such.config"},
	} {
		resps, err := adm.CreateTopics(ctx, tc.partitions, tc.rf, tc.configs, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		r := resps[tc.name]
		if !errors.Is(r.Err, tc.want) || !strings.Contains(r.ErrMessage, tc.msg) {
			t.Errorf("%s: got %v %q, want %v containing %q", tc.name, r.Err, r.ErrMessage, tc.want, tc.msg)
		}
		if tc.name != "events" && b.Publisher.Image().Topic(tc.name) != nil {
			t.Errorf("%s: created despite the error", tc.name)
		}
	}
}

func TestCreateTopicsRaw(t *testing.T) {
	b := startAdminBroker(t, registered)
	topic := func(name string, np int32, rf int16) kmsg.CreateTopicsRequestTopic {
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic, t.NumPartitions, t.ReplicationFactor = name, np, rf
		return t
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.SetVersion(7)
	manual := topic("manual", -1, -1)
	for p := int32(0); p < 2; p++ {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = p, []int32{1}
		manual.ReplicaAssignment = append(manual.ReplicaAssignment, a)
	}
	elsewhere := topic("elsewhere", -1, -1)
	a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	a.Partition, a.Replicas = 0, []int32{2}
	elsewhere.ReplicaAssignment = append(elsewhere.ReplicaAssignment, a)
	nullCfg := topic("nullcfg", 1, 1)
	c := kmsg.NewCreateTopicsRequestTopicConfig()
	c.Name = "retention.ms"
	nullCfg.Configs = append(nullCfg.Configs, c)
	mixed := topic("mixed", 2, -1)
	mixed.ReplicaAssignment = manual.ReplicaAssignment
	req.Topics = append(req.Topics, topic("dup", 1, 1), manual, topic("dup", 2, 1), elsewhere, nullCfg,
		topic("__cluster_metadata", 1, 1), mixed, topic("defaults", -1, -1))

	resp := b.raw(t, req).(*kmsg.CreateTopicsResponse)
	got := map[string]kmsg.CreateTopicsResponseTopic{}
	for _, r := range resp.Topics {
		if _, dup := got[r.Topic]; dup {
			t.Fatalf("topic %s answered twice", r.Topic)
		}
		got[r.Topic] = r
	}
	if len(got) != 7 {
		t.Fatalf("answered %d topics: %+v", len(got), resp.Topics)
	}
	expect := func(name string, code int16, msg string) {
		t.Helper()
		r := got[name]
		m := ""
		if r.ErrorMessage != nil {
			m = *r.ErrorMessage
		}
		if r.ErrorCode != code || !strings.Contains(m, msg) {
			t.Errorf("%s: code %d message %q, want %d containing %q", name, r.ErrorCode, m, code, msg)
		}
	}
	expect("dup", kerr.InvalidRequest.Code, "Duplicate topic name.")
	expect("manual", 0, "")
	expect("elsewhere", kerr.InvalidReplicaAssignment.Code, "broker 2")
	expect("nullcfg", kerr.InvalidConfig.Code, "Null value not supported for topic configs: retention.ms")
	expect("__cluster_metadata", kerr.InvalidRequest.Code, "Creation of internal topic __cluster_metadata is prohibited.")
	expect("mixed", kerr.InvalidRequest.Code, "numPartitions was not set to -1")
	expect("defaults", 0, "")
	if r := got["manual"]; r.NumPartitions != 2 || r.ReplicationFactor != 1 || r.TopicID != [16]byte(b.Publisher.Image().Topic("manual").ID) ||
		r.ErrorMessage != nil || len(r.Configs) == 0 {
		t.Fatalf("manual: %+v", r)
	}
	if r := got["defaults"]; r.NumPartitions != 1 || r.ReplicationFactor != 1 {
		t.Fatalf("defaults: %+v", r)
	}
	if r := got["dup"]; r.NumPartitions != -1 || r.ReplicationFactor != -1 {
		t.Fatalf("failed topic reports partitions/rf %d/%d, want -1/-1", r.NumPartitions, r.ReplicationFactor)
	}
	if !b.hosts("manual", 1) {
		t.Fatal("manual partition 1 not hosted")
	}
}
