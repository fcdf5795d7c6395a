package metadata

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// Batch is the unit a metadata log orders: records committed atomically at
// one offset. Offsets increase strictly from 1; the local log makes them
// dense, a Raft log later uses its entry indexes.
type Batch struct {
	Offset  int64
	Records []Record
}

// Delta says what changed between two images, for listeners that act on
// changes (create or delete partition logs, re-apply configs). Every list is
// sorted, so the same change always yields the same Delta.
type Delta struct {
	// Offset is the offset of the newer image.
	Offset int64
	// Topics lists topics created, deleted or changed, sorted by name with
	// a deletion before a creation of the same name (a topic deleted and
	// re-created under its name keeps neither its ID nor its data).
	Topics []TopicChange
	// Configs lists resources whose overrides changed, sorted by type then
	// name. A deleted topic's overrides are listed too when it had some.
	Configs []ConfigResource
	// Brokers lists broker IDs registered, re-registered or unregistered.
	Brokers []int32
	// Features lists finalised features whose level changed.
	Features []string
}

// TopicChange is one topic's part of a Delta.
type TopicChange struct {
	ID      UUID
	Name    string
	Created bool // the topic is new; every partition is in AddedPartitions
	Deleted bool // the topic is gone; Topic is how it was before
	// Topic is the topic in the newer image, or in the older one when
	// Deleted. Shared with the image: read only.
	Topic *Topic
	// AddedPartitions lists partition IDs that are new, ascending.
	AddedPartitions []int32
	// ChangedPartitions lists existing partitions whose replicas, ISR,
	// leader or epochs changed, ascending.
	ChangedPartitions []int32
}

// Empty reports whether the delta carries no change.
func (d *Delta) Empty() bool {
	return len(d.Topics) == 0 && len(d.Configs) == 0 && len(d.Brokers) == 0 && len(d.Features) == 0
}

// Apply returns the image that results from applying batch to im, and the
// delta between them. im is not modified. The batch's offset must be above
// im's. A record that does not fit the image (a partition of an unknown
// topic, a duplicate name) fails the whole batch with an error wrapping
// ErrInconsistent, and nothing is applied.
func (im *Image) Apply(batch Batch) (*Image, *Delta, error) {
	b := newBuilder(im)
	if err := b.apply(batch); err != nil {
		return nil, nil, err
	}
	next := b.build()
	return next, b.delta(next), nil
}

// Replay applies batches in order to im and returns the final image and the
// delta from im to it. It copies each changed map once however many batches
// touch it, which is what replaying a long log needs. An error names the
// failing batch's offset and leaves im unchanged.
func Replay(im *Image, batches ...Batch) (*Image, *Delta, error) {
	b := newBuilder(im)
	for _, batch := range batches {
		if err := b.apply(batch); err != nil {
			return nil, nil, err
		}
	}
	next := b.build()
	return next, b.delta(next), nil
}

// Diff returns the delta between two unrelated images, as a listener needs
// when a whole image is installed (a snapshot) rather than a batch applied.
func Diff(prev, next *Image) *Delta {
	b := newBuilder(prev)
	for id := range prev.topics {
		b.touchedTopics[id] = struct{}{}
	}
	for id := range next.topics {
		b.touchedTopics[id] = struct{}{}
	}
	for res := range prev.configs {
		b.touchedConfigs[res] = struct{}{}
	}
	for res := range next.configs {
		b.touchedConfigs[res] = struct{}{}
	}
	for id := range prev.brokers {
		b.touchedBrokers[id] = struct{}{}
	}
	for id := range next.brokers {
		b.touchedBrokers[id] = struct{}{}
	}
	for f := range prev.features {
		b.touchedFeatures[f] = struct{}{}
	}
	for f := range next.features {
		b.touchedFeatures[f] = struct{}{}
	}
	return b.delta(next)
}

// builder accumulates changes on top of a base image without modifying it:
// each map, topic and config set is copied the first time it is changed and
// owned (mutable) from then on. It also records what it touched, so that
// the delta compares only those keys.
type builder struct {
	base *Image
	cur  Image // maps shared with base until the own* flag is set

	// own* flags: the map has been copied and may be mutated.
	ownTopics, ownNames, ownConfigs, ownBrokers, ownFeatures bool

	ownedTopics  map[UUID]bool           // topics copied by this builder
	ownedConfigs map[ConfigResource]bool // inner config maps copied

	touchedTopics   map[UUID]struct{}
	touchedConfigs  map[ConfigResource]struct{}
	touchedBrokers  map[int32]struct{}
	touchedFeatures map[string]struct{}
}

