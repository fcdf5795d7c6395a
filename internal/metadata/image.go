package metadata

import (
	"cmp"
	"maps"
	"slices"
)

// Image is an immutable snapshot of cluster metadata: the result of applying
// every committed batch up to Offset, in order, to the empty image. Request
// handlers take the current Image from a Publisher (one atomic load) and
// read it without locks; an Image never changes once published, and a
// change produces a new Image that shares every untouched topic, config set
// and broker with the old one.
//
// Everything an Image returns is shared with it: pointers (*Topic, *Broker)
// and the slices inside them (Partitions, Replicas, ISR, Endpoints) must not
// be modified. Methods that return maps or lists of pointers build them
// fresh, and those containers are the caller's. An Image is safe for
// concurrent use.
type Image struct {
	offset   int64
	topics   map[UUID]*Topic                      // by topic ID
	names    map[string]*Topic                    // by name; same *Topic values as topics
	configs  map[ConfigResource]map[string]string // inner maps never empty
	brokers  map[int32]*Broker
	features map[string]int16 // levels never 0

	// producerIDs is the last ProducerIdsRecord applied (zero before any):
	// every id below its NextProducerID has been handed to some broker.
	producerIDs ProducerIdsRecord
}

// Topic is a topic in an Image. Partitions holds partition i at index i;
// partitions are dense from 0, as in Kafka. Shared with its Image: read
// only.
type Topic struct {
	Name       string
	ID         UUID
	Internal   bool
	Partitions []Partition
}

// Partition is one partition's replica set and leadership, as
// PartitionRecord stores it. Shared with its Image: read only.
type Partition struct {
	ID             int32
	Replicas       []int32
	ISR            []int32
	Leader         int32 // NoLeader when offline
	LeaderEpoch    int32
	PartitionEpoch int32
}

// Broker is a registered broker. Shared with its Image: read only.
type Broker struct {
	ID        int32
	Epoch     int64
	Rack      string // "" when none
	Fenced    bool
	Endpoints []Endpoint
}

// emptyImage is shared by every caller of EmptyImage: an Image is immutable,
// so one empty value serves all.
var emptyImage = &Image{
	topics:   map[UUID]*Topic{},
	names:    map[string]*Topic{},
	configs:  map[ConfigResource]map[string]string{},
	brokers:  map[int32]*Broker{},
	features: map[string]int16{},
}

// EmptyImage returns the image before any record: offset 0, no topics.
func EmptyImage() *Image { return emptyImage }

// Offset returns the offset of the last batch the image includes; 0 for the
// empty image.
func (im *Image) Offset() int64 { return im.offset }

// Topic returns the topic with the given name, or nil.
func (im *Image) Topic(name string) *Topic { return im.names[name] }

// TopicByID returns the topic with the given ID, or nil.
func (im *Image) TopicByID(id UUID) *Topic { return im.topics[id] }

// TopicCount returns the number of topics.
func (im *Image) TopicCount() int { return len(im.topics) }

// Topics returns every topic sorted by name, in a new slice.
func (im *Image) Topics() []*Topic {
	ts := make([]*Topic, 0, len(im.names))
	for _, t := range im.names {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b *Topic) int { return cmp.Compare(a.Name, b.Name) })
	return ts
}

// Partition returns partition p of the named topic.
func (im *Image) Partition(topic string, p int32) (Partition, bool) {
	t := im.names[topic]
	if t == nil {
		return Partition{}, false
	}
	return t.Partition(p)
}

// Configs returns the config overrides of a resource in a new map (empty,
// not nil, when there are none).
func (im *Image) Configs(res ConfigResource) map[string]string {
	m := maps.Clone(im.configs[res])
	if m == nil {
		m = map[string]string{}
	}
	return m
}

// TopicConfigs returns the named topic's config overrides in a new map.
func (im *Image) TopicConfigs(topic string) map[string]string {
	return im.Configs(ConfigResource{Type: ResourceTopic, Name: topic})
}

// Config returns one override of a resource.
func (im *Image) Config(res ConfigResource, name string) (string, bool) {
	v, ok := im.configs[res][name]
	return v, ok
}

