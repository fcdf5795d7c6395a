package config

// Broker config names used by this package's derived Broker struct.
const (
	NodeID                        = "node.id"
	BrokerID                      = "broker.id"
	ProcessRoles                  = "process.roles"
	ClusterID                     = "cluster.id"
	Listeners                     = "listeners"
	AdvertisedListeners           = "advertised.listeners"
	ListenerSecurityProtocolMap   = "listener.security.protocol.map"
	InterBrokerListenerName       = "inter.broker.listener.name"
	SecurityInterBrokerProtocol   = "security.inter.broker.protocol"
	ControllerListenerNames       = "controller.listener.names"
	ControllerQuorumVoters        = "controller.quorum.voters"
	ControllerQuorumBootstrap     = "controller.quorum.bootstrap.servers"
	LogDirs                       = "log.dirs"
	LogDir                        = "log.dir"
	MetadataLogDir                = "metadata.log.dir"
	RemoteLogStorageSystemEnable  = "remote.log.storage.system.enable"
	SamsaHTTPListener             = "samsa.http.listener"
	LogCleanerMinCompactionLagMs  = "log.cleaner.min.compaction.lag.ms"
	LogCleanerMaxCompactionLagMs  = "log.cleaner.max.compaction.lag.ms"
	GroupMinSessionTimeoutMs      = "group.min.session.timeout.ms"
	GroupMaxSessionTimeoutMs      = "group.max.session.timeout.ms"
	ReplicaFetchWaitMaxMs         = "replica.fetch.wait.max.ms"
	ReplicaSocketTimeoutMs        = "replica.socket.timeout.ms"
	ReplicaLagTimeMaxMs           = "replica.lag.time.max.ms"
	GroupConsumerSessionTimeoutMs = "group.consumer.session.timeout.ms"
	GroupConsumerHeartbeatMs      = "group.consumer.heartbeat.interval.ms"
	SASLEnabledMechanisms         = "sasl.enabled.mechanisms"
	SASLMechanismInterBrokerProto = "sasl.mechanism.inter.broker.protocol"
	AuthorizerClassName           = "authorizer.class.name"
	StandardAuthorizerClass       = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
	defaultPrincipalBuilderClass  = "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder"
	defaultSecurityProtocolMap    = "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"
	samsaDefaultListeners         = "PLAINTEXT://127.0.0.1:9092"
	samsaDefaultLogDir            = "./samsa-data"
	samsaDefaultHTTPListener      = "127.0.0.1:9644"
	maxInt                        = "2147483647"
	singleNodeNote                = "Samsa's zero-config default is a single node, where a replication factor above 1 cannot be met; Kafka's own sample server.properties sets 1 for the same reason. Set 3 for a production cluster."
	samsaSASLMechanisms           = "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"
	noEffectNote                  = " Samsa accepts it for compatibility with Kafka's server.properties; Go's runtime schedules its work, so the value has no effect."
	perListenerSSLNote            = " May be set for one listener as listener.name.<listener>.<config>."
	samsaPEMOnly                  = "Samsa reads TLS material as PEM only (Go's crypto/tls); Kafka's JKS and PKCS12 stores are not supported."
	samsaLoopbackNote             = "Samsa's zero-config default listens on loopback only, so a broker started without configuration is not reachable from the network; Kafka binds every interface."
	samsaDataDirNote              = "Samsa keeps data beside the working directory so that `samsa serve` needs no setup; Kafka defaults to /tmp/kafka-logs."
	samsaSingleNodeIDNote         = "Samsa starts as a single node without configuration, so it needs an id; Kafka requires node.id to be set."
	samsaCombinedRolesNote        = "Samsa's zero-config single node is both broker and controller (Kafka's combined mode); Kafka requires process.roles to be set."
	samsaTxnMinISRNote            = "With Samsa's single-node default replication factor of 1 for the internal topic, Kafka's default of 2 could never be met and every write to it would fail; Kafka's sample server.properties sets 1 for the same reason."
	samsaSASLDefaultNote          = "Samsa implements PLAIN and SCRAM but not Kerberos (GSSAPI), Kafka's default."
	samsaSASLInterBrokerNote      = "Samsa does not implement GSSAPI, Kafka's default."
	samsaKeystoreTypeNote         = samsaPEMOnly
)

func bdef(name string, t Type, dflt string, v Validator, imp Importance, mode UpdateMode, doc string) *Def {
	return newDef(name, t, dflt, v, imp, mode, doc)
}

// Short names for the definitions table.
const (
	ro   = ModeReadOnly
	pb   = ModePerBroker
	cw   = ModeClusterWide
	high = ImportanceHigh
	med  = ImportanceMedium
	low  = ImportanceLow
	null = nullDefault
)

