package replica

import "sync/atomic"

// Traffic is what a topic (or the whole node) moved through the produce and
// fetch paths since this Manager started: Kafka's BrokerTopicMetrics
// MessagesInPerSec, BytesInPerSec, BytesOutPerSec and
// ReplicationBytesOutPerSec, as running totals (a metrics system derives
// the rates).
type Traffic struct {
	// MessagesIn counts records appended by produce requests (and
	// coordinator writes), after validation; a retried idempotent batch
	// that was a duplicate adds none.
	MessagesIn int64
	// BytesIn counts the record bytes of those appends, as received.
	BytesIn int64
	// BytesOut counts the record bytes answered to consumers' fetches.
	BytesOut int64
	// ReplicationBytesOut counts the record bytes answered to followers'
	// fetches (ReplicaID >= 0), which Kafka keeps apart from BytesOut.
	ReplicationBytesOut int64
}

// trafficCounters is the live form of Traffic. One instance is shared by
// every hosted partition of a topic (the Partition holds a pointer, so the
// hot paths count with an atomic add and no lookup) and one by the whole
// node.
type trafficCounters struct {
	messagesIn          atomic.Int64
	bytesIn             atomic.Int64
	bytesOut            atomic.Int64
	replicationBytesOut atomic.Int64

	// parts is the number of hosted partitions that point here; the
	// counters are dropped with the topic's last partition, as Kafka
	// removes a topic's metrics when it stops hosting it.
	parts int // guarded by Manager.mu
}

func (c *trafficCounters) snapshot() Traffic {
	return Traffic{
		MessagesIn:          c.messagesIn.Load(),
		BytesIn:             c.bytesIn.Load(),
		BytesOut:            c.bytesOut.Load(),
		ReplicationBytesOut: c.replicationBytesOut.Load(),
	}
}

// countAppend records one successful append to a partition of the topic t.
func (m *Manager) countAppend(t *trafficCounters, records, bytes int) {
	t.messagesIn.Add(int64(records))
	t.bytesIn.Add(int64(bytes))
	m.total.messagesIn.Add(int64(records))
	m.total.bytesIn.Add(int64(bytes))
}

// countFetched records the record bytes of a fetch's answer, just before
// it is handed to the caller: once per fetch, however often a parked fetch
// was re-checked.
func (m *Manager) countFetched(params FetchParams, results []FetchResult) {
	follower := params.ReplicaID >= 0
	for i := range results {
		r := &results[i]
		n := r.Records.Size
		if n <= 0 || r.traffic == nil {
			continue
		}
		if follower {
			r.traffic.replicationBytesOut.Add(n)
			m.total.replicationBytesOut.Add(n)
		} else {
			r.traffic.bytesOut.Add(n)
			m.total.bytesOut.Add(n)
		}
	}
}

// topicTrafficLocked returns the counters of topic, creating them, and
// counts one more partition pointing at them. m.mu must be held for
// writing.
func (m *Manager) topicTrafficLocked(topic string) *trafficCounters {
	t := m.topics[topic]
	if t == nil {
		t = &trafficCounters{}
		m.topics[topic] = t
	}
	t.parts++
	return t
}

// releaseTopicTrafficLocked drops one partition's reference to its topic's
// counters, forgetting them with the last. m.mu must be held for writing.
func (m *Manager) releaseTopicTrafficLocked(topic string) {
	if t := m.topics[topic]; t != nil {
		if t.parts--; t.parts <= 0 {
			delete(m.topics, topic)
		}
	}
}

// Traffic returns the node's totals since the Manager started and each
// hosted topic's (since this node began hosting it). The map is the
// caller's. It takes the partition map's read lock once, for the copy;
// metrics scrapes call it.
func (m *Manager) Traffic() (total Traffic, topics map[string]Traffic) {
	m.mu.RLock()
	topics = make(map[string]Traffic, len(m.topics))
	for name, t := range m.topics {
		topics[name] = t.snapshot()
	}
	m.mu.RUnlock()
	return m.total.snapshot(), topics
}

// PurgatoryStats is the size of one of the Manager's purgatories (Kafka's
// DelayedOperationPurgatory gauges, tagged delayedOperation=Produce or
// Fetch).
type PurgatoryStats struct {
	// Name is "Produce" or "Fetch", Kafka's delayedOperation tag.
	Name string
	// Watched is Kafka's PurgatorySize: watch-list entries, an
	// operation counted once per partition it waits on.
	Watched int
	// Delayed is Kafka's NumDelayedOperations: operations parked and
	// not yet completed or expired.
	Delayed int
}

// PurgatoryStats returns the produce and fetch purgatories' sizes. Safe
// for concurrent use; the counts are read without a lock.
func (m *Manager) PurgatoryStats() []PurgatoryStats {
	return []PurgatoryStats{
		{Name: m.produce.Name(), Watched: m.produce.Watched(), Delayed: m.produce.Delayed()},
		{Name: m.fetch.Name(), Watched: m.fetch.Watched(), Delayed: m.fetch.Delayed()},
	}
}
