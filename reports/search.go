package reports

import (
	"cmp"
	"fmt"
	"io"
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
	switch {
	case s.BestRPS == 0:
		ew.printf("no rate met every SLO (the lowest, %s, failed)\n", rateText(s.FromRPS))
	case s.FirstFailRPS > 0:
		ew.printf("highest rate meeting every SLO: %s (the knee is between it and %s, which failed)\n", rateText(s.BestRPS), rateText(s.FirstFailRPS))
	default:
		ew.printf("highest rate meeting every SLO: %s (no step failed)\n", rateText(s.BestRPS))
	}
	if s.Stopped != "" {
		ew.printf("stopped: %s\n", s.Stopped)
	}
	return ew.err
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
