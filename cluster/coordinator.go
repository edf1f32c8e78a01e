package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/schedule"
	tailracepb "github.com/tailrace/tailrace/proto"
	"github.com/tailrace/tailrace/reports"
)

// ErrIncomplete reports a run that did not run its whole plan; the results
// returned with it hold everything measured until then.
var ErrIncomplete = errors.New("cluster: run incomplete")

// ErrWorkerLost is wrapped by a Worker's Run error when the worker is gone
// (its stream broke, it fell silent, it stopped early): the run records the
// loss and goes on or aborts, as Config.OnWorkerLoss says.
var ErrWorkerLost = errors.New("cluster: worker lost")

// ErrRefused is wrapped by the error of a run or a join that the other side
// refused: a bad token, a version mismatch, a late join, or a plan beyond a
// worker's caps. Nothing was sent to the target.
var ErrRefused = errors.New("cluster: refused")

// LossPolicy says what the run does when a worker is lost.
type LossPolicy string

// Loss policies (--on-worker-loss).
const (
	LossContinue LossPolicy = "continue" // the others go on; the windows it missed are marked short
	LossAbort    LossPolicy = "abort"    // the run stops
)

// Config is one coordinated run.
type Config struct {
	Engine  loadgen.Config // the engine template; Mode is set per arm
	Modes   []loadgen.Mode // arms, run back to back on the identical schedule
	Plan    schedule.Plan
	Workers []Worker
	Weights []int64 // split weights, one per worker; nil means equal
	// StartDelay is how far in the future T0 is set, so every worker is
	// ready before the first arrival; 0 means 250ms, or 1s when a worker is
	// remote (its Start must cross the network first).
	StartDelay time.Duration
	Progress   io.Writer // live progress lines; nil means none
	TTY        bool      // Progress is a terminal: one updating line
	// Target describes the target for reports; BuiltinTarget marks the
	// in-process calibration target.
	Target        string
	BuiltinTarget bool
	// OnWorkerLoss is what a lost worker does to the run; "" means
	// LossContinue.
	OnWorkerLoss LossPolicy
	// Journal, if set, is a file every worker interval is appended to as it
	// arrives, so a crash of the coordinator keeps what it had received
	// (ReplayJournal reads it back). It is created or truncated.
	Journal string
	// Spill, if set, holds the arms' per-interval histograms instead of
	// memory, so that a long run's memory stays flat (reports.Spill). The
	// caller closes it after it is done with the results.
	Spill *reports.Spill
}

