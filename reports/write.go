package reports

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/tailrace/tailrace/histogram"
)

// WriteAll writes, into dir (which must exist), every file derived from r:
//
//	report.html               HTML
//	compare.html              Compare of the arms, when there are several
//	timeseries.csv            TimeseriesCSV
//	<arm>.hgrm                HGRM of total, per arm
//	hlog/<arm>/<phase>.hlog   HLog, per arm and per phase that occurred in it
//
// results.json itself is written by WriteFile. Each file is written
// atomically, on up to GOMAXPROCS goroutines. It returns the paths
// written, sorted, and the first error.
func WriteAll(dir string, r *Results) ([]string, error) {
	g := new(errgroup.Group)
	g.SetLimit(runtime.GOMAXPROCS(0))
	var files []string
	add := func(path string, f func(io.Writer) error) {
		files = append(files, path)
		g.Go(func() error { return writeAtomic(path, f) })
	}
	add(filepath.Join(dir, "report.html"), func(w io.Writer) error { return HTML(w, r) })
	if len(r.Arms) > 1 {
		add(filepath.Join(dir, "compare.html"), func(w io.Writer) error { return Compare(w, []*Results{r}, nil) })
	}
	add(filepath.Join(dir, "timeseries.csv"), func(w io.Writer) error { return TimeseriesCSV(w, r) })
	for i := range r.Arms {
		a := &r.Arms[i]
		name := slug(a.Mode)
		add(filepath.Join(dir, name+".hgrm"), func(w io.Writer) error { return HGRM(w, a, histogram.Total) })
		sub := filepath.Join(dir, "hlog", name)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			g.Wait()
			return nil, fmt.Errorf("reports: %w", err)
		}
		for _, p := range armPhases(a) {
			add(filepath.Join(sub, p.String()+".hlog"), func(w io.Writer) error { return HLog(w, a, p) })
		}
	}
	err := g.Wait()
	slices.Sort(files)
	return files, err
}
