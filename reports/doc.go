// Package reports holds the results model of a run and every renderer of
// it. The model is results.json (schema tailrace.results/v1, documented in
// docs/results.md); the renderers turn it into what people and tools read.
//
// # Model
//
// Results is a finished run: its Plan, its Workers with their clock
// offsets, one Arm per connection mode, warnings and SLO verdicts. An Arm
// has per-phase summaries with encoded cumulative HDR histograms, the tail
// breakdown, per-interval series (with each interval's encoded histograms)
// and the slowest requests; with a request mix, the same per label
// (Arm.Labels, folded from histogram.Interval.Labels). An ArmBuilder folds
// merged intervals into an Arm as they arrive; WriteFile and ReadFile store
// Results atomically and check the schema. A Results is a snapshot:
// renderers only read it. A capacity search adds its steps (Search).
//
// # Renderers
//
// Every renderer has the same shape: it takes an io.Writer and what it
// renders, returns an error, and never prints.
//
//	Text           the end-of-run summary (per-label table and search included)
//	SearchText     a capacity search's table: each step, and the highest passing rate
//	HTML           report.html: one self-contained page, see below
//	Compare        compare.html: arms of one or more runs side by side
//	TimeseriesCSV  timeseries.csv: one row per arm, interval and phase
//	HGRM           a percentile distribution (.hgrm) as wrk2 prints it
//	HLog           an HdrHistogram interval log (.hlog) of one arm and phase
//
// WriteAll writes every derived file of a run into a directory, as
// `coordinator run --out` and `coordinator report --out` do.
//
// # The HTML pages
//
// report.html and compare.html are single files: inline CSS, charts drawn
// as inline SVG by this package, and a small inline script (legend toggles,
// a hover readout) that the charts do not need. A Content-Security-Policy
// admits that style and script by hash and nothing else, so the page can
// fetch nothing, and a browser says so if anything tries. Long runs stay
// small: time series are folded to at most 600 points (keeping each
// bucket's worst latency), and encoded histograms stay in results.json. A
// one-hour, four-arm run gives a report of about 0.5 MB. docs/reports.md
// explains each section and how to read it.
//
// The package's browser test (reports/browsertest) opens both pages in
// headless Chromium with networking disabled and checks that nothing was
// requested, nothing logged an error, and every chart was drawn with data.
package reports
