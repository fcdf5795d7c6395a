package metadata

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
)

// Limits that keep one operation's records bounded, as Kafka's controller
// does (MAX_RECORDS_PER_USER_OP, 10,000).
const (
	// MaxPartitionsPerOperation bounds the partitions one CreateTopics
	// topic or CreatePartitions topic may add.
	MaxPartitionsPerOperation = 10000

	// maxRecordsPerBatch is the size at which a multi-topic operation
	// commits what it has and continues in a new batch.
	maxRecordsPerBatch = 10000
)

// ControllerConfig configures a Controller.
type ControllerConfig struct {
	// NodeID is this node's node.id. While no broker is registered, the
	// controller places replicas on this node alone: a single-node broker
	// needs no registration to create topics.
	NodeID int32

	// DefaultNumPartitions (num.partitions) and DefaultReplicationFactor
	// (default.replication.factor) replace -1 in CreateTopics. Values
	// below 1 mean 1, Kafka's defaults.
	DefaultNumPartitions     int32
	DefaultReplicationFactor int16

	// ValidateTopicConfig checks a topic's complete set of overrides as it
	// would be after a change (or at creation); a non-nil error refuses
	// the change with ErrInvalidConfig and the error's text as message.
	// nil accepts everything. The map is the callee's to read, not keep.
	ValidateTopicConfig func(topic string, overrides map[string]string) error

	// ValidateBrokerConfig does the same for broker overrides; resource is
	// "" for the cluster-wide default or a node id in decimal.
	ValidateBrokerConfig func(resource string, overrides map[string]string) error

	// ListConfig tells IncrementalAlterConfigs whether a config is a LIST
	// (so APPEND and SUBTRACT apply) and its default value, the base of an
	// APPEND to a config without an override. nil: no config is a list.
	ListConfig func(res ConfigResource, name string) (isList bool, defaultValue string)

	// Placer chooses replicas for new partitions; nil means
	// RoundRobinPlacer with a random seed.
	Placer ReplicaPlacer

	// Random supplies topic IDs; nil means crypto/rand.
	Random io.Reader

	// Logger receives one line per committed admin change; nil discards.
	Logger *slog.Logger
}

// Controller validates admin operations against the current image and
// commits them as records through a Log. It is the single writer of
// metadata: operations are serialised by a mutex, each one sees the effect
// of the one before, and a result is returned only after its records are
// committed (durable, and visible in the Publisher's image). A Controller is
// safe for concurrent use.
type Controller struct {
	log    Log
	pub    *Publisher
	cfg    ControllerConfig
	logger *slog.Logger

	mu sync.Mutex // serialises operations; the image changes only under it
}

