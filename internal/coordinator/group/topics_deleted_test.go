package group

import (
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// fetchTopics fetches group's offsets of the named partitions (OffsetFetch
// v9 with topics), -1 meaning none committed.
func (e *env) fetchTopics(group string, topics map[string][]int32) map[string]map[int32]int64 {
	e.t.Helper()
	r := kmsg.NewOffsetFetchRequest()
	r.Version = 9
	g := kmsg.NewOffsetFetchRequestGroup()
	g.Group = group
	for t, ps := range topics {
		rt := kmsg.NewOffsetFetchRequestGroupTopic()
		rt.Topic = t
		rt.Partitions = ps
		g.Topics = append(g.Topics, rt)
	}
	r.Groups = []kmsg.OffsetFetchRequestGroup{g}
	a, done := newAsync[*kmsg.OffsetFetchResponse](e.t)
	e.c.OffsetFetch(&r, done)
	resp := a.get()
	if len(resp.Groups) != 1 || resp.Groups[0].ErrorCode != 0 {
		e.t.Fatalf("fetch %s: %+v", group, resp)
	}
	out := map[string]map[int32]int64{}
	for _, t := range resp.Groups[0].Topics {
		out[t.Topic] = map[int32]int64{}
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				e.t.Fatalf("fetch %s %s-%d: code %d", group, t.Topic, p.Partition, p.ErrorCode)
			}
			out[t.Topic][p.Partition] = p.Offset
		}
	}
	return out
}

func TestOnTopicsDeleted(t *testing.T) {
	e, meta := newConsumerEnv(t, nil)
	meta.addTopic(t, "gone", 2)
	meta.addTopic(t, "kept", 1)
	both := map[string]map[int32]int64{"gone": {0: 10, 1: 11}, "kept": {0: 20}}

	// A simple (classic, memberless) group, a classic group with a member
	// and a KIP-848 consumer group, each with offsets of both topics.
	for _, code := range commitCodes(e.commit("simple", "", -1, 9, both)) {
		wantCode(t, "simple commit", code, 0)
	}
	ids, gen := e.stable("classic", 1)
	for _, code := range commitCodes(e.commit("classic", ids[0], gen, 9, both)) {
		wantCode(t, "classic commit", code, 0)
	}
	c := e.newConsumer("consumer", "m1", "gone", "kept")
	c.mustBeat()
	for _, code := range commitCodes(e.commit("consumer", c.id, c.epoch, 9, both)) {
		wantCode(t, "consumer commit", code, 0)
	}
	groups := []string{"simple", "classic", "consumer"}
	want := func(when string) {
		t.Helper()
		for _, g := range groups {
			got := e.fetchTopics(g, map[string][]int32{"gone": {0, 1}, "kept": {0}})
			if got["gone"][0] != -1 || got["gone"][1] != -1 || got["kept"][0] != 20 {
				t.Fatalf("%s: group %s offsets %v, want gone -1 and kept 20", when, g, got)
			}
			all := e.fetch(g)
			if _, ok := all["gone"]; ok || len(all) != 1 {
				t.Fatalf("%s: group %s all offsets %v", when, g, all)
			}
		}
	}

	e.c.OnTopicsDeleted(nil) // nothing to do
	e.c.OnTopicsDeleted([]string{"gone", "never-existed"})
	e.sync()
	want("after deletion")
	// The tombstones are in the log: a reload agrees.
	e.restart()
	want("after reload")

	// A topic re-created under the same name starts without offsets; what
	// is committed to it afterwards is kept, and survives a reload.
	for _, code := range commitCodes(e.commit("simple", "", -1, 9, map[string]map[int32]int64{"gone": {0: 3}})) {
		wantCode(t, "commit to the re-created topic", code, 0)
	}
	e.restart()
	if got := e.fetch("simple"); got["gone"][0] != 3 || len(got["gone"]) != 1 || got["kept"][0] != 20 {
		t.Fatalf("re-created topic: %v", got)
	}

	// A deletion that reaches a shard still loading its partition is
	// applied once the log is replayed, not undone by the replay.
	if err := e.c.Close(); err != nil {
		t.Fatal(err)
	}
	var err error
	e.c, err = New(Config{
		NodeID: testNode, NumPartitions: e.parts, Replicas: e.rm, Timer: e.timer,
		Logger: slog.New(slog.DiscardHandler), Broker: e.broker, Now: e.clock.Now, Metadata: e.meta,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.c.OnElection(0, 1)
	e.c.OnTopicsDeleted([]string{"gone"})
	e.waitLoaded()
	want("deleted while loading")
	e.restart()
	want("deleted while loading, after reload")
}

func TestOnTopicsDeletedFencesCommitsInFlight(t *testing.T) {
	e := newEnv(t, nil)
	e.commit("s", "", -1, 9, map[string]map[int32]int64{"gone": {0: 1}, "kept": {0: 2}})
	// A commit whose append is in flight when the topic is deleted: run
	// the deletion on the shard goroutine between beginCommits and
	// endCommits, as it would be if its event came first.
	e.c.mu.RLock()
	s := e.c.shards[0]
	e.c.mu.RUnlock()
	done := make(chan struct{})
	s.post(event{run: func() {
		defer close(done)
		keys := []offsetKey{{"s", "gone", 0}, {"s", "gone", 5}, {"s", "kept", 0}}
		vals := []offsetAndMetadata{{offset: 7, leaderEpoch: -1, expireTimestamp: -1}, {offset: 8, leaderEpoch: -1, expireTimestamp: -1}, {offset: 9, leaderEpoch: -1, expireTimestamp: -1}}
		seqs := s.beginCommits(keys)
		s.deleteTopicOffsets(map[string]bool{"gone": true})
		s.endCommits(keys, seqs, vals, true)
	}})
	<-done
	e.sync()
	if got := e.fetch("s"); len(got["gone"]) != 0 || got["kept"][0] != 9 {
		t.Fatalf("after the fenced commits: %v", got)
	}
}
