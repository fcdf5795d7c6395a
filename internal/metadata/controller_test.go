package metadata

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

type fixture struct {
	t      *testing.T
	dir    string
	log    *LocalLog
	pub    *Publisher
	c      *Controller
	deltas []*Delta
}

func newFixture(t *testing.T, cfg ControllerConfig) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir()}
	f.open(cfg)
	return f
}

func (f *fixture) open(cfg ControllerConfig) {
	f.t.Helper()
	f.pub = NewPublisher()
	l, err := OpenLocalLog(f.dir, f.pub, LocalLogOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.log = l
	f.t.Cleanup(func() { l.Close() })
	f.pub.Subscribe(func(_, _ *Image, d *Delta) { f.deltas = append(f.deltas, d) })
	f.c = NewController(l, f.pub, cfg)
}

func (f *fixture) create(name string, parts int32, configs ...string) CreateTopicResult {
	f.t.Helper()
	m := map[string]*string{}
	for i := 0; i+1 < len(configs); i += 2 {
		m[configs[i]] = strp(configs[i+1])
	}
	res, err := f.c.CreateTopic(CreateTopicRequest{Name: name, NumPartitions: parts, ReplicationFactor: -1, Configs: m}, false)
	if err != nil {
		f.t.Fatalf("create %s: %v", name, err)
	}
	return res
}

func expectErr(t *testing.T, err, kind error, msg string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
	if msg != "" && ErrorMessage(err) != msg {
		t.Fatalf("message %q, want %q", ErrorMessage(err), msg)
	}
}

func TestCreateTopicSingleNode(t *testing.T) {
	f := newFixture(t, ControllerConfig{NodeID: 5, DefaultNumPartitions: 3})
	res, err := f.c.CreateTopic(CreateTopicRequest{Name: "orders", NumPartitions: -1, ReplicationFactor: -1,
		Configs: map[string]*string{"retention.ms": strp("1000"), "cleanup.policy": strp("compact")}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.NumPartitions != 3 || res.ReplicationFactor != 1 || res.TopicID.IsZero() || res.Name != "orders" {
		t.Fatalf("result %+v", res)
	}
	im := f.c.Image()
	top := im.Topic("orders")
	if top == nil || top.ID != res.TopicID || top.Internal || top.NumPartitions() != 3 {
		t.Fatalf("topic %+v", top)
	}
	for i, p := range top.Partitions {
		want := Partition{ID: int32(i), Replicas: []int32{5}, ISR: []int32{5}, Leader: 5}
		if !reflect.DeepEqual(p, want) {
			t.Fatalf("partition %d: %+v", i, p)
		}
	}
	if !reflect.DeepEqual(im.TopicConfigs("orders"), map[string]string{"retention.ms": "1000", "cleanup.policy": "compact"}) {
		t.Fatalf("configs %v", im.TopicConfigs("orders"))
	}
	if im.Offset() != 1 || len(f.deltas) != 1 {
		t.Fatalf("one batch expected: offset %d, %d deltas", im.Offset(), len(f.deltas))
	}
	d := f.deltas[0]
	if len(d.Topics) != 1 || !d.Topics[0].Created || !slices.Equal(d.Topics[0].AddedPartitions, []int32{0, 1, 2}) ||
		len(d.Configs) != 1 {
		t.Fatalf("delta %+v", d)
	}
	// Internal, by the broker's own request.
	res2, err := f.c.CreateTopic(CreateTopicRequest{Name: "__consumer_offsets", NumPartitions: 50, ReplicationFactor: 1, Internal: true}, false)
	if err != nil || !f.c.Image().Topic("__consumer_offsets").Internal || res2.NumPartitions != 50 {
		t.Fatalf("internal topic: %+v %v", res2, err)
	}
	// A client's "__" name is not internal.
	f.create("__mine", 1)
	if f.c.Image().Topic("__mine").Internal {
		t.Fatal("__mine marked internal")
	}
}

// errInvalidValue stands for a sentinel of the config package.
var errInvalidValue = errors.New("Invalid value")

func TestCreateTopicsErrors(t *testing.T) {
	var validatorSaw map[string]string
	cfg := ControllerConfig{NodeID: 1, ValidateTopicConfig: func(topic string, o map[string]string) error {
		validatorSaw = o
		if v, ok := o["retention.ms"]; ok && strings.HasPrefix(v, "-5") {
			return fmt.Errorf("%w %s for configuration retention.ms", errInvalidValue, v)
		}
		if _, ok := o["bogus"]; ok {
			return errors.New("Unknown topic config name: bogus")
		}
		return nil
	}}
	f := newFixture(t, cfg)
	f.create("exists", 1)
	f.create("with.dot", 1)
	cases := []struct {
		name string
		req  CreateTopicRequest
		kind error
		msg  string
	}{
		{"invalid name", CreateTopicRequest{Name: "bad name", NumPartitions: 1, ReplicationFactor: 1}, ErrInvalidTopic,
			"Topic name is invalid: 'bad name' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'"},
		{"dot", CreateTopicRequest{Name: ".", NumPartitions: 1, ReplicationFactor: 1}, ErrInvalidTopic, "Topic name is invalid: '.' is not allowed"},
		{"too long", CreateTopicRequest{Name: strings.Repeat("a", 250), NumPartitions: 1, ReplicationFactor: 1}, ErrInvalidTopic, ""},
		{"exists", CreateTopicRequest{Name: "exists", NumPartitions: 1, ReplicationFactor: 1}, ErrTopicExists, "Topic 'exists' already exists."},
		{"collision", CreateTopicRequest{Name: "with_dot", NumPartitions: 1, ReplicationFactor: 1}, ErrInvalidTopic,
			"Topic 'with_dot' collides with existing topic: with.dot"},
		{"null config", CreateTopicRequest{Name: "t", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]*string{"a": nil}},
			ErrInvalidConfig, "Null value not supported for topic configs: a"},
		{"validator", CreateTopicRequest{Name: "t", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]*string{"bogus": strp("1")}},
			ErrInvalidConfig, "Unknown topic config name: bogus"},
		{"rf zero", CreateTopicRequest{Name: "t", NumPartitions: 1, ReplicationFactor: 0}, ErrInvalidReplicationFactor,
			"Replication factor must be larger than 0, or -1 to use the default value."},
		{"rf -2", CreateTopicRequest{Name: "t", NumPartitions: 1, ReplicationFactor: -2}, ErrInvalidReplicationFactor, ""},
		{"rf above brokers", CreateTopicRequest{Name: "t", NumPartitions: 1, ReplicationFactor: 3}, ErrInvalidReplicationFactor,
			"Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered."},
		{"partitions zero", CreateTopicRequest{Name: "t", NumPartitions: 0, ReplicationFactor: 1}, ErrInvalidPartitions,
			"Number of partitions was set to an invalid non-positive value."},
		{"partitions -3", CreateTopicRequest{Name: "t", NumPartitions: -3, ReplicationFactor: 1}, ErrInvalidPartitions, ""},
		{"partitions over limit", CreateTopicRequest{Name: "t", NumPartitions: MaxPartitionsPerOperation + 1, ReplicationFactor: 1}, ErrInvalidPartitions, ""},
		{"partitions max int", CreateTopicRequest{Name: "t", NumPartitions: 1<<31 - 1, ReplicationFactor: 1}, ErrInvalidPartitions, ""},
		{"manual with rf", CreateTopicRequest{Name: "t", NumPartitions: -1, ReplicationFactor: 1,
			Assignments: []PartitionAssignment{{0, []int32{1}}}}, ErrInvalidRequest,
			"A manual partition assignment was specified, but replication factor was not set to -1."},
		{"manual with partitions", CreateTopicRequest{Name: "t", NumPartitions: 1, ReplicationFactor: -1,
			Assignments: []PartitionAssignment{{0, []int32{1}}}}, ErrInvalidRequest, ""},
		{"manual gap", CreateTopicRequest{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
			Assignments: []PartitionAssignment{{0, []int32{1}}, {2, []int32{1}}}}, ErrInvalidReplicaAssignment,
			"partitions should be a consecutive 0-based integer sequence"},
		{"manual duplicate partition", CreateTopicRequest{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
			Assignments: []PartitionAssignment{{0, []int32{1}}, {0, []int32{1}}}}, ErrInvalidReplicaAssignment,
			"Found multiple manual partition assignments for partition 0"},
		{"manual empty", CreateTopicRequest{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
			Assignments: []PartitionAssignment{{0, nil}}}, ErrInvalidReplicaAssignment,
			"The manual partition assignment includes an empty replica list."},
		{"manual repeated broker", CreateTopicRequest{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
			Assignments: []PartitionAssignment{{0, []int32{1, 1}}}}, ErrInvalidReplicaAssignment,
			"The manual partition assignment includes the broker 1 more than once."},
		{"manual unknown broker", CreateTopicRequest{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
			Assignments: []PartitionAssignment{{0, []int32{9}}}}, ErrInvalidReplicaAssignment,
			"The manual partition assignment includes broker 9, but no such broker is registered."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.c.Image()
			for _, validateOnly := range []bool{true, false} {
				_, err := f.c.CreateTopic(c.req, validateOnly)
				expectErr(t, err, c.kind, c.msg)
			}
			if f.c.Image() != before {
				t.Fatal("a refused create changed the image")
			}
		})
	}
	// The validator's own error stays reachable.
	_, err := f.c.CreateTopic(CreateTopicRequest{Name: "t", NumPartitions: 1, ReplicationFactor: 1,
		Configs: map[string]*string{"retention.ms": strp("-55")}}, false)
	if !errors.Is(err, ErrInvalidConfig) || !errors.Is(err, errInvalidValue) ||
		ErrorMessage(err) != "Invalid value -55 for configuration retention.ms" {
		t.Fatalf("validator error: %v", err)
	}
	// The validator sees the complete override set.
	if _, err := f.c.CreateTopic(CreateTopicRequest{Name: "v", NumPartitions: 1, ReplicationFactor: 1,
		Configs: map[string]*string{"a": strp("1"), "b": strp("2")}}, true); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(validatorSaw, map[string]string{"a": "1", "b": "2"}) {
		t.Fatalf("validator saw %v", validatorSaw)
	}
}

