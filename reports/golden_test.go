package reports_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/reports"
	"github.com/tailrace/tailrace/reports/internal/synth"
)

// go test ./reports -update rewrites testdata/: the seeded results and
// every golden file made from them.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const smallResults = "testdata/small.results.json"

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; diff it with the output of -update:\n%s", name, firstDiff(got, want))
	}
}

func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n got: %.200s\nwant: %.200s", i+1, a, b)
		}
	}
	return "(same lines, different bytes)"
}

// small reads the seeded results the golden files are made from; under
// -update it makes them first.
func small(t testing.TB) *reports.Results {
	t.Helper()
	if *update {
		r, err := synth.Results(synth.Small())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := reports.WriteFile(smallResults, r); err != nil {
			t.Fatal(err)
		}
	}
	r, err := reports.ReadFile(smallResults)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGoldenResults checks that the builder turns the seeded samples into
// the same results.json, byte for byte.
func TestGoldenResults(t *testing.T) {
	r, err := synth.Results(synth.Small())
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	small(t) // under -update, writes the file compared below
	want, err := os.ReadFile(smallResults)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(got, '\n'), want) {
		t.Errorf("synth.Small() no longer builds %s:\n%s", smallResults, firstDiff(append(got, '\n'), want))
	}
}

// TestGoldenHTML checks the structure of report.html and compare.html:
// headings, tables, and every chart with its number of points. The
// outline, not the bytes, so that a change of style does not churn it.
func TestGoldenHTML(t *testing.T) {
	r := small(t)
	var rep, cmp bytes.Buffer
	if err := reports.HTML(&rep, r); err != nil {
		t.Fatal(err)
	}
	if err := reports.Compare(&cmp, []*reports.Results{r}, nil); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.outline", outline(t, rep.Bytes()))
	golden(t, "compare.outline", outline(t, cmp.Bytes()))
}

// TestGoldenExports checks every export byte for byte.
func TestGoldenExports(t *testing.T) {
	r := small(t)
	var csv bytes.Buffer
	if err := reports.TimeseriesCSV(&csv, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "timeseries.csv", csv.Bytes())
	var hgrm, hlog bytes.Buffer
	for i := range r.Arms {
		a := &r.Arms[i]
		fmt.Fprintf(&hgrm, "== %s.hgrm\n", a.Mode)
		if err := reports.HGRM(&hgrm, a, histogram.Total); err != nil {
			t.Fatal(err)
		}
		for _, p := range histogram.Phases() {
			if a.Phases[p.String()].Count == 0 {
				continue
			}
			fmt.Fprintf(&hlog, "== hlog/%s/%s.hlog\n", a.Mode, p)
			if err := reports.HLog(&hlog, a, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	golden(t, "hgrm.golden", hgrm.Bytes())
	golden(t, "hlog.golden", hlog.Bytes())
	var text bytes.Buffer
	if err := reports.Text(&text, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.txt", text.Bytes())
}

// outline reduces a page to what a reader navigates by.
func outline(t *testing.T, page []byte) []byte {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "title":
				if n.Parent != nil && n.Parent.Data == "head" { // not the tooltips of SVG shapes
					fmt.Fprintf(&b, "title: %s\n", textOf(n))
				}
			case "h1", "h2", "h3", "figcaption":
				fmt.Fprintf(&b, "%s%s: %s\n", n.Data, idOf(n), textOf(n))
			case "p":
				if cls := attr(n, "class"); strings.Contains(cls, "verdict") {
					fmt.Fprintf(&b, "verdict: %s\n", textOf(n))
				}
			case "table":
				heads, rows := tableShape(n)
				fmt.Fprintf(&b, "table%s: %s (%d rows)\n", idOf(n), strings.Join(heads, " | "), rows)
			case "svg":
				if kind := attr(n, "data-chart"); kind != "" {
					fmt.Fprintf(&b, "chart%s: %s points=%s", idOf(n), kind, attr(n, "data-points"))
					if s := attr(n, "data-series"); s != "" {
						fmt.Fprintf(&b, " series=%s", s)
					}
					b.WriteString("\n")
				}
			case "li":
				if n.Parent != nil && attr(n.Parent, "class") == "words" {
					fmt.Fprintf(&b, "words: %s\n", textOf(n))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return []byte(b.String())
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func idOf(n *html.Node) string {
	if id := attr(n, "id"); id != "" {
		return "#" + id
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func tableShape(table *html.Node) (heads []string, rows int) {
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "th":
				heads = append(heads, textOf(n))
			case "tr":
				if n.Parent != nil && n.Parent.Data == "tbody" {
					rows++
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(table)
	return heads, rows
}
