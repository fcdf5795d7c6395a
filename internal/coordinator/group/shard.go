package group

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/purgatory"
	"github.com/samsa-streaming/samsa/internal/record"
	"github.com/samsa-streaming/samsa/internal/replica"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// Shard life: loading (replaying the partition), active (serving), stopped.
const (
	shardLoading int32 = iota
	shardActive
	shardStopped
)

// event is one unit of work for a shard's goroutine. abort, if set, is
// called instead of run when the shard stops before running it, so that
// whoever waits on the event still gets exactly one answer.
type event struct {
	run   func()
	abort func()
}

// shard owns the groups and offsets of one __consumer_offsets partition
// (Kafka's GroupCoordinatorShard). All of its state below the line is
// owned by its goroutine (run): requests, append completions and timer
// expiries reach it as events, so nothing in it needs a lock.
type shard struct {
	c         *Coordinator
	partition int32
	tp        replica.TopicPartition
	log       *slog.Logger
	epoch     atomic.Int32
	state     atomic.Int32
	prev      <-chan struct{} // done of the previous shard of this partition, or nil

	mu       sync.Mutex
	queue    []event // guarded by mu
	stopping bool    // guarded by mu
	wake     chan struct{}
	done     chan struct{} // closed when run returns

	// --- owned by the shard goroutine ---
	groups map[string]*classicGroup
	// consumer holds the KIP-848 consumer groups. A group id is in at
	// most one of groups and consumer; offsets are shared.
	consumer map[string]*consumerGroup
	offsets  map[string]map[string]map[int32]offsetAndMetadata // group -> topic -> partition
	timers   map[string]*purgatory.Task                        // keyed deadlines (Kafka's CoordinatorTimer)
	pending  map[offsetKey]*pendingCommit                      // offset commits whose append is in flight
	// commitSeq numbers offset commits in the order they were appended.
	commitSeq uint64
	loadMsg   bool // "partition not hosted yet" already logged
	// deletedTopics holds topic deletions (OnTopicsDeleted) that arrived
	// while the partition was loading, applied once it is loaded.
	deletedTopics []map[string]bool
}

func newShard(c *Coordinator, partition, epoch int32, prev <-chan struct{}) *shard {
	s := &shard{
		c:         c,
		partition: partition,
		tp:        replica.TopicPartition{Topic: OffsetsTopic, Partition: partition},
		log:       c.log.With("partition", partition),
		prev:      prev,
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		groups:    map[string]*classicGroup{},
		consumer:  map[string]*consumerGroup{},
		offsets:   map[string]map[string]map[int32]offsetAndMetadata{},
		timers:    map[string]*purgatory.Task{},
		pending:   map[offsetKey]*pendingCommit{},
	}
	s.epoch.Store(epoch)
	s.state.Store(shardLoading)
	return s
}

// usable returns s if it is serving, else the code to answer with.
func (s *shard) usable() (*shard, int16) {
	if s == nil {
		return nil, codeNotCoordinator
	}
	switch s.state.Load() {
	case shardActive:
		return s, 0
	case shardLoading:
		return nil, codeLoadInProgress
	}
	return nil, codeNotCoordinator
}

// post queues ev for the shard goroutine. If the shard is stopping, ev is
// aborted at once on the caller's goroutine. post never blocks, so a
// timer task or an append callback can call it from anywhere, including
// the shard goroutine itself.
func (s *shard) post(ev event) {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		if ev.abort != nil {
			ev.abort()
		}
		return
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// stop makes the shard stop: events still queued are aborted and parked
// requests answered NOT_COORDINATOR by the shard goroutine, which then
// exits. It does not wait.
func (s *shard) stop() {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	s.state.Store(shardStopped)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *shard) isStopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopping
}

// run is the shard goroutine: load the partition, then serve events until
// stopped.
func (s *shard) run() {
	defer s.c.wg.Done()
	defer close(s.done)
	if s.prev != nil {
		<-s.prev
	}
	s.post(event{run: s.load})
	var batch []event
	for range s.wake {
		s.mu.Lock()
		batch, s.queue = s.queue, batch[:0]
		stopping := s.stopping
		s.mu.Unlock()
		for i, ev := range batch {
			if stopping || s.isStopping() {
				abortAll(batch[i:])
				break
			}
			ev.run()
		}
		clear(batch)
		if stopping || s.isStopping() {
			s.unload()
			s.mu.Lock()
			rest := s.queue
			s.queue = nil
			s.mu.Unlock()
			abortAll(rest)
			return
		}
	}
}

