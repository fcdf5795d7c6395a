package replica

import (
	"testing"
	"time"
)

func TestTrafficCountsAppendsAndFetches(t *testing.T) {
	e := newEnv(t)
	a0, a1, b0 := tp("a", 0), tp("a", 1), tp("b", 0)
	e.lead(a0, 0)
	e.lead(a1, 0)
	e.leadWith(b0, 0, []int32{testNode, 2}, []int32{testNode}, DefaultPartitionConfig())

	batches := map[TopicPartition][]byte{a0: batch(t, 3, 10), a1: batch(t, 2, 10), b0: batch(t, 1, 10)}
	sizes := map[TopicPartition]int64{}
	for p, recs := range batches {
		sizes[p] = int64(len(recs))
	}
	for _, p := range []TopicPartition{a0, a1, b0} {
		res := e.produce(1, AppendRequest{TP: p, Records: batches[p]})
		if res[0].Err != nil {
			t.Fatalf("produce %s: %v", p, res[0].Err)
		}
	}
	// A refused append counts nothing.
	if res := e.produce(1, AppendRequest{TP: a0, Records: []byte("garbage")}); res[0].Err == nil {
		t.Fatal("garbage append succeeded")
	}

	total, topics := e.m.Traffic()
	if got, want := topics["a"], (Traffic{MessagesIn: 5, BytesIn: sizes[a0] + sizes[a1]}); got != want {
		t.Errorf("topic a after produce = %+v, want %+v", got, want)
	}
	if got, want := topics["b"], (Traffic{MessagesIn: 1, BytesIn: sizes[b0]}); got != want {
		t.Errorf("topic b after produce = %+v, want %+v", got, want)
	}
	if total.MessagesIn != 6 || total.BytesIn != sizes[a0]+sizes[a1]+sizes[b0] {
		t.Errorf("total after produce = %+v", total)
	}

	// A consumer fetch counts BytesOut once; an empty one counts nothing.
	res := e.fetchNow(consumer(), fp(a0, 0), fp(a1, 2))
	if res[0].Records.Size != sizes[a0] || res[1].Records.Size != 0 {
		t.Fatalf("fetch sizes %d %d", res[0].Records.Size, res[1].Records.Size)
	}
	// A parked fetch counts what it answers with, once, however often it
	// was checked.
	params := consumer()
	params.MaxWait = time.Minute
	params.MinBytes = 1
	parked := e.fetchAsync(params, fp(a1, 2))
	mustWait(t, parked)
	more := batch(t, 4, 10)
	moreSize := int64(len(more))
	if r := e.produce(1, AppendRequest{TP: a1, Records: more}); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	if r := mustRecv(t, parked); r[0].Records.Size != moreSize {
		t.Fatalf("parked fetch answered %d bytes, want %d", r[0].Records.Size, moreSize)
	}
	// A follower's fetch is replication traffic, not BytesOut.
	follower := FetchParams{ReplicaID: 2, MaxBytes: 1 << 20}
	if r := e.fetchNow(follower, fp(b0, 0)); r[0].Err != nil || r[0].Records.Size != sizes[b0] {
		t.Fatalf("follower fetch: %+v", r[0])
	}

	total, topics = e.m.Traffic()
	wantA := Traffic{MessagesIn: 9, BytesIn: sizes[a0] + sizes[a1] + moreSize, BytesOut: sizes[a0] + moreSize}
	if topics["a"] != wantA {
		t.Errorf("topic a = %+v, want %+v", topics["a"], wantA)
	}
	wantB := Traffic{MessagesIn: 1, BytesIn: sizes[b0], ReplicationBytesOut: sizes[b0]}
	if topics["b"] != wantB {
		t.Errorf("topic b = %+v, want %+v", topics["b"], wantB)
	}
	wantTotal := Traffic{MessagesIn: 10, BytesIn: wantA.BytesIn + wantB.BytesIn, BytesOut: wantA.BytesOut, ReplicationBytesOut: sizes[b0]}
	if total != wantTotal {
		t.Errorf("total = %+v, want %+v", total, wantTotal)
	}

	// A topic's counters go with its last hosted partition; the node's
	// totals stay.
	if err := e.m.RemovePartition(a0, true); err != nil {
		t.Fatal(err)
	}
	if _, topics = e.m.Traffic(); topics["a"] != wantA {
		t.Errorf("topic a with one partition left = %+v, want %+v", topics["a"], wantA)
	}
	if err := e.m.RemovePartition(a1, false); err != nil {
		t.Fatal(err)
	}
	total, topics = e.m.Traffic()
	if _, ok := topics["a"]; ok || len(topics) != 1 || total != wantTotal {
		t.Errorf("after removing topic a: total %+v, topics %+v", total, topics)
	}
	// Hosting the topic again starts from zero, as Kafka's re-created
	// topic metrics do.
	e.lead(a0, 1)
	if _, topics = e.m.Traffic(); topics["a"] != (Traffic{}) {
		t.Errorf("re-hosted topic a = %+v, want zero", topics["a"])
	}
}

func TestPurgatoryStats(t *testing.T) {
	e := newEnv(t)
	a0 := tp("a", 0)
	e.lead(a0, 0)
	params := consumer()
	params.MaxWait = time.Minute
	parked := e.fetchAsync(params, fp(a0, 0))
	mustWait(t, parked)
	stats := e.m.PurgatoryStats()
	if len(stats) != 2 || stats[0].Name != "Produce" || stats[1].Name != "Fetch" {
		t.Fatalf("stats = %+v", stats)
	}
	if stats[0].Delayed != 0 || stats[1].Delayed != 1 || stats[1].Watched != 1 {
		t.Errorf("with one parked fetch: %+v", stats)
	}
	e.expire(time.Minute)
	mustRecv(t, parked)
	if stats = e.m.PurgatoryStats(); stats[1].Delayed != 0 {
		t.Errorf("after expiry: %+v", stats)
	}
}
