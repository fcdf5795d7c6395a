package replica

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/storage"
)

func TestBecomeLeaderLifecycle(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.lead(a, 2)
	p, ok := e.m.Partition(a)
	if !ok || !p.IsLeader() || p.LeaderEpoch() != 2 || p.TopicID() != topicID(a) {
		t.Fatalf("partition after BecomeLeader: %v %+v", ok, p)
	}
	if !slices.Equal(p.Replicas(), []int32{testNode}) || !slices.Equal(p.ISR(), []int32{testNode}) {
		t.Fatalf("replicas %v isr %v", p.Replicas(), p.ISR())
	}
	e.produceOK(a, 2, 1)

	// Idempotent, and a stale epoch is refused.
	e.lead(a, 2)
	if err := e.m.BecomeLeader(a, topicID(a), 1, []int32{testNode}, []int32{testNode}, DefaultPartitionConfig()); !errors.Is(err, ErrFencedLeaderEpoch) {
		t.Fatalf("stale epoch: %v", err)
	}
	other := topicID(tp("other", 0))
	if err := e.m.BecomeLeader(a, other, 3, []int32{testNode}, []int32{testNode}, DefaultPartitionConfig()); !errors.Is(err, ErrInconsistentTopicID) {
		t.Fatalf("other topic id: %v", err)
	}
	if got := e.m.Partitions(); !slices.Equal(got, []TopicPartition{a}) {
		t.Fatalf("partitions %v", got)
	}

	// Removing without deleting keeps the log; leading again reopens it.
	if err := e.m.RemovePartition(a, false); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.m.Partition(a); ok {
		t.Fatal("removed partition still hosted")
	}
	if p.IsLeader() {
		t.Fatal("removed partition still leads")
	}
	if r := e.produce(1, AppendRequest{TP: a, Records: batch(t, 1, 1)})[0]; !errors.Is(r.Err, ErrUnknownTopicOrPartition) {
		t.Fatalf("produce to a removed partition: %v", r.Err)
	}
	e.lead(a, 3)
	if p, _ := e.m.Partition(a); p.LogEndOffset() != 2 {
		t.Fatalf("log end offset after re-leading: %d", p.LogEndOffset())
	}

	// Deleting removes the log: leading again starts empty.
	if err := e.m.RemovePartition(a, true); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.logs.Get(a); ok {
		t.Fatal("deleted log still in the storage manager")
	}
	e.lead(a, 0)
	if p, _ := e.m.Partition(a); p.LogEndOffset() != 0 {
		t.Fatalf("log end offset after re-creating: %d", p.LogEndOffset())
	}
	// Removing what is not hosted is a no-op.
	if err := e.m.RemovePartition(tp("x", 0), true); err != nil {
		t.Fatal(err)
	}
	if err := e.m.SetConfig(tp("x", 0), DefaultPartitionConfig()); !errors.Is(err, ErrUnknownTopicOrPartition) {
		t.Fatalf("SetConfig on unknown: %v", err)
	}
}

func TestSetConfig(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.lead(a, 0)
	cfg := DefaultPartitionConfig()
	cfg.Log.MaxMessageBytes = 100
	if err := e.m.SetConfig(a, cfg); err != nil {
		t.Fatal(err)
	}
	if r := e.produce(1, AppendRequest{TP: a, Records: batch(t, 1, 200)})[0]; r.Err == nil {
		t.Fatal("max.message.bytes not applied")
	}
	cfg.Log.SegmentBytes = 0
	if err := e.m.SetConfig(a, cfg); !errors.Is(err, storage.ErrInvalidConfig) {
		t.Fatalf("invalid config: %v", err)
	}
}