// NewController returns a controller that commits through log, which feeds
// pub.
func NewController(log Log, pub *Publisher, cfg ControllerConfig) *Controller {
	if cfg.DefaultNumPartitions < 1 {
		cfg.DefaultNumPartitions = 1
	}
	if cfg.DefaultReplicationFactor < 1 {
		cfg.DefaultReplicationFactor = 1
	}
	if cfg.Placer == nil {
		cfg.Placer = RoundRobinPlacer(nil)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Controller{log: log, pub: pub, cfg: cfg, logger: logger}
}

// Image returns the current metadata image.
func (c *Controller) Image() *Image { return c.pub.Image() }

// ---- batching ----

// txn accumulates one operation's records on a builder, so each item of a
// multi-item request is validated against the effect of the items before
// it, and commits them in batches of bounded size.
type txn struct {
	c            *Controller
	validateOnly bool
	b            *builder
	recs         []Record
	pending      []*error // result slots of items in recs
}

func (c *Controller) begin(validateOnly bool) *txn {
	return &txn{c: c, validateOnly: validateOnly, b: newBuilder(c.pub.Image())}
}

// image returns the image as the items so far would leave it.
func (t *txn) image() *Image { return &t.b.cur }

// add applies one item's records. A failure here is a controller bug
// (validation let through records that do not apply); the builder may be
// half-changed, so the caller abandons the whole operation.
//
// Items whose records would take the batch past maxRecordsPerBatch start a
// new batch; an item is never split.
func (t *txn) add(recs []Record, result *error) error {
	if len(t.recs) > 0 && len(t.recs)+len(recs) > maxRecordsPerBatch {
		t.flush()
	}
	for _, r := range recs {
		if err := t.b.applyRecord(r); err != nil {
			return fmt.Errorf("metadata: controller produced a record that does not apply: %w", err)
		}
	}
	t.recs = append(t.recs, recs...)
	t.pending = append(t.pending, result)
	return nil
}

// flush commits the accumulated records (unless validate-only) and marks
// the pending items failed if the commit fails.
func (t *txn) flush() {
	if len(t.recs) > 0 && !t.validateOnly {
		if _, err := t.c.log.Append(t.recs); err != nil {
			for _, p := range t.pending {
				*p = err
			}
		}
	}
	t.recs, t.pending = nil, nil
	if !t.validateOnly {
		t.b = newBuilder(t.c.pub.Image())
	}
}

// failAll fails every item of the operation not failed yet with err.
func failAll(results []*error, err error) {
	for _, r := range results {
		if *r == nil {
			*r = err
		}
	}
}

// usableBrokers returns the brokers new replicas may go to: registered and
// unfenced, sorted by ID; or this node alone while none is registered.
func (c *Controller) usableBrokers(im *Image) ([]*Broker, map[int32]bool) {
	var bs []*Broker
	if len(im.brokers) == 0 {
		bs = []*Broker{{ID: c.cfg.NodeID}}
	} else {
		for _, b := range im.Brokers() {
			if !b.Fenced {
				bs = append(bs, b)
			}
		}
	}
	ids := make(map[int32]bool, len(bs))
	for _, b := range bs {
		ids[b.ID] = true
	}
	return bs, ids
}

// place assigns replicas for count new partitions from firstPartition.
func (c *Controller) place(im *Image, firstPartition, count int32, rf int16) ([][]int32, error) {
	brokers, usable := c.usableBrokers(im)
	if int(rf) > len(brokers) {
		return nil, newAPIError(ErrInvalidReplicationFactor,
			"Unable to replicate the partition %d time(s): The target replication factor of %d cannot be reached because only %d broker(s) are registered.",
			rf, rf, len(brokers))
	}
	assignment, err := c.cfg.Placer(brokers, firstPartition, count, rf)
	if err != nil {
		return nil, err
	}
	if err := checkPlacement(assignment, count, rf, usable); err != nil {
		return nil, err
	}
	return assignment, nil
}

// checkManualAssignment validates an operator-given replica list, with
// Kafka's messages. rf is the replica count earlier partitions have, or 0
// when this is the first.
func (c *Controller) checkManualAssignment(im *Image, replicas []int32, rf int) error {
	if len(replicas) == 0 {
		return newAPIError(ErrInvalidReplicaAssignment, "The manual partition assignment includes an empty replica list.")
	}
	_, usable := c.usableBrokers(im)
	seen := map[int32]bool{}
	for _, r := range replicas {
		if seen[r] {
			return newAPIError(ErrInvalidReplicaAssignment,
				"The manual partition assignment includes the broker %d more than once.", r)
		}
		seen[r] = true
		if !usable[r] {
			return newAPIError(ErrInvalidReplicaAssignment,
				"The manual partition assignment includes broker %d, but no such broker is registered.", r)
		}
	}
	if rf != 0 && len(replicas) != rf {
		return newAPIError(ErrInvalidReplicaAssignment,
			"The manual partition assignment includes a partition with %d replica(s), but this is not consistent with previous partitions, which have %d replica(s).",
			len(replicas), rf)
	}
	return nil
}

// newPartitionRecord makes the record of a new partition: every replica in
// sync, the first one leading, epochs at 0.
func newPartitionRecord(id UUID, partition int32, replicas []int32) PartitionRecord {
	return PartitionRecord{
		PartitionID: partition,
		TopicID:     id,
		Replicas:    replicas,
		ISR:         slices.Clone(replicas),
		Leader:      replicas[0],
	}
}

// ---- CreateTopics ----

// PartitionAssignment is a manual replica assignment for one partition, as
// CreateTopics carries it.
type PartitionAssignment struct {
	Partition int32
	Replicas  []int32
}

// CreateTopicRequest describes one topic to create.
type CreateTopicRequest struct {
	Name string
	// NumPartitions and ReplicationFactor: -1 means the configured
	// default. Both must be -1 when Assignments is given.
	NumPartitions     int32
	ReplicationFactor int16
	// Assignments, when non-empty, places each partition by hand; the
	// partitions must be 0..n-1.
	Assignments []PartitionAssignment
	// Configs are the topic's config overrides. A nil value is refused.
	Configs map[string]*string
	// Internal marks a topic the broker creates for itself
	// (__consumer_offsets, __transaction_state). Clients' requests never
	// set it: a client may name a topic "__x", but that does not make it
	// internal.
	Internal bool
}

// CreateTopicResult is the outcome for one topic. With a nil Err, the other
// fields describe the topic (for a validate-only request, the topic as it
// would have been; the ID is not kept).
type CreateTopicResult struct {
	Name              string
	TopicID           UUID
	NumPartitions     int32
	ReplicationFactor int16
	Err               error
}

// CreateTopics creates topics, each validated as Kafka does: the name, then
// existence and '.'/'_' collisions, then configs, then the replication
// factor and partition count and placement. Topics succeed or fail one by
// one; those that pass are committed together (in batches of bounded size)
// before CreateTopics returns. A name given twice fails both with
// ErrInvalidRequest. With validateOnly nothing is committed.
func (c *Controller) CreateTopics(reqs []CreateTopicRequest, validateOnly bool) []CreateTopicResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	results := make([]CreateTopicResult, len(reqs))
	slots := make([]*error, len(reqs))
	count := map[string]int{}
	for i, r := range reqs {
		results[i].Name = r.Name
		slots[i] = &results[i].Err
		count[r.Name]++
	}
	t := c.begin(validateOnly)
	for i, r := range reqs {
		if count[r.Name] > 1 {
			results[i].Err = newAPIError(ErrInvalidRequest, "Duplicate topic name.")
			continue
		}
		recs, err := c.createTopic(t.image(), r, &results[i])
		if err != nil {
			results[i].Err = err
			continue
		}
		if err := t.add(recs, &results[i].Err); err != nil {
			failAll(slots, err)
			return results
		}
	}
	t.flush()
	for _, r := range results {
		if r.Err == nil && !validateOnly {
			c.logger.Info("metadata: created topic", "topic", r.Name, "topic_id", r.TopicID,
				"partitions", r.NumPartitions, "replication_factor", r.ReplicationFactor)
		}
	}
	return results
}

