package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/tailrace/tailrace/histogram"
)

// csvHeader is the header row of timeseries.csv. Columns are only ever
// added at the end.
var csvHeader = []string{
	"arm", "interval", "start_s", "length_s", "workers", "degraded", "short",
	"intended", "sent", "completed", "errors", "dropped", "conns_opened", "max_inflight",
	"phase", "count", "mean_us", "p50_us", "p90_us", "p95_us", "p99_us", "p999_us", "max_us",
}

// armPhases are the phases that occurred in an arm: the phases of its
// CSV rows and .hlog files.
func armPhases(a *Arm) []histogram.Phase {
	var ps []histogram.Phase
	for _, p := range histogram.Phases() {
		if a.Phases[p.String()].Count > 0 {
			ps = append(ps, p)
		}
	}
	return ps
}

// phaseOf returns phase p's figures in iv: from its summary, or, in
// results written before interval summaries existed, from its histogram.
// A phase absent from the interval has all zeros.
func phaseOf(iv *Interval, p histogram.Phase) (IntervalPhase, error) {
	name := p.String()
	if f, ok, err := iv.PhaseFigures(name); ok || err != nil {
		return f, err
	}
	enc, err := iv.PhaseHist(name)
	if err != nil || enc == "" {
		return IntervalPhase{}, err
	}
	h, err := DecodeHist(enc)
	if err != nil {
		return IntervalPhase{}, fmt.Errorf("reports: interval %d %s: %w", iv.Index, name, err)
	}
	return intervalPhase(h), nil
}

// TimeseriesCSV writes timeseries.csv: one row per arm, interval and phase
// that occurred in the arm, with the interval's counters repeated on each of
// its rows (so that any row stands alone in a spreadsheet or a data frame)
// and the phase's count, mean and percentiles in that interval, in µs. It
// never prints; r is only read.
func TimeseriesCSV(w io.Writer, r *Results) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("reports: csv: %w", err)
	}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	f64 := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for ai := range r.Arms {
		a := &r.Arms[ai]
		phases := armPhases(a)
		for ii := range a.Intervals {
			iv := &a.Intervals[ii]
			c := iv.Counters
			head := []string{a.Mode, strconv.Itoa(iv.Index), f64(iv.StartS), f64(iv.LengthS), strconv.Itoa(iv.Workers),
				strconv.FormatBool(iv.Degraded), strconv.FormatBool(iv.Short),
				i64(c.Intended), i64(c.Sent), i64(c.Completed), i64(c.Errors), i64(c.Dropped), i64(c.ConnsOpened), i64(iv.MaxInFlight)}
			for _, p := range phases {
				s, err := phaseOf(iv, p)
				if err != nil {
					return fmt.Errorf("reports: csv arm %s: %w", a.Mode, err)
				}
				row := append(head[:len(head):len(head)], p.String(), i64(s.Count), i64(s.MeanUS), i64(s.P50US), i64(s.P90US),
					i64(s.P95US), i64(s.P99US), i64(s.P999US), i64(s.MaxUS))
				if err := cw.Write(row); err != nil {
					return fmt.Errorf("reports: csv: %w", err)
				}
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("reports: csv: %w", err)
	}
	return nil
}
