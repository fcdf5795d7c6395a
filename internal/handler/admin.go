package handler

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

// This file holds what the admin and cluster-metadata APIs (Metadata,
// CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs,
// AlterConfigs, IncrementalAlterConfigs, DescribeCluster, DescribeLogDirs)
// share: the cluster view a client is told about, the mapping of metadata
// and config errors to Kafka error codes, and the authorized-operations
// bitfields.

// Kafka's names of the internal topics (org.apache.kafka.common.internals.Topic).
const (
	groupMetadataTopic    = "__consumer_offsets"
	transactionStateTopic = "__transaction_state"
	shareGroupStateTopic  = "__share_group_state"
	// clusterMetadataTopic is the metadata log's partition name; a topic
	// of that name would collide with its directory, and Kafka refuses it.
	clusterMetadataTopic = "__cluster_metadata"
)

// isInternalTopicName is Kafka's Topic.isInternal: the topics its
// coordinators own. Metadata reports them with IsInternal set whether or not
// the image marks them.
func isInternalTopicName(name string) bool {
	return name == groupMetadataTopic || name == transactionStateTopic || name == shareGroupStateTopic
}

// ---- dependencies with safe fallbacks ----

// image returns the current metadata image; the empty image when the
// handler has no metadata source, so a partially wired handler answers with
// an empty cluster rather than panicking.
func (h *Handler) image() *metadata.Image {
	if h.deps.Metadata == nil {
		return metadata.EmptyImage()
	}
	if im := h.deps.Metadata(); im != nil {
		return im
	}
	return metadata.EmptyImage()
}

var (
	defaultConfigOnce sync.Once
	defaultConfig     *config.BrokerConfig
)

// config returns the broker configuration, or Kafka's defaults (as
// `samsa serve` would run with no configuration) when the handler was built
// without one.
func (h *Handler) config() *config.BrokerConfig {
	if h.deps.Config != nil {
		return h.deps.Config
	}
	defaultConfigOnce.Do(func() {
		cfg, err := config.NewBrokerConfig(nil)
		if err != nil {
			// The built-in defaults are validated by the config
			// package's tests; failing here is a programming error.
			panic("handler: built-in broker defaults do not load: " + err.Error())
		}
		defaultConfig = cfg
	})
	return defaultConfig
}

// ---- the cluster as a client on one listener sees it ----

// brokerNode is one broker as Metadata and DescribeCluster describe it:
// its endpoint on the listener the request came in on.
type brokerNode struct {
	id     int32
	host   string
	port   int32
	rack   *string
	fenced bool
}

// clusterView is the set of brokers a request on one listener is told
// about, as Kafka's KRaftMetadataCache computes it: every registered broker
// that has an endpoint with the request's listener name, with that
// endpoint, so that a client that bootstrapped on a listener keeps using it.
type clusterView struct {
	nodes      []brokerNode   // sorted by id
	registered map[int32]bool // every registered broker, with or without this listener
	byID       map[int32]*brokerNode
}

// clusterView builds the view of img for a request that arrived on the
// named listener. This node is always part of it: if its registration is
// not (yet) in the image, its identity comes from the configuration
// (advertised.listeners for this listener, broker.rack), with the address
// the client actually reached when the advertised one is a wildcard or port
// 0, so that a client can always find the node it is talking to.
func (h *Handler) clusterView(img *metadata.Image, listener string, local net.Addr) *clusterView {
	v := &clusterView{registered: map[int32]bool{}, byID: map[int32]*brokerNode{}}
	for _, b := range img.Brokers() {
		v.registered[b.ID] = true
		for _, e := range b.Endpoints {
			if !strings.EqualFold(e.Listener, listener) {
				continue
			}
			n := brokerNode{id: b.ID, host: e.Host, port: int32(e.Port), fenced: b.Fenced}
			if b.Rack != "" {
				r := b.Rack
				n.rack = &r
			}
			v.nodes = append(v.nodes, n)
			break
		}
	}
	if !v.registered[h.deps.NodeID] {
		if n, ok := h.selfNode(listener, local); ok {
			v.registered[n.id] = true
			// Insert keeping the id order.
			i := 0
			for i < len(v.nodes) && v.nodes[i].id < n.id {
				i++
			}
			v.nodes = append(v.nodes, brokerNode{})
			copy(v.nodes[i+1:], v.nodes[i:])
			v.nodes[i] = n
		}
	}
	for i := range v.nodes {
		v.byID[v.nodes[i].id] = &v.nodes[i]
	}
	return v
}

// selfNode is this node's endpoint on listener from its configuration.
func (h *Handler) selfNode(listener string, local net.Addr) (brokerNode, bool) {
	b := h.config().Broker()
	var host string
	var port int
	found := false
	for _, l := range b.AdvertisedListeners {
		if strings.EqualFold(l.Name, listener) {
			host, port, found = l.Host, l.Port, true
			break
		}
	}
	if !found {
		return brokerNode{}, false
	}
	if tcp, ok := local.(*net.TCPAddr); ok && tcp != nil {
		if host == "" || net.ParseIP(host).IsUnspecified() {
			host = tcp.IP.String()
		}
		if port == 0 {
			port = tcp.Port
		}
	}
	if host == "" || port == 0 {
		return brokerNode{}, false
	}
	n := brokerNode{id: h.deps.NodeID, host: host, port: int32(port)}
	if b.Rack != "" {
		r := b.Rack
		n.rack = &r
	}
	return n, true
}

