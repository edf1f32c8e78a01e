package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/tailrace/tailrace/reports"
)

// Compare is `coordinator compare a.json b.json ...`: the arms of one or
// more runs side by side in one HTML page.
func Compare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compare", "usage: coordinator compare a.json [b.json ...] [-o compare.html]\n\nThe first arm of the first run is the baseline. With one file, its arms are compared.\n\nflags:\n", stderr)
	var out string
	var names []string
	fs.StringVarP(&out, "output", "o", "compare.html", "write the comparison here ('-' for stdout)")
	fs.StringSliceVar(&names, "names", nil, "labels of the runs, in order (default: from the file names)")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("compare needs at least one results.json")
	}
	if len(names) > 0 && len(names) != fs.NArg() {
		return usagef("--names has %d labels for %d files (want one per file)", len(names), fs.NArg())
	}
	var runs []*reports.Results
	for _, p := range fs.Args() {
		r, err := reports.ReadFile(p)
		if err != nil {
			return usageError{err}
		}
		runs = append(runs, r)
	}
	if len(names) == 0 {
		names = runLabels(fs.Args())
	}
	if err := writeTo(out, stdout, func(w io.Writer) error { return reports.Compare(w, runs, names) }); err != nil {
		return err
	}
	if out != "-" {
		fmt.Fprintf(stdout, "comparison: %s\n", out)
	}
	return nil
}

// runLabels names runs after their files: "a" for a.json, "dir" for
// dir/results.json, the whole path when that would not tell them apart.
func runLabels(paths []string) []string {
	names := make([]string, len(paths))
	seen := map[string]int{}
	for i, p := range paths {
		base := strings.TrimSuffix(filepath.Base(p), ".json")
		if base == "results" {
			base = filepath.Base(filepath.Dir(p))
		}
		names[i] = base
		seen[base]++
	}
	for i, n := range names {
		if seen[n] > 1 {
			names[i] = paths[i]
		}
	}
	return names
}
