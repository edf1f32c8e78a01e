package reports_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/tailrace/tailrace/reports"
	"github.com/tailrace/tailrace/reports/internal/synth"
)

// TestHTMLSelfContained checks, without a browser, what makes the pages
// open offline: nothing refers outside the file, and the CSP admits the
// inline style and script by their exact hashes and nothing else.
func TestHTMLSelfContained(t *testing.T) {
	r := small(t)
	var rep, cmp bytes.Buffer
	if err := reports.HTML(&rep, r); err != nil {
		t.Fatal(err)
	}
	if err := reports.Compare(&cmp, []*reports.Results{r, r}, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	for name, page := range map[string][]byte{"report.html": rep.Bytes(), "compare.html": cmp.Bytes()} {
		doc, err := html.Parse(bytes.NewReader(page))
		if err != nil {
			t.Fatal(err)
		}
		var csp string
		var hashes []string
		walkNodes(doc, func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			switch n.Data {
			case "link", "img", "iframe", "object", "embed", "image", "use":
				t.Errorf("%s: <%s> element: the page must not load anything", name, n.Data)
			case "meta":
				if attr(n, "http-equiv") == "Content-Security-Policy" {
					csp = attr(n, "content")
				}
			case "style", "script":
				if attr(n, "src") != "" {
					t.Errorf("%s: <%s src>: the page must not load anything", name, n.Data)
				}
				sum := sha256.Sum256([]byte(textOf0(n)))
				hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
			}
			for _, a := range n.Attr {
				if (a.Key == "href" && !strings.HasPrefix(a.Val, "#")) || a.Key == "src" || a.Key == "xlink:href" || a.Key == "style" {
					t.Errorf("%s: <%s %s=%q>: only in-page links, and no inline style attributes (the CSP forbids them)", name, n.Data, a.Key, a.Val)
				}
			}
		})
		if !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: CSP %q does not default to none", name, csp)
		}
		for _, h := range hashes {
			if !strings.Contains(csp, h) {
				t.Errorf("%s: CSP %q does not admit inline content with hash %s", name, csp, h)
			}
		}
		if len(hashes) != 2 {
			t.Errorf("%s: %d inline styles and scripts, want one of each", name, len(hashes))
		}
		if m := regexp.MustCompile(`HISTF[A-Za-z0-9+/]{20}`).Find(page); m != nil {
			t.Errorf("%s inlines encoded histograms (%s...): they belong in results.json", name, m)
		}
	}
}

func walkNodes(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walkNodes(c, f)
	}
}

// textOf0 is the raw text of a node, whitespace kept.
func textOf0(n *html.Node) string {
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

// TestHTMLOneHourSize renders a made-up one-hour run of four arms: the
// report must stay under about 2 MB (DESIGN.md §8) however long the run,
// because time series are folded to at most 600 points.
func TestHTMLOneHourSize(t *testing.T) {
	r, err := synth.Long(3600, "keepalive", "close", "resume", "h2")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		render func(*bytes.Buffer) error
	}{
		{"report.html", func(b *bytes.Buffer) error { return reports.HTML(b, r) }},
		{"compare.html", func(b *bytes.Buffer) error { return reports.Compare(b, []*reports.Results{r}, nil) }},
	} {
		var b bytes.Buffer
		start := time.Now()
		if err := tc.render(&b); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s of a one-hour, four-arm run: %d KB in %v", tc.name, b.Len()/1024, time.Since(start).Round(time.Millisecond))
		if b.Len() > 2<<20 {
			t.Errorf("%s is %d bytes, over 2 MB", tc.name, b.Len())
		}
		if !bytes.Contains(b.Bytes(), []byte("Each point stands for 6 consecutive intervals")) && tc.name == "report.html" {
			t.Errorf("%s does not say its time series are folded", tc.name)
		}
	}
}

func BenchmarkHTMLOneHour(b *testing.B) {
	r, err := synth.Long(3600, "keepalive", "close", "resume", "h2")
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := reports.HTML(&buf, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len())/1024, "KB")
}

