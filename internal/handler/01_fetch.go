package handler

import (
	"errors"
	"math"

	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/fetchsession"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/network"
	"github.com/samsa-streaming/samsa/internal/replica"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// fetchMinVersion is the oldest Fetch this broker serves: v4, the first
// with record batches (magic v2) and isolation levels, as Kafka 4.0.
const fetchMinVersion = 4

// Broker config defaults used when Deps.Config is nil (tests).
const (
	defaultFetchMaxBytes = 57671680 // fetch.max.bytes
)

func init() {
	register(kmsg.Fetch.Int16(), fetchMinVersion, -1, serveFetch)
}

// fetchItem is one partition of a fetch on its way to the response: the
// session's view of it, and either the replica's read or an error found
// before reading.
type fetchItem struct {
	tp   fetchsession.TopicPartition
	code int16 // set for partitions that failed before the read
}

// serveFetch is Kafka's KafkaApis.handleFetchRequest: resolve the
// partitions (by topic ID from v13), apply the fetch session, answer
// partitions that cannot be read (unknown topic ID, topic or partition),
// and hand the rest to the replica manager, which answers now or parks the
// fetch in its purgatory until MinBytes are there or MaxWait passes. The
// response is encoded with the records as file ranges (zero copy).
func serveFetch(h *Handler, c *Context, req *kmsg.FetchRequest) {
	v := c.Version()
	if req.IsolationLevel != replica.ReadUncommitted && req.IsolationLevel != replica.ReadCommitted {
		// Kafka fails to parse such a request (IsolationLevel.forId)
		// and answers it with its generic error response.
		h.respondFetchError(c, req, kerr.InvalidRequest.Code)
		return
	}
	image := h.metadataImage()
	replicaID := req.ReplicaID
	if v >= 15 {
		replicaID = req.ReplicaState.ID
	}
	names := func(id [16]byte) (string, bool) {
		if t := image.TopicByID(metadata.UUID(id)); t != nil {
			return t.Name, true
		}
		return "", false
	}

	sreq := fetchsession.Request{
		Version:    v,
		SessionID:  req.SessionID,
		Epoch:      req.SessionEpoch,
		Privileged: replicaID >= 0,
		Names:      names,
	}
	if v < 7 {
		sreq.SessionID, sreq.Epoch = fetchsession.InvalidSessionID, fetchsession.FinalEpoch
	}
	for i := range req.Topics {
		rt := &req.Topics[i]
		tp := fetchsession.TopicPartition{Topic: rt.Topic}
		if v >= fetchsession.TopicVersion {
			tp = fetchsession.TopicPartition{TopicID: rt.TopicID}
			tp.Topic, _ = names(rt.TopicID)
		}
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			tp.Partition = rp.Partition
			sreq.Partitions = append(sreq.Partitions, fetchsession.Partition{
				TopicPartition:     tp,
				FetchOffset:        rp.FetchOffset,
				LogStartOffset:     rp.LogStartOffset,
				MaxBytes:           rp.PartitionMaxBytes,
				CurrentLeaderEpoch: rp.CurrentLeaderEpoch,
				LastFetchedEpoch:   rp.LastFetchedEpoch,
			})
		}
	}
	if v >= 7 {
		for i := range req.ForgottenTopics {
			ft := &req.ForgottenTopics[i]
			tp := fetchsession.TopicPartition{Topic: ft.Topic}
			if v >= fetchsession.TopicVersion {
				tp = fetchsession.TopicPartition{TopicID: ft.TopicID}
				tp.Topic, _ = names(ft.TopicID)
			}
			for _, p := range ft.Partitions {
				tp.Partition = p
				sreq.Forgotten = append(sreq.Forgotten, tp)
			}
		}
	}

	sctx := h.fetchSessions.NewContext(sreq)
	if err := sctx.Err(); err != nil {
		h.log.Debug("fetch session error", "err", err, "client", c.ClientID())
		resp := &fetchResp{version: v, errorCode: fetchSessionErrorCode(err)}
		h.sendFetch(c, resp)
		return
	}

	// Partitions that cannot be read are answered after the ones read,
	// as Kafka orders them.
	var reads []replica.FetchPartition
	var readItems, failed []fetchItem
	for _, p := range sctx.Partitions() {
		item := fetchItem{tp: p.TopicPartition}
		switch {
		case v >= fetchsession.TopicVersion && p.Topic == "":
			item.code = kerr.UnknownTopicID.Code
		case !imageHasPartition(image, p.Topic, p.Partition):
			item.code = kerr.UnknownTopicOrPartition.Code
		}
		if item.code != 0 {
			failed = append(failed, item)
			continue
		}
		readItems = append(readItems, item)
		read := replica.FetchPartition{
			TP:                 replica.TopicPartition{Topic: p.Topic, Partition: p.Partition},
			FetchOffset:        p.FetchOffset,
			PartitionMaxBytes:  p.MaxBytes,
			CurrentLeaderEpoch: p.CurrentLeaderEpoch,
			LastFetchedEpoch:   p.LastFetchedEpoch,
			LogStartOffset:     p.LogStartOffset,
		}
		if v >= fetchsession.TopicVersion {
			// The name came from the image, which may already describe
			// a re-created topic while the old one's log is still
			// hosted: the replica manager checks the ID (Kafka's
			// readFromLog answers INCONSISTENT_TOPIC_ID on a mismatch).
			read.TopicID = p.TopicID
		}
		reads = append(reads, read)
	}

	finish := func(results []replica.FetchResult) {
		h.completeFetch(c, sctx, readItems, results, failed)
	}
	if len(reads) == 0 || h.deps.Replicas == nil {
		var results []replica.FetchResult
		for _, r := range reads {
			results = append(results, replica.FetchResult{TP: r.TP, Err: replica.ErrNotLeader})
		}
		finish(results)
		return
	}
	maxBytes := min(req.MaxBytes, h.fetchMaxBytes())
	params := replica.FetchParams{
		ReplicaID:      replicaID,
		MaxWait:        time.Duration(max(req.MaxWaitMillis, 0)) * time.Millisecond,
		MinBytes:       min(req.MinBytes, maxBytes),
		MaxBytes:       maxBytes,
		IsolationLevel: req.IsolationLevel,
	}
	h.deps.Replicas.FetchMessages(params, reads, finish)
}

