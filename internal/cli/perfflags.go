package cli

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/spf13/pflag"

	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/schedule"
	"github.com/tailrace/tailrace/reports"
)

// perfOptions are the flags of issue 6: which HTTP/1.1 client to use, and
// the closed-loop mode that measures a maximum rate.
type perfOptions struct {
	client      string
	concurrency int
	cpuprofile  string
	memprofile  string
}

func (p *perfOptions) flags(fs *pflag.FlagSet) {
	fs.StringVar(&p.client, "client", "fast", "HTTP/1.1 client for keepalive, close and resume: fast (purpose-built, allocation-free) or std (net/http); h2 always uses net/http")
	fs.StringVar(&p.cpuprofile, "cpuprofile", "", "write a Go CPU profile of this process over the run to this file (go tool pprof FILE)")
	fs.StringVar(&p.memprofile, "memprofile", "", "write a Go allocation profile of this process over the run to this file, every allocation sampled at 4 KiB (go tool pprof -sample_index=alloc_space FILE)")
	fs.IntVar(&p.concurrency, "concurrency", 0, "closed-loop: N loops per worker, each sending its next request when its last is done, for --duration (no --rate); measures a maximum rate, not latency under load")
}

// plan returns the closed-loop run's plan, or ok false for an open-loop run.
// A closed loop has no schedule; the plan carries its duration only (the
// engine ignores the rate; 1/s keeps the plan valid everywhere a plan goes).
func (p *perfOptions) plan(fs *pflag.FlagSet, d time.Duration) (schedule.Plan, bool, error) {
	if !fs.Changed("concurrency") {
		return schedule.Plan{}, false, nil
	}
	switch {
	case p.concurrency <= 0:
		return schedule.Plan{}, true, usagef("--concurrency %d must be a positive integer", p.concurrency)
	case fs.Changed("rate") || fs.Changed("stages"):
		return schedule.Plan{}, true, usagef("--concurrency and --rate/--stages conflict: a closed loop has no schedule (give --duration)")
	case d <= 0:
		return schedule.Plan{}, true, usagef("--duration %v must be positive (e.g. 30s)", d)
	}
	return schedule.Plan{Stages: schedule.Steady(1, d)}, true, nil
}

// apply sets the engine fields and checks them against the rest of the run.
func (p *perfOptions) apply(cfg *loadgen.Config, remoteWorkers int) error {
	switch p.client {
	case "fast", "std":
		cfg.Client = loadgen.ClientKind(p.client)
	default:
		return usagef("--client %q: want fast or std", p.client)
	}
	if p.concurrency > 0 && remoteWorkers > 0 {
		// Remote workers enforce --max-rate on the schedule they receive; a
		// closed loop has none to check, so it stays on this host.
		return usagef("--concurrency runs on local workers only (got %d remote)", remoteWorkers)
	}
	cfg.Concurrency = p.concurrency
	return nil
}

// annotate labels the results of a closed-loop run, so that every output
// says what its latencies mean.
func (p *perfOptions) annotate(res *reports.Results) {
	res.Plan.Client = p.client
	if p.concurrency > 0 {
		res.Plan.ClosedLoop, res.Plan.Concurrency = true, p.concurrency
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s (--concurrency %d)", reports.ClosedLoopNote, p.concurrency))
	}
}

// profile starts --cpuprofile's CPU profile and --memprofile's allocation
// sampling, if asked for, and returns what stops them, writes the allocation
// profile and closes the files. The files are created before the run starts,
// so a path that cannot be written to is a usage error (exit 2), not a
// measurement lost at the end.
func (p *perfOptions) profile() (stop func() error, err error) {
	var cpu, mem *os.File
	if p.cpuprofile != "" {
		if cpu, err = os.Create(p.cpuprofile); err != nil {
			return nil, usagef("--cpuprofile: %v", err)
		}
	}
	if p.memprofile != "" {
		if mem, err = os.Create(p.memprofile); err != nil {
			if cpu != nil {
				cpu.Close()
			}
			return nil, usagef("--memprofile: %v", err)
		}
		// The default rate (one sample per 512 KiB) says little about a
		// run that allocates a few KiB a second, the steady state we aim for.
		runtime.MemProfileRate = memProfileRate
	}
	if cpu != nil {
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			if mem != nil {
				mem.Close()
			}
			return nil, usagef("--cpuprofile: %v", err)
		}
	}
	return func() error {
		var errs []error
		if cpu != nil {
			pprof.StopCPUProfile()
			errs = append(errs, cpu.Close())
		}
		if mem != nil {
			// The allocs profile is as of the last GC: run one so that it
			// covers the whole run.
			runtime.GC()
			errs = append(errs, pprof.Lookup("allocs").WriteTo(mem, 0), mem.Close())
		}
		return errors.Join(errs...)
	}, nil
}

// memProfileRate is --memprofile's sampling interval, in bytes allocated.
const memProfileRate = 4096
