package loadgen

import (
	"context"
	"net/url"
	"testing"
	"time"
)

// repeatReader serves the same response forever, like a server answering a
// stream of requests: each Read continues where the last stopped, and none
// runs past the end of a response into the next.
type repeatReader struct {
	b   []byte
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.b[r.off:])
	r.off = (r.off + n) % len(r.b)
	return n, nil
}

// BenchmarkH1Parse reads one response (head and body) from the buffer, as
// the fast client does after each request.
func BenchmarkH1Parse(b *testing.B) {
	for _, bc := range []struct {
		name string
		resp string
	}{
		{"nginx-2B", "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Type: application/octet-stream\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"},
		{"target-chunked", "HTTP/1.1 200 OK\r\nServer-Timing: total;dur=2.5\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + string(make([]byte, 1024)) + "\r\n0\r\n\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rd := h1Reader{src: &repeatReader{b: []byte(bc.resp)}}
			b.SetBytes(int64(len(bc.resp)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rd.fill(); err != nil {
					b.Fatal(err)
				}
				var h h1Head
				if err := rd.readHead(&h); err != nil {
					b.Fatal(err)
				}
				kind, _ := h.framing(false)
				if _, err := rd.readBody(kind, h.length); err != nil {
					b.Fatal(err)
				}
				if rd.buffered() != 0 {
					b.Fatalf("%d bytes left after the response", rd.buffered())
				}
				rd.release() // as the client does between responses
			}
		})
	}
}

// BenchmarkRecord is a finished trail's way into the recorder: phases,
// counters, histograms, tail bins, exemplars.
func BenchmarkRecord(b *testing.B) {
	u, _ := url.Parse("http://127.0.0.1:1/")
	e, err := New(Config{URL: u, Shards: 1})
	if err != nil {
		b.Fatal(err)
	}
	e.clk = clock{t0: time.Now()}
	t := Trail{Intended: 1000, Dispatched: 1100, SlotGranted: 1200, GotConn: 1200, WroteRequest: 5000, FirstByte: 90000, Done: 95000, Status: 200, Bytes: 2}
	b.ReportAllocs()
	for b.Loop() {
		t.Index++
		t.Done += 7 // spread the values over buckets
		e.record(&t)
	}
}

// instantConn answers every request at once: what is left to measure is
// the engine's own dispatch and recording.
type instantConn struct{ clk *clock }

func (c *instantConn) do(_ context.Context, t *Trail) bool {
	now := c.clk.now()
	t.WroteRequest, t.FirstByte, t.Done, t.Status = now, now, now, 200
	return true
}
func (c *instantConn) reserve() bool  { return true }
func (c *instantConn) release()       {}
func (c *instantConn) available() int { return 1 }
func (c *instantConn) alive() bool    { return true }
func (c *instantConn) close()         {}
func (c *instantConn) id() uint64     { return 1 }

type instantDialer struct{ clk *clock }

func (d *instantDialer) dial(context.Context, *Trail) (clientConn, error) {
	return &instantConn{clk: d.clk}, nil
}
func (d *instantDialer) abort() {}

// BenchmarkDispatch hands arrivals from the pacer's goroutine to connection
// workers (the fast keep-alive path) against connections that answer at
// once: the cost of dispatch, hand-off and recording per request. The
// "goroutine" case is the path it replaced, a goroutine and a pool
// acquisition per request.
func BenchmarkDispatch(b *testing.B) {
	for _, bc := range []struct {
		name    string
		workers bool
		conns   int
	}{
		{"workers-1conn", true, 1},
		{"workers-50conns", true, 50},
		{"goroutine-50conns", false, 50},
	} {
		b.Run(bc.name, func(b *testing.B) {
			u, _ := url.Parse("http://127.0.0.1:1/")
			e, err := New(Config{URL: u, Connections: bc.conns, MaxInFlight: 1 << 20})
			if err != nil {
				b.Fatal(err)
			}
			e.clk = clock{t0: time.Now()}
			e.reqCtx = context.Background()
			e.conns = &instantDialer{clk: &e.clk}
			e.pool = newPool(ModeKeepAlive, e.conns, bc.conns, &e.clk)
			if bc.workers {
				e.workers = newConnWorkers(e, bc.conns)
			}
			b.ReportAllocs()
			k := int64(0)
			for b.Loop() {
				e.inflight.Add(1)
				if bc.workers {
					e.workers.dispatch(arrival{k: k, intended: e.clk.now(), dispatched: e.clk.now()})
				} else {
					kk := k
					e.wg.Go(func() { e.issue(kk, e.clk.now()) })
				}
				k++
			}
			if e.workers != nil {
				e.workers.finish()
			}
			e.wg.Wait()
		})
	}
}

// BenchmarkKeepAliveRequest is one request's whole path, closed-loop on one
// kept-alive connection to a canned server (whose work is in the figure):
// the fast client through its connection worker, and net/http through the
// pool.
func BenchmarkKeepAliveRequest(b *testing.B) {
	srv := h1Server(b, nil, okResponse)
	b.Run("fast", func(b *testing.B) {
		e, w := fastEngine(b, srv, nil)
		send(e, w, 0)
		b.ReportAllocs()
		k := int64(1)
		for b.Loop() {
			send(e, w, k)
			k++
		}
		if w.t.Err != ErrNone {
			b.Fatal(w.t.ErrText)
		}
	})
	b.Run("std", func(b *testing.B) { benchIssue(b, srv, ClientStd) })
}
