package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tailrace/tailrace/cluster"
	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen/schedule"
	"github.com/tailrace/tailrace/reports"
	"github.com/tailrace/tailrace/slo"
)

// searchOptions are the flags of `coordinator search` beyond run's.
type searchOptions struct {
	from, to rateValue
	steps    int
	factor   float64
	step     time.Duration
	warmup   time.Duration
	maxTime  time.Duration
	refine   int
}

func (s *searchOptions) flags(fs *pflag.FlagSet) {
	fs.Var(&s.from, "from", "the first step's rate, requests per second (required)")
	fs.Var(&s.to, "to", "the highest rate to try, requests per second (required)")
	fs.IntVar(&s.steps, "steps", 8, "geometric steps from --from to --to, both included (or give --factor)")
	fs.Float64Var(&s.factor, "factor", 0, "each step's rate over the previous one's, e.g. 1.5 (instead of --steps)")
	fs.DurationVar(&s.step, "step-duration", 10*time.Second, "measured length of each step: long enough for the tail to be steady")
	fs.DurationVar(&s.warmup, "warmup", time.Second, "run before each step's measurement at the step's rate, not evaluated (whole seconds)")
	fs.DurationVar(&s.maxTime, "max-time", 10*time.Minute, "the search's time budget: no step starts that could not end within it")
	fs.IntVar(&s.refine, "refine", 2, "steps between the highest passing and the lowest failing rate, each halving the gap (geometric mean)")
}

// searchIgnores are the plan fields a search sets itself.
var searchIgnores = []string{"rate", "duration", "stages", "concurrency"}

// Search is `coordinator search --slo ... --from R0 --to R1`: it runs the
// open-loop schedule at geometric rate steps until a step breaks an SLO
// (then refines between the last pass and the first failure) and reports
// the highest rate that met every SLO, with each step's figures.
func Search(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("search", "usage: coordinator search --slo EXPR --from R0 --to R1 [flags] [URL]\n\nSteps the open-loop rate from R0 towards R1 (geometric steps, each --step-duration after a\n--warmup) until a step breaks an SLO, refines between the last pass and the first failure,\nand reports the highest rate that met every SLO: the knee of the latency-throughput curve.\nExit code 1 when no rate met them.\n\nflags (and those of run, but --rate, --duration, --stages, --concurrency):\n", stderr)
	var o runOptions
	var so searchOptions
	so.flags(fs)
	o.flags(fs)
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	for _, f := range searchIgnores {
		if fs.Changed(f) {
			return usagef("--%s: a search sets the rate and the length of its steps itself (--from, --to, --step-duration)", f)
		}
	}
	o.work.ignore = searchIgnores
	if err := o.work.apply(fs, ""); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("search takes at most one URL, got %d arguments", fs.NArg())
	}
	sc, err := so.config(fs, &o)
	if err != nil {
		return err
	}
	if len(o.modes.modes) > 1 {
		return usagef("--modes: a search runs one mode (give --mode)")
	}
	if o.junit != "" {
		return usagef("--junit: a search has no single verdict to report (its table and results.json say which rates passed)")
	}
	st, err := o.start(ctx, fs, stderr, fs.Arg(0))
	if err != nil {
		return err
	}
	defer st.close()
	if !o.quiet {
		sc.progress = stderr
	}
	run := func(ctx context.Context, rate float64) (*reports.Results, error) {
		c := st.cfg
		c.Plan = schedule.Plan{Stages: schedule.Steady(rate, sc.warmup+sc.step), Process: o.process, Seed: o.seed}
		res, err := cluster.Run(ctx, c)
		if res != nil {
			o.perf.annotate(res)
			o.work.annotate(res)
		}
		return res, err
	}
	search, res, runErr := capacitySearch(ctx, sc, run)
	if res == nil {
		if runErr == nil {
			runErr = errors.New("cli: the search ran no step")
		}
		return runErr
	}
	res.Search = search
	summary := func(w io.Writer) error { return reports.SearchText(w, search) }
	if err := publish(stdout, o.out, res, summary, " (the search, and the full results of its best step)"); err != nil {
		return errors.Join(runErr, err)
	}
	if runErr == nil && search.BestRPS == 0 {
		return ErrSLO
	}
	return runErr
}

