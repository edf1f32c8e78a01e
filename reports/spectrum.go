package reports

import (
	"fmt"
	"html/template"
	"math"

	"github.com/tailrace/tailrace/histogram"
)

// spectrumEdge is the right end of a spectrum's x axis: 99.999%.
const spectrumEdge = 1e5

// spectrumPoints returns the HdrHistogram percentile spectrum of an encoded
// histogram as points x = 1/(1-q), y = µs, the way HdrHistogram plots it:
// the x axis is logarithmic so that 90%, 99%, 99.9%... are evenly spaced.
// The final point (q = 1, the maximum) has no finite x and is left out, as
// in .hgrm files; points past 99.999% are drawn at the edge.
func spectrumPoints(hist string) ([]xy, error) {
	if hist == "" {
		return nil, nil
	}
	h, err := DecodeHist(hist)
	if err != nil {
		return nil, err
	}
	var pts []xy
	for _, p := range h.Spectrum(5) {
		if p.Quantile >= 1 {
			break
		}
		x := math.Min(1/(1-p.Quantile), spectrumEdge)
		pt := xy{x, math.Max(float64(p.Value.Microseconds()), 0)}
		if n := len(pts); n > 0 && pts[n-1].x == spectrumEdge {
			pts[n-1] = pt // keep the highest value at the edge only
			continue
		}
		pts = append(pts, pt)
	}
	return pts, nil
}

// spectrumChart draws spectra over a log x axis. The y axis is linear, as
// HdrHistogram plots are, unless the lines span more than two decades
// (phases of microseconds next to phases of seconds), where a linear axis
// would flatten all but the slowest.
func spectrumChart(id, title, note string, small bool, ss []series) template.HTML {
	lo, hi := math.Inf(1), 0.0
	for _, s := range ss {
		for _, p := range s.pts {
			hi = math.Max(hi, p.y)
			if p.y > 0 {
				lo = math.Min(lo, p.y)
			}
		}
	}
	c := &lineChart{id: id, title: title, note: note, small: small, x: scale{log: true, min: 1, max: spectrumEdge},
		xTicks: quantileTicks, xUnit: "q", yUnit: "us", xLabel: "percentile (log scale: each step is ten times rarer)", series: ss}
	c.latencyAxis(lo, hi)
	return c.figure()
}

// spectrum draws one arm's spectrum of every phase that happened.
func spectrum(id, title string, a *Arm) (template.HTML, error) {
	var ss []series
	for _, ph := range PhaseOrder {
		s := a.Phases[ph.String()]
		if s.Count == 0 {
			continue
		}
		pts, err := spectrumPoints(s.Hist)
		if err != nil {
			return "", fmt.Errorf("reports: arm %s phase %s: %w", a.Mode, ph, err)
		}
		ss = append(ss, series{name: ph.String(), class: phaseClass(ph), pts: pts, thin: ph != histogram.Total})
	}
	if len(ss) == 0 {
		return "", nil
	}
	return spectrumChart(id, title, "Click a phase in the legend to hide or show it.", false, ss), nil
}
