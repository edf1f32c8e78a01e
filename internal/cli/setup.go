package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/tailrace/tailrace/cluster"
	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/target"
)

// started is a run's target, engine and workers, ready for cluster.Run
// (which needs only a Plan more).
type started struct {
	cfg   cluster.Config
	close func()
}

// start is the setup `coordinator run` and `coordinator search` share: it
// checks the mode and worker flags, starts the built-in target if no URL is
// given, builds the engine, waits for the remote workers and makes the local
// ones. The caller sets the plan (and journal) and calls close when done.
func (o *runOptions) start(ctx context.Context, fs *pflag.FlagSet, stderr io.Writer, urlArg string) (*started, error) {
	var closers []func()
	st := &started{close: func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}}
	fail := func(err error) (*started, error) {
		st.close()
		return nil, err
	}
	if fs.Changed("modes") && fs.Changed("mode") {
		return nil, usagef("--mode and --modes conflict: give one")
	}
	modes := o.modes.modes
	if len(modes) == 0 {
		m, err := loadgen.ParseMode(o.mode)
		if err != nil {
			return nil, usagef("--mode: %v", err)
		}
		modes = []loadgen.Mode{m}
	}
	if err := o.dist.check(fs, &o.local); err != nil {
		return nil, err
	}
	if o.weights.w != nil && len(o.weights.w) != o.local+o.dist.workers {
		return nil, usagef("--weights has %d entries for %d workers (want one per worker)", len(o.weights.w), o.local+o.dist.workers)
	}
	if o.out != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return nil, usagef("--out %s: %v", o.out, err)
		}
	}
	rawURL, err := o.work.target(fs, urlArg)
	if err != nil {
		return nil, err
	}
	builtin := rawURL == ""
	var tgt *target.Server
	if builtin {
		if tgt, err = target.Start(target.Config{TLS: true}); err != nil {
			return nil, fmt.Errorf("cli: start calibration target: %w", err)
		}
		closers = append(closers, func() { tgt.Close() })
		rawURL = tgt.URL() + "/?" + o.targetParams
	}
	ecfg, err := o.engine(fs, rawURL)
	if err != nil {
		return fail(err)
	}
	if builtin {
		ecfg.RootCAs, ecfg.CAPEM = tgt.CertPool(), tgt.CertPEM()
		if o.dist.workers > 0 && !o.dist.listensLocally() {
			return fail(usagef("remote workers on other hosts cannot reach the built-in target (it listens on this host's loopback): give a target URL"))
		}
	}
	if err := o.work.engine(fs, &ecfg); err != nil {
		return fail(err)
	}
	remote, closeRemote, err := o.dist.join(ctx, stderr)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, closeRemote)
	workers := make([]cluster.Worker, o.local)
	for i := range workers {
		workers[i] = cluster.NewLocal(fmt.Sprintf("local-%d", i), i == 0)
	}
	st.cfg = cluster.Config{
		Engine: ecfg, Modes: modes, Workers: append(workers, remote...), Weights: o.weights.w,
		Target: rawURL, BuiltinTarget: builtin, OnWorkerLoss: cluster.LossPolicy(o.dist.onLoss),
	}
	if !o.quiet {
		st.cfg.Progress, st.cfg.TTY = stderr, isTerminal(stderr)
	}
	return st, nil
}