// config checks the search flags.
func (so *searchOptions) config(fs *pflag.FlagSet, o *runOptions) (searchConfig, error) {
	var sc searchConfig
	switch {
	case !so.from.set || !so.to.set:
		return sc, usagef("--from and --to are required: the range of rates to search, e.g. --from 100 --to 50000")
	case so.from.v >= so.to.v:
		return sc, usagef("--from %g/s must be below --to %g/s", so.from.v, so.to.v)
	case len(o.slos) == 0:
		return sc, usagef("--slo is required: what a step must meet, e.g. --slo 'total.p99<50ms'")
	case fs.Changed("steps") && fs.Changed("factor"):
		return sc, usagef("--steps and --factor conflict: give one")
	case so.steps < 2:
		return sc, usagef("--steps %d must be at least 2", so.steps)
	case fs.Changed("factor") && !(so.factor > 1):
		return sc, usagef("--factor %g must be above 1 (e.g. 1.5)", so.factor)
	case so.step < time.Second:
		return sc, usagef("--step-duration %v must be at least 1s (one reporting interval)", so.step)
	case so.warmup < 0 || so.warmup%time.Second != 0:
		return sc, usagef("--warmup %v must be whole seconds (reporting intervals), 0 or more", so.warmup)
	case so.maxTime <= 0:
		return sc, usagef("--max-time %v must be positive", so.maxTime)
	case so.refine < 0:
		return sc, usagef("--refine %d must not be negative", so.refine)
	}
	gates, err := parseSLOs(o.slos)
	if err != nil {
		return sc, err
	}
	factor := so.factor
	if !fs.Changed("factor") {
		factor = math.Pow(so.to.v/so.from.v, 1/float64(so.steps-1))
	}
	return searchConfig{
		slos: gates, from: so.from.v, to: so.to.v, factor: factor,
		step: so.step, warmup: so.warmup, maxTime: so.maxTime, refine: so.refine,
	}, nil
}

// searchConfig is one capacity search.
type searchConfig struct {
	slos             []slo.SLO
	from, to, factor float64
	step, warmup     time.Duration
	maxTime          time.Duration
	refine           int
	progress         io.Writer // a line per step; nil for none
}

// stepRunner runs the open-loop schedule at rate for warmup+step.
type stepRunner func(ctx context.Context, rate float64) (*reports.Results, error)

// errBudget ends a search whose next step would not fit its --max-time.
var errBudget = errors.New("cli: search time budget spent")

// capacitySearch steps the rate geometrically from c.from until a step
// fails an SLO or c.to is passed, then refines between the highest pass
// and the lowest failure. It returns the search and the results of its
// best step (of its last step when none passed). An error from a step
// (an interruption, a lost worker) ends the search with it.
func capacitySearch(ctx context.Context, c searchConfig, run stepRunner) (*reports.Search, *reports.Results, error) {
	s := &reports.Search{FromRPS: c.from, ToRPS: c.to, Factor: c.factor, StepS: c.step.Seconds(), WarmupS: c.warmup.Seconds()}
	for _, g := range c.slos {
		s.SLOs = append(s.SLOs, g.String())
	}
	start := time.Now()
	var best, last *reports.Results
	try := func(rate float64, refine bool) (bool, error) {
		// The step runs warmup+step, plus about a second of start delay
		// and drain.
		if time.Since(start)+c.warmup+c.step+time.Second > c.maxTime {
			return false, errBudget
		}
		res, err := run(ctx, rate)
		if res == nil || len(res.Arms) == 0 {
			if err == nil {
				err = fmt.Errorf("cli: the step at %g/s measured nothing", rate)
			}
			return false, err
		}
		last = res
		st, evalErr := evaluateStep(res, c, rate)
		if evalErr != nil {
			return false, evalErr
		}
		st.Refine = refine
		s.Steps = append(s.Steps, st)
		if c.progress != nil {
			verdict := "pass"
			if !st.Pass {
				verdict = "FAIL " + strings.Join(st.Failed, ", ")
			}
			fmt.Fprintf(c.progress, "search: %8.1f/s  achieved %8.1f/s  p50 %s  p99 %s  errors %.2f%%  %s\n",
				rate, st.AchievedRPS, reports.US(st.TotalP50US), reports.US(st.TotalP99US), 100*st.ErrorRate, verdict)
		}
		if st.Pass && rate > s.BestRPS {
			s.BestRPS, best = rate, res
		}
		if !st.Pass && (s.FirstFailRPS == 0 || rate < s.FirstFailRPS) {
			s.FirstFailRPS = rate
		}
		return st.Pass, err
	}
	var stopErr error
	for _, rate := range stepRates(c.from, c.to, c.factor) {
		pass, err := try(rate, false)
		if err != nil {
			stopErr = err
			break
		}
		if !pass {
			s.Stopped = fmt.Sprintf("an SLO failed at %s", rateName(rate))
			break
		}
		if rate >= c.to {
			s.Stopped = fmt.Sprintf("reached --to %s with every SLO met: the capacity is higher", rateName(c.to))
			break
		}
	}
	for i := 0; stopErr == nil && i < c.refine && s.BestRPS > 0 && s.FirstFailRPS > 0; i++ {
		if s.FirstFailRPS/s.BestRPS < 1.02 {
			break // within 2%: as fine as a load test resolves
		}
		if _, err := try(math.Sqrt(s.BestRPS*s.FirstFailRPS), true); err != nil {
			stopErr = err
		}
	}
	switch {
	case errors.Is(stopErr, errBudget):
		s.Stopped = fmt.Sprintf("--max-time %v: no time left for another step", c.maxTime)
		stopErr = nil
	case stopErr != nil:
		s.Stopped = fmt.Sprintf("a step did not complete: %v", stopErr)
	}
	if best == nil {
		best = last
	}
	return s, best, stopErr
}

