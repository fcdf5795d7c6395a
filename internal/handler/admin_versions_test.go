package handler

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// adminAPIs are the admin APIs with Kafka 4's version floors (KIP-896, as
// in apache/kafka's clients/src/main/resources/common/message/*.json) and
// kmsg's newest version as the ceiling.
var adminAPIs = []struct {
	key kmsg.Key
	min int16
}{
	{kmsg.Metadata, 0},
	{kmsg.CreateTopics, 2},
	{kmsg.DeleteTopics, 1},
	{kmsg.DescribeConfigs, 1},
	{kmsg.AlterConfigs, 0},
	{kmsg.DescribeLogDirs, 1},
	{kmsg.CreatePartitions, 0},
	{kmsg.IncrementalAlterConfigs, 0},
	{kmsg.DescribeCluster, 0},
}

func TestAdminVersionRangesAdvertised(t *testing.T) {
	b := startAdminBroker(t)
	resp := b.raw(t, kmsg.NewPtrApiVersionsRequest()).(*kmsg.ApiVersionsResponse)
	got := map[int16]kmsg.ApiVersionsResponseApiKey{}
	for _, k := range resp.ApiKeys {
		got[k.ApiKey] = k
	}
	for _, a := range adminAPIs {
		k, ok := got[a.key.Int16()]
		max := kmsg.RequestForKey(a.key.Int16()).MaxVersion()
		if !ok || k.MinVersion != a.min || k.MaxVersion != max {
			t.Errorf("%s: advertised %+v, want %d-%d", a.key.Name(), k, a.min, max)
		}
	}
}

