package handler

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/replica"
)

func initProducerID(t *testing.T, b *testBroker, v int16, edit func(*kmsg.InitProducerIDRequest)) *kmsg.InitProducerIDResponse {
	t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.Version = v
	req.TransactionTimeoutMillis = 60000
	if edit != nil {
		edit(req)
	}
	return b.raw(t, req).(*kmsg.InitProducerIDResponse)
}

// TestInitProducerIDEveryVersion asks for a producer id at every version
// and gets a distinct one with epoch 0 each time, from the block the
// controller committed for this broker.
func TestInitProducerIDEveryVersion(t *testing.T) {
	b := startBroker(t)
	seen := map[int64]bool{}
	for v := int16(0); v <= new(kmsg.InitProducerIDRequest).MaxVersion(); v++ {
		resp := initProducerID(t, b, v, nil)
		if resp.ErrorCode != 0 || resp.ProducerID < 0 || resp.ProducerEpoch != 0 {
			t.Fatalf("v%d: %v id %d epoch %d", v, kerr.ErrorForCode(resp.ErrorCode), resp.ProducerID, resp.ProducerEpoch)
		}
		if seen[resp.ProducerID] {
			t.Fatalf("v%d: producer id %d handed out twice", v, resp.ProducerID)
		}
		seen[resp.ProducerID] = true
	}
	if got := b.Controller.Image().NextProducerID(); got != metadata.ProducerIDBlockSize {
		t.Fatalf("controller's next producer id %d, want one block taken", got)
	}
}

// TestInitProducerIDEpochBump is KIP-360 without a transactional id: Kafka
// answers a producer that sends its current id and epoch with a new id at
// epoch 0; an id without an epoch (or the reverse) is INVALID_REQUEST.
func TestInitProducerIDEpochBump(t *testing.T) {
	b := startBroker(t)
	first := initProducerID(t, b, 3, nil)
	for v := int16(3); v <= new(kmsg.InitProducerIDRequest).MaxVersion(); v++ {
		resp := initProducerID(t, b, v, func(r *kmsg.InitProducerIDRequest) {
			r.ProducerID, r.ProducerEpoch = first.ProducerID, 0
		})
		if resp.ErrorCode != 0 || resp.ProducerID == first.ProducerID || resp.ProducerID < 0 || resp.ProducerEpoch != 0 {
			t.Fatalf("v%d bump: %v id %d epoch %d", v, kerr.ErrorForCode(resp.ErrorCode), resp.ProducerID, resp.ProducerEpoch)
		}
		for _, bad := range []struct {
			id    int64
			epoch int16
		}{{first.ProducerID, -1}, {-1, 0}} {
			resp := initProducerID(t, b, v, func(r *kmsg.InitProducerIDRequest) { r.ProducerID, r.ProducerEpoch = bad.id, bad.epoch })
			if resp.ErrorCode != kerr.InvalidRequest.Code || resp.ProducerID != -1 || resp.ProducerEpoch != -1 {
				t.Fatalf("v%d id %d epoch %d: %v id %d epoch %d", v, bad.id, bad.epoch,
					kerr.ErrorForCode(resp.ErrorCode), resp.ProducerID, resp.ProducerEpoch)
			}
		}
	}
}

// TestInitProducerIDTransactional checks Kafka's validation of a
// transactional id and timeout, then the fatal refusal that stands in for
// transactions until they are implemented.
func TestInitProducerIDTransactional(t *testing.T) {
	b := startBroker(t, func(o *brokerOptions) {
		o.Props = map[string]string{"transaction.max.timeout.ms": "120000"}
	})
	cases := []struct {
		name    string
		id      string
		timeout int32
		want    *kerr.Error
	}{
		{"empty id", "", 60000, kerr.InvalidRequest},
		{"zero timeout", "tx", 0, kerr.InvalidTransactionTimeout},
		{"negative timeout", "tx", -5, kerr.InvalidTransactionTimeout},
		{"timeout above transaction.max.timeout.ms", "tx", 120001, kerr.InvalidTransactionTimeout},
		{"valid", "tx", 120000, kerr.TransactionalIDAuthorizationFailed},
	}
	for v := int16(0); v <= new(kmsg.InitProducerIDRequest).MaxVersion(); v++ {
		for _, tc := range cases {
			resp := initProducerID(t, b, v, func(r *kmsg.InitProducerIDRequest) {
				r.TransactionalID, r.TransactionTimeoutMillis = kmsg.StringPtr(tc.id), tc.timeout
			})
			if resp.ErrorCode != tc.want.Code || resp.ProducerID != -1 || resp.ProducerEpoch != -1 {
				t.Fatalf("v%d %s: %v id %d epoch %d, want %v", v, tc.name,
					kerr.ErrorForCode(resp.ErrorCode), resp.ProducerID, resp.ProducerEpoch, tc.want)
			}
		}
	}
	if got := b.Controller.Image().NextProducerID(); got != 0 {
		t.Fatalf("a refused transactional producer took producer ids (next %d)", got)
	}
}

