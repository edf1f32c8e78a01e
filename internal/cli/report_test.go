package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailrace/tailrace/cluster"
	"github.com/tailrace/tailrace/reports"
)

// seeded is a results.json made of seeded data (see reports/testdata).
const seeded = "../../reports/testdata/small.results.json"

func coordinator(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Coordinator(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestReportSLOGates re-gates a finished run: a pass exits 0, a violation
// 1, an unknown name 2; --junit has one test case per SLO.
func TestReportSLOGates(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		slos []string
		code int
		want []string // in stdout (the summary) or stderr
	}{
		// Every arm is well under a second at p99, and errors are rare.
		{"pass", []string{"total.p99<1s", "errors<1%"}, ExitOK, []string{"pass  total.p99<1s", "verdict: PASS"}},
		// No arm has a p99 under a millisecond.
		{"violation", []string{"total.p99<1s", "total.p99<1ms"}, ExitSLO, []string{"FAIL  total.p99<1ms", "verdict: FAIL, 1 of 2"}},
		// A misspelt phase is bad usage, and names the phases.
		{"unknown phase", []string{"totl.p99<1s"}, ExitUsage, []string{`unknown phase "totl"`, "schedule_lag"}},
		// So is a statistic that does not exist.
		{"unknown stat", []string{"total.p101<1s"}, ExitUsage, []string{`unknown statistic "p101"`}},
	}
	for _, tc := range tests {
		junit := filepath.Join(dir, tc.name+".xml")
		args := []string{"report", seeded, "--format", "text", "--junit", junit}
		for _, s := range tc.slos {
			args = append(args, "--slo", s)
		}
		code, out, errs := coordinator(t, args...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", tc.name, code, tc.code, out, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(out+errs, w) {
				t.Errorf("%s: output lacks %q\nstdout: %s\nstderr: %s", tc.name, w, out, errs)
			}
		}
		if tc.code == ExitUsage {
			if _, err := os.Stat(junit); err == nil {
				t.Errorf("%s: bad usage still wrote %s", tc.name, junit)
			}
			continue
		}
		x, err := os.ReadFile(junit)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(x), "<testcase "); n != len(tc.slos) {
			t.Errorf("%s: %d test cases, want %d", tc.name, n, len(tc.slos))
		}
		if fails := strings.Count(string(x), "<failure "); (fails > 0) != (tc.code == ExitSLO) {
			t.Errorf("%s: %d failures in JUnit for exit %d", tc.name, fails, tc.code)
		}
	}
}

// TestRunSLOValidatedBeforeRun checks that a bad --slo stops the run
// before any load is sent (the target does not exist: running would fail
// differently), and that the out directory stays empty.
func TestRunSLOValidatedBeforeRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	code, _, errs := coordinator(t, "run", "--rate", "10", "--duration", "1s", "--out", out, "--slo", "ttfb.p95<50", "http://127.0.0.1:1/")
	if code != ExitUsage || !strings.Contains(errs, "not a duration") {
		t.Fatalf("exit %d, stderr %q; want 2 and the bad value named", code, errs)
	}
	if _, err := os.Stat(filepath.Join(out, "results.json")); err == nil {
		t.Error("a bad --slo still ran the test")
	}
}

