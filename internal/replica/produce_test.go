package replica

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/storage"
)

func TestAppendRecordsAcks(t *testing.T) {
	for _, acks := range []int16{0, 1, -1} {
		t.Run(fmt.Sprintf("acks=%d", acks), func(t *testing.T) {
			e := newEnv(t)
			a, b := tp("t", 0), tp("t", 1)
			e.lead(a, 0)
			e.lead(b, 0)
			for round := range 3 {
				res := e.produce(acks,
					AppendRequest{TP: a, Records: batch(t, 2, 10)},
					AppendRequest{TP: b, Records: batch(t, 3, 10)})
				if len(res) != 2 || res[0].TP != a || res[1].TP != b {
					t.Fatalf("results %+v", res)
				}
				for i, want := range []int64{int64(2 * round), int64(3 * round)} {
					r := res[i]
					if r.Err != nil || r.BaseOffset != want || r.LogAppendTimeMs != -1 || r.LogStartOffset != 0 {
						t.Fatalf("round %d partition %d: %+v, want base offset %d", round, i, r, want)
					}
				}
			}
			for _, x := range []TopicPartition{a, b} {
				p, _ := e.m.Partition(x)
				if p.HighWatermark() != p.LogEndOffset() {
					t.Fatalf("%s: HW %d != LEO %d on a single node", x, p.HighWatermark(), p.LogEndOffset())
				}
			}
			if n := e.m.produce.Delayed(); n != 0 {
				t.Fatalf("%d produces still parked", n)
			}
		})
	}
}

func TestAppendRecordsInvalidAcks(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.lead(a, 0)
	for _, acks := range []int16{2, -2, 100} {
		res := e.produce(acks, AppendRequest{TP: a, Records: batch(t, 1, 1)})
		if !errors.Is(res[0].Err, ErrInvalidRequiredAcks) || res[0].BaseOffset != -1 {
			t.Fatalf("acks %d: %+v", acks, res[0])
		}
	}
	if p, _ := e.m.Partition(a); p.LogEndOffset() != 0 {
		t.Fatalf("invalid acks appended: LEO %d", p.LogEndOffset())
	}
}

func TestAppendRecordsErrors(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.lead(a, 0)
	compacted := tp("compacted", 0)
	cfg := DefaultPartitionConfig()
	cfg.Log.Compact, cfg.Log.Delete = true, false
	e.leadWith(compacted, 0, []int32{testNode}, []int32{testNode}, cfg)

	corrupt := batch(t, 1, 10)
	corrupt[len(corrupt)-1] ^= 0xff
	keyless := func() []byte {
		b := record.NewBuilder(record.DefaultBuilderOptions())
		b.Add(time.Now().UnixMilli(), nil, []byte("v"))
		b.Add(time.Now().UnixMilli(), []byte("k"), []byte("v"))
		b.Add(time.Now().UnixMilli(), nil, []byte("v"))
		out, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}()
	tooLarge := batch(t, 1, 2<<20)
	future := batchAt(t, 1, 1, time.Now().Add(48*time.Hour).UnixMilli(), record.CodecNone)

	for _, tc := range []struct {
		name      string
		tp        TopicPartition
		records   []byte
		want      error
		recordErr []int32
	}{
		{"unknown partition", tp("nope", 0), batch(t, 1, 1), ErrUnknownTopicOrPartition, nil},
		{"corrupt", a, corrupt, record.ErrCorrupt, nil},
		{"too large", a, tooLarge, record.ErrTooLarge, nil},
		{"timestamp", a, future, record.ErrInvalidTimestamp, []int32{0}},
		{"null keys on compacted topic", compacted, keyless, record.ErrInvalid, []int32{0, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.produce(1, AppendRequest{TP: tc.tp, Records: tc.records})[0]
			if !errors.Is(r.Err, tc.want) {
				t.Fatalf("err %v, want %v", r.Err, tc.want)
			}
			if r.BaseOffset != -1 || r.LogStartOffset != -1 {
				t.Fatalf("offsets on error: %+v", r)
			}
			var got []int32
			for _, re := range r.RecordErrors {
				got = append(got, re.Index)
			}
			if len(got) != len(tc.recordErr) {
				t.Fatalf("record errors %+v, want indexes %v", r.RecordErrors, tc.recordErr)
			}
			for i := range got {
				if got[i] != tc.recordErr[i] {
					t.Fatalf("record errors %+v, want indexes %v", r.RecordErrors, tc.recordErr)
				}
			}
			if (len(tc.recordErr) > 0) != (r.ErrMessage != "") {
				t.Fatalf("error message %q with record errors %v", r.ErrMessage, r.RecordErrors)
			}
		})
	}
	// One bad partition does not stop the others.
	res := e.produce(1, AppendRequest{TP: a, Records: corrupt}, AppendRequest{TP: a, Records: batch(t, 1, 1)})
	if res[0].Err == nil || res[1].Err != nil || res[1].BaseOffset != 0 {
		t.Fatalf("mixed results %+v", res)
	}
}