// CreateTopic creates one topic; see CreateTopics.
func (c *Controller) CreateTopic(req CreateTopicRequest, validateOnly bool) (CreateTopicResult, error) {
	res := c.CreateTopics([]CreateTopicRequest{req}, validateOnly)[0]
	return res, res.Err
}

func (c *Controller) createTopic(im *Image, r CreateTopicRequest, res *CreateTopicResult) ([]Record, error) {
	if err := ValidateTopicName(r.Name); err != nil {
		return nil, err
	}
	if im.names[r.Name] != nil {
		return nil, newAPIError(ErrTopicExists, "Topic '%s' already exists.", r.Name)
	}
	if HasCollisionChars(r.Name) {
		if other := collidingTopic(im, r.Name); other != "" {
			return nil, newAPIError(ErrInvalidTopic, "Topic '%s' collides with existing topic: %s", r.Name, other)
		}
	}
	overrides := make(map[string]string, len(r.Configs))
	for name, v := range r.Configs {
		if v == nil {
			return nil, newAPIError(ErrInvalidConfig, "Null value not supported for topic configs: %s", name)
		}
		overrides[name] = *v
	}
	if c.cfg.ValidateTopicConfig != nil {
		if err := c.cfg.ValidateTopicConfig(r.Name, maps.Clone(overrides)); err != nil {
			return nil, &apiError{kind: ErrInvalidConfig, msg: err.Error(), cause: err}
		}
	}

	var assignment [][]int32
	if len(r.Assignments) > 0 {
		if r.ReplicationFactor != -1 {
			return nil, newAPIError(ErrInvalidRequest, "A manual partition assignment was specified, but replication factor was not set to -1.")
		}
		if r.NumPartitions != -1 {
			return nil, newAPIError(ErrInvalidRequest, "A manual partition assignment was specified, but numPartitions was not set to -1.")
		}
		if len(r.Assignments) > MaxPartitionsPerOperation {
			return nil, newAPIError(ErrInvalidPartitions, "Number of partitions %d exceeds the limit of %d per request.",
				len(r.Assignments), MaxPartitionsPerOperation)
		}
		assignment = make([][]int32, len(r.Assignments))
		rf := 0 // replica count of the partitions checked so far
		for _, a := range r.Assignments {
			if a.Partition < 0 || int(a.Partition) >= len(r.Assignments) {
				return nil, newAPIError(ErrInvalidReplicaAssignment, "partitions should be a consecutive 0-based integer sequence")
			}
			if assignment[a.Partition] != nil {
				return nil, newAPIError(ErrInvalidReplicaAssignment,
					"Found multiple manual partition assignments for partition %d", a.Partition)
			}
			if err := c.checkManualAssignment(im, a.Replicas, rf); err != nil {
				return nil, err
			}
			assignment[a.Partition] = slices.Clone(a.Replicas)
			rf = len(a.Replicas)
		}
	} else {
		if r.ReplicationFactor < -1 || r.ReplicationFactor == 0 {
			return nil, newAPIError(ErrInvalidReplicationFactor, "Replication factor must be larger than 0, or -1 to use the default value.")
		}
		if r.NumPartitions < -1 || r.NumPartitions == 0 {
			return nil, newAPIError(ErrInvalidPartitions, "Number of partitions was set to an invalid non-positive value.")
		}
		np, rf := r.NumPartitions, r.ReplicationFactor
		if np == -1 {
			np = c.cfg.DefaultNumPartitions
		}
		if rf == -1 {
			rf = c.cfg.DefaultReplicationFactor
		}
		if np > MaxPartitionsPerOperation {
			return nil, newAPIError(ErrInvalidPartitions, "Number of partitions %d exceeds the limit of %d per request.",
				np, MaxPartitionsPerOperation)
		}
		var err error
		if assignment, err = c.place(im, 0, np, rf); err != nil {
			return nil, err
		}
	}

	id, err := c.newTopicID(im)
	if err != nil {
		return nil, err
	}
	recs := make([]Record, 0, 1+len(assignment)+len(overrides))
	recs = append(recs, TopicRecord{Name: r.Name, TopicID: id, Internal: r.Internal})
	for p, replicas := range assignment {
		recs = append(recs, newPartitionRecord(id, int32(p), replicas))
	}
	res.TopicID = id
	res.NumPartitions = int32(len(assignment))
	res.ReplicationFactor = int16(len(assignment[0]))
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		v := overrides[name]
		recs = append(recs, ConfigRecord{ResourceType: ResourceTopic, ResourceName: r.Name, Name: name, Value: &v})
	}
	return recs, nil
}

