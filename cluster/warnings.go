package cluster

import (
	"fmt"

	"github.com/tailrace/tailrace/reports"
)

// warnings says, in words, what a reader of the numbers must know.
func warnings(r *reports.Results) []string {
	var ws []string
	for _, a := range r.Arms {
		c := a.Counters
		if c.Dropped > 0 {
			ws = append(ws, fmt.Sprintf("%s: %d arrivals dropped at the in-flight cap (%d): the generator, not the target, was the limit; raise --max-inflight or add workers", a.Mode, c.Dropped, r.Plan.MaxInFlight))
		}
		if a.Degraded > 0 {
			ws = append(ws, fmt.Sprintf("%s: %d of %d intervals degraded (the generator fell behind its schedule); their latency includes the generator's own delay", a.Mode, a.Degraded, len(a.Intervals)))
		}
		if c.Sent > 0 && c.Errors > 0 {
			ws = append(ws, fmt.Sprintf("%s: %d of %d requests failed (%.2f%%)", a.Mode, c.Errors, c.Sent, 100*float64(c.Errors)/float64(c.Sent)))
		}
		if c.Inversions > 0 {
			ws = append(ws, fmt.Sprintf("%s: %d phase boundaries ran backwards and were clamped to 0 (e.g. a first byte before the request was fully written)", a.Mode, c.Inversions))
		}
		for name, s := range a.Phases {
			if s.Clamped > 0 {
				ws = append(ws, fmt.Sprintf("%s: %d %s values were outside 0..1h and were clamped", a.Mode, s.Clamped, name))
			}
		}
		if (a.Mode == "resume") && c.ConnsOpened > 1 && c.TLSResumed == 0 {
			ws = append(ws, "resume: no TLS session was resumed (is the target https, and does it issue session tickets?)")
		}
	}
	return ws
}