// Operations parked on a partition are answered when it is removed:
// UNKNOWN_TOPIC_OR_PARTITION if deleted, NOT_LEADER_OR_FOLLOWER if it
// moved away.
func TestRemovePartitionWhileParked(t *testing.T) {
	for _, tc := range []struct {
		deleteLog bool
		want      error
	}{{true, ErrUnknownTopicOrPartition}, {false, ErrNotLeader}} {
		t.Run(tc.want.Error(), func(t *testing.T) {
			e := newEnv(t)
			a, b := tp("t", 0), tp("t", 1)
			e.leadWith(a, 0, []int32{testNode, 2}, []int32{testNode, 2}, DefaultPartitionConfig())
			e.lead(b, 0)

			produced := e.produceAsync(-1, time.Hour, AppendRequest{TP: a, Records: batch(t, 1, 1)})
			params := consumer()
			params.MaxWait, params.MinBytes = time.Hour, 1<<20
			fetched := e.fetchAsync(params, fp(a, 0), fp(b, 0))
			mustWait(t, produced)
			mustWait(t, fetched)

			if err := e.m.RemovePartition(a, tc.deleteLog); err != nil {
				t.Fatal(err)
			}
			if r := mustRecv(t, produced)[0]; !errors.Is(r.Err, tc.want) {
				t.Fatalf("parked produce: %v, want %v", r.Err, tc.want)
			}
			r := mustRecv(t, fetched)
			// The re-read finds the partition gone from the map.
			if !errors.Is(r[0].Err, ErrUnknownTopicOrPartition) {
				t.Fatalf("parked fetch: %v", r[0].Err)
			}
			if r[1].Err != nil {
				t.Fatalf("other partition: %v", r[1].Err)
			}
		})
	}
}

func TestCloseAnswersParkedOperations(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.leadWith(a, 0, []int32{testNode, 2}, []int32{testNode, 2}, DefaultPartitionConfig())
	produced := e.produceAsync(-1, time.Hour, AppendRequest{TP: a, Records: batch(t, 1, 1)})
	params := consumer()
	params.MaxWait = time.Hour
	fetched := e.fetchAsync(params, fp(a, 0))
	mustWait(t, produced)
	mustWait(t, fetched)
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}
	if r := mustRecv(t, produced)[0]; !errors.Is(r.Err, ErrRequestTimedOut) {
		t.Fatalf("parked produce at close: %v", r.Err)
	}
	if r := mustRecv(t, fetched)[0]; !errors.Is(r.Err, ErrClosed) {
		t.Fatalf("parked fetch at close: %v", r.Err)
	}
	if r := e.produce(1, AppendRequest{TP: a, Records: batch(t, 1, 1)})[0]; !errors.Is(r.Err, ErrClosed) {
		t.Fatalf("produce after close: %v", r.Err)
	}
	if err := e.m.BecomeLeader(a, topicID(a), 1, nil, nil, DefaultPartitionConfig()); !errors.Is(err, ErrClosed) {
		t.Fatalf("BecomeLeader after close: %v", err)
	}
	if err := e.m.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// Producers with every acks mode and long-polling consumers run at once