func BenchmarkWriteAllOneHour(b *testing.B) {
	r, err := synth.Long(3600, "keepalive", "close", "resume", "h2")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := reports.WriteAll(b.TempDir(), r); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRenderersOnEmptyArms renders runs that measured nothing: an arm with
// no interval, and an arm whose requests all failed before any phase. No
// renderer may fail or panic on them.
func TestRenderersOnEmptyArms(t *testing.T) {
	runs := map[string]*reports.Results{
		// Interrupted before the first interval.
		"no interval": {Schema: reports.Schema, Arms: []reports.Arm{{Mode: "keepalive"}}, Incomplete: true},
		// Two arms, one empty: compare.html must still be written.
		"one empty arm": {Schema: reports.Schema, Arms: []reports.Arm{{Mode: "keepalive"}, {Mode: "close",
			Intervals: []reports.Interval{{LengthS: 1, Errors: map[string]int64{"connect": 3}}}, Errors: map[string]int64{"connect": 3}}}},
		// No arm at all.
		"no arm": {Schema: reports.Schema},
		// A search that recorded no step.
		"empty search": {Schema: reports.Schema, Search: &reports.Search{}},
	}
	for name, r := range runs {
		var b bytes.Buffer
		if err := reports.HTML(&b, r); err != nil {
			t.Errorf("%s: HTML: %v", name, err)
		}
		if err := reports.Text(&b, r); err != nil {
			t.Errorf("%s: Text: %v", name, err)
		}
		if _, err := reports.WriteAll(t.TempDir(), r); err != nil {
			t.Errorf("%s: WriteAll: %v", name, err)
		}
		err := reports.Compare(&b, []*reports.Results{r}, nil)
		if (err != nil) != (len(r.Arms) == 0) {
			t.Errorf("%s: Compare: %v", name, err)
		}
	}
}

// TestHTMLSearch renders a run with a capacity search: its section comes
// after the SLOs and before the arms, lists every step in rate order with
// its verdict, names the best rate and the knee, and draws each step as a
// point of the p50 and p99 curves, failures hollow and the best ruled.
// Without a search the section is absent.
func TestHTMLSearch(t *testing.T) {
	r := small(t)
	r.Search = synth.Search()
	r.SLOs = []reports.SLOResult{{Expr: "total.p99<1s", Pass: true, Arms: []reports.SLOArm{{Arm: "keepalive", Pass: true, Observed: "20ms"}}}}
	var b bytes.Buffer
	if err := reports.HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(&b)
	if err != nil {
		t.Fatal(err)
	}
	sec := byID(doc, "search")
	if sec == nil || sec.Data != "section" {
		t.Fatal("no section#search in a report with a search")
	}
	if h := find(sec, "h2"); len(h) == 0 || textOf(h[0]) != "Capacity search" {
		t.Errorf("section#search has no h2 Capacity search")
	}
	if !hasLink(doc, "#search") {
		t.Error("the page's nav has no link to #search")
	}

	// Where: after the SLOs, before the workers and the arms.
	var order []string
	walkNodes(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "section" {
			order = append(order, attr(n, "id"))
		}
	})
	at := func(id string) int {
		for i, s := range order {
			if s == id {
				return i
			}
		}
		t.Fatalf("no section#%s in %q", id, order)
		return -1
	}
	if o, s, w, a := at("slos-section"), at("search"), at("workers-section"), at("arm-keepalive"); !(o < s && s < w && w < a) {
		t.Errorf("sections in order %q: want the search after the SLOs, before the workers and the arms", order)
	}

	// The verdict names the best rate, the knee and why the search stopped.
	v := textOf(byID(doc, "search-verdict"))
	for _, want := range []string{"CAPACITY", "highest rate meeting every SLO: 283/s", "between it and 336/s", "Stopped: an SLO failed at 400/s."} {
		if !strings.Contains(v, want) {
			t.Errorf("search verdict %q does not say %q", v, want)
		}
	}

	// One row per step, by rate, with its verdict.
	tbl := byID(doc, "search-steps")
	if tbl == nil {
		t.Fatal("no table#search-steps")
	}
	heads, _ := tableShape(tbl)
	if got := strings.Join(heads, " | "); got != "rate | achieved | p50 | p99 | errors | verdict" {
		t.Errorf("steps table head %q", got)
	}
	want := [][]string{
		{"100/s", "99.8/s", "1.90ms", "4.80ms", "0.00%", "pass"},
		{"200/s", "199/s", "2.30ms", "9.10ms", "0.04%", "pass (generator-limited in 2 intervals)"},
		{"283/s (refine)", "282/s", "3.10ms", "31.00ms", "0.10%", "pass (best)"},
		{"336/s (refine)", "330/s", "14.00ms", "120.00ms", "0.40%", "FAIL total.p99<50ms (120.00ms)"},
		{"400/s", "353/s", "96.00ms", "840.00ms", "3.10%", "FAIL total.p99<50ms (840.00ms), errors<1% (3.10%)"},
	}
	rows := find(tbl, "tr")[1:] // after the head
	if len(rows) != len(want) {
		t.Fatalf("steps table has %d rows, want %d (one per step)", len(rows), len(want))
	}
	for i, tr := range rows {
		var got []string
		for _, td := range find(tr, "td") {
			got = append(got, textOf(td))
		}
		if strings.Join(got, " | ") != strings.Join(want[i], " | ") {
			t.Errorf("steps row %d:\n got %q\nwant %q", i, got, want[i])
		}
	}

	// The curve: a point per step in each of p50 and p99.
	svg := byID(doc, "search-curve")
	if svg == nil || attr(svg, "data-chart") != "line" {
		t.Fatal("no line chart #search-curve")
	}
	if attr(svg, "data-points") != "10" || attr(svg, "data-series") != "2" || !strings.Contains(attr(svg, "aria-label"), "Latency against throughput") {
		t.Errorf("search curve: data-points=%s data-series=%s aria-label=%q, want 10 points in 2 series, labelled",
			attr(svg, "data-points"), attr(svg, "data-series"), attr(svg, "aria-label"))
	}
	var names []string
	for _, g := range find(svg, "g") {
		if attr(g, "data-i") == "" {
			continue
		}
		names = append(names, attr(g, "data-name"))
		var dots, fails, best int
		for _, c := range find(g, "circle") {
			cls := " " + attr(c, "class") + " "
			if !strings.Contains(cls, " dot ") {
				continue
			}
			dots++
			if strings.Contains(cls, " fail ") {
				fails++
			}
			if strings.Contains(cls, " best ") {
				best++
			}
			if len(find(c, "title")) != 1 {
				t.Errorf("search curve %s: a point without a tooltip", attr(g, "data-name"))
			}
		}
		if dots != 5 || fails != 2 || best != 1 {
			t.Errorf("search curve %s: %d points, %d failed, %d best; want 5, 2, 1", attr(g, "data-name"), dots, fails, best)
		}
	}
	if strings.Join(names, ",") != "p50,p99" {
		t.Errorf("search curve series %q, want p50,p99", names)
	}
	rules := 0
	for _, l := range find(svg, "line") {
		if strings.Contains(attr(l, "class"), "rule") {
			rules++
		}
	}
	if rules != 1 {
		t.Errorf("search curve has %d rules, want one at the best rate", rules)
	}

	// A search keeps its SLOs per step: the header must not say none
	// were given.
	r.SLOs = nil
	b.Reset()
	if err := reports.HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	if doc, err = html.Parse(&b); err != nil {
		t.Fatal(err)
	}
	if p := find(byID(doc, "top"), "p"); len(p) == 0 {
		t.Error("no header verdict")
	} else if v := textOf(p[0]); !strings.HasPrefix(v, "CAPACITY capacity search: highest rate meeting every SLO: 283/s") {
		t.Errorf("header verdict of a search without run SLOs: %q", v)
	}

	// Without a search: no section, no link, no curve.
	r.Search = nil
	b.Reset()
	if err := reports.HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`id="search"`, `href="#search"`, `search-curve`, `search-steps`, "Capacity search"} {
		if strings.Contains(b.String(), s) {
			t.Errorf("a report without a search has %s", s)
		}
	}
}

func byID(n *html.Node, id string) *html.Node {
	var found *html.Node
	walkNodes(n, func(c *html.Node) {
		if found == nil && c.Type == html.ElementNode && attr(c, "id") == id {
			found = c
		}
	})
	return found
}

// find lists the elements named tag under n, in document order.
func find(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	walkNodes(n, func(c *html.Node) {
		if c != n && c.Type == html.ElementNode && c.Data == tag {
			out = append(out, c)
		}
	})
	return out
}

func hasLink(doc *html.Node, href string) bool {
	for _, a := range find(doc, "a") {
		if attr(a, "href") == href {
			return true
		}
	}
	return false
}
