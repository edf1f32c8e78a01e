package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tailrace/tailrace/reports"
	"github.com/tailrace/tailrace/target"
)

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Plan errors exit 2 and point at the line and column.
func TestPlanErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, plan string
		args       []string
		want       []string
	}{
		// A strict-field error.
		{"unknown field", "rate: 10\nduraton: 1s\n", nil, []string{"p.yaml:2:1:", `unknown field "duraton"`, `did you mean "duration"`}},
		// A type error.
		{"type", "rate: 10\nconnections: lots\n", nil, []string{"p.yaml:2:14:", "want an integer"}},
		// A semantic error.
		{"weight", "rate: 10\nrequests:\n  - {url: /a, weight: -1}\n", nil, []string{"p.yaml:3:23:", "must be a positive number"}},
		// A syntax error: the line.
		{"syntax", "rate: 10\n  duration: [\n", nil, []string{"p.yaml:2:", "YAML syntax"}},
		// A bad --expect-status on the command line.
		{"expect", "rate: 10\n", []string{"--expect-status", "2xx,abc"}, []string{"--expect-status", "2xx,abc"}},
		// A bad expect_status in the plan.
		{"expect in plan", "rate: 10\nexpect_status: 7xx\n", nil, []string{"p.yaml:2:16:", "expect_status"}},
		// A targets file with a bad line.
		{"targets", "rate: 10\ntargets: t.txt\n", nil, []string{"t.txt:1:5:", "is not an http:// or https:// URL"}},
	}
	writeFile(t, dir, "t.txt", "GET /relative\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, dir, "p.yaml", tt.plan)
			for _, cmd := range []string{"run", "plan", "search"} {
				args := append([]string{cmd, "--plan", p}, tt.args...)
				if cmd == "search" {
					args = append(args, "--from", "1", "--to", "2", "--slo", "errors<1")
				}
				code, _, stderr := runCLI(t, args...)
				if code != ExitUsage {
					t.Errorf("%s: exit code %d, want %d; stderr:\n%s", cmd, code, ExitUsage, stderr)
				}
				for _, w := range tt.want {
					if !strings.Contains(stderr, w) {
						t.Errorf("%s: stderr does not mention %q:\n%s", cmd, w, stderr)
					}
				}
			}
		})
	}
}

func TestPlanCommand(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "plan.yaml", `
stages: 10s:100
seed: 3
local: 3
headers: {X-Env: test}
requests:
  - {label: a, url: "/?ttfb=5ms", weight: 70}
  - {label: b, url: "/?ttfb=20ms", weight: 20}
  - {label: c, url: "/?ttfb=1ms", weight: 10, method: POST, body: hi}
`)
	code, stdout, stderr := runCLI(t, "plan", p)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{
		"rate: 100\n", "duration: 10s\n", "seed: 3\n", "local: 3\n", "- 'X-Env: test'", // the effective plan
		"local-2    2:3/3  33.3%       333", // the split: exact counts for the constant process
		"block of 10 arrivals",              // the mix
		"a      70      70.0%", "c      10      10.0%  POST",
		"first arrivals", "0  0s    local-0  a", "5  50ms  local-1  b", // the first arrivals, by worker, with labels
	} {
		if !strings.Contains(stdout, w) {
			t.Errorf("output does not contain %q:\n%s", w, stdout)
		}
	}
	// Flags override the file: a rate replaces its stages.
	code, stdout, stderr = runCLI(t, "plan", p, "--rate", "77", "--local", "2", "--seed", "9")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"rate: 77\n", "seed: 9\n", "local: 2\n", "local-1    1:2/2  50.0%"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("with flags: output does not contain %q:\n%s", w, stdout)
		}
	}
}

// A single-request plan runs as the same flags would.
func TestRunPlanFile(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "plan.yaml", "rate: 40\nduration: 1s\nquiet: true\ntarget_params: ttfb=1ms\nslo: [errors<1]\n")
	code, stdout, stderr := runCLI(t, "run", "--plan", p, "--out", dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "stages 1s:40") || !strings.Contains(stdout, "errors<1") {
		t.Errorf("summary:\n%s", stdout)
	}
}

// The per-label acceptance test of issue 5, end to end: three workers, a
// 70/20/10 mix whose labels have different ttfbs; each label's count is its
// exact share and its ttfb p50 is its own.
func TestRunMixPerLabel(t *testing.T) {
	dir := t.TempDir()
	tgt, err := target.Start(target.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	p := writeFile(t, dir, "plan.yaml", `
target: `+tgt.URL()+`/
rate: 100
duration: 2s
local: 3
quiet: true
requests:
  - {label: a, url: "/?ttfb=5ms", weight: 70}
  - {label: b, url: "/?ttfb=20ms", weight: 20}
  - {label: c, url: "/?ttfb=1ms", method: POST, body: hi, weight: 10}
`)
	// Timing on a shared machine: a run whose ttfbs a busy CPU inflated
	// gets another try; the counts must be exact every time.
	var res *reports.Results
	var stdout string
	for attempt := 1; attempt <= 3; attempt++ {
		code, out, stderr := runCLI(t, "run", "--plan", p, "--out", dir)
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var err error
		if res, err = reports.ReadFile(filepath.Join(dir, "results.json")); err != nil {
			t.Fatal(err)
		}
		stdout = out
		a := res.Arms[0]
		var late []string
		for _, l := range []struct {
			name  string
			count int64
			ttfb  time.Duration
		}{{"a", 140, 5 * time.Millisecond}, {"b", 40, 20 * time.Millisecond}, {"c", 20, time.Millisecond}} {
			got := a.Labels[l.name]
			p50 := time.Duration(got.Phases["ttfb"].P50US) * time.Microsecond
			if got.Counters.Intended != l.count || got.Counters.Errors != 0 {
				t.Errorf("label %s: %d intended, %d errors; want %d, 0", l.name, got.Counters.Intended, got.Counters.Errors, l.count)
			}
			if p50 < l.ttfb || p50 > l.ttfb+3*time.Millisecond {
				late = append(late, fmt.Sprintf("label %s: ttfb p50 %v, want within [%v, %v]", l.name, p50, l.ttfb, l.ttfb+3*time.Millisecond))
			}
			t.Logf("attempt %d: label %s: %d requests, ttfb p50 %v", attempt, l.name, got.Counters.Intended, p50)
		}
		if len(late) == 0 {
			break
		}
		if attempt == 3 {
			t.Error(strings.Join(late, "; "))
		}
	}
	if len(res.Plan.Requests) != 3 || res.Plan.Requests[0].Share != 0.7 || res.Plan.PlanFile != p {
		t.Errorf("plan %+v", res.Plan)
	}
	if !strings.Contains(stdout, "per label:") || !strings.Contains(stdout, "mix of 3 requests: a 70.0%") {
		t.Errorf("summary:\n%s", stdout)
	}
}