// alive returns the broker's node if it is unfenced and reachable on the
// view's listener (Kafka's getAliveEndpoint).
func (v *clusterView) alive(id int32) (*brokerNode, bool) {
	n, ok := v.byID[id]
	if !ok || n.fenced {
		return nil, false
	}
	return n, true
}

// controllerID is the id Metadata and DescribeCluster report as the
// controller. A Kafka broker reports a random alive broker (KIP-590: every
// broker accepts admin requests and forwards them to the active
// controller); Samsa reports this node, which is alive by definition and
// serves admin requests itself, so that the answer is stable. -1 when this
// node is not reachable on the listener (then the client could not use it).
func (v *clusterView) controllerID(self int32) int32 {
	if _, ok := v.alive(self); ok {
		return self
	}
	for _, n := range v.nodes {
		if !n.fenced {
			return n.id
		}
	}
	return -1
}

// commitConfigChanges commits, through ctl, the config changes of the
// resources that passed their checks (reqs[j] belongs to the response
// resource at index idx[j]) and reports each outcome through set. Without a
// controller every one of them is NOT_CONTROLLER. AlterConfigs and
// IncrementalAlterConfigs share it; only their request types differ.
func commitConfigChanges[R any](ctl *metadata.Controller, reqs []R, idx []int,
	commit func(*metadata.Controller, []R) []error, set func(i int, code int16, msg *string)) {
	if len(reqs) == 0 {
		return
	}
	if ctl == nil {
		for _, i := range idx {
			set(i, kerr.NotController.Code, nil)
		}
		return
	}
	errs := commit(ctl, reqs)
	for j, i := range idx {
		code, msg := adminError(errs[j])
		set(i, code, msg)
	}
}

// ---- errors ----

// adminError converts an error from the metadata controller or the config
// package to a Kafka error code (errorCode, plus what only admin APIs
// meet) and the error_message Kafka would send (nil where Kafka sends
// null).
func adminError(err error) (int16, *string) {
	if err == nil {
		return 0, nil
	}
	code := errorCode(err)
	switch {
	case errors.Is(err, metadata.ErrClosed):
		// The metadata log is shutting down with the broker: the client
		// should retry against another node, as with a moved controller.
		code = kerr.NotController.Code
	case code == kerr.UnknownServerError.Code && config.FirstError(err) != nil:
		code = kerr.InvalidConfig.Code
	}
	if msg := errorMessage(err); msg != nil {
		return code, msg
	}
	if e := config.FirstError(err); e != nil {
		return code, strp(e.Message())
	}
	if code == kerr.UnknownServerError.Code {
		// Kafka sends its generic text rather than internals.
		return code, strp(kerr.UnknownServerError.Description)
	}
	return code, nil
}

// configErrorMessage is the message of a config validation failure in
// Kafka's words: every rejected config's message, joined.
func configErrorMessage(err error) string {
	errs := config.Errors(err)
	if len(errs) == 0 {
		return err.Error()
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Message()
	}
	return strings.Join(msgs, "; ")
}

// strp returns a pointer to s.
func strp(s string) *string { return &s }

// ---- resources ----

// Kafka's ConfigResource.Type ids, as DescribeConfigs, AlterConfigs and
// IncrementalAlterConfigs carry them.
const (
	resourceTopic         int8 = 2
	resourceBroker        int8 = 4
	resourceBrokerLogger  int8 = 8
	resourceClientMetrics int8 = 16
	resourceGroup         int8 = 32
)

// parseNodeID parses a broker resource name as Kafka does
// (resourceName.toInt); ok is false for anything that is not a base-10
// 32-bit integer.
func parseNodeID(name string) (int32, bool) {
	n, err := strconv.ParseInt(name, 10, 32)
	return int32(n), err == nil
}

// ---- authorized operations (KIP-430) ----

// Kafka's AclOperation codes.
const (
	aclRead            = 3
	aclWrite           = 4
	aclCreate          = 5
	aclDelete          = 6
	aclAlter           = 7
	aclDescribe        = 8
	aclClusterAction   = 9
	aclDescribeConfigs = 10
	aclAlterConfigs    = 11
	aclIdempotentWrite = 12
)

// bitfield is Kafka's Utils.to32BitField: bit n set for operation code n.
func bitfield(ops ...int) int32 {
	var b int32
	for _, op := range ops {
		b |= 1 << op
	}
	return b
}

// Without an authorizer Kafka reports every operation a resource type
// supports (AclEntry.supportedOperations) as authorized; Samsa has no
// authorizer yet, so these are the answers. When ACLs arrive, these become
// the authorizer's verdicts for the request's principal.
var (
	topicAuthorizedOps   = bitfield(aclRead, aclWrite, aclCreate, aclDescribe, aclDelete, aclAlter, aclDescribeConfigs, aclAlterConfigs)
	clusterAuthorizedOps = bitfield(aclCreate, aclClusterAction, aclDescribeConfigs, aclAlterConfigs, aclIdempotentWrite, aclAlter, aclDescribe)
)
