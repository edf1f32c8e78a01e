package slo_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/reports"
	"github.com/tailrace/tailrace/slo"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical form; "" means an error is expected
		err  []string
	}{
		// The three examples.
		{in: "total.p99<250ms", want: "total.p99<250ms"},
		{in: "errors<0.1%", want: "errors<0.1%"},
		{in: "ttfb.p95<50ms", want: "ttfb.p95<50ms"},
		// p999 is shorthand for p99.9; spaces are ignored.
		{in: " total.p999 <= 1s ", want: "total.p99.9<=1s"},
		{in: "total.p99.9<1.5s", want: "total.p99.9<1.5s"},
		// Any percentile, mean and max.
		{in: "tls.p99.99<800us", want: "tls.p99.99<800µs"},
		{in: "connect.p75<2ms", want: "connect.p75<2ms"},
		{in: "service.mean<10ms", want: "service.mean<10ms"},
		{in: "schedule_lag.max<=5ms", want: "schedule_lag.max<=5ms"},
		// Counts, rates and the other operators.
		{in: "errors<10", want: "errors<10"},
		{in: "dropped<=0", want: "dropped<=0"},
		{in: "dropped<0.5%", want: "dropped<0.5%"},
		{in: "rate>=950/s", want: "rate>=950/s"},
		{in: "rate>100", want: "rate>100/s"},
		// An unknown phase lists the phases.
		{in: "totl.p99<250ms", err: []string{`unknown phase "totl"`, "schedule_lag", "total", "server"}},
		// An unknown statistic lists the statistics.
		{in: "total.p100<1s", err: []string{`unknown statistic "p100"`, "p99.9", "mean"}},
		{in: "total.median<1s", err: []string{`unknown statistic "median"`}},
		{in: "total.p<1s", err: []string{"unknown statistic"}},
		{in: "total.p9.<1s", err: []string{"unknown statistic"}},
		// An unknown metric lists the metrics.
		{in: "latency<1s", err: []string{`unknown metric "latency"`, "errors, dropped, rate"}},
		// Values of the wrong kind.
		{in: "total.p99<250", err: []string{"not a duration"}},
		{in: "total.p99<-5ms", err: []string{"not a duration"}},
		{in: "errors<lots", err: []string{"count or a percentage"}},
		{in: "errors<1e3", err: []string{"count or a percentage"}},
		{in: "rate>fast", err: []string{"requests per second"}},
		// No operator, or no value.
		{in: "total.p99", err: []string{"<name><op><value>"}},
		{in: "total.p99<", err: []string{"no value"}},
		{in: "<5ms", err: []string{"<name><op><value>"}},
	}
	for _, tc := range tests {
		o, err := slo.Parse(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("Parse(%q) = %v, want an error", tc.in, o)
				continue
			}
			if !errors.Is(err, slo.ErrSyntax) {
				t.Errorf("Parse(%q) error %v does not wrap ErrSyntax", tc.in, err)
			}
			for _, s := range append(tc.err, tc.in) {
				if !strings.Contains(err.Error(), strings.TrimSpace(s)) {
					t.Errorf("Parse(%q) error %q does not mention %q", tc.in, err, s)
				}
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := o.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"total.p99<250ms", "errors<0.1%", "ttfb.p95<50ms", "tls.p99.99<=800us",
		"rate>=950/s", "dropped<3", "total.p999<1s", "x.p9<1s", "errors<+5", "total.mean<1h2m3.5s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := slo.Parse(s)
		if err != nil {
			return
		}
		c := o.String()
		o2, err := slo.Parse(c)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", s, c, err)
		}
		if o2 != o {
			t.Fatalf("Parse(%q) = %#v; its String %q parses to %#v", s, o, c, o2)
		}
		if c2 := o2.String(); c2 != c {
			t.Fatalf("String is not stable: %q then %q", c, c2)
		}
	})
}

// results makes two arms: a fast one and a slow one with errors.
func results(t *testing.T) *reports.Results {
	t.Helper()
	arm := func(mode string, base time.Duration, errs int64) reports.Arm {
		h := histogram.New()
		for i := range 1000 {
			h.Record(base + time.Duration(i)*time.Microsecond)
		}
		s, err := reports.Summarize(h)
		if err != nil {
			t.Fatal(err)
		}
		return reports.Arm{Mode: mode, DurationS: 10, Phases: map[string]reports.PhaseSummary{"total": s},
			Counters: histogram.Counters{Intended: 1000, Sent: 1000, Completed: 1000 - errs, Errors: errs}}
	}
	return &reports.Results{Schema: reports.Schema, Arms: []reports.Arm{arm("keepalive", time.Millisecond, 0), arm("close", 5*time.Millisecond, 3)}}
}

func evaluate(t *testing.T, r *reports.Results, exprs ...string) []reports.SLOResult {
	t.Helper()
	var os []slo.SLO
	for _, e := range exprs {
		o, err := slo.Parse(e)
		if err != nil {
			t.Fatal(err)
		}
		os = append(os, o)
	}
	res, err := slo.Evaluate(r, os)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestEvaluate(t *testing.T) {
	r := results(t)
	tests := []struct {
		expr     string
		pass     bool
		observed []string // per arm
	}{
		// Holds in both arms.
		{"total.p99<10ms", true, []string{"1.99ms", "5.99ms"}},
		// Holds in the fast arm only: a violation.
		{"total.p99<5ms", false, []string{"1.99ms", "5.99ms"}},
		// A percentile the summary does not carry is read from the histogram.
		{"total.p99.99<=6ms", true, []string{"2.00ms", "6.00ms"}},
		// Error rate over intended arrivals, and as a count.
		{"errors<0.1%", false, []string{"0%", "0.3%"}},
		{"errors<=3", true, []string{"0", "3"}},
		// Achieved rate: completed per second.
		{"rate>=99.5/s", true, []string{"100.0/s", "99.7/s"}},
		{"rate>99.8", false, []string{"100.0/s", "99.7/s"}},
		// A phase that never happened has no data, and a < limit holds.
		{"tls.p99<1ms", true, []string{"no data", "no data"}},
	}
	for _, tc := range tests {
		res := evaluate(t, r, tc.expr)[0]
		if res.Pass != tc.pass {
			t.Errorf("%s: pass = %v, want %v (%+v)", tc.expr, res.Pass, tc.pass, res.Arms)
		}
		for i, a := range res.Arms {
			if a.Observed != tc.observed[i] {
				t.Errorf("%s: arm %s observed %q, want %q", tc.expr, a.Arm, a.Observed, tc.observed[i])
			}
		}
	}
	if slo.Violated(evaluate(t, r, "total.p99<10ms")) {
		t.Error("Violated reports a passing SLO")
	}
	if !slo.Violated(evaluate(t, r, "total.p99<10ms", "errors<1")) {
		t.Error("Violated misses a failing SLO")
	}
}

func TestJUnit(t *testing.T) {
	r := results(t)
	r.SLOs = evaluate(t, r, "total.p99<10ms", "total.p99<5ms")
	var b bytes.Buffer
	if err := slo.JUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`<testsuite name="tailrace.slo" tests="2" failures="1"`, `<testcase name="total.p99&lt;10ms"`,
		`<failure type="slo" message="violated in close (5.99ms)">`, "keepalive: 1.99ms pass"} {
		if !strings.Contains(out, want) {
			t.Errorf("JUnit output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "<failure") != 1 {
		t.Errorf("want one failure:\n%s", out)
	}
}
