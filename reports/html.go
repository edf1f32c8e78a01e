package reports

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"
)

//go:embed assets/report.css assets/report.js assets/page.tmpl
var assets embed.FS

var (
	pageCSS  = mustAsset("assets/report.css")
	pageJS   = mustAsset("assets/report.js")
	pageTmpl = template.Must(template.New("page").Parse(mustAsset("assets/page.tmpl")))
	// csp lets the page run its own inline style and script, identified by
	// hash, and nothing else: no fetch, no image but data:, no form. A
	// request the page tried anyway would be refused and logged, which is
	// what the browser test looks for.
	csp = fmt.Sprintf("default-src 'none'; style-src '%s'; script-src '%s'; img-src data:; base-uri 'none'; form-action 'none'",
		sriHash(pageCSS), sriHash(pageJS))
)

func mustAsset(name string) string {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func sriHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}

// maxPoints is the most points a time series is drawn with. A one-hour
// run has 3600 intervals; drawing each would make the file several MB
// without showing more on a laptop screen, so longer runs are folded into
// buckets of consecutive intervals. Folding is honest: latency, lag and
// in-flight keep the worst interval of a bucket, counts are summed and
// rates are recomputed over the bucket's length.
const maxPoints = 600

// HTML writes report.html: one self-contained page (inline CSS, inline SVG
// charts, a small inline script, a Content-Security-Policy that forbids
// every fetch) with the run's header and verdict, its SLOs, its capacity
// search if it was one (the steps and the latency-throughput curve), its
// warnings and workers, and per arm the phase table, tail breakdown,
// latency and rate over time, percentile spectrum, schedule lag,
// connections, errors and slowest requests. It never prints; r is only
// read.
func HTML(w io.Writer, r *Results) error {
	v := &pageView{Kind: "report", Title: "tailrace report: " + r.Plan.Target}
	v.Header = header(r)
	v.SLOs = sloTable(r)
	if r.Search != nil {
		v.Search = newSearchView(r.Search)
	}
	v.Warnings = r.Warnings
	v.Workers = workerTable(r)
	for i := range r.Arms {
		av, err := newArmView(r, i)
		if err != nil {
			return err
		}
		v.Arms = append(v.Arms, av)
	}
	if len(r.Arms) > 1 {
		v.Header.Note = "The arms are set side by side, with overlaid spectra and their differences in words, in compare.html next to this file (or: coordinator compare results.json)."
	}
	return render(w, v)
}

func render(w io.Writer, v *pageView) error {
	v.CSP, v.CSS, v.JS = csp, template.CSS(pageCSS), template.JS(pageJS)
	ew := &errWriter{w: w}
	if err := pageTmpl.ExecuteTemplate(ew, "page", v); err != nil {
		return fmt.Errorf("reports: render %s: %w", v.Kind, err)
	}
	if ew.err != nil {
		return fmt.Errorf("reports: write %s: %w", v.Kind, ew.err)
	}
	return nil
}

// pageView is what the template sees: every string already formatted,
// every chart already drawn.
type pageView struct {
	Kind, Title string
	CSP         string
	CSS         template.CSS
	JS          template.JS
	Header      headerView
	SLOs        *table
	Search      *searchView
	Warnings    []string
	Workers     *table
	Arms        []*armView
	Compare     *compareView
}

type headerView struct {
	Title        string
	Facts        []fact
	Verdict      string
	VerdictClass string
	VerdictText  string
	Incomplete   bool
	Note         string
}

type fact struct{ K, V string }

// table is a generic table: the template draws every table the same way.
type table struct {
	ID, Caption, Class string
	Head               []string
	Rows               [][]cell
	Note               string
}

type cell struct {
	Text  string
	HTML  template.HTML
	Class string // num, pass, fail, ...
	Title string
}

func txt(s string) cell  { return cell{Text: s} }
func numc(s string) cell { return cell{Text: s, Class: "num"} }
func usc(us int64) cell  { return numc(US(us)) }
func intc(n int64) cell  { return numc(fmt.Sprint(n)) }
func pct(n, of int64) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(n)/float64(of))
}

func header(r *Results) headerView {
	p := r.Plan
	target := p.Target
	if p.BuiltinTarget {
		target += " (built-in calibration target)"
	}
	modes := make([]string, len(r.Arms))
	for i, a := range r.Arms {
		modes[i] = a.Mode
	}
	workers := fmt.Sprint(len(r.Workers))
	var ws []string
	for i, w := range r.Workers {
		if i == 8 {
			ws = append(ws, fmt.Sprintf("and %d more (see Workers)", len(r.Workers)-i))
			break
		}
		s := fmt.Sprintf("%s clock offset %s", w.Name, US(w.ClockOffsetUS))
		if w.LostAt != nil {
			s += fmt.Sprintf(", lost at %.1fs", *w.LostAt)
		}
		ws = append(ws, s)
	}
	if len(ws) > 0 {
		workers += ": " + strings.Join(ws, "; ")
	}
	h := headerView{
		Title: "tailrace: " + p.Method + " " + p.Target,
		Facts: []fact{
			{"target", p.Method + " " + target},
			{"plan", planFact(p)},
			{"arms", strings.Join(modes, ", ")},
			{"workers", workers},
			{"connections", fmt.Sprintf("%d per worker, at most %d in flight per worker, timeout %s", p.Connections, p.MaxInFlight, p.Timeout)},
			{"started", r.StartedAt.UTC().Format(time.RFC3339)},
			{"duration", fmt.Sprintf("%.1fs", r.DurationS)},
		},
		Incomplete: r.Incomplete,
	}
	if len(p.Requests) > 0 {
		parts := make([]string, len(p.Requests))
		for i, q := range p.Requests {
			parts[i] = fmt.Sprintf("%s %.1f%% (%s %s)", q.Label, 100*q.Share, q.Method, pathOf(q.URL))
		}
		h.Facts = slices.Insert(h.Facts, 1, fact{"mix", strings.Join(parts, ", ")})
	}
	if p.ExpectStatus != "" {
		h.Facts = slices.Insert(h.Facts, 1, fact{"expected statuses", p.ExpectStatus + " (any other is an error)"})
	}
	h.Verdict, h.VerdictClass, h.VerdictText = verdict(r)
	return h
}

