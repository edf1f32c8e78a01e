package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/plan"
	"github.com/tailrace/tailrace/reports"
)

// workOptions are the flags of issue 5: a plan file, a targets file, and
// the statuses that count as success.
type workOptions struct {
	planPath string
	targets  string
	expect   string

	ignore    []string    // plan fields (as flags) the command sets itself
	file      *plan.File  // the loaded --plan; nil without one
	specs     []plan.Spec // the mix; nil for a single request
	expectSet loadgen.StatusSet
}

func (w *workOptions) flags(fs *pflag.FlagSet) {
	fs.StringVar(&w.planPath, "plan", "", "read the run from this plan file (YAML: the flags' names with '_', plus requests: a weighted mix); flags given on the command line override it")
	fs.StringVar(&w.targets, "targets", "", "send a mix of the requests in this file, equal weights, in vegeta's format: METHOD URL, header lines, @body-file, a blank line between requests")
	fs.StringVar(&w.expect, "expect-status", "", "statuses that count as success, e.g. 2xx,304 or 200-204 (default: any below 400); any other is an error, status_Nxx")
}

// overrides lists, for a flag given on the command line, the plan fields
// (as flags) it replaces besides its own: the alternatives to it.
var overrides = map[string][]string{
	"rate":        {"stages", "concurrency"},
	"stages":      {"rate", "duration", "concurrency"},
	"concurrency": {"rate", "stages"},
	"duration":    {"stages"},
	"mode":        {"modes"},
	"modes":       {"mode"},
	"body":        {"body-file"},
	"body-file":   {"body"},
	"insecure":    {"cacert"},
	"cacert":      {"insecure"},
}

// apply loads --plan (if given) and sets each of its fields whose flag the
// command line did not set, as if it had been typed; then it checks
// --expect-status. path, if not empty, is the plan named as an argument
// (`coordinator plan FILE`).
func (w *workOptions) apply(fs *pflag.FlagSet, path string) error {
	if path != "" {
		if w.planPath != "" && w.planPath != path {
			return usagef("give the plan once: %s or --plan %s", path, w.planPath)
		}
		w.planPath = path
	}
	if w.planPath != "" {
		f, err := plan.Load(w.planPath)
		if err != nil {
			return usageError{err}
		}
		w.file = f
		skip := map[string]bool{}
		for _, f := range w.ignore {
			skip[f] = true
		}
		fs.Visit(func(fl *pflag.Flag) {
			skip[fl.Name] = true
			for _, o := range overrides[fl.Name] {
				skip[o] = true
			}
		})
		for _, fl := range f.Flags() {
			if skip[fl.Name] {
				continue
			}
			if fs.Lookup(fl.Name) == nil {
				return fmt.Errorf("cli: plan field for --%s has no flag", fl.Name) // a plan field without a flag: our bug
			}
			for _, v := range fl.Values {
				if err := fs.Set(fl.Name, v); err != nil {
					return usageError{&plan.Error{File: w.planPath, Line: fl.Pos.Line, Column: fl.Pos.Column, Msg: fmt.Sprintf("%s: %v", fl.Name, err)}}
				}
			}
		}
	}
	if w.expect != "" {
		s, err := loadgen.ParseStatusSet(w.expect)
		if err != nil {
			return usagef("--expect-status: %v", err)
		}
		w.expectSet = s
	}
	return nil
}

// source is the plan the mix comes from: --targets (the command line's,
// relative to the working directory, or the plan's, already resolved
// against its directory by apply) or the plan's requests; nil when the run
// has a single request.
func (w *workOptions) source() *plan.File {
	if w.targets != "" {
		return &plan.File{Targets: w.targets}
	}
	if w.file == nil || len(w.file.Requests) == 0 {
		return nil
	}
	return w.file
}

// target returns the run's target URL: the command line's, the plan's, or
// the first absolute URL of the mix; "" means the built-in calibration
// target.
func (w *workOptions) target(fs *pflag.FlagSet, arg string) (string, error) {
	if arg != "" {
		return arg, nil
	}
	if w.file != nil && w.file.Target != "" {
		return w.file.Target, nil
	}
	if src := w.source(); src != nil {
		u, err := src.FirstURL()
		if err != nil {
			return "", usageError{err}
		}
		return u, nil
	}
	return "", nil
}

// mix returns the requests of the run's mix with the engine's request as
// their defaults, or nil for a single-request run.
func (w *workOptions) mix(fs *pflag.FlagSet, cfg *loadgen.Config) ([]plan.Spec, error) {
	src := w.source()
	if src == nil {
		return nil, nil
	}
	specs, err := src.Mix(plan.Defaults{Target: cfg.URL, Method: cfg.Method, Header: cfg.Header, Body: cfg.Body})
	if err != nil {
		var pe *plan.Error
		if errors.As(err, &pe) {
			return nil, usageError{err}
		}
		return nil, usagef("--targets: %v", err)
	}
	return specs, nil
}

// engine puts the mix and the expected statuses into the engine's
// configuration. A mix of one request is that request, without labels.
func (w *workOptions) engine(fs *pflag.FlagSet, cfg *loadgen.Config) error {
	specs, err := w.mix(fs, cfg)
	if err != nil {
		return err
	}
	w.specs = specs
	switch {
	case len(specs) == 1:
		s := specs[0]
		cfg.URL, cfg.Method, cfg.Header, cfg.Body = s.URL, s.Method, s.Header, s.Body
	case len(specs) > 1:
		cfg.Requests = specs
	}
	cfg.Expect = w.expectSet
	check := *cfg
	if err := check.Validate(); err != nil {
		return usageError{err}
	}
	return nil
}

// annotate records the plan file in the results.
func (w *workOptions) annotate(res *reports.Results) {
	res.Plan.PlanFile = w.planPath
}
