package reports

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// Search is the outcome of a capacity search (`coordinator search`): the
// open-loop rate stepped up until an SLO broke, each step's figures (the
// latency-throughput curve), and the highest rate that met every SLO.
type Search struct {
	SLOs         []string     `json:"slos"`                     // canonical expressions, all of which a step must meet
	FromRPS      float64      `json:"from_rps"`                 // the first step's rate
	ToRPS        float64      `json:"to_rps"`                   // the highest rate tried at most
	Factor       float64      `json:"factor"`                   // each geometric step's rate over the previous one's
	StepS        float64      `json:"step_s"`                   // measured length of a step
	WarmupS      float64      `json:"warmup_s"`                 // run before each step's measurement, not evaluated
	Steps        []SearchStep `json:"steps"`                    // in the order run
	BestRPS      float64      `json:"best_rps"`                 // highest rate that met every SLO; 0 if none did
	FirstFailRPS float64      `json:"first_fail_rps,omitempty"` // lowest rate that failed; 0 if none did
	Stopped      string       `json:"stopped"`                  // why the search ended
	ClosedLoop   bool         `json:"closed_loop,omitempty"`    // never: a search steps an open-loop rate
}

// SearchStep is one rate tried.
type SearchStep struct {
	RateRPS     float64  `json:"rate_rps"`     // intended
	AchievedRPS float64  `json:"achieved_rps"` // completed per second over the measured window
	TotalP50US  int64    `json:"total_p50_us"`
	TotalP99US  int64    `json:"total_p99_us"`
	ErrorRate   float64  `json:"error_rate"` // failed over intended arrivals, dropped included
	Pass        bool     `json:"pass"`
	Failed      []string `json:"failed,omitempty"`             // the SLOs it broke, with the observed value
	Refine      bool     `json:"refine,omitempty"`             // a step between the last pass and the first failure
	Degraded    int      `json:"degraded_intervals,omitempty"` // the generator, not the target, was the limit
}

// SearchText writes the search as a table: one row per step (sorted by
// rate), then the verdict.
func SearchText(w io.Writer, s *Search) error {
	ew := &errWriter{w: w}
	ew.printf("capacity search: %s  (steps of %.0fs after %.0fs warm-up, x%.3g from %s to %s)\n",
		strings.Join(s.SLOs, ", "), s.StepS, s.WarmupS, s.Factor, rateText(s.FromRPS), rateText(s.ToRPS))
	tw := tabwriter.NewWriter(ew, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "rate\tachieved\tp50\tp99\terrors\tverdict\t\n")
	for _, st := range sortedSteps(s.Steps) {
		v := "pass"
		if !st.Pass {
			v = "FAIL " + strings.Join(st.Failed, ", ")
		}
		if st.Degraded > 0 {
			v += fmt.Sprintf(" (generator-limited in %d intervals)", st.Degraded)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f%%\t%s\t\n", rateText(st.RateRPS), rateText(st.AchievedRPS),
			US(st.TotalP50US), US(st.TotalP99US), 100*st.ErrorRate, v)
	}
	tw.Flush()
	ew.printf("%s\n", searchOutcome(s))
	if s.Stopped != "" {
		ew.printf("stopped: %s\n", s.Stopped)
	}
	return ew.err
}

// searchOutcome is the search's verdict in words, for the text summary
// and report.html alike.
func searchOutcome(s *Search) string {
	switch {
	case len(s.Steps) == 0:
		return "no step was measured"
	case s.BestRPS == 0:
		return fmt.Sprintf("no rate met every SLO (the lowest, %s, failed)", rateText(s.FromRPS))
	case s.FirstFailRPS > 0:
		return fmt.Sprintf("highest rate meeting every SLO: %s (the knee is between it and %s, which failed)", rateText(s.BestRPS), rateText(s.FirstFailRPS))
	}
	return fmt.Sprintf("highest rate meeting every SLO: %s (no step failed)", rateText(s.BestRPS))
}

// searchView is the capacity search's section of report.html: the verdict,
// the steps by rate, and the latency-throughput curve.
type searchView struct {
	Verdict, VerdictClass, VerdictText string
	About                              string
	Steps                              *table
	Curve                              template.HTML
}

// searchVerdict is the search's verdict as report.html shows it: a word,
// its class, and the outcome with why the search stopped.
func searchVerdict(s *Search) (string, string, string) {
	word, class, text := "CAPACITY", "pass", searchOutcome(s)+"."
	if s.BestRPS == 0 {
		word, class = "FAIL", "fail"
	}
	if s.Stopped != "" {
		text += " Stopped: " + strings.TrimSuffix(s.Stopped, ".") + "."
	}
	return word, class, text
}

func newSearchView(s *Search) *searchView {
	v := &searchView{}
	v.Verdict, v.VerdictClass, v.VerdictText = searchVerdict(s)
	if s.StepS > 0 {
		v.About = searchAbout(s)
	}
	if len(s.Steps) == 0 {
		return v
	}
	steps := sortedSteps(s.Steps)
	v.Steps = searchTable(s, steps)
	v.Curve = searchCurve(s, steps)
	return v
}

