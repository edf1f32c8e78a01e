package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/tailrace/tailrace/cluster"
	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/reports"
)

// workerOptions are the flags of `worker`.
type workerOptions struct {
	join, name, token      string
	tlsCert, tlsKey, tlsCA string
	maxRate                rateValue
	maxConns               int
	allow                  []string
	orphanTimeout          time.Duration
	joinTimeout            time.Duration
	out                    string
	quiet                  bool
}

func (o *workerOptions) flags(fs *pflag.FlagSet) {
	fs.StringVar(&o.join, "join", "", "the coordinator to join, host:port (required)")
	fs.StringVar(&o.name, "name", "", "this worker's name, unique in the run (default hostname-pid)")
	fs.StringVar(&o.token, "token", "", "the coordinator's shared secret (default $TAILRACE_TOKEN)")
	fs.StringVar(&o.tlsCA, "tls-ca", "", "join over TLS, trusting these CAs for the coordinator's certificate (PEM)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "this worker's client certificate, for a coordinator that requires mutual TLS (PEM)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "the key of --tls-cert (PEM)")
	fs.Var(&o.maxRate, "max-rate", "refuse plans that ask this worker for more than this many requests per second")
	fs.IntVar(&o.maxConns, "max-connections", 0, "hold connections (and, in close and resume modes, requests in flight) to this many (0: no cap)")
	fs.StringSliceVar(&o.allow, "allow-target", nil, "targets this worker may load: host names, addresses, CIDR prefixes (comma-separated or repeated); link-local and metadata addresses are refused unless named here")
	fs.DurationVar(&o.orphanTimeout, "orphan-timeout", 5*time.Second, "stop the load after this long without a word from the coordinator (the coordinator's, if shorter, wins)")
	fs.DurationVar(&o.joinTimeout, "join-timeout", 30*time.Second, "keep trying to reach and join the coordinator for this long")
	fs.StringVar(&o.out, "out", "", "write this worker's own share of the results (results.json) into this directory")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no log lines")
}

// Worker is the `worker` command: it joins a coordinator and generates the
// load it is given, then exits. It returns the exit code: 0 when the
// coordinator ended the session, 2 for bad flags or a refusal, 3 when the
// coordinator was lost or the worker was interrupted.
func Worker(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("worker", "usage: worker --join HOST:PORT [flags]\n\nJoins a coordinator (coordinator run --workers N) and generates the load it assigns.\n\nflags:\n", stderr)
	if len(args) == 1 && args[0] == "version" {
		fmt.Fprintln(stdout, "tailrace", version())
		return ExitOK
	}
	var o workerOptions
	o.flags(fs)
	if help, err := parse(fs, args); help {
		return ExitOK
	} else if err != nil {
		fmt.Fprintf(stderr, "worker: %v\n", err)
		return ExitUsage
	}
	cfg, err := o.config(fs, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "worker: %v\n", err)
		return ExitUsage
	}
	rec := &workerRecord{}
	if o.out != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			fmt.Fprintf(stderr, "worker: --out %s: %v\n", o.out, err)
			return ExitUsage
		}
		cfg.OnInterval = rec.add
		// As the coordinator's: interval histograms wait in a temporary
		// file, so a long-lived worker's memory stays flat.
		if sp, err := reports.NewSpill(""); err == nil {
			rec.spill = sp
			defer sp.Close()
		}
	}
	err = cluster.JoinAndWork(ctx, cfg)
	if o.out != "" {
		path := filepath.Join(o.out, "results.json")
		if werr := reports.WriteFile(path, rec.results(cfg.Name)); werr != nil {
			fmt.Fprintf(stderr, "worker: %v\n", werr)
		} else if !o.quiet {
			fmt.Fprintf(stderr, "worker: its own results: %s\n", path)
		}
	}
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, cluster.ErrRefused):
		fmt.Fprintf(stderr, "worker: %v\n", err)
		return ExitUsage
	}
	fmt.Fprintf(stderr, "worker: %v\n", err)
	return ExitIncomplete
}

func (o *workerOptions) config(fs *pflag.FlagSet, stderr io.Writer) (cluster.JoinConfig, error) {
	if fs.NArg() > 0 {
		return cluster.JoinConfig{}, fmt.Errorf("unexpected argument %q: all settings are flags", fs.Arg(0))
	}
	if o.join == "" {
		return cluster.JoinConfig{}, errors.New("--join HOST:PORT is required (the address the coordinator printed)")
	}
	if _, _, err := net.SplitHostPort(o.join); err != nil {
		return cluster.JoinConfig{}, fmt.Errorf("--join %q: want host:port", o.join)
	}
	if o.token == "" {
		o.token = os.Getenv("TAILRACE_TOKEN")
	}
	if o.name == "" {
		host, _ := os.Hostname()
		o.name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if o.maxConns < 0 || o.orphanTimeout <= 0 || o.joinTimeout <= 0 {
		return cluster.JoinConfig{}, errors.New("--max-connections must not be negative, --orphan-timeout and --join-timeout must be positive")
	}
	caps := cluster.Caps{MaxRate: o.maxRate.v, MaxConnections: o.maxConns, AllowTarget: o.allow}
	if err := caps.Validate(); err != nil {
		return cluster.JoinConfig{}, fmt.Errorf("--allow-target: %v", err)
	}
	cfg := cluster.JoinConfig{
		Addr: o.join, Name: o.name, Token: o.token, Caps: caps, OrphanTimeout: o.orphanTimeout,
		JoinTimeout: o.joinTimeout, SelfMeter: true,
	}
	if !o.quiet {
		cfg.Log = stderr
	}
	if o.tlsCA != "" || o.tlsCert != "" {
		if (o.tlsCert == "") != (o.tlsKey == "") {
			return cfg, errors.New("--tls-cert and --tls-key go together")
		}
		host, _, _ := net.SplitHostPort(o.join)
		tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		if o.tlsCA != "" {
			pool, err := loadPool("--tls-ca", o.tlsCA)
			if err != nil {
				return cfg, err
			}
			tc.RootCAs = pool
		}
		if o.tlsCert != "" {
			cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
			if err != nil {
				return cfg, fmt.Errorf("--tls-cert/--tls-key: %v", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		cfg.TLS = tc
	}
	return cfg, nil
}

// workerRecord keeps a worker's own share of each arm, as it sent it.
type workerRecord struct {
	mu      sync.Mutex
	started time.Time
	arms    []*reports.ArmBuilder
	spill   *reports.Spill // nil: intervals stay in memory
}

func (r *workerRecord) add(arm int, mode loadgen.Mode, t0 time.Time, iv *histogram.Interval) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started.IsZero() {
		r.started = t0
	}
	for len(r.arms) <= arm {
		r.arms = append(r.arms, nil)
	}
	if r.arms[arm] == nil {
		r.arms[arm] = reports.NewArmBuilder(string(mode), t0, iv.Exemplars.K())
		if r.spill != nil {
			r.arms[arm].SpillTo(r.spill)
		}
	}
	r.arms[arm].Add(iv, 1, false)
}

func (r *workerRecord) results(name string) *reports.Results {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &reports.Results{Schema: reports.Schema, StartedAt: r.started, Workers: []reports.Worker{{Name: name}}, Warnings: []string{}}
	res.Plan.Workers = 1
	for _, b := range r.arms {
		if b == nil {
			continue
		}
		if a, err := b.Arm(); err == nil {
			res.Arms = append(res.Arms, a)
			res.Plan.Modes = append(res.Plan.Modes, a.Mode)
		}
	}
	return res
}