// collidingTopic returns an existing topic whose name collides with name
// once '.' and '_' are unified, or "". With several, the least name, so the
// message is deterministic.
func collidingTopic(im *Image, name string) string {
	unified := UnifyCollisionChars(name)
	best := ""
	for other := range im.names {
		if other != name && HasCollisionChars(other) && UnifyCollisionChars(other) == unified {
			if best == "" || other < best {
				best = other
			}
		}
	}
	return best
}

func (c *Controller) newTopicID(im *Image) (UUID, error) {
	for {
		id, err := RandomUUID(c.cfg.Random)
		if err != nil {
			return id, err
		}
		if im.topics[id] == nil {
			return id, nil
		}
	}
}

// ---- DeleteTopics ----

// TopicRef names a topic by name or, when ID is not zero, by ID (never
// both), as DeleteTopics v6 does.
type TopicRef struct {
	Name string
	ID   UUID
}

// DeleteTopicResult is the outcome for one topic: its name and ID as
// resolved, and the error.
type DeleteTopicResult struct {
	Name string
	ID   UUID
	Err  error
}

// DeleteTopics deletes topics with their partitions and config overrides.
// An unknown name fails with ErrUnknownTopic, an unknown ID with
// ErrUnknownTopicID; a topic named twice fails both with ErrInvalidRequest.
// The deletions that pass are committed before DeleteTopics returns.
func (c *Controller) DeleteTopics(refs []TopicRef) []DeleteTopicResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	results := make([]DeleteTopicResult, len(refs))
	slots := make([]*error, len(refs))
	im := c.pub.Image()
	count := map[UUID]int{}
	for i, ref := range refs {
		res := &results[i]
		slots[i] = &res.Err
		res.Name, res.ID = ref.Name, ref.ID
		switch {
		case ref.Name != "" && !ref.ID.IsZero():
			res.Err = newAPIError(ErrInvalidRequest, "A topic was named by both name and ID.")
		case !ref.ID.IsZero():
			if t := im.topics[ref.ID]; t != nil {
				res.Name = t.Name
			} else {
				res.Err = &apiError{kind: ErrUnknownTopicID, msg: "This server does not host this topic ID."}
			}
		case ref.Name != "":
			if t := im.names[ref.Name]; t != nil {
				res.ID = t.ID
			} else {
				res.Err = &apiError{kind: ErrUnknownTopic, msg: "This server does not host this topic-partition."}
			}
		default:
			res.Err = newAPIError(ErrInvalidRequest, "A topic was named by neither name nor ID.")
		}
		if res.Err == nil {
			count[res.ID]++
		}
	}
	t := c.begin(false)
	for i := range results {
		res := &results[i]
		if res.Err != nil {
			continue
		}
		if count[res.ID] > 1 {
			res.Err = newAPIError(ErrInvalidRequest, "Duplicate topic in the request.")
			continue
		}
		if err := t.add([]Record{RemoveTopicRecord{TopicID: res.ID}}, &res.Err); err != nil {
			failAll(slots, err)
			return results
		}
	}
	t.flush()
	for _, r := range results {
		if r.Err == nil {
			c.logger.Info("metadata: deleted topic", "topic", r.Name, "topic_id", r.ID)
		}
	}
	return results
}

