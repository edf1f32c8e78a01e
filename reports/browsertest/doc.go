// Package browsertest opens tailrace's HTML reports in a real headless
// Chromium, offline, and reports what the browser saw: requests the page
// attempted, console errors and exceptions (a Content-Security-Policy
// violation is one), and, for every chart, whether it was laid out with
// data. It also takes a full-page screenshot and prints the page to PDF.
//
// It drives Chromium over the DevTools protocol on a pipe
// (--remote-debugging-pipe), with networking disabled in the browser and
// in each tab, so the check itself touches no network.
//
// The package's test renders report.html and compare.html from seeded
// results and requires Problems to be empty; it also proves the checker
// fails a page that fetches, throws, logs an error or draws an empty
// chart. Without Chromium the test skips, except with CI=true, where it
// fails: CI installs Debian's chromium.
//
// # Example
//
//	bin, err := browsertest.Find()
//	b, err := browsertest.Launch(ctx, bin)
//	defer b.Close()
//	res, err := b.Check(ctx, "out/report.html", true)
//	for _, p := range res.Problems() { ... }
package browsertest
