package metrics

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/samsa-streaming/samsa/internal/replica"
)

// ErrInvalidBroker reports a Broker missing what the collector reads.
var ErrInvalidBroker = errors.New("metrics: invalid broker sources")

// Broker is the state the broker collector reads at each scrape. Nothing
// here is counted on a hot path except the replica manager's traffic
// counters (an atomic add per append and per fetch answer).
type Broker struct {
	// Replicas is the replica manager: partitions, their logs, traffic
	// and purgatories. Required.
	Replicas *replica.Manager
	// Connections returns the number of open client connections on the
	// Kafka listeners; nil leaves the gauge out.
	Connections func() int
}

// RegisterBroker adds the collector that reads b at scrape time. Call it
// once, when the broker's subsystems are up; until then a scrape has the
// process, runtime and request metrics only.
func (r *Registry) RegisterBroker(b Broker) error {
	if b.Replicas == nil {
		return fmt.Errorf("%w: no replica manager", ErrInvalidBroker)
	}
	if err := r.reg.Register(newBrokerCollector(b)); err != nil {
		return fmt.Errorf("metrics: register broker collector: %w", err)
	}
	return nil
}

// brokerCollector turns the broker's state into metrics at scrape time.
// Its descriptors are fixed; it holds no mutable state.
type brokerCollector struct {
	b Broker

	connections *prometheus.Desc

	topicMessagesIn *prometheus.Desc
	topicBytesIn    *prometheus.Desc
	topicBytesOut   *prometheus.Desc
	messagesIn      *prometheus.Desc
	bytesIn         *prometheus.Desc
	bytesOut        *prometheus.Desc
	replBytesOut    *prometheus.Desc

	partitions      *prometheus.Desc
	leaders         *prometheus.Desc
	underReplicated *prometheus.Desc
	logSize         *prometheus.Desc
	logSegments     *prometheus.Desc
	logStart        *prometheus.Desc
	logEnd          *prometheus.Desc
	highWatermark   *prometheus.Desc

	purgatorySize    *prometheus.Desc
	purgatoryDelayed *prometheus.Desc
}

