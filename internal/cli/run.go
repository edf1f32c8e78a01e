package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tailrace/tailrace/cluster"
	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/schedule"
	"github.com/tailrace/tailrace/reports"
)

// runOptions are the flags of `coordinator run`.
type runOptions struct {
	rate        rateValue
	duration    time.Duration
	stages      schedule.Stages
	process     schedule.Process
	seed        int64
	mode        string
	modes       modesValue
	connections int
	maxInFlight int
	pacer       string
	tick        time.Duration
	local       int
	weights     weightsValue
	dist        distOptions // remote workers (distributed.go)

	method   string
	headers  headerValue
	body     string
	bodyFile string

	timeout, connectTimeout, tlsTimeout, ttfbTimeout time.Duration

	insecure       bool
	cacert         string
	tlsMin, tlsMax tlsVersionValue
	tlsGroups      tlsGroupsValue
	resolve        resolveValue
	dnsServer      string
	dnsCache       bool

	out          string
	quiet        bool
	exemplars    int
	targetParams string

	slos  []string // --slo, validated before the run (report.go)
	junit string

	perf perfOptions // --client, --concurrency (perfflags.go)
	work workOptions // --plan, --targets, --expect-status (planflags.go)
}

func (o *runOptions) flags(fs *pflag.FlagSet) {
	fs.Var(&o.rate, "rate", "constant arrival rate, requests per second (e.g. 2000, 2000/s, 120/m)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "test length at --rate")
	fs.Var(&o.stages, "stages", "rate stages instead of --rate/--duration, e.g. 30s:0->2000,2m:2000")
	fs.Var(&o.process, "arrival", "arrival process: constant or poisson")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the arrival process (same seed, same schedule)")
	fs.StringVar(&o.mode, "mode", "keepalive", "connection mode: keepalive, close, resume or h2")
	fs.Var(&o.modes, "modes", "several modes run as arms of one experiment on the identical schedule, e.g. keepalive,close,resume,h2")
	fs.IntVar(&o.connections, "connections", 32, "connections per worker (keepalive pool size, h2 connections)")
	fs.IntVar(&o.maxInFlight, "max-inflight", 10000, "in-flight requests per worker beyond which arrivals are dropped (counted), never delayed")
	fs.StringVar(&o.pacer, "pacer", "sleep", "pacer: sleep (~1ms granularity), precise (spins; sub-100µs lag with 2+ cores to itself; burns CPU) or tick (sends what is due on a grid of --tick, like wrk2's timers: least CPU, bursts of rate×tick)")
	fs.DurationVar(&o.tick, "tick", 0, "grid of --pacer tick, 100µs to 1s (default 1ms)")
	fs.IntVar(&o.local, "local", 1, "number of in-process workers")
	fs.Var(&o.weights, "weights", "split weights, one per worker (--local ones first, then remote ones by name), e.g. 2,1,1 (default equal)")
	o.dist.flags(fs)
	fs.StringVar(&o.method, "method", "GET", "HTTP method")
	fs.VarP(&o.headers, "header", "H", "request header \"Name: value\" (repeatable)")
	fs.StringVar(&o.body, "body", "", "request body")
	fs.StringVar(&o.bodyFile, "body-file", "", "read the request body from this file")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "whole-request timeout, from dispatch")
	fs.DurationVar(&o.connectTimeout, "connect-timeout", 0, "TCP connect timeout (0: only --timeout)")
	fs.DurationVar(&o.tlsTimeout, "tls-timeout", 0, "TLS handshake timeout (0: only --timeout)")
	fs.DurationVar(&o.ttfbTimeout, "ttfb-timeout", 0, "time-to-first-byte timeout after the request is written (0: only --timeout)")
	fs.BoolVar(&o.insecure, "insecure", false, "skip TLS certificate verification (never the default)")
	fs.StringVar(&o.cacert, "cacert", "", "PEM file of CA certificates to verify the target with")
	fs.Var(&o.tlsMin, "tls-min", "minimum TLS version: 1.2 or 1.3 (default 1.2)")
	fs.Var(&o.tlsMax, "tls-max", "maximum TLS version: 1.2 or 1.3 (default 1.3)")
	fs.Var(&o.tlsGroups, "tls-groups", "TLS key-exchange groups to offer, comma-separated, from x25519mlkem768, x25519, p256, p384, p521; e.g. x25519 offers X25519 only (default: Go's, i.e. the ML-KEM hybrids x25519mlkem768, SecP256r1MLKEM768, SecP384r1MLKEM1024, then x25519, p256, p384, p521, with key shares for x25519mlkem768 and x25519). Go orders the groups it offers itself: the list chooses which, not their order")
	fs.Var(&o.resolve, "resolve", "pin host:port to an address, curl style host:port:addr (repeatable)")
	fs.StringVar(&o.dnsServer, "dns-server", "", "ask this DNS server (ip:port) directly instead of the system resolver")
	fs.BoolVar(&o.dnsCache, "dns-cache", true, "cache DNS answers for their TTL (false: resolve for every new connection)")
	fs.StringVar(&o.out, "out", "", "write results.json, report.html (and compare.html with several arms), timeseries.csv, <arm>.hgrm and hlog/<arm>/<phase>.hlog into this directory")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no live progress")
	fs.IntVar(&o.exemplars, "exemplars", 16, "slowest requests kept per interval, with their full phase timings")
	fs.StringVar(&o.targetParams, "target-params", "ttfb=2ms&jitter=1ms&size=1k", "query of the built-in calibration target, used when no URL is given")
	fs.StringArrayVar(&o.slos, "slo", nil, "an SLO gate, e.g. 'total.p99<250ms', 'ttfb.p95<50ms', 'errors<0.1%' (repeatable); exit 1 if violated in any arm")
	fs.StringVar(&o.junit, "junit", "", "write the SLO verdicts as JUnit XML (one test case per --slo) to this file")
	o.perf.flags(fs)
	o.work.flags(fs)
}

