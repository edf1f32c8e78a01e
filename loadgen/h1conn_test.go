package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailrace/tailrace/histogram"
)

// h1Server answers every request on a connection with the next of resps
// (cycling), closing the connection after a response when closeAfter says
// so. It reads requests up to their blank line (GETs: no body).
func h1Server(tb testing.TB, closeAfter func(n int) bool, resps ...[]byte) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				r := bufio.NewReaderSize(c, 4096)
				for n := 0; ; n++ {
					if !skipHead(r) {
						return
					}
					if _, err := c.Write(resps[n%len(resps)]); err != nil {
						return
					}
					if closeAfter != nil && closeAfter(n) {
						return
					}
				}
			})
		}
	})
	return "http://" + ln.Addr().String() + "/"
}

// skipHead reads a request up to its blank line (GETs: no body), reporting
// whether it got there.
func skipHead(r *bufio.Reader) bool {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return false
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return true
		}
	}
}

var okResponse = []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")

// fastEngine prepares an engine on the fast client's keep-alive path and
// returns one connection worker to drive by hand.
func fastEngine(tb testing.TB, rawURL string, mod func(*Config)) (*Engine, *connWorker) {
	tb.Helper()
	u, _ := url.Parse(rawURL)
	cfg := Config{URL: u, Mode: ModeKeepAlive, Connections: 1, Client: ClientFast}
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	stop, err := e.prepare(context.Background(), time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	w := e.workers.newWorker()
	tb.Cleanup(func() {
		if w.c != nil {
			w.c.close()
		}
		stop(nil)
	})
	return e, w
}

// send runs one request through w as the pacer would hand it over.
func send(e *Engine, w *connWorker, k int64) *Trail {
	e.inflight.Add(1)
	now := e.clk.now()
	w.serve(arrival{k: k, intended: now, dispatched: now})
	return &w.t
}

func TestH1NoAllocationPerRequest(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	e, w := fastEngine(t, h1Server(t, nil, okResponse), nil)
	send(e, w, 0) // dial, and warm the buffer pool
	k := int64(1)
	allocs := testing.AllocsPerRun(500, func() {
		send(e, w, k)
		k++
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per keep-alive request, want 0", allocs)
	}
	if tr := &w.t; tr.Err != ErrNone || tr.Status != 200 || tr.Bytes != 2 || tr.NewConn {
		t.Errorf("last trail: %+v", tr)
	}
}

func TestH1Conn(t *testing.T) {
	chunked := []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nServer-Timing: total;dur=2\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	closing := []byte("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
	interim := []byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n")
	tests := []struct {
		name       string
		url        string
		wantStatus int
		wantBytes  int64
		wantNew    []bool // per request: did it dial?
		wantServer time.Duration
	}{
		// Kept alive: one dial, then reuse.
		{"keep-alive", h1Server(t, nil, okResponse), 200, 2, []bool{true, false, false}, 0},
		// Chunked bodies are counted without their framing; Server-Timing is read.
		{"chunked", h1Server(t, nil, chunked), 200, 3, []bool{true, false, false}, 2 * time.Millisecond},
		// Connection: close means a new connection for the next request.
		{"close", h1Server(t, func(int) bool { return true }, closing), 200, 2, []bool{true, true, true}, 0},
		// The server closes after each response without saying so: the next
		// request finds a stale connection and is replayed on a new one.
		{"stale", h1Server(t, func(int) bool { return true }, okResponse), 200, 2, []bool{true, true, true}, 0},
		// A 100 Continue is skipped; the final status counts.
		{"interim", h1Server(t, nil, interim), 503, 0, []bool{true, false, false}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, w := fastEngine(t, tc.url, nil)
			for i, wantNew := range tc.wantNew {
				if i > 0 && tc.name == "stale" {
					// Let the server's close arrive before the next request.
					deadline := time.Now().Add(2 * time.Second)
					for !peerClosed(w) && time.Now().Before(deadline) {
						time.Sleep(time.Millisecond)
					}
				}
				tr := send(e, w, int64(i))
				if tr.Err != ErrNone || tr.Status != tc.wantStatus || tr.Bytes != tc.wantBytes || tr.NewConn != wantNew {
					t.Fatalf("request %d: err %v (%v) status %d bytes %d new %v, want status %d bytes %d new %v",
						i, tr.Err, tr.ErrText, tr.Status, tr.Bytes, tr.NewConn, tc.wantStatus, tc.wantBytes, wantNew)
				}
				if tr.HasServer != (tc.wantServer > 0) || tr.Server != tc.wantServer {
					t.Errorf("server timing %v (has %v), want %v", tr.Server, tr.HasServer, tc.wantServer)
				}
				if sum, total := tr.Sum(); sum != total {
					t.Errorf("phases sum to %v, total %v", sum, total)
				}
			}
		})
	}
}

// peerClosed reports whether the worker's connection has seen the server's
// FIN, by a non-blocking peek.
func peerClosed(w *connWorker) bool {
	c, ok := w.c.(*h1Conn)
	if !ok || c.nc == nil {
		return true
	}
	c.nc.SetReadDeadline(time.Now().Add(time.Millisecond))
	var b [1]byte
	_, err := c.nc.Read(b[:])
	c.nc.SetReadDeadline(time.Time{})
	return err != nil && !strings.Contains(err.Error(), "timeout")
}

func TestH1Abort(t *testing.T) {
	// A server that never answers: the request is in its ttfb phase until the
	// run is stopped, and then it is canceled at once, not at its deadline.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan struct{}, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			var b [4096]byte
			for {
				if _, err := c.Read(b[:]); err != nil {
					return
				}
				select {
				case got <- struct{}{}:
				default:
				}
			}
		}
	}()
	e, w := fastEngine(t, "http://"+ln.Addr().String()+"/", func(c *Config) { c.Timeout = time.Minute })
	done := make(chan *Trail)
	go func() { done <- send(e, w, 0) }()
	select { // the request is written: it waits for its first byte
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the server")
	}
	e.conns.abort()
	select {
	case tr := <-done:
		if tr.Err != ErrCanceled || tr.ErrPhase != histogram.TTFB {
			t.Errorf("aborted request: %v in %v (%v), want canceled@ttfb", tr.Err, tr.ErrPhase, tr.ErrText)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("abort did not unblock the request")
	}
}

func TestH1WireRequest(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		// A keep-alive GET: request line, Host, our User-Agent, nothing else needed.
		{"get", Config{Mode: ModeKeepAlive}, []string{"GET /p?q=1 HTTP/1.1\r\n", "Host: example.test:8080\r\n", "User-Agent: tailrace/" + Version + "\r\n"}},
		// Close mode says so on the wire, as ab without -k does.
		{"close", Config{Mode: ModeClose}, []string{"Connection: close\r\n"}},
		// A body comes with its length, after the head.
		{"post", Config{Method: "POST", Body: []byte("hello")}, []string{"POST /p?q=1 HTTP/1.1\r\n", "Content-Length: 5\r\n", "\r\n\r\nhello"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.URL, _ = url.Parse("http://example.test:8080/p?q=1")
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			b, err := newRequestTemplate(&cfg).wire()
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !bytes.Contains(b, []byte(w)) {
					t.Errorf("request %q lacks %q", b, w)
				}
			}
		})
	}
}

