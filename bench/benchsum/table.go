package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
)

// tools in column order: tailrace first, then the peers.
var tools = []string{"tailrace", "wrk", "ab", "h2load", "fortio", "fortio-u", "hey", "vegeta"}

// row is one line of the table: a metric of one scenario.
type row struct {
	label       string
	scenario    string
	metric      func(r result) float64
	lowerBetter bool
}

func rps(r result) float64   { return r.rps }
func rss(r result) float64   { return r.rssMB }
func p50(r result) float64   { return r.p50ms }
func lag99(r result) float64 { return r.lagP99 }
func lag50(r result) float64 { return r.lagP50 }
func cpuPer100k(r result) float64 {
	if r.cpu < 0 || r.count <= 0 {
		return -1
	}
	return r.cpu / r.count * 100000
}

var rows = []row{
	{"S1 keep-alive, 50 conns: req/s", "s1", rps, false},
	{"S1 peak RSS, MB", "s1", rss, true},
	{"S2 new TCP conn per request: req/s", "s2", rps, false},
	{"S3 open loop 10,000/s: achieved req/s", "s3", rps, false},
	{"S3 CPU s per 100k requests", "s3", cpuPer100k, true},
	{"S3 schedule lag p99, ms", "s3", lag99, true},
	{"S4 p50 at 200/s, ms", "s4", p50, true},
	{"S6 TLS keep-alive: req/s", "s6ka", rps, false},
	{"S6 new TLS conn per request, full handshake: req/s", "s6new", rps, false},
	{"S6 new TLS conn per request, session resumed: req/s", "s6resume", rps, false},
	{"S6 tailrace new TLS, Go's default key shares (+ML-KEM): req/s", "s6gotls", rps, false},
}

// cell is the median of one tool's runs of one scenario.
type cell struct {
	value  float64 // -1: unreadable
	runs   int     // 0: not run
	errors bool    // some run failed more than 0.1% of its requests
}

func (c cell) String() string {
	switch {
	case c.runs == 0:
		return "-"
	case c.value < 0:
		return "?"
	case c.errors:
		return fmtNum(c.value) + "!"
	}
	return fmtNum(c.value)
}

func collect(dir, scenario, tool string, metric func(result) float64) cell {
	outs, _ := filepath.Glob(filepath.Join(dir, scenario, tool, "*.out"))
	c := cell{value: -1, runs: len(outs)}
	var vs []float64
	for _, o := range outs {
		r := parseRun(tool, o)
		if v := metric(r); v >= 0 {
			vs = append(vs, v)
		}
		if r.errs > 0 && (r.count <= 0 || r.errs/(r.count+r.errs) > 0.001) {
			c.errors = true
		}
	}
	if len(vs) > 0 {
		c.value = median(vs)
	}
	return c
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// table prints the medians of every scenario and tool found under dir, with
// tailrace's ratio to wrk and to the best peer.
func table(w io.Writer, dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "scenario\t%s\ttailrace/wrk\ttailrace/best peer\t\n", strings.Join(tools, "\t"))
	for _, r := range rows {
		cells := make([]cell, len(tools))
		any := false
		for i, t := range tools {
			cells[i] = collect(dir, r.scenario, t, r.metric)
			any = any || cells[i].runs > 0
		}
		if !any {
			continue
		}
		line := r.label
		for _, c := range cells {
			line += "\t" + c.String()
		}
		tr, wrk := cells[0].value, cells[1].value
		best := -1.0
		for _, c := range cells[1:] {
			if c.value < 0 || c.errors {
				continue
			}
			if best < 0 || (r.lowerBetter && c.value < best) || (!r.lowerBetter && c.value > best) {
				best = c.value
			}
		}
		line += "\t" + ratio(tr, wrk) + "\t" + ratio(tr, best) + "\t"
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s4Excess(w, dir)
	s3Tick(w, dir)
	s3EventLoop(w, dir)
	perRep(w, dir)
	serverShare(w, dir)
	fmt.Fprintln(w, "\n'-' not run, '?' output not understood, '!' more than 0.1% of requests failed (excluded from best peer).")
	fmt.Fprintln(w, "Ratios are tailrace divided by the other; for rows where lower is better (RSS, CPU, lag, p50) below 1 is better.")
	return nil
}

func ratio(a, b float64) string {
	if a < 0 || b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// s4Excess prints each tool's p50 above the server's own p50, which
// tailrace reads from the target's Server-Timing header.
func s4Excess(w io.Writer, dir string) {
	server := collect(dir, "s4", "tailrace", func(r result) float64 { return r.server })
	if server.value < 0 {
		return
	}
	fmt.Fprintf(w, "\nS4: the server's own p50 (Server-Timing, median) is %.3f ms; p50 excess over it:", server.value)
	for _, t := range tools {
		c := collect(dir, "s4", t, p50)
		if c.value >= 0 {
			fmt.Fprintf(w, " %s %+.3f", t, c.value-server.value)
		}
	}
	fmt.Fprintln(w, " (ms; ab and h2load report a mean, not a median)")
}

// s3Tick prints S3 for tailrace --pacer tick, which sends on a grid: 1 ms
// as wrk2's timers (tool tailrace-tick), and 5 ms, plain fortio's bursts of
// 50 (tailrace-tick5), beside tailrace's default pacer.
func s3Tick(w io.Writer, dir string) {
	def := collect(dir, "s3", "tailrace", cpuPer100k)
	var lines []string
	for _, g := range []struct{ tool, grid, peer string }{
		{"tailrace-tick", "1 ms grid, like wrk2", ""},
		{"tailrace-tick5", "--tick 5ms, bursts of 50 as plain fortio's", "fortio"},
	} {
		tick := collect(dir, "s3", g.tool, cpuPer100k)
		if tick.runs == 0 {
			continue
		}
		vs := ""
		if g.peer != "" {
			vs = fmt.Sprintf(", %s of %s's", ratio(tick.value, collect(dir, "s3", g.peer, cpuPer100k).value), g.peer)
		}
		lines = append(lines, fmt.Sprintf("S3 tailrace --pacer tick (%s): achieved %s req/s, CPU s per 100k %s (%s of the default pacer's %s%s), schedule lag p50 %s p99 %s ms (default: p50 %s p99 %s)",
			g.grid, collect(dir, "s3", g.tool, rps), tick, ratio(tick.value, def.value), def, vs,
			collect(dir, "s3", g.tool, lag50), collect(dir, "s3", g.tool, lag99),
			collect(dir, "s3", "tailrace", lag50), collect(dir, "s3", "tailrace", lag99)))
	}
	if len(lines) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(lines, "\n"))
	}
}