// Every advertised version of every admin API decodes and answers sanely;
// the version below each floor closes the connection, as Kafka does.
func TestAdminEveryVersion(t *testing.T) {
	b := startAdminBroker(t, registered)
	id := b.createTopic(t, "vt", 1, nil)

	// build returns a request at version v whose answer check verifies.
	type probe struct {
		build func(v int16) kmsg.Request
		check func(v int16, r kmsg.Response) error
	}
	n := 0
	fresh := func() string { n++; return fmt.Sprintf("vt-%d", n) }
	probes := map[kmsg.Key]probe{
		kmsg.Metadata: {
			build: func(v int16) kmsg.Request { return metadataReq(v, "vt") },
			check: func(v int16, r kmsg.Response) error {
				resp := r.(*kmsg.MetadataResponse)
				if len(resp.Brokers) != 1 || len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 ||
					len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].Leader != 1 {
					return fmt.Errorf("%+v", resp)
				}
				if v >= 10 && resp.Topics[0].TopicID != [16]byte(id) {
					return fmt.Errorf("topic id %v", resp.Topics[0].TopicID)
				}
				return nil
			},
		},
		kmsg.CreateTopics: {
			build: func(v int16) kmsg.Request {
				req := kmsg.NewPtrCreateTopicsRequest()
				rt := kmsg.NewCreateTopicsRequestTopic()
				rt.Topic, rt.NumPartitions, rt.ReplicationFactor = fresh(), 2, 1
				req.Topics = append(req.Topics, rt)
				return req
			},
			check: func(v int16, r kmsg.Response) error {
				resp := r.(*kmsg.CreateTopicsResponse)
				if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
					return fmt.Errorf("%+v", resp.Topics)
				}
				if v >= 5 && (resp.Topics[0].NumPartitions != 2 || len(resp.Topics[0].Configs) == 0) {
					return fmt.Errorf("v5+ fields %+v", resp.Topics[0])
				}
				if v >= 7 && resp.Topics[0].TopicID == [16]byte{} {
					return fmt.Errorf("no topic id")
				}
				return nil
			},
		},
		kmsg.DeleteTopics: {
			build: func(v int16) kmsg.Request {
				name := fresh()
				b.createTopic(t, name, 1, nil)
				req := kmsg.NewPtrDeleteTopicsRequest()
				if v >= 6 {
					rt := kmsg.NewDeleteTopicsRequestTopic()
					rt.Topic = kmsg.StringPtr(name)
					req.Topics = append(req.Topics, rt)
				} else {
					req.TopicNames = []string{name}
				}
				return req
			},
			check: func(v int16, r kmsg.Response) error {
				resp := r.(*kmsg.DeleteTopicsResponse)
				if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
					return fmt.Errorf("%+v", resp.Topics)
				}
				return nil
			},
		},
		kmsg.DescribeConfigs: {
			build: func(v int16) kmsg.Request {
				req := kmsg.NewPtrDescribeConfigsRequest()
				req.IncludeSynonyms = true
				req.IncludeDocumentation = true
				rr := kmsg.NewDescribeConfigsRequestResource()
				rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "vt"
				req.Resources = append(req.Resources, rr)
				return req
			},
			check: func(v int16, r kmsg.Response) error {
				resp := r.(*kmsg.DescribeConfigsResponse)
				if len(resp.Resources) != 1 || resp.Resources[0].ErrorCode != 0 || len(resp.Resources[0].Configs) < 20 {
					return fmt.Errorf("%+v", resp.Resources)
				}
				c := resp.Resources[0].Configs[0]
				if c.Source == -1 || len(c.ConfigSynonyms) == 0 {
					return fmt.Errorf("config %+v", c)
				}
				if (v >= 3) != (c.Documentation != nil) {
					return fmt.Errorf("documentation at v%d: %v", v, c.Documentation)
				}
				return nil
			},
		},
		kmsg.AlterConfigs: {
			build: func(v int16) kmsg.Request {
				req := kmsg.NewPtrAlterConfigsRequest()
				rr := kmsg.NewAlterConfigsRequestResource()
				rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "vt"
				c := kmsg.NewAlterConfigsRequestResourceConfig()
				c.Name, c.Value = "retention.ms", kmsg.StringPtr(fmt.Sprint(1000+v))
				rr.Configs = append(rr.Configs, c)
				req.Resources = append(req.Resources, rr)
				return req
			},
			check: func(v int16, r kmsg.Response) error {
				resp := r.(*kmsg.AlterConfigsResponse)
				if len(resp.Resources) != 1 || resp.Resources[0].ErrorCode != 0 {
					return fmt.Errorf("%+v", resp.Resources)
				}
				if got := b.Publisher.Image().TopicConfigs("vt")["retention.ms"]; got != fmt.Sprint(1000+v) {
					return fmt.Errorf("retention.ms %q", got)
				}
				return nil
			},
		},
		kmsg.DescribeLogDirs: {
			build: func(v int16) kmsg.Request { return kmsg.NewPtrDescribeLogDirsRequest() },
			check: func(v int16, r kmsg.Response) error {
				resp := r.(*kmsg.DescribeLogDirsResponse)
				if len(resp.Dirs) != 1 || resp.Dirs[0].ErrorCode != 0 || len(resp.Dirs[0].Topics) == 0 {
					return fmt.Errorf("%+v", resp.Dirs)
				}
				if (v >= 4) != (resp.Dirs[0].TotalBytes > 0) {
					return fmt.Errorf("total bytes %d at v%d", resp.Dirs[0].TotalBytes, v)
				}
				return nil
			},
		},
		kmsg.CreatePartitions: {
			build: func(v int16) kmsg.Request {
				req := kmsg.NewPtrCreatePartitionsRequest()
				rt := kmsg.NewCreatePartitionsRequestTopic()
				rt.Topic, rt.Count = "vt", b.Publisher.Image().Topic("vt").NumPartitions()+1
				req.Topics = append(req.Topics, rt)
				return req
			},
			check: func(v int16, r kmsg.Response) error {
				resp := r.(*kmsg.CreatePartitionsResponse)
				if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
					return fmt.Errorf("%+v", resp.Topics)
				}
				return nil
			},
		},
		kmsg.IncrementalAlterConfigs: {
			build: func(v int16) kmsg.Request {
				req := kmsg.NewPtrIncrementalAlterConfigsRequest()
				rr := kmsg.NewIncrementalAlterConfigsRequestResource()
				rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "vt"
				c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
				c.Name, c.Value = "segment.ms", kmsg.StringPtr(fmt.Sprint(60000+int(v)))
				rr.Configs = append(rr.Configs, c)
				req.Resources = append(req.Resources, rr)
				return req
			},
			check: func(v int16, r kmsg.Response) error {
				resp := r.(*kmsg.IncrementalAlterConfigsResponse)
				if len(resp.Resources) != 1 || resp.Resources[0].ErrorCode != 0 {
					return fmt.Errorf("%+v", resp.Resources)
				}
				if got := b.Publisher.Image().TopicConfigs("vt")["segment.ms"]; got != fmt.Sprint(60000+int(v)) {
					return fmt.Errorf("segment.ms %q", got)
				}
				return nil
			},
		},
		kmsg.DescribeCluster: {
			build: func(v int16) kmsg.Request { return kmsg.NewPtrDescribeClusterRequest() },
			check: func(v int16, r kmsg.Response) error {
				resp := r.(*kmsg.DescribeClusterResponse)
				if resp.ErrorCode != 0 || len(resp.Brokers) != 1 || resp.ClusterID == "" {
					return fmt.Errorf("%+v", resp)
				}
				return nil
			},
		},
	}

	for _, a := range adminAPIs {
		p := probes[a.key]
		max := kmsg.RequestForKey(a.key.Int16()).MaxVersion()
		for v := a.min; v <= max; v++ {
			req := p.build(v)
			req.SetVersion(v)
			if err := p.check(v, b.raw(t, req)); err != nil {
				t.Errorf("%s v%d: %v", a.key.Name(), v, err)
			}
		}
		if a.min > 0 {
			req := p.build(a.min - 1)
			req.SetVersion(a.min - 1)
			c := b.dial(t)
			c.send(req)
			c.expectClosed()
		}
	}
}
