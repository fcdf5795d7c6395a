package handler

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/replica"
	"github.com/samsa-streaming/samsa/internal/storage"
)

func init() {
	// Advertised from v0 although v0-v2 are never served: librdkafka
	// negotiates its produce version and record format from this range
	// and falls back to the v0 message format for compressed batches
	// unless v0 is listed (KAFKA-18659; Kafka 4 advertises 0 too).
	register(kmsg.Produce.Int16(), 0, -1, serveProduce)
}

// produceMinServedVersion is the oldest Produce version served: v3
// introduced the v2 record batch, the only format this broker stores.
const produceMinServedVersion = 3

// adminClientID is Kafka's AdminUtils.ADMIN_CLIENT_ID: requests with this
// client id may append to internal topics.
const adminClientID = "__admin_client"

// Record batch header fields validateProduceRecords reads before the
// record package parses the batch (see internal/record's doc.go).
const (
	batchLengthOffset     = 8  // int32: bytes after this field
	batchMagicOffset      = 16 // int8
	batchAttributesOffset = 21 // int16
	batchHeaderToMagic    = 17 // Kafka's HEADER_SIZE_UP_TO_MAGIC
	minRecordOverhead     = 14 // Kafka's LegacyRecord.RECORD_OVERHEAD_V0: the smallest length field
)

// produceTarget is one partition of a produce request after validation.
type produceTarget struct {
	topic     string
	topicID   [16]byte
	partition int32
	records   []byte // the one batch to append; nil when code is set
	code      int16  // an error found before appending
	msg       string // its error message, if Kafka sends one
}

// serveProduce is Kafka's KafkaApis.handleProduceRequest plus
// ReplicaManager.appendRecords. Every partition is checked in Kafka's
// order: topic known (by name, or by ID from v13), partition known,
// records one v2 batch; internal topics only for the admin client;
// transactional batches only with a transactional id. Valid partitions
// are appended through the replica manager with the request's acks and
// timeout. acks=0 sends nothing back, but still appends; if any partition
// failed, the connection is closed so the producer notices and refreshes
// its metadata, as Kafka does.
func serveProduce(h *Handler, c *Context, req *kmsg.ProduceRequest) {
	v := c.Version()
	if v < produceMinServedVersion {
		// Kafka 4 advertises Produce v0-v2 but closes the connection on
		// them (the request header is refused as unsupported), since their
		// message formats (v0, v1) are gone. Do the same: an old client
		// fails to connect rather than writing data no consumer can read.
		h.log.Info("closing connection: produce versions 0-2 (message format v0/v1) are not supported",
			"version", v, "client_id", c.ClientID(), "remote", c.Req.Conn.RemoteAddr())
		_ = c.Req.CloseConnection()
		return
	}
	im := h.produceImage()

	// Transactional batches need a transactional id (Kafka answers the
	// whole request with TRANSACTIONAL_ID_AUTHORIZATION_FAILED otherwise).
	// With acks=0 Kafka has no error response (getErrorResponse is null)
	// and closes the connection instead: the producer reads no answer to
	// this request, so a response would pass for the next one's.
	if req.TransactionID == nil && hasTransactionalBatch(req) {
		if req.Acks == 0 {
			h.log.Info("closing connection: transactional batch without a transactional id in a produce request with acks=0",
				"client_id", c.ClientID(), "remote", c.Req.Conn.RemoteAddr())
			_ = c.Req.CloseConnection()
			return
		}
		resp := produceErrorResponse(req, kerr.TransactionalIDAuthorizationFailed.Code)
		c.respond(resp)
		return
	}

	// One entry per partition, in request order; a partition named twice
	// keeps its last records, as Kafka's request map does.
	type targetKey struct {
		name      string
		id        [16]byte
		partition int32
	}
	var targets []produceTarget
	index := map[targetKey]int{}
	for _, rt := range req.Topics {
		name, id := rt.Topic, rt.TopicID
		var topic *metadata.Topic
		topicCode := int16(0)
		if v >= 13 {
			if topic = im.TopicByID(metadata.UUID(id)); topic == nil {
				topicCode = kerr.UnknownTopicID.Code
			} else {
				name = topic.Name
			}
		} else if topic = im.Topic(name); topic == nil {
			topicCode = kerr.UnknownTopicOrPartition.Code
		}
		for _, rp := range rt.Partitions {
			t := produceTarget{topic: name, topicID: id, partition: rp.Partition, code: topicCode}
			if t.code == 0 {
				if _, ok := topic.Partition(rp.Partition); !ok {
					t.code = kerr.UnknownTopicOrPartition.Code
				}
			}
			if t.code == 0 {
				t.records, t.code = validateProduceRecords(v, rp.Records)
			}
			if t.code == 0 && isInternalTopic(topic) && c.ClientID() != adminClientID {
				// Kafka's "Cannot append to internal topic" travels in its
				// logs only: the response's error_message stays null.
				t.code, t.records = kerr.InvalidTopicException.Code, nil
			}
			if t.code == 0 && record.Batch(t.records).Attributes().Transactional() {
				// No transaction coordinator yet: the partition cannot
				// have been added to a transaction, which Kafka's
				// verification (KIP-890) answers with INVALID_TXN_STATE.
				t.code, t.records = kerr.InvalidTxnState.Code, nil
				t.msg = "transactions are not supported by this broker yet"
			}
			key := targetKey{name, id, rp.Partition}
			if v < 13 {
				key.id = [16]byte{}
			}
			if i, dup := index[key]; dup {
				targets[i] = t
				continue
			}
			index[key] = len(targets)
			targets = append(targets, t)
		}
	}

	var appends []replica.AppendRequest
	var slots []int
	for i, t := range targets {
		if t.code == 0 {
			ar := replica.AppendRequest{TP: replica.TopicPartition{Topic: t.topic, Partition: t.partition}, Records: t.records}
			if v >= 13 {
				// The name came from the image, which may already describe
				// a re-created topic while the old one's log is still
				// hosted: the replica manager checks the ID (Kafka answers
				// UNKNOWN_TOPIC_ID on a mismatch).
				ar.TopicID = t.topicID
			}
			appends = append(appends, ar)
			slots = append(slots, i)
		}
	}
	finish := func(results []replica.AppendResult) {
		h.finishProduce(c, req, im, targets, slots, results)
	}
	if len(appends) == 0 {
		finish(nil)
		return
	}
	if h.deps.Replicas == nil {
		results := make([]replica.AppendResult, len(appends))
		for i := range results {
			results[i].Err = errNoReplicas
		}
		finish(results)
		return
	}
	timeout := time.Duration(req.TimeoutMillis) * time.Millisecond
	h.deps.Replicas.AppendRecords(req.Acks, timeout, storage.OriginClient, appends, finish)
}