// plan builds the schedule from --rate/--duration or --stages.
func (o *runOptions) plan(fs *pflag.FlagSet) (schedule.Plan, error) {
	if cp, closed, err := o.perf.plan(fs, o.duration); closed {
		return cp, err
	}
	p := schedule.Plan{Process: o.process, Seed: o.seed}
	switch {
	case fs.Changed("stages") && fs.Changed("rate"):
		return p, usagef("--rate and --stages conflict: give one (--stages 30s:0->2000,2m:2000 includes the rates)")
	case fs.Changed("stages"):
		if fs.Changed("duration") {
			return p, usagef("--duration and --stages conflict: the stages give the duration")
		}
		p.Stages = o.stages
	default:
		if !o.rate.set {
			return p, usagef("--rate is required (requests per second, e.g. --rate 1000), or give --stages")
		}
		if o.duration <= 0 {
			return p, usagef("--duration %v must be positive (e.g. 30s)", o.duration)
		}
		p.Stages = schedule.Stages{{Duration: o.duration, From: o.rate.v, To: o.rate.v}}
	}
	if err := p.Validate(); err != nil {
		return p, usageError{err}
	}
	return p, nil
}

// engine builds the engine template from the request and connection flags.
func (o *runOptions) engine(fs *pflag.FlagSet, rawURL string) (loadgen.Config, error) {
	cfg := loadgen.Config{
		Method: strings.ToUpper(o.method), Header: o.headers.h, Connections: o.connections,
		MaxInFlight: o.maxInFlight, Pacer: loadgen.PacerKind(o.pacer), Tick: o.tick,
		Timeout: o.timeout, ConnectTimeout: o.connectTimeout, TLSTimeout: o.tlsTimeout, TTFBTimeout: o.ttfbTimeout,
		Insecure: o.insecure, CACert: o.cacert, TLSMin: o.tlsMin.v, TLSMax: o.tlsMax.v, TLSGroups: o.tlsGroups.v,
		Resolve: o.resolve.o, DNSServer: o.dnsServer, DNSCache: o.dnsCache, Exemplars: o.exemplars,
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, usagef("target URL %q is not valid (want http://host[:port]/path or https://...)", rawURL)
	}
	cfg.URL = u
	checks := []struct {
		bad  bool
		form string
	}{
		{o.connections <= 0, fmt.Sprintf("--connections %d must be a positive integer", o.connections)},
		{o.maxInFlight <= 0, fmt.Sprintf("--max-inflight %d must be a positive integer", o.maxInFlight)},
		{o.pacer != "sleep" && o.pacer != "precise" && o.pacer != "tick", fmt.Sprintf("--pacer %q: want sleep, precise or tick", o.pacer)},
		{o.tick != 0 && o.pacer != "tick", fmt.Sprintf("--tick %v is the grid of --pacer tick, and --pacer is %s", o.tick, o.pacer)},
		{o.tick != 0 && (o.tick < loadgen.MinTick || o.tick > loadgen.MaxTick), fmt.Sprintf("--tick %v: want %v to %v", o.tick, loadgen.MinTick, loadgen.MaxTick)},
		{o.timeout <= 0, fmt.Sprintf("--timeout %v must be positive (e.g. 10s)", o.timeout)},
		{o.connectTimeout < 0 || o.tlsTimeout < 0 || o.ttfbTimeout < 0, "--connect-timeout, --tls-timeout and --ttfb-timeout must not be negative"},
		{o.insecure && o.cacert != "", "--insecure and --cacert conflict: verify with the CA, or skip verification, not both"},
		{o.tlsMin.v != 0 && o.tlsMax.v != 0 && o.tlsMin.v > o.tlsMax.v, fmt.Sprintf("--tls-min %s is above --tls-max %s", o.tlsMin.s, o.tlsMax.s)},
		{o.tlsGroups.needTLS13(o.tlsMax.v), "--tls-groups x25519mlkem768 needs TLS 1.3, and --tls-max is 1.2: add a group TLS 1.2 can use (x25519, p256, p384 or p521)"},
		{o.body != "" && o.bodyFile != "", "--body and --body-file conflict: give one"},
		{o.exemplars < 0, "--exemplars must not be negative"},
	}
	for _, c := range checks {
		if c.bad {
			return cfg, usagef("%s", c.form)
		}
	}
	if (o.insecure || o.cacert != "" || fs.Changed("tls-min") || fs.Changed("tls-max") || fs.Changed("tls-groups")) && u.Scheme != "https" {
		return cfg, usagef("TLS flags (--insecure, --cacert, --tls-min, --tls-max, --tls-groups) need an https:// target, got %s", u.Scheme)
	}
	if o.cacert != "" {
		if _, err := os.Stat(o.cacert); err != nil {
			return cfg, usagef("--cacert %s: %v", o.cacert, err)
		}
	}
	switch {
	case o.bodyFile != "":
		b, err := os.ReadFile(o.bodyFile)
		if err != nil {
			return cfg, usagef("--body-file: %v", err)
		}
		cfg.Body = b
	case o.body != "":
		cfg.Body = []byte(o.body)
	}
	if err := o.perf.apply(&cfg, o.dist.workers); err != nil {
		return cfg, err
	}
	check := cfg
	if err := check.Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// Run is `coordinator run`: flags -> config -> cluster.Run -> outputs.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "usage: coordinator run [flags] [URL]\n\nWith no URL, tailrace starts its calibration target in-process and aims at it.\n\nflags:\n", stderr)
	var o runOptions
	o.flags(fs)
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if err := o.work.apply(fs, ""); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("run takes at most one URL, got %d arguments: %s", fs.NArg(), strings.Join(fs.Args(), " "))
	}
	plan, err := o.plan(fs)
	if err != nil {
		return err
	}
	// SLOs are checked before anything starts: an unknown name exits 2.
	gates, err := parseSLOs(o.slos)
	if err != nil {
		return err
	}
	st, err := o.start(ctx, fs, stderr, fs.Arg(0))
	if err != nil {
		return err
	}
	defer st.close()
	ccfg := st.cfg
	ccfg.Plan = plan
	if o.out != "" {
		ccfg.Journal = filepath.Join(o.out, "journal")
	}
	// Per-interval histograms wait in a temporary file rather than memory,
	// so memory stays flat however long the run; without one (no writable
	// temporary directory) they stay in memory.
	if sp, err := reports.NewSpill(""); err == nil {
		ccfg.Spill = sp
		defer sp.Close()
	}
	stopProfile, err := o.perf.profile()
	if err != nil {
		return err
	}
	res, runErr := cluster.Run(ctx, ccfg)
	runErr = errors.Join(runErr, stopProfile())
	if res == nil {
		return runErr
	}
	o.perf.annotate(res)
	o.work.annotate(res)
	if errors.Is(runErr, cluster.ErrRefused) && len(res.Arms) == 0 {
		return usageError{runErr} // a worker refused the plan: nothing was sent
	}
	// SLO gates first, so that results.json, the summary and the report
	// all carry the verdicts; an incomplete run still gets them (exit 3
	// wins over exit 1, see ExitCode). A failure to gate (say, --junit not
	// writable) must not lose the measurements: it is returned at the end.
	violated, gateErr := gate(res, gates, o.junit, stdout)
	runErr = errors.Join(runErr, gateErr)
	summary := func(w io.Writer) error { return reports.Text(w, res) }
	if err := publish(stdout, o.out, res, summary, ""); err != nil {
		return errors.Join(runErr, err)
	}
	if violated {
		return errors.Join(runErr, ErrSLO)
	}
	return runErr
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
