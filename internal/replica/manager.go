package replica

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/samsa-streaming/samsa/internal/purgatory"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// TopicPartition names one partition.
type TopicPartition = storage.TopicPartition

// Config configures a Manager.
type Config struct {
	// NodeID is this broker's node.id: the replica id of the local
	// replica in every partition's replica set and ISR.
	NodeID int32
	// Logs opens, creates and deletes the partition logs. The Manager
	// uses it but does not own it: close the Manager first.
	Logs *storage.Manager
	// Timer schedules the purgatories' deadlines; one timer serves the
	// whole broker. Nil makes each purgatory run its own.
	Timer *purgatory.Timer
	// Logger receives leadership changes; nil discards.
	Logger *slog.Logger
	// Clock returns the current time; nil means time.Now. Only the
	// legacy ListOffsets v0 answer reads it.
	Clock func() time.Time
}

// PartitionConfig is the configuration a partition is led with: its
// log's settings plus min.insync.replicas, which the log does not use but
// the acks=all produce path does.
type PartitionConfig struct {
	Log storage.LogConfig
	// MinInsyncReplicas is min.insync.replicas; values below 1 mean 1.
	MinInsyncReplicas int32
}

// DefaultPartitionConfig returns Kafka's topic defaults.
func DefaultPartitionConfig() PartitionConfig {
	return PartitionConfig{Log: storage.DefaultLogConfig(), MinInsyncReplicas: 1}
}

// Manager hosts this node's partitions (Kafka's ReplicaManager): the
// partition states, the produce purgatory (acks=all waiting for the high
// watermark) and the fetch purgatory (long polls waiting for
// fetch.min.bytes). It is safe for concurrent use.
//
// Lock order: lifeMu, then mu, then a Partition's mu, then its hwMu. No
// lock is held while calling into a purgatory, so delayed operations can
// look partitions up from any goroutine.
type Manager struct {
	cfg   Config
	log   *slog.Logger
	clock func() time.Time

	produce *purgatory.Purgatory[TopicPartition]
	fetch   *purgatory.Purgatory[TopicPartition]

	// lifeMu serialises lifecycle changes (BecomeLeader, RemovePartition,
	// SetConfig), which may create or delete logs on disk, so that the map
	// lock is only ever held for a lookup.
	lifeMu sync.Mutex

	mu     sync.RWMutex
	parts  map[TopicPartition]*Partition // guarded by mu
	topics map[string]*trafficCounters   // guarded by mu; each hosted topic's traffic
	closed bool                          // guarded by mu

	total trafficCounters // the whole node's traffic
}

// NewManager returns a Manager with no partitions.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Logs == nil {
		return nil, fmt.Errorf("%w: Config.Logs is nil", ErrInvalidConfig)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	produce, err := purgatory.New[TopicPartition](purgatory.Config{Name: "Produce", Timer: cfg.Timer})
	if err != nil {
		return nil, fmt.Errorf("replica: %w", err)
	}
	fetch, err := purgatory.New[TopicPartition](purgatory.Config{Name: "Fetch", Timer: cfg.Timer})
	if err != nil {
		produce.Close()
		return nil, fmt.Errorf("replica: %w", err)
	}
	return &Manager{
		cfg:     cfg,
		log:     log.With("component", "replica"),
		clock:   clock,
		produce: produce,
		fetch:   fetch,
		parts:   map[TopicPartition]*Partition{},
		topics:  map[string]*trafficCounters{},
	}, nil
}

// Close stops the manager: every operation still parked is answered at
// once (an acks=all produce with REQUEST_TIMED_OUT for the partitions not
// yet replicated, a fetch with what it can read now), and later calls
// answer ErrClosed. It closes neither the logs nor the timer; close the
// Manager before them. Close is idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.produce.Close()
	m.fetch.Close()
	return nil
}

// ReleaseFetches answers every parked fetch at once, with what it can read
// now, and makes later fetches answer at once instead of parking; produce
// is unaffected. A stopping broker calls it before draining its
// connections, which waits for in-flight requests: a parked long poll
// would otherwise hold the drain for the rest of its MaxWait, which is
// the client's fetch.max.wait.ms. Close still closes everything.
// ReleaseFetches is idempotent.
func (m *Manager) ReleaseFetches() { m.fetch.Close() }

func (m *Manager) isClosed() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.closed
}

// Partition returns the hosted partition tp.
func (m *Manager) Partition(tp TopicPartition) (*Partition, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.parts[tp]
	return p, ok
}

// Partitions returns the hosted partitions, sorted by topic and
// partition. The slice is the caller's.
func (m *Manager) Partitions() []TopicPartition {
	m.mu.RLock()
	out := make([]TopicPartition, 0, len(m.parts))
	for tp := range m.parts {
		out = append(out, tp)
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b TopicPartition) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition - b.Partition)
	})
	return out
}