// ConfigResources returns every resource that has overrides, sorted by type
// then name, in a new slice.
func (im *Image) ConfigResources() []ConfigResource {
	rs := slices.Collect(maps.Keys(im.configs))
	slices.SortFunc(rs, compareResources)
	return rs
}

func compareResources(a, b ConfigResource) int {
	if c := cmp.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	return cmp.Compare(a.Name, b.Name)
}

// Broker returns the registered broker with the given ID, or nil.
func (im *Image) Broker(id int32) *Broker { return im.brokers[id] }

// Brokers returns every registered broker sorted by ID, in a new slice.
func (im *Image) Brokers() []*Broker {
	bs := make([]*Broker, 0, len(im.brokers))
	for _, b := range im.brokers {
		bs = append(bs, b)
	}
	slices.SortFunc(bs, func(a, b *Broker) int { return cmp.Compare(a.ID, b.ID) })
	return bs
}

// FeatureLevel returns a finalised feature's level, 0 when it is not set.
func (im *Image) FeatureLevel(name string) int16 { return im.features[name] }

// Features returns every finalised feature in a new map.
func (im *Image) Features() map[string]int16 { return maps.Clone(im.features) }

// NextProducerID returns the first producer id no broker has been given
// yet: the start of the next block AllocateProducerIDs hands out.
func (im *Image) NextProducerID() int64 { return im.producerIDs.NextProducerID }

// Partition returns partition p.
func (t *Topic) Partition(p int32) (Partition, bool) {
	if p < 0 || int(p) >= len(t.Partitions) {
		return Partition{}, false
	}
	return t.Partitions[p], true
}

// NumPartitions returns the partition count.
func (t *Topic) NumPartitions() int32 { return int32(len(t.Partitions)) }

// ReplicationFactor returns the replica count of partition 0 (Kafka reports
// a topic's replication factor the same way), or 0 for a topic without
// partitions.
func (t *Topic) ReplicationFactor() int16 {
	if len(t.Partitions) == 0 {
		return 0
	}
	return int16(len(t.Partitions[0].Replicas))
}

// Records returns records that rebuild this image from the empty one, in a
// canonical order: features by name, brokers by ID, then each topic by name
// followed by its partitions and its config overrides (by name), then
// broker config overrides, then the producer id high-water mark (when any
// block was handed out). Equal images give equal record lists, which is
// what a snapshot stores. The records share slices with the image.
func (im *Image) Records() []Record {
	var recs []Record
	for _, name := range slices.Sorted(maps.Keys(im.features)) {
		recs = append(recs, FeatureLevelRecord{Name: name, Level: im.features[name]})
	}
	for _, b := range im.Brokers() {
		recs = append(recs, RegisterBrokerRecord{
			BrokerID: b.ID, Epoch: b.Epoch, Rack: b.Rack, Fenced: b.Fenced, Endpoints: b.Endpoints,
		})
	}
	for _, t := range im.Topics() {
		recs = append(recs, TopicRecord{Name: t.Name, TopicID: t.ID, Internal: t.Internal})
		for _, p := range t.Partitions {
			recs = append(recs, PartitionRecord{
				PartitionID: p.ID, TopicID: t.ID, Replicas: p.Replicas, ISR: p.ISR,
				Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch,
			})
		}
		recs = appendConfigRecords(recs, ConfigResource{Type: ResourceTopic, Name: t.Name}, im.configs)
	}
	for _, res := range im.ConfigResources() {
		if res.Type != ResourceTopic {
			recs = appendConfigRecords(recs, res, im.configs)
		}
	}
	if im.producerIDs.NextProducerID > 0 {
		recs = append(recs, im.producerIDs)
	}
	return recs
}

func appendConfigRecords(recs []Record, res ConfigResource, configs map[ConfigResource]map[string]string) []Record {
	m := configs[res]
	for _, name := range slices.Sorted(maps.Keys(m)) {
		v := m[name]
		recs = append(recs, ConfigRecord{ResourceType: res.Type, ResourceName: res.Name, Name: name, Value: &v})
	}
	return recs
}