// TestProducerIDBlocks crosses a block boundary and allocates from many
// goroutines: every id is distinct, and each new block comes from the
// controller after the last one.
func TestProducerIDBlocks(t *testing.T) {
	b := startBroker(t)
	var blk producerIDBlock
	const workers, each = 4, 600
	ids := make(chan int64, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				id, err := blk.take(b.Controller, b.NodeID)
				if err != nil {
					t.Error(err)
					return
				}
				ids <- id
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	for id := range ids {
		if seen[id] || id < 0 || id >= 3*metadata.ProducerIDBlockSize {
			t.Fatalf("id %d repeated or outside the first three blocks", id)
		}
		seen[id] = true
	}
	if len(seen) != workers*each {
		t.Fatalf("%d ids", len(seen))
	}
	if got := b.Controller.Image().NextProducerID(); got != 3*metadata.ProducerIDBlockSize {
		t.Fatalf("next producer id %d, want three blocks taken", got)
	}
	// The handler's own allocator takes the block after those.
	if resp := initProducerID(t, b, 5, nil); resp.ProducerID != 3*metadata.ProducerIDBlockSize {
		t.Fatalf("handler's first id %d", resp.ProducerID)
	}
	var none producerIDBlock
	if _, err := none.take(nil, 1); err == nil {
		t.Fatal("allocation without a controller succeeded")
	}
}

// TestIdempotentProduceFranzGo produces with franz-go's defaults, which
// are idempotent once the broker advertises InitProducerId: every batch
// in the log carries the producer id the broker handed out.
func TestIdempotentProduceFranzGo(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "t", 1, nil)
	cl := b.client(t, kgo.DefaultProduceTopic("t"), kgo.ProducerLinger(0))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n = 50
	for i := range n {
		if err := cl.ProduceSync(ctx, kgo.StringRecord(strconv.Itoa(i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	buf := logBytes(t, b, "t", 0, 0)
	var records int32
	nextSeq := int32(0)
	for len(buf) > 0 {
		batch, err := record.Peek(buf)
		if err != nil {
			t.Fatal(err)
		}
		if batch.ProducerID() < 0 || batch.ProducerID() >= metadata.ProducerIDBlockSize || batch.ProducerEpoch() != 0 {
			t.Fatalf("batch at %d: producer id %d epoch %d, want an allocated id at epoch 0",
				batch.BaseOffset(), batch.ProducerID(), batch.ProducerEpoch())
		}
		if batch.BaseSequence() != nextSeq {
			t.Fatalf("batch at %d: sequence %d, want %d", batch.BaseOffset(), batch.BaseSequence(), nextSeq)
		}
		nextSeq += batch.NumRecords()
		records += batch.NumRecords()
		buf = buf[batch.Size():]
	}
	if records != n {
		t.Fatalf("%d records in the log, want %d", records, n)
	}
}

// TestIdempotentRetryDuplicate plays a producer whose acknowledgement was
// lost: it sends the very same batch bytes again, with the same producer
// id, epoch and sequence. The retry is answered with the original base
// offset and the log holds one copy.
func TestIdempotentRetryDuplicate(t *testing.T) {
	b := startBroker(t)
	b.createTopic(t, "t", 1, nil)
	appendValues(t, b, "t", 0, "before") // so the idempotent batch is not at offset 0

	pid := initProducerID(t, b, 5, nil)
	if pid.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(pid.ErrorCode))
	}
	opts := record.DefaultBuilderOptions()
	opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence = pid.ProducerID, pid.ProducerEpoch, 0
	batch := produceBatch(t, opts, time.Now().UnixMilli(), "a", "b", "c")

	first := producePartition(t, b.raw(t, produceReq(9, -1, "t", map[int32][]byte{0: batch})), 0, 0)
	if first.ErrorCode != 0 || first.BaseOffset != 1 {
		t.Fatalf("first send: %v at %d", kerr.ErrorForCode(first.ErrorCode), first.BaseOffset)
	}
	for _, v := range []int16{9, 11} {
		retry := producePartition(t, b.raw(t, produceReq(v, -1, "t", map[int32][]byte{0: batch})), 0, 0)
		if retry.ErrorCode != 0 || retry.BaseOffset != first.BaseOffset {
			t.Fatalf("v%d retry: %v at %d, want success at %d", v, kerr.ErrorForCode(retry.ErrorCode), retry.BaseOffset, first.BaseOffset)
		}
	}
	p, _ := b.Replicas.Partition(replica.TopicPartition{Topic: "t", Partition: 0})
	if leo := p.LogEndOffset(); leo != 4 {
		t.Fatalf("log end offset %d, want 4 (one copy of the batch)", leo)
	}
	buf := logBytes(t, b, "t", 0, 1)
	got, err := record.Peek(buf)
	if err != nil || got.Size() != len(buf) || got.ProducerID() != pid.ProducerID {
		t.Fatalf("log after the retries: %d bytes, batch of %d, producer %d, %v", len(buf), got.Size(), got.ProducerID(), err)
	}
}