// DeleteTopic deletes one topic; see DeleteTopics.
func (c *Controller) DeleteTopic(ref TopicRef) (DeleteTopicResult, error) {
	res := c.DeleteTopics([]TopicRef{ref})[0]
	return res, res.Err
}

// ---- CreatePartitions ----

// CreatePartitionsRequest grows one topic to Count partitions. Assignments,
// when not nil, places each new partition by hand (one replica list per
// new partition, in order).
type CreatePartitionsRequest struct {
	Topic       string
	Count       int32
	Assignments [][]int32
}

// CreatePartitions adds partitions to topics. The count must grow the topic
// (ErrInvalidPartitions otherwise, with Kafka's messages); new partitions
// get the replication factor of partition 0. A topic named twice fails both
// with ErrInvalidRequest. The topics that pass are committed before
// CreatePartitions returns; with validateOnly nothing is committed. The
// returned errors are in request order, nil for success.
func (c *Controller) CreatePartitions(reqs []CreatePartitionsRequest, validateOnly bool) []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs := make([]error, len(reqs))
	slots := make([]*error, len(reqs))
	count := map[string]int{}
	for i, r := range reqs {
		slots[i] = &errs[i]
		count[r.Topic]++
	}
	t := c.begin(validateOnly)
	for i, r := range reqs {
		if count[r.Topic] > 1 {
			errs[i] = newAPIError(ErrInvalidRequest, "Duplicate topic name.")
			continue
		}
		recs, err := c.createPartitions(t.image(), r)
		if err != nil {
			errs[i] = err
			continue
		}
		if err := t.add(recs, &errs[i]); err != nil {
			failAll(slots, err)
			return errs
		}
	}
	t.flush()
	for i, r := range reqs {
		if errs[i] == nil && !validateOnly {
			c.logger.Info("metadata: added partitions", "topic", r.Topic, "count", r.Count)
		}
	}
	return errs
}

func (c *Controller) createPartitions(im *Image, r CreatePartitionsRequest) ([]Record, error) {
	topic := im.names[r.Topic]
	if topic == nil {
		return nil, ErrUnknownTopic
	}
	have := topic.NumPartitions()
	switch {
	case r.Count < have:
		return nil, newAPIError(ErrInvalidPartitions, "The topic %s currently has %d partition(s); %d would not be an increase.",
			r.Topic, have, r.Count)
	case r.Count == have:
		return nil, newAPIError(ErrInvalidPartitions, "Topic already has %d partition(s).", have)
	case r.Count-have > MaxPartitionsPerOperation:
		return nil, newAPIError(ErrInvalidPartitions, "Adding %d partitions exceeds the limit of %d per request.",
			r.Count-have, MaxPartitionsPerOperation)
	}
	add := r.Count - have
	rf := topic.ReplicationFactor()
	var assignment [][]int32
	if r.Assignments != nil {
		if len(r.Assignments) != int(add) {
			return nil, newAPIError(ErrInvalidReplicaAssignment,
				"Attempted to add %d additional partition(s), but only %d assignment(s) were specified.", add, len(r.Assignments))
		}
		for _, replicas := range r.Assignments {
			if err := c.checkManualAssignment(im, replicas, int(rf)); err != nil {
				return nil, err
			}
			assignment = append(assignment, slices.Clone(replicas))
		}
	} else {
		var err error
		if assignment, err = c.place(im, have, add, rf); err != nil {
			return nil, err
		}
	}
	recs := make([]Record, 0, len(assignment))
	for i, replicas := range assignment {
		recs = append(recs, newPartitionRecord(topic.ID, have+int32(i), replicas))
	}
	return recs, nil
}

