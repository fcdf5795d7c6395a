package fetchsession

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// This file checks the Cache against a model: the same rules written as
// directly as Kafka states them (slices and linear search, Kafka's
// evictable sets kept as flags set at each touch, its comparison keys
// spelled out), driven by random fetchers. After every step the cache's
// sessions, their epochs, partition order and cached answers must equal
// the model's.

type mPart struct {
	req           Partition
	hw, lso, logS int64
}

type mSession struct {
	id                int32
	priv, ids         bool
	created, lastUsed int64
	epoch             int32
	counted           int
	byPriv, byAll     bool // in Kafka's evictableByPrivileged / evictableByAll
	inCache           bool
	parts             []*mPart
}

type mShard struct {
	max      int
	sessions []*mSession
	parts    int64
}

type model struct {
	shards    []*mShard
	idRange   int32
	next      int
	evictMs   int64
	evictions int64
}

type mCtx struct {
	kind     Kind
	err      error
	ids      bool
	priv     bool
	reqEpoch int32
	parts    []Partition
	shard    *mShard
	sess     *mSession
}

func sameKey(a, b TopicPartition, ids bool) bool {
	if ids {
		return a.TopicID == b.TopicID && a.Partition == b.Partition
	}
	return a.Topic == b.Topic && a.Partition == b.Partition
}

func dedup(parts []Partition, ids bool) []Partition {
	var out []Partition
next:
	for _, p := range parts {
		for i := range out {
			if sameKey(out[i].TopicPartition, p.TopicPartition, ids) {
				out[i] = p
				continue next
			}
		}
		out = append(out, p)
	}
	return out
}

func (m *model) shardOf(id int32) *mShard {
	if id <= 0 || int(id/m.idRange) >= len(m.shards) {
		return nil
	}
	return m.shards[id/m.idRange]
}

func (sh *mShard) find(id int32) *mSession {
	for _, s := range sh.sessions {
		if s.id == id {
			return s
		}
	}
	return nil
}

func (sh *mShard) remove(s *mSession) {
	i := slices.Index(sh.sessions, s)
	if i < 0 {
		return
	}
	sh.sessions = slices.Delete(sh.sessions, i, i+1)
	sh.parts -= int64(s.counted)
	s.inCache = false
}

func (m *model) touch(sh *mShard, s *mSession, now int64) {
	s.lastUsed = now
	if s.inCache {
		sh.parts += int64(len(s.parts) - s.counted)
		s.counted = len(s.parts)
	}
	s.byPriv = !s.priv || now-s.created > m.evictMs
	s.byAll = now-s.created > m.evictMs
}

// compareKeys is Kafka's EvictableKey.compareTo: (privileged, size, id).
func compareKeys(p1 bool, s1 int, id1 int32, p2 bool, s2 int, id2 int32) int {
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	if c := b(p1) - b(p2); c != 0 {
		return c
	}
	if s1 != s2 {
		if s1 < s2 {
			return -1
		}
		return 1
	}
	switch {
	case id1 < id2:
		return -1
	case id1 > id2:
		return 1
	}
	return 0
}

func (m *model) tryEvict(sh *mShard, priv bool, size int, now int64) bool {
	if len(sh.sessions) == 0 {
		return false
	}
	lru := slices.Clone(sh.sessions)
	slices.SortFunc(lru, func(a, b *mSession) int {
		if a.lastUsed != b.lastUsed {
			return int(a.lastUsed - b.lastUsed)
		}
		return int(a.id - b.id)
	})
	if now-lru[0].lastUsed > m.evictMs {
		sh.remove(lru[0])
		m.evictions++
		return true
	}
	var set []*mSession
	for _, s := range sh.sessions {
		if (priv && s.byPriv) || (!priv && s.byAll) {
			set = append(set, s)
		}
	}
	if len(set) == 0 {
		return false
	}
	slices.SortFunc(set, func(a, b *mSession) int {
		return compareKeys(a.priv, a.counted, a.id, b.priv, b.counted, b.id)
	})
	if compareKeys(priv, size, 0, set[0].priv, set[0].counted, set[0].id) < 0 {
		return false
	}
	sh.remove(set[0])
	m.evictions++
	return true
}

