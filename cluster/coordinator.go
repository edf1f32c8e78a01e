package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/schedule"
	"github.com/tailrace/tailrace/reports"
)

// ErrIncomplete reports a run that did not run its whole plan; the results
// returned with it hold everything measured until then.
var ErrIncomplete = errors.New("cluster: run incomplete")

// Config is one coordinated run.
type Config struct {
	Engine  loadgen.Config // the engine template; Mode is set per arm
	Modes   []loadgen.Mode // arms, run back to back on the identical schedule
	Plan    schedule.Plan
	Workers []Worker
	Weights []int64 // split weights, one per worker; nil means equal
	// StartDelay is how far in the future T0 is set, so every worker is
	// ready before the first arrival; 0 means 250ms.
	StartDelay time.Duration
	Progress   io.Writer // live progress lines; nil means none
	TTY        bool      // Progress is a terminal: one updating line
	// Target describes the target for reports; BuiltinTarget marks the
	// in-process calibration target.
	Target        string
	BuiltinTarget bool
}

// Run runs every arm and returns the results. On interruption it returns the
// results so far with an error wrapping ErrIncomplete.
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
	if cfg.StartDelay == 0 {
		cfg.StartDelay = 250 * time.Millisecond
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
	for i, w := range cfg.Workers {
		res.Workers = append(res.Workers, reports.Worker{Name: w.Name(), Share: segs[i].Fraction(), Segment: segs[i].String(), Local: w.Local()})
	}
	var runErr error
	for _, m := range cfg.Modes {
		arm, err := runArm(ctx, &cfg, m, segs)
		if arm != nil {
			res.Arms = append(res.Arms, *arm)
		}
		if err != nil {
			runErr = err
			break
		}
	}
	res.DurationS = time.Since(res.StartedAt).Seconds()
	res.Warnings = append(res.Warnings, warnings(res)...)
	if runErr != nil && errors.Is(runErr, ErrIncomplete) {
		res.Incomplete = true
		res.Warnings = append(res.Warnings, runErr.Error())
	}
	return res, runErr
}

type workerInterval struct {
	worker int
	iv     *histogram.Interval
}

// runArm runs one mode on every worker and merges their intervals as they
// arrive: an interval is final once every worker has sent it.
func runArm(ctx context.Context, cfg *Config, mode loadgen.Mode, segs []schedule.Segment) (*reports.Arm, error) {
	ecfg := cfg.Engine
	ecfg.Mode = mode
	if err := ecfg.Validate(); err != nil {
		return nil, err
	}
	t0 := time.Now().Add(cfg.StartDelay)
	b := reports.NewArmBuilder(string(mode), t0, ecfg.Exemplars)
	ch := make(chan workerInterval, 4*len(cfg.Workers))
	g := new(errgroup.Group)
	for i, w := range cfg.Workers {
		a := Assignment{Engine: ecfg, Plan: cfg.Plan, Segment: segs[i], T0: t0}
		g.Go(func() error {
			err := w.Run(ctx, a, func(iv *histogram.Interval) { ch <- workerInterval{i, iv} })
			if err != nil {
				return fmt.Errorf("worker %s: %w", w.Name(), err)
			}
			return nil
		})
	}
	var werr error
	go func() {
		werr = g.Wait()
		close(ch)
	}()

	prog := &progress{w: cfg.Progress, tty: cfg.TTY, mode: string(mode), total: cfg.Plan.Duration()}
	pending := map[int]*pendingInterval{}
	next := 0
	var addErr error
	finalize := func(p *pendingInterval) {
		if err := b.Add(p.iv, p.n, p.n < len(cfg.Workers)); err != nil && addErr == nil {
			addErr = err
		}
		prog.interval(p.iv)
	}
	for wi := range ch {
		p := pending[wi.iv.Index]
		if p == nil {
			p = &pendingInterval{iv: wi.iv}
			pending[wi.iv.Index] = p
		} else {
			p.iv.Merge(wi.iv)
			p.iv.Length = max(p.iv.Length, wi.iv.Length)
		}
		p.n++
		for q := pending[next]; q != nil && q.n == len(cfg.Workers); q = pending[next] {
			delete(pending, next)
			finalize(q)
			next++
		}
	}
	// Workers finished: what is left was not sent by every worker.
	for len(pending) > 0 {
		if q := pending[next]; q != nil {
			delete(pending, next)
			finalize(q)
		}
		next++
	}
	prog.done()
	arm, err := b.Arm()
	if err != nil {
		return nil, err
	}
	switch {
	case werr != nil:
		return &arm, werr
	case addErr != nil:
		return &arm, addErr
	case ctx.Err() != nil:
		return &arm, fmt.Errorf("%w: interrupted during arm %s after %.1fs", ErrIncomplete, mode, time.Since(t0).Seconds())
	}
	return &arm, nil
}

type pendingInterval struct {
	iv *histogram.Interval
	n  int
}
