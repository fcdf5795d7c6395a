package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// setting is one config value at one level.
type setting struct {
	raw    string // as given (before trimming/parsing)
	value  Value
	origin string // where a static value came from; "" for dynamic ones
}

// BrokerConfig holds a node's broker configuration at every level Kafka
// knows: the static configuration it started with (file, environment,
// --override; immutable), the dynamic cluster-default and per-node levels
// (changed at runtime through AlterConfigs and replayed from the cluster
// metadata by their owner), and the built-in defaults. It is safe for
// concurrent use; every read sees one consistent snapshot of the levels.
type BrokerConfig struct {
	static map[string]setting // immutable after construction
	nodeID int32              // immutable: node.id is read-only

	mu         sync.RWMutex
	dynDefault map[string]setting // guarded by mu
	dynNode    map[string]setting // guarded by mu
	broker     *Broker            // guarded by mu; derived from all levels
	changed    chan struct{}      // guarded by mu; closed and replaced on every change
}

// NewBrokerConfig builds a BrokerConfig from static key/value pairs, as if
// they had been given in a file. It is what Load uses after reading its
// sources, and what tests and the in-process harness use directly.
func NewBrokerConfig(props map[string]string) (*BrokerConfig, error) {
	in := make(map[string]staticInput, len(props))
	for k, v := range props {
		in[k] = staticInput{raw: v}
	}
	return newBrokerConfig(in)
}

type staticInput struct {
	raw    string
	origin string
}

func newBrokerConfig(in map[string]staticInput) (*BrokerConfig, error) {
	var errs []error
	static := make(map[string]setting, len(in))
	keys := slices.Sorted(maps.Keys(in))
	for _, k := range keys {
		src := in[k]
		d, ok := brokerRegistry.resolveKey(k)
		if !ok {
			errs = append(errs, unknownError(ScopeBroker, k, src.origin))
			continue
		}
		v, err := d.Parse(src.raw)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.Name, e.Origin = k, src.origin
			}
			errs = append(errs, err)
			continue
		}
		static[k] = setting{raw: src.raw, value: v, origin: src.origin}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// broker.id is an alias of node.id (Kafka's KafkaConfig.populateSynonyms):
	// whichever is set supplies the other; both set must agree.
	nid, hasNode := static[NodeID]
	bid, hasBroker := static[BrokerID]
	switch {
	case hasNode && hasBroker && nid.value.Int() != bid.value.Int():
		return nil, &Error{Err: ErrConflict, Name: BrokerID, Value: bid.raw, Origin: bid.origin,
			Reason: fmt.Sprintf("broker.id (%d) and node.id (%d) must be equal: broker.id is an alias of node.id", bid.value.Int(), nid.value.Int())}
	case hasNode && !hasBroker:
		static[BrokerID] = nid
	case hasBroker && !hasNode:
		static[NodeID] = bid
	}
	c := &BrokerConfig{
		static:     static,
		dynDefault: map[string]setting{},
		dynNode:    map[string]setting{},
		changed:    make(chan struct{}),
	}
	c.nodeID = c.lookup(NodeID, c.dynNode, c.dynDefault).value.Int()
	b, err := c.derive(c.dynNode, c.dynDefault)
	if err != nil {
		return nil, err
	}
	c.broker = b
	return c, nil
}

// NodeID returns this node's id.
func (c *BrokerConfig) NodeID() int32 { return c.nodeID }

// Broker returns the current typed configuration. The returned value is an
// immutable snapshot shared with other callers: do not modify it.
func (c *BrokerConfig) Broker() *Broker {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.broker
}

// Watch returns the current snapshot and a channel that is closed at the next
// dynamic change, so a component can re-read what it depends on:
//
//	b, changed := cfg.Watch()
//	select { case <-changed: b, changed = cfg.Watch() ... }
func (c *BrokerConfig) Watch() (*Broker, <-chan struct{}) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.broker, c.changed
}

// lookup returns the effective setting of name over the given dynamic levels,
// the static level and the default, with its source. The caller holds mu (or
// passes levels it owns).
func (c *BrokerConfig) lookup(name string, dynNode, dynDefault map[string]setting) sourced {
	if s, ok := dynNode[name]; ok {
		return sourced{setting: s, source: SourceDynamicBroker}
	}
	if s, ok := dynDefault[name]; ok {
		return sourced{setting: s, source: SourceDynamicDefaultBroker}
	}
	if s, ok := c.static[name]; ok {
		return sourced{setting: s, source: SourceStaticBroker}
	}
	d, ok := brokerRegistry.resolveKey(name)
	if !ok {
		return sourced{source: SourceUnknown}
	}
	raw, _ := d.Default()
	return sourced{setting: setting{raw: raw, value: d.DefaultValue()}, source: SourceDefault}
}

type sourced struct {
	setting
	source Source
}