func (m *model) newContext(req Request, now int64) *mCtx {
	ctx := &mCtx{ids: req.Version >= 13, priv: req.Privileged, reqEpoch: req.Epoch}
	if req.Epoch == 0 || req.Epoch == -1 {
		if sh := m.shardOf(req.SessionID); sh != nil {
			if s := sh.find(req.SessionID); s != nil {
				sh.remove(s)
			}
		}
		ctx.kind = Full
		if req.Epoch == -1 {
			ctx.kind = Sessionless
		}
		ctx.parts = dedup(req.Partitions, ctx.ids)
		return ctx
	}
	sh := m.shardOf(req.SessionID)
	var s *mSession
	if sh != nil {
		s = sh.find(req.SessionID)
	}
	switch {
	case s == nil:
		ctx.kind, ctx.err = SessionError, ErrSessionIDNotFound
		return ctx
	case s.epoch != req.Epoch:
		ctx.kind, ctx.err = SessionError, ErrInvalidSessionEpoch
		return ctx
	case s.ids != ctx.ids:
		ctx.kind, ctx.err = SessionError, ErrSessionTopicID
		return ctx
	}
	for _, p := range req.Partitions {
		found := false
		for _, mp := range s.parts {
			if sameKey(mp.req.TopicPartition, p.TopicPartition, s.ids) {
				mp.req, found = p, true
				break
			}
		}
		if !found {
			s.parts = append(s.parts, &mPart{req: p, hw: -1, lso: -1, logS: -1})
		}
	}
	for _, tp := range req.Forgotten {
		s.parts = slices.DeleteFunc(s.parts, func(mp *mPart) bool { return sameKey(mp.req.TopicPartition, tp, s.ids) })
	}
	if len(s.parts) == 0 {
		sh.remove(s)
		ctx.kind = Sessionless
		ctx.parts = dedup(req.Partitions, ctx.ids)
		return ctx
	}
	m.touch(sh, s, now)
	s.epoch = NextEpoch(s.epoch)
	ctx.kind, ctx.shard, ctx.sess = Incremental, sh, s
	for _, mp := range s.parts {
		p := mp.req
		if s.ids && req.Names != nil {
			p.Topic, _ = req.Names(p.TopicID)
		}
		ctx.parts = append(ctx.parts, p)
	}
	return ctx
}

// complete mirrors Context.Complete. realID is the id the cache chose for
// a new session; the model checks it rather than predicting it.
func (m *model) complete(ctx *mCtx, results []Result, now int64, realID int32) (int32, []bool, error) {
	all := func() []bool {
		b := make([]bool, len(results))
		for i := range b {
			b[i] = true
		}
		return b
	}
	switch ctx.kind {
	case SessionError:
		return 0, nil, ctx.err
	case Sessionless:
		return 0, all(), nil
	case Full:
		sh := m.shards[m.next%len(m.shards)]
		m.next++
		if len(sh.sessions) >= sh.max && !m.tryEvict(sh, ctx.priv, len(results), now) {
			return 0, all(), nil
		}
		if m.shardOf(realID) != sh || sh.find(realID) != nil {
			return -1, nil, fmt.Errorf("cache chose session id %d, not a free id of shard %d", realID, slices.Index(m.shards, sh))
		}
		s := &mSession{id: realID, priv: ctx.priv, ids: ctx.ids, created: now, epoch: 1, inCache: true}
		for _, r := range results {
			dup := false
			for _, mp := range s.parts {
				dup = dup || sameKey(mp.req.TopicPartition, r.TopicPartition, ctx.ids)
			}
			if dup {
				continue
			}
			req := Partition{TopicPartition: r.TopicPartition, LogStartOffset: -1, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1}
			for _, p := range ctx.parts {
				if sameKey(p.TopicPartition, r.TopicPartition, ctx.ids) {
					req = p
				}
			}
			s.parts = append(s.parts, &mPart{req: req, hw: r.HighWatermark, lso: r.LastStableOffset, logS: r.LogStartOffset})
		}
		sh.sessions = append(sh.sessions, s)
		m.touch(sh, s, now)
		return s.id, all(), nil
	}
	s := ctx.sess
	if s.epoch != NextEpoch(ctx.reqEpoch) {
		return s.id, nil, ErrInvalidSessionEpoch
	}
	inc := make([]bool, len(results))
	for i, r := range results {
		j := slices.IndexFunc(s.parts, func(mp *mPart) bool { return sameKey(mp.req.TopicPartition, r.TopicPartition, s.ids) })
		if j < 0 {
			inc[i] = true
			continue
		}
		mp := s.parts[j]
		must := r.RecordsSize > 0 || r.PreferredReadReplica >= 0 || r.DivergingEpoch || r.Failed ||
			mp.hw != r.HighWatermark || mp.lso != r.LastStableOffset || mp.logS != r.LogStartOffset
		mp.hw, mp.lso, mp.logS = r.HighWatermark, r.LastStableOffset, r.LogStartOffset
		if r.Failed {
			mp.hw = -1
		}
		if must {
			inc[i] = true
			if r.RecordsSize > 0 {
				s.parts = append(slices.Delete(s.parts, j, j+1), mp)
			}
		}
	}
	return s.id, inc, nil
}

