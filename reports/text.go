package reports

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tailrace/tailrace/histogram"
)

// Text writes the end-of-run summary: per arm the phase table, the tail
// breakdown, counters and errors; with several arms, a side-by-side table;
// then every warning.
func Text(w io.Writer, r *Results) error {
	ew := &errWriter{w: w}
	p := r.Plan
	target := p.Target
	if p.BuiltinTarget {
		target += " (built-in calibration target)"
	}
	ew.printf("tailrace %s %s  stages %s %s seed %d  workers %d  connections %d\n",
		p.Method, target, p.Stages, p.Process, p.Seed, p.Workers, p.Connections)
	if p.ClosedLoop {
		ew.printf("%s (%d loops per worker, back to back; the stages' rates are ignored)\n", ClosedLoopNote, p.Concurrency)
	}
	planMixText(ew, &p)
	workersText(ew, r.Workers)
	for i := range r.Arms {
		a := &r.Arms[i]
		ew.printf("\n== arm %s  (%.1fs)\n", a.Mode, a.DurationS)
		armText(ew, a)
		labelsText(ew, &r.Plan, a)
	}
	if len(r.Arms) > 1 {
		ew.printf("\n== arms side by side (p50 / p99)\n")
		sideBySide(ew, r.Arms)
	}
	sloText(ew, r.SLOs)
	if r.Search != nil {
		ew.printf("\n")
		if err := SearchText(ew, r.Search); err != nil {
			return err
		}
	}
	if len(r.Warnings) > 0 {
		ew.printf("\nwarnings:\n")
		for _, s := range r.Warnings {
			ew.printf("  ! %s\n", s)
		}
	}
	return ew.err
}

// sloText lists each SLO's verdict with every arm's observed value.
func sloText(ew *errWriter, slos []SLOResult) {
	if len(slos) == 0 {
		return
	}
	failed := 0
	ew.printf("\nSLOs (each must hold in every arm):\n")
	for _, s := range slos {
		v := "pass"
		if !s.Pass {
			v = "FAIL"
			failed++
		}
		parts := make([]string, len(s.Arms))
		for i, a := range s.Arms {
			parts[i] = a.Arm + " " + a.Observed
			if !a.Pass {
				parts[i] += " (violated)"
			}
		}
		ew.printf("  %-4s  %s   %s\n", v, s.Expr, strings.Join(parts, ", "))
	}
	if failed > 0 {
		ew.printf("verdict: FAIL, %d of %d SLOs violated\n", failed, len(slos))
	} else {
		ew.printf("verdict: PASS, all %d SLOs hold\n", len(slos))
	}
}

// workersText lists the workers when there is more than one or any is remote:
// who ran what share, their clock offsets, and any loss.
func workersText(ew *errWriter, ws []Worker) {
	if len(ws) < 2 && (len(ws) == 0 || ws[0].Local) {
		return
	}
	ew.printf("workers:\n")
	for _, w := range ws {
		where := "remote, clock offset " + US(w.ClockOffsetUS) + ", rtt " + US(w.RTTUS)
		if w.Local {
			where = "in-process"
		}
		lost := ""
		if w.LostAt != nil {
			lost = fmt.Sprintf("  LOST %.1fs into the arm", *w.LostAt)
		}
		ew.printf("  %-12s share %5.1f%%  segment %-7s %s%s\n", w.Name, 100*w.Share, w.Segment, where, lost)
	}
}

// readLagNote says what the read_lag phase is, under the report's phase
// tables (and, wrapped, the summary's).
const readLagNote = "read_lag is how long after the kernel received a response's first bytes this generator read them (not part of total: ttfb ends at their arrival)."

// PhaseOrder is the order phases appear in tables: the consecutive phases,
// then the whole-request views.
var PhaseOrder = []histogram.Phase{
	histogram.ScheduleLag, histogram.PoolWait, histogram.DNS, histogram.Connect, histogram.TLS,
	histogram.Write, histogram.TTFB, histogram.Download, histogram.Server, histogram.ReadLag,
	histogram.Service, histogram.Response, histogram.Total,
}

