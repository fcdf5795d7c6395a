package metadata

import (
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
)

var (
	idA = UUID{0: 0xA, 15: 1}
	idB = UUID{0: 0xB, 15: 1}
)

func topicBatch(offset int64, name string, id UUID, parts int, configs ...string) Batch {
	recs := []Record{TopicRecord{Name: name, TopicID: id}}
	for p := range parts {
		recs = append(recs, PartitionRecord{PartitionID: int32(p), TopicID: id, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1})
	}
	for i := 0; i+1 < len(configs); i += 2 {
		recs = append(recs, ConfigRecord{ResourceType: ResourceTopic, ResourceName: name, Name: configs[i], Value: strp(configs[i+1])})
	}
	return Batch{Offset: offset, Records: recs}
}

func mustApply(t *testing.T, im *Image, b Batch) (*Image, *Delta) {
	t.Helper()
	next, d, err := im.Apply(b)
	if err != nil {
		t.Fatalf("apply batch %d: %v", b.Offset, err)
	}
	return next, d
}

func TestImageApplyTopicLifecycle(t *testing.T) {
	im0 := EmptyImage()
	im1, d1 := mustApply(t, im0, topicBatch(1, "orders", idA, 3, "retention.ms", "100"))
	if im0.TopicCount() != 0 || im0.Offset() != 0 {
		t.Fatal("applying modified the base image")
	}
	if im1.Offset() != 1 || im1.TopicCount() != 1 {
		t.Fatalf("offset %d topics %d", im1.Offset(), im1.TopicCount())
	}
	top := im1.Topic("orders")
	if top == nil || top != im1.TopicByID(idA) || top.NumPartitions() != 3 || top.ReplicationFactor() != 1 {
		t.Fatalf("topic %+v", top)
	}
	if p, ok := im1.Partition("orders", 2); !ok || p.Leader != 1 || p.ID != 2 {
		t.Fatalf("partition 2: %+v %v", p, ok)
	}
	if _, ok := im1.Partition("orders", 3); ok {
		t.Fatal("partition 3 exists")
	}
	if v, ok := im1.Config(ConfigResource{ResourceTopic, "orders"}, "retention.ms"); !ok || v != "100" {
		t.Fatalf("config %q %v", v, ok)
	}
	want := &Delta{Offset: 1, Topics: []TopicChange{{ID: idA, Name: "orders", Created: true, Topic: top,
		AddedPartitions: []int32{0, 1, 2}}}, Configs: []ConfigResource{{ResourceTopic, "orders"}}}
	if !reflect.DeepEqual(d1, want) {
		t.Fatalf("delta\n got %+v\nwant %+v", d1, want)
	}

	// Grow, change a partition, and delete a config in one batch.
	im2, d2 := mustApply(t, im1, Batch{Offset: 2, Records: []Record{
		PartitionRecord{PartitionID: 3, TopicID: idA, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1},
		PartitionChangeRecord{PartitionID: 0, TopicID: idA, Leader: NoLeader, ISR: []int32{}},
		ConfigRecord{ResourceType: ResourceTopic, ResourceName: "orders", Name: "retention.ms"},
	}})
	if im1.Topic("orders").NumPartitions() != 3 {
		t.Fatal("old image changed")
	}
	p0, _ := im2.Partition("orders", 0)
	if p0.Leader != NoLeader || p0.LeaderEpoch != 1 || p0.PartitionEpoch != 1 || p0.ISR != nil {
		t.Fatalf("changed partition %+v", p0)
	}
	if len(im2.Configs(ConfigResource{ResourceTopic, "orders"})) != 0 || len(im2.ConfigResources()) != 0 {
		t.Fatal("config not deleted")
	}
	if len(d2.Topics) != 1 || !slices.Equal(d2.Topics[0].AddedPartitions, []int32{3}) ||
		!slices.Equal(d2.Topics[0].ChangedPartitions, []int32{0}) || d2.Topics[0].Created {
		t.Fatalf("delta %+v", d2.Topics)
	}

	// Delete and re-create under the same name in one batch.
	im3, d3 := mustApply(t, im2, Batch{Offset: 3, Records: []Record{
		RemoveTopicRecord{TopicID: idA},
		TopicRecord{Name: "orders", TopicID: idB},
		PartitionRecord{PartitionID: 0, TopicID: idB, Replicas: []int32{1}, ISR: []int32{1}, Leader: 1},
	}})
	if im3.TopicByID(idA) != nil || im3.Topic("orders").ID != idB {
		t.Fatal("re-create")
	}
	if len(d3.Topics) != 2 || !d3.Topics[0].Deleted || d3.Topics[0].ID != idA || !d3.Topics[1].Created || d3.Topics[1].ID != idB {
		t.Fatalf("delete-before-create order: %+v", d3.Topics)
	}
	if d3.Topics[0].Topic.NumPartitions() != 4 {
		t.Fatal("deleted topic should be the old one")
	}
}