func TestCreateTopicsBatch(t *testing.T) {
	f := newFixture(t, ControllerConfig{NodeID: 1})
	results := f.c.CreateTopics([]CreateTopicRequest{
		{Name: "a", NumPartitions: 2, ReplicationFactor: 1},
		{Name: "dup", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "x.y", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "dup", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "x_y", NumPartitions: 1, ReplicationFactor: 1}, // collides with x.y of this same request
		{Name: "b", NumPartitions: 0, ReplicationFactor: 1},
		{Name: "c", NumPartitions: 1, ReplicationFactor: 1},
	}, false)
	wantErr := []error{nil, ErrInvalidRequest, nil, ErrInvalidRequest, ErrInvalidTopic, ErrInvalidPartitions, nil}
	for i, r := range results {
		if !errors.Is(r.Err, wantErr[i]) || (wantErr[i] == nil) != (r.Err == nil) {
			t.Errorf("result %d (%s): %v, want %v", i, r.Name, r.Err, wantErr[i])
		}
	}
	im := f.c.Image()
	if im.Offset() != 1 || im.TopicCount() != 3 || len(f.deltas) != 1 || len(f.deltas[0].Topics) != 3 {
		t.Fatalf("successes must commit as one batch: offset %d, %d topics", im.Offset(), im.TopicCount())
	}
	// Validate-only: nothing committed, results as if.
	results = f.c.CreateTopics([]CreateTopicRequest{{Name: "d", NumPartitions: 4, ReplicationFactor: -1}, {Name: "a", NumPartitions: 1, ReplicationFactor: 1}}, true)
	if results[0].Err != nil || results[0].NumPartitions != 4 || !errors.Is(results[1].Err, ErrTopicExists) {
		t.Fatalf("validate-only results %+v", results)
	}
	if f.c.Image() != im {
		t.Fatal("validate-only committed")
	}
	if len(f.c.CreateTopics(nil, false)) != 0 || f.c.Image() != im {
		t.Fatal("empty request")
	}
}