// completeFetch answers the request once the replica manager answered
// (on this goroutine or the purgatory's).
func (h *Handler) completeFetch(c *Context, sctx *fetchsession.Context, readItems []fetchItem, results []replica.FetchResult, failed []fetchItem) {
	listener := ""
	if c.Req.Conn != nil {
		listener = c.Req.Conn.Listener()
	}
	resp := h.buildFetchResponse(c.Version(), listener, c.ClientID(), sctx, readItems, results, failed)
	h.sendFetch(c, resp)
}

// buildFetchResponse builds the response of version v: the partitions
// read (results, for readItems), then the ones that failed before the
// read, filtered by the fetch session. listener is the request's, for the
// leader endpoints of KIP-951.
func (h *Handler) buildFetchResponse(v int16, listener, clientID string, sctx *fetchsession.Context, readItems []fetchItem, results []replica.FetchResult, failed []fetchItem) *fetchResp {
	image := h.metadataImage()
	parts := make([]fetchRespPartition, 0, len(results)+len(failed))
	items := make([]fetchItem, 0, len(results)+len(failed))
	var nodes []fetchRespNode
	for i := range results {
		res := &results[i]
		item := readItems[i]
		p := newFetchRespPartition(item.tp.Partition, h.fetchErrorCode(image, res))
		if p.errorCode == 0 {
			p.highWatermark, p.lastStableOffset, p.logStartOffset = res.HighWatermark, res.LastStableOffset, res.LogStartOffset
			if res.AbortedTxns != nil {
				p.aborted = make([]abortedTxn, len(res.AbortedTxns))
				for j, a := range res.AbortedTxns {
					p.aborted[j] = abortedTxn{producerID: a.ProducerID, firstOffset: a.FirstOffset}
				}
			}
			if res.DivergingEpoch >= 0 {
				p.divergingEpoch = epochEndOffset{epoch: res.DivergingEpoch, endOffset: res.DivergingEndOffset}
			}
			setFetchRecords(&p, res.Records)
		} else if v >= 16 && (p.errorCode == kerr.NotLeaderForPartition.Code || p.errorCode == kerr.FencedLeaderEpoch.Code) {
			// KIP-951: tell the client where the leader went.
			var node *fetchRespNode
			p.currentLeader, node = currentLeader(image, listener, item.tp.Topic, item.tp.Partition)
			if node != nil && !containsNode(nodes, node.id) {
				nodes = append(nodes, *node)
			}
		}
		parts = append(parts, p)
		items = append(items, item)
	}
	for _, item := range failed {
		parts = append(parts, newFetchRespPartition(item.tp.Partition, item.code))
		items = append(items, item)
	}

	sres := make([]fetchsession.Result, len(parts))
	for i := range parts {
		p := &parts[i]
		sres[i] = fetchsession.Result{
			TopicPartition:       items[i].tp,
			Failed:               p.errorCode != 0,
			HighWatermark:        p.highWatermark,
			LastStableOffset:     p.lastStableOffset,
			LogStartOffset:       p.logStartOffset,
			RecordsSize:          p.recordsLen(),
			PreferredReadReplica: p.preferredReadReplica,
			DivergingEpoch:       p.divergingEpoch != noDivergingEpoch,
		}
	}
	sessionID, include, err := sctx.Complete(sres)
	resp := &fetchResp{version: v, sessionID: sessionID, nodes: nodes}
	if err != nil {
		h.log.Info("fetch session error at completion", "err", err, "client", clientID)
		resp.errorCode = fetchSessionErrorCode(err)
		resp.nodes = nil
		return resp
	}
	// Consecutive partitions of one topic share a topic entry, as
	// Kafka's FetchResponse.of groups them.
	for i := range parts {
		if !include[i] {
			continue
		}
		tp := items[i].tp
		if n := len(resp.topics); n == 0 || resp.topics[n-1].name != tp.Topic || resp.topics[n-1].id != tp.TopicID {
			resp.topics = append(resp.topics, fetchRespTopic{name: tp.Topic, id: tp.TopicID})
		}
		t := &resp.topics[len(resp.topics)-1]
		t.parts = append(t.parts, parts[i])
	}
	return resp
}