// Get returns the effective value of a broker config and where it came from.
// ok is false if name is not a broker config (per-listener keys such as
// listener.name.ssl.ssl.keystore.location are accepted).
func (c *BrokerConfig) Get(name string) (v Value, src Source, ok bool) {
	if _, known := brokerRegistry.resolveKey(name); !known {
		return Value{}, SourceUnknown, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	s := c.lookup(name, c.dynNode, c.dynDefault)
	return s.value, s.source, true
}

// ForListener returns the value of a listener-overridable config for one
// listener: listener.name.<listener>.<name> if set at any level, else the
// base config. mechanism selects the mechanism-scoped form of
// sasl.jaas.config ("" for none).
func (c *BrokerConfig) ForListener(listener, mechanism, name string) Value {
	c.mu.RLock()
	defer c.mu.RUnlock()
	prefix := ListenerPrefix + strings.ToLower(listener) + "."
	if mechanism != "" {
		if s := c.lookup(prefix+strings.ToLower(mechanism)+"."+name, c.dynNode, c.dynDefault); s.source != SourceDefault && s.source != SourceUnknown {
			return s.value
		}
	}
	if s := c.lookup(prefix+name, c.dynNode, c.dynDefault); s.source != SourceDefault && s.source != SourceUnknown {
		return s.value
	}
	return c.lookup(name, c.dynNode, c.dynDefault).value
}

// must returns the effective value of name, which must be a broker config of
// one of the given types. It panics otherwise: the typed accessors are for
// code that names configs by constant, never for names from the network.
func (c *BrokerConfig) must(name string, types ...Type) Value {
	d, ok := brokerRegistry.Lookup(name)
	if !ok {
		panic("config: no broker config named " + strconv.Quote(name))
	}
	if !slices.Contains(types, d.Type) {
		panic("config: broker config " + name + " is of type " + d.Type.String())
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.lookup(name, c.dynNode, c.dynDefault).value
}

// Bool returns a boolean broker config. Like every typed accessor it panics
// if name is not a broker config of a matching type (a programming error).
func (c *BrokerConfig) Bool(name string) bool { return c.must(name, TypeBoolean).Bool() }

// Int returns an int or short broker config.
func (c *BrokerConfig) Int(name string) int32 { return c.must(name, TypeInt, TypeShort).Int() }

// Long returns an int, short or long broker config as int64.
func (c *BrokerConfig) Long(name string) int64 {
	return c.must(name, TypeInt, TypeShort, TypeLong).Long()
}

// Double returns a double broker config.
func (c *BrokerConfig) Double(name string) float64 { return c.must(name, TypeDouble).Double() }

// String returns a string, class or password broker config ("" when null).
func (c *BrokerConfig) String(name string) string {
	return c.must(name, TypeString, TypeClass, TypePassword).Str()
}

// List returns a list broker config; the caller owns the slice.
func (c *BrokerConfig) List(name string) []string { return c.must(name, TypeList).List() }

// Duration returns a time broker config as a Duration, from the unit its name
// ends in (.ms, .seconds, .minutes, .hours), saturating at the largest
// Duration for Kafka's Long.MAX_VALUE "never".
func (c *BrokerConfig) Duration(name string) time.Duration {
	n := c.Long(name)
	switch {
	case strings.HasSuffix(name, ".ms"):
		return MsDuration(n)
	case strings.HasSuffix(name, ".seconds"):
		return saturatingMul(n, time.Second)
	case strings.HasSuffix(name, ".minutes"):
		return saturatingMul(n, time.Minute)
	case strings.HasSuffix(name, ".hours"):
		return saturatingMul(n, time.Hour)
	}
	panic("config: broker config " + name + " is not a duration")
}

func saturatingMul(n int64, unit time.Duration) time.Duration {
	return MsDuration(satMulInt64(n, int64(unit/time.Millisecond)))
}

// satMulInt64 multiplies, saturating at the int64 range.
func satMulInt64(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	p := a * b
	if p/b != a {
		if (a < 0) != (b < 0) {
			return -1 << 63
		}
		return 1<<63 - 1
	}
	return p
}

// Static returns the static configuration as given (key -> raw value),
// including the derived broker.id/node.id alias; the caller owns the map.
func (c *BrokerConfig) Static() map[string]string {
	out := make(map[string]string, len(c.static))
	for k, s := range c.static {
		out[k] = s.raw
	}
	return out
}

// Dynamic returns the dynamic configs of one level (perBroker: this node's;
// otherwise the cluster default), key -> raw value; the caller owns the map.
func (c *BrokerConfig) Dynamic(perBroker bool) map[string]string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	lvl := c.dynDefault
	if perBroker {
		lvl = c.dynNode
	}
	out := make(map[string]string, len(lvl))
	for k, s := range lvl {
		out[k] = s.raw
	}
	return out
}

// clusterLevelListenerConfigs may be set per listener at the cluster default
// level (Kafka's DynamicBrokerConfig.ClusterLevelListenerConfigs).
var clusterLevelListenerConfigs = map[string]bool{
	"max.connections": true, "max.connection.creation.rate": true, "num.network.threads": true,
}

// threadPoolConfigs may only be halved or doubled at a time, as Kafka's
// DynamicThreadPool and LogCleaner reconfiguration checks require.
var threadPoolConfigs = map[string]bool{
	"num.io.threads": true, "num.network.threads": true, "num.replica.fetchers": true,
	"num.recovery.threads.per.data.dir": true, "background.threads": true, "log.cleaner.threads": true,
}

// ValidateDynamic checks a dynamic update without applying it. perBroker
// selects the level (this node, resource name = node id; or the cluster
// default, resource name ""). A nil value deletes the key from the level.
// Errors wrap ErrUnknownConfig, ErrNotDynamic, ErrPerBrokerOnly,
// ErrInvalidValue or ErrConflict.
func (c *BrokerConfig) ValidateDynamic(perBroker bool, updates map[string]*string) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, _, _, err := c.prepareLocked(perBroker, updates, false)
	return err
}

