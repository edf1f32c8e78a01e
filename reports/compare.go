package reports

import (
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tailrace/tailrace/histogram"
)

// Compare writes compare.html: the arms of one or more runs side by side,
// the first arm of the first run as the baseline. It shows per-phase p50
// and p99 with their differences, those differences in words with the
// phases they come from, overlaid percentile spectra, each arm's tail
// breakdown on a common scale, and counters. names labels the runs (for
// example their file names); nil, or a missing name, numbers them. With one
// run, arms are labelled by mode alone. It never prints; runs are only read.
func Compare(w io.Writer, runs []*Results, names []string) error {
	es := entries(runs, names)
	if len(es) == 0 {
		return errors.New("reports: nothing to compare: no arms")
	}
	v := &pageView{Kind: "compare", Title: "tailrace comparison: " + strings.Join(labels(es), " vs ")}
	v.Header = compareHeader(runs, names, es)
	cv := &compareView{Runs: runTable(runs, names), Deltas: deltaTables(es), Words: inWords(es), Counters: counterTable(es)}
	var err error
	if cv.Spectra, err = overlaidSpectra(es); err != nil {
		return err
	}
	tailMax := 0.0
	for _, e := range es {
		for _, ts := range e.arm.TailBreakdown {
			tailMax = math.Max(tailMax, float64(ts.MeanTotalUS))
		}
	}
	for _, e := range es {
		ch, _ := tailBreakdown(e.arm, "cmp-tail-"+slug(e.label), tailMax)
		cv.Tails = append(cv.Tails, labelled{Label: e.label, Chart: ch})
	}
	for _, r := range runs {
		v.Warnings = append(v.Warnings, r.Warnings...)
	}
	v.Compare = cv
	return render(w, v)
}

// compareView is compare.html's own content.
type compareView struct {
	Runs     *table
	Deltas   []*table
	Words    []string
	Spectra  []template.HTML
	Tails    []labelled
	Counters *table
}

type labelled struct {
	Label string
	Chart template.HTML
}

// entry is one arm of one run, as compared.
type entry struct {
	label string
	run   *Results
	arm   *Arm
}

func entries(runs []*Results, names []string) []entry {
	var es []entry
	for i, r := range runs {
		for j := range r.Arms {
			a := &r.Arms[j]
			label := a.Mode
			if len(runs) > 1 {
				label = runName(names, i) + " " + a.Mode
			}
			es = append(es, entry{label: label, run: r, arm: a})
		}
	}
	return es
}

func runName(names []string, i int) string {
	if i < len(names) && names[i] != "" {
		return names[i]
	}
	return fmt.Sprintf("run %d", i+1)
}

func labels(es []entry) []string {
	ls := make([]string, len(es))
	for i, e := range es {
		ls[i] = e.label
	}
	return ls
}

func compareHeader(runs []*Results, names []string, es []entry) headerView {
	h := headerView{Title: "tailrace comparison: " + strings.Join(labels(es), " vs ")}
	var targets []string
	for _, r := range runs {
		if !slices.Contains(targets, r.Plan.Target) {
			targets = append(targets, r.Plan.Target)
		}
	}
	h.Facts = []fact{
		{"compared", strings.Join(labels(es), ", ")},
		{"baseline", es[0].label},
		{"target", strings.Join(targets, "; ")},
	}
	if len(runs) == 1 {
		r := runs[0]
		h.Facts = append(h.Facts,
			fact{"plan", fmt.Sprintf("stages %s, %s arrivals, seed %d: the same schedule for every arm", r.Plan.Stages, r.Plan.Process, r.Plan.Seed)},
			fact{"started", r.StartedAt.UTC().Format(time.RFC3339)})
		h.Verdict, h.VerdictClass, h.VerdictText = verdict(r)
		h.Incomplete = r.Incomplete
		return h
	}
	failed, incomplete := 0, 0
	for _, r := range runs {
		if !r.SLOsPass() {
			failed++
		}
		if r.Incomplete {
			incomplete++
		}
	}
	switch {
	case failed > 0:
		h.Verdict, h.VerdictClass, h.VerdictText = "FAIL", "fail", fmt.Sprintf("%d of %d runs violated an SLO", failed, len(runs))
	case incomplete > 0:
		h.Verdict, h.VerdictClass, h.VerdictText = "INCOMPLETE", "fail", fmt.Sprintf("%d of %d runs are incomplete", incomplete, len(runs))
	default:
		h.Verdict, h.VerdictClass, h.VerdictText = "—", "none", "see each run's SLOs below"
	}
	return h
}

