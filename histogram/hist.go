package histogram

import (
	"fmt"
	"math"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// The one geometry every Hist has. Keeping it fixed is what makes Merge
// lossless and lets Decode reject bytes from anything else.
const (
	lowestUS  = 1             // 1 µs
	highestUS = 3_600_000_000 // 1 h in µs
	sigDigits = 3
)

// MaxValue is the largest latency a Hist tracks; larger values are recorded
// at MaxValue and counted as clamped.
const MaxValue = time.Duration(highestUS) * time.Microsecond

// Hist is a latency histogram: values in microseconds from 1 µs to 1 h with
// 3 significant digits (every recorded value is within 0.1% of the truth).
// It wraps an hdrhistogram-go Histogram and hides its quirks: quantiles are
// taken in 0..1, and values it cannot hold are clamped and counted, never
// dropped.
//
// The zero value is not usable: call New. A Hist is not safe for concurrent
// use. Its counts array is about 190 KB, so reuse one (Reset) rather than
// allocating one per interval where that matters.
type Hist struct {
	h       *hdrhistogram.Histogram
	clamped int64
}

// New returns an empty Hist.
func New() *Hist {
	return &Hist{h: newHDR()}
}

func newHDR() *hdrhistogram.Histogram {
	return hdrhistogram.New(lowestUS, highestUS, sigDigits)
}

// sameGeometry reports whether h was built with our fixed geometry, so that
// its counts index the same values as ours.
func sameGeometry(h *hdrhistogram.Histogram) bool {
	return h.LowestTrackableValue() == lowestUS &&
		h.HighestTrackableValue() == highestUS &&
		h.SignificantFigures() == sigDigits
}

// Record records d, truncated to whole microseconds. A negative d records 0
// and a d above MaxValue records MaxValue; both count as clamped.
func (h *Hist) Record(d time.Duration) {
	h.RecordN(d, 1)
}

// RecordN records n occurrences of d, as Record does. n <= 0 records nothing.
func (h *Hist) RecordN(d time.Duration, n int64) {
	if n <= 0 {
		return
	}
	v := int64(d / time.Microsecond)
	if d < 0 || v > highestUS {
		h.clamped += n
		if d < 0 {
			v = 0
		} else {
			v = highestUS
		}
	}
	if h.h.RecordValues(v, n) != nil {
		// Only a total count past MaxInt64 gets here: nothing we can store.
		h.clamped += n
	}
}

// Count returns the number of values recorded, clamped ones included.
func (h *Hist) Count() int64 { return h.h.TotalCount() }

// Clamped returns how many recorded values were out of range (negative or
// above MaxValue) and were recorded at the nearest bound.
func (h *Hist) Clamped() int64 { return h.clamped }

// SetClamped sets the clamped count. Encode does not carry it (the V2 format
// has no field for it), so a receiver of encoded bytes restores it with the
// count shipped alongside.
func (h *Hist) SetClamped(n int64) { h.clamped = n }

// Quantile returns the value at quantile q, in 0..1 (0.99 is P99). An empty
// Hist returns 0. q outside [0, 1] (or NaN) panics: it is a programmer error,
// most likely a percentile passed as 99.
func (h *Hist) Quantile(q float64) time.Duration {
	checkQuantile(q)
	return us(h.h.ValueAtPercentile(q * 100))
}

func checkQuantile(q float64) {
	if !(q >= 0 && q <= 1) {
		panic(fmt.Sprintf("histogram: quantile %v outside [0, 1]", q))
	}
}

// Quantiles returns the values at each of qs (each in 0..1) in one pass,
// in the order given. It panics as Quantile does.
func (h *Hist) Quantiles(qs ...float64) []time.Duration {
	ps := make([]float64, len(qs))
	for i, q := range qs {
		checkQuantile(q)
		ps[i] = q * 100
	}
	vs := h.h.ValueAtPercentilesSlice(ps)
	out := make([]time.Duration, len(vs))
	for i, v := range vs {
		out[i] = us(v)
	}
	return out
}

// Mean returns the mean of the recorded values (0 when empty).
func (h *Hist) Mean() time.Duration {
	return time.Duration(math.Round(h.h.Mean() * float64(time.Microsecond)))
}

// Min returns the lowest recorded value, to the histogram's precision (0 when empty).
func (h *Hist) Min() time.Duration { return us(h.h.Min()) }

// Max returns the highest recorded value, rounded up to the top of its
// bucket as HdrHistogram does (0 when empty).
func (h *Hist) Max() time.Duration {
	if h.h.TotalCount() == 0 {
		return 0
	}
	return us(h.h.Max())
}

func us(v int64) time.Duration { return time.Duration(v) * time.Microsecond }

// Merge adds o's values to h. Both have the same geometry, so nothing is
// lost; clamped counts add. A nil o is a no-op.
func (h *Hist) Merge(o *Hist) {
	if o == nil {
		return
	}
	// The library reports values it could not record (only possible on a
	// total-count overflow here); they are counted rather than silently lost.
	h.clamped += o.clamped + h.h.Merge(o.h)
}

// Reset empties h for reuse, clamped count included.
func (h *Hist) Reset() {
	h.h.Reset()
	h.clamped = 0
}

// Clone returns an independent copy of h.
func (h *Hist) Clone() *Hist {
	return &Hist{h: h.h.Clone(), clamped: h.clamped}
}

// Equal reports whether h and o hold the same count in every bucket and the
// same clamped count.
func (h *Hist) Equal(o *Hist) bool {
	return h.clamped == o.clamped && h.h.Equals(o.h)
}

// HDR returns the underlying histogram, for read-only use (for example the
// library's interval log writer). Recording into it bypasses clamping.
func (h *Hist) HDR() *hdrhistogram.Histogram { return h.h }

// FromHDR wraps an hdrhistogram-go histogram, as read by the library's log
// reader. A histogram with our geometry is wrapped without copying (the Hist
// takes ownership of it); any other is re-recorded into a new Hist, where
// values above MaxValue are clamped and counted.
func FromHDR(src *hdrhistogram.Histogram) *Hist {
	if sameGeometry(src) {
		return &Hist{h: src}
	}
	h := New()
	for _, b := range src.Distribution() {
		if b.Count != 0 {
			h.RecordN(us(b.From), b.Count)
		}
	}
	return h
}