// stampedPipe is one end of a net.Pipe that reports, as a fileConn with the
// kernel's receive timestamps does, when what it read arrived: at, set by
// the test's server as it "delivers".
type stampedPipe struct {
	net.Conn
	at atomic.Int64
}

func (p *stampedPipe) rxTime() int64 { return p.at.Load() }

// lateAnswer reads one request's head from srv, marks p's bytes as arrived
// then, and writes okResponse 40 ms later: a client late to read.
func lateAnswer(srv net.Conn, p *stampedPipe) {
	if !skipHead(bufio.NewReader(srv)) {
		return
	}
	p.at.Store(time.Now().UnixNano())
	time.Sleep(40 * time.Millisecond)
	srv.Write(okResponse)
}

// TestH1StampsArrival: with a receive timestamp, ttfb and download end when
// the response arrived, not when the client read it. Here the response
// "arrives" at once but the read returns 40 ms later.
func TestH1StampsArrival(t *testing.T) {
	e, _ := fastEngine(t, "http://127.0.0.1:9/", nil)
	cli, srv := net.Pipe()
	defer srv.Close()
	p := &stampedPipe{Conn: cli}
	c := &h1Conn{d: e.conns.(*h1Dialer), nc: p, rx: p, rd: h1Reader{src: p}, connID: 1}
	defer c.close()
	go lateAnswer(srv, p)
	now := e.clk.now()
	tr := Trail{Intended: now, Dispatched: now, SlotGranted: now, GotConn: now}
	if reusable, _ := c.try(context.Background(), &tr, time.Time{}); !reusable || tr.Err != ErrNone {
		t.Fatalf("err %v (%v)", tr.Err, tr.ErrText)
	}
	if ttfb := tr.FirstByte - tr.WroteRequest; ttfb > 20*time.Millisecond {
		t.Errorf("ttfb %v: the client's 40 ms late read, not the arrival", ttfb)
	}
	if tr.Done != tr.FirstByte {
		t.Errorf("download %v: it arrived with the first byte", tr.Done-tr.FirstByte)
	}
	if late := e.clk.now() - tr.Done; late < 30*time.Millisecond {
		t.Errorf("the read returned %v after the arrival, want 40 ms (the test did not test)", late)
	}
	checkReadLag(t, &tr)
}

