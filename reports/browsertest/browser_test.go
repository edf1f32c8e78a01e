package browsertest_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tailrace/tailrace/reports"
	"github.com/tailrace/tailrace/reports/browsertest"
	"github.com/tailrace/tailrace/reports/internal/synth"
	"github.com/tailrace/tailrace/slo"
)

// launch starts Chromium, or skips: except in CI, where a missing browser
// is a failure (CI installs it).
func launch(t *testing.T) (*browsertest.Browser, context.Context) {
	t.Helper()
	bin, err := browsertest.Find()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v: CI must run the browser test (.ci/run installs chromium)", err)
		}
		t.Skipf("%v: skipping the browser test", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	b, err := browsertest.Launch(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, ctx
}

// pages renders report.html and compare.html of seeded results, with one
// SLO violated so that every section of the page is there, and
// search.html: the report of the same results with a capacity search.
func pages(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	r, err := synth.Results(synth.Small())
	if err != nil {
		t.Fatal(err)
	}
	var gates []slo.SLO
	for _, e := range []string{"total.p99<250ms", "errors<0.1%", "ttfb.p95<50ms"} {
		g, err := slo.Parse(e)
		if err != nil {
			t.Fatal(err)
		}
		gates = append(gates, g)
	}
	if r.SLOs, err = slo.Evaluate(r, gates); err != nil {
		t.Fatal(err)
	}
	var rep, cmp bytes.Buffer
	if err := reports.HTML(&rep, r); err != nil {
		t.Fatal(err)
	}
	if err := reports.Compare(&cmp, []*reports.Results{r}, nil); err != nil {
		t.Fatal(err)
	}
	withSearch := *r
	withSearch.Search = synth.Search()
	var search bytes.Buffer
	if err := reports.HTML(&search, &withSearch); err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{"report.html": rep.Bytes(), "compare.html": cmp.Bytes(), "search.html": search.Bytes()}
}

var chartRE = regexp.MustCompile(`<svg class="chart[^"]*" id="[^"]*" data-chart=`)

// TestReportsInBrowser opens both pages from file:// with networking off:
// no request, no console error, every chart drawn with data. The
// screenshots and PDFs are kept among the test's artifacts (go test
// -artifacts), and copied to $TAILRACE_ARTIFACTS when it is set.
func TestReportsInBrowser(t *testing.T) {
	b, ctx := launch(t)
	dir := t.TempDir()
	for name, page := range pages(t, dir) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, page, 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := b.Check(ctx, path, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range res.Problems() {
			t.Errorf("%s: %s", name, p)
		}
		want := len(chartRE.FindAll(page, -1))
		if len(res.Charts) != want || want == 0 {
			t.Errorf("%s: the browser found %d charts, the page has %d", name, len(res.Charts), want)
		}
		if name == "search.html" && !slices.ContainsFunc(res.Charts, func(c browsertest.Chart) bool { return c.ID == "search-curve" }) {
			t.Errorf("%s: the browser found no search-curve chart", name)
		}
		if len(res.Screenshot) < 1000 || !bytes.HasPrefix(res.Screenshot, []byte("\x89PNG")) {
			t.Errorf("%s: no screenshot (%d bytes)", name, len(res.Screenshot))
		}
		if !bytes.HasPrefix(res.PDF, []byte("%PDF")) {
			t.Errorf("%s: printing to PDF gave %d bytes", name, len(res.PDF))
		}
		keep(t, strings.TrimSuffix(name, ".html")+".png", res.Screenshot)
		keep(t, strings.TrimSuffix(name, ".html")+".pdf", res.PDF)
		t.Logf("%s: %d charts drawn, %d KB, screenshot %d KB", name, len(res.Charts), len(page)/1024, len(res.Screenshot)/1024)
	}
}

func keep(t *testing.T, name string, data []byte) {
	t.Helper()
	dirs := []string{t.ArtifactDir()}
	if d := os.Getenv("TAILRACE_ARTIFACTS"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("kept %s", p)
	}
}

// TestCheckerCatchesBadPages proves the check can fail: each page below is
// broken in one way, and Problems must say so.
func TestCheckerCatchesBadPages(t *testing.T) {
	b, ctx := launch(t)
	dir := t.TempDir()
	good := string(pages(t, dir)["report.html"])
	noCSP := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy"[^>]*>`).ReplaceAllString(good, "")
	inject := func(page, html string) string { return strings.Replace(page, "</main>", html+"</main>", 1) }
	tests := []struct {
		name string
		page string
		want string // in one of the problems
	}{
		// An image from the network: the CSP refuses it, and says so.
		{"image under CSP", inject(good, `<img src="http://127.0.0.1:9/x.png" alt="">`), "console: "},
		// The same without the CSP: the attempt itself is caught.
		{"image without CSP", inject(noCSP, `<img src="http://127.0.0.1:9/x.png" alt="">`), "request attempted: http://127.0.0.1:9/x.png"},
		// A fetch by name: resolution is disabled, the attempt is caught.
		{"fetch without CSP", inject(noCSP, `<script>fetch("https://example.com/beacon").catch(function () {});</script>`), "request attempted: https://example.com/beacon"},
		// A script the CSP does not know: refused, and logged.
		{"script under CSP", inject(good, `<script>document.title = "x";</script>`), "console: "},
		// A script that throws.
		{"throw", inject(noCSP, `<script>throw new Error("boom");</script>`), "boom"},
		// A script that logs an error.
		{"console.error", inject(noCSP, `<script>console.error("bad thing");</script>`), "bad thing"},
		// A chart with no data.
		{"empty chart", strings.Replace(good, `data-points="`, `data-points="0" data-x-points="`, 1), "not drawn with data"},
	}
	for _, tc := range tests {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".html")
		if err := os.WriteFile(path, []byte(tc.page), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := b.Check(ctx, path, false)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		ps := res.Problems()
		t.Logf("%s: %q", tc.name, ps)
		if !strings.Contains(strings.Join(ps, "\n"), tc.want) {
			t.Errorf("%s: problems %q do not include %q", tc.name, ps, tc.want)
		}
	}
}
