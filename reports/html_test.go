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
