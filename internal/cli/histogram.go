package cli

import (
	"math/bits"
	"time"
)

// Histogram counts latencies in microseconds in log-linear buckets: exact
// below 2^subBits µs, and above that with a relative error below
// 2^-(subBits-1) (under 1.6%), in a few kilobytes whatever the count. That
// is what a perf run of millions of records needs to report p50, p99 and
// p99.9 without keeping every sample. The zero value is ready to use; it
// is not safe for concurrent use.
type Histogram struct {
	counts [64 << subBits]uint64
	n      uint64
	sum    uint64
	max    uint64
	min    uint64
}

// subBits sets the precision: a value v >= 2^subBits is kept as its top
// subBits bits (v>>shift, in [2^(subBits-1), 2^subBits)) and the shift, so
// each power-of-two range [2^k, 2^(k+1)) has 2^(subBits-1) linear buckets.
const subBits = 7

// bucketOf maps v (µs) to its bucket. Values below 2^subBits get their own
// bucket; above, the bucket keeps the top subBits bits of v and its
// magnitude.
func bucketOf(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	shift := bits.Len64(v) - subBits // >= 1
	return shift<<subBits + int(v>>uint(shift))
}

// bucketHigh is the largest value that lands in bucket i, the value a
// quantile reports (so quantiles never understate).
func bucketHigh(i int) uint64 {
	if i < 1<<subBits {
		return uint64(i)
	}
	shift := uint(i >> subBits)
	top := uint64(i & (1<<subBits - 1)) // v>>shift for every v in bucket i
	return (top+1)<<shift - 1
}

// Record adds one latency; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d / time.Microsecond)
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	h.n++
	h.sum += v
	if v > h.max {
		h.max = v
	}
}

// Merge adds every sample of o into h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.n += o.n
	h.sum += o.sum
	if o.max > h.max {
		h.max = o.max
	}
}

// Count returns the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest sample exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) * time.Microsecond }

// Mean returns the average sample.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum/h.n) * time.Microsecond
}

// Quantile returns the sample at quantile q (0 < q <= 1): the smallest
// bucket bound below which at least q of the samples lie, capped at the
// exact maximum. It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	if rank > h.n {
		rank = h.n
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := bucketHigh(i)
			if v > h.max {
				v = h.max
			}
			if v < h.min {
				v = h.min
			}
			return time.Duration(v) * time.Microsecond
		}
	}
	return h.Max()
}
