package fetchsession

import "errors"

// Session errors, returned by Context.Err and Context.Complete. The Fetch
// handler maps them to the Kafka error codes of the same names.
var (
	// ErrSessionIDNotFound is FETCH_SESSION_ID_NOT_FOUND.
	ErrSessionIDNotFound = errors.New("fetchsession: fetch session id not found")
	// ErrInvalidSessionEpoch is INVALID_FETCH_SESSION_EPOCH.
	ErrInvalidSessionEpoch = errors.New("fetchsession: invalid fetch session epoch")
	// ErrSessionTopicID is FETCH_SESSION_TOPIC_ID_ERROR.
	ErrSessionTopicID = errors.New("fetchsession: fetch session topic id mismatch")
)

// Session ids and epochs with a meaning of their own (Kafka's
// FetchMetadata constants).
const (
	// InvalidSessionID is "no session", in requests and responses.
	InvalidSessionID int32 = 0
	// InitialEpoch asks for a full fetch that opens a session.
	InitialEpoch int32 = 0
	// FinalEpoch asks for a full fetch without a session (closing one
	// if the session id is set).
	FinalEpoch int32 = -1
)

// NextEpoch returns the epoch that follows e, as Kafka's
// FetchMetadata.nextEpoch: negative epochs stay final, MaxInt32 wraps to 1
// (never back to the initial epoch 0).
func NextEpoch(e int32) int32 {
	switch {
	case e < 0:
		return FinalEpoch
	case e == 1<<31-1:
		return 1
	default:
		return e + 1
	}
}

// TopicVersion is the first Fetch version whose requests and responses
// name topics by ID instead of by name.
const TopicVersion = 13

// TopicPartition identifies a partition of a fetch. Requests of
// TopicVersion and later identify topics by TopicID, with Topic the name
// the broker resolved for it ("" when the ID is unknown); older requests
// identify them by Topic, with a zero TopicID.
type TopicPartition struct {
	TopicID   [16]byte
	Topic     string
	Partition int32
}

// Partition is one partition of a fetch and its fetch parameters, as the
// request states them (or as a session remembers them).
type Partition struct {
	TopicPartition
	FetchOffset        int64
	LogStartOffset     int64 // the fetcher's own log start offset (followers); -1 for consumers
	MaxBytes           int32 // partition max bytes
	CurrentLeaderEpoch int32 // -1: not checked
	LastFetchedEpoch   int32 // -1: none
}

// Result is what a fetch answered for one partition: the facts a session
// compares with what it told the fetcher last time.
type Result struct {
	TopicPartition
	// Failed is set when the partition's answer carries an error code.
	Failed           bool
	HighWatermark    int64
	LastStableOffset int64
	LogStartOffset   int64
	// RecordsSize is the size of the records returned.
	RecordsSize int64
	// PreferredReadReplica is -1 when the broker names none.
	PreferredReadReplica int32
	// DivergingEpoch is set when the answer carries a diverging epoch
	// (the fetcher must truncate).
	DivergingEpoch bool
}

// key identifies a partition inside a session: by topic ID in sessions of
// TopicVersion+ requests, by name in older ones.
type key struct {
	id        [16]byte
	topic     string
	partition int32
}

func keyOf(tp TopicPartition, usesIDs bool) key {
	if usesIDs {
		return key{id: tp.TopicID, partition: tp.Partition}
	}
	return key{topic: tp.Topic, partition: tp.Partition}
}

// cachedPartition is a partition of a session: the last request
// parameters and the last answer sent. Owned by its session's shard lock.
type cachedPartition struct {
	req              Partition
	highWatermark    int64 // -1: unknown (or the last answer was an error)
	lastStableOffset int64
	logStartOffset   int64 // the local log's, as last sent

	prev, next *cachedPartition // session order
}

// mustRespond reports whether res must be in an incremental response
// compared with what cp says was sent before, and with update set records
// res as sent. Kafka's CachedPartition.maybeUpdateResponseData, plus the
// last stable offset.
func (cp *cachedPartition) mustRespond(res *Result, update bool) bool {
	must := res.RecordsSize > 0 || res.PreferredReadReplica >= 0 || res.DivergingEpoch
	if cp.highWatermark != res.HighWatermark {
		must = true
		if update {
			cp.highWatermark = res.HighWatermark
		}
	}
	if cp.lastStableOffset != res.LastStableOffset {
		must = true
		if update {
			cp.lastStableOffset = res.LastStableOffset
		}
	}
	if cp.logStartOffset != res.LogStartOffset {
		must = true
		if update {
			cp.logStartOffset = res.LogStartOffset
		}
	}
	if res.Failed {
		// Sent again once the error goes away: no real high
		// watermark is -1.
		must = true
		if update {
			cp.highWatermark = -1
		}
	}
	return must
}

// session is one fetch session. Every field but id, privileged, usesIDs
// and created is guarded by its shard's mu.
type session struct {
	id         int32
	privileged bool // opened by a follower
	usesIDs    bool // keyed by topic ID (opened by a TopicVersion+ request)
	created    int64
	lastUsed   int64
	epoch      int32
	inCache    bool
	counted    int // size as of the last touch, counted in the shard's parts

	parts      map[key]*cachedPartition
	head, tail *cachedPartition // order for the next fetch
}

func newSession(id int32, privileged, usesIDs bool, now int64) *session {
	return &session{
		id: id, privileged: privileged, usesIDs: usesIDs,
		created: now, lastUsed: now, epoch: NextEpoch(InitialEpoch),
		parts: make(map[key]*cachedPartition),
	}
}

func (s *session) size() int { return len(s.parts) }

// pushBack appends cp to the session order.
func (s *session) pushBack(cp *cachedPartition) {
	cp.prev, cp.next = s.tail, nil
	if s.tail != nil {
		s.tail.next = cp
	} else {
		s.head = cp
	}
	s.tail = cp
}

// unlink removes cp from the session order.
func (s *session) unlink(cp *cachedPartition) {
	if cp.prev != nil {
		cp.prev.next = cp.next
	} else {
		s.head = cp.next
	}
	if cp.next != nil {
		cp.next.prev = cp.prev
	} else {
		s.tail = cp.prev
	}
	cp.prev, cp.next = nil, nil
}

// add caches p at the back, with nothing sent yet.
func (s *session) add(k key, p Partition) *cachedPartition {
	cp := &cachedPartition{req: p, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1}
	s.parts[k] = cp
	s.pushBack(cp)
	return cp
}

// update applies an incremental request: partitions listed are added (at
// the back) or have their parameters replaced in place, then forgotten
// ones are dropped. Kafka's FetchSession.update.
func (s *session) update(parts []Partition, forgotten []TopicPartition) {
	for _, p := range parts {
		k := keyOf(p.TopicPartition, s.usesIDs)
		if cp, ok := s.parts[k]; ok {
			cp.req = p
			continue
		}
		s.add(k, p)
	}
	for _, tp := range forgotten {
		k := keyOf(tp, s.usesIDs)
		if cp, ok := s.parts[k]; ok {
			s.unlink(cp)
			delete(s.parts, k)
		}
	}
}
