package handler

// This file is the in-process broker the handler tests run against: real
// storage, real metadata, real replica manager, real network server, on
// 127.0.0.1:0 and a temp dir. It is shared by every handler test (produce,
// fetch, admin ...):
//
//	b := startBroker(t)                            // node 1, empty cluster
//	b.createTopic("t", 3, nil)                     // through the metadata controller
//	cl := b.client()                               // franz-go client seeded at b.Addr
//	resp := b.raw(t, req)                          // one raw kmsg request at req's version
//	conn := b.dial(t); conn.send(req); conn.recv() // several on one connection
//
// Topics are created through the metadata Controller (committed to a
// LocalLog in the temp dir, published to a Publisher); a Publisher listener
// plays the server's role and makes this node leader of every partition
// the image assigns to it (replica.BecomeLeader with the topic's resolved
// config), and removes partitions of deleted topics. Everything stops in
// t.Cleanup in reverse order, so goleak sees no goroutine left behind.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
	"github.com/samsa-streaming/samsa/internal/network"
	"github.com/samsa-streaming/samsa/internal/purgatory"
	"github.com/samsa-streaming/samsa/internal/replica"
	"github.com/samsa-streaming/samsa/internal/storage"
)

// testBroker is a single-node broker assembled from the real subsystems.
type testBroker struct {
	NodeID     int32
	Dir        string
	Config     *config.BrokerConfig
	Logs       *storage.Manager
	Publisher  *metadata.Publisher
	MetaLog    *metadata.LocalLog
	Controller *metadata.Controller
	Timer      *purgatory.Timer
	Replicas   *replica.Manager
	Handler    *Handler
	Server     *network.Server
	Addr       string // host:port of the PLAINTEXT listener

	mu      sync.Mutex
	syncErr error // guarded by mu: the first error applying metadata to replicas
}

// brokerOptions tunes startBroker.
type brokerOptions struct {
	// Props are broker properties for config.NewBrokerConfig (node.id is
	// set from NodeID; listeners defaults to PLAINTEXT://127.0.0.1:0).
	Props map[string]string
	// NodeID defaults to 1.
	NodeID int32
	// Deps, if set, edits the handler's dependencies before it is built.
	Deps func(*Deps)
	// Network, if set, edits the network server's config.
	Network func(*network.Config)
}

// startBroker starts a broker and registers its shutdown with t.Cleanup.
func startBroker(t *testing.T, opts ...func(*brokerOptions)) *testBroker {
	t.Helper()
	o := brokerOptions{NodeID: 1}
	for _, f := range opts {
		f(&o)
	}
	b := &testBroker{NodeID: o.NodeID, Dir: t.TempDir()}
	// Port 0: the Metadata handler advertises the port the client
	// actually reached (see Handler.selfNode).
	props := map[string]string{"listeners": "PLAINTEXT://127.0.0.1:0"}
	for k, v := range o.Props {
		props[k] = v
	}
	props["node.id"] = fmt.Sprint(o.NodeID)
	cfg, err := config.NewBrokerConfig(props)
	if err != nil {
		t.Fatalf("broker config: %v", err)
	}
	b.Config = cfg

	b.Logs, err = storage.NewManager(storage.ManagerConfig{Dirs: []string{b.Dir}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Logs.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Logs.Close(); err != nil {
			t.Errorf("close logs: %v", err)
		}
	})

	b.Timer, err = purgatory.NewTimer(purgatory.TimerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Timer.Close)
	b.Replicas, err = replica.NewManager(replica.Config{NodeID: b.NodeID, Logs: b.Logs, Timer: b.Timer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Replicas.Close() })

	b.Publisher = metadata.NewPublisher()
	unsubscribe := b.Publisher.Subscribe(b.applyMetadata)
	t.Cleanup(unsubscribe)
	b.MetaLog, err = metadata.OpenLocalLog(metadata.MetadataLogDir(b.Dir), b.Publisher, metadata.LocalLogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.MetaLog.Close() })
	b.Controller = metadata.NewController(b.MetaLog, b.Publisher, metadata.ControllerConfig{
		NodeID: b.NodeID,
		ValidateTopicConfig: func(_ string, overrides map[string]string) error {
			return cfg.ValidateTopicConfigs(nil, overrides)
		},
	})

	deps := Deps{
		NodeID:     b.NodeID,
		Metadata:   b.Publisher.Image,
		Replicas:   b.Replicas,
		Controller: b.Controller,
		Config:     cfg,
		ClusterID:  "samsa-handler-test",
		Logs:       b.Logs,
	}
	if o.Deps != nil {
		o.Deps(&deps)
	}
	b.Handler = New(deps)

	ncfg := network.Config{
		Listeners: []network.ListenerConfig{{Name: "PLAINTEXT", Addr: "127.0.0.1:0"}},
		Handler:   b.Handler,
	}
	if o.Network != nil {
		o.Network(&ncfg)
	}
	b.Server, err = network.NewServer(ncfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Server.Close(ctx); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	b.Addr = b.Server.Addr("PLAINTEXT").String()
	t.Cleanup(func() {
		if err := b.metadataError(); err != nil {
			t.Errorf("applying metadata to replicas: %v", err)
		}
	})
	return b
}