// ---- configs ----

// ConfigOpType is an IncrementalAlterConfigs operation, with Kafka's
// AlterConfigOp.OpType ids.
type ConfigOpType int8

// The config operations.
const (
	ConfigSet      ConfigOpType = 0
	ConfigDelete   ConfigOpType = 1
	ConfigAppend   ConfigOpType = 2
	ConfigSubtract ConfigOpType = 3
)

// ConfigOp is one operation on one config of a resource.
type ConfigOp struct {
	Name  string
	Op    ConfigOpType
	Value string // ignored by ConfigDelete
}

// AlterConfigsRequest is one resource's part of an IncrementalAlterConfigs.
type AlterConfigsRequest struct {
	Resource ConfigResource
	Ops      []ConfigOp
}

// ReplaceConfigsRequest is one resource's part of a (legacy) AlterConfigs:
// the complete new set of overrides.
type ReplaceConfigsRequest struct {
	Resource ConfigResource
	Configs  map[string]string
}

// IncrementalAlterConfigs applies set/delete/append/subtract operations to
// topic or broker config overrides. Each resource succeeds or fails as a
// whole: the injected validator sees the overrides as they would be after
// all of its operations. A topic must exist (ErrUnknownTopic); a broker
// resource is "" or a node id (ErrInvalidRequest otherwise). The errors are
// in request order, nil for success. With validateOnly nothing is
// committed.
func (c *Controller) IncrementalAlterConfigs(reqs []AlterConfigsRequest, validateOnly bool) []error {
	return c.alterConfigs(len(reqs), func(i int) ConfigResource { return reqs[i].Resource },
		func(i int, cur map[string]string) (map[string]string, error) {
			return c.applyConfigOps(reqs[i].Resource, cur, reqs[i].Ops)
		}, validateOnly)
}

// AlterConfigs replaces resources' override sets whole, as Kafka's legacy
// AlterConfigs does: overrides missing from the new set are deleted.
// Otherwise as IncrementalAlterConfigs.
func (c *Controller) AlterConfigs(reqs []ReplaceConfigsRequest, validateOnly bool) []error {
	return c.alterConfigs(len(reqs), func(i int) ConfigResource { return reqs[i].Resource },
		func(i int, _ map[string]string) (map[string]string, error) {
			for name := range reqs[i].Configs {
				if name == "" {
					return nil, newAPIError(ErrInvalidConfig, "Config names must not be empty.")
				}
			}
			return maps.Clone(reqs[i].Configs), nil
		}, validateOnly)
}

// alterConfigs is the shared body of the two config operations: compute
// each resource's new override set, validate it, and commit the
// difference as ConfigRecords.
func (c *Controller) alterConfigs(n int, resource func(int) ConfigResource,
	compute func(i int, cur map[string]string) (map[string]string, error), validateOnly bool) []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	errs := make([]error, n)
	slots := make([]*error, n)
	count := map[ConfigResource]int{}
	for i := range n {
		slots[i] = &errs[i]
		count[resource(i)]++
	}
	t := c.begin(validateOnly)
	for i := range n {
		res := resource(i)
		if count[res] > 1 {
			errs[i] = newAPIError(ErrInvalidRequest, "Duplicate resource in the request.")
			continue
		}
		im := t.image()
		if err := c.checkConfigResource(im, res); err != nil {
			errs[i] = err
			continue
		}
		cur := im.configs[res]
		next, err := compute(i, maps.Clone(cur))
		if err != nil {
			errs[i] = err
			continue
		}
		if next == nil {
			next = map[string]string{}
		}
		if err := c.validateConfigs(res, next); err != nil {
			errs[i] = err
			continue
		}
		recs := configDiff(res, cur, next)
		if len(recs) == 0 {
			continue
		}
		if err := t.add(recs, &errs[i]); err != nil {
			failAll(slots, err)
			return errs
		}
	}
	t.flush()
	for i := range n {
		if errs[i] == nil && !validateOnly {
			res := resource(i)
			c.logger.Info("metadata: altered configs", "resource_type", res.Type, "resource", res.Name)
		}
	}
	return errs
}

