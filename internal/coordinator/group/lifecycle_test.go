package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/replica"
	"github.com/samsa-streaming/samsa/internal/storage"
)

func TestNewValidatesConfig(t *testing.T) {
	e := newEnv(t, nil)
	for _, cfg := range []Config{
		{NumPartitions: 0, Replicas: e.rm, Broker: e.broker},
		{NumPartitions: 1, Broker: e.broker},
		{NumPartitions: 1, Replicas: e.rm},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	if err := e.c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Close(); err != ErrClosed {
		t.Fatalf("second Close: %v", err)
	}
	wantCode(t, "after Close", e.heartbeat("g", "m", 1), codeNotCoordinator)
	e.c = nil
}

func TestLoadInProgressAndNotCoordinator(t *testing.T) {
	e := newEnv(t, nil)
	// A coordinator over two partitions, the second not hosted yet: its
	// shard keeps trying to load, and its groups are loading meanwhile.
	if err := e.c.Close(); err != nil {
		t.Fatal(err)
	}
	e.parts = 2
	var err error
	e.c, err = New(Config{NodeID: testNode, NumPartitions: 2, Replicas: e.rm, Timer: e.timer, Broker: e.broker, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if p := e.c.PartitionFor("a"); p != 1 {
		t.Fatalf("group a is in partition %d", p)
	}
	wantCode(t, "before election", e.heartbeat("a", "m", 1), codeNotCoordinator)
	e.c.OnElection(0, 1)
	e.c.OnElection(1, 1)
	e.c.OnElection(7, 1) // outside the topic: ignored
	e.sync()
	// A heartbeat for a loading group is answered NONE, as Kafka does;
	// everything else says the coordinator is loading.
	wantCode(t, "heartbeat while loading", e.heartbeat("a", "m", 1), 0)
	c := e.commit("a", "", -1, 9, map[string]map[int32]int64{"t": {0: 1}})
	wantCode(t, "commit while loading", commitCodes(c)[0], codeLoadInProgress)
	wantCode(t, "describe while loading", e.describe("a")[0].ErrorCode, codeLoadInProgress)
	e.commit("b", "", -1, 9, map[string]map[int32]int64{"t": {0: 1}}) // partition 0, loaded
	lr := kmsg.NewListGroupsRequest()
	lr.Version = 5
	la, ldone := newAsync[*kmsg.ListGroupsResponse](t)
	e.c.ListGroups(&lr, ldone)
	if r := la.get(); r.ErrorCode != codeLoadInProgress || len(r.Groups) != 0 {
		t.Fatalf("list while loading: %+v", r)
	}
	tp := replica.TopicPartition{Topic: OffsetsTopic, Partition: 1}
	if err := e.rm.BecomeLeader(tp, [16]byte{1}, 1, []int32{testNode}, []int32{testNode}, replica.DefaultPartitionConfig()); err != nil {
		t.Fatal(err)
	}
	e.advance(loadRetryBackoff)
	e.waitLoaded()
	wantCode(t, "loaded", e.heartbeat("a", "m", 1), codeUnknownMemberID)

	// ListGroups spans the shards.
	e.commit("a", "", -1, 9, map[string]map[int32]int64{"t": {0: 1}})
	la, ldone = newAsync[*kmsg.ListGroupsResponse](t)
	e.c.ListGroups(&lr, ldone)
	if groups := la.get().Groups; len(groups) != 2 || groups[0].Group != "a" || groups[1].Group != "b" {
		t.Fatalf("list: %+v", groups)
	}
}

func TestResignationAndReelection(t *testing.T) {
	e := newEnv(t, nil)
	ids, gen := e.stable("g", 2)
	e.commit("g", ids[0], gen, 9, map[string]map[int32]int64{"t": {0: 42}})
	// The leader rejoins; its JoinGroup is parked waiting for the
	// follower when leadership moves away.
	parked := e.join(joinReq("g", ids[0], 9))
	parked.pending()
	e.c.OnResignation(0, 0) // a stale notice: ignored
	e.sync()
	parked.pending()
	e.c.OnResignation(0, 2)
	wantCode(t, "parked join", parked.get().ErrorCode, codeNotCoordinator)
	wantCode(t, "after resignation", e.heartbeat("g", ids[0], gen), codeNotCoordinator)
	c := e.commit("g", ids[0], gen, 9, map[string]map[int32]int64{"t": {0: 43}})
	wantCode(t, "commit after resignation", commitCodes(c)[0], codeNotCoordinator)

	// Elected again: the group is back from the log as it was persisted
	// (Stable, same generation), and so are its offsets.
	e.c.OnElection(0, 3)
	e.waitLoaded()
	if st := e.state("g"); st != "Stable" {
		t.Fatalf("state after re-election: %s", st)
	}
	if got := e.fetch("g"); got["t"][0] != 42 {
		t.Fatalf("offsets after re-election: %v", got)
	}
	wantCode(t, "heartbeat after re-election", e.heartbeat("g", ids[1], gen), 0)
	// A repeated election with the same epoch changes nothing.
	e.c.OnElection(0, 3)
	wantCode(t, "heartbeat", e.heartbeat("g", ids[1], gen), 0)
}

func TestAppendFailures(t *testing.T) {
	e := newEnv(t, nil)
	ids, gen := e.stable("g", 1)
	e.commit("g", ids[0], gen, 9, map[string]map[int32]int64{"t": {0: 1}})
	tp := replica.TopicPartition{Topic: OffsetsTopic, Partition: 0}
	// The partition disappears from under the shard: writes fail with
	// COORDINATOR_NOT_AVAILABLE and change nothing.
	if err := e.rm.RemovePartition(tp, false); err != nil {
		t.Fatal(err)
	}
	c := e.commit("g", ids[0], gen, 9, map[string]map[int32]int64{"t": {0: 2}})
	wantCode(t, "commit", commitCodes(c)[0], codeCoordinatorNotAvail)
	if got := e.fetch("g"); got["t"][0] != 1 {
		t.Fatalf("failed commit changed the state: %v", got)
	}
	// A leader's assignment that cannot be stored: its sync fails and the
	// group rebalances.
	r := e.join(joinReq("g", ids[0], 9)).get()
	wantCode(t, "rejoin", r.ErrorCode, 0)
	s := e.syncGroup("g", ids[0], r.Generation, map[string][]byte{ids[0]: []byte("x")}).get()
	wantCode(t, "sync", s.ErrorCode, codeCoordinatorNotAvail)
	// A stopped replica manager: NOT_COORDINATOR.
	if err := e.rm.Close(); err != nil {
		t.Fatal(err)
	}
	c = e.commit("s", "", -1, 9, map[string]map[int32]int64{"t": {0: 2}})
	wantCode(t, "commit to a closed replica manager", commitCodes(c)[0], codeNotCoordinator)
}

func TestAppendErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int16
	}{
		{nil, 0},
		{replica.ErrNotLeader, codeNotCoordinator},
		{storage.ErrLogFailed, codeNotCoordinator},
		{replica.ErrNotEnoughReplicas, codeCoordinatorNotAvail},
		{replica.ErrRequestTimedOut, codeCoordinatorNotAvail},
		{replica.ErrUnknownTopicOrPartition, codeCoordinatorNotAvail},
		{record.ErrTooLarge, codeUnknownServerError},
		{storage.ErrRecordBatchTooLarge, codeUnknownServerError},
		{errTest, codeUnknownServerError},
	} {
		if got := appendErrorCode(tc.err); got != tc.want {
			t.Errorf("appendErrorCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

var errTest = &testError{}

type testError struct{}

func (*testError) Error() string { return "test" }

// TestLoadSkipsBadRecords: records that do not decode, records of other
// group types, keyless records and transactional batches in the topic are
// skipped when loading; the good records around them load.
func TestLoadSkipsBadRecords(t *testing.T) {
	e := newEnv(t, nil)
	good := offsetAndMetadata{offset: 77, leaderEpoch: -1, metadata: "m", commitTimestamp: 1, expireTimestamp: -1}
	b := record.NewBuilder(record.DefaultBuilderOptions())
	b.Add(1, nil, []byte("no key"))
	b.Add(1, []byte{0xff}, []byte("short key"))
	b.Add(1, []byte{0, 9, 0, 1}, nil)                                             // key version 9: another group type
	b.Add(1, offsetCommitKey("g", "t", 0), []byte{0, 3, 1})                       // truncated value
	b.Add(1, offsetCommitKey("g", "t", 1), []byte{0, 99, 0, 0, 0, 0, 0, 0, 0, 0}) // unknown value version
	b.Add(1, groupMetadataKey("g"), []byte{0, 3, 0, 0})                           // truncated group value
	b.Add(1, []byte{0, 2, 0, 5, 'g'}, nil)                                        // truncated group key
	b.Add(1, offsetCommitKey("g", "t", 2), offsetCommitValue(good))
	e.appendRaw(b)
	// A transactional batch: skipped whole (no transactional commits yet).
	tb := record.NewBuilder(record.BuilderOptions{ProducerID: 5, ProducerEpoch: 0, BaseSequence: 0, Transactional: true})
	tb.Add(1, offsetCommitKey("g", "t", 3), offsetCommitValue(good))
	e.appendRaw(tb)
	e.restart()
	got := e.fetch("g")
	if len(got["t"]) != 1 || got["t"][2] != 77 {
		t.Fatalf("loaded %v", got)
	}
}

// appendRaw appends a batch to __consumer_offsets-0 behind the
// coordinator's back.
func (e *env) appendRaw(b *record.Builder) {
	e.t.Helper()
	batch, err := b.Build()
	if err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	e.rm.AppendRecords(-1, time.Second, storage.OriginCoordinator,
		[]replica.AppendRequest{{TP: replica.TopicPartition{Topic: OffsetsTopic, Partition: 0}, Records: batch}},
		func(res []replica.AppendResult) { done <- res[0].Err })
	if err := <-done; err != nil {
		e.t.Fatal(err)
	}
}