// s3EventLoop prints what bench/eventloop, S3 sent by a raw epoll loop
// with no Go runtime in the way, cost: evenly spaced (eventloop) and in
// bursts of 50 every 5 ms (eventloop-b).
func s3EventLoop(w io.Writer, dir string) {
	even, burst := collect(dir, "s3", "eventloop", cpuPer100k), collect(dir, "s3", "eventloop-b", cpuPer100k)
	if even.runs == 0 && burst.runs == 0 {
		return
	}
	fmt.Fprintf(w, "\nS3 as a raw epoll event loop (bench/eventloop, no timing): CPU s per 100k requests evenly spaced %s, in bursts of 50 every 5 ms %s\n", even, burst)
}

// ceilingRows are the closed-loop scenarios, whose req/s is a maximum that
// either the server or the load tool sets: the ones perRep and serverShare
// speak of.
var ceilingRows = []struct{ label, scenario string }{
	{"S1", "s1"}, {"S2", "s2"}, {"S6 keep-alive", "s6ka"}, {"S6 new TLS", "s6new"}, {"S6 resumed TLS", "s6resume"},
}

// perRep prints tailrace's req/s over wrk's for each repetition: the two
// ran one after the other, so each ratio saw about the same machine, and
// their spread shows how far one table's medians can be trusted.
func perRep(w io.Writer, dir string) {
	var parts []string
	for _, s := range ceilingRows {
		outs, _ := filepath.Glob(filepath.Join(dir, s.scenario, "tailrace", "*.out"))
		slices.Sort(outs)
		var rs []string
		for _, o := range outs {
			tr := parseRun("tailrace", o)
			wrk := parseRun("wrk", filepath.Join(dir, s.scenario, "wrk", filepath.Base(o)))
			if tr.rps >= 0 && wrk.rps > 0 {
				rs = append(rs, fmt.Sprintf("%.2f", tr.rps/wrk.rps))
			}
		}
		if len(rs) > 0 {
			parts = append(parts, s.label+" "+strings.Join(rs, " "))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "\ntailrace/wrk req/s in each repetition (run back to back): %s\n", strings.Join(parts, "; "))
	}
}

// serverShare prints the median share of one CPU that nginx's worker used
// during each tool's runs: near 100%, the server was the limit and the
// tools' req/s differ by how well they keep it fed and by noise. The share
// is of the time the tool sent load (its count over its rate), not of its
// process's lifetime: tailrace writes its reports after the load ends.
func serverShare(w io.Writer, dir string) {
	share := func(r result) float64 {
		if r.srvCPU < 0 || r.count <= 0 || r.rps <= 0 {
			return -1
		}
		return 100 * r.srvCPU / (r.count / r.rps)
	}
	var parts []string
	for _, s := range ceilingRows {
		var ts []string
		for _, t := range tools {
			if c := collect(dir, s.scenario, t, share); c.value >= 0 {
				ts = append(ts, fmt.Sprintf("%s %.0f%%", t, c.value))
			}
		}
		if len(ts) > 0 {
			parts = append(parts, s.label+": "+strings.Join(ts, " "))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "\nnginx worker's CPU share while each tool sent load (median): %s\n", strings.Join(parts, "; "))
	}
}