func TestAppendRecordsLogAppendTime(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	cfg := DefaultPartitionConfig()
	cfg.Log.LogAppendTime = true
	e.leadWith(a, 0, []int32{testNode}, []int32{testNode}, cfg)
	before := time.Now().UnixMilli()
	r := e.produce(-1, AppendRequest{TP: a, Records: batchAt(t, 2, 1, 5, record.CodecNone)})[0]
	if r.Err != nil || r.LogAppendTimeMs < before {
		t.Fatalf("%+v, want log append time >= %d", r, before)
	}
}

// A replicated partition's acks=all produce waits in the purgatory until
// the follower's fetch moves the high watermark past the records.
func TestAppendRecordsAcksAllWaitsForHighWatermark(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.leadWith(a, 3, []int32{testNode, 2}, []int32{testNode, 2}, DefaultPartitionConfig())

	ch := e.produceAsync(-1, time.Minute, AppendRequest{TP: a, Records: batch(t, 4, 10)})
	mustWait(t, ch)
	if e.m.produce.Delayed() != 1 {
		t.Fatalf("delayed produces: %d", e.m.produce.Delayed())
	}
	// acks=1 on the same partition answers at once, HW still behind.
	if r := e.produce(1, AppendRequest{TP: a, Records: batch(t, 1, 10)})[0]; r.Err != nil || r.BaseOffset != 4 {
		t.Fatalf("acks=1: %+v", r)
	}
	p, _ := e.m.Partition(a)
	if p.HighWatermark() != 0 || p.LogEndOffset() != 5 {
		t.Fatalf("HW %d LEO %d", p.HighWatermark(), p.LogEndOffset())
	}

	// The follower fetches from 2: HW 2, not enough.
	follower := FetchParams{ReplicaID: 2, MaxBytes: 1 << 20}
	f := fp(a, 2)
	f.CurrentLeaderEpoch = 3
	e.fetchNow(follower, f)
	if p.HighWatermark() != 2 {
		t.Fatalf("HW %d after follower at 2", p.HighWatermark())
	}
	mustWait(t, ch)

	// The follower has everything up to 4: the produce completes.
	f.FetchOffset = 4
	e.fetchNow(follower, f)
	r := mustRecv(t, ch)[0]
	if r.Err != nil || r.BaseOffset != 0 {
		t.Fatalf("acks=all: %+v", r)
	}
	if e.m.produce.Delayed() != 0 {
		t.Fatalf("delayed produces: %d", e.m.produce.Delayed())
	}
}

func TestAppendRecordsAcksAllTimesOut(t *testing.T) {
	e := newEnv(t)
	a, b := tp("t", 0), tp("t", 1)
	e.leadWith(a, 0, []int32{testNode, 2}, []int32{testNode, 2}, DefaultPartitionConfig())
	e.lead(b, 0) // single replica: satisfied at once

	ch := e.produceAsync(-1, 500*time.Millisecond,
		AppendRequest{TP: a, Records: batch(t, 1, 10)},
		AppendRequest{TP: b, Records: batch(t, 1, 10)},
		AppendRequest{TP: tp("unknown", 0), Records: batch(t, 1, 10)})
	mustWait(t, ch)
	e.expire(499 * time.Millisecond)
	mustWait(t, ch)
	e.expire(time.Millisecond)
	res := mustRecv(t, ch)
	if !errors.Is(res[0].Err, ErrRequestTimedOut) || res[0].BaseOffset != 0 {
		t.Fatalf("replicated partition: %+v", res[0])
	}
	if res[1].Err != nil || res[1].BaseOffset != 0 {
		t.Fatalf("single-replica partition: %+v", res[1])
	}
	if !errors.Is(res[2].Err, ErrUnknownTopicOrPartition) {
		t.Fatalf("unknown partition: %+v", res[2])
	}
}

func TestAppendRecordsMinInsyncReplicas(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	cfg := DefaultPartitionConfig()
	cfg.MinInsyncReplicas = 2
	e.leadWith(a, 0, []int32{testNode, 2, 3}, []int32{testNode}, cfg)

	r := e.produce(-1, AppendRequest{TP: a, Records: batch(t, 1, 10)})[0]
	if !errors.Is(r.Err, ErrNotEnoughReplicas) {
		t.Fatalf("acks=all under min ISR: %+v", r)
	}
	p, _ := e.m.Partition(a)
	if p.LogEndOffset() != 0 {
		t.Fatal("refused acks=all produce was appended")
	}
	if r := e.produce(1, AppendRequest{TP: a, Records: batch(t, 1, 10)})[0]; r.Err != nil {
		t.Fatalf("acks=1 under min ISR: %+v", r)
	}
	// KIP-966: under min ISR the high watermark does not move.
	if p.HighWatermark() != 0 {
		t.Fatalf("HW %d under min ISR", p.HighWatermark())
	}

	// min.insync.replicas above the replication factor is capped at it.
	single := tp("single", 0)
	cfg.MinInsyncReplicas = 3
	e.leadWith(single, 0, []int32{testNode}, []int32{testNode}, cfg)
	if r := e.produce(-1, AppendRequest{TP: single, Records: batch(t, 1, 10)})[0]; r.Err != nil {
		t.Fatalf("min ISR capped at RF: %+v", r)
	}

	// Lowering min.insync.replicas lets the HW move and is seen at once.
	if err := e.m.SetConfig(a, DefaultPartitionConfig()); err != nil {
		t.Fatal(err)
	}
	if p.HighWatermark() != 1 {
		t.Fatalf("HW %d after lowering min ISR", p.HighWatermark())
	}
}

