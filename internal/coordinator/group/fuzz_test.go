package group

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzDecodeRecord: whatever bytes the topic holds, decoding returns a
// record or an ErrCorruptRecord, never panics, and what decodes replays
// into a shard without panicking either.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(offsetCommitKey("g", "t", 1), offsetCommitValue(offsetAndMetadata{offset: 5, leaderEpoch: 2, metadata: "m", commitTimestamp: 9, expireTimestamp: -1}))
	f.Add(offsetCommitKey("g", "t", 1), offsetCommitValue(offsetAndMetadata{offset: 5, leaderEpoch: -1, expireTimestamp: 100}))
	f.Add(offsetCommitKey("g", "t", 1), []byte(nil))
	g := newClassicGroup("g", stateStable, 1)
	p := "range"
	g.protocolType, g.protocolName, g.generation = "consumer", &p, 3
	g.add(&member{id: "m", clientID: "c", protocols: []protocol{{name: "range", metadata: []byte{0, 0, 0, 0, 0, 0}}}}, nil)
	f.Add(groupMetadataKey("g"), groupMetadataValue(g, map[string][]byte{"m": []byte("a")}))
	f.Add(groupMetadataKey("g"), []byte(nil))
	v4 := kmsg.NewGroupMetadataValue()
	v4.Version = 4
	v4.Members = []kmsg.GroupMetadataValueMember{kmsg.NewGroupMetadataValueMember()}
	f.Add(groupMetadataKey("g"), v4.AppendTo(nil))
	oc4 := kmsg.NewOffsetCommitValue()
	oc4.Version = 4
	oc4.TopicID = [16]byte{1}
	f.Add(offsetCommitKey("g", "t", 0), oc4.AppendTo(nil))
	f.Add([]byte{0, 2, 0x7f, 0xff}, []byte{0, 3, 0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 2, 0, 1, 'g'}, []byte{0, 2, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{}, []byte{})
	f.Add([]byte{0x80, 0}, []byte{1})
	// KIP-848 consumer group records go through the same decoder.
	for _, r := range sampleConsumerRecords() {
		enc := r.encode()
		f.Add(enc.key, enc.value)
	}
	f.Fuzz(func(t *testing.T, key, value []byte) {
		rec, err := decodeRecord(key, value)
		if err != nil {
			if !errors.Is(err, ErrCorruptRecord) {
				t.Fatalf("error %v is not ErrCorruptRecord", err)
			}
			return
		}
		s := &shard{
			c:        &Coordinator{now: fixedNow},
			log:      slog.New(slog.DiscardHandler),
			groups:   map[string]*classicGroup{},
			consumer: map[string]*consumerGroup{},
			offsets:  map[string]map[string]map[int32]offsetAndMetadata{},
		}
		s.replay(rec)
		// A consumer group rebuilt from a record must derive its state
		// and describe without panicking.
		for _, g := range s.consumer {
			_ = g.state()
			_ = g.subscribedTopics()
		}
		// Replayed groups must describe and re-encode cleanly.
		for _, g := range s.groups {
			var out kmsg.DescribeGroupsResponseGroup
			out.Group = g.id
			s.describe(&out, 6)
			_ = groupMetadataValue(g, nil)
			g.computeSubscribedTopics()
		}
	})
}

func fixedNow() time.Time { return time.Unix(1_700_000_000, 0) }
