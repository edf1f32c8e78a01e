package schedule

import (
	"math"
	"time"
)

// curve is Λ, the cumulative expected arrival count of a profile,
// precomputed per stage so that Λ⁻¹ costs a square root at most.
type curve struct {
	pieces []piece
	total  float64 // Λ at the end of the profile
	dur    time.Duration
}

type piece struct {
	start, dur time.Duration
	from       float64 // rate at the start, per second
	slope      float64 // rate(u) = from + 2*slope*u, u in seconds
	cum, end   float64 // Λ at the start and at the end of the stage
}

func newCurve(s Stages) curve {
	c := curve{pieces: make([]piece, len(s))}
	for i, st := range s {
		// Same summation order as Stages.cumulative, so Expected and the
		// arrivals agree to the last bit.
		n := st.count()
		c.pieces[i] = piece{start: c.dur, dur: st.Duration, from: st.From, slope: st.slope(), cum: c.total, end: c.total + n}
		c.total += n
		c.dur += st.Duration
	}
	return c
}

// at returns Λ⁻¹(x), the offset from the run's start at which x arrivals
// are expected, rounded to the nanosecond; ok is false when x >= total.
// *cursor is the stage to start looking from: callers pass a
// non-decreasing x and keep the cursor, so the search is O(1) amortized.
// Stages whose count is zero (rate 0 throughout) are stepped over: an x at
// their Λ belongs to the next stage that has arrivals, at its start.
func (c *curve) at(x float64, cursor *int) (t time.Duration, ok bool) {
	i := *cursor
	for i < len(c.pieces) && x >= c.pieces[i].end {
		i++
	}
	*cursor = i
	if i == len(c.pieces) {
		return 0, false
	}
	p := &c.pieces[i]
	x -= p.cum
	var u float64
	switch {
	case x <= 0:
		u = 0
	case p.slope == 0:
		u = x / p.from // from > 0: a stage with no arrivals was skipped
	default:
		// Root of slope*u² + from*u - x = 0 in the form that does not
		// cancel when slope*x is small next to from², and that also holds
		// for a ramp down (slope < 0) where the discriminant nears 0.
		disc := float64(p.from*p.from) + float64(4*p.slope*x)
		u = 2 * x / (p.from + math.Sqrt(max(disc, 0)))
	}
	ns := min(math.Round(u*1e9), float64(p.dur))
	return p.start + time.Duration(ns), true
}

// arrivals is the number of arrivals of the constant process over the whole
// profile: the k with k < Λ(end) whose time, rounded to the nanosecond,
// falls before the end. It is a function of the plan alone, so every
// segment stops at the same k. Times grow with k, so a binary search finds
// the last one; only the final few k can round up onto the end.
func (c *curve) arrivals() int64 {
	hi := int64(math.Ceil(c.total)) // k < hi have k < Λ(end)
	lo := int64(0)
	for lo < hi { // invariant: k < lo are arrivals, k >= hi are not
		mid := lo + (hi-lo)/2
		i := 0
		if t, ok := c.at(float64(mid), &i); ok && t < c.dur {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}
