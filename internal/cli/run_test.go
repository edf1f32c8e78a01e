package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tailrace/tailrace/reports"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Coordinator(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunBadInputExits2(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // substrings the error must contain
	}{
		// Not a URL tailrace can send to.
		{"invalid url", []string{"run", "--rate", "10", "ftp://x/"}, []string{"target URL", "http://"}},
		// A rate of zero or below.
		{"zero rate", []string{"run", "--rate", "0", "http://127.0.0.1:1/"}, []string{"--rate", "0"}},
		{"negative rate", []string{"run", "--rate=-5", "http://127.0.0.1:1/"}, []string{"--rate"}},
		// Stages that do not parse name the item and the expected form.
		{"malformed stages", []string{"run", "--stages", "30s:fast", "http://127.0.0.1:1/"}, []string{"--stages", "DURATION:RATE"}},
		// A mode that does not exist lists the ones that do.
		{"unknown mode", []string{"run", "--rate", "10", "--mode", "pipelined", "http://127.0.0.1:1/"}, []string{"--mode", "keepalive, close, resume or h2"}},
		{"unknown mode in modes", []string{"run", "--rate", "10", "--modes", "keepalive,h3", "http://127.0.0.1:1/"}, []string{"--modes", "h3"}},
		// A pacer that does not exist lists the ones that do.
		{"unknown pacer", []string{"run", "--rate", "10", "--pacer", "spin", "http://127.0.0.1:1/"}, []string{"--pacer", `"spin"`, "sleep, precise or tick"}},
		// A tick is the tick pacer's grid, within bounds.
		{"tick without tick pacer", []string{"run", "--rate", "10", "--tick", "5ms", "http://127.0.0.1:1/"}, []string{"--tick 5ms", "--pacer is sleep"}},
		{"tick out of range", []string{"run", "--rate", "10", "--pacer", "tick", "--tick", "10us", "http://127.0.0.1:1/"}, []string{"--tick 10µs", "100µs to 1s"}},
		// A body file that cannot be read.
		{"unreadable body file", []string{"run", "--rate", "10", "--body-file", "/nonexistent/body", "http://127.0.0.1:1/"}, []string{"--body-file", "/nonexistent/body"}},
		// Verify with a CA and skip verification: pick one.
		{"insecure with cacert", []string{"run", "--rate", "10", "--insecure", "--cacert", "/etc/hostname", "https://127.0.0.1:1/"}, []string{"--insecure", "--cacert"}},
		// A minimum above the maximum.
		{"tls min above max", []string{"run", "--rate", "10", "--tls-min", "1.3", "--tls-max", "1.2", "https://127.0.0.1:1/"}, []string{"--tls-min 1.3", "--tls-max 1.2"}},
		{"bad tls version", []string{"run", "--rate", "10", "--tls-min", "1.1", "https://127.0.0.1:1/"}, []string{"--tls-min", "1.2 or 1.3"}},
		// Key-exchange groups that are not a list of known names, each once.
		{"unknown tls group", []string{"run", "--rate", "10", "--tls-groups", "x25519,x448", "https://127.0.0.1:1/"}, []string{"--tls-groups", `"x448"`, "x25519mlkem768, x25519, p256, p384 or p521"}},
		{"empty tls group", []string{"run", "--rate", "10", "--tls-groups", "x25519,,p256", "https://127.0.0.1:1/"}, []string{"--tls-groups", "empty", "x25519mlkem768, x25519, p256, p384 or p521"}},
		{"empty tls groups", []string{"run", "--rate", "10", "--tls-groups=", "https://127.0.0.1:1/"}, []string{"--tls-groups", "empty", "x25519mlkem768, x25519, p256, p384 or p521"}},
		{"tls group twice", []string{"run", "--rate", "10", "--tls-groups", "x25519,p256,X25519", "https://127.0.0.1:1/"}, []string{"--tls-groups", "x25519 listed twice", "x25519mlkem768, x25519, p256, p384 or p521"}},
		{"tls group needs 1.3", []string{"run", "--rate", "10", "--tls-groups", "x25519mlkem768", "--tls-max", "1.2", "https://127.0.0.1:1/"}, []string{"--tls-groups x25519mlkem768", "--tls-max is 1.2"}},
		// A profile that cannot be created: refused before anything is sent.
		{"unwritable memprofile", []string{"run", "--rate", "10", "--memprofile", "/nonexistent/dir/mem.prof", "http://127.0.0.1:1/"}, []string{"--memprofile", "/nonexistent/dir/mem.prof"}},
		{"unwritable cpuprofile", []string{"run", "--rate", "10", "--cpuprofile", "/nonexistent/dir/cpu.prof", "http://127.0.0.1:1/"}, []string{"--cpuprofile", "/nonexistent/dir/cpu.prof"}},
		// TLS flags with a plain http target.
		{"tls flags on http", []string{"run", "--rate", "10", "--insecure", "http://127.0.0.1:1/"}, []string{"https://"}},
		{"tls groups on http", []string{"run", "--rate", "10", "--tls-groups", "x25519", "http://127.0.0.1:1/"}, []string{"--tls-groups", "https://"}},
		// No rate at all.
		{"no rate", []string{"run", "http://127.0.0.1:1/"}, []string{"--rate is required"}},
		// Both ways of giving a rate.
		{"rate and stages", []string{"run", "--rate", "10", "--stages", "1s:10", "http://127.0.0.1:1/"}, []string{"--rate and --stages"}},
		// A header without a colon.
		{"bad header", []string{"run", "--rate", "10", "-H", "NoColon", "http://127.0.0.1:1/"}, []string{"header", "Name: value"}},
		// A --resolve that is not host:port:addr.
		{"bad resolve", []string{"run", "--rate", "10", "--resolve", "example.com:443", "http://127.0.0.1:1/"}, []string{"--resolve", "HOST:PORT:ADDR"}},
		// Weights that do not match the workers.
		{"weights count", []string{"run", "--rate", "10", "--local", "2", "--weights", "1,2,3", "http://127.0.0.1:1/"}, []string{"--weights", "2 workers"}},
		// An unknown flag.
		{"unknown flag", []string{"run", "--rates", "10", "http://127.0.0.1:1/"}, []string{"--rates"}},
		// An unknown subcommand.
		{"unknown command", []string{"rn"}, []string{"unknown command", "rn"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != ExitUsage {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, ExitUsage, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// --tls-groups reaches the engine: a run over TLS with groups the built-in
// target accepts completes every request (loadgen's TestTLSGroupsOffered
// checks what the ClientHellos offer).
func TestRunTLSGroups(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "run", "--mode", "close", "--tls-groups", "P256,x25519", "--rate", "20", "--duration", "1s", "--out", dir, "-q")
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	r, err := reports.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Arms[0].Counters; c.Completed != 20 || c.Errors != 0 {
		t.Errorf("counters %+v, want 20 completed and no errors", c)
	}
}

// TestRunProfiles: --cpuprofile and --memprofile write pprof profiles
// (gzip) of the run.
func TestRunProfiles(t *testing.T) {
	defer func(r int) { runtime.MemProfileRate = r }(runtime.MemProfileRate)
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
	code, stdout, stderr := runCLI(t, "run", "--rate", "50", "--duration", "1s", "--cpuprofile", cpu, "--memprofile", mem, "-q")
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, prof := range []string{cpu, mem} {
		b, err := os.ReadFile(prof)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 100 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s is %d bytes and not gzip: %q", filepath.Base(prof), len(b), b[:min(len(b), 8)])
		}
	}
	if runtime.MemProfileRate != memProfileRate {
		t.Errorf("MemProfileRate %d, want %d with --memprofile", runtime.MemProfileRate, memProfileRate)
	}
}

func TestRunBuiltinTargetWritesResults(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "run", "--local", "2", "--modes", "keepalive,h2", "--rate", "100", "--duration", "1s", "--out", dir, "-q")
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, w := range []string{"== arm keepalive", "== arm h2", "arms side by side", "tail breakdown", "total", "response"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("summary lacks %q", w)
		}
	}
	r, err := reports.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Arms) != 2 || len(r.Workers) != 2 {
		t.Fatalf("%d arms, %d workers; want 2 and 2", len(r.Arms), len(r.Workers))
	}
	for _, a := range r.Arms {
		// Two workers split 100 arrivals exactly: their union is the schedule.
		if a.Counters.Intended != 100 || a.Counters.Completed != 100 {
			t.Errorf("arm %s: counters %+v, want 100 intended and completed", a.Mode, a.Counters)
		}
		if s := a.Phases["total"]; s.Count != 100 || s.Hist == "" {
			t.Errorf("arm %s: total summary %+v", a.Mode, s)
		}
	}
	// The stable core's field names (DESIGN.md §8) are present.
	raw, _ := os.ReadFile(filepath.Join(dir, "results.json"))
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "plan", "started_at", "duration_s", "workers", "arms", "warnings"} {
		if _, ok := m[k]; !ok {
			t.Errorf("results.json lacks %q", k)
		}
	}
}