func runTable(runs []*Results, names []string) *table {
	if len(runs) < 2 {
		return nil
	}
	t := &table{ID: "runs", Caption: "Runs", Head: []string{"run", "target", "started", "stages", "arms", "verdict"}}
	for i, r := range runs {
		modes := make([]string, len(r.Arms))
		for j, a := range r.Arms {
			modes[j] = a.Mode
		}
		v, cls, why := verdict(r)
		if r.Incomplete {
			v, cls, why = v+", INCOMPLETE", "fail", why+"; the run is incomplete"
		}
		t.Rows = append(t.Rows, []cell{txt(runName(names, i)), txt(r.Plan.Target), txt(r.StartedAt.UTC().Format(time.RFC3339)),
			txt(r.Plan.Stages), txt(strings.Join(modes, ", ")), {Text: v, Class: cls, Title: why}})
	}
	return t
}

// deltaTables set one quantile of every phase side by side, each arm's
// value with its difference from the baseline: one table for p50, one for
// p99, so that four arms still fit a laptop screen and a printed page.
func deltaTables(es []entry) []*table {
	var out []*table
	for _, q := range []struct {
		name string
		f    func(PhaseSummary) int64
	}{{"p50", func(s PhaseSummary) int64 { return s.P50US }}, {"p99", func(s PhaseSummary) int64 { return s.P99US }}} {
		t := &table{ID: "deltas-" + q.name, Caption: fmt.Sprintf("%s per phase, and the difference from %s", q.name, es[0].label),
			Class: "deltas", Head: []string{"phase"}}
		for _, e := range es {
			t.Head = append(t.Head, e.label)
		}
		base := es[0].arm
		for _, ph := range PhaseOrder {
			name := ph.String()
			if !slices.ContainsFunc(es, func(e entry) bool { return e.arm.Phases[name].Count > 0 }) {
				continue
			}
			row := []cell{txt(name)}
			b := base.Phases[name]
			for i, e := range es {
				s := e.arm.Phases[name]
				switch {
				case s.Count == 0:
					row = append(row, txt("–"))
				case i == 0 || b.Count == 0:
					row = append(row, usc(q.f(s)))
				default:
					row = append(row, deltaCell(q.f(s), q.f(b)))
				}
			}
			t.Rows = append(t.Rows, row)
		}
		out = append(out, t)
	}
	return out
}

func deltaCell(v, base int64) cell {
	d := v - base
	c := numc(fmt.Sprintf("%s (%s)", US(v), signedUS(d)))
	switch {
	case d > 0:
		c.Class += " worse"
	case d < 0:
		c.Class += " better"
	}
	if base > 0 {
		c.Title = fmt.Sprintf("%+.0f%%", 100*float64(d)/float64(base))
	}
	return c
}

func signedUS(d int64) string {
	if d < 0 {
		return "−" + US(-d)
	}
	return "+" + US(d)
}

// modePhrase names what an arm's mode changes, for the sentences.
var modePhrase = map[string]string{
	"keepalive": "keep-alive connections",
	"close":     "a new connection per request",
	"resume":    "a new connection per request with TLS resumption",
	"h2":        "HTTP/2 multiplexing",
}

// inWords states each arm's difference from the baseline: at p50 and p99
// of total, then, from the tail breakdowns (whose phase means add up), how
// much of the mean difference each phase accounts for.
func inWords(es []entry) []string {
	base := es[0]
	var out []string
	for _, e := range es[1:] {
		bt, et := base.arm.Phases["total"], e.arm.Phases["total"]
		if bt.Count == 0 || et.Count == 0 {
			out = append(out, fmt.Sprintf("%s vs %s: one of them has no completed request to compare.", e.label, base.label))
			continue
		}
		d50, d99 := et.P50US-bt.P50US, et.P99US-bt.P99US
		what := modePhrase[e.arm.Mode]
		if what == "" || e.arm.Mode == base.arm.Mode {
			what = e.label
		}
		var s string
		switch {
		case d50 >= 0 && d99 >= 0:
			s = fmt.Sprintf("%s vs %s: %s costs %s at p50 and %s at p99 of total", e.label, base.label, what, msText(d50), msText(d99))
		case d50 <= 0 && d99 <= 0:
			s = fmt.Sprintf("%s vs %s: %s saves %s at p50 and %s at p99 of total", e.label, base.label, what, msText(-d50), msText(-d99))
		default:
			s = fmt.Sprintf("%s vs %s: %s changes total by %s at p50 and %s at p99", e.label, base.label, what, signedMS(d50), signedMS(d99))
		}
		parts := []string{s}
		if c := composition(base.arm, e.arm, 0, "on average per request"); c != "" {
			parts = append(parts, c)
		}
		if c := composition(base.arm, e.arm, 0.99, "among the slowest 1%"); c != "" {
			parts = append(parts, c)
		}
		out = append(out, strings.Join(parts, "; ")+".")
	}
	return out
}

