// Package slo parses, evaluates and reports service-level objectives, the
// gates of `coordinator run --slo`:
//
//	total.p99<250ms     a latency statistic of a phase
//	ttfb.p95<=50ms      stat: p50, p90, p95, p99, p99.9 (or p999), any pNN, mean, max
//	errors<0.1%         failed requests (dropped arrivals included) over intended arrivals
//	errors<10           ... or as a count
//	dropped<=0          arrivals not sent because the in-flight cap was hit
//	rate>=950/s         completed requests per second over the arm
//
// Parse validates an expression before a run starts, naming the valid
// phases or metrics when one is unknown, so a typo costs an exit code 2,
// not a load test. Evaluate applies the SLOs to the merged result: an SLO
// holds only if it holds in every arm, and each arm's observed value is
// kept for the summary, the HTML report and JUnit. Evaluation reads the
// cumulative histograms, so a percentile is exact to the histogram's
// precision (3 significant digits), whatever the number of workers.
//
// # Example
//
//	o, err := slo.Parse("total.p99<250ms")
//	if err != nil { ... }                    // exit 2 before the run
//	res, err := slo.Evaluate(results, []slo.SLO{o})
//	results.SLOs = res                       // shown by reports.Text and reports.HTML
//	if slo.Violated(res) { ... }             // exit 1
package slo