// compareState checks that the cache holds exactly the model's sessions.
func compareState(c *Cache, m *model) error {
	for i, sh := range c.shards {
		msh := m.shards[i]
		sh.mu.Lock()
		err := func() error {
			if len(sh.sessions) != len(msh.sessions) || sh.parts != msh.parts || sh.maxSize != msh.max {
				return fmt.Errorf("shard %d: %d sessions %d partitions, model %d sessions %d partitions",
					i, len(sh.sessions), sh.parts, len(msh.sessions), msh.parts)
			}
			for _, ms := range msh.sessions {
				s, ok := sh.sessions[ms.id]
				if !ok {
					return fmt.Errorf("shard %d: session %d missing", i, ms.id)
				}
				if s.epoch != ms.epoch || s.privileged != ms.priv || s.usesIDs != ms.ids || s.created != ms.created ||
					s.lastUsed != ms.lastUsed || s.counted != ms.counted || !s.inCache || s.size() != len(ms.parts) {
					return fmt.Errorf("session %d: epoch %d priv %v ids %v created %d used %d counted %d size %d, model %+v",
						s.id, s.epoch, s.privileged, s.usesIDs, s.created, s.lastUsed, s.counted, s.size(), *ms)
				}
				j := 0
				for cp := s.head; cp != nil; cp = cp.next {
					mp := ms.parts[j]
					if cp.req != mp.req || cp.highWatermark != mp.hw || cp.lastStableOffset != mp.lso || cp.logStartOffset != mp.logS {
						return fmt.Errorf("session %d partition %d: %+v hw %d lso %d log start %d, model %+v",
							s.id, j, cp.req, cp.highWatermark, cp.lastStableOffset, cp.logStartOffset, *mp)
					}
					if s.parts[keyOf(cp.req.TopicPartition, s.usesIDs)] != cp {
						return fmt.Errorf("session %d: index and order disagree", s.id)
					}
					j++
				}
			}
			return nil
		}()
		sh.mu.Unlock()
		if err != nil {
			return err
		}
	}
	if st := c.Stats(); st.Evictions != m.evictions {
		return fmt.Errorf("evictions %d, model %d", st.Evictions, m.evictions)
	}
	return nil
}

func sameErr(a, b error) bool {
	for _, e := range []error{ErrSessionIDNotFound, ErrInvalidSessionEpoch, ErrSessionTopicID} {
		if errors.Is(a, e) != errors.Is(b, e) {
			return false
		}
	}
	return (a == nil) == (b == nil)
}

// byteSource hands out fuzz bytes, then zeros.
type byteSource struct{ b []byte }

func (s *byteSource) next() byte {
	if len(s.b) == 0 {
		return 0
	}
	v := s.b[0]
	s.b = s.b[1:]
	return v
}

func (s *byteSource) n(k int) int { return int(s.next()) % k }

type fetcher struct {
	sid     int32
	epoch   int32
	version int16
	priv    bool
}

