package e2e_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// TestGroupOffsetsOfDeletedTopic: deleting a topic deletes every group's
// committed offsets of it (Kafka's onPartitionsDeleted), other topics'
// offsets stay, and a topic re-created under the same name does not
// inherit the old offsets.
func TestGroupOffsetsOfDeletedTopic(t *testing.T) {
	e := newEnv(t)
	const gone, kept = "deleted-topic-gone", "deleted-topic-kept"
	groups := []string{"g-deleted-a", "g-deleted-b"}
	e.createTopic(t, gone, 2, nil)
	e.createTopic(t, kept, 1, nil)
	for i, g := range groups {
		os := kadm.Offsets{}
		os.Add(kadm.Offset{Topic: gone, Partition: 0, At: int64(10 + i), LeaderEpoch: -1})
		os.Add(kadm.Offset{Topic: gone, Partition: 1, At: int64(20 + i), LeaderEpoch: -1})
		os.Add(kadm.Offset{Topic: kept, Partition: 0, At: int64(30 + i), LeaderEpoch: -1, Metadata: "kept"})
		resp, err := e.adm.CommitOffsets(ctxFor(t, 10*time.Second), g, os)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			t.Fatalf("commit %s: %v", g, err)
		}
	}
	// check fetches every group's offsets and reports whether none is
	// left for gone while kept's are intact.
	check := func() (bool, string) {
		for i, g := range groups {
			fetched, err := e.adm.FetchOffsets(ctxFor(t, 10*time.Second), g)
			if err != nil || fetched.Error() != nil {
				return false, g + ": fetch failed"
			}
			for _, p := range []int32{0, 1} {
				if o, ok := fetched.Lookup(gone, p); ok && o.At >= 0 {
					return false, g + ": still has an offset of the deleted topic"
				}
			}
			if o, ok := fetched.Lookup(kept, 0); !ok || o.At != int64(30+i) || o.Metadata != "kept" {
				return false, g + ": lost the other topic's offset"
			}
		}
		return true, ""
	}
	if ok, why := check(); ok {
		t.Fatalf("no offsets of %s before the deletion (%s)", gone, why)
	}

	resp, err := e.adm.DeleteTopics(ctxFor(t, 20*time.Second), gone)
	if err == nil {
		_, err = resp.On(gone, func(r *kadm.DeleteTopicResponse) error { return r.Err })
	}
	if err != nil {
		t.Fatalf("delete topic: %v", err)
	}
	// The deletion reaches the coordinator through the metadata
	// listener; poll briefly rather than assume it is synchronous with
	// the DeleteTopics answer.
	waitFor(t, 10*time.Second, "the deleted topic's offsets to go", func() bool {
		ok, _ := check()
		return ok
	})

	// Re-created under the same name: still nothing committed for it.
	e.createTopic(t, gone, 2, nil)
	if ok, why := check(); !ok {
		t.Fatalf("after re-creating %s: %s", gone, why)
	}
}