// Run runs every arm and returns the results. On interruption, or when a
// worker was lost, it returns the results so far with an error wrapping
// ErrIncomplete.
func Run(ctx context.Context, cfg Config) (*reports.Results, error) {
	if len(cfg.Workers) == 0 {
		return nil, errors.New("cluster: no workers")
	}
	weights := cfg.Weights
	if weights == nil {
		weights = make([]int64, len(cfg.Workers))
		for i := range weights {
			weights[i] = 1
		}
	}
	if len(weights) != len(cfg.Workers) {
		return nil, fmt.Errorf("cluster: %d weights for %d workers", len(weights), len(cfg.Workers))
	}
	segs, err := schedule.Split(weights)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	switch cfg.OnWorkerLoss {
	case "":
		cfg.OnWorkerLoss = LossContinue
	case LossContinue, LossAbort:
	default:
		return nil, fmt.Errorf("cluster: unknown worker-loss policy %q (want continue or abort)", cfg.OnWorkerLoss)
	}
	if cfg.StartDelay == 0 {
		cfg.StartDelay = 250 * time.Millisecond
		for _, w := range cfg.Workers {
			if !w.Local() {
				cfg.StartDelay = time.Second
			}
		}
	}
	modes := make([]string, len(cfg.Modes))
	for i, m := range cfg.Modes {
		modes[i] = string(m)
	}
	e := cfg.Engine
	res := &reports.Results{
		Schema: reports.Schema,
		Plan: reports.Plan{
			Target: cfg.Target, Method: e.Method, Stages: cfg.Plan.Stages.String(), Process: cfg.Plan.Process.String(),
			Seed: cfg.Plan.Seed, Modes: modes, Connections: e.Connections, MaxInFlight: e.MaxInFlight,
			Pacer: string(e.Pacer), Timeout: e.Timeout.String(), Workers: len(cfg.Workers), BuiltinTarget: cfg.BuiltinTarget,
		},
		StartedAt: time.Now(),
		Warnings:  []string{},
	}
	if e.Pacer == loadgen.PacerTick {
		res.Plan.Tick = cmp.Or(e.Tick, loadgen.DefaultTick).String()
	}
	res.Plan.Requests, res.Plan.ExpectStatus = planRequests(e.Requests, cfg.Plan.Seed), e.Expect.String()
	for i, w := range cfg.Workers {
		rw := reports.Worker{Name: w.Name(), Share: segs[i].Fraction(), Segment: segs[i].String(), Local: w.Local()}
		if c, ok := w.(clocked); ok {
			off, rtt := c.clock()
			rw.ClockOffsetUS, rw.RTTUS = off.Microseconds(), rtt.Microseconds()
		}
		res.Workers = append(res.Workers, rw)
	}
	st := &runState{cfg: &cfg, res: res, segs: segs, lost: make([]bool, len(cfg.Workers))}
	if cfg.Journal != "" {
		if st.jn, err = createJournal(cfg.Journal); err != nil {
			return nil, err
		}
		st.jn.run(res)
	}
	var runErr error
	for i, m := range cfg.Modes {
		arm, err := st.runArm(ctx, i, m)
		if arm != nil {
			res.Arms = append(res.Arms, *arm)
		}
		if err != nil {
			runErr = err
			break
		}
	}
	if runErr == nil && len(st.losses) > 0 {
		runErr = fmt.Errorf("%w: %s", ErrIncomplete, strings.Join(st.losses, "; "))
	}
	res.DurationS = time.Since(res.StartedAt).Seconds()
	res.Warnings = append(res.Warnings, st.notes...)
	res.Warnings = append(res.Warnings, warnings(res)...)
	if runErr != nil && errors.Is(runErr, ErrIncomplete) {
		res.Incomplete = true
		res.Warnings = append(res.Warnings, runErr.Error())
	}
	if st.jn != nil {
		st.jn.end(runErr, res.Warnings)
		if err := st.jn.close(); err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	return res, runErr
}

// planRequests describes the mix for the results, with each request's
// exact share of the arrivals.
func planRequests(reqs []loadgen.RequestSpec, seed int64) []reports.PlanRequest {
	if len(reqs) == 0 {
		return nil
	}
	w := make([]float64, len(reqs))
	for i, r := range reqs {
		w[i] = r.Weight
	}
	mix, err := schedule.NewMix(w, seed)
	out := make([]reports.PlanRequest, len(reqs))
	for i, r := range reqs {
		out[i] = reports.PlanRequest{Label: r.Label, Method: r.Method, Weight: r.Weight}
		if r.URL != nil {
			out[i].URL = r.URL.Redacted()
		}
		if err == nil {
			out[i].Share = mix.Share(i)
		}
	}
	return out
}

// runState is what outlives one arm: who was lost, and the journal.
type runState struct {
	cfg    *Config
	res    *reports.Results
	segs   []schedule.Segment
	lost   []bool
	losses []string // one sentence per lost worker
	notes  []string // warnings from the workers (caps they applied)
	jn     *journal
}

// preparer is a Worker that accepts or refuses an assignment before T0 is
// chosen (a remote worker checks it against its caps), with notes for the
// run's warnings.
type preparer interface {
	prepare(ctx context.Context, a Assignment) (notes []string, err error)
}

// wireRunner is a Worker whose intervals arrive encoded: the coordinator
// merges and journals them as they are, without decoding them first.
type wireRunner interface {
	runWire(ctx context.Context, a Assignment, sink func(*tailracepb.Interval)) error
}

// clocked is a Worker with a measured clock: its offset from the
// coordinator's and the round trip of the best probe.
type clocked interface {
	clock() (offset, rtt time.Duration)
}

// lastHeard is a Worker that knows when it last heard from its peer: that is
// when a lost worker was lost.
type lastHeard interface {
	lastHeard() time.Time
}

// event is one thing a worker's goroutine reports to the arm's merge loop.
type event struct {
	w    int
	iv   *histogram.Interval
	wire *tailracepb.Interval
	end  bool
	err  error
}

// runArm runs one mode on every worker still in the run and merges their
// intervals as they arrive. It returns the arm and an error that stops the
// run (a failure, an abort, an interruption); losses under LossContinue are
// kept in st.losses instead.
func (st *runState) runArm(ctx context.Context, armIdx int, mode loadgen.Mode) (*reports.Arm, error) {
	cfg := st.cfg
	ecfg := cfg.Engine
	ecfg.Mode = mode
	if err := ecfg.Validate(); err != nil {
		return nil, err
	}
	names := make([]string, len(cfg.Workers))
	for i, w := range cfg.Workers {
		names[i] = w.Name()
	}
	if err := st.prepare(ctx, armIdx, ecfg); err != nil {
		return nil, err
	}
	t0 := time.Now().Add(cfg.StartDelay)
	st.jn.arm(armIdx, mode, t0, ecfg.Exemplars, cfg.Plan.Duration())
	b := reports.NewArmBuilder(string(mode), t0, ecfg.Exemplars)
	if cfg.Spill != nil {
		b.SpillTo(cfg.Spill)
	}
	prog := &progress{w: cfg.Progress, tty: cfg.TTY, mode: string(mode), total: cfg.Plan.Duration(), workers: len(cfg.Workers)}
	m := newMerger(b, prog, t0, ecfg.Exemplars, cfg.Plan.Duration(), names)
	armCtx, cancelArm := context.WithCancelCause(ctx)
	defer cancelArm(nil)

	ch := make(chan event, 4*len(cfg.Workers))
	var wg sync.WaitGroup
	for i, w := range cfg.Workers {
		if st.lost[i] {
			m.finish(i, true) // lost in an earlier arm: every window runs short
			continue
		}
		a := Assignment{Engine: ecfg, Plan: cfg.Plan, Segment: st.segs[i], T0: t0, Arm: armIdx}
		wg.Go(func() {
			var err error
			if wr, ok := w.(wireRunner); ok {
				err = wr.runWire(armCtx, a, func(wi *tailracepb.Interval) { ch <- event{w: i, wire: wi} })
			} else {
				err = w.Run(armCtx, a, func(iv *histogram.Interval) { ch <- event{w: i, iv: iv} })
			}
			ch <- event{w: i, end: true, err: err}
		})
	}
	go func() {
		wg.Wait()
		close(ch)
	}()

	var stopErr error // the first error that stops the run
	for ev := range ch {
		switch {
		case ev.wire != nil:
			st.jn.interval(ev.w, ev.wire)
			if err := m.addWire(ev.w, ev.wire); err != nil {
				// A worker that sends garbage is treated as lost: its data
				// cannot be trusted from here on.
				if !st.lost[ev.w] {
					m.finish(ev.w, true)
					st.lose(ev.w, armIdx, t0, time.Now(), err, prog)
				}
				continue
			}
			b.AddWorker(names[ev.w], m.tallyOf(ev.wire))
		case ev.iv != nil:
			if st.jn != nil {
				if wi, err := encodeInterval(ev.iv, armIdx, t0); err == nil {
					st.jn.interval(ev.w, wi)
				}
			}
			b.AddWorker(names[ev.w], ev.iv)
			m.add(ev.w, ev.iv)
		case ev.end:
			lost := ev.err != nil && errors.Is(ev.err, ErrWorkerLost)
			m.finish(ev.w, lost)
			if ev.err == nil || st.lost[ev.w] {
				continue
			}
			if !lost {
				if stopErr == nil {
					stopErr = fmt.Errorf("worker %s: %w", names[ev.w], ev.err)
					cancelArm(stopErr)
				}
				continue
			}
			at := time.Now()
			if lh, ok := cfg.Workers[ev.w].(lastHeard); ok && !lh.lastHeard().IsZero() {
				at = lh.lastHeard()
			}
			msg := st.lose(ev.w, armIdx, t0, at, ev.err, prog)
			if cfg.OnWorkerLoss == LossAbort && stopErr == nil {
				stopErr = fmt.Errorf("%w: %s; run aborted (--on-worker-loss abort)", ErrIncomplete, msg)
				cancelArm(stopErr)
			}
		}
	}
	m.close()
	prog.done()
	arm, err := b.Arm()
	if err != nil {
		return nil, err
	}
	switch {
	case stopErr != nil:
		return &arm, stopErr
	case m.err != nil:
		return &arm, m.err
	case ctx.Err() != nil:
		return &arm, fmt.Errorf("%w: interrupted during arm %s after %.1fs", ErrIncomplete, mode, time.Since(t0).Seconds())
	}
	return &arm, nil
}

// lose records that worker w was lost at time at, during arm armIdx, and
// returns the sentence that says so.
func (st *runState) lose(w, armIdx int, t0, at time.Time, cause error, prog *progress) string {
	st.lost[w] = true
	after := max(at.Sub(t0), 0)
	s := after.Seconds()
	st.res.Workers[w].LostAt = &s
	msg := fmt.Sprintf("worker %s lost %.1fs into arm %s (%v)", st.res.Workers[w].Name, s, st.cfg.Modes[armIdx], unwrapLost(cause))
	st.losses = append(st.losses, msg)
	st.jn.lost(armIdx, w, after, msg)
	prog.note(msg)
	return msg
}

// unwrapLost drops the sentinel's text from a loss error: the sentence
// around it already says "lost".
func unwrapLost(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, ErrWorkerLost.Error()+": ")
	return s
}