func abortAll(evs []event) {
	for _, ev := range evs {
		if ev.abort != nil {
			ev.abort()
		}
	}
}

// --- timers ---

// schedule runs fn on the shard goroutine after d, replacing any deadline
// already scheduled under key (Kafka's CoordinatorTimer.schedule). A
// deadline replaced or cancelled after its task was handed to the timer's
// goroutine is recognised as stale and does nothing.
func (s *shard) schedule(key string, d time.Duration, fn func()) {
	if old := s.timers[key]; old != nil {
		old.Stop()
	}
	var tk *purgatory.Task
	tk = s.c.timer.AfterFunc(d, func() {
		s.post(event{run: func() {
			if s.timers[key] != tk {
				return
			}
			delete(s.timers, key)
			fn()
		}})
	})
	s.timers[key] = tk
}

// cancel removes the deadline scheduled under key, if any.
func (s *shard) cancel(key string) {
	if tk := s.timers[key]; tk != nil {
		tk.Stop()
		delete(s.timers, key)
	}
}

// memberTimerKey is the timer key of a per-member deadline. The group id
// goes in with its length, so that no (group, member) pair maps to the
// key of another: group and member ids are client strings that may hold
// the separator, and KIP-848 member ids are chosen by the client, so
// "a-b"/"c" and "a"/"b-c" would otherwise share a key, and one member's
// deadline would silently replace the other's.
func memberTimerKey(kind, group, member string) string {
	return kind + "-" + strconv.Itoa(len(group)) + ":" + group + "-" + member
}

func heartbeatKey(group, member string) string { return memberTimerKey("heartbeat", group, member) }
func joinKey(group string) string              { return "join-" + group }
func syncKey(group string) string              { return "sync-" + group }

const expirationKey = "expire-group-metadata"

// --- writes ---

// kv is one record to append: a nil value is a tombstone.
type kv struct{ key, value []byte }

// appendRecords appends recs to the shard's partition as one batch with
// acks=all and offsets.commit.timeout.ms, then calls onDone with the
// append's error on the shard goroutine, or onAbort (elsewhere) if the
// shard stopped meanwhile. Exactly one of them is called.
func (s *shard) appendRecords(recs []kv, onDone func(err error), onAbort func()) {
	b := record.NewBuilder(record.DefaultBuilderOptions())
	ts := s.c.now().UnixMilli()
	for _, r := range recs {
		b.Add(ts, r.key, r.value)
	}
	batch, err := b.Build()
	if err != nil {
		onDone(fmt.Errorf("group: build batch: %w", err))
		return
	}
	s.c.cfg.Replicas.AppendRecords(-1, s.c.set.commitTimeout, storage.OriginCoordinator,
		[]replica.AppendRequest{{TP: s.tp, Records: batch}},
		func(res []replica.AppendResult) {
			err := res[0].Err
			s.post(event{run: func() { onDone(err) }, abort: onAbort})
		})
}

// --- loading ---

// load replays the partition from its log start offset to its log end
// offset (as Kafka's loader does: a new leader's log is the truth from
// now on), then activates the shard. If this node does not host the
// partition yet, it tries again shortly.
func (s *shard) load() {
	p, ok := s.c.cfg.Replicas.Partition(s.tp)
	if !ok {
		if !s.loadMsg {
			s.log.Info("waiting for the partition to be hosted before loading its groups")
			s.loadMsg = true
		}
		s.c.timer.AfterFunc(loadRetryBackoff, func() { s.post(event{run: s.load}) })
		return
	}
	start := s.c.now()
	l := p.Log()
	end := l.LogEndOffset()
	n, skipped, err := s.replayLog(l, end)
	if err != nil {
		if s.isStopping() {
			return
		}
		s.log.Warn("loading groups failed; retrying", "err", err)
		s.c.timer.AfterFunc(loadRetryBackoff, func() { s.post(event{run: s.load}) })
		return
	}
	if s.isStopping() {
		return
	}
	s.applyDeletedTopics()
	s.onLoaded()
	s.state.CompareAndSwap(shardLoading, shardActive)
	s.log.Info("loaded groups", "groups", len(s.groups), "records", n, "skipped", skipped,
		"end_offset", end, "epoch", s.epoch.Load(), "took", s.c.now().Sub(start))
}

