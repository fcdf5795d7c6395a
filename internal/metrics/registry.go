package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/network"
)

// Slots of the per-API caches. Kafka's API keys are small (0-90 today);
// a key outside [0, maxAPIKeys) and one kmsg does not name share the
// "Unknown" slot, and versions outside [0, maxAPIVersions) share one
// "other" slot, so a client sending junk headers cannot grow the label
// set (nor the memory behind it) without bound.
const (
	maxAPIKeys     = 128
	unknownAPISlot = maxAPIKeys
	maxAPIVersions = 32
	otherVersion   = maxAPIVersions
)

// durationBuckets are the request latency histogram's upper bounds in
// seconds: from 100µs (a metadata request on loopback) to 30 s (a produce
// waiting out its request.timeout.ms), dense around fetch.max.wait.ms
// (500 ms), where long polls land.
var durationBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 30,
}

// Registry holds Samsa's metrics: the Go runtime and process collectors,
// the request metrics fed by the network layer (it is a
// network.RequestObserver) and, once RegisterBroker has been called, the
// broker state read at scrape time. It is a prometheus.Gatherer. It is
// safe for concurrent use.
type Registry struct {
	reg *prometheus.Registry

	requests      *prometheus.CounterVec   // api, version
	duration      *prometheus.HistogramVec // api
	bytesReceived prometheus.Counter
	bytesSent     prometheus.Counter

	// apis caches each API's label children, so that observing a
	// request is an atomic load and no label lookup. Entries are created
	// once, under mu, and never replaced.
	apis [unknownAPISlot + 1]atomic.Pointer[apiMetrics]
	mu   sync.Mutex // serialises creating apis entries and their versions
}

// apiMetrics are one API's children of the request metrics.
type apiMetrics struct {
	name     string
	duration prometheus.Observer
	versions [otherVersion + 1]atomic.Pointer[versionMetrics] // created under Registry.mu
}

type versionMetrics struct{ requests prometheus.Counter }

// NewRegistry returns a registry with the Go runtime, process, build info
// and request metrics registered; the broker state collector comes with
// RegisterBroker.
func NewRegistry() *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	r.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "samsa_requests_total",
		Help: "Requests answered, by API and version (Kafka's RequestMetrics RequestsPerSec). An acks=0 produce counts when its turn comes, though nothing is written.",
	}, []string{"api", "version"})
	r.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "samsa_request_duration_seconds",
		Help:    "Time from a request's frame fully read to its response written to the socket, by API (Kafka's RequestMetrics TotalTimeMs). Includes time parked in a purgatory (fetch long polls, acks=all produces).",
		Buckets: durationBuckets,
	}, []string{"api"})
	r.bytesReceived = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "samsa_network_bytes_received_total",
		Help: "Bytes of request frames read on the Kafka listeners, size prefixes included (Kafka's socket-server-metrics incoming-byte-total).",
	})
	r.bytesSent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "samsa_network_bytes_sent_total",
		Help: "Bytes of response frames written on the Kafka listeners, size prefixes included (Kafka's socket-server-metrics outgoing-byte-total).",
	})
	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		r.requests, r.duration, r.bytesReceived, r.bytesSent,
	)
	return r
}

// Gather implements prometheus.Gatherer.
func (r *Registry) Gather() ([]*dto.MetricFamily, error) { return r.reg.Gather() }

// Register adds a collector (prometheus.Registerer's Register), for
// subsystems that own metrics of their own.
func (r *Registry) Register(c prometheus.Collector) error { return r.reg.Register(c) }

// ObserveRequest implements network.RequestObserver: one histogram
// observation, three counter adds and atomic loads; after an API and
// version's first request, no allocation and no lock.
func (r *Registry) ObserveRequest(s network.RequestStats) {
	a := r.api(s.APIKey)
	a.duration.Observe(s.Duration.Seconds())
	r.version(a, s.APIVersion).requests.Inc()
	r.bytesReceived.Add(float64(s.BytesIn))
	if s.BytesOut > 0 {
		r.bytesSent.Add(float64(s.BytesOut))
	}
}

// api returns key's cached children, creating them on first use.
func (r *Registry) api(key int16) *apiMetrics {
	slot := unknownAPISlot
	name := "Unknown"
	if key >= 0 && key < maxAPIKeys {
		if n := kmsg.NameForKey(key); n != "Unknown" {
			slot, name = int(key), n
		}
	}
	if a := r.apis[slot].Load(); a != nil {
		return a
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.apis[slot].Load(); a != nil {
		return a
	}
	a := &apiMetrics{name: name, duration: r.duration.WithLabelValues(name)}
	r.apis[slot].Store(a)
	return a
}

// version returns a's children for version v, creating them on first use.
func (r *Registry) version(a *apiMetrics, v int16) *versionMetrics {
	slot, label := otherVersion, "other"
	if v >= 0 && v < maxAPIVersions {
		slot = int(v)
	}
	if m := a.versions[slot].Load(); m != nil {
		return m
	}
	if slot != otherVersion {
		label = strconv.Itoa(int(v))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := a.versions[slot].Load(); m != nil {
		return m
	}
	m := &versionMetrics{requests: r.requests.WithLabelValues(a.name, label)}
	a.versions[slot].Store(m)
	return m
}