// partition returns the hosted partition tp or ErrUnknownTopicOrPartition
// (ErrClosed once closed).
func (m *Manager) partition(tp TopicPartition) (*Partition, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	if p := m.parts[tp]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("%w: %s is not hosted on node %d", ErrUnknownTopicOrPartition, tp, m.cfg.NodeID)
}

// BecomeLeader makes this node the leader of tp in leaderEpoch with the
// given replica set and ISR (Kafka's makeLeader), creating or opening
// the partition's log on first call. It is idempotent: calling it again
// with the same epoch updates the replica set, ISR and config. A higher
// epoch starts a new leader epoch at the log end offset, recorded in the
// log's leader epoch cache at once so OffsetForLeaderEpoch knows it before
// any batch carries it (followers' positions are forgotten until they
// fetch again). A lower epoch than the
// partition's is refused with ErrFencedLeaderEpoch (a stale update).
//
// Becoming leader may move the high watermark (a single-replica ISR
// moves it to the log end offset at once) and completes parked
// operations that the change affects.
func (m *Manager) BecomeLeader(tp TopicPartition, topicID [16]byte, leaderEpoch int32, replicas, isr []int32, cfg PartitionConfig) error {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	if m.isClosed() {
		return ErrClosed
	}
	p, hosted := m.Partition(tp)
	if hosted && topicID != [16]byte{} && p.TopicID() != [16]byte{} && p.TopicID() != topicID {
		return fmt.Errorf("%w: %s is hosted as topic %s, not %s", ErrInconsistentTopicID, tp,
			storage.TopicIDString(p.TopicID()), storage.TopicIDString(topicID))
	}
	if !hosted {
		l, err := m.cfg.Logs.GetOrCreate(tp, cfg.Log, topicID)
		if err != nil {
			if errors.Is(err, storage.ErrInconsistentTopicID) {
				err = fmt.Errorf("%w: %w", ErrInconsistentTopicID, err)
			}
			return fmt.Errorf("replica: open log for %s: %w", tp, err)
		}
		p = newPartition(tp, m.cfg.NodeID, l)
	}
	changed, err := p.makeLeader(topicID, leaderEpoch, replicas, isr, cfg)
	if err != nil {
		return err
	}
	if !hosted {
		m.mu.Lock()
		p.traffic = m.topicTrafficLocked(tp.Topic)
		m.parts[tp] = p
		m.mu.Unlock()
	}
	if changed {
		m.log.Info("became leader", "partition", tp.String(), "leader_epoch", leaderEpoch,
			"replicas", replicas, "isr", isr, "log_end_offset", p.LogEndOffset(), "high_watermark", p.HighWatermark())
	}
	m.completeDelayed(tp, true)
	return nil
}

// RemovePartition stops hosting tp (Kafka's stopPartitions). With
// deleteLog the log is deleted (DeleteTopics) and operations still parked
// on the partition answer ErrUnknownTopicOrPartition; without, the log
// stays on disk (leadership moved elsewhere) and they answer
// ErrNotLeader. Removing a partition that is not hosted deletes its log
// if asked and is otherwise a no-op.
func (m *Manager) RemovePartition(tp TopicPartition, deleteLog bool) error {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	m.mu.Lock()
	p := m.parts[tp]
	if p != nil {
		delete(m.parts, tp)
		m.releaseTopicTrafficLocked(tp.Topic)
	}
	m.mu.Unlock()
	if p != nil {
		reason := ErrNotLeader
		if deleteLog {
			reason = ErrUnknownTopicOrPartition
		}
		p.remove(reason)
		m.log.Info("stopped hosting partition", "partition", tp.String(), "delete", deleteLog)
	}
	var err error
	if deleteLog {
		if derr := m.cfg.Logs.Delete(tp); derr != nil {
			err = fmt.Errorf("replica: delete log of %s: %w", tp, derr)
		}
	}
	m.completeDelayed(tp, true)
	return err
}

// SetConfig applies a changed topic config to the hosted partition tp
// (AlterConfigs). A lower min.insync.replicas may let the high watermark
// move, which completes parked operations.
func (m *Manager) SetConfig(tp TopicPartition, cfg PartitionConfig) error {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	p, err := m.partition(tp)
	if err != nil {
		return err
	}
	moved, err := p.setConfig(cfg)
	if err != nil {
		return fmt.Errorf("replica: set config of %s: %w", tp, err)
	}
	m.completeDelayed(tp, moved)
	return nil
}

// completeDelayed re-checks the operations parked on tp after an event:
// fetches always (new data, leadership or truncation), produces only when
// the high watermark may have moved (Kafka's tryCompleteDelayedRequests).
// The caller must hold no replica lock.
func (m *Manager) completeDelayed(tp TopicPartition, hwMoved bool) {
	if hwMoved {
		m.produce.CheckAndComplete(tp)
	}
	m.fetch.CheckAndComplete(tp)
}