// searchAbout says how the search stepped and what each step had to meet.
func searchAbout(s *Search) string {
	warmup := "with no warm-up"
	if s.WarmupS > 0 {
		warmup = fmt.Sprintf("after %.0fs of warm-up (not evaluated)", s.WarmupS)
	}
	return fmt.Sprintf("Each step ran an open-loop rate for %.0fs %s, stepping ×%.3g from %s towards %s, and had to meet every SLO: %s. The arm detail below is the run of the best step (of the last step when none passed).",
		s.StepS, warmup, s.Factor, rateText(s.FromRPS), rateText(s.ToRPS), strings.Join(s.SLOs, ", "))
}

// isBest says whether st is the step the search reports as its best.
func isBest(s *Search, st SearchStep) bool {
	return st.Pass && s.BestRPS > 0 && st.RateRPS == s.BestRPS
}

func stepVerdict(s *Search, st SearchStep) string {
	v := "pass"
	if !st.Pass {
		v = "FAIL " + strings.Join(st.Failed, ", ")
	}
	if isBest(s, st) {
		v += " (best)"
	}
	if st.Degraded > 0 {
		v += fmt.Sprintf(" (generator-limited in %d intervals)", st.Degraded)
	}
	return v
}

func searchTable(s *Search, steps []SearchStep) *table {
	t := &table{ID: "search-steps", Caption: "Steps, by intended rate",
		Head: []string{"rate", "achieved", "p50", "p99", "errors", "verdict"},
		Note: "rate: intended arrivals per second; achieved: completed per second over the measured window; p50 and p99 of total, from the intended send time; errors: failed over intended arrivals, dropped included. Refine steps were run between the highest pass and the lowest failure. Amber: the generator fell behind its schedule, so the target may not have seen the intended rate."}
	for _, st := range steps {
		rate := numc(rateText(st.RateRPS))
		if st.Refine {
			rate.Text += " (refine)"
			rate.Title = "a refine step, between the highest pass and the lowest failure"
		}
		achieved := numc(rateText(st.AchievedRPS))
		verdict := passCell(st.Pass)
		verdict.Text = stepVerdict(s, st)
		if st.Degraded > 0 {
			achieved.Class += " warn"
			achieved.Title = fmt.Sprintf("the generator fell behind its schedule in %d intervals of this step", st.Degraded)
			verdict.Title = achieved.Title
		}
		t.Rows = append(t.Rows, []cell{rate, achieved, usc(st.TotalP50US), usc(st.TotalP99US),
			numc(fmt.Sprintf("%.2f%%", 100*st.ErrorRate)), verdict})
	}
	return t
}

// searchCurve draws total p50 and p99 against the achieved rate, a point
// per step joined in order of intended rate: failed steps hollow, the best
// step's rate ruled. The latency axis is logarithmic when the steps span
// more than two decades, as past the knee they usually do.
func searchCurve(s *Search, steps []SearchStep) template.HTML {
	p50 := series{name: "p50", class: "c0", dots: true}
	p99 := series{name: "p99", class: "c2", dots: true}
	xmax, lo, hi := 0.0, math.Inf(1), 0.0
	var rules []rule
	for _, st := range steps {
		x := st.AchievedRPS
		xmax = math.Max(xmax, x)
		for _, us := range []int64{st.TotalP50US, st.TotalP99US} {
			hi = math.Max(hi, float64(us))
			if us > 0 {
				lo = math.Min(lo, float64(us))
			}
		}
		cls := "pass"
		if !st.Pass {
			cls = "fail"
		}
		if isBest(s, st) && len(rules) == 0 {
			cls += " best"
			rules = append(rules, rule{x: x, class: "best", label: "best " + rateText(st.RateRPS),
				title: fmt.Sprintf("highest rate meeting every SLO: %s (achieved %s)", rateText(st.RateRPS), rateText(x))})
		}
		tip := func(name string, us int64) mark {
			return mark{class: cls, title: fmt.Sprintf("%s intended, %s achieved: %s %s; %s",
				rateText(st.RateRPS), rateText(x), name, US(us), stepVerdict(s, st))}
		}
		p50.pts = append(p50.pts, xy{x, float64(st.TotalP50US)})
		p50.marks = append(p50.marks, tip("p50", st.TotalP50US))
		p99.pts = append(p99.pts, xy{x, float64(st.TotalP99US)})
		p99.marks = append(p99.marks, tip("p99", st.TotalP99US))
	}
	xmax, xt := linTicks(xmax, func(v float64) string { return fmt.Sprintf("%g/s", v) })
	c := &lineChart{id: "search-curve", title: "Latency against throughput: total p50 and p99 of each step (hollow: the step failed an SLO)",
		x: scale{max: xmax}, xTicks: xt, xUnit: "rate", yUnit: "us", xLabel: "achieved requests per second",
		series: []series{p50, p99}, rules: rules,
		note: "A point per step, joined in order of intended rate; filled: the step met every SLO, hollow: it broke one; dashed line: the best step. Hover a point for its figures."}
	c.latencyAxis(lo, hi)
	return c.figure()
}

func sortedSteps(steps []SearchStep) []SearchStep {
	out := slices.Clone(steps)
	slices.SortStableFunc(out, func(a, b SearchStep) int { return cmp.Compare(a.RateRPS, b.RateRPS) })
	return out
}

func rateText(r float64) string {
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f/s", r)
	case r >= 10:
		return fmt.Sprintf("%.1f/s", r)
	}
	return fmt.Sprintf("%.2f/s", r)
}
