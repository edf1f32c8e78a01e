package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailrace/tailrace/reports"
)

func workerCLI(t *testing.T, ctx context.Context, args ...string) (code int, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Worker(ctx, args, &out, &errb)
	return code, errb.String()
}

func TestWorkerBadInputExits2(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no join", nil, "--join HOST:PORT is required"},                                                    // nowhere to go
		{"join without port", []string{"--join", "coordinator"}, "want host:port"},                          // a host alone
		{"bad allow-target", []string{"--join", "127.0.0.1:1", "--allow-target", "10.0.0.0/40"}, "CIDR"},    // no such prefix
		{"bad max-rate", []string{"--join", "127.0.0.1:1", "--max-rate", "fast"}, "--max-rate"},             // not a rate
		{"cert without key", []string{"--join", "127.0.0.1:1", "--tls-cert", "/etc/hostname"}, "--tls-key"}, // half a key pair
		{"stray argument", []string{"--join", "127.0.0.1:1", "extra"}, "unexpected argument"},               // all settings are flags
	} {
		code, stderr := workerCLI(t, context.Background(), tc.args...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tc.name, code, stderr, tc.want)
		}
	}
}

func TestRunDistributedFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"listen without workers", []string{"run", "--rate", "10", "--listen", "0.0.0.0:7070", "http://127.0.0.1:1/"}, "needs --workers"},                      // nothing would join
		{"no workers at all", []string{"run", "--rate", "10", "--local", "0", "http://127.0.0.1:1/"}, "--local 0"},                                             // nobody generates load
		{"bad loss policy", []string{"run", "--rate", "10", "--workers", "1", "--on-worker-loss", "pause", "http://127.0.0.1:1/"}, "continue or abort"},        // two policies exist
		{"weights for all workers", []string{"run", "--rate", "10", "--local", "1", "--workers", "2", "--weights", "1,1", "http://127.0.0.1:1/"}, "3 workers"}, // locals and remotes
		{"tls-ca alone", []string{"run", "--rate", "10", "--workers", "1", "--tls-ca", "/etc/hostname", "http://127.0.0.1:1/"}, "--tls-cert"},                  // mTLS needs our own cert
		{"exposed without auth", []string{"run", "--rate", "10", "--workers", "1", "--listen", "0.0.0.0:0", "http://127.0.0.1:1/"}, "without a token or mutual TLS"},
		{"builtin target, remote hosts", []string{"run", "--rate", "10", "--workers", "1", "--listen", "0.0.0.0:0", "--token", "x"}, "built-in target"}, // unreachable from elsewhere
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tc.name, code, stderr, tc.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe to write from one goroutine while
// another reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCoordinatorAndWorkers runs `coordinator run --workers 2 --local 1`
// and two `worker` commands in process: the flags, the printed address, the
// journal and each worker's own results.
func TestCoordinatorAndWorkers(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer target.Close()
	out := t.TempDir()
	var stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- Coordinator(context.Background(), []string{"run", "--workers", "2", "--local", "1", "--listen", "127.0.0.1:0",
			"--token", "tok", "--rate", "150", "--duration", "1s", "--weights", "1,1,1", "--out", out, "-q", target.URL + "/"}, &bytes.Buffer{}, &stderr)
	}()
	re := regexp.MustCompile(`listening on (\S+),`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no listen address printed: %q", stderr.String())
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatalf("printed address %q: %v", addr, err)
	}
	t.Setenv("TAILRACE_TOKEN", "tok") // the workers take the token from the environment
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b"} {
		wg.Go(func() {
			if c, errs := workerCLI(t, context.Background(), "--join", addr, "--name", name, "--out", filepath.Join(out, name), "-q"); c != ExitOK {
				t.Errorf("worker %s exited %d: %s", name, c, errs)
			}
		})
	}
	select {
	case c := <-code:
		if c != ExitOK {
			t.Fatalf("coordinator exited %d: %s", c, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("coordinator still running after 60s")
	}
	wg.Wait()
	res := readJSON(t, filepath.Join(out, "results.json"))
	if res.Arms[0].Counters.Sent != 150 || len(res.Workers) != 3 || res.Workers[1].Name != "a" || res.Workers[1].Local {
		t.Errorf("sent %d by %+v", res.Arms[0].Counters.Sent, res.Workers)
	}
	for _, name := range []string{"a", "b"} {
		own := readJSON(t, filepath.Join(out, name, "results.json"))
		if own.Arms[0].Counters.Sent != 50 {
			t.Errorf("worker %s recorded %d requests of its own, want 50", name, own.Arms[0].Counters.Sent)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "journal")); err != nil {
		t.Errorf("no journal: %v", err)
	}
}

func readJSON(t *testing.T, path string) *reports.Results {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r reports.Results
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}