func newBrokerCollector(b Broker) *brokerCollector {
	topic := []string{"topic"}
	tp := []string{"topic", "partition"}
	return &brokerCollector{
		b:           b,
		connections: prometheus.NewDesc("samsa_network_connections", "Open client connections on the Kafka listeners (Kafka's socket-server-metrics connection-count).", nil, nil),

		topicMessagesIn: prometheus.NewDesc("samsa_topic_messages_in_total", "Records appended to the topic on this broker since it began hosting it (Kafka's BrokerTopicMetrics MessagesInPerSec,topic=).", topic, nil),
		topicBytesIn:    prometheus.NewDesc("samsa_topic_bytes_in_total", "Record bytes appended to the topic on this broker (Kafka's BrokerTopicMetrics BytesInPerSec,topic=).", topic, nil),
		topicBytesOut:   prometheus.NewDesc("samsa_topic_bytes_out_total", "Record bytes of the topic sent to consumers (Kafka's BrokerTopicMetrics BytesOutPerSec,topic=).", topic, nil),
		messagesIn:      prometheus.NewDesc("samsa_messages_in_total", "Records appended on this broker, all topics (Kafka's BrokerTopicMetrics MessagesInPerSec).", nil, nil),
		bytesIn:         prometheus.NewDesc("samsa_bytes_in_total", "Record bytes appended on this broker, all topics (Kafka's BrokerTopicMetrics BytesInPerSec).", nil, nil),
		bytesOut:        prometheus.NewDesc("samsa_bytes_out_total", "Record bytes sent to consumers, all topics (Kafka's BrokerTopicMetrics BytesOutPerSec).", nil, nil),
		replBytesOut:    prometheus.NewDesc("samsa_replication_bytes_out_total", "Record bytes sent to follower replicas (Kafka's BrokerTopicMetrics ReplicationBytesOutPerSec).", nil, nil),

		partitions:      prometheus.NewDesc("samsa_partitions", "Partitions hosted on this broker (Kafka's ReplicaManager PartitionCount).", nil, nil),
		leaders:         prometheus.NewDesc("samsa_leader_partitions", "Partitions this broker leads (Kafka's ReplicaManager LeaderCount).", nil, nil),
		underReplicated: prometheus.NewDesc("samsa_under_replicated_partitions", "Led partitions whose ISR is smaller than their replica set (Kafka's ReplicaManager UnderReplicatedPartitions).", nil, nil),
		logSize:         prometheus.NewDesc("samsa_log_size_bytes", "Bytes of the partition's segments (Kafka's Log Size).", tp, nil),
		logSegments:     prometheus.NewDesc("samsa_log_segments", "Segments of the partition's log (Kafka's Log NumLogSegments).", tp, nil),
		logStart:        prometheus.NewDesc("samsa_log_start_offset", "The partition's log start offset (Kafka's Log LogStartOffset).", tp, nil),
		logEnd:          prometheus.NewDesc("samsa_log_end_offset", "The partition's log end offset (Kafka's Log LogEndOffset).", tp, nil),
		highWatermark:   prometheus.NewDesc("samsa_partition_high_watermark", "The partition's high watermark: the offset below which records are replicated to the ISR and visible to consumers.", tp, nil),

		purgatorySize:    prometheus.NewDesc("samsa_purgatory_size", "Watch-list entries of the purgatory; an operation counts once per partition it waits on (Kafka's DelayedOperationPurgatory PurgatorySize).", []string{"operation"}, nil),
		purgatoryDelayed: prometheus.NewDesc("samsa_purgatory_delayed_operations", "Operations parked in the purgatory (Kafka's DelayedOperationPurgatory NumDelayedOperations).", []string{"operation"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *brokerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.connections,
		c.topicMessagesIn, c.topicBytesIn, c.topicBytesOut, c.messagesIn, c.bytesIn, c.bytesOut, c.replBytesOut,
		c.partitions, c.leaders, c.underReplicated, c.logSize, c.logSegments, c.logStart, c.logEnd, c.highWatermark,
		c.purgatorySize, c.purgatoryDelayed,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. It reads every hosted
// partition's log offsets and size: a read lock per log, nothing that
// waits for an append or an fsync.
func (c *brokerCollector) Collect(ch chan<- prometheus.Metric) {
	if c.b.Connections != nil {
		emit(ch, c.connections, prometheus.GaugeValue, float64(c.b.Connections()))
	}
	rm := c.b.Replicas

	total, topics := rm.Traffic()
	emit(ch, c.messagesIn, prometheus.CounterValue, float64(total.MessagesIn))
	emit(ch, c.bytesIn, prometheus.CounterValue, float64(total.BytesIn))
	emit(ch, c.bytesOut, prometheus.CounterValue, float64(total.BytesOut))
	emit(ch, c.replBytesOut, prometheus.CounterValue, float64(total.ReplicationBytesOut))
	for name, t := range topics {
		emit(ch, c.topicMessagesIn, prometheus.CounterValue, float64(t.MessagesIn), name)
		emit(ch, c.topicBytesIn, prometheus.CounterValue, float64(t.BytesIn), name)
		emit(ch, c.topicBytesOut, prometheus.CounterValue, float64(t.BytesOut), name)
	}

	var hosted, leaders, under int
	for _, tp := range rm.Partitions() {
		p, ok := rm.Partition(tp)
		if !ok {
			continue // removed since the listing
		}
		hosted++
		if p.IsLeader() {
			leaders++
			if len(p.ISR()) < len(p.Replicas()) {
				under++
			}
		}
		l := p.Log()
		part := strconv.Itoa(int(tp.Partition))
		emit(ch, c.logSize, prometheus.GaugeValue, float64(l.Size()), tp.Topic, part)
		emit(ch, c.logSegments, prometheus.GaugeValue, float64(l.NumSegments()), tp.Topic, part)
		emit(ch, c.logStart, prometheus.GaugeValue, float64(l.LogStartOffset()), tp.Topic, part)
		emit(ch, c.logEnd, prometheus.GaugeValue, float64(l.LogEndOffset()), tp.Topic, part)
		emit(ch, c.highWatermark, prometheus.GaugeValue, float64(l.HighWatermark()), tp.Topic, part)
	}
	emit(ch, c.partitions, prometheus.GaugeValue, float64(hosted))
	emit(ch, c.leaders, prometheus.GaugeValue, float64(leaders))
	emit(ch, c.underReplicated, prometheus.GaugeValue, float64(under))

	for _, ps := range rm.PurgatoryStats() {
		emit(ch, c.purgatorySize, prometheus.GaugeValue, float64(ps.Watched), ps.Name)
		emit(ch, c.purgatoryDelayed, prometheus.GaugeValue, float64(ps.Delayed), ps.Name)
	}
}

// emit sends one const metric, or an invalid metric (which fails that
// one series in the scrape, not the broker) if a label value is not valid
// UTF-8: names come from the metadata, not from this package.
func emit(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}