// replayLog applies every record below end, batch by batch, starting
// over from an empty state. It returns the records applied and skipped.
func (s *shard) replayLog(l *storage.Log, end int64) (n, skipped int, err error) {
	clear(s.groups)
	clear(s.consumer)
	clear(s.offsets)
	offset := l.LogStartOffset()
	for offset < end {
		if s.isStopping() {
			return n, skipped, nil
		}
		rr, err := l.Read(offset, s.c.set.loadBufferSize, end, true)
		if err != nil {
			return n, skipped, fmt.Errorf("read %s at %d: %w", s.tp, offset, err)
		}
		buf, err := rr.Bytes()
		if err != nil {
			return n, skipped, fmt.Errorf("read %s at %d: %w", s.tp, offset, err)
		}
		if len(buf) == 0 {
			break
		}
		next := offset
		_, perr := record.Batches(buf, func(b record.Batch) error {
			next = b.NextOffset()
			a, sk := s.replayBatch(b)
			n += a
			skipped += sk
			return nil
		})
		if perr != nil && !errors.Is(perr, record.ErrIncomplete) {
			return n, skipped, fmt.Errorf("read %s at %d: %w", s.tp, offset, perr)
		}
		if next <= offset {
			break
		}
		offset = next
	}
	return n, skipped, nil
}

// replayBatch applies the records of one batch. Control batches
// (transaction markers) carry no group state. Transactional offset commits
// are not written by this coordinator yet, so a transactional batch is
// skipped whole rather than applied without its commit or abort.
func (s *shard) replayBatch(b record.Batch) (applied, skipped int) {
	attrs := b.Attributes()
	if attrs.Control() {
		return 0, 0
	}
	if attrs.Transactional() {
		s.log.Warn("skipping a transactional batch: transactional offset commits are not supported yet",
			"offset", b.BaseOffset(), "records", b.NumRecords())
		return 0, int(b.NumRecords())
	}
	err := b.Records(func(r *record.Record) error {
		if r.Key == nil {
			s.log.Warn("skipping a record without a key", "offset", r.Offset)
			skipped++
			return nil
		}
		rec, err := decodeRecord(r.Key, r.Value)
		if err != nil {
			s.log.Warn("skipping an undecodable record", "offset", r.Offset, "err", err)
			skipped++
			return nil
		}
		s.replay(rec)
		applied++
		return nil
	})
	if err != nil {
		s.log.Warn("skipping the rest of a corrupt batch", "offset", b.BaseOffset(), "err", err)
	}
	return applied, skipped
}

// replay applies one decoded record to the state (Kafka's
// GroupCoordinatorShard.replay).
func (s *shard) replay(rec loadedRecord) {
	switch {
	case rec.offset != nil:
		r := rec.offset
		if r.value == nil {
			s.deleteOffset(r.group, r.topic, r.partition)
			return
		}
		// A commit for a group that does not exist comes from a consumer
		// that stores offsets without membership: it gets a "simple"
		// group, an Empty classic group without a protocol type.
		if s.groups[r.group] == nil && s.consumer[r.group] == nil {
			s.groups[r.group] = newClassicGroup(r.group, stateEmpty, s.c.now().UnixMilli())
		}
		s.putOffset(r.group, r.topic, r.partition, *r.value)
	case rec.group != nil:
		r := rec.group
		if r.value == nil {
			if g := s.groups[r.group]; g != nil {
				g.transitionTo(stateDead, s.c.now().UnixMilli())
				delete(s.groups, r.group)
			}
			return
		}
		s.groups[r.group] = groupFromRecord(r.group, r.value)
	case rec.consumer != nil:
		s.replayConsumer(rec.consumer)
	}
}