// verdict is the SLO verdict; an incomplete run is flagged separately.
func verdict(r *Results) (string, string, string) {
	failed := 0
	for _, s := range r.SLOs {
		if !s.Pass {
			failed++
		}
	}
	switch {
	case len(r.SLOs) == 0 && r.Search != nil:
		// A search applies its SLOs to each step, not to the run.
		word, class, text := searchVerdict(r.Search)
		return word, class, "capacity search: " + text
	case len(r.SLOs) == 0:
		return "NO SLOs", "none", "no SLOs were given: add --slo 'total.p99<250ms' to gate on one"
	case failed > 0:
		return "FAIL", "fail", fmt.Sprintf("%d of %d SLOs violated", failed, len(r.SLOs))
	}
	return "PASS", "pass", fmt.Sprintf("all %d SLOs hold in every arm", len(r.SLOs))
}

func sloTable(r *Results) *table {
	if len(r.SLOs) == 0 {
		return nil
	}
	t := &table{ID: "slos", Caption: "SLO gates (an SLO holds only if it holds in every arm)", Head: []string{"SLO", "verdict"}}
	for _, a := range r.Arms {
		t.Head = append(t.Head, a.Mode)
	}
	for _, s := range r.SLOs {
		row := []cell{{Text: s.Expr, Class: "code"}, passCell(s.Pass)}
		for _, a := range r.Arms {
			c := cell{Text: "–"}
			for _, sa := range s.Arms {
				if sa.Arm == a.Mode {
					c = cell{Text: sa.Observed, Class: "num " + passClass(sa.Pass)}
					if sa.NoData {
						c.Title = "the phase never happened in this arm"
					}
				}
			}
			row = append(row, c)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func passCell(ok bool) cell {
	if ok {
		return cell{Text: "pass", Class: "pass"}
	}
	return cell{Text: "FAIL", Class: "fail"}
}

func passClass(ok bool) string {
	if ok {
		return "pass"
	}
	return "fail"
}

func workerTable(r *Results) *table {
	t := &table{ID: "workers", Head: []string{"worker", "share", "segment", "clock offset", "RTT", "lost"}}
	for _, a := range r.Arms {
		if len(a.Workers) > 0 {
			t.Head = append(t.Head, a.Mode)
		}
	}
	for _, w := range r.Workers {
		lost := cell{Text: "no", Class: "pass"}
		if w.LostAt != nil {
			lost = cell{Text: fmt.Sprintf("lost at %.1fs", *w.LostAt), Class: "fail"}
		}
		name := w.Name
		if w.Local {
			name += " (in-process)"
		}
		row := []cell{txt(name), numc(fmt.Sprintf("%.1f%%", 100*w.Share)), txt(w.Segment),
			usc(w.ClockOffsetUS), usc(w.RTTUS), lost}
		for _, a := range r.Arms {
			if len(a.Workers) == 0 {
				continue
			}
			i := slices.IndexFunc(a.Workers, func(aw ArmWorker) bool { return aw.Name == w.Name })
			if i < 0 {
				row = append(row, txt("–"))
				continue
			}
			aw := a.Workers[i]
			rate := 0.0
			if a.DurationS > 0 {
				rate = float64(aw.Counters.Completed) / a.DurationS
			}
			c := numc(fmt.Sprintf("%.1f/s, lag p99 %s", rate, US(aw.LagP99US)))
			if aw.Degraded > 0 {
				c.Title = fmt.Sprintf("%d degraded intervals", aw.Degraded)
				c.Class += " warn"
			}
			row = append(row, c)
		}
		t.Rows = append(t.Rows, row)
	}
	if len(t.Rows) == 0 {
		return nil
	}
	t.Note = "Clock offsets are measured at join from the lowest-RTT of 16 pings. Per arm: completed requests per second over the arm, and the worker's own schedule lag p99 (amber: it had degraded intervals)."
	return t
}

// planFact describes the schedule, or says plainly that there was none.
func planFact(p Plan) string {
	if p.ClosedLoop {
		return fmt.Sprintf("%s: %d loops per worker for the stages' duration (%s)", ClosedLoopNote, p.Concurrency, p.Stages)
	}
	pacer := p.Pacer
	if p.Tick != "" {
		pacer += " (" + p.Tick + " grid)"
	}
	return fmt.Sprintf("stages %s, %s arrivals, seed %d, pacer %s", p.Stages, p.Process, p.Seed, pacer)
}