// checkReadLag: a response read 40 ms after it arrived (lateAnswer) has a
// read_lag of about that, and records it.
func checkReadLag(t *testing.T, tr *Trail) {
	t.Helper()
	if !tr.HasReadLag || tr.ReadLag < 30*time.Millisecond || tr.ReadLag > time.Second {
		t.Errorf("read lag %v (valid %v), want the 40 ms between arrival and read", tr.ReadLag, tr.HasReadLag)
	}
	var smp histogram.Sample
	tr.Phases(time.Time{}, &smp)
	if smp.Has&(1<<histogram.ReadLag) == 0 || smp.Phases[histogram.ReadLag] != tr.ReadLag {
		t.Errorf("read_lag not recorded as %v: has %b, %v", tr.ReadLag, smp.Has, smp.Phases[histogram.ReadLag])
	}
}

// Without a receive timestamp there is no read lag to tell: none is
// recorded, and ttfb ends where the read returned.
func TestH1NoStampNoReadLag(t *testing.T) {
	e, _ := fastEngine(t, "http://127.0.0.1:9/", nil)
	cli, srv := net.Pipe()
	defer srv.Close()
	c := &h1Conn{d: e.conns.(*h1Dialer), nc: cli, rd: h1Reader{src: cli}, connID: 1}
	defer c.close()
	go lateAnswer(srv, &stampedPipe{})
	now := e.clk.now()
	tr := Trail{Intended: now, Dispatched: now, SlotGranted: now, GotConn: now}
	if reusable, _ := c.try(context.Background(), &tr, time.Time{}); !reusable || tr.Err != ErrNone {
		t.Fatalf("err %v (%v)", tr.Err, tr.ErrText)
	}
	if ttfb := tr.FirstByte - tr.WroteRequest; ttfb < 30*time.Millisecond {
		t.Errorf("ttfb %v without a stamp, want the 40 ms to the read", ttfb)
	}
	var smp histogram.Sample
	tr.Phases(time.Time{}, &smp)
	if tr.HasReadLag || smp.Has&(1<<histogram.ReadLag) != 0 {
		t.Errorf("read lag %v recorded without a receive timestamp", tr.ReadLag)
	}
}

// TestStdStampsArrival: net/http's connections (HTTP/2, --client std) take
// ttfb and download's end from the socket's receive timestamp too, so that
// every arm of a comparison is stamped the same way.
func TestStdStampsArrival(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:9/")
	e, _ := pacedEngine(t, Config{URL: u, Mode: ModeKeepAlive, Connections: 1, Client: ClientStd})
	d := e.conns.(*stdDialer)
	cli, srv := net.Pipe()
	defer srv.Close()
	p := &stampedPipe{Conn: cli}
	cc, err := d.transport.NewClientConn(context.WithValue(context.Background(), connKey{}, net.Conn(p)), d.scheme, d.hostport)
	if err != nil {
		t.Fatal(err)
	}
	c := &stdConn{cc: cc, connID: 1, reqs: d.reqs, clk: d.clock, rx: rxOf(p)}
	defer c.close()
	go lateAnswer(srv, p)
	now := e.clk.now()
	tr := Trail{Intended: now, Dispatched: now, SlotGranted: now, GotConn: now}
	c.do(context.Background(), &tr)
	if tr.Err != ErrNone || tr.Status != 200 {
		t.Fatalf("err %v (%v), status %d", tr.Err, tr.ErrText, tr.Status)
	}
	if ttfb := tr.FirstByte - tr.WroteRequest; ttfb > 20*time.Millisecond {
		t.Errorf("ttfb %v: the client's 40 ms late read, not the arrival", ttfb)
	}
	if dl := tr.Done - tr.FirstByte; dl > time.Millisecond {
		t.Errorf("download %v: it arrived with the first byte", dl)
	}
	checkReadLag(t, &tr)
}
