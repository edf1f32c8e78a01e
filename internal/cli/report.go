package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tailrace/tailrace/cluster"
	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/reports"
	"github.com/tailrace/tailrace/slo"
)

// reportOptions are the flags of `coordinator report`.
type reportOptions struct {
	out    string
	format string
	arm    string
	phase  string
	all    string
	slos   []string
	junit  string
}

// Report is `coordinator report results.json`: re-render a run's report,
// one export, or every derived file, and optionally re-gate it on SLOs.
func Report(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", "usage: coordinator report results.json|journal|DIR [-o report.html] [--format html|text|hgrm|csv] [--out DIR]\n\nflags:\n", stderr)
	var o reportOptions
	fs.StringVarP(&o.out, "output", "o", "", "write here ('-' for stdout); default: report.html next to results.json for html, stdout otherwise")
	fs.StringVar(&o.format, "format", "html", "html, text, hgrm (a percentile distribution) or csv (the per-interval time series)")
	fs.StringVar(&o.arm, "arm", "", "the arm of --format hgrm (default: the first)")
	fs.StringVar(&o.phase, "phase", "total", "the phase of --format hgrm")
	fs.StringVar(&o.all, "out", "", "write every derived file (report.html, compare.html, timeseries.csv, .hgrm, .hlog) into this directory")
	fs.StringArrayVar(&o.slos, "slo", nil, "re-gate the run: an SLO such as 'total.p99<250ms' or 'errors<0.1%' (repeatable); exit 1 if violated")
	fs.StringVar(&o.junit, "junit", "", "write the SLO verdicts as JUnit XML to this file")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("report takes one results.json, got %d arguments", fs.NArg())
	}
	gates, err := parseSLOs(o.slos)
	if err != nil {
		return err
	}
	path := fs.Arg(0)
	res, err := readRun(path)
	if err != nil {
		return err
	}
	violated, err := gate(res, gates, o.junit, stdout)
	if err != nil {
		return err
	}
	if o.all != "" {
		if err := writeOutputs(stdout, o.all, res); err != nil {
			return err
		}
	}
	var render func(io.Writer) error
	switch o.format {
	case "html":
		render = func(w io.Writer) error { return reports.HTML(w, res) }
		if o.out == "" {
			o.out = filepath.Join(filepath.Dir(path), "report.html")
		}
	case "text":
		render = func(w io.Writer) error { return reports.Text(w, res) }
	case "csv":
		render = func(w io.Writer) error { return reports.TimeseriesCSV(w, res) }
	case "hgrm":
		a, p, err := pickArmPhase(res, o.arm, o.phase)
		if err != nil {
			return err
		}
		render = func(w io.Writer) error { return reports.HGRM(w, a, p) }
	default:
		return usagef("--format %q: want html, text, hgrm or csv", o.format)
	}
	// --out alone writes the derived files and nothing else.
	if o.all == "" || fs.Changed("format") || fs.Changed("output") {
		if err := writeTo(o.out, stdout, render); err != nil {
			return err
		}
	}
	if violated {
		return ErrSLO
	}
	return nil
}

func pickArmPhase(r *reports.Results, arm, phase string) (*reports.Arm, histogram.Phase, error) {
	p, err := histogram.ParsePhase(phase)
	if err != nil {
		return nil, 0, usagef("--phase: %v", err)
	}
	if len(r.Arms) == 0 {
		return nil, 0, usagef("the results have no arm")
	}
	if arm == "" {
		return &r.Arms[0], p, nil
	}
	var modes []string
	for i := range r.Arms {
		if r.Arms[i].Mode == arm {
			return &r.Arms[i], p, nil
		}
		modes = append(modes, r.Arms[i].Mode)
	}
	return nil, 0, usagef("--arm %q: the results have arms %s", arm, strings.Join(modes, ", "))
}

// writeTo renders to path ("" or "-": stdout), atomically for a file.
func writeTo(path string, stdout io.Writer, render func(io.Writer) error) error {
	if path == "" || path == "-" {
		return render(stdout)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("cli: %w", err)
	}
	defer os.Remove(f.Name())
	if err := render(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cli: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("cli: %w", err)
	}
	return nil
}

// parseSLOs validates --slo flags before anything runs: a bad one is a
// usage error (exit 2) that names it and the valid names.
func parseSLOs(exprs []string) ([]slo.SLO, error) {
	var gates []slo.SLO
	for _, e := range exprs {
		g, err := slo.Parse(e)
		if err != nil {
			return nil, usagef("--slo: %v", err)
		}
		gates = append(gates, g)
	}
	return gates, nil
}

// gate evaluates the SLOs on the merged result, stores the verdicts in it
// (for results.json, the summary and the report) and writes --junit. It
// reports whether any SLO was violated.
func gate(res *reports.Results, gates []slo.SLO, junit string, stdout io.Writer) (bool, error) {
	if len(gates) > 0 {
		v, err := slo.Evaluate(res, gates)
		if err != nil {
			return false, err
		}
		res.SLOs = v
	}
	if junit != "" {
		if err := writeTo(junit, stdout, func(w io.Writer) error { return slo.JUnit(w, res) }); err != nil {
			return false, err
		}
	}
	return !res.SLOsPass(), nil
}

// publish is the end of run and search: results.json into out first (when
// out is set), so that nothing measured is lost if a later step fails; then
// the summary on stdout; then every file derived from the results, saying
// where they are. about follows the results.json path in that line.
func publish(stdout io.Writer, out string, res *reports.Results, summary func(io.Writer) error, about string) error {
	if out != "" {
		if err := reports.WriteFile(filepath.Join(out, "results.json"), res); err != nil {
			return err
		}
	}
	if err := summary(stdout); err != nil {
		return err
	}
	if out == "" {
		return nil
	}
	fmt.Fprintf(stdout, "\nresults: %s%s\n", filepath.Join(out, "results.json"), about)
	return writeOutputs(stdout, out, res)
}

// writeOutputs writes every file derived from res into dir and says where
// the report is.
func writeOutputs(stdout io.Writer, dir string, res *reports.Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cli: %w", err)
	}
	files, err := reports.WriteAll(dir, res)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "report: %s (and %d more files: compare.html, timeseries.csv, .hgrm, hlog/)\n", filepath.Join(dir, "report.html"), len(files)-1)
	return nil
}

// readRun reads a run from a results.json, from a coordinator's journal (what
// a crashed coordinator leaves behind), or from an --out directory (its
// results.json if there is one, else its journal).
func readRun(path string) (*reports.Results, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		if _, err := os.Stat(filepath.Join(path, "results.json")); err == nil {
			path = filepath.Join(path, "results.json")
		} else {
			path = filepath.Join(path, "journal")
		}
	}
	head := make([]byte, 8)
	f, err := os.Open(path)
	if err != nil {
		return nil, usageError{err}
	}
	n, _ := io.ReadFull(f, head)
	f.Close()
	if cluster.IsJournal(head[:n]) {
		res, err := cluster.ReplayJournal(path)
		if err != nil {
			return nil, usageError{err}
		}
		return res, nil
	}
	res, err := reports.ReadFile(path)
	if err != nil {
		return nil, usageError{err}
	}
	return res, nil
}
