package schedule

import (
	"math/rand/v2"
	"time"
)

// Arrivals yields one segment's intended send times in order. Get one from
// Plan.Arrivals.
//
// The zero value is not usable. An Arrivals is not safe for concurrent use:
// one pacer goroutine owns it. It is not reusable; ask the plan for a new
// one to start over, which yields the same times again.
type Arrivals struct {
	c      curve
	cursor int           // stage the last arrival fell in
	last   time.Duration // keeps Next non-decreasing against rounding
	done   bool

	poisson bool

	// Constant: the arrivals k < n with k mod of in own.
	own  []uint32
	of   int64
	base int64 // k of the first arrival of the current block of of
	idx  int   // next entry of own
	n    int64

	// Poisson: unit-rate points S_j, mapped through Λ⁻¹(S_j * scale).
	rng   *rand.Rand
	sum   float64
	scale float64 // Of / (End-Start)
	j     int64   // arrivals drawn so far
	start int64   // the segment's Start
	width int64   // the segment's End-Start
}

// Arrivals returns the iterator over the segment's share of the plan's
// arrivals. It panics if the plan or the segment is invalid (check with
// Validate first): a worker must never run a schedule it cannot honour.
//
// Constant: the whole schedule's arrival k is at Λ⁻¹(k), Λ being the
// integral of the rate; the segment takes the k its residue table owns
// (see Segment), so the segments of one Split give every arrival exactly
// once. Setting up costs O(Of log Of) time and 8*Of bytes once (about 0.1 s
// and 8 MB at MaxOf, 25 µs at Of 1000); Next is then O(1).
//
// Poisson: the segment runs its own Poisson process at rate(t)*Fraction,
// by time rescaling (unit-rate exponential gaps, mapped through Λ⁻¹).
// Independent Poisson processes superpose to one at the summed rate, so the
// segments of a Split together make the plan's process. The generator is a
// PCG seeded with the plan's Seed as one word and a hash of (Start, Of) as
// the other: the segments of a Split have distinct Starts, hence distinct
// streams, and unlike Seed+Start, seed 1 on worker 0 is not seed 0 on
// worker 1.
func (p Plan) Arrivals(seg Segment) *Arrivals {
	mustValid(p, seg)
	a := &Arrivals{c: newCurve(p.Stages)}
	if p.Process == Poisson {
		a.poisson = true
		a.scale = float64(seg.Of) / float64(seg.End-seg.Start)
		a.rng = rand.New(rand.NewPCG(mix(uint64(p.Seed)), mix(uint64(seg.Start)^mix(uint64(seg.Of)))))
		a.of, a.start, a.width = seg.Of, seg.Start, seg.End-seg.Start
		return a
	}
	a.own = seg.owned()
	a.of = seg.Of
	a.n = a.c.arrivals()
	return a
}

// Next returns the next intended send time as an offset from the run's
// start T0; ok is false once the plan's duration is over. Times never
// decrease; with a high rate several may be equal.
func (a *Arrivals) Next() (t time.Duration, ok bool) {
	_, t, ok = a.NextIndexed()
	return t, ok
}

// NextIndexed is Next with the arrival's global index k: a number that
// names the arrival in the whole schedule, so that what is decided per
// arrival (which request of a mix it sends, see Mix) does not depend on how
// the schedule was split.
//
// Constant: k is the arrival's rank in the whole schedule (0, 1, 2, ...):
// one worker sees every k, and the segments of a Split see disjoint sets of
// k whose union is the single worker's.
//
// Poisson: a segment's arrivals are its own process, so there is no global
// rank to take. The j-th arrival (from 0) of segment Start:End/Of gets
// k = (j / W) * Of + Start + j mod W, with W = End-Start: the segment's
// arrivals fill its own W residues of each block of Of numbers in turn.
// The segments of a Split therefore get disjoint k, and with one worker
// (Full) k is j, the rank in the schedule.
func (a *Arrivals) NextIndexed() (k int64, t time.Duration, ok bool) {
	if a.done {
		return 0, 0, false
	}
	var x float64
	if a.poisson {
		a.sum += a.rng.ExpFloat64()
		x = float64(a.sum * a.scale) // float64() forbids fusing into at's subtraction
		k = a.j/a.width*a.of + a.start + a.j%a.width
		a.j++
	} else {
		k = a.base + int64(a.own[a.idx])
		if a.idx++; a.idx == len(a.own) {
			a.idx, a.base = 0, a.base+a.of
		}
		if k >= a.n {
			a.done = true
			return 0, 0, false
		}
		x = float64(k)
	}
	t, ok = a.c.at(x, &a.cursor)
	if !ok || t >= a.c.dur {
		a.done = true
		return 0, 0, false
	}
	t = max(t, a.last)
	a.last = t
	return k, t, true
}

// mix is SplitMix64's finalizer: nearby inputs (seeds 1, 2, 3; Starts 0, 1,
// 2) become unrelated PCG states.
func mix(z uint64) uint64 {
	z += 0x9E3779B97F4A7C15
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}