func newBuilder(base *Image) *builder {
	return &builder{
		base:            base,
		cur:             *base,
		ownedTopics:     map[UUID]bool{},
		ownedConfigs:    map[ConfigResource]bool{},
		touchedTopics:   map[UUID]struct{}{},
		touchedConfigs:  map[ConfigResource]struct{}{},
		touchedBrokers:  map[int32]struct{}{},
		touchedFeatures: map[string]struct{}{},
	}
}

// build returns the accumulated image. The builder must not be used after.
func (b *builder) build() *Image {
	im := b.cur
	return &im
}

func inconsistent(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInconsistent, fmt.Sprintf(format, args...))
}

func (b *builder) apply(batch Batch) error {
	if batch.Offset <= b.cur.offset {
		return inconsistent("batch offset %d is not above the image's %d", batch.Offset, b.cur.offset)
	}
	for i, r := range batch.Records {
		if err := b.applyRecord(r); err != nil {
			return fmt.Errorf("batch at offset %d, record %d (%v): %w", batch.Offset, i, r.Type(), err)
		}
	}
	b.cur.offset = batch.Offset
	return nil
}

func (b *builder) applyRecord(r Record) error {
	switch r := r.(type) {
	case TopicRecord:
		return b.applyTopic(r)
	case PartitionRecord:
		return b.applyPartition(r)
	case PartitionChangeRecord:
		return b.applyPartitionChange(r)
	case ConfigRecord:
		return b.applyConfig(r)
	case RemoveTopicRecord:
		return b.applyRemoveTopic(r)
	case FeatureLevelRecord:
		return b.applyFeature(r)
	case RegisterBrokerRecord:
		return b.applyRegisterBroker(r)
	case UnregisterBrokerRecord:
		return b.applyUnregisterBroker(r)
	case ProducerIdsRecord:
		return b.applyProducerIDs(r)
	}
	return inconsistent("unsupported record %T", r)
}

// ---- copy on write ----

func (b *builder) topicsForWrite() {
	if !b.ownTopics {
		b.cur.topics = maps.Clone(b.cur.topics)
		b.ownTopics = true
	}
	if !b.ownNames {
		b.cur.names = maps.Clone(b.cur.names)
		b.ownNames = true
	}
}

// topicForWrite returns a mutable copy of the topic with the given ID,
// installed in both indexes.
func (b *builder) topicForWrite(id UUID) *Topic {
	t := b.cur.topics[id]
	if t == nil || b.ownedTopics[id] {
		return t
	}
	b.topicsForWrite()
	c := *t
	c.Partitions = slices.Clone(t.Partitions)
	b.cur.topics[id] = &c
	b.cur.names[c.Name] = &c
	b.ownedTopics[id] = true
	return &c
}

// configsForWrite returns a mutable override map for res, creating it.
func (b *builder) configsForWrite(res ConfigResource) map[string]string {
	if !b.ownConfigs {
		b.cur.configs = maps.Clone(b.cur.configs)
		b.ownConfigs = true
	}
	m := b.cur.configs[res]
	if !b.ownedConfigs[res] {
		m = maps.Clone(m)
		if m == nil {
			m = map[string]string{}
		}
		b.cur.configs[res] = m
		b.ownedConfigs[res] = true
	}
	return m
}

// ---- records ----

func (b *builder) applyTopic(r TopicRecord) error {
	if r.TopicID.IsZero() || r.TopicID == oneUUID {
		return inconsistent("topic %q has reserved id %v", r.Name, r.TopicID)
	}
	// The controller validated the name; checking again here keeps a name
	// that is not a safe directory name ("../x") out of every image, even
	// one replayed from a damaged or foreign log.
	if err := ValidateTopicName(r.Name); err != nil {
		return inconsistent("topic with id %v: %s", r.TopicID, ErrorMessage(err))
	}
	if b.cur.topics[r.TopicID] != nil {
		return inconsistent("topic id %v already exists", r.TopicID)
	}
	if b.cur.names[r.Name] != nil {
		return inconsistent("topic %q already exists", r.Name)
	}
	b.topicsForWrite()
	t := &Topic{Name: r.Name, ID: r.TopicID, Internal: r.Internal}
	b.cur.topics[r.TopicID] = t
	b.cur.names[r.Name] = t
	b.ownedTopics[r.TopicID] = true
	b.touchedTopics[r.TopicID] = struct{}{}
	return nil
}

