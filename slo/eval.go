package slo

import (
	"fmt"
	"strconv"

	"github.com/tailrace/tailrace/reports"
)

// Evaluate evaluates every SLO on the merged result, arm by arm. An SLO
// passes only if it holds in every arm (a run with no arm passes nothing).
// The results are in the order of slos; store them in r.SLOs for the
// summary, the report and --junit. r is only read.
func Evaluate(r *reports.Results, slos []SLO) ([]reports.SLOResult, error) {
	out := make([]reports.SLOResult, 0, len(slos))
	for _, o := range slos {
		res := reports.SLOResult{Expr: o.String(), Pass: len(r.Arms) > 0}
		for i := range r.Arms {
			sa, err := o.evalArm(&r.Arms[i])
			if err != nil {
				return nil, err
			}
			res.Pass = res.Pass && sa.Pass
			res.Arms = append(res.Arms, sa)
		}
		out = append(out, res)
	}
	return out, nil
}

// Violated reports whether any result failed.
func Violated(rs []reports.SLOResult) bool {
	for _, r := range rs {
		if !r.Pass {
			return true
		}
	}
	return false
}

func (o SLO) evalArm(a *reports.Arm) (reports.SLOArm, error) {
	sa := reports.SLOArm{Arm: a.Mode}
	limit := o.Limit
	c := a.Counters
	switch o.Metric {
	case Latency:
		us, noData, err := o.latency(a)
		if err != nil {
			return sa, err
		}
		sa.Value, sa.NoData, sa.Observed = float64(us), noData, reports.US(us)
		if noData {
			sa.Observed = "no data"
		}
	case Errors, Dropped:
		n := c.Errors
		if o.Metric == Dropped {
			n = c.Dropped
		}
		sa.Value, sa.Observed = float64(n), strconv.FormatInt(n, 10)
		if o.Percent {
			frac := 0.0
			if c.Intended > 0 {
				frac = float64(n) / float64(c.Intended)
			}
			sa.Value, sa.Observed = frac, fmt.Sprintf("%.3g%%", 100*frac)
			limit = o.Limit / 100
		}
	case Rate:
		if a.DurationS > 0 {
			sa.Value = float64(c.Completed) / a.DurationS
		}
		sa.Observed = fmt.Sprintf("%.1f/s", sa.Value)
	}
	sa.Pass = o.Op.holds(sa.Value, limit)
	return sa, nil
}

// latency returns the SLO's statistic of its phase in µs, from the
// summary when it is there and from the encoded histogram otherwise.
func (o SLO) latency(a *reports.Arm) (int64, bool, error) {
	s, ok := a.Phases[o.Phase.String()]
	if !ok || s.Count == 0 {
		return 0, true, nil
	}
	switch o.Stat {
	case "mean":
		return s.MeanUS, false, nil
	case "max":
		return s.MaxUS, false, nil
	case "p50":
		return s.P50US, false, nil
	case "p90":
		return s.P90US, false, nil
	case "p95":
		return s.P95US, false, nil
	case "p99":
		return s.P99US, false, nil
	case "p99.9":
		return s.P999US, false, nil
	}
	h, err := reports.DecodeHist(s.Hist)
	if err != nil {
		return 0, false, fmt.Errorf("slo: %s in arm %s: %w", o, a.Mode, err)
	}
	return h.Quantile(o.Quantile).Microseconds(), false, nil
}