// finishProduce builds and sends the response (or, for acks=0, nothing or
// a closed connection). It runs once, possibly on a purgatory goroutine.
func (h *Handler) finishProduce(c *Context, req *kmsg.ProduceRequest, im *metadata.Image, targets []produceTarget, slots []int, results []replica.AppendResult) {
	v := c.Version()
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	byTopic := map[string]int{}
	brokers := map[int32]bool{}
	failed := false
	ri := 0
	for i, t := range targets {
		p := kmsg.NewProduceResponseTopicPartition()
		p.Partition = t.partition
		p.BaseOffset, p.LogAppendTime, p.LogStartOffset = -1, -1, -1
		if t.code != 0 {
			p.ErrorCode = t.code
			if t.msg != "" {
				p.ErrorMessage = kmsg.StringPtr(t.msg)
			}
		} else {
			for ri < len(slots) && slots[ri] < i {
				ri++
			}
			r := results[ri]
			tp := replica.TopicPartition{Topic: t.topic, Partition: t.partition}
			p.ErrorCode = partitionErrorCode(im, tp, r.Err)
			if r.Err == nil || p.ErrorCode == kerr.RequestTimedOut.Code || p.ErrorCode == kerr.NotEnoughReplicasAfterAppend.Code {
				p.BaseOffset, p.LogAppendTime, p.LogStartOffset = r.BaseOffset, r.LogAppendTimeMs, r.LogStartOffset
			}
			for _, re := range r.RecordErrors {
				e := kmsg.NewProduceResponseTopicPartitionErrorRecord()
				e.RelativeOffset = re.Index
				if re.Message != "" {
					e.ErrorMessage = kmsg.StringPtr(re.Message)
				}
				p.ErrorRecords = append(p.ErrorRecords, e)
			}
			if r.ErrMessage != "" {
				p.ErrorMessage = kmsg.StringPtr(r.ErrMessage)
			}
			if p.ErrorCode == kerr.NotLeaderForPartition.Code && v >= 10 {
				// KIP-951: tell the producer who leads now.
				if ip, ok := im.Partition(t.topic, t.partition); ok {
					p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch = ip.Leader, ip.LeaderEpoch
					if ip.Leader >= 0 && !brokers[ip.Leader] {
						if b, ok := produceBroker(c, im, ip.Leader); ok {
							brokers[ip.Leader] = true
							resp.Brokers = append(resp.Brokers, b)
						}
					}
				}
			}
		}
		if p.ErrorCode != 0 {
			failed = true
		}
		key := t.topic
		if v >= 13 {
			key = string(t.topicID[:])
		}
		ti, ok := byTopic[key]
		if !ok {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic, rt.TopicID = t.topic, t.topicID
			resp.Topics = append(resp.Topics, rt)
			ti = len(resp.Topics) - 1
			byTopic[key] = ti
		}
		resp.Topics[ti].Partitions = append(resp.Topics[ti].Partitions, p)
	}

	if req.Acks == 0 {
		if failed {
			var sum []string
			for _, rt := range resp.Topics {
				for _, p := range rt.Partitions {
					if p.ErrorCode != 0 {
						sum = append(sum, fmt.Sprintf("%s-%d: %s", rt.Topic, p.Partition, kerr.ErrorForCode(p.ErrorCode)))
					}
				}
			}
			h.log.Info("closing connection: error in a produce request with acks=0",
				"client_id", c.ClientID(), "errors", strings.Join(sum, ", "), "remote", c.Req.Conn.RemoteAddr())
			_ = c.Req.CloseConnection()
			return
		}
		_ = c.Req.NoResponse()
		return
	}
	c.respond(resp)
}

