// Package schedule turns a load plan into intended send times: the
// open-loop arrival schedule that a pacer follows and against which every
// request's latency is measured, so a slow target cannot slow the schedule
// down (no coordinated omission).
//
// A Plan is stages, a process and a seed. Plan.Arrivals gives a worker the
// send times of its Segment, as offsets from the run's start T0:
//
//	plan := schedule.Plan{Stages: schedule.Steady(1000, 2*time.Second)}
//	segs, _ := schedule.Split([]int64{1, 1, 1}) // three equal workers
//	a := plan.Arrivals(segs[1])
//	for t, ok := a.Next(); ok; t, ok = a.Next() {
//		// sleep until T0+t, then send
//	}
//
// # Stages
//
// A profile is a list of stages run back to back, each a linear ramp of
// the rate, in requests per second, over a duration; the --stages syntax is
// "30s:0->2000,2m:2000" (ramp from 0 to 2000/s over 30 s, then hold 2000/s
// for 2 minutes). A stage at rate 0 is a pause. Λ(t), the integral of the
// rate from T0, is the expected number of arrivals by t: piecewise
// quadratic, so its inverse is one square root per arrival.
//
// # Processes
//
// Constant puts the whole schedule's k-th arrival (k = 0, 1, 2, ...) at
// Λ⁻¹(k): at a steady 1000/s, exactly every millisecond from T0; on a ramp,
// with gaps that shrink as the rate grows. Poisson has independent,
// exponentially distributed gaps at the same instantaneous rate (a
// non-homogeneous Poisson process, drawn by rescaling a unit-rate one
// through Λ⁻¹), the traffic of many independent clients. Poisson is
// reproducible: the same Seed gives the same times.
//
// # Segments
//
// A Segment [Start/Of, End/Of) is a worker's share of the arrivals, with
// the text form "0:1/3" that travels as a flag, in JSON and on the wire.
// Split turns weights (equal, or workers' declared capacities) into
// contiguous segments. Each worker computes its own arrivals from the plan
// and its segment alone, with no further coordination: for Constant the
// segments of a Split take every arrival of the schedule exactly once; for
// Poisson each segment draws an independent process at Fraction of the
// rate, and independent Poisson processes add up to one at the full rate.
//
// # Why the split is interleaved
//
// Giving each of N workers rate/N with the same start makes all of them
// send at the same instants: the target sees N requests at once, then
// silence, instead of the intended evenly spaced stream. Giving each
// worker a contiguous stretch of arrivals has the same flaw at a larger
// scale. So the constant process deals arrivals out like cards: with three
// equal workers each takes every third arrival, and the union is exactly
// the intended schedule. Unequal weights are dealt by ranking residues
// along the golden-ratio sequence: every segment gets exactly End-Start of
// every Of consecutive arrivals, spread through the block (weights {3,1,2}
// deal 0 2 0 2 1 0), and at any moment its running count is within one to
// three arrivals of its share (one for Of <= 9, three for Of <= 1000).
// The cost is a residue table built once per worker, O(Of log Of); Next is
// then O(1) and allocation-free.
//
// # Request mixes
//
// Arrivals.NextIndexed gives each arrival's global index k, and Mix maps k
// (and a seed) to one request of a weighted mix: exact shares in every
// block of arrivals, a seeded order within blocks. Being a function of k
// alone, the choice is the same however the schedule is split: workers
// make disjoint choices that add up to the single worker's.
package schedule