// brokerDefs lists the broker configs Samsa accepts: Kafka 4.1's names,
// types, defaults, validators and dynamic update modes (DynamicBrokerConfig's
// classification: the broker synonyms of topic configs, thread pools, log
// cleaner, connection limits and producer-state settings are cluster-wide;
// listener and security settings are per-broker), plus Samsa's own samsa.*
// keys and cluster.id. Defaults that differ from Kafka carry a note (see
// Def.KafkaDefault).
func brokerDefs() []*Def {
	defs := []*Def{
		// Server identity and roles.
		bdef(NodeID, TypeInt, "1", AtLeast(0), high, ro,
			"The node id of this server. Every broker and controller of a cluster needs a unique one; broker.id is an alias.").
			samsa("", samsaSingleNodeIDNote),
		bdef(BrokerID, TypeInt, "1", AtLeast(0), high, ro,
			"The broker id of this server; an alias of node.id. If both are set they must be equal.").
			samsa("-1", samsaSingleNodeIDNote),
		bdef(ProcessRoles, TypeList, "broker,controller", processRoles, high, ro,
			`The roles this process plays: "broker", "controller", or both (combined mode).`).
			samsa("", samsaCombinedRolesNote),
		bdef(ClusterID, TypeString, null, clusterID, high, ro,
			"Samsa-specific. The expected cluster id (a 22-character URL-safe base64 UUID). When set, the node refuses to start on data formatted for another cluster, and a new data directory is formatted with this id; when unset, a new cluster gets a random id. Kafka keeps the id in meta.properties and sets it with kafka-storage.sh format --cluster-id."),
		bdef("broker.rack", TypeString, null, nil, med, ro,
			"The rack of this broker, used for rack-aware replica placement and follower fetching. Examples: RACK1, us-east-1d."),

		// Listeners and addressing.
		bdef(Listeners, TypeString, samsaDefaultListeners, listenerList, high, pb,
			"The addresses the server listens on, as a comma-separated list of NAME://host:port. Each name must have a security protocol in listener.security.protocol.map. An empty host binds every interface; port 0 lets the OS choose (for tests).").
			samsa("PLAINTEXT://:9092", samsaLoopbackNote),
		bdef(AdvertisedListeners, TypeString, null, listenerList, high, pb,
			"The addresses clients are told to use, as NAME://host:port; defaults to listeners (less the controller listeners). Names must appear in listeners. 0.0.0.0 is not allowed."),
		bdef(ListenerSecurityProtocolMap, TypeString, defaultSecurityProtocolMap, protocolMap, low, pb,
			"The security protocol of each listener name, as NAME:PROTOCOL,... A name may be anything; the protocol is one of PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL. When this is not set, controller listeners not in the map use PLAINTEXT."),
		bdef(InterBrokerListenerName, TypeString, null, nil, med, ro,
			"The listener brokers use to talk to each other. When unset, the listener named by security.inter.broker.protocol is used. Only one of the two may be set."),
		bdef(SecurityInterBrokerProtocol, TypeString, "PLAINTEXT", OneOf("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"), med, ro,
			"The security protocol brokers use to talk to each other. Only one of this and inter.broker.listener.name may be set."),
		bdef(ControllerListenerNames, TypeString, null, nil, high, ro,
			"A comma-separated list of the names of the listeners the controllers use. Each must appear in listeners on a node with the controller role. Samsa: may be left unset on a single node, whose quorum is in-process."),
		bdef(ControllerQuorumVoters, TypeList, "", quorumVoters, high, ro,
			"The controller quorum's voters, as {id}@{host}:{port},... Empty on a single combined node."),
		bdef(ControllerQuorumBootstrap, TypeList, "", hostPortList, high, ro,
			"A list of host:port of controllers used to discover the quorum (dynamic quorums, KIP-853)."),
		bdef(SamsaHTTPListener, TypeString, samsaDefaultHTTPListener, hostPortOrEmpty, high, ro,
			"Samsa-specific. The host:port of the HTTP side port that serves Prometheus /metrics and health checks; empty disables it. Loopback by default so that metrics are not exposed unless asked for."),

		// Storage.
		bdef(LogDirs, TypeList, null, nonEmptyNoDuplicates(false), high, ro,
			"A comma-separated list of the directories where the log data is stored. If not set, the value in log.dir is used."),
		bdef(LogDir, TypeList, samsaDefaultLogDir, nonEmptyNoDuplicates(false), high, ro,
			"A comma-separated list of the directories where the log data is stored (supplemental to log.dirs).").
			samsa("/tmp/kafka-logs", samsaDataDirNote),
		bdef(MetadataLogDir, TypeString, null, nil, high, ro,
			"The directory of the cluster metadata log. If unset, the first log directory is used."),
		bdef("num.recovery.threads.per.data.dir", TypeInt, "2", AtLeast(1), high, cw,
			"The number of threads per data directory used for log recovery at start-up and flushing at shutdown."),
		bdef(RemoteLogStorageSystemEnable, TypeBoolean, "false", onlyFalse("Tiered storage"), med, ro,
			"Whether tiered storage is enabled in the broker. Samsa has no tiered storage, so only false is accepted."),

		// Topic creation.
		bdef("num.partitions", TypeInt, "1", AtLeast(1), med, ro,
			"The default number of partitions of auto-created topics and of CreateTopics requests that ask for -1."),
		bdef("default.replication.factor", TypeInt, "1", nil, med, ro,
			"The default replication factor of auto-created topics and of CreateTopics requests that ask for -1."),
		bdef("auto.create.topics.enable", TypeBoolean, "true", nil, high, ro,
			"Whether a topic is created automatically when a client asks for metadata of a topic that does not exist."),
		bdef("delete.topic.enable", TypeBoolean, "true", nil, high, ro,
			"Whether topics may be deleted. With false, DeleteTopics fails with TOPIC_DELETION_DISABLED."),
		bdef("create.topic.policy.class.name", TypeClass, null, onlyNull("create.topic.policy.class.name"), low, ro,
			"The create topic policy class used for validation. Samsa loads no Java plugins, so this must be unset."),
		bdef("alter.config.policy.class.name", TypeClass, null, onlyNull("alter.config.policy.class.name"), low, ro,
			"The alter configs policy class used for validation. Samsa loads no Java plugins, so this must be unset."),

		// Request handling and sockets.
		bdef("message.max.bytes", TypeInt, maxMsgSize, AtLeast(0), high, cw,
			"The largest record batch size allowed, after compression. Topics may override it with max.message.bytes."),
		bdef("socket.request.max.bytes", TypeInt, "104857600", AtLeast(1), high, ro,
			"The maximum number of bytes in a request; a larger frame closes the connection."),
		bdef("socket.send.buffer.bytes", TypeInt, "102400", nil, high, ro,
			"The SO_SNDBUF size of server sockets; -1 uses the OS default."),
		bdef("socket.receive.buffer.bytes", TypeInt, "102400", nil, high, ro,
			"The SO_RCVBUF size of server sockets; -1 uses the OS default."),
		bdef("socket.listen.backlog.size", TypeInt, "50", AtLeast(1), med, ro,
			"The maximum number of pending connections on a listening socket."),
		bdef("connections.max.idle.ms", TypeLong, "600000", nil, med, ro,
			"Idle connections are closed after this many milliseconds."),
		bdef("connections.max.reauth.ms", TypeLong, "0", nil, med, ro,
			"When positive, the maximum lifetime of a SASL session before the client must re-authenticate (KIP-368); 0 disables re-authentication."+perListenerSSLNote).perListener(),
		bdef("connection.failed.authentication.delay.ms", TypeInt, "100", AtLeast(0), low, ro,
			"How long the response to a failed authentication is delayed before the connection is closed, to slow down brute-force attempts."),
		bdef("max.connections", TypeInt, maxInt, AtLeast(0), med, cw,
			"The maximum number of connections the broker accepts at any time, across listeners."+perListenerSSLNote).perListener(),
		bdef("max.connections.per.ip", TypeInt, maxInt, AtLeast(0), med, cw,
			"The maximum number of connections accepted from one IP address."),
		bdef("max.connections.per.ip.overrides", TypeString, "", nil, med, cw,
			`Per-IP or per-hostname overrides of max.connections.per.ip, as "hostName:100,127.0.0.1:200".`),
		bdef("max.connection.creation.rate", TypeInt, maxInt, AtLeast(0), med, cw,
			"The maximum number of new connections accepted per second."+perListenerSSLNote).perListener(),
		bdef("queued.max.requests", TypeInt, "500", AtLeast(1), high, ro,
			"The number of requests that may be queued for processing before reading from the network is paused."),
		bdef("queued.max.request.bytes", TypeLong, "-1", nil, med, ro,
			"The number of queued bytes allowed before no more requests are read; -1 means no limit."),
		bdef("request.timeout.ms", TypeInt, "30000", nil, high, ro,
			"How long the broker waits for a response to a request it sends before giving up."),
		bdef("num.io.threads", TypeInt, "8", AtLeast(1), high, cw,
			"The number of threads that process requests."+noEffectNote),
		bdef("num.network.threads", TypeInt, "3", AtLeast(1), high, cw,
			"The number of threads that read requests from and write responses to the network."+noEffectNote),
		bdef("background.threads", TypeInt, "10", AtLeast(1), high, cw,
			"The number of threads for background work."+noEffectNote),
		bdef("fetch.max.bytes", TypeInt, "57671680", AtLeast(1024), med, ro,
			"The maximum number of bytes returned for a fetch request; must be at least 1024."),
		bdef("max.incremental.fetch.session.cache.slots", TypeInt, "1000", AtLeast(0), med, ro,
			"The maximum number of incremental fetch sessions (KIP-227) the broker keeps."),

		// Replication.
		bdef("min.insync.replicas", TypeInt, "1", AtLeast(1), high, cw,
			"With acks=all (or -1), the minimum number of in-sync replicas that must acknowledge a write; if fewer are in sync the producer gets NOT_ENOUGH_REPLICAS."),
		bdef("unclean.leader.election.enable", TypeBoolean, "false", nil, high, cw,
			"Whether a replica outside the ISR may be elected leader as a last resort, even though this may lose data."),
		bdef("num.replica.fetchers", TypeInt, "1", nil, high, cw,
			"The number of fetcher threads used to replicate records from each source broker."),
		bdef("replica.fetch.max.bytes", TypeInt, "1048576", AtLeast(0), med, ro,
			"The number of bytes a follower tries to fetch per partition. Not an absolute maximum: a first non-empty batch larger than this is still returned."),
		bdef("replica.fetch.response.max.bytes", TypeInt, "10485760", AtLeast(0), med, ro,
			"The maximum number of bytes expected for a whole follower fetch response. Not an absolute maximum, as for replica.fetch.max.bytes."),
		bdef(ReplicaFetchWaitMaxMs, TypeInt, "500", nil, high, ro,
			"The maximum time a follower fetch waits for data. Must not exceed replica.lag.time.max.ms or replica.socket.timeout.ms."),
		bdef("replica.fetch.min.bytes", TypeInt, "1", nil, high, ro,
			"The minimum number of bytes a follower fetch waits for (up to replica.fetch.wait.max.ms)."),
		bdef("replica.fetch.backoff.ms", TypeInt, "1000", AtLeast(0), med, ro,
			"How long a follower waits after a fetch error before retrying."),
		bdef(ReplicaLagTimeMaxMs, TypeLong, "30000", nil, high, ro,
			"A follower that has not fetched, or not caught up to the leader's log end, for this long is removed from the ISR."),
		bdef(ReplicaSocketTimeoutMs, TypeInt, "30000", nil, high, ro,
			"The socket timeout of follower fetch requests; at least replica.fetch.wait.max.ms."),
		bdef("replica.high.watermark.checkpoint.interval.ms", TypeLong, "5000", nil, high, ro,
			"How often high watermarks are saved to disk (replication-offset-checkpoint)."),
		bdef("auto.leader.rebalance.enable", TypeBoolean, "true", nil, high, ro,
			"Whether the controller moves leadership back to preferred replicas periodically."),
		bdef("leader.imbalance.check.interval.seconds", TypeLong, "300", AtLeast(1), high, ro,
			"How often the controller checks for leader imbalance."),
		bdef("leader.imbalance.per.broker.percentage", TypeInt, "10", nil, high, ro,
			"The leader imbalance ratio per broker, in percent, above which the controller rebalances."),
		bdef("broker.heartbeat.interval.ms", TypeInt, "2000", nil, med, ro,
			"The time between broker heartbeats to the controller."),
		bdef("broker.session.timeout.ms", TypeInt, "9000", nil, med, ro,
			"A broker that has not heartbeated for this long is fenced by the controller."),

		// Log defaults (broker synonyms of topic configs).
		bdef("log.cleanup.policy", TypeList, "delete", ListOf("compact", "delete"), med, cw,
			`The default cleanup policy of topics: "delete", "compact" or both.`),
		bdef("compression.type", TypeString, "producer", OneOf(brokerCompressionTypes...), high, cw,
			`The default final compression type of topics: gzip, snappy, lz4, zstd, "uncompressed", or "producer" to keep the producer's codec.`),
		bdef("compression.gzip.level", TypeInt, "-1", gzipLevel, med, cw,
			"The compression level to use if compression.type is set to gzip."),
		bdef("compression.lz4.level", TypeInt, "9", Between(1, 17), med, cw,
			"The compression level to use if compression.type is set to lz4."),
		bdef("compression.zstd.level", TypeInt, "3", Between(-131072, 22), med, cw,
			"The compression level to use if compression.type is set to zstd."),
		bdef("log.segment.bytes", TypeInt, segment1G, AtLeast(minSegment), high, cw,
			"The maximum size of a single log file."),
		bdef("log.roll.ms", TypeLong, null, nil, high, cw,
			"The maximum time before a new log segment is rolled out, in ms. If not set, log.roll.hours is used."),
		bdef("log.roll.hours", TypeInt, "168", AtLeast(1), high, ro,
			"The maximum time before a new log segment is rolled out, in hours; secondary to log.roll.ms."),
		bdef("log.roll.jitter.ms", TypeLong, null, nil, high, cw,
			"The maximum jitter subtracted from the segment roll time, in ms. If not set, log.roll.jitter.hours is used."),
		bdef("log.roll.jitter.hours", TypeInt, "0", AtLeast(0), high, ro,
			"The maximum jitter subtracted from the segment roll time, in hours; secondary to log.roll.jitter.ms."),
		bdef("log.retention.ms", TypeLong, null, nil, high, cw,
			"How long a log file is kept before deletion, in ms. If not set, log.retention.minutes is used. -1 means no time limit."),
		bdef("log.retention.minutes", TypeInt, null, nil, high, ro,
			"How long a log file is kept before deletion, in minutes; secondary to log.retention.ms. If not set, log.retention.hours is used."),
		bdef("log.retention.hours", TypeInt, "168", nil, high, ro,
			"How long a log file is kept before deletion, in hours; tertiary to log.retention.ms."),
		bdef("log.retention.bytes", TypeLong, "-1", nil, high, cw,
			"The maximum size of a partition's log before old segments are deleted; -1 means no limit."),
		bdef("log.retention.check.interval.ms", TypeLong, "300000", AtLeast(1), med, ro,
			"How often the log manager checks whether any log segment is eligible for deletion."),
		bdef("log.index.size.max.bytes", TypeInt, index10M, AtLeast(4), med, cw,
			"The maximum size in bytes of the offset index."),
		bdef("log.index.interval.bytes", TypeInt, "4096", AtLeast(0), med, cw,
			"The interval, in bytes of log, between entries of the offset index."),
		bdef("log.flush.interval.messages", TypeLong, maxLong, AtLeast(1), high, cw,
			"The number of messages accumulated on a log partition before they are flushed to disk."),
		bdef("log.flush.interval.ms", TypeLong, null, nil, high, cw,
			"The maximum time a message stays unflushed, in ms. If not set, log.flush.scheduler.interval.ms is used."),
		bdef("log.flush.scheduler.interval.ms", TypeLong, maxLong, nil, high, ro,
			"How often the log flusher checks whether any log needs to be flushed to disk."),
		bdef("log.flush.offset.checkpoint.interval.ms", TypeInt, "60000", AtLeast(0), high, ro,
			"How often the record of the last flush, the log recovery point, is saved (recovery-point-offset-checkpoint)."),
		bdef("log.flush.start.offset.checkpoint.interval.ms", TypeInt, "60000", AtLeast(0), high, ro,
			"How often log start offsets are saved (log-start-offset-checkpoint)."),
		bdef("log.segment.delete.delay.ms", TypeLong, "60000", AtLeast(0), high, cw,
			"How long to wait before deleting a file from the filesystem."),
		bdef("log.preallocate", TypeBoolean, "false", nil, med, cw,
			"Whether to preallocate the file on disk when creating a new log segment."),
		bdef("log.message.timestamp.type", TypeString, "CreateTime", OneOf("CreateTime", "LogAppendTime"), med, cw,
			"Whether record timestamps are the producer's create time or the broker's log append time: CreateTime or LogAppendTime."),
		bdef("log.message.timestamp.before.max.ms", TypeLong, maxLong, AtLeast(0), med, cw,
			"How far a record's timestamp may be behind the broker's clock when log.message.timestamp.type=CreateTime."),
		bdef("log.message.timestamp.after.max.ms", TypeLong, oneHourMs, AtLeast(0), med, cw,
			"How far a record's timestamp may be ahead of the broker's clock when log.message.timestamp.type=CreateTime."),
		bdef("log.message.timestamp.difference.max.ms", TypeLong, maxLong, AtLeast(0), med, cw,
			"The maximum difference between the broker's clock and a record's timestamp when log.message.timestamp.type=CreateTime.").
			deprecated("Deprecated in Kafka 3.6 and removed in 4.0; use log.message.timestamp.before.max.ms and log.message.timestamp.after.max.ms."),
		bdef("log.message.downconversion.enable", TypeBoolean, "true", nil, low, cw,
			"Whether down-conversion of message formats for old consumers is enabled. Samsa always serves format v2, so this has no effect.").
			deprecated("Kafka 4.0 made this a no-op; Samsa never down-converts."),
		bdef("log.local.retention.ms", TypeLong, "-2", AtLeast(-2), med, cw,
			"How long local segments of tiered topics are kept; -2 means log.retention.ms applies."),
		bdef("log.local.retention.bytes", TypeLong, "-2", AtLeast(-2), med, cw,
			"The maximum local size of a tiered partition; -2 means log.retention.bytes applies."),
		bdef("log.dir.failure.timeout.ms", TypeLong, "30000", AtLeast(1), low, ro,
			"If a failed log directory cannot be reported to the controller for this long, the broker shuts down."),

		// Log cleaner.
		bdef("log.cleaner.enable", TypeBoolean, "true", nil, med, ro,
			"Whether the log cleaner runs. Compacted topics, including __consumer_offsets, grow without bound if it does not."),
		bdef("log.cleaner.threads", TypeInt, "1", AtLeast(0), med, cw,
			"The number of background threads used for log cleaning."),
		bdef("log.cleaner.backoff.ms", TypeLong, "15000", AtLeast(0), med, cw,
			"How long to sleep when there are no logs to clean."),
		bdef("log.cleaner.dedupe.buffer.size", TypeLong, "134217728", nil, med, cw,
			"The total memory used for log deduplication across all cleaner threads."),
		bdef("log.cleaner.io.buffer.size", TypeInt, "524288", AtLeast(0), med, cw,
			"The total memory used for log cleaner I/O buffers across all cleaner threads."),
		bdef("log.cleaner.io.buffer.load.factor", TypeDouble, "0.9", nil, med, cw,
			"The load factor of the log cleaner's dedupe buffer: the fraction of it that can fill up."),
		bdef("log.cleaner.io.max.bytes.per.second", TypeDouble, "1.7976931348623157E308", nil, med, cw,
			"The log cleaner is throttled so that the sum of its read and write I/O is below this value on average."),
		bdef("log.cleaner.delete.retention.ms", TypeLong, oneDayMs, AtLeast(0), med, cw,
			"How long delete tombstones are retained in compacted topics."),
		bdef("log.cleaner.min.cleanable.ratio", TypeDouble, "0.5", Between(0, 1), med, cw,
			"The minimum ratio of dirty log to total log for a log to be eligible for cleaning."),
		bdef(LogCleanerMinCompactionLagMs, TypeLong, "0", AtLeast(0), med, cw,
			"The minimum time a message stays uncompacted in the log."),
		bdef(LogCleanerMaxCompactionLagMs, TypeLong, maxLong, AtLeast(1), med, cw,
			"The maximum time a message stays ineligible for compaction in the log."),

		// Group coordinator.
		bdef("group.initial.rebalance.delay.ms", TypeInt, "3000", nil, med, ro,
			"How long the coordinator waits for more consumers to join a new classic group before the first rebalance."),
		bdef(GroupMinSessionTimeoutMs, TypeInt, "6000", nil, med, ro,
			"The minimum session timeout a classic group member may ask for."),
		bdef(GroupMaxSessionTimeoutMs, TypeInt, "1800000", nil, med, ro,
			"The maximum session timeout a classic group member may ask for."),
		bdef("group.max.size", TypeInt, maxInt, AtLeast(1), med, ro,
			"The maximum number of members of a classic group."),
		bdef("group.coordinator.rebalance.protocols", TypeList, "classic,consumer", ListOf("classic", "consumer", "share", "streams"), med, ro,
			"The group rebalance protocols the coordinator accepts."),
		bdef(GroupConsumerSessionTimeoutMs, TypeInt, "45000", AtLeast(1), med, ro,
			"The session timeout of members of consumer groups using the consumer protocol (KIP-848)."),
		bdef("group.consumer.min.session.timeout.ms", TypeInt, "45000", AtLeast(1), med, ro,
			"The minimum session timeout of consumer-protocol group members."),
		bdef("group.consumer.max.session.timeout.ms", TypeInt, "60000", AtLeast(1), med, ro,
			"The maximum session timeout of consumer-protocol group members."),
		bdef(GroupConsumerHeartbeatMs, TypeInt, "5000", AtLeast(1), med, ro,
			"The heartbeat interval given to consumer-protocol group members."),
		bdef("group.consumer.min.heartbeat.interval.ms", TypeInt, "5000", AtLeast(1), med, ro,
			"The minimum heartbeat interval of consumer-protocol group members."),
		bdef("group.consumer.max.heartbeat.interval.ms", TypeInt, "15000", AtLeast(1), med, ro,
			"The maximum heartbeat interval of consumer-protocol group members."),
		bdef("group.consumer.max.size", TypeInt, maxInt, AtLeast(1), med, ro,
			"The maximum number of members of a consumer-protocol group."),
		bdef("group.consumer.assignors", TypeList, "uniform,range", ListOf("uniform", "range"), med, ro,
			"The server-side assignors of consumer-protocol groups, in order of preference; the first is the default."),
		bdef("offset.metadata.max.bytes", TypeInt, "4096", nil, high, ro,
			"The maximum size of the metadata string of an offset commit."),
		bdef("offsets.load.buffer.size", TypeInt, "5242880", AtLeast(1), high, ro,
			"The batch size for reading the offsets topic when loading a coordinator shard."),
		bdef("offsets.topic.num.partitions", TypeInt, "50", AtLeast(1), high, ro,
			"The number of partitions of __consumer_offsets; it cannot change once the topic exists."),
		bdef("offsets.topic.replication.factor", TypeShort, "1", AtLeast(1), high, ro,
			"The replication factor of __consumer_offsets. Creating the topic fails until the cluster has this many brokers.").
			samsa("3", singleNodeNote),
		bdef("offsets.topic.segment.bytes", TypeInt, "104857600", AtLeast(1), high, ro,
			"The segment size of __consumer_offsets, kept small for faster compaction and loading."),
		bdef("offsets.topic.compression.codec", TypeInt, "0", nil, high, ro,
			"The compression codec id of the offsets topic (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)."),
		bdef("offsets.retention.minutes", TypeInt, "10080", AtLeast(1), high, ro,
			"How long committed offsets of a group are kept after the group becomes empty."),
		bdef("offsets.retention.check.interval.ms", TypeLong, "600000", AtLeast(1), high, ro,
			"How often expired offsets are looked for."),
		bdef("offsets.commit.timeout.ms", TypeInt, "5000", AtLeast(1), high, ro,
			"How long an offset commit waits for the offsets topic's replicas, like a producer request's timeout."),
		bdef("share.coordinator.state.topic.replication.factor", TypeShort, "1", AtLeast(1), high, ro,
			"The replication factor of __share_group_state (share groups, KIP-932).").
			samsa("3", singleNodeNote),
		bdef("share.coordinator.state.topic.min.isr", TypeShort, "1", AtLeast(1), high, ro,
			"min.insync.replicas of __share_group_state.").
			samsa("2", samsaTxnMinISRNote),

		// Transaction coordinator and producer state.
		bdef("transaction.state.log.num.partitions", TypeInt, "50", AtLeast(1), high, ro,
			"The number of partitions of __transaction_state; it cannot change once the topic exists."),
		bdef("transaction.state.log.replication.factor", TypeShort, "1", AtLeast(1), high, ro,
			"The replication factor of __transaction_state. Creating the topic fails until the cluster has this many brokers.").
			samsa("3", singleNodeNote),
		bdef("transaction.state.log.min.isr", TypeInt, "1", AtLeast(1), high, ro,
			"min.insync.replicas of __transaction_state.").
			samsa("2", samsaTxnMinISRNote),
		bdef("transaction.state.log.segment.bytes", TypeInt, "104857600", AtLeast(1), high, ro,
			"The segment size of __transaction_state, kept small for faster compaction and loading."),
		bdef("transaction.state.log.load.buffer.size", TypeInt, "5242880", AtLeast(1), high, ro,
			"The batch size for reading __transaction_state when loading a coordinator shard."),
		bdef("transactional.id.expiration.ms", TypeInt, "604800000", AtLeast(1), high, ro,
			"How long the coordinator keeps a transactional id that receives no transaction status updates."),
		bdef("transaction.max.timeout.ms", TypeInt, "900000", AtLeast(1), high, ro,
			"The maximum transaction timeout a producer may ask for; InitProducerId with a larger one fails."),
		bdef("transaction.abort.timed.out.transaction.cleanup.interval.ms", TypeInt, "10000", AtLeast(1), low, ro,
			"How often timed-out transactions are rolled back."),
		bdef("transaction.remove.expired.transaction.cleanup.interval.ms", TypeInt, "3600000", AtLeast(1), low, ro,
			"How often transactional ids that expired under transactional.id.expiration.ms are removed."),
		bdef("transaction.partition.verification.enable", TypeBoolean, "true", nil, low, cw,
			"Whether a transactional write is verified to belong to an ongoing transaction before it is appended (KIP-890)."),
		bdef("producer.id.expiration.ms", TypeInt, "86400000", AtLeast(1), low, cw,
			"How long a topic partition leader keeps the state of a producer id that has stopped writing."),
		bdef("producer.id.expiration.check.interval.ms", TypeInt, "600000", AtLeast(1), low, ro,
			"How often expired producer ids are removed."),

		// Security.
		bdef(SASLEnabledMechanisms, TypeList, "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512", ListOf("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"), med, pb,
			"The SASL mechanisms enabled on SASL listeners. Samsa implements "+samsaSASLMechanisms+"."+perListenerSSLNote).
			samsa("GSSAPI", samsaSASLDefaultNote).perListener(),
		bdef(SASLMechanismInterBrokerProto, TypeString, "PLAIN", OneOf("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"), med, pb,
			"The SASL mechanism brokers use to talk to each other over a SASL listener.").
			samsa("GSSAPI", samsaSASLInterBrokerNote),
		bdef("sasl.jaas.config", TypePassword, null, nil, med, pb,
			"JAAS login context parameters for SASL connections, in JAAS file format; usually set per listener and mechanism as listener.name.<listener>.<mechanism>.sasl.jaas.config.").perListener(),
		bdef("ssl.keystore.type", TypeString, "PEM", OneOf("PEM"), med, pb,
			"The file format of the key store."+perListenerSSLNote).
			samsa("JKS", samsaKeystoreTypeNote).perListener(),
		bdef("ssl.keystore.location", TypeString, null, nil, high, pb,
			"The path of a PEM file holding the server's private key and certificate chain."+perListenerSSLNote).perListener(),
		bdef("ssl.keystore.password", TypePassword, null, nil, high, pb,
			"The password of the key store file; not used with PEM."+perListenerSSLNote).perListener(),
		bdef("ssl.key.password", TypePassword, null, nil, high, pb,
			"The password of an encrypted private key."+perListenerSSLNote).perListener(),
		bdef("ssl.keystore.certificate.chain", TypePassword, null, nil, high, pb,
			"The server's certificate chain in PEM format, given inline instead of ssl.keystore.location."+perListenerSSLNote).perListener(),
		bdef("ssl.keystore.key", TypePassword, null, nil, high, pb,
			"The server's private key in PEM format, given inline instead of ssl.keystore.location."+perListenerSSLNote).perListener(),
		bdef("ssl.truststore.type", TypeString, "PEM", OneOf("PEM"), med, pb,
			"The file format of the trust store."+perListenerSSLNote).
			samsa("JKS", samsaKeystoreTypeNote).perListener(),
		bdef("ssl.truststore.location", TypeString, null, nil, high, pb,
			"The path of a PEM file holding the certificates of trusted CAs."+perListenerSSLNote).perListener(),
		bdef("ssl.truststore.password", TypePassword, null, nil, high, pb,
			"The password of the trust store file; not used with PEM."+perListenerSSLNote).perListener(),
		bdef("ssl.truststore.certificates", TypePassword, null, nil, high, pb,
			"Trusted CA certificates in PEM format, given inline instead of ssl.truststore.location."+perListenerSSLNote).perListener(),
		bdef("ssl.client.auth", TypeString, "none", OneOf("required", "requested", "none"), med, pb,
			"Whether TLS clients must (required), may (requested) or need not (none) present a certificate."+perListenerSSLNote).perListener(),
		bdef("ssl.enabled.protocols", TypeList, "TLSv1.2,TLSv1.3", ListOf("TLSv1.2", "TLSv1.3"), med, pb,
			"The TLS versions enabled for connections."+perListenerSSLNote).perListener(),
		bdef("ssl.protocol", TypeString, "TLSv1.3", OneOf("TLSv1.2", "TLSv1.3", "TLS"), med, pb,
			"The TLS protocol used to create the SSL context."+perListenerSSLNote).perListener(),
		bdef("ssl.cipher.suites", TypeList, "", nil, low, pb,
			"The cipher suites enabled for TLS 1.2 (Go's names are IANA names, as Java's); empty uses the runtime's secure defaults."+perListenerSSLNote).perListener(),
		bdef("ssl.endpoint.identification.algorithm", TypeString, "https", nil, low, pb,
			`The algorithm used to verify the peer's host name against its certificate; "https" verifies, empty disables.`+perListenerSSLNote).perListener(),
		bdef("ssl.principal.mapping.rules", TypeString, "DEFAULT", nil, low, ro,
			"Rules mapping a client certificate's distinguished name to a principal name."),
		bdef("principal.builder.class", TypeClass, defaultPrincipalBuilderClass, OneOf(defaultPrincipalBuilderClass), med, pb,
			"The class that builds the principal of a connection. Samsa implements only Kafka's default builder."),
		bdef(AuthorizerClassName, TypeString, "", OneOf("", StandardAuthorizerClass), low, ro,
			"The authorizer: empty for none (every request allowed), or "+StandardAuthorizerClass+" for ACL authorization with ACLs kept in the cluster metadata."),
		bdef("super.users", TypeString, null, nil, med, ro,
			"Principals allowed everything by the authorizer, separated by semicolons: User:admin;User:broker."),
		bdef("allow.everyone.if.no.acl.found", TypeBoolean, "false", nil, med, ro,
			"Whether the authorizer allows a resource that has no ACLs to everyone."),
	}
	return defs
}
