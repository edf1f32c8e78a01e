package schedule

import (
	"fmt"
	"slices"
	"time"
)

// Plan is one open-loop arrival schedule: a load profile, the process that
// turns its rate into send times, and the seed of that process. It is what
// the coordinator validates, splits into Segments and sends to workers; it
// encodes as {"stages":"30s:0->2000,2m:2000","process":"poisson","seed":1}.
//
// The zero value is not valid (it has no stages). A Plan is a value; its
// methods are safe for concurrent use.
type Plan struct {
	Stages  Stages  `json:"stages"`
	Process Process `json:"process"`
	// Seed seeds the Poisson process; the same seed gives the same
	// arrivals. Zero is a seed like any other. Constant ignores it.
	Seed int64 `json:"seed"`
}

// Validate reports the first problem with the plan, naming the stage.
func (p Plan) Validate() error {
	if err := p.Process.valid(); err != nil {
		return err
	}
	return p.Stages.validate()
}

// Duration is the length of the run: the total of the stages.
func (p Plan) Duration() time.Duration { return p.Stages.Duration() }

// Expected is the expected number of arrivals in the segment: its fraction
// of the integral of the rate over the plan.
func (p Plan) Expected(seg Segment) float64 {
	return p.Stages.Expected(0, p.Duration()) * seg.Fraction()
}

// Count is the number of arrivals the segment generates. For Constant it
// is exact and costs O(log(End-Start)) after the segment's O(Of log Of)
// set-up; the counts of a Split's segments add up to the plan's. For
// Poisson it is the count this seed produces, found by drawing every
// arrival (O(arrivals)). The plan and segment must be valid.
func (p Plan) Count(seg Segment) int64 {
	a := p.Arrivals(seg)
	if p.Process == Constant {
		// Every block of Of arrivals holds len(own) of ours; then count
		// the owned residues of the last, partial block.
		n := a.n
		full := n / seg.Of * int64(len(a.own))
		part, _ := slices.BinarySearch(a.own, uint32(n%seg.Of))
		return full + int64(part)
	}
	var n int64
	for _, ok := a.Next(); ok; _, ok = a.Next() {
		n++
	}
	return n
}

func mustValid(p Plan, seg Segment) {
	if err := p.Validate(); err != nil {
		panic(fmt.Sprintf("schedule: Arrivals of an invalid plan: %v", err))
	}
	if err := seg.Validate(); err != nil {
		panic(fmt.Sprintf("schedule: Arrivals of an invalid segment: %v", err))
	}
}