// prepare offers the arm to every worker that checks assignments first,
// all at once, and fails the run if any refuses. A worker lost meanwhile is
// recorded as lost at the arm's start.
func (st *runState) prepare(ctx context.Context, armIdx int, ecfg loadgen.Config) error {
	cfg := st.cfg
	type answer struct {
		notes []string
		err   error
	}
	answers := make([]answer, len(cfg.Workers))
	var wg sync.WaitGroup
	for i, w := range cfg.Workers {
		p, ok := w.(preparer)
		if !ok || st.lost[i] {
			continue
		}
		a := Assignment{Engine: ecfg, Plan: cfg.Plan, Segment: st.segs[i], Arm: armIdx}
		wg.Go(func() {
			n, err := p.prepare(ctx, a)
			answers[i] = answer{n, err}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("%w: interrupted before arm %s", ErrIncomplete, ecfg.Mode)
	}
	var refused []error
	for i, a := range answers {
		for _, n := range a.notes {
			// Each arm asks again: say each thing once.
			if n = fmt.Sprintf("worker %s: %s", cfg.Workers[i].Name(), n); !slices.Contains(st.notes, n) {
				st.notes = append(st.notes, n)
			}
		}
		switch {
		case a.err == nil:
		case errors.Is(a.err, ErrWorkerLost):
			now := time.Now()
			msg := st.lose(i, armIdx, now, now, a.err, &progress{w: cfg.Progress, tty: cfg.TTY})
			if cfg.OnWorkerLoss == LossAbort {
				return fmt.Errorf("%w: %s; run aborted (--on-worker-loss abort)", ErrIncomplete, msg)
			}
		default:
			refused = append(refused, a.err)
		}
	}
	return errors.Join(refused...)
}