func TestCreateTopicsLargeRequestSplitsBatches(t *testing.T) {
	f := newFixture(t, ControllerConfig{NodeID: 1})
	var reqs []CreateTopicRequest
	for i := range 3 {
		reqs = append(reqs, CreateTopicRequest{Name: fmt.Sprintf("big-%d", i), NumPartitions: 4000, ReplicationFactor: 1})
	}
	for _, r := range f.c.CreateTopics(reqs, false) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	im := f.c.Image()
	if im.TopicCount() != 3 || im.Offset() != 2 {
		t.Fatalf("%d topics at offset %d; want 3 topics in 2 batches", im.TopicCount(), im.Offset())
	}
}

func TestDeleteTopics(t *testing.T) {
	f := newFixture(t, ControllerConfig{NodeID: 1})
	a := f.create("a", 2, "retention.ms", "5")
	b := f.create("b", 1)
	f.create("c", 1)
	f.deltas = nil
	results := f.c.DeleteTopics([]TopicRef{
		{Name: "a"},
		{ID: b.TopicID},
		{Name: "missing"},
		{ID: UUID{1}},
		{Name: "c", ID: b.TopicID},
		{},
	})
	if results[0].Err != nil || results[0].ID != a.TopicID || results[1].Err != nil || results[1].Name != "b" {
		t.Fatalf("results %+v", results[:2])
	}
	expectErr(t, results[2].Err, ErrUnknownTopic, "This server does not host this topic-partition.")
	expectErr(t, results[3].Err, ErrUnknownTopicID, "This server does not host this topic ID.")
	expectErr(t, results[4].Err, ErrInvalidRequest, "")
	expectErr(t, results[5].Err, ErrInvalidRequest, "")
	im := f.c.Image()
	if im.Topic("a") != nil || im.Topic("b") != nil || im.Topic("c") == nil || len(im.ConfigResources()) != 0 {
		t.Fatal("deletion")
	}
	if len(f.deltas) != 1 || len(f.deltas[0].Topics) != 2 || !f.deltas[0].Topics[0].Deleted ||
		f.deltas[0].Topics[0].Topic.NumPartitions() != 2 || len(f.deltas[0].Configs) != 1 {
		t.Fatalf("delta %+v", f.deltas)
	}
	// The same topic twice in one request, by name and by ID.
	c := im.Topic("c")
	dup := f.c.DeleteTopics([]TopicRef{{Name: "c"}, {ID: c.ID}})
	expectErr(t, dup[0].Err, ErrInvalidRequest, "")
	expectErr(t, dup[1].Err, ErrInvalidRequest, "")
	// Re-creating under the old name gets a new ID and no old configs.
	a2 := f.create("a", 1)
	if a2.TopicID == a.TopicID || len(f.c.Image().TopicConfigs("a")) != 0 {
		t.Fatal("re-created topic kept its identity")
	}
	if _, err := f.c.DeleteTopic(TopicRef{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.DeleteTopic(TopicRef{Name: "a"}); !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestCreatePartitions(t *testing.T) {
	f := newFixture(t, ControllerConfig{NodeID: 1})
	f.create("t", 2)
	f.create("u", 4)
	f.deltas = nil
	errs := f.c.CreatePartitions([]CreatePartitionsRequest{
		{Topic: "t", Count: 5},
		{Topic: "u", Count: 3},
		{Topic: "u2", Count: 3},
	}, false)
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	expectErr(t, errs[1], ErrInvalidPartitions, "The topic u currently has 4 partition(s); 3 would not be an increase.")
	expectErr(t, errs[2], ErrUnknownTopic, "")
	top := f.c.Image().Topic("t")
	if top.NumPartitions() != 5 {
		t.Fatalf("%d partitions", top.NumPartitions())
	}
	if p, _ := top.Partition(4); p.Leader != 1 || !slices.Equal(p.Replicas, []int32{1}) {
		t.Fatalf("new partition %+v", p)
	}
	if len(f.deltas) != 1 || !slices.Equal(f.deltas[0].Topics[0].AddedPartitions, []int32{2, 3, 4}) || f.deltas[0].Topics[0].Created {
		t.Fatalf("delta %+v", f.deltas[0].Topics)
	}
	cases := []struct {
		name string
		req  CreatePartitionsRequest
		kind error
		msg  string
	}{
		{"same count", CreatePartitionsRequest{Topic: "t", Count: 5}, ErrInvalidPartitions, "Topic already has 5 partition(s)."},
		{"over limit", CreatePartitionsRequest{Topic: "t", Count: 5 + MaxPartitionsPerOperation + 1}, ErrInvalidPartitions, ""},
		{"assignment count", CreatePartitionsRequest{Topic: "t", Count: 7, Assignments: [][]int32{{1}}}, ErrInvalidReplicaAssignment,
			"Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified."},
		{"assignment rf", CreatePartitionsRequest{Topic: "t", Count: 6, Assignments: [][]int32{{1, 2}}}, ErrInvalidReplicaAssignment, ""},
		{"assignment unknown broker", CreatePartitionsRequest{Topic: "t", Count: 6, Assignments: [][]int32{{3}}}, ErrInvalidReplicaAssignment,
			"The manual partition assignment includes broker 3, but no such broker is registered."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.c.Image()
			expectErr(t, f.c.CreatePartitions([]CreatePartitionsRequest{c.req}, false)[0], c.kind, c.msg)
			if f.c.Image() != before {
				t.Fatal("refused request changed the image")
			}
		})
	}
	dup := f.c.CreatePartitions([]CreatePartitionsRequest{{Topic: "t", Count: 9}, {Topic: "t", Count: 10}}, false)
	expectErr(t, dup[0], ErrInvalidRequest, "")
	expectErr(t, dup[1], ErrInvalidRequest, "")
	before := f.c.Image()
	if err := f.c.CreatePartitions([]CreatePartitionsRequest{{Topic: "t", Count: 8}}, true)[0]; err != nil || f.c.Image() != before {
		t.Fatalf("validate-only: %v", err)
	}
	if err := f.c.CreatePartitions([]CreatePartitionsRequest{{Topic: "t", Count: 6, Assignments: [][]int32{{1}}}}, false)[0]; err != nil {
		t.Fatal(err)
	}
}

func TestIncrementalAlterConfigs(t *testing.T) {
	var brokerSaw map[string]string
	cfg := ControllerConfig{
		NodeID: 1,
		ValidateTopicConfig: func(topic string, o map[string]string) error {
			if o["min.insync.replicas"] == "0" {
				return errors.New("Invalid value 0 for configuration min.insync.replicas: Value must be at least 1")
			}
			return nil
		},
		ValidateBrokerConfig: func(res string, o map[string]string) error { brokerSaw = o; return nil },
		ListConfig: func(res ConfigResource, name string) (bool, string) {
			if name == "cleanup.policy" {
				return true, "delete"
			}
			return false, ""
		},
	}
	f := newFixture(t, cfg)
	f.create("t", 1, "retention.ms", "100", "segment.ms", "5")
	topic := ConfigResource{ResourceTopic, "t"}
	f.deltas = nil
	errs := f.c.IncrementalAlterConfigs([]AlterConfigsRequest{
		{Resource: topic, Ops: []ConfigOp{
			{Name: "retention.ms", Op: ConfigSet, Value: "200"},
			{Name: "segment.ms", Op: ConfigDelete},
			{Name: "missing", Op: ConfigDelete},
			{Name: "cleanup.policy", Op: ConfigAppend, Value: "compact"},
		}},
		{Resource: ConfigResource{ResourceBroker, ""}, Ops: []ConfigOp{{Name: "log.retention.ms", Op: ConfigSet, Value: "9"}}},
		{Resource: ConfigResource{ResourceBroker, "1"}, Ops: []ConfigOp{{Name: "num.io.threads", Op: ConfigSet, Value: "3"}}},
	}, false)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
	im := f.c.Image()
	if !reflect.DeepEqual(im.TopicConfigs("t"), map[string]string{"retention.ms": "200", "cleanup.policy": "delete,compact"}) {
		t.Fatalf("topic configs %v", im.TopicConfigs("t"))
	}
	if v, _ := im.Config(ConfigResource{ResourceBroker, ""}, "log.retention.ms"); v != "9" {
		t.Fatal("cluster default")
	}
	if !reflect.DeepEqual(brokerSaw, map[string]string{"num.io.threads": "3"}) {
		t.Fatalf("broker validator saw %v", brokerSaw)
	}
	if len(f.deltas) != 1 || len(f.deltas[0].Configs) != 3 {
		t.Fatalf("delta %+v", f.deltas)
	}
	// Subtract, then a no-op change writes nothing.
	if err := f.c.IncrementalAlterConfigs([]AlterConfigsRequest{{Resource: topic, Ops: []ConfigOp{
		{Name: "cleanup.policy", Op: ConfigSubtract, Value: "delete"}}}}, false)[0]; err != nil {
		t.Fatal(err)
	}
	if v, _ := f.c.Image().Config(topic, "cleanup.policy"); v != "compact" {
		t.Fatalf("after subtract: %q", v)
	}
	off := f.c.Image().Offset()
	if err := f.c.IncrementalAlterConfigs([]AlterConfigsRequest{{Resource: topic, Ops: []ConfigOp{
		{Name: "retention.ms", Op: ConfigSet, Value: "200"}}}}, false)[0]; err != nil || f.c.Image().Offset() != off {
		t.Fatalf("no-op change: %v, offset %d -> %d", err, off, f.c.Image().Offset())
	}

	cases := []struct {
		name string
		req  AlterConfigsRequest
		kind error
		msg  string
	}{
		{"unknown topic", AlterConfigsRequest{ConfigResource{ResourceTopic, "nope"}, []ConfigOp{{Name: "a", Value: "1"}}}, ErrUnknownTopic, ""},
		{"default topic", AlterConfigsRequest{ConfigResource{ResourceTopic, ""}, []ConfigOp{{Name: "a", Value: "1"}}}, ErrInvalidRequest,
			"Default topic resources are not allowed."},
		{"bad broker name", AlterConfigsRequest{ConfigResource{ResourceBroker, "x"}, []ConfigOp{{Name: "a", Value: "1"}}}, ErrInvalidRequest,
			"Invalid broker name x"},
		{"unsupported type", AlterConfigsRequest{ConfigResource{8, "x"}, []ConfigOp{{Name: "a", Value: "1"}}}, ErrInvalidRequest, ""},
		{"validator", AlterConfigsRequest{topic, []ConfigOp{{Name: "min.insync.replicas", Value: "0"}}}, ErrInvalidConfig,
			"Invalid value 0 for configuration min.insync.replicas: Value must be at least 1"},
		{"append to non-list", AlterConfigsRequest{topic, []ConfigOp{{Name: "retention.ms", Op: ConfigAppend, Value: "1"}}}, ErrInvalidConfig,
			"Config value append is not allowed for config key: retention.ms"},
		{"subtract from non-list", AlterConfigsRequest{topic, []ConfigOp{{Name: "retention.ms", Op: ConfigSubtract, Value: "1"}}}, ErrInvalidConfig, ""},
		{"duplicate keys", AlterConfigsRequest{topic, []ConfigOp{{Name: "a", Value: "1"}, {Name: "a", Op: ConfigDelete}}}, ErrInvalidRequest,
			"Error due to duplicate config keys"},
		{"unknown op", AlterConfigsRequest{topic, []ConfigOp{{Name: "a", Op: 7}}}, ErrInvalidRequest, ""},
		{"empty name", AlterConfigsRequest{topic, []ConfigOp{{Name: "", Value: "1"}}}, ErrInvalidConfig, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.c.Image()
			expectErr(t, f.c.IncrementalAlterConfigs([]AlterConfigsRequest{c.req}, false)[0], c.kind, c.msg)
			if f.c.Image() != before {
				t.Fatal("refused request changed the image")
			}
		})
	}
	dup := f.c.IncrementalAlterConfigs([]AlterConfigsRequest{{Resource: topic}, {Resource: topic}}, false)
	expectErr(t, dup[0], ErrInvalidRequest, "")
	expectErr(t, dup[1], ErrInvalidRequest, "")
	before := f.c.Image()
	if err := f.c.IncrementalAlterConfigs([]AlterConfigsRequest{{Resource: topic, Ops: []ConfigOp{{Name: "x", Value: "1"}}}}, true)[0]; err != nil || f.c.Image() != before {
		t.Fatalf("validate-only: %v", err)
	}
}

func TestAlterConfigsReplaces(t *testing.T) {
	f := newFixture(t, ControllerConfig{NodeID: 1})
	f.create("t", 1, "a", "1", "b", "2")
	topic := ConfigResource{ResourceTopic, "t"}
	if err := f.c.AlterConfigs([]ReplaceConfigsRequest{{Resource: topic, Configs: map[string]string{"b": "3", "c": "4"}}}, false)[0]; err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.c.Image().TopicConfigs("t"), map[string]string{"b": "3", "c": "4"}) {
		t.Fatalf("configs %v", f.c.Image().TopicConfigs("t"))
	}
	if err := f.c.AlterConfigs([]ReplaceConfigsRequest{{Resource: topic}}, false)[0]; err != nil || len(f.c.Image().ConfigResources()) != 0 {
		t.Fatalf("clear: %v %v", err, f.c.Image().ConfigResources())
	}
	expectErr(t, f.c.AlterConfigs([]ReplaceConfigsRequest{{Resource: topic, Configs: map[string]string{"": "x"}}}, false)[0], ErrInvalidConfig, "")
	expectErr(t, f.c.AlterConfigs([]ReplaceConfigsRequest{{Resource: ConfigResource{ResourceTopic, "zz"}}}, false)[0], ErrUnknownTopic, "")
}