// composition splits the difference of the mean total of the requests at
// or above q into the phases it comes from, largest first.
func composition(base, a *Arm, q float64, where string) string {
	bs, ok1 := tailSlice(base, q)
	as, ok2 := tailSlice(a, q)
	if !ok1 || !ok2 || bs.Count == 0 || as.Count == 0 {
		return ""
	}
	d := as.MeanTotalUS - bs.MeanTotalUS
	if d == 0 {
		return ""
	}
	type part struct {
		name string
		d    int64
	}
	var ps []part
	for p := range histogram.NumConsecutive {
		n := histogram.Phase(p).String()
		pd := as.MeanPhaseUS[n] - bs.MeanPhaseUS[n]
		// Only the phases pulling the same way, and enough to matter.
		if (pd > 0) == (d > 0) && pd != 0 && 10*abs(pd) >= abs(d) {
			ps = append(ps, part{n, pd})
		}
	}
	slices.SortFunc(ps, func(x, y part) int { return cmp.Compare(abs(y.d), abs(x.d)) })
	verb := "adds"
	if d < 0 {
		verb = "saves"
	}
	s := fmt.Sprintf("%s it %s %s", where, verb, msText(abs(d)))
	if len(ps) > 0 && abs(ps[0].d) > abs(d) {
		// Other phases pulled the other way: "of it" would not add up.
		return s + fmt.Sprintf(", more than all of it %s (%s), partly offset by other phases", ps[0].name, signedMS(ps[0].d))
	}
	for i, p := range ps[:min(len(ps), 3)] {
		if i == 0 {
			s += fmt.Sprintf(", %s of it %s", msText(abs(p.d)), p.name)
		} else {
			s += fmt.Sprintf(" and %s %s", msText(abs(p.d)), p.name)
		}
	}
	return s
}

func tailSlice(a *Arm, q float64) (TailSlice, bool) {
	for _, ts := range a.TailBreakdown {
		if math.Abs(ts.FromQuantile-q) < 1e-9 {
			return ts, true
		}
	}
	return TailSlice{}, false
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// msText states a duration in the unit people compare latencies in.
func msText(us int64) string {
	if us < 1000 {
		return fmt.Sprintf("%d µs", us)
	}
	return fmt.Sprintf("%.2f ms", float64(us)/1e3)
}

func signedMS(us int64) string {
	if us < 0 {
		return "−" + msText(-us)
	}
	return "+" + msText(us)
}

func overlaidSpectra(es []entry) ([]template.HTML, error) {
	var out []template.HTML
	phases := append([]histogram.Phase{histogram.Total}, PhaseOrder[:len(PhaseOrder)-1]...)
	for _, ph := range phases {
		var ss []series
		for i, e := range es {
			s := e.arm.Phases[ph.String()]
			if s.Count == 0 {
				continue
			}
			pts, err := spectrumPoints(s.Hist)
			if err != nil {
				return nil, fmt.Errorf("reports: %s phase %s: %w", e.label, ph, err)
			}
			ss = append(ss, series{name: e.label, class: fmt.Sprintf("c%d", i%8), pts: pts})
		}
		if len(ss) == 0 {
			continue
		}
		title := "Percentile spectrum of " + ph.String()
		note := ""
		if ph == histogram.Total {
			note = "total is measured from the intended send time; the arms ran the identical schedule."
		}
		out = append(out, spectrumChart("cmp-spectrum-"+ph.String(), title, note, ph != histogram.Total, ss))
	}
	return out, nil
}

func counterTable(es []entry) *table {
	t := &table{ID: "counters", Head: []string{""}}
	for _, e := range es {
		t.Head = append(t.Head, e.label)
	}
	rows := []struct {
		name string
		f    func(a *Arm) string
	}{
		{"intended", func(a *Arm) string { return fmt.Sprint(a.Counters.Intended) }},
		{"completed", func(a *Arm) string { return fmt.Sprint(a.Counters.Completed) }},
		{"achieved rate", func(a *Arm) string {
			if a.DurationS <= 0 {
				return "–"
			}
			return fmt.Sprintf("%.1f/s", float64(a.Counters.Completed)/a.DurationS)
		}},
		{"errors", func(a *Arm) string {
			return fmt.Sprintf("%d (%s)", a.Counters.Errors, pct(a.Counters.Errors, a.Counters.Intended))
		}},
		{"dropped", func(a *Arm) string { return fmt.Sprint(a.Counters.Dropped) }},
		{"connections opened", func(a *Arm) string { return fmt.Sprint(a.Counters.ConnsOpened) }},
		{"requests on reused connections", func(a *Arm) string { return fmt.Sprint(a.Counters.ConnsReused) }},
		{"TLS resumed", func(a *Arm) string { return fmt.Sprint(a.Counters.TLSResumed) }},
		{"degraded intervals", func(a *Arm) string { return fmt.Sprintf("%d of %d", a.Degraded, len(a.Intervals)) }},
	}
	for _, r := range rows {
		row := []cell{txt(r.name)}
		for _, e := range es {
			row = append(row, numc(r.f(e.arm)))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
