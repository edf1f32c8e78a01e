package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/schedule"
	"github.com/tailrace/tailrace/plan"
)

// planArrivals is how many of the schedule's first arrivals `coordinator
// plan` lists.
const planArrivals = 10

// Plan is `coordinator plan FILE [flags]`: what `coordinator run --plan
// FILE [flags]` would do (the effective plan, the split across the
// workers, the mix and the first arrivals), without sending anything.
func Plan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plan", "usage: coordinator plan [FILE] [URL] [flags]\n\nPrints what 'coordinator run --plan FILE [flags]' would do: the effective plan, its split\nacross the workers (--local N, --workers N), the request mix and the first arrivals.\nNothing is sent.\n\nflags (those of run):\n", stderr)
	var o runOptions
	o.flags(fs)
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	// coordinator plan [FILE] [URL], or coordinator plan --plan FILE [URL]:
	// an argument that is an http(s) URL is the target, not a plan.
	args = fs.Args()
	var file, urlArg string
	if len(args) > 0 && o.work.planPath == "" && !isURL(args[0]) {
		file, args = args[0], args[1:]
	}
	if len(args) > 1 || len(args) == 1 && !isURL(args[0]) {
		return usagef("usage: coordinator plan [FILE] [URL] [flags]: %q is not an http(s) URL", strings.Join(args, " "))
	}
	if len(args) == 1 {
		urlArg = args[0]
	}
	if err := o.work.apply(fs, file); err != nil {
		return err
	}
	e, err := o.describe(fs, urlArg)
	if err != nil {
		return err
	}
	return e.print(stdout, &o, fs)
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// effectiveRun is a run as the flags and the plan describe it, before any
// target is started or worker joined.
type effectiveRun struct {
	sched   schedule.Plan
	modes   []loadgen.Mode
	engine  loadgen.Config
	target  string // "" for the built-in calibration target
	specs   []plan.Spec
	workers []string
	segs    []schedule.Segment
}

// describe checks the options as `coordinator run` does and returns the run
// they describe. The built-in target is stood in for by its address.
func (o *runOptions) describe(fs *pflag.FlagSet, urlArg string) (*effectiveRun, error) {
	var e effectiveRun
	var err error
	if e.sched, err = o.plan(fs); err != nil {
		return nil, err
	}
	if fs.Changed("modes") && fs.Changed("mode") {
		return nil, usagef("--mode and --modes conflict: give one")
	}
	e.modes = o.modes.modes
	if len(e.modes) == 0 {
		m, err := loadgen.ParseMode(o.mode)
		if err != nil {
			return nil, usagef("--mode: %v", err)
		}
		e.modes = []loadgen.Mode{m}
	}
	if err := o.dist.check(fs, &o.local); err != nil {
		return nil, err
	}
	n := o.local + o.dist.workers
	weights := o.weights.w
	if weights == nil {
		weights = slices.Repeat([]int64{1}, n)
	}
	if len(weights) != n {
		return nil, usagef("--weights has %d entries for %d workers (want one per worker)", len(weights), n)
	}
	if e.segs, err = schedule.Split(weights); err != nil {
		return nil, usagef("--weights: %v", err)
	}
	for i := range o.local {
		e.workers = append(e.workers, fmt.Sprintf("local-%d", i))
	}
	for i := range o.dist.workers {
		e.workers = append(e.workers, fmt.Sprintf("remote-%d", i+1))
	}
	if _, err := parseSLOs(o.slos); err != nil {
		return nil, err
	}
	if e.target, err = o.work.target(fs, urlArg); err != nil {
		return nil, err
	}
	raw := e.target
	if raw == "" {
		raw = "https://127.0.0.1/?" + o.targetParams
	}
	if e.engine, err = o.engine(fs, raw); err != nil {
		return nil, err
	}
	if e.specs, err = o.work.mix(fs, &e.engine); err != nil {
		return nil, err
	}
	return &e, nil
}

