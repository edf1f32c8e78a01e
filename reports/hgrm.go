package reports

import (
	"fmt"
	"io"

	"github.com/tailrace/tailrace/histogram"
)

// HGRM writes one phase of one arm as an HdrHistogram percentile
// distribution (.hgrm), the text wrk2 prints with --latency and the
// HdrHistogram plotter (hdrhistogram.github.io/HdrHistogram/plotFiles.html)
// reads: value in milliseconds, percentile, cumulative count and
// 1/(1-percentile), five steps per halving of the distance to 100%, and a
// footer with mean, standard deviation, max, count and the histogram's
// geometry. hdrhistogram-go writes the rows. It never prints; a is only
// read.
func HGRM(w io.Writer, a *Arm, p histogram.Phase) error {
	h := histogram.New()
	if enc := a.Phases[p.String()].Hist; enc != "" {
		var err error
		if h, err = DecodeHist(enc); err != nil {
			return fmt.Errorf("reports: hgrm %s %s: %w", a.Mode, p, err)
		}
	}
	ew := &errWriter{w: w}
	if _, err := h.HDR().PercentilesPrint(ew, 5, 1000); err != nil {
		return fmt.Errorf("reports: hgrm %s %s: %w", a.Mode, p, err)
	}
	return nil
}
