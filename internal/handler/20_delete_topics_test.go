package handler

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestDeleteTopicsByName(t *testing.T) {
	b := startAdminBroker(t, registered)
	b.createTopic(t, "doomed", 2, nil)
	b.appendRecords(t, "doomed", 0, 3, 10)
	adm := b.admin(t)

	resps, err := adm.DeleteTopics(ctx10(t), "doomed", "never-was")
	if err != nil {
		t.Fatal(err)
	}
	if r := resps["doomed"]; r.Err != nil {
		t.Fatalf("doomed: %+v", r)
	}
	if r := resps["never-was"]; !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("never-was: %+v", r)
	}
	if b.Publisher.Image().Topic("doomed") != nil {
		t.Fatal("topic still in the image")
	}
	// The partitions are no longer hosted and their directories are gone
	// from the log dir (renamed for deferred deletion, as in Kafka).
	for p := int32(0); p < 2; p++ {
		if b.hosts("doomed", p) {
			t.Fatalf("partition %d still hosted", p)
		}
		if _, err := os.Stat(filepath.Join(b.Dir, fmt.Sprintf("doomed-%d", p))); !os.IsNotExist(err) {
			t.Fatalf("log dir of partition %d: %v", p, err)
		}
	}
	// The name is free again.
	b.createTopic(t, "doomed", 1, nil)
}

func TestDeleteTopicsByIDAndMalformed(t *testing.T) {
	b := startAdminBroker(t, registered)
	idA := b.createTopic(t, "a", 1, nil)
	idB := b.createTopic(t, "b", 1, nil)
	idC := b.createTopic(t, "c", 1, nil)

	req := kmsg.NewPtrDeleteTopicsRequest()
	req.SetVersion(6)
	add := func(name *string, id [16]byte) {
		rt := kmsg.NewDeleteTopicsRequestTopic()
		rt.Topic, rt.TopicID = name, id
		req.Topics = append(req.Topics, rt)
	}
	add(nil, [16]byte(idA))                 // by ID: deleted
	add(nil, [16]byte{7})                   // unknown ID
	add(kmsg.StringPtr("b"), [16]byte(idB)) // both
	add(nil, [16]byte{})                    // neither
	add(kmsg.StringPtr("x"), [16]byte{})    // unknown name
	add(kmsg.StringPtr("y"), [16]byte{})    // duplicate name
	add(kmsg.StringPtr("y"), [16]byte{})    //
	add(nil, [16]byte(idC))                 // ID also given by name
	add(kmsg.StringPtr("c"), [16]byte{})    //
	resp := b.raw(t, req).(*kmsg.DeleteTopicsResponse)

	type key struct {
		name string
		id   [16]byte
	}
	got := map[key]kmsg.DeleteTopicsResponseTopic{}
	for _, r := range resp.Topics {
		k := key{id: r.TopicID}
		if r.Topic != nil {
			k.name = *r.Topic
		}
		got[k] = r
	}
	expect := func(k key, code int16, msg string) {
		t.Helper()
		r, ok := got[k]
		if !ok {
			t.Errorf("no result for %+v in %+v", k, resp.Topics)
			return
		}
		m := ""
		if r.ErrorMessage != nil {
			m = *r.ErrorMessage
		}
		if r.ErrorCode != code || m != msg {
			t.Errorf("%+v: code %d %q, want %d %q", k, r.ErrorCode, m, code, msg)
		}
	}
	expect(key{"a", [16]byte(idA)}, 0, "")
	expect(key{"", [16]byte{7}}, kerr.UnknownTopicID.Code, "This server does not host this topic ID.")
	expect(key{"b", [16]byte(idB)}, kerr.InvalidRequest.Code, "You may not specify both topic name and topic id.")
	expect(key{"", [16]byte{}}, kerr.InvalidRequest.Code, "Neither topic name nor id were specified.")
	expect(key{"x", [16]byte{}}, kerr.UnknownTopicOrPartition.Code, "This server does not host this topic-partition.")
	expect(key{"y", [16]byte{}}, kerr.InvalidRequest.Code, "Duplicate topic name.")
	expect(key{"c", [16]byte(idC)}, kerr.InvalidRequest.Code, "The provided topic name maps to an ID that was already supplied.")
	expect(key{"", [16]byte(idC)}, kerr.InvalidRequest.Code, "Duplicate topic id.")
	if len(resp.Topics) != 8 {
		t.Errorf("%d results, want 8", len(resp.Topics))
	}
	img := b.Publisher.Image()
	if img.Topic("a") != nil || img.Topic("b") == nil || img.Topic("c") == nil {
		t.Fatal("only a should be deleted")
	}
	if b.hosts("a", 0) || !b.hosts("b", 0) {
		t.Fatal("hosting does not follow the deletion")
	}
}

func TestDeleteTopicsDisabled(t *testing.T) {
	b := startAdminBroker(t, withProps("delete.topic.enable", "false"))
	b.createTopic(t, "kept", 1, nil)
	for _, v := range []int16{1, 2, 3, 6} {
		req := kmsg.NewPtrDeleteTopicsRequest()
		req.SetVersion(v)
		if v >= 6 {
			rt := kmsg.NewDeleteTopicsRequestTopic()
			rt.Topic = kmsg.StringPtr("kept")
			req.Topics = append(req.Topics, rt)
		} else {
			req.TopicNames = []string{"kept"}
		}
		resp := b.raw(t, req).(*kmsg.DeleteTopicsResponse)
		want := kerr.TopicDeletionDisabled.Code
		if v < 3 {
			want = kerr.InvalidRequest.Code
		}
		if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != want {
			t.Fatalf("v%d: %+v", v, resp.Topics)
		}
	}
	if b.Publisher.Image().Topic("kept") == nil {
		t.Fatal("deleted although delete.topic.enable=false")
	}
}