// applyMetadata is the server's job in miniature: lead every partition
// the image assigns to this node, with the topic's effective config, and
// stop hosting deleted topics. It runs synchronously in the publisher, so
// a CreateTopics that returned has its partitions led.
func (b *testBroker) applyMetadata(_, next *metadata.Image, delta *metadata.Delta) {
	for _, tc := range delta.Topics {
		if tc.Deleted {
			for _, p := range tc.Topic.Partitions {
				b.recordErr(b.Replicas.RemovePartition(replica.TopicPartition{Topic: tc.Name, Partition: p.ID}, true))
			}
			continue
		}
		t := next.TopicByID(tc.ID)
		if t == nil {
			continue
		}
		pcfg, err := b.partitionConfig(next, t.Name)
		if err != nil {
			b.recordErr(err)
			continue
		}
		for _, id := range append(append([]int32(nil), tc.AddedPartitions...), tc.ChangedPartitions...) {
			p, ok := t.Partition(id)
			if !ok || p.Leader != b.NodeID {
				continue
			}
			tp := replica.TopicPartition{Topic: t.Name, Partition: id}
			b.recordErr(b.Replicas.BecomeLeader(tp, t.ID, p.LeaderEpoch, p.Replicas, p.ISR, pcfg))
		}
	}
	for _, res := range delta.Configs {
		if res.Type != metadata.ResourceTopic {
			continue
		}
		t := next.Topic(res.Name)
		if t == nil {
			continue
		}
		pcfg, err := b.partitionConfig(next, t.Name)
		if err != nil {
			b.recordErr(err)
			continue
		}
		for _, p := range t.Partitions {
			if p.Leader == b.NodeID {
				b.recordErr(b.Replicas.SetConfig(replica.TopicPartition{Topic: t.Name, Partition: p.ID}, pcfg))
			}
		}
	}
}

// partitionConfig resolves a topic's overrides against the broker config
// into what the replica layer takes.
func (b *testBroker) partitionConfig(im *metadata.Image, topic string) (replica.PartitionConfig, error) {
	tc, err := b.Config.ResolveTopic(im.TopicConfigs(topic))
	if err != nil {
		return replica.PartitionConfig{}, fmt.Errorf("resolve config of %s: %w", topic, err)
	}
	return replica.TopicPartitionConfig(tc), nil
}

// hostAsOtherTopic replaces the hosted partition topic-partition by a
// fresh one with another topic ID (returned), in the same leader epoch,
// while the metadata image keeps the topic's ID: the moment of a delete
// and re-create when the image and the replica manager disagree.
func (b *testBroker) hostAsOtherTopic(t *testing.T, topic string, partition int32) metadata.UUID {
	t.Helper()
	tp := replica.TopicPartition{Topic: topic, Partition: partition}
	p, ok := b.Replicas.Partition(tp)
	if !ok {
		t.Fatalf("%s is not hosted", tp)
	}
	other := p.TopicID()
	other[0] ^= 0xff
	epoch, replicas, isr := p.LeaderEpoch(), p.Replicas(), p.ISR()
	pcfg, err := b.partitionConfig(b.Publisher.Image(), topic)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Replicas.RemovePartition(tp, true); err != nil {
		t.Fatal(err)
	}
	if err := b.Replicas.BecomeLeader(tp, other, epoch, replicas, isr, pcfg); err != nil {
		t.Fatal(err)
	}
	return other
}