// print writes the plan's summary: the effective plan as YAML, the split,
// the mix and the first arrivals.
func (e *effectiveRun) print(w io.Writer, o *runOptions, fs *pflag.FlagSet) error {
	ew := &errWriter{w: w}
	if o.work.planPath != "" {
		ew.printf("# plan %s, with the command line's flags over it\n", o.work.planPath)
	}
	b, err := o.effective(e).Marshal()
	if err != nil {
		return err
	}
	ew.printf("%s", b)
	if e.target == "" {
		ew.printf("# target: the built-in calibration target, started by run on 127.0.0.1\n")
	}

	closed := o.perf.concurrency > 0
	ew.printf("\nschedule: ")
	switch {
	case closed:
		ew.printf("closed-loop, %d loops per worker for %v (no arrival schedule: requests follow responses)\n", o.perf.concurrency, e.sched.Duration())
	default:
		ew.printf("%s, %s, seed %d: %v, %.0f arrivals expected\n", e.sched.Stages, e.sched.Process, e.sched.Seed, e.sched.Duration(), e.sched.Expected(schedule.Full))
	}
	ew.printf("\nsplit across %d workers:\n", len(e.workers))
	tw := tabwriter.NewWriter(ew, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "worker\tsegment\tshare\tarrivals\t\n")
	for i, name := range e.workers {
		count := "-"
		if !closed {
			if e.sched.Process == schedule.Constant {
				count = fmt.Sprint(e.sched.Count(e.segs[i]))
			} else {
				count = fmt.Sprintf("~%.0f", e.sched.Expected(e.segs[i]))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f%%\t%s\t\n", name, e.segs[i], 100*e.segs[i].Fraction(), count)
	}
	tw.Flush()

	var mix *schedule.Mix
	if len(e.specs) > 0 {
		if mix, err = mixOf(e.specs, e.sched.Seed); err != nil {
			return usageError{err}
		}
		ew.printf("\nrequest mix (%d requests, exact shares in every block of %d arrivals):\n", len(e.specs), mix.Block())
		mixTable(ew, e.specs, mix)
	} else {
		ew.printf("\nrequest: %s %s (%d body bytes)\n", e.engine.Method, e.engine.URL, len(e.engine.Body))
	}
	if !closed {
		ew.printf("\nfirst arrivals:\n")
		tw = tabwriter.NewWriter(ew, 2, 8, 2, ' ', 0)
		fmt.Fprintf(tw, "k\tat\tworker\trequest\t\n")
		for _, a := range firstArrivals(e.sched, e.segs, planArrivals) {
			req := e.engine.Method + " " + e.engine.URL.RequestURI()
			if mix != nil {
				req = e.specs[mix.Pick(a.k)].Label
			}
			fmt.Fprintf(tw, "%d\t%v\t%s\t%s\t\n", a.k, a.at.Round(time.Microsecond), e.workers[a.worker], req)
		}
		tw.Flush()
	}
	return ew.err
}

// mixOf is the mix of the specs' weights.
func mixOf(specs []plan.Spec, seed int64) (*schedule.Mix, error) {
	w := make([]float64, len(specs))
	for i, s := range specs {
		w[i] = s.Weight
	}
	return schedule.NewMix(w, seed)
}

// mixTable lists each request with its weight and exact share.
func mixTable(w io.Writer, specs []plan.Spec, mix *schedule.Mix) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "label\tweight\tshare\trequest\tbody\t\n")
	for i, s := range specs {
		fmt.Fprintf(tw, "%s\t%g\t%.1f%%\t%s %s\t%d B\t\n", s.Label, s.Weight, 100*mix.Share(i), s.Method, s.URL, len(s.Body))
	}
	tw.Flush()
}

type plannedArrival struct {
	k      int64
	at     time.Duration
	worker int
}

// firstArrivals merges the first n arrivals of every segment by time.
func firstArrivals(p schedule.Plan, segs []schedule.Segment, n int) []plannedArrival {
	var all []plannedArrival
	for i, seg := range segs {
		a := p.Arrivals(seg)
		for range n {
			k, t, ok := a.NextIndexed()
			if !ok {
				break
			}
			all = append(all, plannedArrival{k: k, at: t, worker: i})
		}
	}
	slices.SortStableFunc(all, func(a, b plannedArrival) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return int(a.k - b.k)
	})
	return all[:min(n, len(all))]
}

// effective describes the run in plan-file form, defaults included.
func (o *runOptions) effective(e *effectiveRun) *plan.File {
	f := &plan.File{
		Target: e.target, Seed: &o.seed, Connections: o.connections, MaxInFlight: o.maxInFlight,
		Pacer: o.pacer, Tick: plan.Duration(o.tick), Client: o.perf.client, Local: o.local, Weights: o.weights.w,
		Method: e.engine.Method, Body: o.body, BodyFile: o.bodyFile,
		Timeout: plan.Duration(o.timeout), ConnectTimeout: plan.Duration(o.connectTimeout),
		TLSTimeout: plan.Duration(o.tlsTimeout), TTFBTimeout: plan.Duration(o.ttfbTimeout),
		Insecure: o.insecure, CACert: o.cacert, TLSMin: o.tlsMin.s, TLSMax: o.tlsMax.s, TLSGroups: o.tlsGroups.String(),
		DNSServer: o.dnsServer, DNSCache: &o.dnsCache, ExpectStatus: plan.StatusList(o.work.expectSet.String()),
		SLO: o.slos, JUnit: o.junit, Out: o.out, Quiet: o.quiet, Exemplars: o.exemplars,
	}
	if e.target == "" {
		f.TargetParams = o.targetParams
	}
	arrival := e.sched.Process.String()
	switch {
	case o.perf.concurrency > 0:
		f.Concurrency, f.Duration = o.perf.concurrency, plan.Duration(e.sched.Duration())
	case len(e.sched.Stages) == 1 && e.sched.Stages[0].From == e.sched.Stages[0].To:
		f.Rate, f.Duration, f.Arrival = plan.Rate(e.sched.Stages[0].From), plan.Duration(e.sched.Duration()), arrival
	default:
		f.Stages, f.Arrival = e.sched.Stages, arrival
	}
	if len(e.modes) == 1 {
		f.Mode = string(e.modes[0])
	} else {
		for _, m := range e.modes {
			f.Modes = append(f.Modes, string(m))
		}
	}
	if o.dist.workers > 0 {
		f.Workers, f.Listen, f.OnWorkerLoss = o.dist.workers, o.dist.listen, o.dist.onLoss
		f.JoinTimeout, f.OrphanTimeout = plan.Duration(o.dist.joinTimeout), plan.Duration(o.dist.orphanTimeout)
	}
	f.Headers = sortedHeaders(o.headers.h)
	for _, r := range o.resolve.o {
		f.Resolve = append(f.Resolve, r.String())
	}
	if o.work.targets != "" {
		f.Targets = o.work.targets
	}
	return f
}

func sortedHeaders(h http.Header) plan.Headers {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out plan.Headers
	for _, k := range keys {
		for _, v := range h[k] {
			out = append(out, plan.Header{Name: k, Value: v})
		}
	}
	return out
}

// errWriter keeps the first write error, so printing code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	_, e.err = e.w.Write(p)
	return len(p), nil
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