// setFetchRecords points p's records at the read's file range.
func setFetchRecords(p *fetchRespPartition, rr storage.ReadResult) {
	if rr.Size <= 0 || rr.File == nil || rr.Position < 0 {
		return
	}
	// A record field's length is an int32; a read never spans more
	// than one segment, whose size is an int32 too.
	p.file, p.filePos, p.fileSize = rr.File, rr.Position, min(rr.Size, math.MaxInt32)
}

// sendFetch encodes resp and completes the request with it.
func (h *Handler) sendFetch(c *Context, resp *fetchResp) {
	out, err := encodeFetchResponse(resp, nil)
	if err != nil {
		h.log.Warn("fetch response not encoded", "err", err, "client", c.ClientID())
		_ = c.Req.CloseConnection()
		return
	}
	switch err := c.Req.Respond(out); {
	case err == nil:
	case errors.Is(err, network.ErrConnectionClosed):
		// The client went away while the fetch was parked; the
		// network layer dropped the response and called its Done.
		h.log.Debug("fetch response dropped: connection closed", "client", c.ClientID())
	default:
		// Only a response over 2 GiB gets here, which fetch.max.bytes
		// and the segment size rule out; it was not taken.
		out.Done()
		h.log.Warn("fetch response not sent", "err", err, "client", c.ClientID())
		_ = c.Req.CloseConnection()
	}
}

