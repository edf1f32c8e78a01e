package reports

import (
	"encoding/base64"
	"fmt"
	"io"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/tailrace/tailrace/histogram"
)

// HLog writes one phase of one arm as an HdrHistogram interval log (.hlog,
// format 1.3) from the per-interval histograms in results.json: one line
// per interval, an empty histogram where the phase did not occur in that
// interval, so that every phase's log has the same timeline.
//
// Values are microseconds. Interval timestamps are seconds relative to the
// BaseTime line (the arm's start, to the whole second), so standard tools
// (HistogramLogProcessor, HdrHistogramVisualizer) read it as they read a
// jHiccup log. Interval_Max follows hdrhistogram-go's writer: the maximum
// divided by 1,000,000, that is in seconds here. Tools that print values
// should be told the unit: HistogramLogProcessor -outputValueUnitRatio 1000
// prints milliseconds.
//
// hdrhistogram-go's log writer writes the header lines. The interval lines
// are written here, in the writer's exact format, from the histograms
// already encoded in results.json (standard V2 compressed, base64): the
// library's writer would decode and re-encode each one with a fresh
// best-compression zlib writer, about 0.3 ms and 0.8 MB of garbage per
// line, over a minute of CPU for a one-hour run of four arms. The payloads
// are the same format; hdrhistogram-go's reader reads them back (see the
// round-trip test).
//
// It never prints; a is only read.
func HLog(w io.Writer, a *Arm, p histogram.Phase) error {
	lw := hdrhistogram.NewHistogramLogWriter(w)
	startMS := a.StartedAt.UnixMilli()
	baseMS := startMS - startMS%1000
	lw.SetBaseTime(baseMS)
	steps := []func() error{
		lw.OutputLogFormatVersion,
		func() error { return lw.OutputStartTime(baseMS) },
		func() error { return lw.OutputBaseTime(baseMS) },
		func() error {
			return lw.OutputComment(fmt.Sprintf("tailrace arm %s phase %s: values in microseconds (Interval_Max in seconds); schema %s", a.Mode, p, Schema))
		},
		lw.OutputLegend,
	}
	for _, f := range steps {
		if err := f(); err != nil {
			return fmt.Errorf("reports: hlog %s %s: %w", a.Mode, p, err)
		}
	}
	ew := &errWriter{w: w}
	empty, err := emptyHist()
	if err != nil {
		return err
	}
	for i := range a.Intervals {
		iv := &a.Intervals[i]
		s, err := phaseOf(iv, p)
		if err != nil {
			return fmt.Errorf("reports: hlog %s: %w", a.Mode, err)
		}
		enc, err := iv.PhaseHist(p.String())
		if err != nil {
			return fmt.Errorf("reports: hlog %s: %w", a.Mode, err)
		}
		if enc == "" {
			enc = empty
		}
		// The line hdrhistogram-go's writer would write: start and length
		// in seconds, relative to the base time, then the max and the
		// histogram.
		from := startMS + int64(iv.StartS*1000+0.5)
		to := from + int64(iv.LengthS*1000+0.5)
		fmt.Fprintf(ew, "%f,%f,%f,%s\n", float64(from-baseMS)/1000, float64(to-from)/1000, float64(s.MaxUS)/hdrhistogram.MsToNsRatio, enc)
	}
	if ew.err != nil {
		return fmt.Errorf("reports: hlog %s %s: %w", a.Mode, p, ew.err)
	}
	return nil
}

// emptyHist is the encoding of an empty histogram, the line of an interval
// where a phase did not occur.
var emptyHist = sync.OnceValues(func() (string, error) {
	b, err := histogram.New().Encode()
	if err != nil {
		return "", fmt.Errorf("reports: encode an empty histogram: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
})
