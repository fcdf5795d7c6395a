// Package config owns Samsa's broker and topic configuration: the registry
// of every config Samsa accepts (Apache Kafka's names, types, defaults,
// validators, importance, documentation, sensitivity and dynamic update
// modes), loading a node's static configuration, the dynamic configuration
// levels, and the resolution of a topic's effective configuration with the
// source and synonym chain of every value, as DescribeConfigs reports them.
//
// # Sources and precedence
//
// `samsa serve [--config server.properties] [--override key=value ...]`.
// A node's static configuration (source STATIC_BROKER_CONFIG) is merged key
// by key from, lowest precedence first:
//
//  1. the properties file (--config);
//  2. SAMSA_-prefixed environment variables: strip the prefix, lower-case,
//     '_' becomes '.', "__" becomes '_' and "___" becomes '-'
//     (SAMSA_LOG_DIRS=/x sets log.dirs=/x);
//  3. --override key=value arguments, later ones winning.
//
// Unknown keys and invalid values fail the start with an error that names the
// key, the value, what is expected and where it came from
// (server.properties:12, environment variable SAMSA_X, --override x),
// with a "did you mean" hint for near-miss keys. Kafka only warns about
// unknown keys; Samsa refuses them, because a silently ignored typo in a
// durability or retention setting is worse than a failed start.
//
// At runtime a broker config is resolved as Kafka does: dynamic per-node
// (DYNAMIC_BROKER_CONFIG) > dynamic cluster default
// (DYNAMIC_DEFAULT_BROKER_CONFIG) > static > built-in default
// (DEFAULT_CONFIG). A topic config is its override (DYNAMIC_TOPIC_CONFIG) if
// set, else the first of its broker synonyms present, level by level and
// within a level in Kafka's synonym order (retention.ms <- log.retention.ms
// <- log.retention.minutes <- log.retention.hours), converted to the topic
// config's unit, else the topic config's default. The numeric Source and Type
// values are the wire codes of DescribeConfigs (kmsg.ConfigSource,
// kmsg.ConfigType).
//
// Dynamic levels live in memory here; the metadata layer persists them and
// calls UpdateDynamic/ReplaceDynamic when they change. Which configs may be
// changed, and at which level, follows Kafka's DynamicBrokerConfig
// classification (Def.Mode): read-only configs are rejected ("Cannot update
// these configs dynamically"), per-broker ones are rejected at the cluster
// default level, ssl.* only with a listener prefix, and thread pools may only
// halve or double per update.
//
// # The properties format
//
// ParseProperties implements java.util.Properties.load:
//
//	# comment            ! comment          (only at the start of a logical line)
//	key=value            key:value          key value
//	   key = value       (leading whitespace skipped; whitespace around the
//	                      separator skipped; trailing whitespace kept)
//	key = a long \       (an odd number of trailing backslashes continues
//	      value           the line; the next line's leading whitespace is dropped)
//	tab=\t  nl=\n  cr=\r  ff=\f  euro=\u20AC  eq=\=  colon=\:  space=\ x
//	                     (\uXXXX is a UTF-16 unit, surrogate pairs combine;
//	                      any other escaped character stands for itself)
//
// Line terminators are \n, \r and \r\n; whitespace is space, tab and form
// feed. A key with no value has the empty value. Input is read as UTF-8.
//
// # Samsa's defaults
//
// `samsa serve` with no configuration is a working single node, so a few
// defaults differ from Kafka's; each such Def carries KafkaDefault and a
// DefaultNote saying why:
//
//	listeners                                 PLAINTEXT://127.0.0.1:9092  (Kafka PLAINTEXT://:9092: loopback only by default)
//	log.dir                                   ./samsa-data                (Kafka /tmp/kafka-logs)
//	node.id, broker.id                        1                           (Kafka: must be set / -1)
//	process.roles                             broker,controller           (Kafka: must be set)
//	offsets.topic.replication.factor          1                           (Kafka 3: unreachable on one node)
//	transaction.state.log.replication.factor  1                           (Kafka 3)
//	transaction.state.log.min.isr             1                           (Kafka 2: would fail every transaction at RF 1)
//	share.coordinator.state.topic.*           1 / 1                       (Kafka 3 / 2)
//	sasl.enabled.mechanisms                   PLAIN,SCRAM-SHA-256,SCRAM-SHA-512 (Kafka GSSAPI, which Samsa lacks)
//	sasl.mechanism.inter.broker.protocol      PLAIN                       (Kafka GSSAPI)
//	ssl.keystore.type, ssl.truststore.type    PEM                         (Kafka JKS; Samsa reads PEM only)
//
// num.partitions=1, default.replication.factor=1 and
// auto.create.topics.enable=true are Kafka's defaults too. Samsa adds
// cluster.id (the expected cluster id; Kafka keeps it only in
// meta.properties) and samsa.http.listener (127.0.0.1:9644, the
// metrics/health side port; empty disables it).
//
// # Kafka versions
//
// Names, defaults and validators follow Apache Kafka 4.1: segment.bytes and
// log.segment.bytes are at least 1 MiB (KIP-1030; internal.segment.bytes,
// accepted but unlisted, bypasses it for tests), message.timestamp.after.max.ms
// defaults to one hour and num.recovery.threads.per.data.dir to 2. Two topic
// configs Kafka 4 emptied or removed are kept, marked deprecated, for 3.x
// clients and tools: message.downconversion.enable (a no-op) and
// message.timestamp.difference.max.ms (honoured as Kafka 3.x did, standing
// in for unset before/after bounds). Configs naming Java plugin classes
// accept only what Samsa implements, and remote.log.storage.system.enable
// only false, so a configuration Samsa cannot honour fails at start.
package config
