package group

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/purgatory"
	"github.com/samsa-streaming/samsa/internal/replica"
)

// Config configures a Coordinator.
type Config struct {
	// NodeID is this broker's node.id.
	NodeID int32
	// NumPartitions is offsets.topic.num.partitions: how many partitions
	// __consumer_offsets has, which decides where each group lives
	// (PartitionFor). It must match the topic.
	NumPartitions int32
	// Replicas hosts __consumer_offsets-N: shards append their records
	// through it (acks=all) and load by reading its logs.
	Replicas *replica.Manager
	// Timer is the broker's timing wheel: heartbeat (session) deadlines,
	// join barriers, pending-sync deadlines and the offset expiration
	// cycle are tasks on it. Nil makes the coordinator run its own
	// (closed by Close).
	Timer *purgatory.Timer
	// Logger receives group lifecycle lines (rebalances, members
	// joining, leaving and expiring, loading); nil discards.
	Logger *slog.Logger
	// Broker holds the group.* and offsets.* settings. It is read once,
	// at New.
	Broker *config.Broker
	// Metadata returns the current cluster metadata image (typically
	// metadata.Publisher.Image). KIP-848 consumer groups assign the
	// partitions of the topics it holds and notice new topics and
	// partitions through it: each ConsumerGroupHeartbeat compares the
	// subscribed topics' metadata with what the group's target
	// assignment was computed from. Nil means no topic exists for
	// consumer groups (classic groups do not need it).
	Metadata func() *metadata.Image
	// Now is the clock for the timestamps the coordinator records
	// (commit timestamps, state change timestamps) and the expiration
	// rules that read them; nil means time.Now. Deadlines follow the
	// Timer's clock, so a test drives both from one manual clock.
	Now func() time.Time
}

// settings are the configuration values the shards read, resolved once.
type settings struct {
	initialRebalanceDelay time.Duration // group.initial.rebalance.delay.ms
	minSessionTimeout     time.Duration // group.min.session.timeout.ms
	maxSessionTimeout     time.Duration // group.max.session.timeout.ms
	maxSize               int           // group.max.size
	newMemberJoinTimeout  time.Duration // Kafka's classicGroupNewMemberJoinTimeoutMs (fixed, 5 minutes)
	metadataMaxBytes      int           // offset.metadata.max.bytes
	loadBufferSize        int           // offsets.load.buffer.size
	retention             time.Duration // offsets.retention.minutes
	retentionCheck        time.Duration // offsets.retention.check.interval.ms
	commitTimeout         time.Duration // offsets.commit.timeout.ms

	// KIP-848 consumer groups.
	consumerProtocol  bool          // "consumer" is in group.coordinator.rebalance.protocols
	consumerSession   time.Duration // group.consumer.session.timeout.ms
	consumerHeartbeat time.Duration // group.consumer.heartbeat.interval.ms
	consumerMaxSize   int           // group.consumer.max.size
	consumerAssignors []string      // group.consumer.assignors; the first is the default
}

// newMemberJoinTimeout is Kafka's fixed
// GroupCoordinatorConfig.CLASSIC_GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS: a new
// member's JoinGroup parked longer than this during a rebalance is
// dropped (it cannot heartbeat, having no member id yet).
const newMemberJoinTimeout = 5 * time.Minute

// loadRetryBackoff is how long a shard waits before trying again to load
// a partition that this node does not host yet (OnElection may arrive
// before the replica manager has opened the partition's log).
const loadRetryBackoff = 100 * time.Millisecond

// Coordinator is the group coordinator of this broker (Kafka's
// GroupCoordinatorService with its shards): one shard per
// __consumer_offsets partition this node leads, each owning the groups and
// offsets that live in its partition. Requests are routed by PartitionFor.
// It is safe for concurrent use.
type Coordinator struct {
	cfg      Config
	set      settings
	log      *slog.Logger
	now      func() time.Time
	timer    *purgatory.Timer
	ownTimer bool

	mu     sync.RWMutex
	shards map[int32]*shard // guarded by mu; the shards this node leads (loading or active)
	closed bool             // guarded by mu
	// lastDone holds, per partition, the done channel of the shard last
	// dropped, so that a shard elected again right away loads only once
	// its predecessor has stopped touching the partition. Guarded by mu.
	lastDone map[int32]<-chan struct{}

	wg sync.WaitGroup // shard goroutines
}

