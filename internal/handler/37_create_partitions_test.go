package handler

import (
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestCreatePartitionsKadm(t *testing.T) {
	b := startAdminBroker(t, registered)
	b.createTopic(t, "grow", 1, nil)
	adm := b.admin(t)
	ctx := ctx10(t)

	// Validate-only first: nothing changes.
	vr, err := adm.ValidateCreatePartitions(ctx, 2, "grow")
	if err != nil {
		t.Fatal(err)
	}
	if vr["grow"].Err != nil || b.Publisher.Image().Topic("grow").NumPartitions() != 1 {
		t.Fatalf("validate-only: %+v", vr["grow"])
	}

	resps, err := adm.CreatePartitions(ctx, 2, "grow", "missing")
	if err != nil {
		t.Fatal(err)
	}
	if r := resps["grow"]; r.Err != nil {
		t.Fatalf("grow: %+v", r)
	}
	if r := resps["missing"]; !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("missing: %+v", r)
	}
	if n := b.Publisher.Image().Topic("grow").NumPartitions(); n != 3 {
		t.Fatalf("%d partitions", n)
	}
	for p := int32(1); p < 3; p++ {
		if !b.hosts("grow", p) {
			t.Fatalf("new partition %d not hosted", p)
		}
	}

	// Shrinking or standing still is refused with Kafka's messages.
	for _, tc := range []struct {
		set int
		msg string
	}{{2, "currently has 3 partition(s); 2 would not be an increase"}, {3, "Topic already has 3 partition(s)."}} {
		resps, err := adm.UpdatePartitions(ctx, tc.set, "grow")
		if err != nil {
			t.Fatal(err)
		}
		if r := resps["grow"]; !errors.Is(r.Err, kerr.InvalidPartitions) || !strings.Contains(r.ErrMessage, tc.msg) {
			t.Fatalf("set %d: %+v", tc.set, r)
		}
	}
}

func TestCreatePartitionsRaw(t *testing.T) {
	b := startAdminBroker(t, registered)
	b.createTopic(t, "m", 1, nil)
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.SetVersion(3)
	topic := func(name string, count int32, assignment ...[]int32) kmsg.CreatePartitionsRequestTopic {
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = name, count
		for _, a := range assignment {
			ra := kmsg.NewCreatePartitionsRequestTopicAssignment()
			ra.Replicas = a
			rt.Assignment = append(rt.Assignment, ra)
		}
		return rt
	}
	req.Topics = append(req.Topics, topic("m", 3, []int32{1}, []int32{1}), topic("d", 2), topic("d", 3))
	resp := b.raw(t, req).(*kmsg.CreatePartitionsResponse)
	if len(resp.Topics) != 2 {
		t.Fatalf("%+v", resp.Topics)
	}
	for _, r := range resp.Topics {
		switch r.Topic {
		case "m":
			if r.ErrorCode != 0 || r.ErrorMessage != nil {
				t.Fatalf("m: %+v", r)
			}
		case "d":
			if r.ErrorCode != kerr.InvalidRequest.Code || *r.ErrorMessage != "Duplicate topic name." {
				t.Fatalf("d: %+v", r)
			}
		}
	}
	// A manual assignment naming an unknown broker, or the wrong count.
	req.Topics = []kmsg.CreatePartitionsRequestTopic{topic("m", 4, []int32{5})}
	resp = b.raw(t, req).(*kmsg.CreatePartitionsResponse)
	if r := resp.Topics[0]; r.ErrorCode != kerr.InvalidReplicaAssignment.Code {
		t.Fatalf("unknown broker: %+v", r)
	}
	req.Topics = []kmsg.CreatePartitionsRequestTopic{topic("m", 5, []int32{1})}
	resp = b.raw(t, req).(*kmsg.CreatePartitionsResponse)
	if r := resp.Topics[0]; r.ErrorCode != kerr.InvalidReplicaAssignment.Code ||
		*r.ErrorMessage != "Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified." {
		t.Fatalf("short assignment: %+v", r)
	}
	if n := b.Publisher.Image().Topic("m").NumPartitions(); n != 3 || !b.hosts("m", 2) {
		t.Fatalf("%d partitions", n)
	}
}
