package cluster

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/test/bufconn"

	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/schedule"
)

// countingTarget is an HTTP target that counts requests and remembers when
// the last one arrived, and counts its open connections.
type countingTarget struct {
	*httptest.Server
	n     atomic.Int64
	last  atomic.Int64 // unix ns
	conns atomic.Int64 // open: accepted and not yet closed
}

func newTarget(t *testing.T) *countingTarget {
	ct := &countingTarget{}
	ct.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct.n.Add(1)
		ct.last.Store(time.Now().UnixNano())
		w.Write([]byte("ok"))
	}))
	ct.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			ct.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			ct.conns.Add(-1)
		}
	}
	ct.Start()
	t.Cleanup(ct.Close)
	return ct
}

// drained waits until the target has no open connection: once a client has
// closed its connections, the server has read (and counted) every request
// written on them. False if that takes longer than within.
func (ct *countingTarget) drained(within time.Duration) bool {
	for deadline := time.Now().Add(within); ct.conns.Load() != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

func (ct *countingTarget) lastAt() time.Time { return time.Unix(0, ct.last.Load()) }

func (ct *countingTarget) engine(t *testing.T) loadgen.Config {
	u, err := url.Parse(ct.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	return loadgen.Config{URL: u, Connections: 4, Shards: 1, Exemplars: 4, Timeout: 5 * time.Second}
}

func steady(rate float64, d time.Duration) schedule.Plan {
	return schedule.Plan{Stages: schedule.Steady(rate, d), Process: schedule.Constant, Seed: 1}
}

// testNet is a coordinator's Server on an in-memory listener.
type testNet struct {
	lis *bufconn.Listener
	srv *Server
	log io.Writer // both ends' log lines, shown when the test fails

	mu    sync.Mutex
	conns map[string][]*cuttable // by worker name
}

func startServer(t *testing.T, cfg ServerConfig) *testNet {
	t.Helper()
	lw := &testLog{t: t}
	if cfg.Log == nil {
		cfg.Log = lw
	}
	n := &testNet{lis: bufconn.Listen(1 << 20), srv: NewServer(cfg), log: lw, conns: map[string][]*cuttable{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.srv.Serve(n.lis)
	}()
	t.Cleanup(func() {
		n.srv.Close()
		<-done
		lw.mu.Lock()
		lw.t = nil // the test is over: later lines are dropped
		lw.mu.Unlock()
	})
	return n
}

// testLog writes log lines to the test's log, shown when it fails.
type testLog struct {
	mu sync.Mutex
	t  *testing.T
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.t != nil {
		l.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

// join returns a worker configuration that dials this net; the worker's
// connections can be cut by name.
func (n *testNet) join(name string) JoinConfig {
	return JoinConfig{
		Addr: "bufnet", Name: name, JoinTimeout: 10 * time.Second, OrphanTimeout: 5 * time.Second, Log: n.log,
		Dial: func(ctx context.Context, _ string) (net.Conn, error) {
			c, err := n.lis.DialContext(ctx)
			if err != nil {
				return nil, err
			}
			cc := newCuttable(c)
			n.mu.Lock()
			n.conns[name] = append(n.conns[name], cc)
			n.mu.Unlock()
			return cc, nil
		},
	}
}

// cut makes every connection of the named worker a dead link: no data
// passes either way and no error is reported, as when a cable is pulled.
func (n *testNet) cut(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.conns[name] {
		c.cut()
	}
}

// kill closes the named worker's connections, as the kernel does when a
// process dies.
func (n *testNet) kill(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.conns[name] {
		c.Conn.Close()
	}
}

type cuttable struct {
	net.Conn
	once sync.Once
	dead chan struct{}
}

func newCuttable(c net.Conn) *cuttable { return &cuttable{Conn: c, dead: make(chan struct{})} }

func (c *cuttable) cut() { c.once.Do(func() { close(c.dead) }) }

func (c *cuttable) isCut() bool {
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}

func (c *cuttable) Read(p []byte) (int, error) {
	if c.isCut() {
		return c.blackhole()
	}
	n, err := c.Conn.Read(p)
	if c.isCut() {
		return c.blackhole() // what arrived after the cut is lost
	}
	return n, err
}

// blackhole blocks until the connection is closed by its owner.
func (c *cuttable) blackhole() (int, error) {
	buf := make([]byte, 4096)
	for {
		if _, err := c.Conn.Read(buf); err != nil {
			return 0, io.EOF
		}
	}
}

func (c *cuttable) Write(p []byte) (int, error) {
	if c.isCut() {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// workerRun is a worker started with JoinAndWork in a goroutine.
type workerRun struct {
	done chan struct{}
	err  error
	at   time.Time // when JoinAndWork returned
}

func startWorker(t *testing.T, ctx context.Context, cfg JoinConfig) *workerRun {
	t.Helper()
	w := &workerRun{done: make(chan struct{})}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer close(w.done)
		w.err = JoinAndWork(ctx, cfg)
		w.at = time.Now()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-w.done:
		case <-time.After(20 * time.Second):
			t.Error("a worker did not stop within 20s of its cancellation")
		}
	})
	return w
}

// wait waits up to d for the worker to return and gives its error.
func (w *workerRun) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-w.done:
		return w.err
	case <-time.After(d):
		t.Fatalf("worker still running after %v", d)
		return errors.New("unreachable")
	}
}

// await waits for n workers with a deadline.
func (n *testNet) await(t *testing.T, count int) []Worker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ws, err := n.srv.Await(ctx, count)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