func TestCheckEnoughReplicasAfterAppend(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	cfg := DefaultPartitionConfig()
	cfg.MinInsyncReplicas = 2
	e.leadWith(a, 0, []int32{testNode, 2}, []int32{testNode, 2}, cfg)
	e.produceOK(a, 2, 1)
	p, _ := e.m.Partition(a)
	if ok, err := p.checkEnoughReplicasReachOffset(2); ok || err != nil {
		t.Fatalf("before replication: %v %v", ok, err)
	}
	f := fp(a, 2)
	e.fetchNow(FetchParams{ReplicaID: 2, MaxBytes: 1 << 20}, f)
	if ok, err := p.checkEnoughReplicasReachOffset(2); !ok || err != nil {
		t.Fatalf("after replication: %v %v", ok, err)
	}
	// The ISR shrinks after the records were replicated.
	e.leadWith(a, 0, []int32{testNode, 2}, []int32{testNode}, cfg)
	if ok, err := p.checkEnoughReplicasReachOffset(2); !ok || !errors.Is(err, ErrNotEnoughReplicasAfterAppend) {
		t.Fatalf("after ISR shrink: %v %v", ok, err)
	}
}

func TestAppendRecordsCompressed(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.lead(a, 0)
	next := int64(0)
	for _, c := range []record.Codec{record.CodecNone, record.CodecGzip, record.CodecSnappy, record.CodecLz4, record.CodecZstd} {
		r := e.produce(-1, AppendRequest{TP: a, Records: batchAt(t, 5, 100, time.Now().UnixMilli(), c)})[0]
		if r.Err != nil || r.BaseOffset != next {
			t.Fatalf("%v: %+v", c, r)
		}
		next += 5
	}
	got := offsetsIn(t, e.fetchNow(consumer(), fp(a, 0))[0])
	if len(got) != int(next) {
		t.Fatalf("read back %d records, want %d", len(got), next)
	}
}

func TestAppendRecordsCoordinatorOrigin(t *testing.T) {
	e := newEnv(t)
	a := tp("__consumer_offsets", 0)
	e.lead(a, 0)
	ch := make(chan []AppendResult, 1)
	e.m.AppendRecords(-1, time.Second, storage.OriginCoordinator, []AppendRequest{{TP: a, Records: batch(t, 1, 1)}},
		func(r []AppendResult) { ch <- r })
	if r := mustRecv(t, ch)[0]; r.Err != nil {
		t.Fatal(r.Err)
	}
}

// TestSameEpochReplicaSetChange: a replica added to the replica set
// without a new leader epoch (a reassignment adding a replica) is
// tracked like the others, as Kafka's updateAssignmentAndIsr does: once
// it joins the ISR, its fetches move the high watermark and complete
// acks=all produces.
func TestSameEpochReplicaSetChange(t *testing.T) {
	e := newEnv(t)
	a := tp("t", 0)
	e.leadWith(a, 2, []int32{testNode, 2}, []int32{testNode, 2}, DefaultPartitionConfig())
	e.leadWith(a, 2, []int32{testNode, 2, 3}, []int32{testNode, 2}, DefaultPartitionConfig())
	e.leadWith(a, 2, []int32{testNode, 2, 3}, []int32{testNode, 2, 3}, DefaultPartitionConfig())

	ch := e.produceAsync(-1, time.Minute, AppendRequest{TP: a, Records: batch(t, 2, 10)})
	mustWait(t, ch)
	p, _ := e.m.Partition(a)
	for _, r := range []int32{2, 3} {
		f := fp(a, 2)
		f.CurrentLeaderEpoch = 2
		if res := e.fetchNow(FetchParams{ReplicaID: r, MaxBytes: 1 << 20}, f)[0]; res.Err != nil {
			t.Fatalf("follower %d: %v", r, res.Err)
		}
	}
	if p.HighWatermark() != 2 {
		t.Fatalf("HW %d after both followers reached 2", p.HighWatermark())
	}
	if r := mustRecv(t, ch)[0]; r.Err != nil {
		t.Fatalf("acks=all: %v", r.Err)
	}

	// A replica removed without a new epoch no longer counts either.
	e.leadWith(a, 2, []int32{testNode, 2}, []int32{testNode, 2}, DefaultPartitionConfig())
	p.hwMu.Lock()
	_, stale := p.followers[3]
	p.hwMu.Unlock()
	if stale {
		t.Fatal("removed replica 3 still tracked")
	}
}
