package cli

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	// Every value lies within its bucket's bounds, buckets are monotonic,
	// and the bucket's upper bound is within 1/64 of the value.
	prev := -1
	for v := uint64(0); v < 1<<20; v += 1 + v/100 {
		b := bucketOf(v)
		if b < prev {
			t.Fatalf("bucketOf(%d) = %d < bucketOf of a smaller value %d", v, b, prev)
		}
		prev = b
		hi := bucketHigh(b)
		if hi < v {
			t.Fatalf("bucketHigh(bucketOf(%d)) = %d < value", v, hi)
		}
		if float64(hi-v) > float64(v)/64+1 {
			t.Fatalf("bucketHigh(bucketOf(%d)) = %d: error above 1/64", v, hi)
		}
	}
	if b := bucketOf(^uint64(0)); b >= len(Histogram{}.counts) {
		t.Fatalf("bucketOf(max) = %d out of range", b)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram should report zeros")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	samples := make([]time.Duration, 100000)
	for i := range samples {
		// Log-normal-ish spread from 50 µs to a few hundred ms.
		samples[i] = time.Duration(50+rng.ExpFloat64()*rng.ExpFloat64()*5000) * time.Microsecond
		h.Record(samples[i])
	}
	slices.Sort(samples)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		exact := samples[int(q*float64(len(samples)-1))]
		got := h.Quantile(q)
		if d := float64(got-exact) / float64(exact); d < -0.02 || d > 0.02 {
			t.Errorf("Quantile(%v) = %v, exact %v (off by %.1f%%)", q, got, exact, d*100)
		}
	}
	if h.Max() != samples[len(samples)-1].Truncate(time.Microsecond) {
		t.Errorf("Max = %v, want %v", h.Max(), samples[len(samples)-1])
	}
	if h.Count() != uint64(len(samples)) {
		t.Errorf("Count = %d", h.Count())
	}
}

func TestHistogramMergeAndNegative(t *testing.T) {
	var a, b Histogram
	a.Record(-time.Second)
	a.Record(time.Millisecond)
	b.Record(3 * time.Millisecond)
	a.Merge(&b)
	a.Merge(&Histogram{})
	if a.Count() != 3 || a.Max() != 3*time.Millisecond || a.Quantile(0.01) != 0 {
		t.Fatalf("merged: count %d max %v min-quantile %v", a.Count(), a.Max(), a.Quantile(0.01))
	}
	if a.Quantile(1) != 3*time.Millisecond {
		t.Fatalf("Quantile(1) = %v", a.Quantile(1))
	}
}