// stepRates are the geometric steps from from to to, both included.
func stepRates(from, to, factor float64) []float64 {
	var rs []float64
	for i := 0; ; i++ {
		r := from * math.Pow(factor, float64(i))
		if r >= to*(1-1e-9) || i > 10000 {
			return append(rs, to)
		}
		rs = append(rs, r)
	}
}

func rateName(r float64) string { return fmt.Sprintf("%.6g/s", r) }

// evaluateStep measures one step over its intervals after the warm-up and
// applies the SLOs to that window.
func evaluateStep(res *reports.Results, c searchConfig, rate float64) (reports.SearchStep, error) {
	st := reports.SearchStep{RateRPS: rate}
	arm, err := steadyArm(&res.Arms[0], int(c.warmup/time.Second))
	if err != nil {
		return st, err
	}
	verdicts, err := slo.Evaluate(&reports.Results{Arms: []reports.Arm{*arm}}, c.slos)
	if err != nil {
		return st, err
	}
	st.Pass = true
	for _, v := range verdicts {
		if !v.Pass {
			st.Pass = false
			st.Failed = append(st.Failed, fmt.Sprintf("%s (%s)", v.Expr, v.Arms[0].Observed))
		}
	}
	total := arm.Phases[histogram.Total.String()]
	st.TotalP50US, st.TotalP99US = total.P50US, total.P99US
	st.AchievedRPS = float64(arm.Counters.Completed) / c.step.Seconds()
	if arm.Counters.Intended > 0 {
		st.ErrorRate = float64(arm.Counters.Errors) / float64(arm.Counters.Intended)
	}
	st.Degraded = arm.Degraded
	return st, nil
}

// steadyArm is a's figures over its intervals from index skip on: the
// window a search evaluates, after the warm-up. Its duration is the
// length the schedule asked for, not the drain that follows.
func steadyArm(a *reports.Arm, skip int) (*reports.Arm, error) {
	if skip == 0 {
		return a, nil
	}
	out := &reports.Arm{Mode: a.Mode, Errors: map[string]int64{}, Phases: map[string]reports.PhaseSummary{}}
	cum := map[string]*histogram.Hist{}
	for i := range a.Intervals {
		iv := &a.Intervals[i]
		if iv.Index < skip {
			continue
		}
		out.DurationS += iv.LengthS
		out.Counters.Add(&iv.Counters)
		for k, v := range iv.Errors {
			out.Errors[k] += v
		}
		if iv.Degraded {
			out.Degraded++
		}
		hists, _, err := iv.Detail()
		if err != nil {
			return nil, err
		}
		for name, enc := range hists {
			h, err := reports.DecodeHist(enc)
			if err != nil {
				return nil, fmt.Errorf("cli: interval %d %s: %w", iv.Index, name, err)
			}
			if cum[name] == nil {
				cum[name] = histogram.New()
			}
			cum[name].Merge(h)
		}
	}
	for name, h := range cum {
		s, err := reports.Summarize(h)
		if err != nil {
			return nil, err
		}
		out.Phases[name] = s
	}
	return out, nil
}
