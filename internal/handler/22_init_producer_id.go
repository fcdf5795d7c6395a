package handler

import (
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
)

// InitProducerId (key 22) gives a producer the id and epoch it stamps on
// its batches, which is what makes its retries idempotent: the partition
// leader's producer state (internal/storage) answers a re-sent batch with
// its original offsets instead of appending it twice. Java (since 3.0),
// librdkafka with enable.idempotence and franz-go by default send it
// before their first produce, and use idempotence only when the broker
// advertises this API.
//
// Every version is served: KIP-896 (Kafka 4) left InitProducerId's floor
// at v0. v3 added the current ProducerID/ProducerEpoch (KIP-360), v4 is
// flexible, v5 is the KIP-890 bump.
func init() {
	register(kmsg.InitProducerID.Int16(), 0, -1, serveInitProducerID)
}

// Producer id and epoch values that mean "none", Kafka's
// RecordBatch.NO_PRODUCER_ID and NO_PRODUCER_EPOCH.
const (
	noProducerID    int64 = -1
	noProducerEpoch int16 = -1
)

// defaultTransactionMaxTimeoutMs is transaction.max.timeout.ms's default,
// used when the handler runs without a broker config.
const defaultTransactionMaxTimeoutMs = 900000

// errNoController is returned by the producer id allocator of a handler
// built without a metadata controller.
var errNoController = errors.New("handler: no metadata controller to allocate producer ids")

// serveInitProducerID is Kafka's KafkaApis.handleInitProducerIdRequest
// followed by TransactionCoordinator.handleInitProducerId.
//
// Without a transactional id Kafka accepts the request blindly and returns
// a fresh producer id with epoch 0, whatever ProducerID/ProducerEpoch the
// producer sent: an idempotent producer that bumps its epoch after an
// UNKNOWN_PRODUCER_ID or a sequence error (KIP-360) simply starts over as
// a new producer, and so it does here.
//
// Transactions are not implemented yet. A transactional producer is
// answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED (after Kafka's own
// validation of the id and timeout) because every client treats that code
// as fatal and says so at once: Java's TransactionManager moves to its
// fatal error state, librdkafka raises a fatal error, franz-go fails its
// producer id load and with it every produce. A retriable code (COORDINATOR_NOT_AVAILABLE,
// COORDINATOR_LOAD_IN_PROGRESS) would make them retry until a timeout and
// hide the cause; NOT_COORDINATOR would send them looking for another
// broker. It is also what this broker's Produce answers a transactional
// batch sent without a coordinator.
func serveInitProducerID(h *Handler, c *Context, req *kmsg.InitProducerIDRequest) {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = noProducerID, noProducerEpoch
	fail := func(code int16) {
		resp.ErrorCode = code
		c.respond(resp)
	}

	// KafkaApis: a current producer id without an epoch, or the reverse,
	// is malformed (both -1, the default, means a new producer).
	if (req.ProducerID == noProducerID) != (req.ProducerEpoch == noProducerEpoch) {
		fail(kerr.InvalidRequest.Code)
		return
	}

	if txnID := req.TransactionalID; txnID != nil {
		switch {
		case *txnID == "":
			// Kafka refuses an empty transactional id, as the Java
			// producer does.
			fail(kerr.InvalidRequest.Code)
		case !h.validTransactionTimeout(req.TransactionTimeoutMillis):
			fail(kerr.InvalidTransactionTimeout.Code)
		default:
			h.log.Info("refusing a transactional producer: transactions are not supported yet",
				"transactional_id", *txnID, "client_id", c.ClientID(), "remote", c.Req.Conn.RemoteAddr())
			fail(kerr.TransactionalIDAuthorizationFailed.Code)
		}
		return
	}

	id, err := h.producerIDs.take(h.deps.Controller, h.deps.NodeID)
	if err != nil {
		h.log.Warn("producer id allocation failed", "err", err)
		fail(errorCode(err))
		return
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	c.respond(resp)
}

// validTransactionTimeout is Kafka's
// TransactionStateManager.validateTransactionTimeoutMs: positive and at
// most transaction.max.timeout.ms.
func (h *Handler) validTransactionTimeout(ms int32) bool {
	max := int64(defaultTransactionMaxTimeoutMs)
	if h.deps.Config != nil {
		max = int64(h.deps.Config.Int("transaction.max.timeout.ms"))
	}
	return ms > 0 && int64(ms) <= max
}

// producerIDBlock hands out producer ids from the block this broker took
// from the metadata controller, and takes the next block when it is used
// up, like Kafka's ProducerIdManager on a broker. A block is committed to
// the metadata log before any of its ids is handed out, so no id is ever
// given twice, across restarts too; ids left in a block when the broker
// stops are skipped. The zero value is an exhausted block. It is safe for
// concurrent use.
type producerIDBlock struct {
	mu   sync.Mutex
	next int64 // guarded by mu: the next id to hand out
	end  int64 // guarded by mu: the first id past the block
}

// take returns a fresh producer id, allocating a block of
// metadata.ProducerIDBlockSize ids for node through ctrl when the current
// one is used up. The lock is held across the allocation (one durable
// metadata commit per thousand ids), so concurrent callers wait for the
// new block instead of each taking one.
func (b *producerIDBlock) take(ctrl *metadata.Controller, node int32) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.next >= b.end {
		if ctrl == nil {
			return 0, errNoController
		}
		first, err := ctrl.AllocateProducerIDs(node, metadata.ProducerIDBlockSize)
		if err != nil {
			return 0, fmt.Errorf("allocate producer ids for broker %d: %w", node, err)
		}
		b.next, b.end = first, first+metadata.ProducerIDBlockSize
	}
	id := b.next
	b.next++
	return id, nil
}
