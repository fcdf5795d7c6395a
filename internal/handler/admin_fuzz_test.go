package handler

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// adminSeeds are representative requests of every admin API, mixing valid
// and invalid content, for the fuzzer to mutate.
func adminSeeds() []kmsg.Request {
	s := kmsg.StringPtr
	md := kmsg.NewPtrMetadataRequest()
	for _, name := range []string{"t", "new", "bad name", "__consumer_offsets"} {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = s(name)
		md.Topics = append(md.Topics, rt)
	}
	mdID := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.TopicID = [16]byte{1}
	mdID.Topics = append(mdID.Topics, rt)
	md.AllowAutoTopicCreation, md.IncludeTopicAuthorizedOperations = true, true

	ct := kmsg.NewPtrCreateTopicsRequest()
	for _, name := range []string{"c1", "c1", "t", "__cluster_metadata"} {
		topic := kmsg.NewCreateTopicsRequestTopic()
		topic.Topic, topic.NumPartitions, topic.ReplicationFactor = name, 2, 1
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = "cleanup.policy", s("compact")
		topic.Configs = append(topic.Configs, cfg)
		ct.Topics = append(ct.Topics, topic)
	}
	manual := kmsg.NewCreateTopicsRequestTopic()
	manual.Topic, manual.NumPartitions, manual.ReplicationFactor = "m", -1, -1
	a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	a.Replicas = []int32{1}
	manual.ReplicaAssignment = append(manual.ReplicaAssignment, a)
	ct.Topics = append(ct.Topics, manual)

	dt := kmsg.NewPtrDeleteTopicsRequest()
	dt.TopicNames = []string{"t", "nope"}
	dtID := kmsg.NewPtrDeleteTopicsRequest()
	for _, e := range []struct {
		name *string
		id   [16]byte
	}{{nil, [16]byte{2}}, {s("t"), [16]byte{}}, {nil, [16]byte{}}} {
		d := kmsg.NewDeleteTopicsRequestTopic()
		d.Topic, d.TopicID = e.name, e.id
		dtID.Topics = append(dtID.Topics, d)
	}

	dc := kmsg.NewPtrDescribeConfigsRequest()
	dc.IncludeSynonyms, dc.IncludeDocumentation = true, true
	for _, r := range []struct {
		typ  kmsg.ConfigResourceType
		name string
	}{{2, "t"}, {4, "1"}, {4, ""}, {8, "1"}, {32, "g"}} {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = r.typ, r.name
		dc.Resources = append(dc.Resources, rr)
	}

	ac := kmsg.NewPtrAlterConfigsRequest()
	for _, r := range []struct {
		typ  kmsg.ConfigResourceType
		name string
		key  string
		val  *string
	}{{2, "t", "retention.ms", s("1000")}, {4, "", "log.retention.ms", s("5")}, {4, "1", "num.io.threads", nil}} {
		rr := kmsg.NewAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = r.typ, r.name
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = r.key, r.val
		rr.Configs = append(rr.Configs, c)
		ac.Resources = append(ac.Resources, rr)
	}

	iac := kmsg.NewPtrIncrementalAlterConfigsRequest()
	for _, r := range []struct {
		typ  kmsg.ConfigResourceType
		name string
		key  string
		op   kmsg.IncrementalAlterConfigOp
		val  *string
	}{{2, "t", "cleanup.policy", 2, s("compact")}, {4, "1", "log.cleaner.threads", 0, s("2")}, {8, "1", "root", 0, s("INFO")}, {2, "t", "retention.ms", 1, nil}} {
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = r.typ, r.name
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = r.key, r.op, r.val
		rr.Configs = append(rr.Configs, c)
		iac.Resources = append(iac.Resources, rr)
	}

	cp := kmsg.NewPtrCreatePartitionsRequest()
	for _, name := range []string{"t", "nope"} {
		topic := kmsg.NewCreatePartitionsRequestTopic()
		topic.Topic, topic.Count = name, 3
		cp.Topics = append(cp.Topics, topic)
	}

	dl := kmsg.NewPtrDescribeLogDirsRequest()
	dlt := kmsg.NewDescribeLogDirsRequestTopic()
	dlt.Topic, dlt.Partitions = "t", []int32{0, 7}
	dl.Topics = append(dl.Topics, dlt)

	dcl := kmsg.NewPtrDescribeClusterRequest()
	dcl.IncludeClusterAuthorizedOperations, dcl.IncludeFencedBrokers = true, true

	return []kmsg.Request{md, mdID, ct, dt, dtID, dc, ac, iac, cp, dl, kmsg.NewPtrDescribeLogDirsRequest(), dcl}
}

// FuzzAdminRequests sends arbitrary decodable admin requests to a broker
// holding a topic: each must be answered with a response that decodes at
// its version, and the broker must go on serving.
func FuzzAdminRequests(f *testing.F) {
	for _, req := range adminSeeds() {
		for _, a := range adminAPIs {
			if a.key.Int16() != req.Key() {
				continue
			}
			// The oldest and newest versions: the other versions'
			// layouts are reached by mutating the version.
			for _, v := range []int16{a.min, req.MaxVersion()} {
				req.SetVersion(v)
				f.Add(req.Key(), v, req.AppendTo(nil))
			}
		}
	}
	f.Fuzz(func(t *testing.T, key, v int16, body []byte) {
		served := false
		for _, a := range adminAPIs {
			if a.key.Int16() == key && v >= a.min && v <= kmsg.RequestForKey(key).MaxVersion() {
				served = true
			}
		}
		if !served {
			return
		}
		req := kmsg.RequestForKey(key)
		req.SetVersion(v)
		if req.ReadFrom(body) != nil {
			return
		}
		boundWork(req)
		b := startAdminBroker(t)
		b.createTopic(t, "t", 1, nil)
		c := b.dial(t)
		c.send(req)
		if _, err := c.tryRecv(10 * time.Second); err != nil {
			t.Fatalf("%s v%d: %v", kmsg.NameForKey(key), v, err)
		}
		// Still serving.
		c.send(metadataReq(12, "t"))
		if _, err := c.tryRecv(10 * time.Second); err != nil {
			t.Fatalf("after %s v%d: %v", kmsg.NameForKey(key), v, err)
		}
	})
}

// boundWork caps the partition counts a mutated request asks for, so that
// one fuzz input does not create thousands of logs (the controller's own
// bound, 10,000 per request, is tested in internal/metadata).
func boundWork(req kmsg.Request) {
	switch r := req.(type) {
	case *kmsg.CreateTopicsRequest:
		for i := range r.Topics {
			r.Topics[i].NumPartitions %= 8
			if len(r.Topics[i].ReplicaAssignment) > 8 {
				r.Topics[i].ReplicaAssignment = r.Topics[i].ReplicaAssignment[:8]
			}
		}
	case *kmsg.CreatePartitionsRequest:
		for i := range r.Topics {
			r.Topics[i].Count %= 8
		}
	}
}