// produceBroker returns the leader's endpoint on the request's listener,
// for KIP-951's node_endpoints.
func produceBroker(c *Context, im *metadata.Image, id int32) (kmsg.ProduceResponseBroker, bool) {
	b := im.Broker(id)
	if b == nil || c.Req.Conn == nil {
		return kmsg.ProduceResponseBroker{}, false
	}
	for _, ep := range b.Endpoints {
		if ep.Listener == c.Req.Conn.Listener() {
			out := kmsg.NewProduceResponseBroker()
			out.NodeID, out.Host, out.Port = b.ID, ep.Host, int32(ep.Port)
			if b.Rack != "" {
				out.Rack = kmsg.StringPtr(b.Rack)
			}
			return out, true
		}
	}
	return kmsg.ProduceResponseBroker{}, false
}

// produceErrorResponse answers every partition of req with code (Kafka's
// ProduceRequest.getErrorResponse).
func produceErrorResponse(req *kmsg.ProduceRequest, code int16) *kmsg.ProduceResponse {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range req.Topics {
		t := kmsg.NewProduceResponseTopic()
		t.Topic, t.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			p := kmsg.NewProduceResponseTopicPartition()
			p.Partition, p.ErrorCode = rp.Partition, code
			p.BaseOffset, p.LogAppendTime, p.LogStartOffset = -1, -1, -1
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}

// hasTransactionalBatch is Kafka's RequestUtils.hasTransactionalRecords:
// whether any partition's first batch is transactional.
func hasTransactionalBatch(req *kmsg.ProduceRequest) bool {
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			b := rp.Records
			if len(b) >= batchAttributesOffset+2 && b[batchMagicOffset] == record.CurrentMagic &&
				record.Attributes(binary.BigEndian.Uint16(b[batchAttributesOffset:])).Transactional() {
				return true
			}
		}
	}
	return false
}

// validateProduceRecords is Kafka's ProduceRequest.validateRecords, with
// the batch iteration rules of its ByteBufferLogInputStream: exactly one
// complete magic-2 batch per partition (a trailing incomplete batch is
// ignored and trimmed, as Kafka's log does), no zstd before v7. It returns
// the batch to append, or an error code. Deeper checks (CRC, sizes,
// records) are the log's, through record.Validate.
func validateProduceRecords(version int16, data []byte) ([]byte, int16) {
	first, code, ok := nextProduceBatch(data)
	if code != 0 {
		return nil, code
	}
	if !ok {
		// Kafka: "Produce requests with version N must have at least one
		// record batch per partition".
		return nil, kerr.InvalidRecord.Code
	}
	if first[batchMagicOffset] != record.CurrentMagic {
		return nil, kerr.InvalidRecord.Code
	}
	if len(first) >= batchAttributesOffset+2 && version < 7 &&
		record.Attributes(binary.BigEndian.Uint16(first[batchAttributesOffset:])).Codec() == record.CodecZstd {
		return nil, kerr.UnsupportedCompressionType.Code
	}
	if _, code, ok := nextProduceBatch(data[len(first):]); code != 0 {
		return nil, code
	} else if ok {
		// "... are only allowed to contain exactly one record batch".
		return nil, kerr.InvalidRecord.Code
	}
	return first, 0
}

// nextProduceBatch is Kafka's ByteBufferLogInputStream.nextBatch: no batch
// if fewer than 17 bytes remain or the batch runs past the buffer;
// CORRUPT_MESSAGE if the length field is below the smallest record or the
// magic byte is unknown.
func nextProduceBatch(data []byte) (batch []byte, code int16, ok bool) {
	if len(data) < batchHeaderToMagic {
		return nil, 0, false
	}
	length := int32(binary.BigEndian.Uint32(data[batchLengthOffset:]))
	if length < minRecordOverhead {
		return nil, kerr.CorruptMessage.Code, false
	}
	size := int64(length) + batchLengthOffset + 4
	if size > int64(len(data)) {
		return nil, 0, false
	}
	if m := int8(data[batchMagicOffset]); m < 0 || m > record.CurrentMagic {
		return nil, kerr.CorruptMessage.Code, false
	}
	return data[:size], 0, true
}

// isInternalTopic is Kafka's Topic.isInternal, or a topic the image marks
// internal.
func isInternalTopic(t *metadata.Topic) bool {
	if t == nil {
		return false
	}
	switch t.Name {
	case "__consumer_offsets", "__transaction_state", "__share_group_state":
		return true
	}
	return t.Internal
}

// produceImage returns the current metadata image (never nil).
func (h *Handler) produceImage() *metadata.Image {
	if h.deps.Metadata != nil {
		if im := h.deps.Metadata(); im != nil {
			return im
		}
	}
	return metadata.EmptyImage()
}

// errNoReplicas is what a handler built without a replica manager
// answers with (UNKNOWN_SERVER_ERROR): a wiring bug, not a client error.
var errNoReplicas = errors.New("handler: no replica manager")