// TestRunWritesReportsAndGates runs a short test against the built-in
// target with an impossible SLO: exit 1, and every output is written.
func TestRunWritesReportsAndGates(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a one-second load test")
	}
	dir := t.TempDir()
	junit := filepath.Join(dir, "slo.xml")
	code, out, errs := coordinator(t, "run", "--rate", "50", "--duration", "1s", "--quiet", "--modes", "keepalive,close",
		"--out", dir, "--slo", "total.p99<1us", "--slo", "errors<100%", "--junit", junit)
	if code != ExitSLO {
		t.Fatalf("exit %d, want %d (an SLO violated)\nstdout: %s\nstderr: %s", code, ExitSLO, out, errs)
	}
	for _, f := range []string{"results.json", "report.html", "compare.html", "timeseries.csv", "keepalive.hgrm", "close.hgrm",
		"hlog/keepalive/total.hlog", "hlog/close/tls.hlog", "slo.xml"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	r, err := reports.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.SLOs) != 2 || r.SLOs[0].Pass || !r.SLOs[1].Pass {
		b, _ := json.Marshal(r.SLOs)
		t.Errorf("results.json SLOs = %s; want the first violated, the second held", b)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte("total.p99&lt;1µs")) || !bytes.Contains(page, []byte(">FAIL<")) {
		t.Error("report.html does not show the violated SLO")
	}
	if !strings.Contains(out, "FAIL  total.p99<1µs") {
		t.Errorf("the summary does not show the violated SLO:\n%s", out)
	}
}

func TestReportFormats(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string // in stdout
	}{
		// The summary, as run prints it.
		{[]string{"--format", "text"}, "== arm keepalive"},
		// The time series.
		{[]string{"--format", "csv"}, "arm,interval,start_s"},
		// A percentile distribution of a chosen arm and phase.
		{[]string{"--format", "hgrm", "--arm", "close", "--phase", "tls"}, "Percentile"},
		// HTML goes to a file.
		{[]string{"-o", filepath.Join(dir, "r.html")}, ""},
		// --out writes every derived file.
		{[]string{"--out", filepath.Join(dir, "all")}, "report: "},
	}
	for _, tc := range tests {
		code, out, errs := coordinator(t, append([]string{"report", seeded}, tc.args...)...)
		if code != ExitOK || !strings.Contains(out, tc.want) {
			t.Errorf("report %v: exit %d, stdout %.200q, stderr %q", tc.args, code, out, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "all", "hlog", "resume", "ttfb.hlog")); err != nil {
		t.Error(err)
	}
	bad := [][]string{{"--format", "pdf"}, {"--format", "hgrm", "--arm", "h3"}, {"--format", "hgrm", "--phase", "ttlb"}}
	for _, args := range bad {
		if code, _, _ := coordinator(t, append([]string{"report", seeded}, args...)...); code != ExitUsage {
			t.Errorf("report %v: exit %d, want 2", args, code)
		}
	}
	if code, _, _ := coordinator(t, "report", filepath.Join(dir, "missing.json")); code != ExitUsage {
		t.Errorf("report of a missing file: exit %d, want 2", code)
	}
}

func TestCompareCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "c.html")
	code, stdout, errs := coordinator(t, "compare", seeded, seeded, "--names", "before,after", "-o", out)
	if code != ExitOK {
		t.Fatalf("exit %d: %s %s", code, stdout, errs)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte("after close vs before keepalive")) {
		t.Error("compare.html does not label the arms by run")
	}
	if code, _, _ := coordinator(t, "compare"); code != ExitUsage {
		t.Errorf("compare with no file: exit %d, want 2", code)
	}
	if code, _, _ := coordinator(t, "compare", seeded, "--names", "a,b"); code != ExitUsage {
		t.Errorf("compare with too many names: exit %d, want 2", code)
	}
}

func TestRunLabels(t *testing.T) {
	got := runLabels([]string{"a.json", "x/results.json", "y/b.json", "z/b.json"})
	want := []string{"a", "x", "y/b.json", "z/b.json"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("runLabels = %q, want %q", got, want)
			break
		}
	}
}

// TestExitCodeSLO: a violated SLO exits 1, but an incomplete run exits 3
// even if an SLO was violated too.
func TestExitCodeSLO(t *testing.T) {
	if got := ExitCode(ErrSLO); got != ExitSLO {
		t.Errorf("ExitCode(ErrSLO) = %d, want %d", got, ExitSLO)
	}
	both := errors.Join(fmt.Errorf("%w: worker lost", cluster.ErrIncomplete), ErrSLO)
	if got := ExitCode(both); got != ExitIncomplete {
		t.Errorf("incomplete and violated: exit %d, want %d", got, ExitIncomplete)
	}
}