func TestBrokersAndPlacement(t *testing.T) {
	f := newFixture(t, ControllerConfig{NodeID: 1, Placer: RoundRobinPlacer(rand.New(rand.NewPCG(1, 2)))})
	ep := func(port uint16) []Endpoint {
		return []Endpoint{{Listener: "PLAINTEXT", Host: "127.0.0.1", Port: port}}
	}
	e1, err := f.c.RegisterBroker(Broker{ID: 1, Endpoints: ep(9092)})
	if err != nil || e1 != 1 {
		t.Fatalf("register: %d %v", e1, err)
	}
	// Same details again: nothing written, same epoch.
	off := f.c.Image().Offset()
	if e, err := f.c.RegisterBroker(Broker{ID: 1, Endpoints: ep(9092), Epoch: 99}); err != nil || e != e1 || f.c.Image().Offset() != off {
		t.Fatalf("idempotent register: %d %v", e, err)
	}
	// A change re-registers with a higher epoch.
	if e, err := f.c.RegisterBroker(Broker{ID: 1, Endpoints: ep(9093)}); err != nil || e <= e1 {
		t.Fatalf("re-register: %d %v", e, err)
	}
	f.c.RegisterBroker(Broker{ID: 2, Rack: "r2", Endpoints: ep(9094)})
	f.c.RegisterBroker(Broker{ID: 3, Endpoints: ep(9095)})
	f.c.RegisterBroker(Broker{ID: 4, Fenced: true})
	if _, err := f.c.RegisterBroker(Broker{ID: 5, Endpoints: []Endpoint{{Listener: "A"}, {Listener: "A"}}}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("duplicate listener: %v", err)
	}
	if _, err := f.c.RegisterBroker(Broker{ID: -1}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("negative id: %v", err)
	}
	if len(f.c.Image().Brokers()) != 4 || f.c.Image().Broker(2).Rack != "r2" {
		t.Fatal("registrations")
	}

	// Three unfenced brokers: rf 3 works and spreads leaders; rf 4 does not
	// (the fenced broker does not count).
	res, err := f.c.CreateTopic(CreateTopicRequest{Name: "spread", NumPartitions: 6, ReplicationFactor: 3}, false)
	if err != nil || res.ReplicationFactor != 3 {
		t.Fatalf("rf 3: %+v %v", res, err)
	}
	leaders := map[int32]int{}
	for _, p := range f.c.Image().Topic("spread").Partitions {
		if len(p.Replicas) != 3 || p.Leader != p.Replicas[0] || !slices.Equal(p.ISR, p.Replicas) || slices.Contains(p.Replicas, 4) {
			t.Fatalf("partition %+v", p)
		}
		leaders[p.Leader]++
	}
	if leaders[1] != 2 || leaders[2] != 2 || leaders[3] != 2 {
		t.Fatalf("leaders %v", leaders)
	}
	_, err = f.c.CreateTopic(CreateTopicRequest{Name: "too", NumPartitions: 1, ReplicationFactor: 4}, false)
	expectErr(t, err, ErrInvalidReplicationFactor,
		"Unable to replicate the partition 4 time(s): The target replication factor of 4 cannot be reached because only 3 broker(s) are registered.")
	// With brokers registered, the controller's own id is no longer
	// implicitly usable: a manual assignment to the fenced broker fails.
	_, err = f.c.CreateTopic(CreateTopicRequest{Name: "m", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: []PartitionAssignment{{0, []int32{4}}}}, false)
	expectErr(t, err, ErrInvalidReplicaAssignment, "")
	// Growing keeps the topic's replication factor.
	if err := f.c.CreatePartitions([]CreatePartitionsRequest{{Topic: "spread", Count: 9}}, false)[0]; err != nil {
		t.Fatal(err)
	}
	if f.c.Image().Topic("spread").Partitions[8].Replicas == nil || len(f.c.Image().Topic("spread").Partitions[8].Replicas) != 3 {
		t.Fatal("grown partition rf")
	}

	if err := f.c.UnregisterBroker(4); err != nil || f.c.Image().Broker(4) != nil {
		t.Fatalf("unregister: %v", err)
	}
	expectErr(t, f.c.UnregisterBroker(4), ErrBrokerNotRegistered, "Broker 4 is not registered.")
}