func (b *testBroker) recordErr(err error) {
	if err == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.syncErr = errors.Join(b.syncErr, err)
}

func (b *testBroker) metadataError() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.syncErr
}

// createTopic creates a topic with partitions partitions (replication
// factor 1, on this node) and config overrides, and returns its ID. When
// it returns, this node leads every partition.
func (b *testBroker) createTopic(t *testing.T, name string, partitions int32, configs map[string]string) metadata.UUID {
	t.Helper()
	cfgs := map[string]*string{}
	for k, v := range configs {
		cfgs[k] = &v
	}
	res, err := b.Controller.CreateTopic(metadata.CreateTopicRequest{
		Name: name, NumPartitions: partitions, ReplicationFactor: 1, Configs: cfgs,
	}, false)
	if err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	if err := b.metadataError(); err != nil {
		t.Fatalf("lead partitions of %s: %v", name, err)
	}
	return res.TopicID
}

// client returns a franz-go client seeded at the broker, closed at cleanup.
func (b *testBroker) client(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// rawConn is one TCP connection speaking raw Kafka frames, for requests at
// exact versions and for observing what a client cannot (no response,
// a closed connection).
type rawConn struct {
	t    *testing.T
	conn net.Conn
	corr int32
	sent map[int32]kmsg.Request // correlation id -> request, for parsing the answer
	fmt  *kmsg.RequestFormatter
}

// dial opens a raw connection, closed at cleanup.
func (b *testBroker) dial(t *testing.T) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rawConn{t: t, conn: c, sent: map[int32]kmsg.Request{},
		fmt: kmsg.NewRequestFormatter(kmsg.FormatterClientID("samsa-raw"))}
}

// send writes req at its own version (req.GetVersion) and returns its
// correlation id.
func (c *rawConn) send(req kmsg.Request) int32 {
	c.t.Helper()
	c.corr++
	c.sent[c.corr] = req
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(c.fmt.AppendRequest(nil, req, c.corr)); err != nil {
		c.t.Fatalf("write %s: %v", kmsg.NameForKey(req.Key()), err)
	}
	return c.corr
}

// recv reads the next response frame and decodes it as the answer to the
// request it correlates to.
func (c *rawConn) recv() kmsg.Response {
	c.t.Helper()
	resp, err := c.tryRecv(10 * time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp
}

// tryRecv is recv returning an error (io.EOF when the broker closed the
// connection).
func (c *rawConn) tryRecv(timeout time.Duration) (kmsg.Response, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	var size [4]byte
	if _, err := io.ReadFull(c.conn, size[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c.conn, buf); err != nil {
		return nil, err
	}
	if len(buf) < 4 {
		return nil, fmt.Errorf("response frame of %d bytes", len(buf))
	}
	corr := int32(binary.BigEndian.Uint32(buf))
	req := c.sent[corr]
	if req == nil {
		return nil, fmt.Errorf("response with unknown correlation id %d", corr)
	}
	delete(c.sent, corr)
	body := buf[4:]
	if req.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16() {
		// Response header v1: tagged fields (this broker writes none).
		if len(body) == 0 || body[0] != 0 {
			return nil, fmt.Errorf("unexpected response header tags")
		}
		body = body[1:]
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("decode %s v%d response: %w", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp, nil
}

// expectClosed asserts that the broker closes the connection without
// answering anything more.
func (c *rawConn) expectClosed() {
	c.t.Helper()
	resp, err := c.tryRecv(10 * time.Second)
	if err == nil {
		c.t.Fatalf("got a %s response, want the connection closed", kmsg.NameForKey(resp.Key()))
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatal("connection still open")
	}
}

// raw sends one request at its version on a fresh connection and returns
// the decoded response.
func (b *testBroker) raw(t *testing.T, req kmsg.Request) kmsg.Response {
	t.Helper()
	c := b.dial(t)
	c.send(req)
	return c.recv()
}

// dialAs opens a raw connection whose requests carry clientID.
func (b *testBroker) dialAs(t *testing.T, clientID string) *rawConn {
	t.Helper()
	c := b.dial(t)
	c.fmt = kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID))
	return c
}
