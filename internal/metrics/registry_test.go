package metrics

import (
	"errors"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/samsa-streaming/samsa/internal/network"
)

// series gathers r and returns every sample keyed like testutil.Series:
// name{label="v",...} with labels sorted; histograms as _count and _sum.
func series(t *testing.T, r *Registry) map[string]float64 {
	t.Helper()
	families, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var pairs []string
			for _, l := range m.GetLabel() {
				pairs = append(pairs, l.GetName()+`="`+l.GetValue()+`"`)
			}
			sort.Strings(pairs)
			key := func(name string) string {
				if len(pairs) == 0 {
					return name
				}
				return name + "{" + strings.Join(pairs, ",") + "}"
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key(f.GetName())] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key(f.GetName())] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key(f.GetName()+"_count")] = float64(m.GetHistogram().GetSampleCount())
				out[key(f.GetName()+"_sum")] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

func TestObserveRequest(t *testing.T) {
	r := NewRegistry()
	obs := network.RequestObserver(r)
	for range 3 {
		obs.ObserveRequest(network.RequestStats{Listener: "PLAINTEXT", APIKey: 0, APIVersion: 9, BytesIn: 1000, BytesOut: 60, Duration: 2 * time.Millisecond})
	}
	obs.ObserveRequest(network.RequestStats{APIKey: 0, APIVersion: 3, BytesIn: 500, Duration: time.Millisecond}) // acks=0: no response
	obs.ObserveRequest(network.RequestStats{APIKey: 1, APIVersion: 12, BytesIn: 100, BytesOut: 4000, Duration: 500 * time.Millisecond})
	// Keys Kafka does not define and versions outside 0-31 share one
	// series each, whatever the client sent.
	obs.ObserveRequest(network.RequestStats{APIKey: 127, APIVersion: 0, BytesIn: 10})
	obs.ObserveRequest(network.RequestStats{APIKey: -4, APIVersion: 0, BytesIn: 10})
	obs.ObserveRequest(network.RequestStats{APIKey: 30000, APIVersion: -1, BytesIn: 10})
	obs.ObserveRequest(network.RequestStats{APIKey: 3, APIVersion: 31, BytesIn: 10})
	obs.ObserveRequest(network.RequestStats{APIKey: 3, APIVersion: 32, BytesIn: 10})
	obs.ObserveRequest(network.RequestStats{APIKey: 3, APIVersion: -7, BytesIn: 10})

	s := series(t, r)
	for k, want := range map[string]float64{
		`samsa_requests_total{api="Produce",version="9"}`:          3,
		`samsa_requests_total{api="Produce",version="3"}`:          1,
		`samsa_requests_total{api="Fetch",version="12"}`:           1,
		`samsa_requests_total{api="Unknown",version="0"}`:          2,
		`samsa_requests_total{api="Unknown",version="other"}`:      1,
		`samsa_requests_total{api="Metadata",version="31"}`:        1,
		`samsa_requests_total{api="Metadata",version="other"}`:     2,
		`samsa_request_duration_seconds_count{api="Produce"}`:      4,
		`samsa_request_duration_seconds_sum{api="Produce"}`:        0.007,
		`samsa_request_duration_seconds_count{api="Fetch"}`:        1,
		`samsa_request_duration_seconds_sum{api="Fetch"}`:          0.5,
		`samsa_request_duration_seconds_count{api="Unknown"}`:      3,
		`samsa_network_bytes_received_total`:                       3*1000 + 500 + 100 + 6*10,
		`samsa_network_bytes_sent_total`:                           3*60 + 4000,
		`samsa_request_duration_seconds_count{api="ApiVersions"}`:  0, // never seen: absent
		`samsa_requests_total{api="ApiVersions",version="0"}`:      0,
		`samsa_request_duration_seconds_count{api="CreateTopics"}`: 0,
	} {
		got, ok := s[k]
		if want == 0 {
			if ok {
				t.Errorf("%s present (%v); an API never requested has no series", k, got)
			}
			continue
		}
		if !ok || abs(got-want) > 1e-9 {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	var families int
	for k := range s {
		if strings.HasPrefix(k, "samsa_requests_total{") {
			families++
		}
	}
	if families != 7 {
		t.Errorf("%d samsa_requests_total series, want 7", families)
	}
	want := []string{"go_goroutines", "go_info{", "go_build_info{"}
	if runtime.GOOS == "linux" { // the process collector reads /proc
		want = append(want, "process_start_time_seconds", "process_open_fds")
	}
	for _, prefix := range want {
		found := false
		for k := range s {
			found = found || strings.HasPrefix(k, prefix)
		}
		if !found {
			t.Errorf("no %s series", prefix)
		}
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// TestObserveRequestDoesNotAllocate: after an API and version's first
// request, observing costs no allocation (it runs once per request on
// every connection's writer goroutine).
func TestObserveRequestDoesNotAllocate(t *testing.T) {
	r := NewRegistry()
	stats := network.RequestStats{Listener: "PLAINTEXT", APIKey: 0, APIVersion: 9, BytesIn: 1 << 20, BytesOut: 80, Duration: 3 * time.Millisecond}
	r.ObserveRequest(stats)
	if n := testing.AllocsPerRun(1000, func() { r.ObserveRequest(stats) }); n != 0 {
		t.Fatalf("ObserveRequest allocates %v times per call", n)
	}
}

func BenchmarkObserveRequest(b *testing.B) {
	r := NewRegistry()
	stats := network.RequestStats{Listener: "PLAINTEXT", APIKey: 0, APIVersion: 9, BytesIn: 1 << 20, BytesOut: 80, Duration: 3 * time.Millisecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.ObserveRequest(stats)
		}
	})
}

func TestRegisterBrokerNeedsReplicas(t *testing.T) {
	if err := NewRegistry().RegisterBroker(Broker{}); !errors.Is(err, ErrInvalidBroker) {
		t.Fatalf("RegisterBroker without a replica manager: %v", err)
	}
}