// validatePartition checks the invariants every partition in an image
// keeps, whichever record produced it.
func validatePartition(p *Partition) error {
	if len(p.Replicas) == 0 {
		return inconsistent("partition %d has no replicas", p.ID)
	}
	seen := make(map[int32]bool, len(p.Replicas))
	for _, r := range p.Replicas {
		if r < 0 {
			return inconsistent("partition %d has negative replica %d", p.ID, r)
		}
		if seen[r] {
			return inconsistent("partition %d lists replica %d twice", p.ID, r)
		}
		seen[r] = true
	}
	inISR := make(map[int32]bool, len(p.ISR))
	for _, r := range p.ISR {
		if !seen[r] {
			return inconsistent("partition %d has ISR member %d outside its replicas", p.ID, r)
		}
		if inISR[r] {
			return inconsistent("partition %d lists ISR member %d twice", p.ID, r)
		}
		inISR[r] = true
	}
	if p.Leader != NoLeader && !seen[p.Leader] {
		return inconsistent("partition %d has leader %d outside its replicas", p.ID, p.Leader)
	}
	if p.LeaderEpoch < 0 || p.PartitionEpoch < 0 {
		return inconsistent("partition %d has a negative epoch", p.ID)
	}
	return nil
}

// canon returns a copy of s, nil when empty: images never hold empty
// non-nil slices, so that equal images compare equal.
func canon(s []int32) []int32 {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

func (b *builder) applyPartition(r PartitionRecord) error {
	t := b.cur.topics[r.TopicID]
	if t == nil {
		return inconsistent("partition %d of unknown topic id %v", r.PartitionID, r.TopicID)
	}
	if r.PartitionID < 0 || int(r.PartitionID) > len(t.Partitions) {
		return inconsistent("partition %d of topic %q would leave a gap after %d partitions",
			r.PartitionID, t.Name, len(t.Partitions))
	}
	p := Partition{
		ID:             r.PartitionID,
		Replicas:       canon(r.Replicas),
		ISR:            canon(r.ISR),
		Leader:         r.Leader,
		LeaderEpoch:    r.LeaderEpoch,
		PartitionEpoch: r.PartitionEpoch,
	}
	if err := validatePartition(&p); err != nil {
		return fmt.Errorf("topic %q: %w", t.Name, err)
	}
	t = b.topicForWrite(r.TopicID)
	if int(r.PartitionID) == len(t.Partitions) {
		t.Partitions = append(t.Partitions, p)
	} else {
		t.Partitions[r.PartitionID] = p
	}
	b.touchedTopics[r.TopicID] = struct{}{}
	return nil
}

func (b *builder) applyPartitionChange(r PartitionChangeRecord) error {
	t := b.cur.topics[r.TopicID]
	if t == nil {
		return inconsistent("change of partition %d of unknown topic id %v", r.PartitionID, r.TopicID)
	}
	old, ok := t.Partition(r.PartitionID)
	if !ok {
		return inconsistent("change of unknown partition %d of topic %q", r.PartitionID, t.Name)
	}
	p := old
	if r.Replicas != nil {
		p.Replicas = canon(r.Replicas)
	}
	if r.ISR != nil {
		p.ISR = canon(r.ISR)
	}
	if r.Leader != NoLeaderChange {
		if r.Leader < NoLeader {
			return inconsistent("partition %d of topic %q: invalid leader %d", r.PartitionID, t.Name, r.Leader)
		}
		p.Leader = r.Leader
		p.LeaderEpoch++
	}
	p.PartitionEpoch++
	if p.LeaderEpoch < 0 || p.PartitionEpoch < 0 {
		return inconsistent("partition %d of topic %q: epoch overflow", r.PartitionID, t.Name)
	}
	if err := validatePartition(&p); err != nil {
		return fmt.Errorf("topic %q: %w", t.Name, err)
	}
	t = b.topicForWrite(r.TopicID)
	t.Partitions[r.PartitionID] = p
	b.touchedTopics[r.TopicID] = struct{}{}
	return nil
}

// validBrokerResourceName reports whether name names a broker config
// resource: "" (the cluster-wide default) or a node id in decimal.
func validBrokerResourceName(name string) bool {
	if name == "" {
		return true
	}
	id, err := strconv.ParseInt(name, 10, 32)
	return err == nil && id >= 0 && strconv.FormatInt(id, 10) == name
}

func (b *builder) applyConfig(r ConfigRecord) error {
	res := ConfigResource{Type: r.ResourceType, Name: r.ResourceName}
	switch r.ResourceType {
	case ResourceTopic:
		if b.cur.names[r.ResourceName] == nil {
			return inconsistent("config %q of unknown topic %q", r.Name, r.ResourceName)
		}
	case ResourceBroker:
		if !validBrokerResourceName(r.ResourceName) {
			return inconsistent("config %q of invalid broker resource %q", r.Name, r.ResourceName)
		}
	default:
		return inconsistent("config %q of unsupported resource type %d", r.Name, r.ResourceType)
	}
	if r.Name == "" {
		return inconsistent("config with an empty name on %v", res)
	}
	b.touchedConfigs[res] = struct{}{}
	if r.Value == nil {
		if _, ok := b.cur.configs[res][r.Name]; !ok {
			return nil
		}
		m := b.configsForWrite(res)
		delete(m, r.Name)
		if len(m) == 0 {
			delete(b.cur.configs, res)
			delete(b.ownedConfigs, res)
		}
		return nil
	}
	b.configsForWrite(res)[r.Name] = *r.Value
	return nil
}

func (b *builder) applyRemoveTopic(r RemoveTopicRecord) error {
	t := b.cur.topics[r.TopicID]
	if t == nil {
		return inconsistent("removal of unknown topic id %v", r.TopicID)
	}
	b.topicsForWrite()
	delete(b.cur.topics, r.TopicID)
	delete(b.cur.names, t.Name)
	delete(b.ownedTopics, r.TopicID)
	b.touchedTopics[r.TopicID] = struct{}{}
	res := ConfigResource{Type: ResourceTopic, Name: t.Name}
	if _, ok := b.cur.configs[res]; ok {
		if !b.ownConfigs {
			b.cur.configs = maps.Clone(b.cur.configs)
			b.ownConfigs = true
		}
		delete(b.cur.configs, res)
		delete(b.ownedConfigs, res)
		b.touchedConfigs[res] = struct{}{}
	}
	return nil
}

func (b *builder) applyFeature(r FeatureLevelRecord) error {
	if r.Name == "" || r.Level < 0 {
		return inconsistent("feature %q at level %d", r.Name, r.Level)
	}
	if !b.ownFeatures {
		b.cur.features = maps.Clone(b.cur.features)
		b.ownFeatures = true
	}
	if r.Level == 0 {
		delete(b.cur.features, r.Name)
	} else {
		b.cur.features[r.Name] = r.Level
	}
	b.touchedFeatures[r.Name] = struct{}{}
	return nil
}

func (b *builder) applyRegisterBroker(r RegisterBrokerRecord) error {
	if r.BrokerID < 0 || r.Epoch < 0 {
		return inconsistent("registration of broker %d at epoch %d", r.BrokerID, r.Epoch)
	}
	if old := b.cur.brokers[r.BrokerID]; old != nil && r.Epoch <= old.Epoch {
		return inconsistent("re-registration of broker %d at epoch %d, not above %d", r.BrokerID, r.Epoch, old.Epoch)
	}
	seen := map[string]bool{}
	for _, e := range r.Endpoints {
		if e.Listener == "" || seen[e.Listener] {
			return inconsistent("broker %d has an empty or repeated listener name %q", r.BrokerID, e.Listener)
		}
		seen[e.Listener] = true
	}
	if !b.ownBrokers {
		b.cur.brokers = maps.Clone(b.cur.brokers)
		b.ownBrokers = true
	}
	var eps []Endpoint
	if len(r.Endpoints) > 0 {
		eps = slices.Clone(r.Endpoints)
	}
	b.cur.brokers[r.BrokerID] = &Broker{ID: r.BrokerID, Epoch: r.Epoch, Rack: r.Rack, Fenced: r.Fenced, Endpoints: eps}
	b.touchedBrokers[r.BrokerID] = struct{}{}
	return nil
}

func (b *builder) applyUnregisterBroker(r UnregisterBrokerRecord) error {
	old := b.cur.brokers[r.BrokerID]
	if old == nil || old.Epoch != r.Epoch {
		return inconsistent("unregistration of broker %d at epoch %d, which is not registered", r.BrokerID, r.Epoch)
	}
	if !b.ownBrokers {
		b.cur.brokers = maps.Clone(b.cur.brokers)
		b.ownBrokers = true
	}
	delete(b.cur.brokers, r.BrokerID)
	b.touchedBrokers[r.BrokerID] = struct{}{}
	return nil
}

// applyProducerIDs moves the producer id high-water mark. It must only go
// up, as in Kafka's ProducerIdControlManager.replay: a record that would
// move it back would let two brokers hand out the same id.
func (b *builder) applyProducerIDs(r ProducerIdsRecord) error {
	if r.NextProducerID <= b.cur.producerIDs.NextProducerID {
		return inconsistent("next producer id %d is not above the current %d", r.NextProducerID, b.cur.producerIDs.NextProducerID)
	}
	b.cur.producerIDs = r
	return nil
}

// ---- delta ----

func partitionsEqual(a, b *Partition) bool {
	return a.ID == b.ID && a.Leader == b.Leader && a.LeaderEpoch == b.LeaderEpoch &&
		a.PartitionEpoch == b.PartitionEpoch && slices.Equal(a.Replicas, b.Replicas) && slices.Equal(a.ISR, b.ISR)
}

func brokersEqual(a, b *Broker) bool {
	return a.ID == b.ID && a.Epoch == b.Epoch && a.Rack == b.Rack && a.Fenced == b.Fenced &&
		slices.Equal(a.Endpoints, b.Endpoints)
}

// delta compares base and next on the keys the builder touched.
func (b *builder) delta(next *Image) *Delta {
	prev := b.base
	d := &Delta{Offset: next.offset}
	for id := range b.touchedTopics {
		old, cur := prev.topics[id], next.topics[id]
		switch {
		case old == nil && cur == nil:
			// Created and removed within the delta: no net change.
		case old == nil:
			tc := TopicChange{ID: id, Name: cur.Name, Created: true, Topic: cur}
			for i := range cur.Partitions {
				tc.AddedPartitions = append(tc.AddedPartitions, int32(i))
			}
			d.Topics = append(d.Topics, tc)
		case cur == nil:
			d.Topics = append(d.Topics, TopicChange{ID: id, Name: old.Name, Deleted: true, Topic: old})
		case old != cur:
			tc := TopicChange{ID: id, Name: cur.Name, Topic: cur}
			for i := range cur.Partitions {
				if i >= len(old.Partitions) {
					tc.AddedPartitions = append(tc.AddedPartitions, int32(i))
				} else if !partitionsEqual(&old.Partitions[i], &cur.Partitions[i]) {
					tc.ChangedPartitions = append(tc.ChangedPartitions, int32(i))
				}
			}
			if tc.AddedPartitions != nil || tc.ChangedPartitions != nil || old.Internal != cur.Internal {
				d.Topics = append(d.Topics, tc)
			}
		}
	}
	slices.SortFunc(d.Topics, func(a, b TopicChange) int {
		if c := cmp.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if a.Deleted != b.Deleted {
			if a.Deleted {
				return -1
			}
			return 1
		}
		return slices.Compare(a.ID[:], b.ID[:])
	})
	for res := range b.touchedConfigs {
		if !maps.Equal(prev.configs[res], next.configs[res]) {
			d.Configs = append(d.Configs, res)
		}
	}
	slices.SortFunc(d.Configs, compareResources)
	for id := range b.touchedBrokers {
		old, cur := prev.brokers[id], next.brokers[id]
		if (old == nil) != (cur == nil) || old != nil && !brokersEqual(old, cur) {
			d.Brokers = append(d.Brokers, id)
		}
	}
	slices.Sort(d.Brokers)
	for f := range b.touchedFeatures {
		if prev.features[f] != next.features[f] {
			d.Features = append(d.Features, f)
		}
	}
	slices.Sort(d.Features)
	return d
}
