package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/reports"
)

// The tests in this package run tailrace as its users do: a coordinator, a
// calibration target and worker processes, built from this tree.

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binaries builds coordinator, worker and target once per test run and
// returns the directory holding them. Under the race detector it skips the
// test: the processes it starts are not instrumented anyway, and their load
// would disturb the timing tests of the packages tested beside this one
// (CI runs these tests in a step of their own).
func binaries(t *testing.T) string {
	t.Helper()
	if raceEnabled {
		t.Skip("multi-process test: run it without -race (go test ./cmd/worker/)")
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "tailrace-bin")
		if binErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(os.PathSeparator), "../coordinator", "../worker", "../target")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out.String())
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir
}

// proc is a child process whose output is kept line by line.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  []string // stdout and stderr lines, in arrival order
	seen chan struct{}
	done chan struct{}
	code int
	at   time.Time // when it exited
}

// start runs argv (through `ip netns exec NS` when ns is set). It is killed
// by PID when the test ends.
func start(t *testing.T, name, ns string, argv ...string) *proc {
	t.Helper()
	if ns != "" {
		argv = append([]string{"ip", "netns", "exec", ns}, argv...)
	}
	p := &proc{name: name, cmd: exec.Command(argv[0], argv[1:]...), seen: make(chan struct{}, 1), done: make(chan struct{})}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		wg.Go(func() {
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				p.mu.Lock()
				p.out = append(p.out, sc.Text())
				p.mu.Unlock()
				select {
				case p.seen <- struct{}{}:
				default:
				}
			}
		})
	}
	go func() {
		wg.Wait()
		p.cmd.Wait()
		p.at = time.Now()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s (pid %d) did not exit after SIGKILL", name, p.cmd.Process.Pid)
		}
		if t.Failed() {
			t.Logf("--- %s output:\n%s", name, p.output())
		}
	})
	return p
}

func (p *proc) kill() { p.cmd.Process.Signal(syscall.SIGKILL) }

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.out, "\n")
}

// waitLine waits up to d for a line matching re and returns its submatches.
func (p *proc) waitLine(t *testing.T, re *regexp.Regexp, d time.Duration) []string {
	t.Helper()
	deadline := time.After(d)
	for {
		p.mu.Lock()
		for _, l := range p.out {
			if m := re.FindStringSubmatch(l); m != nil {
				p.mu.Unlock()
				return m
			}
		}
		p.mu.Unlock()
		select {
		case <-p.seen:
		case <-p.done:
			select {
			case <-p.seen:
				continue
			default:
			}
			t.Fatalf("%s exited (code %d) before printing a line matching %q", p.name, p.code, re)
		case <-deadline:
			t.Fatalf("%s printed no line matching %q within %v", p.name, re, d)
		}
	}
}

// wait waits up to d for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(d):
		t.Fatalf("%s still running after %v", p.name, d)
		return -1
	}
}

func readResults(t *testing.T, path string) *reports.Results {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r reports.Results
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &r
}

// checkRun checks a clean distributed run of rate/s for d against its
// results: the merged count, each worker's share of it, and that the
// merged histograms are exactly the merge of the workers' own.
func checkRun(t *testing.T, out string, names []string, rate float64, d time.Duration) {
	t.Helper()
	res := readResults(t, filepath.Join(out, "results.json"))
	if len(res.Arms) != 1 {
		t.Fatalf("%d arms, want 1", len(res.Arms))
	}
	arm := res.Arms[0]
	want := rate * d.Seconds()
	for what, got := range map[string]int64{"sent": arm.Counters.Sent, "completed": arm.Counters.Completed} {
		if dev := abs(float64(got)-want) / want; dev > 0.005 {
			t.Errorf("merged %s %d, want %.0f within 0.5%% (off by %.2f%%)", what, got, want, 100*dev)
		}
	}
	merged := map[string]*histogram.Hist{}
	for _, name := range names {
		own := readResults(t, filepath.Join(out, name, "results.json"))
		if len(own.Arms) != 1 {
			t.Fatalf("worker %s recorded %d arms, want 1", name, len(own.Arms))
		}
		var share reports.Worker
		for _, w := range res.Workers {
			if w.Name == name {
				share = w
			}
		}
		got := float64(own.Arms[0].Counters.Sent) / float64(arm.Counters.Sent)
		if share.Name == "" || abs(got-share.Share) > 0.01*share.Share {
			t.Errorf("worker %s sent %.4f of the requests, want its segment's %.4f within 1%%", name, got, share.Share)
		}
		for phase, s := range own.Arms[0].Phases {
			h, err := reports.DecodeHist(s.Hist)
			if err != nil {
				t.Fatal(err)
			}
			if merged[phase] == nil {
				merged[phase] = histogram.New()
			}
			merged[phase].Merge(h)
		}
	}
	for phase, s := range arm.Phases {
		h, err := reports.DecodeHist(s.Hist)
		if err != nil {
			t.Fatal(err)
		}
		if m := merged[phase]; m == nil || !m.Equal(h) {
			t.Errorf("phase %s: the coordinator's histogram is not the merge of the workers' own", phase)
		}
	}
	if res.Incomplete {
		t.Errorf("clean run marked incomplete: %q", res.Warnings)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