func (c *Controller) checkConfigResource(im *Image, res ConfigResource) error {
	switch res.Type {
	case ResourceTopic:
		if res.Name == "" {
			return newAPIError(ErrInvalidRequest, "Default topic resources are not allowed.")
		}
		if im.names[res.Name] == nil {
			return &apiError{kind: ErrUnknownTopic, msg: "This server does not host this topic-partition."}
		}
	case ResourceBroker:
		if !validBrokerResourceName(res.Name) {
			return newAPIError(ErrInvalidRequest, "Invalid broker name %s", res.Name)
		}
	default:
		return newAPIError(ErrInvalidRequest, "Unsupported resource type %d.", res.Type)
	}
	return nil
}

func (c *Controller) validateConfigs(res ConfigResource, overrides map[string]string) error {
	var err error
	switch {
	case res.Type == ResourceTopic && c.cfg.ValidateTopicConfig != nil:
		err = c.cfg.ValidateTopicConfig(res.Name, maps.Clone(overrides))
	case res.Type == ResourceBroker && c.cfg.ValidateBrokerConfig != nil:
		err = c.cfg.ValidateBrokerConfig(res.Name, maps.Clone(overrides))
	}
	if err != nil {
		return &apiError{kind: ErrInvalidConfig, msg: err.Error(), cause: err}
	}
	return nil
}

// applyConfigOps applies ops in order to cur (which it may modify).
func (c *Controller) applyConfigOps(res ConfigResource, cur map[string]string, ops []ConfigOp) (map[string]string, error) {
	if cur == nil {
		cur = map[string]string{}
	}
	seen := map[string]bool{}
	for _, op := range ops {
		if op.Name == "" {
			return nil, newAPIError(ErrInvalidConfig, "Config names must not be empty.")
		}
		if seen[op.Name] {
			return nil, newAPIError(ErrInvalidRequest, "Error due to duplicate config keys")
		}
		seen[op.Name] = true
		switch op.Op {
		case ConfigSet:
			cur[op.Name] = op.Value
		case ConfigDelete:
			delete(cur, op.Name)
		case ConfigAppend, ConfigSubtract:
			isList, def := false, ""
			if c.cfg.ListConfig != nil {
				isList, def = c.cfg.ListConfig(res, op.Name)
			}
			if !isList {
				verb := "append"
				if op.Op == ConfigSubtract {
					verb = "subtract"
				}
				return nil, newAPIError(ErrInvalidConfig, "Config value %s is not allowed for config key: %s", verb, op.Name)
			}
			old, ok := cur[op.Name]
			if !ok {
				old = def
			}
			list := splitList(old)
			for _, v := range splitList(op.Value) {
				has := slices.Contains(list, v)
				if op.Op == ConfigAppend && !has {
					list = append(list, v)
				}
				if op.Op == ConfigSubtract && has {
					list = slices.DeleteFunc(list, func(x string) bool { return x == v })
				}
			}
			cur[op.Name] = strings.Join(list, ",")
		default:
			return nil, newAPIError(ErrInvalidRequest, "Unknown config operation %d.", op.Op)
		}
	}
	return cur, nil
}