func TestPlaceRoundRobin(t *testing.T) {
	bs := []*Broker{{ID: 10}, {ID: 20}, {ID: 30}, {ID: 40}}
	got := placeRoundRobin(bs, 0, 8, 3, 0, 0)
	// Leaders walk the brokers; followers shift by one more each time the
	// leaders wrap around.
	want := [][]int32{
		{10, 20, 30}, {20, 30, 40}, {30, 40, 10}, {40, 10, 20},
		{10, 30, 40}, {20, 40, 10}, {30, 10, 20}, {40, 20, 30},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	// Continuing from partition 8 picks up the same rotation.
	if cont := placeRoundRobin(bs, 4, 4, 3, 0, 0); !reflect.DeepEqual(cont, want[4:]) {
		t.Fatalf("continued %v", cont)
	}
	single := placeRoundRobin([]*Broker{{ID: 7}}, 0, 3, 1, 0, 0)
	if !reflect.DeepEqual(single, [][]int32{{7}, {7}, {7}}) {
		t.Fatalf("single %v", single)
	}
	// Every placement is valid whatever the random start and shift.
	place := RoundRobinPlacer(nil)
	for rf := int16(1); rf <= 4; rf++ {
		a, err := place(bs, 0, 50, rf)
		if err != nil {
			t.Fatal(err)
		}
		usable := map[int32]bool{10: true, 20: true, 30: true, 40: true}
		if err := checkPlacement(a, 50, rf, usable); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := place(bs, 0, 1, 5); !errors.Is(err, ErrInvalidReplicationFactor) {
		t.Fatalf("rf 5: %v", err)
	}
}

func TestControllerCustomPlacerChecked(t *testing.T) {
	bad := func(brokers []*Broker, first, count int32, rf int16) ([][]int32, error) {
		return [][]int32{{99}}, nil
	}
	f := newFixture(t, ControllerConfig{NodeID: 1, Placer: bad})
	if _, err := f.c.CreateTopic(CreateTopicRequest{Name: "t", NumPartitions: 1, ReplicationFactor: 1}, false); err == nil {
		t.Fatal("a placer naming an unknown broker was trusted")
	}
	if f.c.Image().TopicCount() != 0 {
		t.Fatal("committed")
	}
}

func TestUpdateFeature(t *testing.T) {
	f := newFixture(t, ControllerConfig{NodeID: 1})
	if err := f.c.UpdateFeature("metadata.version", 2, true); err != nil || f.c.Image().FeatureLevel("metadata.version") != 0 {
		t.Fatal("validate-only")
	}
	if err := f.c.UpdateFeature("metadata.version", 2, false); err != nil || f.c.Image().FeatureLevel("metadata.version") != 2 {
		t.Fatal("update")
	}
	off := f.c.Image().Offset()
	if err := f.c.UpdateFeature("metadata.version", 2, false); err != nil || f.c.Image().Offset() != off {
		t.Fatal("same level wrote a record")
	}
	expectErr(t, f.c.UpdateFeature("", 1, false), ErrInvalidRequest, "")
	expectErr(t, f.c.UpdateFeature("x", -1, false), ErrInvalidRequest, "")
}

// TestControllerRestart replays the log written by a controller's
// operations and finds the identical image; a new controller continues on
// it.
func TestControllerRestart(t *testing.T) {
	f := newFixture(t, ControllerConfig{NodeID: 1})
	f.c.RegisterBroker(Broker{ID: 1, Endpoints: []Endpoint{{Listener: "PLAINTEXT", Host: "h", Port: 1}}})
	f.create("a", 3, "retention.ms", "1")
	f.create("b", 1)
	f.c.CreatePartitions([]CreatePartitionsRequest{{Topic: "b", Count: 4}}, false)
	f.c.IncrementalAlterConfigs([]AlterConfigsRequest{{Resource: ConfigResource{ResourceBroker, ""}, Ops: []ConfigOp{{Name: "x", Value: "y"}}}}, false)
	f.c.DeleteTopics([]TopicRef{{Name: "a"}})
	f.c.UpdateFeature("metadata.version", 1, false)
	f.c.AllocateProducerIDs(1, ProducerIDBlockSize)
	want := f.c.Image()
	f.log.Close()

	f.deltas = nil
	f.open(ControllerConfig{NodeID: 1})
	if !reflect.DeepEqual(f.c.Image(), want) {
		t.Fatal("image after restart differs")
	}
	f.create("c", 1)
	if f.c.Image().Offset() != want.Offset()+1 {
		t.Fatal("offset after restart")
	}
	// Compaction in the middle changes nothing either.
	if err := f.log.Snapshot(); err != nil {
		t.Fatal(err)
	}
	want = f.c.Image()
	f.log.Close()
	f.open(ControllerConfig{NodeID: 1})
	if !reflect.DeepEqual(f.c.Image(), want) {
		t.Fatal("image after snapshot restart differs")
	}
}

// failingLog refuses every append, as a log that has failed does.
type failingLog struct{ err error }

func (l failingLog) Append([]Record) (int64, error) { return 0, l.err }

func TestControllerCommitFailure(t *testing.T) {
	pub := NewPublisher()
	c := NewController(failingLog{fmt.Errorf("%w: disk gone", ErrLogFailed)}, pub, ControllerConfig{NodeID: 1})
	results := c.CreateTopics([]CreateTopicRequest{
		{Name: "a", NumPartitions: 1, ReplicationFactor: 1},
		{Name: "b b", NumPartitions: 1, ReplicationFactor: 1},
	}, false)
	if !errors.Is(results[0].Err, ErrLogFailed) || !errors.Is(results[1].Err, ErrInvalidTopic) {
		t.Fatalf("results %+v", results)
	}
	if _, err := c.DeleteTopic(TopicRef{Name: "a"}); !errors.Is(err, ErrUnknownTopic) {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.RegisterBroker(Broker{ID: 1}); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("register: %v", err)
	}
	if err := c.UpdateFeature("f", 1, false); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("feature: %v", err)
	}
	if _, err := c.AllocateProducerIDs(1, ProducerIDBlockSize); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("producer ids: %v", err)
	}
	// Validate-only needs no log.
	if _, err := c.CreateTopic(CreateTopicRequest{Name: "a", NumPartitions: 1, ReplicationFactor: 1}, true); err != nil {
		t.Fatal(err)
	}
	if pub.Image().Offset() != 0 {
		t.Fatal("published without a commit")
	}
}