// UpdateDynamic validates and applies a dynamic update atomically (all keys
// or none): nil values delete keys from the level, others set them. It is
// what the metadata layer calls when a config record for this node or the
// cluster default is committed; persisting the change is the caller's job.
func (c *BrokerConfig) UpdateDynamic(perBroker bool, updates map[string]*string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	node, dflt, b, err := c.prepareLocked(perBroker, updates, false)
	if err != nil {
		return err
	}
	c.commitLocked(node, dflt, b)
	return nil
}

// ReplaceDynamic replaces one dynamic level with exactly the given configs,
// as when replaying the cluster metadata at start-up. The relative thread
// pool limits (at most double or half) do not apply to a replay.
func (c *BrokerConfig) ReplaceDynamic(perBroker bool, values map[string]string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	updates := make(map[string]*string, len(values))
	lvl := c.dynDefault
	if perBroker {
		lvl = c.dynNode
	}
	for k := range lvl {
		updates[k] = nil
	}
	for k, v := range values {
		updates[k] = &v
	}
	node, dflt, b, err := c.prepareLocked(perBroker, updates, true)
	if err != nil {
		return err
	}
	c.commitLocked(node, dflt, b)
	return nil
}

func (c *BrokerConfig) commitLocked(node, dflt map[string]setting, b *Broker) {
	c.dynNode, c.dynDefault, c.broker = node, dflt, b
	close(c.changed)
	c.changed = make(chan struct{})
}