// respondFetchError answers a request that cannot be served at all as
// Kafka's FetchRequest.getErrorResponse: the error at the top level, and
// before v13 also on every partition of the request.
func (h *Handler) respondFetchError(c *Context, req *kmsg.FetchRequest, code int16) {
	v := c.Version()
	resp := &fetchResp{version: v, errorCode: code}
	if v < fetchsession.TopicVersion {
		for _, rt := range req.Topics {
			t := fetchRespTopic{name: rt.Topic, id: rt.TopicID}
			for _, rp := range rt.Partitions {
				t.parts = append(t.parts, newFetchRespPartition(rp.Partition, code))
			}
			resp.topics = append(resp.topics, t)
		}
	}
	h.sendFetch(c, resp)
}

// fetchErrorCode maps a partition's read error to its Kafka code, with
// the shared mapping; an error it does not know is logged.
func (h *Handler) fetchErrorCode(image *metadata.Image, res *replica.FetchResult) int16 {
	code := partitionErrorCode(image, res.TP, res.Err)
	if code == kerr.UnknownServerError.Code {
		h.log.Warn("fetch read failed", "topic", res.TP.Topic, "partition", res.TP.Partition, "err", res.Err)
	}
	return code
}

// fetchSessionErrorCode maps a fetch session error to its Kafka code.
func fetchSessionErrorCode(err error) int16 {
	switch {
	case errors.Is(err, fetchsession.ErrSessionIDNotFound):
		return kerr.FetchSessionIDNotFound.Code
	case errors.Is(err, fetchsession.ErrInvalidSessionEpoch):
		return kerr.InvalidFetchSessionEpoch.Code
	case errors.Is(err, fetchsession.ErrSessionTopicID):
		return kerr.FetchSessionTopicIDError.Code
	}
	return kerr.UnknownServerError.Code
}

// currentLeader returns the partition's leader and epoch as the image has
// them, and the leader's endpoint on listener (nil if it has none), for
// KIP-951's current_leader and node_endpoints.
func currentLeader(image *metadata.Image, listener, topic string, partition int32) (leaderIDEpoch, *fetchRespNode) {
	p, ok := image.Partition(topic, partition)
	if !ok || p.Leader < 0 {
		return noCurrentLeader, nil
	}
	le := leaderIDEpoch{leaderID: p.Leader, leaderEpoch: p.LeaderEpoch}
	b := image.Broker(p.Leader)
	if b == nil {
		return le, nil
	}
	for _, ep := range b.Endpoints {
		if ep.Listener == listener {
			n := &fetchRespNode{id: b.ID, host: ep.Host, port: int32(ep.Port)}
			if b.Rack != "" {
				rack := b.Rack
				n.rack = &rack
			}
			return le, n
		}
	}
	return le, nil
}

func containsNode(nodes []fetchRespNode, id int32) bool {
	for _, n := range nodes {
		if n.id == id {
			return true
		}
	}
	return false
}

func imageHasPartition(image *metadata.Image, topic string, partition int32) bool {
	_, ok := image.Partition(topic, partition)
	return ok
}

// metadataImage returns the current image, or the empty one when the
// handler has no metadata (tests of other APIs).
func (h *Handler) metadataImage() *metadata.Image {
	if h.deps.Metadata == nil {
		return metadata.EmptyImage()
	}
	return h.deps.Metadata()
}

// fetchMaxBytes is the broker's fetch.max.bytes, which caps every fetch's
// MaxBytes (and so its MinBytes).
func (h *Handler) fetchMaxBytes() int32 {
	if h.deps.Config == nil {
		return defaultFetchMaxBytes
	}
	return h.deps.Config.Int("fetch.max.bytes")
}

// newFetchSessionCache builds the broker's fetch session cache (KIP-227)
// with max.incremental.fetch.session.cache.slots; a configured 0 disables
// incremental sessions (fetchsession's own 0 means its default).
func newFetchSessionCache(cfg *config.BrokerConfig) *fetchsession.Cache {
	slots := fetchsession.DefaultMaxSlots
	if cfg != nil {
		slots = int(cfg.Int("max.incremental.fetch.session.cache.slots"))
		if slots == 0 {
			slots = -1
		}
	}
	return fetchsession.New(fetchsession.Config{MaxSlots: slots})
}
