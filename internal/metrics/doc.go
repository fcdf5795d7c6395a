// Package metrics owns the broker's HTTP side port (samsa.http.listener,
// 127.0.0.1:9644 by default, empty to disable) and the Prometheus metrics
// it serves.
//
// # Endpoints
//
//	GET /metrics   Prometheus text exposition format (OpenMetrics is not
//	               offered); gzip if the scraper asks for it
//	GET /healthz   200 "ok" while the process runs (liveness)
//	GET /readyz    200 "ok" once the broker serves on every Kafka listener;
//	               503 "starting" before, 503 "shutting down" from the
//	               moment a stop begins (readiness)
//	GET /          a short list of the above
//
// Other methods get 405, other paths 404. The side port has its own
// listener and goroutines (net/http's), at most 32 open connections (more
// wait in the kernel's accept queue), 16 KiB of headers, read and write
// timeouts and at most 4 concurrent scrapes, so nothing sent to it reaches
// or starves the Kafka listeners. Failing to bind it fails the broker's
// start with ErrListen naming samsa.http.listener, as a Kafka listener
// that cannot bind does: a broker that silently runs without the
// monitoring it was configured with is worse than one that says so.
//
// # Metrics and their Kafka counterparts
//
// Names follow Prometheus conventions (snake case, base units, _total for
// counters); each is one of Kafka's JMX meters, which report rates and
// percentiles where Prometheus keeps running totals and histograms and
// derives them at query time (rate(), histogram_quantile()).
//
//	samsa_requests_total{api,version}      kafka.network:type=RequestMetrics,name=RequestsPerSec,request=,version=
//	samsa_request_duration_seconds{api}    kafka.network:type=RequestMetrics,name=TotalTimeMs,request=
//	                                       (histogram: frame read to response written)
//	samsa_network_bytes_received_total     kafka.server:type=socket-server-metrics incoming-byte-total
//	samsa_network_bytes_sent_total         kafka.server:type=socket-server-metrics outgoing-byte-total
//	samsa_network_connections              kafka.server:type=socket-server-metrics connection-count
//	samsa_topic_messages_in_total{topic}   kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,topic=
//	samsa_topic_bytes_in_total{topic}      kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,topic=
//	samsa_topic_bytes_out_total{topic}     kafka.server:type=BrokerTopicMetrics,name=BytesOutPerSec,topic=
//	samsa_messages_in_total                kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec
//	samsa_bytes_in_total                   kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec
//	samsa_bytes_out_total                  kafka.server:type=BrokerTopicMetrics,name=BytesOutPerSec
//	samsa_replication_bytes_out_total      kafka.server:type=BrokerTopicMetrics,name=ReplicationBytesOutPerSec
//	samsa_partitions                       kafka.server:type=ReplicaManager,name=PartitionCount
//	samsa_leader_partitions                kafka.server:type=ReplicaManager,name=LeaderCount
//	samsa_under_replicated_partitions      kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions
//	samsa_log_size_bytes{topic,partition}  kafka.log:type=Log,name=Size,topic=,partition=
//	samsa_log_segments{topic,partition}    kafka.log:type=Log,name=NumLogSegments,topic=,partition=
//	samsa_log_start_offset{topic,partition} kafka.log:type=Log,name=LogStartOffset,topic=,partition=
//	samsa_log_end_offset{topic,partition}  kafka.log:type=Log,name=LogEndOffset,topic=,partition=
//	samsa_partition_high_watermark{topic,partition}
//	                                       (no JMX gauge in Kafka; its ListOffsets latest)
//	samsa_purgatory_size{operation}        kafka.server:type=DelayedOperationPurgatory,name=PurgatorySize,delayedOperation=
//	samsa_purgatory_delayed_operations{operation}
//	                                       kafka.server:type=DelayedOperationPurgatory,name=NumDelayedOperations,delayedOperation=
//	go_*, process_*                        the JVM's own MBeans (memory, GC, threads, file descriptors)
//
// api is Kafka's request name (Produce, Fetch, Metadata ...; Unknown for a
// key Kafka does not define); version is the request version (other for
// one outside 0-31). Per-topic counters run from when this broker began
// hosting the topic and are dropped with its last partition, as Kafka
// removes a deleted topic's metrics; the all-topics totals keep running.
// Fetch bytes count when the fetch is answered (once, however often a
// long poll was re-checked), record bytes only, consumers apart from
// followers, as Kafka does.
//
// # Cost on the hot paths
//
// State (partitions, offsets, sizes, purgatories, connections) is read at
// scrape time by a collector; nothing is counted for it. What must be
// counted as it happens costs: per request, one histogram observation and
// three counter adds on children cached in fixed arrays by API key and
// version (atomic loads, no label lookup, no lock, no allocation after an
// API's first request; Registry.ObserveRequest is the
// network.RequestObserver); per append and per fetch answer, two atomic
// adds on counters the partition points at (see internal/replica).
//
// # Lifecycle
//
// internal/server creates the Registry and binds the side port first, so
// /healthz answers (and /readyz says "starting") while logs are being
// recovered; registers the broker collector and calls SetReady once every
// Kafka listener serves and the broker is registered; calls SetStopping
// first when it stops, and closes the side port after the Kafka listeners
// have drained and before the logs close (so a scrape never reads a closed
// log).
package metrics