// New returns a Coordinator leading no partition yet; OnElection gives it
// its shards.
func New(cfg Config) (*Coordinator, error) {
	switch {
	case cfg.NumPartitions <= 0:
		return nil, fmt.Errorf("%w: NumPartitions %d must be positive", ErrInvalidConfig, cfg.NumPartitions)
	case cfg.Replicas == nil:
		return nil, fmt.Errorf("%w: Replicas is nil", ErrInvalidConfig)
	case cfg.Broker == nil:
		return nil, fmt.Errorf("%w: Broker is nil", ErrInvalidConfig)
	}
	b := cfg.Broker
	set := settings{
		initialRebalanceDelay: b.GroupInitialRebalanceDelay,
		minSessionTimeout:     b.GroupMinSessionTimeout,
		maxSessionTimeout:     b.GroupMaxSessionTimeout,
		maxSize:               int(b.GroupMaxSize),
		newMemberJoinTimeout:  newMemberJoinTimeout,
		metadataMaxBytes:      int(b.OffsetMetadataMaxBytes),
		loadBufferSize:        int(b.OffsetsLoadBufferSize),
		retention:             b.OffsetsRetention,
		retentionCheck:        b.OffsetsRetentionCheckInterval,
		commitTimeout:         b.OffsetsCommitTimeout,

		consumerProtocol:  slices.Contains(b.GroupRebalanceProtocols, "consumer"),
		consumerSession:   b.GroupConsumerSessionTimeout,
		consumerHeartbeat: b.GroupConsumerHeartbeatInterval,
		consumerMaxSize:   int(b.GroupConsumerMaxSize),
		consumerAssignors: b.GroupConsumerAssignors,
	}
	if len(set.consumerAssignors) == 0 {
		set.consumerAssignors = []string{uniformAssignorName, rangeAssignorName}
	}
	for _, a := range set.consumerAssignors {
		if assignorByName(a) == nil {
			return nil, fmt.Errorf("%w: group.consumer.assignors names unknown assignor %q", ErrInvalidConfig, a)
		}
	}
	if set.loadBufferSize <= 0 {
		set.loadBufferSize = 5 << 20
	}
	if set.retentionCheck <= 0 {
		return nil, fmt.Errorf("%w: offsets.retention.check.interval.ms %v must be positive", ErrInvalidConfig, set.retentionCheck)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	c := &Coordinator{
		cfg:    cfg,
		set:    set,
		log:    log.With("component", "group-coordinator"),
		now:    now,
		timer:  cfg.Timer,
		shards: map[int32]*shard{},

		lastDone: map[int32]<-chan struct{}{},
	}
	if c.timer == nil {
		t, err := purgatory.NewTimer(purgatory.TimerConfig{})
		if err != nil {
			return nil, fmt.Errorf("group: %w", err)
		}
		c.timer, c.ownTimer = t, true
	}
	return c, nil
}

// OnElection tells the coordinator that this node became the leader of
// __consumer_offsets-partition in leaderEpoch. The partition's shard is
// created and loaded in the background by replaying the partition's log;
// until it is loaded, requests for its groups are answered
// COORDINATOR_LOAD_IN_PROGRESS. A call for an epoch not newer than the one
// the shard already has is ignored (a late or repeated notification), as
// Kafka's CoordinatorRuntime.scheduleLoadOperation does; a newer epoch for
// a loaded shard only records the epoch (this node led throughout, so its
// state is current).
func (c *Coordinator) OnElection(partition, leaderEpoch int32) {
	if partition < 0 || partition >= c.cfg.NumPartitions {
		c.log.Warn("ignoring election for a partition outside offsets.topic.num.partitions",
			"partition", partition, "num_partitions", c.cfg.NumPartitions)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if s := c.shards[partition]; s != nil {
		if s.epoch.Load() < leaderEpoch {
			s.epoch.Store(leaderEpoch)
		}
		return
	}
	s := newShard(c, partition, leaderEpoch, c.departing(partition))
	c.shards[partition] = s
	c.wg.Add(1)
	go s.run()
}

// OnResignation tells the coordinator that this node no longer leads
// __consumer_offsets-partition: its shard is dropped, parked JoinGroup and
// SyncGroup requests are answered NOT_COORDINATOR, and so is every later
// request for its groups. A call whose leaderEpoch is older than the
// epoch the shard was elected in is a late notice of an earlier
// leadership and is ignored; a negative epoch resigns unconditionally
// (the partition was deleted, or the broker is stopping).
func (c *Coordinator) OnResignation(partition, leaderEpoch int32) {
	c.mu.Lock()
	s := c.shards[partition]
	if s == nil || (leaderEpoch >= 0 && leaderEpoch < s.epoch.Load()) {
		c.mu.Unlock()
		return
	}
	delete(c.shards, partition)
	c.lastDone[partition] = s.done
	c.mu.Unlock()
	s.stop()
}

// departing returns the done channel of the shard of partition dropped
// last (it may still be shutting down), or nil, and forgets it. The caller
// holds c.mu.
func (c *Coordinator) departing(partition int32) <-chan struct{} {
	done := c.lastDone[partition]
	delete(c.lastDone, partition)
	return done
}

// Close drops every shard (answering their parked requests
// NOT_COORDINATOR) and waits for their goroutines to exit. It closes the
// timer only if the coordinator created it. Requests made after Close are
// answered NOT_COORDINATOR. A second Close returns ErrClosed.
func (c *Coordinator) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.closed = true
	shards := c.shards
	c.shards = map[int32]*shard{}
	c.mu.Unlock()
	for _, s := range shards {
		s.stop()
	}
	c.wg.Wait()
	if c.ownTimer {
		c.timer.Close()
	}
	return nil
}

// shardFor returns the active shard that owns groupID, or the error code
// to answer with: NOT_COORDINATOR when this node does not lead the
// group's partition, COORDINATOR_LOAD_IN_PROGRESS while it is loading.
func (c *Coordinator) shardFor(groupID string) (*shard, int16) {
	p := c.PartitionFor(groupID)
	c.mu.RLock()
	s := c.shards[p]
	c.mu.RUnlock()
	return s.usable()
}

// namedGroupShard is shardFor for the APIs that name one group and refuse
// an empty group id (Kafka's isGroupIdNotEmpty check): INVALID_GROUP_ID
// for "", shardFor's answer otherwise.
func (c *Coordinator) namedGroupShard(groupID string) (*shard, int16) {
	if groupID == "" {
		return nil, codeInvalidGroupID
	}
	return c.shardFor(groupID)
}
