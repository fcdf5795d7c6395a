package testutil

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics is one scrape of a broker's /metrics, keyed by series: the
// metric name followed by its labels sorted by name, as
// `name{a="x",b="y"}` (just `name` without labels). Histograms appear as
// their _count and _sum series.
type Metrics map[string]float64

// Series returns the key of the series name with the given label pairs
// (label, value, label, value ...), for indexing a Metrics.
func Series(name string, labelPairs ...string) string {
	if len(labelPairs) == 0 {
		return name
	}
	pairs := make([]string, 0, len(labelPairs)/2)
	for i := 0; i+1 < len(labelPairs); i += 2 {
		pairs = append(pairs, fmt.Sprintf("%s=%q", labelPairs[i], labelPairs[i+1]))
	}
	sort.Strings(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// Scrape GETs http://addr/metrics and parses the Prometheus text format.
func Scrape(t testing.TB, addr string) Metrics {
	t.Helper()
	m, err := ScrapeMetrics(addr)
	if err != nil {
		t.Fatalf("testutil: scrape %s: %v", addr, err)
	}
	return m
}

// ScrapeMetrics is Scrape for goroutines other than the test's.
func ScrapeMetrics(addr string) (Metrics, error) {
	cl := &http.Client{Timeout: 30 * time.Second}
	resp, err := cl.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("status %s: %s", resp.Status, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	out := Metrics{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var pairs []string
			for _, l := range m.GetLabel() {
				pairs = append(pairs, l.GetName(), l.GetValue())
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[Series(name, pairs...)] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[Series(name, pairs...)] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[Series(name+"_count", pairs...)] = float64(m.GetHistogram().GetSampleCount())
				out[Series(name+"_sum", pairs...)] = m.GetHistogram().GetSampleSum()
			case dto.MetricType_UNTYPED:
				out[Series(name, pairs...)] = m.GetUntyped().GetValue()
			}
		}
	}
	return out, nil
}