// on a real timer; every consumer sees every record exactly once, in
// order, and every answer comes exactly once.
func TestConcurrentProduceAndLongPoll(t *testing.T) {
	logs, err := storage.NewManager(storage.ManagerConfig{Dirs: []string{t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := logs.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	m, err := NewManager(Config{NodeID: testNode, Logs: logs}) // purgatories on their own real timers
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	parts := []TopicPartition{tp("c", 0), tp("c", 1)}
	for _, x := range parts {
		if err := m.BecomeLeader(x, topicID(x), 0, []int32{testNode}, []int32{testNode}, DefaultPartitionConfig()); err != nil {
			t.Fatal(err)
		}
	}
	const producers, batches, perBatch = 4, 50, 3
	total := int64(producers * batches * perBatch)

	var data [producers][batches][]byte
	for i := range producers {
		for j := range batches {
			data[i][j] = batch(t, perBatch, 20)
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range producers {
		wg.Go(func() {
			acks := []int16{-1, 0, 1, -1}[i]
			for j := range batches {
				x := parts[j%len(parts)]
				ch := make(chan []AppendResult, 2)
				m.AppendRecords(acks, time.Minute, storage.OriginClient,
					[]AppendRequest{{TP: x, Records: data[i][j]}}, func(r []AppendResult) { ch <- r })
				if r := <-ch; r[0].Err != nil {
					errs <- r[0].Err
					return
				}
				if len(ch) != 0 {
					errs <- errors.New("produce answered twice")
					return
				}
			}
		})
	}
	for _, x := range parts {
		wg.Go(func() {
			next := int64(0)
			want := total / int64(len(parts))
			for next < want {
				ch := make(chan []FetchResult, 2)
				params := FetchParams{ReplicaID: -1, MaxWait: time.Minute, MinBytes: 1, MaxBytes: 1 << 20}
				f := FetchPartition{TP: x, FetchOffset: next, PartitionMaxBytes: 1 << 20, CurrentLeaderEpoch: 0, LastFetchedEpoch: -1, LogStartOffset: -1}
				m.FetchMessages(params, []FetchPartition{f}, func(r []FetchResult) { ch <- r })
				r := (<-ch)[0]
				if r.Err != nil {
					errs <- r.Err
					return
				}
				offs, err := parseOffsets(r)
				if err != nil {
					errs <- err
					return
				}
				if len(offs) == 0 || offs[0] > next {
					errs <- errors.New("long poll answered without data or with a gap")
					return
				}
				for _, o := range offs {
					if o >= next {
						if o != next {
							errs <- errors.New("gap in fetched offsets")
							return
						}
						next++
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, x := range parts {
		p, _ := m.Partition(x)
		if p.HighWatermark() != total/2 {
			t.Fatalf("%s: HW %d, want %d", x, p.HighWatermark(), total/2)
		}
	}
}

func TestNewManagerNeedsLogs(t *testing.T) {
	if _, err := NewManager(Config{NodeID: 1}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("no logs: %v", err)
	}
}

// TestTopicIDChecked: a produce or fetch that names its topic by ID
// (Produce/Fetch v13+) must find that ID on the hosted partition. The
// handler resolves the ID to a name through the metadata image, which
// publishes a deleted and re-created topic before the old partition is
// swapped out; without the check such a request would be served from the
// old topic's log.
func TestTopicIDChecked(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	idA := topicID(a)
	idB := idA
	idB[0] ^= 0xff
	e.lead(a, 0) // hosted with idA

	res := e.produce(1, AppendRequest{TP: a, TopicID: idB, Records: batch(t, 2, 1)})
	if !errors.Is(res[0].Err, ErrUnknownTopicID) || res[0].BaseOffset != -1 {
		t.Fatalf("produce with another topic id: %+v", res[0])
	}
	if leo := e.m.mustPartition(t, a).LogEndOffset(); leo != 0 {
		t.Fatalf("the refused produce appended: LEO %d", leo)
	}
	for _, id := range [][16]byte{idA, {}} { // the hosted id, or none (old versions)
		if res := e.produce(1, AppendRequest{TP: a, TopicID: id, Records: batch(t, 1, 1)}); res[0].Err != nil {
			t.Fatalf("produce with id %x: %v", id, res[0].Err)
		}
	}

	f := fp(a, 0)
	f.TopicID = idB
	if r := e.fetchNow(consumer(), f)[0]; !errors.Is(r.Err, ErrInconsistentTopicID) || r.Records.Size != 0 || r.HighWatermark != -1 {
		t.Fatalf("fetch with another topic id: %+v", r)
	}
	for _, id := range [][16]byte{idA, {}} {
		f.TopicID = id
		if r := e.fetchNow(consumer(), f)[0]; r.Err != nil || !slices.Equal(offsetsIn(t, r), []int64{0, 1}) {
			t.Fatalf("fetch with id %x: %+v", id, r)
		}
	}

	// A parked fetch whose partition now hosts another topic id is
	// answered at once rather than waiting for data that is not its own.
	f = fp(a, 2)
	f.TopicID = idA
	params := consumer()
	params.MaxWait = time.Hour
	d := &delayedFetch{m: e.m, params: params, parts: []FetchPartition{f}}
	if d.TryComplete() {
		t.Fatal("a fetch at the log end completed with nothing to read")
	}
	f.TopicID = idB
	d.parts = []FetchPartition{f}
	if !d.TryComplete() {
		t.Fatal("a fetch naming another topic id stayed parked")
	}

	// Delete and re-create: the new partition has idB, and requests still
	// naming idA are refused.
	if err := e.m.RemovePartition(a, true); err != nil {
		t.Fatal(err)
	}
	if err := e.m.BecomeLeader(a, idB, 0, []int32{testNode}, []int32{testNode}, DefaultPartitionConfig()); err != nil {
		t.Fatal(err)
	}
	if res := e.produce(1, AppendRequest{TP: a, TopicID: idA, Records: batch(t, 1, 1)}); !errors.Is(res[0].Err, ErrUnknownTopicID) {
		t.Fatalf("produce to the old id after re-creation: %v", res[0].Err)
	}
	f = fp(a, 0)
	f.TopicID = idA
	if r := e.fetchNow(consumer(), f)[0]; !errors.Is(r.Err, ErrInconsistentTopicID) {
		t.Fatalf("fetch of the old id after re-creation: %v", r.Err)
	}
}

func (m *Manager) mustPartition(t testing.TB, tp TopicPartition) *Partition {
	t.Helper()
	p, ok := m.Partition(tp)
	if !ok {
		t.Fatalf("%s is not hosted", tp)
	}
	return p
}