// groupFromRecord rebuilds a group from its GroupMetadataValue (Kafka's
// ClassicGroup.fromRecord): Empty without members, else Stable with the
// persisted assignment.
func groupFromRecord(id string, v *kmsg.GroupMetadataValue) *classicGroup {
	state := stateStable
	if len(v.Members) == 0 {
		state = stateEmpty
	}
	g := newClassicGroup(id, state, v.CurrentStateTimestamp)
	g.generation = v.Generation
	g.protocolType = v.ProtocolType
	g.protocolName = v.Protocol
	for _, mm := range v.Members {
		rt := time.Duration(mm.RebalanceTimeoutMillis) * time.Millisecond
		if mm.RebalanceTimeoutMillis < 0 {
			rt = time.Duration(mm.SessionTimeoutMillis) * time.Millisecond
		}
		m := &member{
			id:               mm.MemberID,
			instanceID:       mm.InstanceID,
			clientID:         mm.ClientID,
			clientHost:       mm.ClientHost,
			rebalanceTimeout: rt,
			sessionTimeout:   time.Duration(mm.SessionTimeoutMillis) * time.Millisecond,
			protocolType:     v.ProtocolType,
			assignment:       mm.Assignment,
		}
		name := ""
		if v.Protocol != nil {
			name = *v.Protocol
		}
		m.protocols = []protocol{{name: name, metadata: mm.Subscription}}
		g.add(m, nil)
	}
	g.leaderID = ""
	if v.Leader != nil && g.hasMember(*v.Leader) {
		g.leaderID = *v.Leader
	} else if len(g.memberOrder) > 0 {
		g.leaderID = g.memberOrder[0]
	}
	g.computeSubscribedTopics()
	return g
}

func (s *shard) putOffset(group, topic string, partition int32, o offsetAndMetadata) {
	byTopic := s.offsets[group]
	if byTopic == nil {
		byTopic = map[string]map[int32]offsetAndMetadata{}
		s.offsets[group] = byTopic
	}
	parts := byTopic[topic]
	if parts == nil {
		parts = map[int32]offsetAndMetadata{}
		byTopic[topic] = parts
	}
	parts[partition] = o
}

func (s *shard) deleteOffset(group, topic string, partition int32) {
	byTopic := s.offsets[group]
	if byTopic == nil {
		return
	}
	parts := byTopic[topic]
	if parts == nil {
		return
	}
	delete(parts, partition)
	if len(parts) == 0 {
		delete(byTopic, topic)
	}
	if len(byTopic) == 0 {
		delete(s.offsets, group)
	}
}

// onLoaded starts the loaded groups' clocks (Kafka's
// GroupMetadataManager.onLoaded): every member of a loaded group gets a
// fresh session deadline, a group over group.max.size rebalances, and
// the offset expiration cycle starts.
func (s *shard) onLoaded() {
	for _, g := range s.groups {
		for _, m := range g.orderedMembers() {
			s.rescheduleHeartbeat(g, m, m.sessionTimeout)
		}
		if len(g.members) > s.c.set.maxSize {
			s.prepareRebalance(g, fmt.Sprintf("freshly-loaded group (size %d) is over capacity %d; rebalancing so that consumers can commit offsets",
				len(g.members), s.c.set.maxSize))
		}
	}
	s.onConsumerLoaded()
	s.scheduleExpiration()
}

// unload drops the shard's state (Kafka's GroupMetadataManager.onUnloaded):
// every group becomes Dead, parked JoinGroups (PreparingRebalance) and
// SyncGroups (CompletingRebalance, Stable) are answered NOT_COORDINATOR,
// and every deadline is cancelled.
func (s *shard) unload() {
	now := s.c.now().UnixMilli()
	for _, g := range s.groups {
		prev := g.state
		g.transitionTo(stateDead, now)
		for _, m := range g.orderedMembers() {
			switch prev {
			case statePreparingRebalance:
				g.completeJoin(m, joinError(m.id, codeNotCoordinator))
			case stateCompletingRebalance, stateStable:
				g.completeSync(m, syncError(codeNotCoordinator))
			}
			// Nothing else may still be parked; answer anything that is.
			g.completeJoin(m, joinError(m.id, codeNotCoordinator))
			g.completeSync(m, syncError(codeNotCoordinator))
		}
	}
	for k, tk := range s.timers {
		tk.Stop()
		delete(s.timers, k)
	}
	for _, g := range s.consumer {
		g.dead = true
	}
	s.groups, s.consumer, s.offsets = nil, nil, nil
}
