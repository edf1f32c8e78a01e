package loadgen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tailrace/tailrace/histogram"
)

// stdConn is one engine-owned connection spoken over by net/http.
type stdConn struct {
	cc      *http.ClientConn
	connID  uint64
	reqs    []*requestTemplate // by Trail.Request
	onClose func()
	clk     *clock
	ttfbTO  time.Duration
	closed  atomic.Bool
	rx      rxStamper // the socket's receive timestamps; nil: none
}

// hooks receives httptrace callbacks. They may run on net/http's own
// goroutines, possibly after RoundTrip returned (k6's tracer taught us this),
// so stamps are atomics and the first stamp wins. Because a late callback
// may still arrive, a hooks value is never recycled.
type hooks struct {
	clock     *clock
	rx        rxStamper // nil: stamp where the hooks run
	wrote     atomic.Int64
	firstByte atomic.Int64
	readLag   atomic.Int64 // with firstByte: arrivedAt's lag
	ttfbTO    time.Duration
	cancel    context.CancelCauseFunc
	ttfbTimer atomic.Pointer[time.Timer]
	trace     httptrace.ClientTrace
}

func newHooks(clk *clock, rx rxStamper, ttfbTO time.Duration, cancel context.CancelCauseFunc) *hooks {
	h := &hooks{clock: clk, rx: rx, ttfbTO: ttfbTO, cancel: cancel}
	h.trace.WroteRequest = h.onWrote
	h.trace.GotFirstResponseByte = h.onFirstByte
	return h
}

func (h *hooks) ttfbExpired() { h.cancel(errTTFBTimeout) }

func (h *hooks) onWrote(httptrace.WroteRequestInfo) {
	if h.wrote.CompareAndSwap(0, int64(h.clock.now())) && h.ttfbTO > 0 && h.firstByte.Load() == 0 {
		h.ttfbTimer.Store(time.AfterFunc(h.ttfbTO, h.ttfbExpired))
	}
}

func (h *hooks) onFirstByte() {
	// net/http calls it on the goroutine that read the bytes, after the
	// read: that read's receive timestamp is when they arrived.
	// (Always on that goroutine, so its lag can be stored first: whoever
	// sees firstByte sees the lag that goes with it.)
	if h.firstByte.Load() == 0 {
		at, lag := arrivedAt(h.clock, h.rx, time.Duration(h.wrote.Load()))
		h.readLag.Store(int64(lag))
		h.firstByte.Store(int64(at))
	}
	if t := h.ttfbTimer.Load(); t != nil {
		t.Stop()
	}
}

// arrivedAt stamps what rx's latest read returned by its receive
// timestamp, no earlier than floor, and says how long before now that was
// (h1Conn.arrived's lag); now and -1 without one.
func arrivedAt(clk *clock, rx rxStamper, floor time.Duration) (stamp, lag time.Duration) {
	if rx != nil {
		if at := rx.rxTime(); at != 0 {
			return clk.at(at, floor)
		}
	}
	return clk.now(), -1
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (c *stdConn) do(ctx context.Context, t *Trail) bool {
	clk := c.clk
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	h := newHooks(clk, c.rx, c.ttfbTO, cancel)
	defer func() {
		if tm := h.ttfbTimer.Load(); tm != nil {
			tm.Stop()
		}
	}()

	req := c.reqs[t.Request].build(httptrace.WithClientTrace(rctx, &h.trace))
	resp, err := c.cc.RoundTrip(req)
	if err != nil {
		t.Done = clk.now()
		c.stamp(t, h)
		t.Err, t.ErrText = classify(rctx, err), err
		t.ErrPhase = histogram.Write
		if t.WroteRequest != 0 {
			t.ErrPhase = histogram.TTFB
		}
		return false
	}
	c.stamp(t, h)
	if t.FirstByte == 0 { // HTTP/2 may not report it; the headers have arrived
		t.FirstByte = clk.now()
	}
	if t.WroteRequest == 0 {
		t.WroteRequest = t.FirstByte
	}
	t.Status = resp.StatusCode
	if st, ok := parseServerTiming(resp.Header.Get("Server-Timing")); ok {
		t.Server, t.HasServer = st, true
	}
	bp := bufPool.Get().(*[]byte)
	n, err := io.CopyBuffer(discard{}, resp.Body, *bp)
	bufPool.Put(bp)
	resp.Body.Close()
	// The socket's latest read took the body's end or, over HTTP/2,
	// something after it: an upper bound on its arrival, as now is.
	t.Done, _ = arrivedAt(clk, c.rx, t.FirstByte)
	t.Bytes = n
	if err != nil {
		t.Err, t.ErrPhase, t.ErrText = classify(rctx, err), histogram.Download, err
		return false
	}
	return !resp.Close && c.cc.Err() == nil
}

func (c *stdConn) stamp(t *Trail, h *hooks) {
	t.WroteRequest = time.Duration(h.wrote.Load())
	t.FirstByte = time.Duration(h.firstByte.Load())
	if t.FirstByte != 0 {
		t.ReadLag = time.Duration(h.readLag.Load())
		t.HasReadLag = t.ReadLag >= 0
	}
}

func (c *stdConn) reserve() bool  { return c.cc.Reserve() == nil }
func (c *stdConn) release()       { c.cc.Release() }
func (c *stdConn) available() int { return c.cc.Available() }
func (c *stdConn) alive() bool    { return c.cc.Err() == nil }
func (c *stdConn) id() uint64     { return c.connID }
func (c *stdConn) close() {
	if c.closed.CompareAndSwap(false, true) {
		c.cc.Close()
		if c.onClose != nil {
			c.onClose()
		}
	}
}

// discard is io.Discard without the ReaderFrom fast path that would bypass
// our pooled buffer.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