type pending struct {
	f    *fetcher
	real *Context
	mod  *mCtx
}

// runSessionScript plays the operations encoded in data against a cache
// and the model and returns the first disagreement.
func runSessionScript(data []byte) error {
	src := &byteSource{b: data}
	clock := newFakeClock()
	slots, shards := 1+src.n(4), 1+src.n(2)
	c := New(Config{MaxSlots: slots, Shards: shards, Clock: clock.Now})
	m := &model{idRange: c.idRange, evictMs: DefaultEvictionTime.Milliseconds()}
	for _, sh := range c.shards {
		m.shards = append(m.shards, &mShard{max: sh.maxSize})
	}
	topics := []struct {
		name string
		id   [16]byte
	}{{"a", [16]byte{1}}, {"b", [16]byte{2}}, {"c", [16]byte{3}}}
	cKnown := true
	names := func(id [16]byte) (string, bool) {
		for _, t := range topics {
			if t.id == id && (t.name != "c" || cKnown) {
				return t.name, true
			}
		}
		return "", false
	}
	tpFor := func(i int, version int16) TopicPartition {
		t := topics[(i/3)%3]
		if version >= 13 {
			n, _ := names(t.id)
			return TopicPartition{TopicID: t.id, Topic: n, Partition: int32(i % 3)}
		}
		return TopicPartition{Topic: t.name, Partition: int32(i % 3)}
	}
	// The partitions' current state, which answers evolve from.
	type truth struct{ hw, lso, logS int64 }
	world := make([]truth, 9)
	fetchers := []*fetcher{{version: 12}, {version: 13}, {version: 13, priv: true}}
	var parked []pending

	finish := func(p pending) error {
		parts := p.real.Partitions()
		if !slices.Equal(parts, p.mod.parts) {
			return fmt.Errorf("partitions %+v, model %+v", parts, p.mod.parts)
		}
		var ok, failed []Result
		for _, pt := range parts {
			ti := int(pt.TopicID[0]) - 1 // topics a, b, c have ids 1, 2, 3
			if pt.TopicID == [16]byte{} {
				ti = int(pt.Topic[0] - 'a')
			}
			w := &world[ti*3+int(pt.Partition)]
			switch src.n(6) {
			case 0:
				w.hw++
			case 1:
				w.lso = w.hw
			case 2:
				w.logS = min(w.logS+1, w.hw)
			}
			r := Result{TopicPartition: pt.TopicPartition, HighWatermark: w.hw, LastStableOffset: w.lso, LogStartOffset: w.logS, PreferredReadReplica: -1}
			if src.n(4) == 0 {
				r.RecordsSize = int64(1 + src.n(100))
			}
			if src.n(16) == 0 {
				r.PreferredReadReplica = 1
			}
			if src.n(16) == 0 {
				r.DivergingEpoch = true
			}
			if (pt.TopicID != [16]byte{} && pt.Topic == "") || src.n(10) == 0 {
				r = Result{TopicPartition: pt.TopicPartition, Failed: true, HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1, PreferredReadReplica: -1}
				failed = append(failed, r)
				continue
			}
			ok = append(ok, r)
		}
		results := append(ok, failed...)
		now := clock.Now().UnixMilli()
		sid, inc, err := p.real.Complete(slices.Clone(results))
		msid, minc, merr := m.complete(p.mod, results, now, sid)
		if msid == -1 {
			return merr
		}
		if sid != msid || !slices.Equal(inc, minc) || !sameErr(err, merr) {
			return fmt.Errorf("%v complete: session %d include %v err %v; model %d %v %v", p.real.Kind(), sid, inc, err, msid, minc, merr)
		}
		f := p.f
		switch {
		case err != nil:
			f.sid, f.epoch = 0, 0
		case p.real.Kind() == Full:
			f.sid, f.epoch = sid, 1
			if sid == 0 {
				f.epoch = 0
			}
		case p.real.Kind() == Sessionless:
			f.sid, f.epoch = 0, 0
		}
		return nil
	}

	for step := 0; len(src.b) > 0; step++ {
		op := src.n(8)
		f := fetchers[src.n(len(fetchers))]
		req := Request{Version: f.version, SessionID: f.sid, Privileged: f.priv, Names: names}
		switch op {
		case 0, 1: // full fetch, opening (op 0) or without (op 1) a session
			req.Epoch = InitialEpoch
			if op == 1 {
				req.Epoch = FinalEpoch
			}
			if src.n(3) == 0 {
				req.SessionID = 0
			}
			for range src.n(5) {
				req.Partitions = append(req.Partitions, Partition{TopicPartition: tpFor(src.n(9), f.version),
					FetchOffset: int64(src.n(50)), LogStartOffset: -1, MaxBytes: int32(src.n(3)), CurrentLeaderEpoch: -1, LastFetchedEpoch: -1})
			}
		case 2, 3, 4: // incremental, sometimes with a wrong epoch, version or id
			req.Epoch = f.epoch
			switch src.n(12) {
			case 0:
				req.Epoch = NextEpoch(f.epoch)
			case 1:
				req.Version = 25 - req.Version // 12 <-> 13
			case 2:
				req.SessionID = int32(src.next())<<20 + 1
			case 3:
				req.SessionID = math.MaxInt32
			}
			if req.Epoch == 0 {
				req.Epoch = 1
			}
			for range src.n(3) {
				req.Partitions = append(req.Partitions, Partition{TopicPartition: tpFor(src.n(9), req.Version),
					FetchOffset: int64(src.n(50)), LogStartOffset: -1, MaxBytes: 7, CurrentLeaderEpoch: -1, LastFetchedEpoch: -1})
			}
			for range src.n(3) {
				req.Forgotten = append(req.Forgotten, tpFor(src.n(9), req.Version))
			}
		case 5:
			clock.Advance([]time.Duration{0, time.Millisecond, time.Second, time.Minute, 2 * time.Minute, 3 * time.Minute}[src.n(6)])
			continue
		case 6:
			cKnown = !cKnown
			continue
		case 7:
			if len(parked) > 0 {
				i := src.n(len(parked))
				p := parked[i]
				parked = slices.Delete(parked, i, i+1)
				if err := finish(p); err != nil {
					return fmt.Errorf("step %d (parked): %w", step, err)
				}
				if err := compareState(c, m); err != nil {
					return fmt.Errorf("step %d (parked): %w", step, err)
				}
			}
			continue
		}
		now := clock.Now().UnixMilli()
		p := pending{f: f, real: c.NewContext(req), mod: m.newContext(req, now)}
		if p.real.Kind() != p.mod.kind || !sameErr(p.real.Err(), p.mod.err) {
			return fmt.Errorf("step %d: %+v: kind %v err %v, model %v %v", step, req, p.real.Kind(), p.real.Err(), p.mod.kind, p.mod.err)
		}
		if p.real.Kind() == Incremental {
			f.epoch = NextEpoch(f.epoch)
		}
		if err := compareState(c, m); err != nil {
			return fmt.Errorf("step %d (new context %+v): %w", step, req, err)
		}
		if len(parked) < 4 && src.n(4) == 0 {
			parked = append(parked, p)
			continue
		}
		if err := finish(p); err != nil {
			return fmt.Errorf("step %d: %w", step, err)
		}
		if err := compareState(c, m); err != nil {
			return fmt.Errorf("step %d (complete): %w", step, err)
		}
	}
	for _, p := range parked {
		if err := finish(p); err != nil {
			return fmt.Errorf("draining: %w", err)
		}
	}
	return compareState(c, m)
}

func FuzzSessionStateMachine(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 0, 0, 0, 0, 2, 1, 2, 3, 0, 2, 0, 0, 0, 2, 0, 0, 0})
	rng := rand.New(rand.NewPCG(1, 2))
	for range 16 {
		b := make([]byte, 64+rng.IntN(1500))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := runSessionScript(data); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSessionStateMachineRandom runs longer random scripts than the seed
// corpus, biased towards the operations that build sessions up.
func TestSessionStateMachineRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 40 {
		b := make([]byte, 6000)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if err := runSessionScript(b); err != nil {
			t.Fatalf("script %d: %v", i, err)
		}
	}
}