// TestControllerConcurrent runs writers and lock-free readers together;
// run with -race.
func TestControllerConcurrent(t *testing.T) {
	f := newFixture(t, ControllerConfig{NodeID: 1})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				im := f.c.Image()
				for _, top := range im.Topics() {
					for _, p := range top.Partitions {
						if p.Leader != 1 {
							t.Error("bad leader")
							return
						}
					}
					_ = im.TopicConfigs(top.Name)
				}
			}
		}()
	}
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range 15 {
				name := fmt.Sprintf("w%d-%d", w, i)
				if _, err := f.c.CreateTopic(CreateTopicRequest{Name: name, NumPartitions: 2, ReplicationFactor: 1}, false); err != nil {
					t.Error(err)
					return
				}
				if i%3 == 0 {
					if _, err := f.c.DeleteTopic(TopicRef{Name: name}); err != nil {
						t.Error(err)
						return
					}
				} else if i%3 == 1 {
					f.c.CreatePartitions([]CreatePartitionsRequest{{Topic: name, Count: 3}}, false)
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	if n := f.c.Image().TopicCount(); n != 4*10 {
		t.Fatalf("%d topics", n)
	}
	want := f.c.Image()
	f.log.Close()
	f.open(ControllerConfig{NodeID: 1})
	if !reflect.DeepEqual(f.c.Image(), want) {
		t.Fatal("replay after concurrent writes differs")
	}
}

// TestAllocateProducerIDs checks that blocks are disjoint and consecutive,
// that they survive a restart (the next block after a reopen starts past
// the last one handed out, with or without a snapshot in between), and
// Kafka's limits.
func TestAllocateProducerIDs(t *testing.T) {
	f := newFixture(t, ControllerConfig{NodeID: 1})
	var firsts []int64
	for i := range 3 {
		first, err := f.c.AllocateProducerIDs(int32(i%2), ProducerIDBlockSize)
		if err != nil {
			t.Fatal(err)
		}
		firsts = append(firsts, first)
	}
	if !reflect.DeepEqual(firsts, []int64{0, 1000, 2000}) {
		t.Fatalf("blocks start at %v", firsts)
	}
	if got := f.c.Image().NextProducerID(); got != 3000 {
		t.Fatalf("next producer id %d", got)
	}
	// A registered broker's epoch goes into the record.
	epoch, err := f.c.RegisterBroker(Broker{ID: 1, Endpoints: []Endpoint{{Listener: "PLAINTEXT", Host: "h", Port: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if first, err := f.c.AllocateProducerIDs(1, 5); err != nil || first != 3000 {
		t.Fatalf("small block: %d %v", first, err)
	}
	if rec := f.c.Image().producerIDs; rec.BrokerID != 1 || rec.BrokerEpoch != epoch || rec.NextProducerID != 3005 {
		t.Fatalf("record %+v, broker epoch %d", rec, epoch)
	}

	f.log.Close()
	f.open(ControllerConfig{NodeID: 1})
	if first, err := f.c.AllocateProducerIDs(0, ProducerIDBlockSize); err != nil || first != 3005 {
		t.Fatalf("after reopen: %d %v", first, err)
	}
	if err := f.log.Snapshot(); err != nil {
		t.Fatal(err)
	}
	f.log.Close()
	f.open(ControllerConfig{NodeID: 1})
	if first, err := f.c.AllocateProducerIDs(0, ProducerIDBlockSize); err != nil || first != 4005 {
		t.Fatalf("after snapshot and reopen: %d %v", first, err)
	}

	_, err = f.c.AllocateProducerIDs(-1, 1)
	expectErr(t, err, ErrInvalidRequest, "")
	_, err = f.c.AllocateProducerIDs(1, 0)
	expectErr(t, err, ErrInvalidRequest, "")
	_, err = f.c.AllocateProducerIDs(1, math.MaxInt)
	expectErr(t, err, ErrProducerIDsExhausted, "")
	if got := f.c.Image().NextProducerID(); got != 5005 {
		t.Fatalf("a refused allocation moved the high-water mark to %d", got)
	}
}
