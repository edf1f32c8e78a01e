package target

import (
	"crypto/tls"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// slack is how late a delay may be observed by a client over loopback on a
// busy two-core machine running -race; early is never allowed.
const slack = 50 * time.Millisecond

// attempts is how many tries a timing check gets to come in under its
// upper bound; its lower bound must hold on every try.
const attempts = 3

func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// newClient returns a keep-alive client that verifies s's certificate;
// edit changes its transport.
func newClient(t testing.TB, s *Server, edit func(*http.Transport)) *http.Client {
	t.Helper()
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: s.CertPool()},
		MaxIdleConnsPerHost: 128,
	}
	if edit != nil {
		edit(tr)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// get performs a GET and reads the body, returning when the headers and
// the body arrived, measured from just before sending.
func get(t testing.TB, c *http.Client, url string) (resp *http.Response, body []byte, headers, done time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	headers = time.Since(start)
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp, body, headers, time.Since(start)
}

// parseServerTiming reads the total entry of a Server-Timing header.
func parseServerTiming(t testing.TB, h string) time.Duration {
	t.Helper()
	v, ok := strings.CutPrefix(h, "total;dur=")
	if !ok {
		t.Fatalf("Server-Timing %q: no total;dur=", h)
	}
	ms, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("Server-Timing %q: %v", h, err)
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// serverGoroutines lists the stacks of goroutines serving a target.
func serverGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, sig := range []string{
			"tailrace/target.(*",
			"net/http.(*conn).serve",
			"net/http.(*http2serverConn)",
			"net/http.(*Server).Serve",
		} {
			if strings.Contains(g, sig) {
				found = append(found, g)
				break
			}
		}
	}
	return found
}

func readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