// splitList splits a LIST config value on commas, trimming spaces and
// dropping empty items, as Kafka's ConfigDef does.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// configDiff returns the records that turn cur into next, by config name.
func configDiff(res ConfigResource, cur, next map[string]string) []Record {
	var recs []Record
	names := slices.Sorted(maps.Keys(cur))
	for name := range next {
		if _, ok := cur[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		old, had := cur[name]
		v, has := next[name]
		switch {
		case has && (!had || old != v):
			recs = append(recs, ConfigRecord{ResourceType: res.Type, ResourceName: res.Name, Name: name, Value: &v})
		case had && !has:
			recs = append(recs, ConfigRecord{ResourceType: res.Type, ResourceName: res.Name, Name: name})
		}
	}
	return recs
}

// ---- brokers and features ----

// RegisterBroker registers this or another broker with its endpoints and
// rack (b.Epoch is ignored). Registering again with the same details writes
// nothing and returns the current epoch; a change re-registers with a
// higher epoch. Listener names must be non-empty and distinct
// (ErrInvalidRequest).
func (c *Controller) RegisterBroker(b Broker) (epoch int64, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b.ID < 0 {
		return 0, newAPIError(ErrInvalidRequest, "Invalid broker id %d.", b.ID)
	}
	seen := map[string]bool{}
	for _, e := range b.Endpoints {
		if e.Listener == "" || seen[e.Listener] {
			return 0, newAPIError(ErrInvalidRequest, "Empty or duplicate listener name %q.", e.Listener)
		}
		seen[e.Listener] = true
	}
	im := c.pub.Image()
	old := im.brokers[b.ID]
	if old != nil {
		same := *old
		same.Endpoints = slices.Clone(b.Endpoints)
		if len(same.Endpoints) == 0 {
			same.Endpoints = nil
		}
		same.Rack, same.Fenced = b.Rack, b.Fenced
		if brokersEqual(old, &same) {
			return old.Epoch, nil
		}
	}
	epoch = im.offset + 1
	if old != nil && old.Epoch >= epoch {
		epoch = old.Epoch + 1
	}
	rec := RegisterBrokerRecord{BrokerID: b.ID, Epoch: epoch, Rack: b.Rack, Fenced: b.Fenced, Endpoints: b.Endpoints}
	if _, err := c.log.Append([]Record{rec}); err != nil {
		return 0, err
	}
	c.logger.Info("metadata: registered broker", "broker", b.ID, "epoch", epoch)
	return epoch, nil
}

// UnregisterBroker removes a broker's registration (ErrBrokerNotRegistered
// when there is none). Its partitions keep their replica lists: moving them
// is reassignment, which is not this operation.
func (c *Controller) UnregisterBroker(id int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.pub.Image().brokers[id]
	if old == nil {
		return &apiError{kind: ErrBrokerNotRegistered, msg: fmt.Sprintf("Broker %d is not registered.", id)}
	}
	_, err := c.log.Append([]Record{UnregisterBrokerRecord{BrokerID: id, Epoch: old.Epoch}})
	return err
}

// UpdateFeature finalises a feature at a level (0 removes it). With
// validateOnly nothing is committed.
func (c *Controller) UpdateFeature(name string, level int16, validateOnly bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if name == "" || level < 0 {
		return newAPIError(ErrInvalidRequest, "Invalid feature %q at level %d.", name, level)
	}
	if validateOnly || c.pub.Image().features[name] == level {
		return nil
	}
	_, err := c.log.Append([]Record{FeatureLevelRecord{Name: name, Level: level}})
	return err
}

// ---- producer ids ----

// ProducerIDBlockSize is the number of producer ids a broker takes from the
// controller at a time, Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE.
const ProducerIDBlockSize = 1000

// AllocateProducerIDs hands brokerID the next count producer ids and
// returns the first: the block is [first, first+count). The block is
// committed (durable) before this returns, so after any restart the next
// block starts past it and no id is ever handed out twice; ids a broker was
// given but did not use are simply skipped, as in Kafka. The record carries
// the broker's registered epoch (0 while it is not registered, as a
// single-node broker may be). count must be positive and brokerID not
// negative (ErrInvalidRequest); ErrProducerIDsExhausted when the block
// would pass the largest int64.
func (c *Controller) AllocateProducerIDs(brokerID int32, count int) (first int64, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if brokerID < 0 || count <= 0 {
		return 0, newAPIError(ErrInvalidRequest, "Invalid producer id block request: broker %d, %d ids.", brokerID, count)
	}
	im := c.pub.Image()
	first = im.producerIDs.NextProducerID
	if first > math.MaxInt64-int64(count) {
		return 0, newAPIError(ErrProducerIDsExhausted,
			"Exhausted all producerIds as the next block's end producerId has exceeded the int64 type limit")
	}
	var epoch int64
	if b := im.brokers[brokerID]; b != nil {
		epoch = b.Epoch
	}
	rec := ProducerIdsRecord{BrokerID: brokerID, BrokerEpoch: epoch, NextProducerID: first + int64(count)}
	if _, err := c.log.Append([]Record{rec}); err != nil {
		return 0, err
	}
	c.logger.Debug("metadata: allocated producer ids", "broker", brokerID, "first", first, "count", count)
	return first, nil
}