// --pacer tick with --tick reaches both local workers, which send every
// arrival, and results.json records the grid.
func TestRunTickPacer(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "run", "--local", "2", "--pacer", "tick", "--tick", "2ms", "--rate", "400", "--duration", "1s", "--out", dir, "-q")
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	r, err := reports.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Plan.Pacer != "tick" || r.Plan.Tick != "2ms" {
		t.Errorf("plan pacer %q tick %q, want tick and 2ms", r.Plan.Pacer, r.Plan.Tick)
	}
	if c := r.Arms[0].Counters; c.Intended != 400 || c.Completed != 400 {
		t.Errorf("counters %+v, want 400 intended and completed", c)
	}
}

func TestReportRebuildsFromJournal(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "run", "--rate", "50", "--duration", "1s", "--out", dir, "-q"); code != ExitOK {
		t.Fatalf("run exit %d: %s", code, stderr)
	}
	want, err := reports.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	// A crashed coordinator leaves its journal but no results.json.
	os.Remove(filepath.Join(dir, "results.json"))
	out := filepath.Join(t.TempDir(), "report.txt")
	if code, _, stderr := runCLI(t, "report", "--format", "text", "-o", out, dir); code != ExitOK {
		t.Fatalf("report exit %d: %s", code, stderr)
	}
	text, _ := os.ReadFile(out)
	if !strings.Contains(string(text), "completed 50") {
		t.Errorf("report rebuilt from the journal lacks the 50 completed requests:\n%s", text)
	}
	if got := want.Arms[0].Counters.Completed; got != 50 {
		t.Errorf("results.json says %d completed, want 50", got)
	}
}