// prepareLocked validates updates against Kafka's dynamic-update rules and
// returns the new levels and the Broker derived from them. The caller holds
// mu (read or write).
func (c *BrokerConfig) prepareLocked(perBroker bool, updates map[string]*string, replay bool) (node, dflt map[string]setting, b *Broker, err error) {
	var errs []error
	var notDynamic, perBrokerOnly, needPrefix []string
	node, dflt = maps.Clone(c.dynNode), maps.Clone(c.dynDefault)
	lvl := dflt
	if perBroker {
		lvl = node
	}
	for _, k := range slices.Sorted(maps.Keys(updates)) {
		raw := updates[k]
		d, ok := brokerRegistry.resolveKey(k)
		if !ok {
			errs = append(errs, unknownError(ScopeBroker, k, ""))
			continue
		}
		listenerScoped := strings.HasPrefix(k, ListenerPrefix)
		switch {
		case d.Mode == ModeReadOnly:
			notDynamic = append(notDynamic, k)
			continue
		case strings.HasPrefix(k, "ssl.") && !listenerScoped:
			needPrefix = append(needPrefix, k)
			continue
		case !perBroker && d.Mode == ModePerBroker && !(listenerScoped && clusterLevelListenerConfigs[d.Name]):
			perBrokerOnly = append(perBrokerOnly, k)
			continue
		case !perBroker && listenerScoped && !clusterLevelListenerConfigs[d.Name]:
			perBrokerOnly = append(perBrokerOnly, k)
			continue
		}
		if raw == nil {
			delete(lvl, k)
			continue
		}
		v, err := d.Parse(*raw)
		if err != nil {
			if e := FirstError(err); e != nil {
				e.Name = k
			}
			errs = append(errs, err)
			continue
		}
		if threadPoolConfigs[k] && !replay {
			if err := checkThreadPool(k, c.lookup(k, c.dynNode, c.dynDefault).value.Int(), v.Int(), *raw); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		lvl[k] = setting{raw: *raw, value: v}
	}
	if len(notDynamic) > 0 {
		errs = append(errs, &Error{Err: ErrNotDynamic, Name: notDynamic[0],
			Reason: "Cannot update these configs dynamically: " + setString(notDynamic)})
	}
	if len(needPrefix) > 0 {
		errs = append(errs, &Error{Err: ErrNotDynamic, Name: needPrefix[0],
			Reason: "These security configs can be dynamically updated only per-listener using the listener prefix: " + setString(needPrefix)})
	}
	if len(perBrokerOnly) > 0 {
		errs = append(errs, &Error{Err: ErrPerBrokerOnly, Name: perBrokerOnly[0],
			Reason: "Cannot update these configs at default cluster level, broker id must be specified: " + setString(perBrokerOnly)})
	}
	if len(errs) > 0 {
		return nil, nil, nil, errors.Join(errs...)
	}
	b, err = c.derive(node, dflt)
	if err != nil {
		return nil, nil, nil, err
	}
	return node, dflt, b, nil
}

// setString prints names as Kafka's Scala Set.toString: Set(a, b).
func setString(names []string) string { return "Set(" + strings.Join(names, ", ") + ")" }

// checkThreadPool is Kafka's DynamicThreadPool.validateReconfiguration (and
// LogCleaner's): a pool may shrink to no less than half and grow to no more
// than double its current size in one update.
func checkThreadPool(name string, old, new int32, raw string) error {
	if new == old {
		return nil
	}
	reason := ""
	switch {
	case new <= 0:
		// Statically log.cleaner.threads may be 0; dynamically every pool
		// needs a thread (Kafka's LogCleaner.validateReconfiguration).
		reason = "value should be at least 1"
	case new < old/2:
		reason = fmt.Sprintf("value should be at least half the current value %d", old)
	case int64(new) > int64(old)*2:
		reason = fmt.Sprintf("value should not be greater than double the current value %d", old)
	default:
		return nil
	}
	return &Error{Err: ErrInvalidValue, Name: name, Value: raw, plain: true,
		Reason: fmt.Sprintf("Dynamic thread count update validation failed for %s=%s, %s", name, raw, reason)}
}

// Broker is the typed, validated broker configuration the server wires its
// subsystems from. A Broker is an immutable snapshot (BrokerConfig.Broker);
// slices and maps in it must not be modified. Durations saturate at the
// largest time.Duration where Kafka uses Long.MAX_VALUE for "never".
type Broker struct {
	NodeID int32
	// Roles is process.roles; IsBroker and IsController summarise it.
	Roles        []string
	IsBroker     bool
	IsController bool
	// ClusterID is the expected cluster id ("" when not configured).
	ClusterID string
	Rack      string

	// Listeners are the bound endpoints with their security protocols.
	Listeners []Listener
	// AdvertisedListeners are the endpoints given to clients: advertised.listeners,
	// or the non-controller listeners. A listener with an empty host or port 0
	// is advertised as configured; the server must substitute the host name and
	// the bound port.
	AdvertisedListeners         []Listener
	SecurityProtocolMap         map[string]SecurityProtocol
	InterBrokerListenerName     string
	InterBrokerSecurityProtocol SecurityProtocol
	ControllerListenerNames     []string
	QuorumVoters                []QuorumVoter
	QuorumBootstrapServers      []string
	// HTTPListener is samsa.http.listener ("" when disabled).
	HTTPListener string

	LogDirs                      []string
	MetadataLogDir               string // "" means the first of LogDirs
	NumRecoveryThreadsPerDataDir int32

	NumPartitions            int32
	DefaultReplicationFactor int32
	AutoCreateTopicsEnable   bool
	DeleteTopicEnable        bool

	MessageMaxBytes                      int32
	SocketRequestMaxBytes                int32
	SocketSendBufferBytes                int32 // -1: OS default
	SocketReceiveBufferBytes             int32 // -1: OS default
	SocketListenBacklogSize              int32
	ConnectionsMaxIdle                   time.Duration
	ConnectionsMaxReauth                 time.Duration // 0: re-authentication disabled
	FailedAuthenticationDelay            time.Duration
	MaxConnections                       int32
	MaxConnectionsPerIP                  int32
	MaxConnectionsPerIPOverrides         map[string]int32
	MaxConnectionCreationRate            int32
	QueuedMaxRequests                    int32
	QueuedMaxRequestBytes                int64 // -1: unlimited
	RequestTimeout                       time.Duration
	FetchMaxBytes                        int32
	MaxIncrementalFetchSessionCacheSlots int32

	MinInsyncReplicas                      int32
	UncleanLeaderElectionEnable            bool
	NumReplicaFetchers                     int32
	ReplicaFetchMaxBytes                   int32
	ReplicaFetchResponseMaxBytes           int32
	ReplicaFetchWaitMax                    time.Duration
	ReplicaFetchMinBytes                   int32
	ReplicaFetchBackoff                    time.Duration
	ReplicaLagTimeMax                      time.Duration
	ReplicaSocketTimeout                   time.Duration
	ReplicaHighWatermarkCheckpointInterval time.Duration
	AutoLeaderRebalanceEnable              bool
	LeaderImbalanceCheckInterval           time.Duration
	LeaderImbalancePerBrokerPercentage     int32
	BrokerHeartbeatInterval                time.Duration
	BrokerSessionTimeout                   time.Duration

	LogRetentionCheckInterval             time.Duration
	LogFlushSchedulerInterval             time.Duration
	LogFlushOffsetCheckpointInterval      time.Duration
	LogFlushStartOffsetCheckpointInterval time.Duration
	LogDirFailureTimeout                  time.Duration

	LogCleanerEnable              bool
	LogCleanerThreads             int32
	LogCleanerBackoff             time.Duration
	LogCleanerDedupeBufferSize    int64
	LogCleanerIOBufferSize        int32
	LogCleanerIOBufferLoadFactor  float64
	LogCleanerIOMaxBytesPerSecond float64

	GroupInitialRebalanceDelay         time.Duration
	GroupMinSessionTimeout             time.Duration
	GroupMaxSessionTimeout             time.Duration
	GroupMaxSize                       int32
	GroupRebalanceProtocols            []string
	GroupConsumerSessionTimeout        time.Duration
	GroupConsumerMinSessionTimeout     time.Duration
	GroupConsumerMaxSessionTimeout     time.Duration
	GroupConsumerHeartbeatInterval     time.Duration
	GroupConsumerMinHeartbeatInterval  time.Duration
	GroupConsumerMaxHeartbeatInterval  time.Duration
	GroupConsumerMaxSize               int32
	GroupConsumerAssignors             []string
	OffsetMetadataMaxBytes             int32
	OffsetsLoadBufferSize              int32
	OffsetsTopicNumPartitions          int32
	OffsetsTopicReplicationFactor      int16
	OffsetsTopicSegmentBytes           int32
	OffsetsTopicCompressionCodec       int32
	OffsetsRetention                   time.Duration
	OffsetsRetentionCheckInterval      time.Duration
	OffsetsCommitTimeout               time.Duration
	ShareStateTopicReplicationFactor   int16
	ShareStateTopicMinISR              int16
	TransactionStateLogNumPartitions   int32
	TransactionStateLogReplication     int16
	TransactionStateLogMinISR          int32
	TransactionStateLogSegmentBytes    int32
	TransactionStateLogLoadBufferSize  int32
	TransactionalIDExpiration          time.Duration
	TransactionMaxTimeout              time.Duration
	TransactionAbortTimedOutInterval   time.Duration
	TransactionRemoveExpiredInterval   time.Duration
	TransactionPartitionVerification   bool
	ProducerIDExpiration               time.Duration
	ProducerIDExpirationCheckInterval  time.Duration
	SASLEnabledMechanisms              []string
	SASLMechanismInterBrokerProtocol   string
	AuthorizerEnabled                  bool
	SuperUsers                         []string
	AllowEveryoneIfNoACLFound          bool
	ControllerListenerSecurityProtocol SecurityProtocol // of the first controller listener; "" if none

	// LogDefaults are the effective topic configs of a topic without
	// overrides (the broker-level log defaults), with sources.
	LogDefaults *TopicConfig
}

// Listener returns the listener with the given name (case-insensitive).
func (b *Broker) Listener(name string) (Listener, bool) {
	for _, l := range b.Listeners {
		if strings.EqualFold(l.Name, name) {
			return l, true
		}
	}
	return Listener{}, false
}

// derive computes and validates the Broker for the given dynamic levels.
func (c *BrokerConfig) derive(dynNode, dynDefault map[string]setting) (*Broker, error) {
	get := func(name string) Value { return c.lookup(name, dynNode, dynDefault).value }
	isSet := func(name string) bool {
		src := c.lookup(name, dynNode, dynDefault).source
		return src != SourceDefault && src != SourceUnknown
	}
	ms := func(name string) time.Duration { return MsDuration(get(name).Long()) }
	var errs []error
	fail := func(name, reason string) {
		s := c.lookup(name, dynNode, dynDefault)
		errs = append(errs, &Error{Err: ErrConflict, Name: name, Value: s.raw, Reason: reason, Origin: s.origin})
	}

	b := &Broker{
		NodeID:    get(NodeID).Int(),
		Roles:     get(ProcessRoles).List(),
		ClusterID: get(ClusterID).Str(),
		Rack:      get("broker.rack").Str(),
	}
	b.IsBroker = slices.Contains(b.Roles, "broker")
	b.IsController = slices.Contains(b.Roles, "controller")

	// Listeners, protocols and the inter-broker listener (KafkaConfig's
	// listener validation).
	listeners, err := ParseListeners(get(Listeners).Str())
	if err != nil {
		fail(Listeners, err.Error())
	} else if len(listeners) == 0 {
		fail(Listeners, "listeners must contain at least one listener")
	}
	b.ControllerListenerNames = upperAll(csv(get(ControllerListenerNames).Str()))
	protoMap, err := ParseSecurityProtocolMap(get(ListenerSecurityProtocolMap).Str())
	if err != nil {
		fail(ListenerSecurityProtocolMap, err.Error())
		protoMap = map[string]SecurityProtocol{}
	}
	if !isSet(ListenerSecurityProtocolMap) {
		// Kafka's effectiveListenerSecurityProtocolMap: with the default map,
		// controller listeners default to PLAINTEXT unless SSL or SASL names
		// are in use.
		sslOrSASL := func(n string) bool { return n == "SSL" || n == "SASL_SSL" || n == "SASL_PLAINTEXT" }
		uses := slices.ContainsFunc(b.ControllerListenerNames, sslOrSASL) ||
			slices.ContainsFunc(listeners, func(l Listener) bool { return sslOrSASL(l.Name) })
		if !uses {
			for _, n := range b.ControllerListenerNames {
				if _, ok := protoMap[n]; !ok {
					protoMap[n] = ProtocolPlaintext
				}
			}
		}
	}
	b.SecurityProtocolMap = protoMap
	for i, l := range listeners {
		p, ok := protoMap[l.Name]
		if !ok {
			fail(Listeners, fmt.Sprintf("Listener with name %s defined in listeners not found in listener.security.protocol.map", l.Name))
			continue
		}
		listeners[i].SecurityProtocol = p
	}
	b.Listeners = listeners
	listenerNames := make([]string, len(listeners))
	for i, l := range listeners {
		listenerNames[i] = l.Name
	}

	if isSet(AdvertisedListeners) {
		adv, err := ParseListeners(get(AdvertisedListeners).Str())
		if err != nil {
			fail(AdvertisedListeners, err.Error())
		}
		for i, l := range adv {
			if !slices.Contains(listenerNames, l.Name) {
				fail(AdvertisedListeners, fmt.Sprintf("advertised.listeners listener names must be equal to or a subset of the ones defined in listeners. Found %s. The valid options based on the current configuration are %s", l.Name, strings.Join(listenerNames, ",")))
			}
			if l.Host == "0.0.0.0" || l.Host == "::" {
				fail(AdvertisedListeners, "advertised.listeners cannot use the nonroutable meta-address "+l.Host+". Use a routable IP address.")
			}
			adv[i].SecurityProtocol = protoMap[l.Name]
		}
		b.AdvertisedListeners = adv
	} else {
		for _, l := range listeners {
			if !slices.Contains(b.ControllerListenerNames, l.Name) {
				b.AdvertisedListeners = append(b.AdvertisedListeners, l)
			}
		}
	}

	for _, n := range b.ControllerListenerNames {
		inListeners := slices.Contains(listenerNames, n)
		if b.IsController && !inListeners {
			fail(ControllerListenerNames, fmt.Sprintf("controller.listener.names must contain only listeners that appear in listeners when running the controller role; %s does not", n))
		}
		if !b.IsController && inListeners {
			fail(ControllerListenerNames, fmt.Sprintf("controller.listener.names must not contain a value appearing in listeners when running with just the broker role; %s does", n))
		}
	}
	if len(b.ControllerListenerNames) > 0 {
		b.ControllerListenerSecurityProtocol = protoMap[b.ControllerListenerNames[0]]
	}

	if isSet(InterBrokerListenerName) && isSet(SecurityInterBrokerProtocol) {
		fail(InterBrokerListenerName, "Only one of inter.broker.listener.name and security.inter.broker.protocol should be set.")
	}
	ibName := strings.ToUpper(get(InterBrokerListenerName).Str())
	if ibName == "" {
		ibName = get(SecurityInterBrokerProtocol).Str()
	}
	advNames := make([]string, 0, len(b.AdvertisedListeners))
	for _, l := range b.AdvertisedListeners {
		advNames = append(advNames, l.Name)
	}
	if b.IsBroker && !slices.Contains(advNames, ibName) {
		if !isSet(InterBrokerListenerName) && !isSet(SecurityInterBrokerProtocol) && len(advNames) > 0 {
			// Samsa leniency: with neither set and no listener named after
			// the default protocol, use the first advertised listener.
			ibName = advNames[0]
		} else {
			fail(InterBrokerListenerName, fmt.Sprintf("inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid options based on currently configured listeners are %s", strings.Join(advNames, ",")))
		}
	}
	if slices.Contains(b.ControllerListenerNames, ibName) && b.IsBroker {
		fail(InterBrokerListenerName, "The listener name specified in inter.broker.listener.name must not be a controller listener: "+ibName)
	}
	b.InterBrokerListenerName = ibName
	b.InterBrokerSecurityProtocol = protoMap[ibName]

	// Quorum.
	voters, err := ParseQuorumVoters(get(ControllerQuorumVoters).List())
	if err != nil {
		fail(ControllerQuorumVoters, err.Error())
	}
	b.QuorumVoters = voters
	b.QuorumBootstrapServers = get(ControllerQuorumBootstrap).List()
	if len(voters) > 0 && b.IsController {
		if !slices.ContainsFunc(voters, func(v QuorumVoter) bool { return v.ID == b.NodeID }) {
			fail(ControllerQuorumVoters, fmt.Sprintf("If process.roles contains controller, the node id %d must be included in the set of voters controller.quorum.voters", b.NodeID))
		}
		if len(b.ControllerListenerNames) == 0 {
			fail(ControllerListenerNames, "controller.listener.names must be set when controller.quorum.voters is, so that the controller has a listener for the quorum")
		}
	}
	if !b.IsController && len(voters) == 0 && len(b.QuorumBootstrapServers) == 0 {
		fail(ProcessRoles, "A node with just the broker role needs controllers: set controller.quorum.bootstrap.servers or controller.quorum.voters")
	}
	b.HTTPListener = get(SamsaHTTPListener).Str()

	// Per-listener keys must name a configured listener.
	for _, lvl := range []map[string]setting{c.static, dynDefault, dynNode} {
		for k := range lvl {
			if l, _, _, ok := brokerRegistry.LookupListenerOverride(k); ok && !slices.Contains(listenerNames, l) {
				fail(k, fmt.Sprintf("%s is set for listener %s, which is not in listeners (%s)", k, l, strings.Join(listenerNames, ",")))
			}
		}
	}

	// Storage.
	if isSet(LogDirs) {
		b.LogDirs = get(LogDirs).List()
	} else {
		b.LogDirs = get(LogDir).List()
	}
	b.MetadataLogDir = get(MetadataLogDir).Str()
	b.NumRecoveryThreadsPerDataDir = get("num.recovery.threads.per.data.dir").Int()

	b.NumPartitions = get("num.partitions").Int()
	b.DefaultReplicationFactor = get("default.replication.factor").Int()
	b.AutoCreateTopicsEnable = get("auto.create.topics.enable").Bool()
	b.DeleteTopicEnable = get("delete.topic.enable").Bool()

	b.MessageMaxBytes = get("message.max.bytes").Int()
	b.SocketRequestMaxBytes = get("socket.request.max.bytes").Int()
	b.SocketSendBufferBytes = get("socket.send.buffer.bytes").Int()
	b.SocketReceiveBufferBytes = get("socket.receive.buffer.bytes").Int()
	b.SocketListenBacklogSize = get("socket.listen.backlog.size").Int()
	b.ConnectionsMaxIdle = ms("connections.max.idle.ms")
	b.ConnectionsMaxReauth = ms("connections.max.reauth.ms")
	b.FailedAuthenticationDelay = ms("connection.failed.authentication.delay.ms")
	b.MaxConnections = get("max.connections").Int()
	b.MaxConnectionsPerIP = get("max.connections.per.ip").Int()
	overrides, err := parseConnectionOverrides(get("max.connections.per.ip.overrides").Str())
	if err != nil {
		fail("max.connections.per.ip.overrides", err.Error())
	}
	b.MaxConnectionsPerIPOverrides = overrides
	if b.MaxConnectionsPerIP == 0 && len(overrides) == 0 {
		fail("max.connections.per.ip", "There must be at least one override of max.connections.per.ip in max.connections.per.ip.overrides when max.connections.per.ip is 0")
	}
	b.MaxConnectionCreationRate = get("max.connection.creation.rate").Int()
	b.QueuedMaxRequests = get("queued.max.requests").Int()
	b.QueuedMaxRequestBytes = get("queued.max.request.bytes").Long()
	b.RequestTimeout = ms("request.timeout.ms")
	b.FetchMaxBytes = get("fetch.max.bytes").Int()
	b.MaxIncrementalFetchSessionCacheSlots = get("max.incremental.fetch.session.cache.slots").Int()

	b.MinInsyncReplicas = get("min.insync.replicas").Int()
	b.UncleanLeaderElectionEnable = get("unclean.leader.election.enable").Bool()
	b.NumReplicaFetchers = get("num.replica.fetchers").Int()
	b.ReplicaFetchMaxBytes = get("replica.fetch.max.bytes").Int()
	b.ReplicaFetchResponseMaxBytes = get("replica.fetch.response.max.bytes").Int()
	b.ReplicaFetchWaitMax = ms(ReplicaFetchWaitMaxMs)
	b.ReplicaFetchMinBytes = get("replica.fetch.min.bytes").Int()
	b.ReplicaFetchBackoff = ms("replica.fetch.backoff.ms")
	b.ReplicaLagTimeMax = ms(ReplicaLagTimeMaxMs)
	b.ReplicaSocketTimeout = ms(ReplicaSocketTimeoutMs)
	if b.ReplicaFetchWaitMax > b.ReplicaSocketTimeout {
		fail(ReplicaSocketTimeoutMs, "replica.socket.timeout.ms should always be at least replica.fetch.wait.max.ms to prevent unnecessary socket timeouts")
	}
	if b.ReplicaFetchWaitMax > b.ReplicaLagTimeMax {
		fail(ReplicaFetchWaitMaxMs, "replica.fetch.wait.max.ms should always be less than or equal to replica.lag.time.max.ms to prevent frequent changes in ISR")
	}
	b.ReplicaHighWatermarkCheckpointInterval = ms("replica.high.watermark.checkpoint.interval.ms")
	b.AutoLeaderRebalanceEnable = get("auto.leader.rebalance.enable").Bool()
	b.LeaderImbalanceCheckInterval = saturatingMul(get("leader.imbalance.check.interval.seconds").Long(), time.Second)
	b.LeaderImbalancePerBrokerPercentage = get("leader.imbalance.per.broker.percentage").Int()
	b.BrokerHeartbeatInterval = ms("broker.heartbeat.interval.ms")
	b.BrokerSessionTimeout = ms("broker.session.timeout.ms")

	b.LogRetentionCheckInterval = ms("log.retention.check.interval.ms")
	b.LogFlushSchedulerInterval = ms("log.flush.scheduler.interval.ms")
	b.LogFlushOffsetCheckpointInterval = ms("log.flush.offset.checkpoint.interval.ms")
	b.LogFlushStartOffsetCheckpointInterval = ms("log.flush.start.offset.checkpoint.interval.ms")
	b.LogDirFailureTimeout = ms("log.dir.failure.timeout.ms")

	b.LogCleanerEnable = get("log.cleaner.enable").Bool()
	b.LogCleanerThreads = get("log.cleaner.threads").Int()
	b.LogCleanerBackoff = ms("log.cleaner.backoff.ms")
	b.LogCleanerDedupeBufferSize = get("log.cleaner.dedupe.buffer.size").Long()
	b.LogCleanerIOBufferSize = get("log.cleaner.io.buffer.size").Int()
	b.LogCleanerIOBufferLoadFactor = get("log.cleaner.io.buffer.load.factor").Double()
	b.LogCleanerIOMaxBytesPerSecond = get("log.cleaner.io.max.bytes.per.second").Double()
	if minLag, maxLag := get(LogCleanerMinCompactionLagMs).Long(), get(LogCleanerMaxCompactionLagMs).Long(); minLag > maxLag {
		fail(LogCleanerMinCompactionLagMs, fmt.Sprintf("conflict broker config setting %s (%d) > %s (%d)", LogCleanerMinCompactionLagMs, minLag, LogCleanerMaxCompactionLagMs, maxLag))
	}

	b.GroupInitialRebalanceDelay = ms("group.initial.rebalance.delay.ms")
	b.GroupMinSessionTimeout = ms(GroupMinSessionTimeoutMs)
	b.GroupMaxSessionTimeout = ms(GroupMaxSessionTimeoutMs)
	if b.GroupMaxSessionTimeout < b.GroupMinSessionTimeout {
		fail(GroupMaxSessionTimeoutMs, "group.max.session.timeout.ms must be greater than or equal to group.min.session.timeout.ms")
	}
	b.GroupMaxSize = get("group.max.size").Int()
	b.GroupRebalanceProtocols = get("group.coordinator.rebalance.protocols").List()
	if !slices.Contains(b.GroupRebalanceProtocols, "classic") {
		fail("group.coordinator.rebalance.protocols", "The classic rebalance protocol must be enabled in group.coordinator.rebalance.protocols")
	}
	b.GroupConsumerSessionTimeout = ms(GroupConsumerSessionTimeoutMs)
	b.GroupConsumerMinSessionTimeout = ms("group.consumer.min.session.timeout.ms")
	b.GroupConsumerMaxSessionTimeout = ms("group.consumer.max.session.timeout.ms")
	b.GroupConsumerHeartbeatInterval = ms(GroupConsumerHeartbeatMs)
	b.GroupConsumerMinHeartbeatInterval = ms("group.consumer.min.heartbeat.interval.ms")
	b.GroupConsumerMaxHeartbeatInterval = ms("group.consumer.max.heartbeat.interval.ms")
	checkBounds := func(name string, v, lo, hi time.Duration, loName, hiName string) {
		if lo > hi {
			fail(hiName, hiName+" must be greater than or equal to "+loName)
		} else if v < lo || v > hi {
			fail(name, fmt.Sprintf("%s must be between %s and %s", name, loName, hiName))
		}
	}
	checkBounds(GroupConsumerSessionTimeoutMs, b.GroupConsumerSessionTimeout, b.GroupConsumerMinSessionTimeout, b.GroupConsumerMaxSessionTimeout,
		"group.consumer.min.session.timeout.ms", "group.consumer.max.session.timeout.ms")
	checkBounds(GroupConsumerHeartbeatMs, b.GroupConsumerHeartbeatInterval, b.GroupConsumerMinHeartbeatInterval, b.GroupConsumerMaxHeartbeatInterval,
		"group.consumer.min.heartbeat.interval.ms", "group.consumer.max.heartbeat.interval.ms")
	if b.GroupConsumerHeartbeatInterval >= b.GroupConsumerSessionTimeout {
		fail(GroupConsumerHeartbeatMs, "group.consumer.heartbeat.interval.ms must be less than group.consumer.session.timeout.ms")
	}
	b.GroupConsumerMaxSize = get("group.consumer.max.size").Int()
	b.GroupConsumerAssignors = get("group.consumer.assignors").List()
	b.OffsetMetadataMaxBytes = get("offset.metadata.max.bytes").Int()
	b.OffsetsLoadBufferSize = get("offsets.load.buffer.size").Int()
	b.OffsetsTopicNumPartitions = get("offsets.topic.num.partitions").Int()
	b.OffsetsTopicReplicationFactor = get("offsets.topic.replication.factor").Short()
	b.OffsetsTopicSegmentBytes = get("offsets.topic.segment.bytes").Int()
	b.OffsetsTopicCompressionCodec = get("offsets.topic.compression.codec").Int()
	b.OffsetsRetention = saturatingMul(get("offsets.retention.minutes").Long(), time.Minute)
	b.OffsetsRetentionCheckInterval = ms("offsets.retention.check.interval.ms")
	b.OffsetsCommitTimeout = ms("offsets.commit.timeout.ms")
	b.ShareStateTopicReplicationFactor = get("share.coordinator.state.topic.replication.factor").Short()
	b.ShareStateTopicMinISR = get("share.coordinator.state.topic.min.isr").Short()

	b.TransactionStateLogNumPartitions = get("transaction.state.log.num.partitions").Int()
	b.TransactionStateLogReplication = get("transaction.state.log.replication.factor").Short()
	b.TransactionStateLogMinISR = get("transaction.state.log.min.isr").Int()
	b.TransactionStateLogSegmentBytes = get("transaction.state.log.segment.bytes").Int()
	b.TransactionStateLogLoadBufferSize = get("transaction.state.log.load.buffer.size").Int()
	b.TransactionalIDExpiration = ms("transactional.id.expiration.ms")
	b.TransactionMaxTimeout = ms("transaction.max.timeout.ms")
	b.TransactionAbortTimedOutInterval = ms("transaction.abort.timed.out.transaction.cleanup.interval.ms")
	b.TransactionRemoveExpiredInterval = ms("transaction.remove.expired.transaction.cleanup.interval.ms")
	b.TransactionPartitionVerification = get("transaction.partition.verification.enable").Bool()
	b.ProducerIDExpiration = ms("producer.id.expiration.ms")
	b.ProducerIDExpirationCheckInterval = ms("producer.id.expiration.check.interval.ms")

	b.SASLEnabledMechanisms = get(SASLEnabledMechanisms).List()
	b.SASLMechanismInterBrokerProtocol = get(SASLMechanismInterBrokerProto).Str()
	b.AuthorizerEnabled = get(AuthorizerClassName).Str() != ""
	for _, u := range strings.Split(get("super.users").Str(), ";") {
		if u = strings.TrimSpace(u); u != "" {
			b.SuperUsers = append(b.SuperUsers, u)
		}
	}
	b.AllowEveryoneIfNoACLFound = get("allow.everyone.if.no.acl.found").Bool()

	logDefaults, err := resolveTopic(c.levelsLocked(dynNode, dynDefault), nil)
	if err != nil {
		errs = append(errs, err)
	}
	b.LogDefaults = logDefaults

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return b, nil
}

// parseConnectionOverrides parses max.connections.per.ip.overrides
// ("host:100,127.0.0.1:200"); the count follows the last colon so IPv6
// addresses work.
func parseConnectionOverrides(s string) (map[string]int32, error) {
	out := map[string]int32{}
	for _, e := range csv(s) {
		i := strings.LastIndex(e, ":")
		if i <= 0 {
			return nil, fmt.Errorf("Error parsing max.connections.per.ip.overrides entry %q: expected host:count", e)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(e[i+1:]), 10, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("Error parsing max.connections.per.ip.overrides entry %q: the count must be a non-negative integer", e)
		}
		out[strings.TrimSpace(e[:i])] = int32(n)
	}
	return out, nil
}

func upperAll(in []string) []string {
	for i, s := range in {
		in[i] = strings.ToUpper(s)
	}
	return in
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
