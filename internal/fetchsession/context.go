package fetchsession

import "fmt"

// Request is the session-relevant part of a Fetch request.
type Request struct {
	// Version is the Fetch request version: TopicVersion+ sessions key
	// partitions by topic ID.
	Version int16
	// SessionID and Epoch are the request's session id and epoch;
	// requests older than v7 pass 0 and FinalEpoch.
	SessionID int32
	Epoch     int32
	// Privileged is set for a follower's fetch (replica id >= 0): its
	// sessions are worth more in eviction.
	Privileged bool
	// Partitions are the request's partitions in request order. A
	// partition listed twice counts once, at its first position, with
	// the parameters of its last listing (as Kafka's request map).
	Partitions []Partition
	// Forgotten are the request's forgotten partitions (v7+).
	Forgotten []TopicPartition
	// Names resolves a topic ID to its current name, false if the broker
	// does not know it. It is used for the cached partitions of an
	// incremental fetch in a TopicVersion+ session; nil keeps the names
	// the session cached.
	Names func(id [16]byte) (string, bool)
}

// Kind says how a request is served.
type Kind uint8

// The kinds of Context (Kafka's FetchContext implementations).
const (
	// Sessionless: a full fetch without a session (epoch -1, or pre-v7,
	// or an incremental fetch that forgot every partition).
	Sessionless Kind = iota
	// Full: a full fetch that opens a session when it completes.
	Full
	// Incremental: a fetch in an existing session.
	Incremental
	// SessionError: the request is answered with Err and no partitions.
	SessionError
)

