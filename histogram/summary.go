package histogram

import "time"

// Summary is a snapshot of a Hist's usual statistics. The zero value is the
// summary of an empty Hist.
type Summary struct {
	Count                                           int64
	Mean, Min, P50, P90, P95, P99, P999, P9999, Max time.Duration
	Clamped                                         int64
}

// summaryPercentiles are the library's 0..100 percentiles behind Summary.
var summaryPercentiles = [...]float64{50, 90, 95, 99, 99.9, 99.99}

// Summary returns h's count, mean, min, max and standard quantiles.
func (h *Hist) Summary() Summary {
	s := Summary{Count: h.Count(), Clamped: h.clamped}
	if s.Count == 0 {
		return s
	}
	vs := h.h.ValueAtPercentilesSlice(summaryPercentiles[:])
	s.Mean, s.Min, s.Max = h.Mean(), h.Min(), h.Max()
	s.P50, s.P90, s.P95, s.P99, s.P999, s.P9999 = us(vs[0]), us(vs[1]), us(vs[2]), us(vs[3]), us(vs[4]), us(vs[5])
	return s
}

// Point is one step of a percentile spectrum: Count of the recorded values
// are at or below Value, which is the value at Quantile (0..1).
type Point struct {
	Quantile float64
	Value    time.Duration
	Count    int64
}

// Spectrum returns the HdrHistogram percentile distribution (the rows of an
// .hgrm file), from the lowest value out to the maximum, whose point has
// Quantile 1. ticksPerHalf is the number of points per halving of the
// remaining distance to 100% (HdrHistogram's default is 5); values below 1
// mean 5 and values above 1000 mean 1000, which bounds the output. An empty
// Hist returns nil.
func (h *Hist) Spectrum(ticksPerHalf int) []Point {
	if h.Count() == 0 {
		return nil
	}
	switch {
	case ticksPerHalf < 1:
		ticksPerHalf = 5
	case ticksPerHalf > 1000:
		ticksPerHalf = 1000
	}
	bs := h.h.CumulativeDistributionWithTicks(int32(ticksPerHalf))
	ps := make([]Point, len(bs))
	for i, b := range bs {
		ps[i] = Point{Quantile: b.Quantile / 100, Value: us(b.ValueAt), Count: b.Count}
	}
	return ps
}