func armText(ew *errWriter, a *Arm) {
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "phase\tcount\tp50\tp90\tp95\tp99\tp99.9\tmax\t\n")
	for _, ph := range PhaseOrder {
		s, ok := a.Phases[ph.String()]
		if !ok || s.Count == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", ph, s.Count, US(s.P50US), US(s.P90US),
			US(s.P95US), US(s.P99US), US(s.P999US), US(s.MaxUS))
	}
	tw.Flush()
	ew.printf("  total is measured from the intended send time (no coordinated omission);\n  response is what a closed-loop tool would report.\n")
	if s, ok := a.Phases[histogram.ReadLag.String()]; ok && s.Count > 0 {
		ew.printf("  read_lag is how long after the kernel received a response's first bytes\n  this generator read them (not part of total: ttfb ends at their arrival).\n")
	}

	ew.printf("\ntail breakdown: mean time per phase of the requests at or above each quantile of total\n")
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "from\tcount\tmean total\t")
	for p := range histogram.NumConsecutive {
		fmt.Fprintf(tw, "%s\t", histogram.Phase(p))
	}
	fmt.Fprintf(tw, "\n")
	for _, ts := range a.TailBreakdown {
		name := "all"
		if ts.FromQuantile > 0 {
			name = QuantileName(ts.FromQuantile)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t", name, ts.Count, US(ts.MeanTotalUS))
		for p := range histogram.NumConsecutive {
			fmt.Fprintf(tw, "%s\t", US(ts.MeanPhaseUS[histogram.Phase(p).String()]))
		}
		fmt.Fprintf(tw, "\n")
	}
	tw.Flush()

	c := a.Counters
	ew.printf("\nrequests: intended %d  sent %d  completed %d  errors %d  dropped %d\n",
		c.Intended, c.Sent, c.Completed, c.Errors, c.Dropped)
	rate := 0.0
	if a.DurationS > 0 {
		rate = float64(c.Completed) / a.DurationS
	}
	perConn := 0.0
	if c.ConnsOpened > 0 {
		perConn = float64(c.ConnsOpened+c.ConnsReused) / float64(c.ConnsOpened)
	}
	ew.printf("connections: opened %d  reused %d  tls resumed %d  closed %d  (%.1f requests per connection)\n",
		c.ConnsOpened, c.ConnsReused, c.TLSResumed, c.ConnsClosed, perConn)
	ew.printf("throughput: %.1f completed/s  %s read\n", rate, bytesText(c.BytesRead))
	if len(a.Statuses) > 0 {
		ew.printf("statuses: %s\n", mapText(a.Statuses))
	}
	if len(a.Errors) > 0 {
		ew.printf("errors: %s\n", mapText(a.Errors))
		for _, k := range slices.Sorted(maps.Keys(a.ErrorSamples)) {
			ew.printf("  %s, e.g.: %s\n", k, a.ErrorSamples[k])
		}
	}
	if a.Degraded > 0 {
		ew.printf("degraded intervals: %d of %d (the generator, not the target, limited them)\n", a.Degraded, len(a.Intervals))
	}
}

func sideBySide(ew *errWriter, arms []Arm) {
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "phase\t")
	for _, a := range arms {
		fmt.Fprintf(tw, "%s\t", a.Mode)
	}
	fmt.Fprintf(tw, "\n")
	for _, ph := range PhaseOrder {
		any := false
		for _, a := range arms {
			any = any || a.Phases[ph.String()].Count > 0
		}
		if !any {
			continue
		}
		fmt.Fprintf(tw, "%s\t", ph)
		for _, a := range arms {
			s := a.Phases[ph.String()]
			if s.Count == 0 {
				fmt.Fprintf(tw, "-\t")
				continue
			}
			fmt.Fprintf(tw, "%s / %s\t", US(s.P50US), US(s.P99US))
		}
		fmt.Fprintf(tw, "\n")
	}
	fmt.Fprintf(tw, "conns opened\t")
	for _, a := range arms {
		fmt.Fprintf(tw, "%d\t", a.Counters.ConnsOpened)
	}
	fmt.Fprintf(tw, "\nerrors\t")
	for _, a := range arms {
		fmt.Fprintf(tw, "%d\t", a.Counters.Errors)
	}
	fmt.Fprintf(tw, "\n")
	tw.Flush()
}

// US formats a microsecond count for people: 850µs, 12.34ms, 1.234s.
func US(us int64) string {
	if us < 0 {
		return "-" + US(-us)
	}
	d := time.Duration(us) * time.Microsecond
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", us)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(us)/1e3)
	default:
		return fmt.Sprintf("%.3fs", float64(us)/1e6)
	}
}

// QuantileName names a quantile as a percentile: 0.99 -> "p99", 0.999 -> "p99.9".
func QuantileName(q float64) string {
	s := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", q*100), "0"), ".")
	return "p" + s
}

func mapText(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// errWriter keeps the first write error so rendering code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