func (k Kind) String() string {
	switch k {
	case Sessionless:
		return "sessionless"
	case Full:
		return "full"
	case Incremental:
		return "incremental"
	case SessionError:
		return "session error"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Context is one Fetch request's view of its session: which partitions to
// fetch, and, once fetched, which to answer with and what session id to
// report. It belongs to its request: NewContext, then Partitions, then
// Complete exactly once, possibly on another goroutine.
type Context struct {
	cache      *Cache
	kind       Kind
	err        error
	usesIDs    bool
	privileged bool
	reqEpoch   int32
	parts      []Partition
	reqIdx     map[key]int // Full: index in parts by key

	sh   *shard   // Incremental
	sess *session // Incremental
}

// NewContext applies req to the cache, as Kafka's FetchManager.newContext:
// a full fetch closes the session it names; an incremental fetch is
// checked against its session, whose cached partitions it then updates.
func (c *Cache) NewContext(req Request) *Context {
	ctx := &Context{
		cache:      c,
		usesIDs:    req.Version >= TopicVersion,
		privileged: req.Privileged,
		reqEpoch:   req.Epoch,
	}
	if req.Epoch == InitialEpoch || req.Epoch == FinalEpoch {
		if sh := c.shardFor(req.SessionID); sh != nil {
			sh.mu.Lock()
			if s, ok := sh.sessions[req.SessionID]; ok {
				sh.removeLocked(s)
			}
			sh.mu.Unlock()
		}
		ctx.kind = Full
		if req.Epoch == FinalEpoch {
			ctx.kind = Sessionless
		}
		ctx.setRequestPartitions(req.Partitions)
		return ctx
	}
	sh := c.shardFor(req.SessionID)
	if sh == nil {
		ctx.kind, ctx.err = SessionError, ErrSessionIDNotFound
		return ctx
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s, ok := sh.sessions[req.SessionID]
	switch {
	case !ok:
		ctx.kind, ctx.err = SessionError, ErrSessionIDNotFound
		return ctx
	case s.epoch != req.Epoch:
		ctx.kind = SessionError
		ctx.err = fmt.Errorf("%w: session %d is at epoch %d, request has %d", ErrInvalidSessionEpoch, s.id, s.epoch, req.Epoch)
		return ctx
	case s.usesIDs != ctx.usesIDs:
		ctx.kind = SessionError
		ctx.err = fmt.Errorf("%w: session %d uses topic ids: %v, request version %d", ErrSessionTopicID, s.id, s.usesIDs, req.Version)
		return ctx
	}
	s.update(req.Partitions, req.Forgotten)
	if s.size() == 0 {
		sh.removeLocked(s)
		ctx.kind = Sessionless
		ctx.setRequestPartitions(req.Partitions)
		return ctx
	}
	sh.touchLocked(s, c.nowMs())
	s.epoch = NextEpoch(s.epoch)
	ctx.kind, ctx.sh, ctx.sess = Incremental, sh, s
	ctx.parts = make([]Partition, 0, s.size())
	for cp := s.head; cp != nil; cp = cp.next {
		p := cp.req
		if s.usesIDs && req.Names != nil {
			p.Topic, _ = req.Names(p.TopicID) // "" when unknown
		}
		ctx.parts = append(ctx.parts, p)
	}
	return ctx
}

// setRequestPartitions keeps the request's partitions, deduplicated as
// Kafka's request map: first position, last parameters.
func (ctx *Context) setRequestPartitions(parts []Partition) {
	ctx.parts = make([]Partition, 0, len(parts))
	ctx.reqIdx = make(map[key]int, len(parts))
	for _, p := range parts {
		k := keyOf(p.TopicPartition, ctx.usesIDs)
		if i, ok := ctx.reqIdx[k]; ok {
			ctx.parts[i] = p
			continue
		}
		ctx.reqIdx[k] = len(ctx.parts)
		ctx.parts = append(ctx.parts, p)
	}
}

// Kind returns how the request is served.
func (ctx *Context) Kind() Kind { return ctx.kind }

// Err returns the session error the request must be answered with (and no
// partitions), or nil.
func (ctx *Context) Err() error { return ctx.err }

// Partitions returns the partitions to fetch, in order: the request's
// (deduplicated) for sessionless and full fetches, the session's for an
// incremental one (the request's changes applied; partitions that returned
// records last time at the back); none on a session error. For topic-ID
// sessions Topic is the name the ID resolves to now, "" if unknown. The
// slice is the Context's; the caller must not modify it.
func (ctx *Context) Partitions() []Partition { return ctx.parts }

// Complete records what the fetch answered and returns the session id to
// answer with, which results the response carries (include[i] for
// results[i]), and a session error (then the response carries no
// partitions and include is nil). results are the partitions answered,
// in response order, each being one of Partitions (Kafka puts the
// partitions that failed before being read, such as an unknown topic,
// after the ones read).
//
// A full fetch opens its session here, with the results as its partitions
// and what they told the fetcher; if the cache has no room the session id
// is 0. An incremental fetch leaves out the partitions with nothing new,
// and fails with ErrInvalidSessionEpoch if another request of the session
// was accepted since this one (a duplicate).
func (ctx *Context) Complete(results []Result) (sessionID int32, include []bool, err error) {
	switch ctx.kind {
	case SessionError:
		return InvalidSessionID, nil, ctx.err
	case Sessionless:
		return InvalidSessionID, allTrue(len(results)), nil
	case Full:
		return ctx.completeFull(results), allTrue(len(results)), nil
	}
	sh, s := ctx.sh, ctx.sess
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if want := NextEpoch(ctx.reqEpoch); s.epoch != want {
		return s.id, nil, fmt.Errorf("%w: session %d moved to epoch %d, expected %d; a duplicate request?", ErrInvalidSessionEpoch, s.id, s.epoch, want)
	}
	include = make([]bool, len(results))
	for i := range results {
		res := &results[i]
		cp, ok := s.parts[keyOf(res.TopicPartition, s.usesIDs)]
		if !ok {
			include[i] = true
			continue
		}
		if !cp.mustRespond(res, true) {
			continue
		}
		include[i] = true
		if res.RecordsSize > 0 {
			s.unlink(cp)
			s.pushBack(cp)
		}
	}
	return s.id, include, nil
}

// completeFull opens the session of a full fetch (Kafka's
// FullFetchContext.updateAndGenerateResponseData).
func (ctx *Context) completeFull(results []Result) int32 {
	c := ctx.cache
	sh := c.nextShard()
	now := c.nowMs()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s := sh.createLocked(now, ctx.privileged, ctx.usesIDs, len(results))
	if s == nil {
		return InvalidSessionID
	}
	for i := range results {
		res := &results[i]
		k := keyOf(res.TopicPartition, ctx.usesIDs)
		if _, dup := s.parts[k]; dup {
			continue
		}
		req := Partition{TopicPartition: res.TopicPartition, LogStartOffset: -1, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1}
		if j, ok := ctx.reqIdx[k]; ok {
			req = ctx.parts[j]
		}
		cp := s.add(k, req)
		cp.highWatermark = res.HighWatermark
		cp.lastStableOffset = res.LastStableOffset
		cp.logStartOffset = res.LogStartOffset
	}
	sh.touchLocked(s, now)
	return s.id
}

func allTrue(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}
