package loadgen

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/tailrace/tailrace/histogram"
)

// cannedServer answers every request with the same 2-byte response, doing as
// little as a server can, so a benchmark measures the client.
func cannedServer(b *testing.B) string {
	return h1Server(b, nil, []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"))
}

// BenchmarkIssueKeepAlive runs the whole per-request path (pool, trace,
// net/http, trail, recording) closed-loop on one reused keep-alive connection.
// ns/op is the cost of one request, client and canned server together;
// allocs/op is dominated by the client.
func BenchmarkIssueKeepAlive(b *testing.B) {
	srv := cannedServer(b)
	for _, c := range []ClientKind{ClientFast, ClientStd} {
		b.Run(string(c), func(b *testing.B) { benchIssue(b, srv, c) })
	}
}

// benchIssue times the per-request path (issue) of client c against rawURL.
func benchIssue(b *testing.B, rawURL string, c ClientKind) {
	_, iv := issueLoop(b, rawURL, Config{Mode: ModeKeepAlive, Connections: 1, Client: c}, true)
	if iv.Counters.Errors != 0 {
		b.Fatalf("errors: %v %v", iv.Errors, iv.ErrorText)
	}
}

// issueLoop runs issue closed-loop against rawURL with cfg for the
// benchmark's iterations (after one untimed request if warm, which dials a
// keep-alive connection) and returns how many it timed and what was
// recorded.
func issueLoop(b *testing.B, rawURL string, cfg Config, warm bool) (int64, *histogram.Interval) {
	cfg.URL, _ = url.Parse(rawURL)
	e, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	stop, err := e.prepare(context.Background(), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	defer stop(nil)
	defer e.pool.close()
	if warm {
		e.inflight.Add(1)
		e.issue(0, 0)
	}
	b.ReportAllocs()
	n := int64(0)
	for b.Loop() {
		e.inflight.Add(1)
		e.issue(n+1, e.clk.now())
		n++
	}
	b.StopTimer()
	return n, e.rec.Rotate(0, time.Now(), time.Second)
}

// BenchmarkCloseRequest is S2's path: a new connection per request (close
// mode, the fast client), dial and close included. The kernel's work
// dominates ns/op. The canned server is a goroutine of this process, so
// here every response is read after a wait and every socket joins the
// netpoller, which against a server of its own (S2) few do. allocs/op
// counts the server's accept and goroutine too; by a memory profile
// (2026-12-03) the client's 14 are the Trail and its deadline context, the h1Conn, the
// fileConn, the socket addresses for connect and getpeername, and, for
// joining the netpoller, the file's name (two), the os.File (two) and its
// RawConn, and polledFile with the read and write functions (three).
func BenchmarkCloseRequest(b *testing.B) {
	n, iv := issueLoop(b, cannedServer(b), Config{Mode: ModeClose, Client: ClientFast}, false)
	if iv.Counters.Errors != 0 || iv.Counters.ConnsOpened != n {
		b.Fatalf("%d requests, %d connections opened, errors: %v %v", n, iv.Counters.ConnsOpened, iv.Errors, iv.ErrorText)
	}
}