func TestImageApplyInconsistent(t *testing.T) {
	base, _ := mustApply(t, EmptyImage(), topicBatch(1, "orders", idA, 2, "a", "b"))
	base, _ = mustApply(t, base, Batch{Offset: 2, Records: []Record{RegisterBrokerRecord{BrokerID: 1, Epoch: 2}}})
	cases := []struct {
		name string
		rec  Record
	}{
		{"duplicate topic name", TopicRecord{Name: "orders", TopicID: idB}},
		{"duplicate topic id", TopicRecord{Name: "other", TopicID: idA}},
		{"zero topic id", TopicRecord{Name: "other"}},
		{"reserved topic id", TopicRecord{Name: "other", TopicID: oneUUID}},
		{"empty topic name", TopicRecord{TopicID: idB}},
		{"path-like topic name", TopicRecord{Name: "../etc", TopicID: idB}},
		{"partition of unknown topic", PartitionRecord{TopicID: idB, Replicas: []int32{1}}},
		{"partition gap", PartitionRecord{PartitionID: 5, TopicID: idA, Replicas: []int32{1}}},
		{"negative partition", PartitionRecord{PartitionID: -1, TopicID: idA, Replicas: []int32{1}}},
		{"no replicas", PartitionRecord{PartitionID: 2, TopicID: idA}},
		{"duplicate replica", PartitionRecord{PartitionID: 2, TopicID: idA, Replicas: []int32{1, 1}}},
		{"negative replica", PartitionRecord{PartitionID: 2, TopicID: idA, Replicas: []int32{-3}}},
		{"isr outside replicas", PartitionRecord{PartitionID: 2, TopicID: idA, Replicas: []int32{1}, ISR: []int32{2}}},
		{"duplicate isr", PartitionRecord{PartitionID: 2, TopicID: idA, Replicas: []int32{1, 2}, ISR: []int32{2, 2}}},
		{"leader outside replicas", PartitionRecord{PartitionID: 2, TopicID: idA, Replicas: []int32{1}, Leader: 4}},
		{"negative epoch", PartitionRecord{PartitionID: 2, TopicID: idA, Replicas: []int32{1}, Leader: 1, LeaderEpoch: -1}},
		{"change of unknown topic", PartitionChangeRecord{TopicID: idB, Leader: NoLeaderChange}},
		{"change of unknown partition", PartitionChangeRecord{PartitionID: 9, TopicID: idA, Leader: NoLeaderChange}},
		{"change to bad leader", PartitionChangeRecord{PartitionID: 0, TopicID: idA, Leader: 7}},
		{"change to invalid leader value", PartitionChangeRecord{PartitionID: 0, TopicID: idA, Leader: -5}},
		{"change of isr outside replicas", PartitionChangeRecord{PartitionID: 0, TopicID: idA, Leader: NoLeaderChange, ISR: []int32{3}}},
		{"config of unknown topic", ConfigRecord{ResourceType: ResourceTopic, ResourceName: "nope", Name: "a", Value: strp("1")}},
		{"config of bad broker name", ConfigRecord{ResourceType: ResourceBroker, ResourceName: "01", Name: "a", Value: strp("1")}},
		{"config of negative broker", ConfigRecord{ResourceType: ResourceBroker, ResourceName: "-1", Name: "a", Value: strp("1")}},
		{"config of unknown resource type", ConfigRecord{ResourceType: 8, ResourceName: "x", Name: "a", Value: strp("1")}},
		{"config with empty name", ConfigRecord{ResourceType: ResourceBroker, Name: "", Value: strp("1")}},
		{"remove unknown topic", RemoveTopicRecord{TopicID: idB}},
		{"negative feature level", FeatureLevelRecord{Name: "f", Level: -1}},
		{"empty feature name", FeatureLevelRecord{Level: 1}},
		{"broker epoch not increasing", RegisterBrokerRecord{BrokerID: 1, Epoch: 2}},
		{"negative broker", RegisterBrokerRecord{BrokerID: -1}},
		{"duplicate listener", RegisterBrokerRecord{BrokerID: 3, Endpoints: []Endpoint{{Listener: "A"}, {Listener: "A"}}}},
		{"empty listener", RegisterBrokerRecord{BrokerID: 3, Endpoints: []Endpoint{{}}}},
		{"unregister wrong epoch", UnregisterBrokerRecord{BrokerID: 1, Epoch: 1}},
		{"unregister unknown", UnregisterBrokerRecord{BrokerID: 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The bad record comes after a good one, to check nothing of
			// the batch leaks into the base image.
			b := Batch{Offset: 3, Records: []Record{FeatureLevelRecord{Name: "ok", Level: 1}, c.rec}}
			_, _, err := base.Apply(b)
			if !errors.Is(err, ErrInconsistent) {
				t.Fatalf("err = %v, want ErrInconsistent", err)
			}
			if base.FeatureLevel("ok") != 0 || base.Offset() != 2 {
				t.Fatal("failed batch changed the base image")
			}
		})
	}
	if _, _, err := base.Apply(Batch{Offset: 2}); !errors.Is(err, ErrInconsistent) {
		t.Errorf("non-increasing offset: %v", err)
	}
}

