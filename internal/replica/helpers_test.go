package replica

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/samsa-streaming/samsa/internal/purgatory"
	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// env is a replica Manager on real logs in a temp dir, with a manual
// purgatory clock: nothing parked expires until the test advances it, so
// tests assert orderings, never durations.
type env struct {
	t     testing.TB
	m     *Manager
	logs  *storage.Manager
	clock *purgatory.ManualClock
	timer *purgatory.Timer
}

const testNode int32 = 1

func newEnv(t testing.TB) *env {
	t.Helper()
	logs, err := storage.NewManager(storage.ManagerConfig{Dirs: []string{t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := logs.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock := purgatory.NewManualClock(time.Unix(1_700_000_000, 0))
	timer, err := purgatory.NewTimer(purgatory.TimerConfig{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(Config{NodeID: testNode, Logs: logs, Timer: timer})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, m: m, logs: logs, clock: clock, timer: timer}
	t.Cleanup(func() {
		_ = m.Close()
		timer.Close()
		if err := logs.Close(); err != nil {
			t.Errorf("close logs: %v", err)
		}
	})
	return e
}

func tp(topic string, p int32) TopicPartition { return TopicPartition{Topic: topic, Partition: p} }

func topicID(tp TopicPartition) [16]byte {
	var id [16]byte
	copy(id[:], tp.Topic)
	id[15] = 1
	return id
}

// lead makes the node the sole replica and leader of tp.
func (e *env) lead(tp TopicPartition, epoch int32) {
	e.t.Helper()
	e.leadWith(tp, epoch, []int32{testNode}, []int32{testNode}, DefaultPartitionConfig())
}

func (e *env) leadWith(tp TopicPartition, epoch int32, replicas, isr []int32, cfg PartitionConfig) {
	e.t.Helper()
	if err := e.m.BecomeLeader(tp, topicID(tp), epoch, replicas, isr, cfg); err != nil {
		e.t.Fatalf("BecomeLeader %s: %v", tp, err)
	}
}

// expire moves the purgatory clock by d and runs what came due.
func (e *env) expire(d time.Duration) {
	e.clock.Add(d)
	e.timer.Advance()
}

// batch builds one producer batch of n records with values of size bytes.
func batch(t testing.TB, n, size int) []byte {
	t.Helper()
	return batchAt(t, n, size, time.Now().UnixMilli(), record.CodecNone)
}

func batchAt(t testing.TB, n, size int, ts int64, codec record.Codec) []byte {
	t.Helper()
	opts := record.DefaultBuilderOptions()
	opts.Codec = codec
	b := record.NewBuilder(opts)
	for i := range n {
		v := make([]byte, size)
		copy(v, fmt.Sprintf("v%d", i))
		b.Add(ts, []byte(fmt.Sprintf("k%d", i)), v)
	}
	out, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// produceAsync starts a produce and returns the channel its answer
// arrives on.
func (e *env) produceAsync(acks int16, timeout time.Duration, reqs ...AppendRequest) chan []AppendResult {
	ch := make(chan []AppendResult, 1)
	e.m.AppendRecords(acks, timeout, storage.OriginClient, reqs, func(r []AppendResult) { ch <- r })
	return ch
}

// produce appends and requires an immediate answer.
func (e *env) produce(acks int16, reqs ...AppendRequest) []AppendResult {
	e.t.Helper()
	return mustRecv(e.t, e.produceAsync(acks, time.Minute, reqs...))
}

// produceOK appends one batch of n records to tp with acks=1 and returns
// its base offset.
func (e *env) produceOK(tp TopicPartition, n, size int) int64 {
	e.t.Helper()
	res := e.produce(1, AppendRequest{TP: tp, Records: batch(e.t, n, size)})
	if res[0].Err != nil {
		e.t.Fatalf("produce to %s: %v", tp, res[0].Err)
	}
	return res[0].BaseOffset
}

func (e *env) fetchAsync(params FetchParams, parts ...FetchPartition) chan []FetchResult {
	ch := make(chan []FetchResult, 1)
	e.m.FetchMessages(params, parts, func(r []FetchResult) { ch <- r })
	return ch
}

// fetchNow fetches with no wait.
func (e *env) fetchNow(params FetchParams, parts ...FetchPartition) []FetchResult {
	e.t.Helper()
	params.MaxWait = 0
	return mustRecv(e.t, e.fetchAsync(params, parts...))
}

func consumer() FetchParams {
	return FetchParams{ReplicaID: -1, MinBytes: 1, MaxBytes: 50 << 20}
}

func fp(tp TopicPartition, offset int64) FetchPartition {
	return FetchPartition{TP: tp, FetchOffset: offset, PartitionMaxBytes: 1 << 20, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1, LogStartOffset: -1}
}

// mustRecv returns what ch holds now; the operation must already have
// been answered (answers are sent before the call that caused them
// returns, so this is an ordering assertion, not a timing one).
func mustRecv[T any](t testing.TB, ch chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	default:
		t.Fatal("operation not answered")
	}
	var zero T
	return zero
}

// mustWait asserts that ch holds nothing yet: the operation is parked.
func mustWait[T any](t testing.TB, ch chan T) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("operation answered while it should be parked: %+v", v)
	default:
	}
}

// offsetsIn parses a fetch result's batches and returns the offsets of
// their records (base..last per batch).
func offsetsIn(t *testing.T, r FetchResult) []int64 {
	t.Helper()
	out, err := parseOffsets(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// parseOffsets is offsetsIn for goroutines other than the test's.
func parseOffsets(r FetchResult) ([]int64, error) {
	if r.Records.Size == 0 {
		return nil, nil
	}
	data, err := r.Records.Bytes()
	if err != nil {
		return nil, err
	}
	var out []int64
	if _, err := record.Batches(data, func(b record.Batch) error {
		if err := b.Verify(); err != nil {
			return err
		}
		for o := b.BaseOffset(); o <= b.LastOffset(); o++ {
			out = append(out, o)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("parse fetched batches: %w", err)
	}
	return out, nil
}
