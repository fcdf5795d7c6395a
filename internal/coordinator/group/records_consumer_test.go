package group

import (
	"bytes"
	"errors"
	"testing"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

func sampleConsumerRecords() []consumerRecord {
	inst, re, asg := "inst", "foo.*", "range"
	ps := partSet{}
	ps.add(metadata.UUID{1}, 0)
	ps.add(metadata.UUID{1}, 3)
	ps.add(metadata.UUID{2}, 1)
	pend := partSet{}
	pend.add(metadata.UUID{3}, 7)
	return []consumerRecord{
		{kind: cgMetadataKeyVersion, group: "g", meta: cgMetadata{epoch: 7, metadataHash: -42}},
		{kind: cgMetadataKeyVersion, group: "g", meta: cgMetadata{epoch: 1}},
		{kind: cgMemberMetadataKeyVersion, group: "g", member: "m", memberMeta: cgMember{instanceID: &inst, clientID: "c",
			clientHost: "/1.2.3.4", topicNames: []string{"a", "b"}, topicRegex: &re, rebalanceTimeout: 30000, serverAssignor: &asg}},
		{kind: cgMemberMetadataKeyVersion, group: "g", member: "m2", memberMeta: cgMember{topicNames: []string{}, rebalanceTimeout: -1}},
		{kind: cgTargetMetadataKeyVersion, group: "g", assignEp: 6},
		{kind: cgTargetMemberKeyVersion, group: "g", member: "m", target: ps},
		{kind: cgCurrentAssignmentKeyVersion, group: "g", member: "m", current: cgCurrent{memberEpoch: 6, previousEpoch: 5,
			state: memberUnrevokedPartitions, assigned: ps, pending: pend}},
		{kind: cgRegexKeyVersion, group: "g", regex: re, resolved: cgRegex{topics: []string{"foo1"}, version: 9, timestamp: 1234}},
		{kind: cgCurrentAssignmentKeyVersion, group: "g", member: "m", tombstone: true},
		{kind: cgRegexKeyVersion, group: "g", regex: re, tombstone: true},
	}
}

func TestConsumerRecordRoundTrip(t *testing.T) {
	for i, r := range sampleConsumerRecords() {
		enc := r.encode()
		got, ok, err := decodeConsumerRecord(enc.key, enc.value)
		if err != nil || !ok {
			t.Fatalf("record %d: ok %v err %v", i, ok, err)
		}
		again := got.encode()
		if !bytes.Equal(again.key, enc.key) || !bytes.Equal(again.value, enc.value) || (enc.value == nil) != got.tombstone {
			t.Fatalf("record %d: round trip differs:\n%x %x\n%x %x", i, enc.key, enc.value, again.key, again.value)
		}
		// The shared decoder dispatches to it.
		lr, err := decodeRecord(enc.key, enc.value)
		if err != nil || lr.consumer == nil {
			t.Fatalf("record %d: decodeRecord %+v %v", i, lr, err)
		}
	}
	// Kafka's layout, byte for byte: ConsumerGroupTargetAssignmentMetadataValue
	// v0 {AssignmentEpoch: 6} is version, int32, empty tag section.
	enc := (&consumerRecord{kind: cgTargetMetadataKeyVersion, group: "g", assignEp: 6}).encode()
	if want := []byte{0, 6, 0, 1, 'g'}; !bytes.Equal(enc.key, want) {
		t.Fatalf("key %x", enc.key)
	}
	if want := []byte{0, 0, 0, 0, 0, 6, 0}; !bytes.Equal(enc.value, want) {
		t.Fatalf("value %x", enc.value)
	}
	// A partition metadata record (Kafka before 4.1) is read and ignored;
	// other types are not this decoder's.
	if _, ok, err := decodeConsumerRecord(consumerKey(cgPartitionMetadataKeyVersion, "g"), []byte{0, 0, 1, 0}); !ok || err != nil {
		t.Fatalf("partition metadata: %v %v", ok, err)
	}
	if _, ok, _ := decodeConsumerRecord(consumerKey(11, "g"), nil); ok {
		t.Fatal("share group record decoded as a consumer group record")
	}
	for _, bad := range [][2][]byte{
		{consumerKey(cgMetadataKeyVersion, "g"), {0, 1, 0, 0, 0, 1, 0}}, // value version 1
		{consumerKey(cgMetadataKeyVersion, "g"), {0, 0, 0, 0}},          // truncated
		{append(consumerKey(cgMetadataKeyVersion, "g"), 9), nil},        // trailing key bytes
		{consumerKey(cgTargetMemberKeyVersion, "g", "m"), {0, 0, 2, 1}}, // truncated uuid
	} {
		if _, _, err := decodeConsumerRecord(bad[0], bad[1]); !errors.Is(err, ErrCorruptRecord) {
			t.Fatalf("%x/%x: err %v", bad[0], bad[1], err)
		}
	}
}

func FuzzDecodeConsumerRecord(f *testing.F) {
	for _, r := range sampleConsumerRecords() {
		enc := r.encode()
		f.Add(enc.key, enc.value)
	}
	f.Add([]byte{0, 8}, []byte{0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, key, value []byte) {
		rec, ok, err := decodeConsumerRecord(key, value)
		if err != nil || !ok || rec.kind == cgPartitionMetadataKeyVersion {
			return
		}
		// What decodes re-encodes to something that decodes the same.
		enc := rec.encode()
		again, ok, err := decodeConsumerRecord(enc.key, enc.value)
		if err != nil || !ok {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if enc2 := again.encode(); !bytes.Equal(enc2.key, enc.key) || !bytes.Equal(enc2.value, enc.value) {
			t.Fatalf("unstable encoding")
		}
	})
}

func TestUniformAssignorBalancedAndSticky(t *testing.T) {
	tA, tB := metadata.UUID{1}, metadata.UUID{2}
	topics := []assignmentTopic{{"a", tA, 7}, {"b", tB, 5}}
	sub := map[string]bool{"a": true, "b": true}
	m := func(ids ...string) []assignmentMember {
		var out []assignmentMember
		for _, id := range ids {
			out = append(out, assignmentMember{id, sub})
		}
		return out
	}
	first := uniformAssign(m("m1", "m2"), topics, nil)
	if first["m1"].count() != 6 || first["m2"].count() != 6 {
		t.Fatalf("two members: %d %d", first["m1"].count(), first["m2"].count())
	}
	second := uniformAssign(m("m1", "m2", "m3"), topics, first)
	moved := 0
	for _, id := range []string{"m1", "m2"} {
		for tp, ps := range second[id] {
			for p := range ps {
				if !first[id].has(tp, p) {
					moved++
				}
			}
		}
		if c := second[id].count(); c != 4 {
			t.Fatalf("%s has %d", id, c)
		}
	}
	if second["m3"].count() != 4 || moved != 0 {
		t.Fatalf("m3 %d, partitions moved between old members %d", second["m3"].count(), moved)
	}
	// Mixed subscriptions: b only to m2.
	mixed := uniformAssign([]assignmentMember{{"m1", map[string]bool{"a": true}}, {"m2", sub}}, topics, nil)
	if len(mixed["m1"][tB]) != 0 || mixed["m2"][tB] == nil || mixed["m1"].count()+mixed["m2"].count() != 12 {
		t.Fatalf("mixed %v", mixed)
	}
}

func TestRangeAssignor(t *testing.T) {
	tA := metadata.UUID{1}
	sub := map[string]bool{"a": true}
	got := rangeAssign([]assignmentMember{{"z", sub}, {"b", sub}}, []assignmentTopic{{"a", tA, 5}}, nil)
	if p := got["b"].partitions(tA); len(p) != 3 || p[0] != 0 || p[2] != 2 {
		t.Fatalf("b %v", p)
	}
	if p := got["z"].partitions(tA); len(p) != 2 || p[0] != 3 {
		t.Fatalf("z %v", p)
	}
}