func TestImageBrokersAndFeatures(t *testing.T) {
	ep := []Endpoint{{Listener: "PLAINTEXT", Host: "h", Port: 1}}
	im, d := mustApply(t, EmptyImage(), Batch{Offset: 1, Records: []Record{
		RegisterBrokerRecord{BrokerID: 2, Epoch: 1, Endpoints: ep},
		RegisterBrokerRecord{BrokerID: 1, Epoch: 1, Rack: "r"},
		FeatureLevelRecord{Name: "metadata.version", Level: 3},
	}})
	if bs := im.Brokers(); len(bs) != 2 || bs[0].ID != 1 || bs[1].ID != 2 || bs[0].Rack != "r" {
		t.Fatalf("brokers %+v", bs)
	}
	if !slices.Equal(d.Brokers, []int32{1, 2}) || !slices.Equal(d.Features, []string{"metadata.version"}) {
		t.Fatalf("delta %+v", d)
	}
	if im.FeatureLevel("metadata.version") != 3 || len(im.Features()) != 1 {
		t.Fatal("feature")
	}
	im2, d2 := mustApply(t, im, Batch{Offset: 2, Records: []Record{
		UnregisterBrokerRecord{BrokerID: 2, Epoch: 1},
		FeatureLevelRecord{Name: "metadata.version", Level: 0},
		ConfigRecord{ResourceType: ResourceBroker, ResourceName: "", Name: "x", Value: strp("1")},
	}})
	if im2.Broker(2) != nil || im.Broker(2) == nil || im2.FeatureLevel("metadata.version") != 0 {
		t.Fatal("unregister/remove")
	}
	if !slices.Equal(d2.Brokers, []int32{2}) || len(d2.Configs) != 1 || d2.Configs[0].Type != ResourceBroker {
		t.Fatalf("delta %+v", d2)
	}
	// Re-registering with identical details but a new epoch is a change.
	_, d3 := mustApply(t, im2, Batch{Offset: 3, Records: []Record{RegisterBrokerRecord{BrokerID: 1, Epoch: 5, Rack: "r"}}})
	if !slices.Equal(d3.Brokers, []int32{1}) {
		t.Fatalf("delta %+v", d3)
	}
	// Deleting a config that is not set is no change.
	_, d4 := mustApply(t, im2, Batch{Offset: 3, Records: []Record{ConfigRecord{ResourceType: ResourceBroker, Name: "nope"}}})
	if !d4.Empty() {
		t.Fatalf("delta %+v", d4)
	}
}

// randomBatches builds a deterministic history exercising every record
// type.
func historyBatches() []Batch {
	var bs []Batch
	off := int64(0)
	next := func(recs ...Record) {
		off++
		bs = append(bs, Batch{Offset: off, Records: recs})
	}
	next(FeatureLevelRecord{Name: "metadata.version", Level: 1},
		RegisterBrokerRecord{BrokerID: 1, Epoch: 1, Endpoints: []Endpoint{{Listener: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}}})
	for i := range 20 {
		id := UUID{0: byte(i + 1), 15: 7}
		name := "topic-" + string(rune('a'+i))
		b := topicBatch(0, name, id, i%4+1, "cleanup.policy", "compact")
		next(b.Records...)
		if i%3 == 0 {
			next(PartitionChangeRecord{PartitionID: 0, TopicID: id, Leader: 1, ISR: []int32{1}})
		}
		if i%5 == 0 {
			next(RemoveTopicRecord{TopicID: id})
		}
	}
	next(ConfigRecord{ResourceType: ResourceBroker, ResourceName: "1", Name: "log.retention.ms", Value: strp("5")},
		ConfigRecord{ResourceType: ResourceBroker, ResourceName: "", Name: "num.io.threads", Value: strp("4")})
	next(ProducerIdsRecord{BrokerID: 1, BrokerEpoch: 1, NextProducerID: 1000})
	return bs
}

