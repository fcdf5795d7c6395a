package fetchsession

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults, as Kafka's.
const (
	// DefaultMaxSlots is max.incremental.fetch.session.cache.slots.
	DefaultMaxSlots = 1000
	// DefaultShards is Kafka's NumFetchSessionCacheShards.
	DefaultShards = 8
	// DefaultEvictionTime is Kafka's MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS:
	// a session unused that long may be evicted by anyone, and a session
	// must be that old to be evicted for a bigger one.
	DefaultEvictionTime = 120 * time.Second
)

// Config configures a Cache. Zero values take Kafka's defaults, except
// MaxSlots, where a negative value means 0 (no sessions, every fetch is
// full) and 0 means DefaultMaxSlots.
type Config struct {
	// MaxSlots is max.incremental.fetch.session.cache.slots.
	MaxSlots int
	// Shards splits the slots; each shard has its own lock and session
	// id range, and eviction looks only inside the shard a new session
	// goes to. Capped at MaxSlots so that every shard has a slot.
	Shards int
	// EvictionTime: see DefaultEvictionTime.
	EvictionTime time.Duration
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
}

// Cache holds the fetch sessions of a broker. It is safe for concurrent
// use.
type Cache struct {
	shards     []*shard
	idRange    int32 // session ids of shard i lie in [max(1, i*idRange), (i+1)*idRange)
	evictionMs int64
	clock      func() time.Time
	next       atomic.Uint32 // round robin over shards for new sessions
}

// shard owns a disjoint range of session ids and the sessions in it.
type shard struct {
	num      int32
	idRange  int32
	maxSize  int
	evictMs  int64
	mu       sync.Mutex
	sessions map[int32]*session // guarded by mu
	parts    int64              // guarded by mu; cached partitions over all sessions
	evicted  atomic.Int64
}

// New returns an empty Cache.
func New(cfg Config) *Cache {
	slots := cfg.MaxSlots
	switch {
	case slots == 0:
		slots = DefaultMaxSlots
	case slots < 0:
		slots = 0
	}
	n := cfg.Shards
	if n <= 0 {
		n = DefaultShards
	}
	n = max(1, min(n, slots))
	evict := cfg.EvictionTime
	if evict <= 0 {
		evict = DefaultEvictionTime
	}
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	c := &Cache{
		idRange:    int32(math.MaxInt32 / n),
		evictionMs: evict.Milliseconds(),
		clock:      clock,
	}
	// Kafka gives each shard slots/shards and drops the remainder; here
	// the remainder goes to the first shards so that the total is the
	// configured number of slots.
	for i := range n {
		size := slots / n
		if i < slots%n {
			size++
		}
		c.shards = append(c.shards, &shard{
			num: int32(i), idRange: c.idRange, maxSize: size, evictMs: c.evictionMs,
			sessions: make(map[int32]*session),
		})
	}
	return c
}

func (c *Cache) nowMs() int64 { return c.clock().UnixMilli() }

// shardFor returns the shard owning session id, or nil if no shard does.
func (c *Cache) shardFor(id int32) *shard {
	if id <= 0 {
		return nil
	}
	i := id / c.idRange
	if int(i) >= len(c.shards) {
		return nil
	}
	return c.shards[i]
}

// nextShard returns the shard for the next new session, in turn.
func (c *Cache) nextShard() *shard {
	return c.shards[int((c.next.Add(1)-1)%uint32(len(c.shards)))]
}

// Stats are the cache's gauges and counters, as Kafka's
// NumIncrementalFetchSessions, NumIncrementalFetchPartitionsCached and
// IncrementalFetchSessionEvictionsPerSec (as a total).
type Stats struct {
	Sessions   int
	Partitions int64
	Evictions  int64
}

// Stats returns the current figures.
func (c *Cache) Stats() Stats {
	var st Stats
	for _, sh := range c.shards {
		sh.mu.Lock()
		st.Sessions += len(sh.sessions)
		st.Partitions += sh.parts
		sh.mu.Unlock()
		st.Evictions += sh.evicted.Load()
	}
	return st
}

// newIDLocked picks a random unused session id in the shard's range.
func (sh *shard) newIDLocked() int32 {
	lo := max(1, sh.num*sh.idRange)
	hi := (sh.num + 1) * sh.idRange // exclusive; no overflow: (num+1)*idRange <= MaxInt32
	for {
		id := lo + rand.Int32N(hi-lo)
		if _, used := sh.sessions[id]; !used && id != InvalidSessionID {
			return id
		}
	}
}

// createLocked opens a session of size partitions if there is room or
// something can be evicted for it, and returns it (nil if not). Kafka's
// FetchSessionCacheShard.maybeCreateSession. The caller fills the
// session's partitions and then calls touchLocked.
func (sh *shard) createLocked(now int64, privileged, usesIDs bool, size int) *session {
	if len(sh.sessions) >= sh.maxSize && !sh.tryEvictLocked(privileged, size, now) {
		return nil
	}
	s := newSession(sh.newIDLocked(), privileged, usesIDs, now)
	s.inCache = true
	sh.sessions[s.id] = s
	return s
}

// tryEvictLocked evicts one session to make room for a new one, by
// Kafka's rules (see the package documentation), and reports whether it
// did. Sessions are scanned linearly: this runs only when the shard is
// full and a new session is asked for, and keeping ordered indexes up to
// date would cost every incremental fetch instead.
func (sh *shard) tryEvictLocked(privileged bool, size int, now int64) bool {
	var lru *session
	for _, s := range sh.sessions {
		if lru == nil || s.lastUsed < lru.lastUsed || (s.lastUsed == lru.lastUsed && s.id < lru.id) {
			lru = s
		}
	}
	if lru == nil {
		return false
	}
	if now-lru.lastUsed > sh.evictMs {
		sh.removeLocked(lru)
		sh.evicted.Add(1)
		return true
	}
	// The least valuable session this one may evict: ordered by
	// (privileged, size, id), among sessions that were older than the
	// eviction time when last used, or (for a privileged newcomer) any
	// unprivileged session.
	var victim *session
	for _, s := range sh.sessions {
		old := s.lastUsed-s.created > sh.evictMs
		if !(old || (privileged && !s.privileged)) {
			continue
		}
		if victim == nil || lessValuable(s, victim) {
			victim = s
		}
	}
	if victim == nil {
		return false
	}
	// Evict if (privileged, size, 0) >= victim's key: a privileged
	// newcomer beats an unprivileged victim; with equal privilege the
	// newcomer needs strictly more partitions (its id 0 is below any).
	if privileged == victim.privileged {
		if size <= victim.counted {
			return false
		}
	} else if !privileged {
		return false
	}
	sh.removeLocked(victim)
	sh.evicted.Add(1)
	return true
}

// lessValuable orders sessions by (privileged, size, id).
func lessValuable(a, b *session) bool {
	if a.privileged != b.privileged {
		return !a.privileged
	}
	if a.counted != b.counted {
		return a.counted < b.counted
	}
	return a.id < b.id
}

// removeLocked drops s from the shard, if it is there.
func (sh *shard) removeLocked(s *session) {
	if !s.inCache {
		return
	}
	s.inCache = false
	delete(sh.sessions, s.id)
	sh.parts -= int64(s.counted)
	s.counted = 0
}

// touchLocked records a use of s at now, after its partitions changed, as
// Kafka's touch: the session's size as last touched is what eviction
// compares and what the partition gauge counts.
func (sh *shard) touchLocked(s *session, now int64) {
	s.lastUsed = now
	if s.inCache {
		sh.parts += int64(s.size() - s.counted)
		s.counted = s.size()
	}
}