func TestReplayDeterministic(t *testing.T) {
	bs := historyBatches()
	one, _, err := Replay(EmptyImage(), bs...)
	if err != nil {
		t.Fatal(err)
	}
	// Batch by batch through Apply gives the same image.
	im := EmptyImage()
	for _, b := range bs {
		im, _ = mustApply(t, im, b)
	}
	if !reflect.DeepEqual(one, im) {
		t.Fatal("Replay and Apply disagree")
	}
	// And the snapshot records rebuild it exactly.
	rebuilt, _, err := EmptyImage().Apply(Batch{Offset: im.Offset(), Records: im.Records()})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rebuilt, im) {
		t.Fatal("Records() does not rebuild the image")
	}
	if !reflect.DeepEqual(rebuilt.Records(), im.Records()) {
		t.Fatal("Records() not canonical")
	}
	// The accumulated delta of a replay equals the Diff of its ends.
	_, d, _ := Replay(EmptyImage(), bs...)
	if !reflect.DeepEqual(d, Diff(EmptyImage(), im)) {
		t.Fatalf("replay delta %+v\n diff %+v", d, Diff(EmptyImage(), im))
	}
	if !Diff(im, rebuilt).Empty() {
		t.Fatalf("diff of equal images: %+v", Diff(im, rebuilt))
	}
	back := Diff(im, EmptyImage())
	for _, tc := range back.Topics {
		if !tc.Deleted {
			t.Fatalf("diff to empty: %+v", tc)
		}
	}
}

func TestImageReturnsCopies(t *testing.T) {
	im, _ := mustApply(t, EmptyImage(), topicBatch(1, "t", idA, 1, "k", "v"))
	m := im.TopicConfigs("t")
	m["k"] = "changed"
	if v, _ := im.Config(ConfigResource{ResourceTopic, "t"}, "k"); v != "v" {
		t.Fatal("Configs returned the image's own map")
	}
	ts := im.Topics()
	ts[0] = nil
	if im.Topics()[0] == nil {
		t.Fatal("Topics returned the image's own slice")
	}
}

func TestPublisher(t *testing.T) {
	p := NewPublisher()
	if p.Image() != EmptyImage() {
		t.Fatal("initial image")
	}
	var got []*Delta
	unsub := p.Subscribe(func(prev, next *Image, d *Delta) {
		if next.Offset() != d.Offset || prev == next {
			t.Errorf("listener offsets %d %d %d", prev.Offset(), next.Offset(), d.Offset)
		}
		got = append(got, d)
	})
	if err := p.Apply(topicBatch(1, "t", idA, 1)); err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(Batch{Offset: 1}); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("stale batch: %v", err)
	}
	if p.Image().Offset() != 1 || len(got) != 1 {
		t.Fatalf("offset %d deltas %d", p.Image().Offset(), len(got))
	}
	// A batch without effect advances the offset but tells nobody.
	if err := p.Apply(Batch{Offset: 2}); err != nil || len(got) != 1 || p.Image().Offset() != 2 {
		t.Fatalf("empty batch: %v %d", err, len(got))
	}
	p.Restore(EmptyImage())
	if len(got) != 2 || !got[1].Topics[0].Deleted {
		t.Fatalf("restore delta %+v", got)
	}
	unsub()
	unsub()
	if err := p.Apply(topicBatch(1, "t", idA, 1)); err != nil || len(got) != 2 {
		t.Fatalf("after unsubscribe: %v %d", err, len(got))
	}
}

// TestPublisherConcurrentReaders runs readers over the published images
// while a writer applies batches; run with -race.
func TestPublisherConcurrentReaders(t *testing.T) {
	p := NewPublisher()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				im := p.Image()
				for _, top := range im.Topics() {
					if im.TopicByID(top.ID) != top {
						t.Error("indexes disagree")
						return
					}
					for _, part := range top.Partitions {
						_ = len(part.Replicas) + len(part.ISR)
					}
					_ = im.TopicConfigs(top.Name)
				}
			}
		}()
	}
	for _, b := range historyBatches() {
		if err := p.Apply(b); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

// TestProducerIDsMonotonic checks that replay refuses a ProducerIdsRecord
// that does not move the high-water mark up, as Kafka's replay does: such a
// record would hand ids out twice.
func TestProducerIDsMonotonic(t *testing.T) {
	im, _ := mustApply(t, EmptyImage(), Batch{Offset: 1, Records: []Record{ProducerIdsRecord{BrokerID: 1, NextProducerID: 1000}}})
	if im.NextProducerID() != 1000 {
		t.Fatalf("next producer id %d", im.NextProducerID())
	}
	for _, next := range []int64{1000, 999, 0, -1} {
		_, _, err := im.Apply(Batch{Offset: 2, Records: []Record{ProducerIdsRecord{BrokerID: 1, NextProducerID: next}}})
		if !errors.Is(err, ErrInconsistent) {
			t.Errorf("next %d: err %v, want ErrInconsistent", next, err)
		}
	}
	if EmptyImage().Records() != nil {
		t.Fatal("the empty image has records")
	}
}
