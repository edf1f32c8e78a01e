package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tailrace/tailrace/histogram"
)

// aLongTimeAgo is a deadline in the past: it makes blocked I/O return now.
var aLongTimeAgo = time.Unix(1, 0)

// h1Dialer dials through netDialer and speaks HTTP/1.1 on the connection
// itself: the request's bytes are built once, every connection reuses its
// read state, and a request in steady state allocates nothing. WroteRequest
// is stamped when the one Write of the request returns; FirstByte and Done
// are when the bytes of the first and the last read arrived, by the kernel's
// receive timestamp where the socket has them (rxMsg), else where the read
// returns.
//
// It does not watch request contexts (a timer per request is what it avoids):
// deadlines go on the socket, and abort unblocks every request at the run's
// stop. Make one with newH1Dialer; safe for concurrent use.
type h1Dialer struct {
	*netDialer
	reqs    []h1Request // by Trail.Request: the requests of the mix, or the one request
	ttfbTO  time.Duration
	nextID  *atomic.Uint64
	onClose func()
	stopped atomic.Bool

	mu   sync.Mutex
	live *h1Conn // the open connections, linked through prev and next, for abort
}

// h1Request is one request as the fast client sends it.
type h1Request struct {
	wire       []byte // the whole request, shared read-only by every connection
	head       bool   // HEAD requests get no body back
	idempotent bool   // a request that found a stale connection may be sent again
	close      bool   // it says "Connection: close": the connection ends with it
}

func newH1Dialer(cfg *Config, nd *netDialer, tmpls []*requestTemplate, ids *atomic.Uint64, onClose func()) (*h1Dialer, error) {
	d := &h1Dialer{
		netDialer: nd, ttfbTO: cfg.TTFBTimeout, nextID: ids, onClose: onClose,
	}
	for _, tmpl := range tmpls {
		req, err := tmpl.wire()
		if err != nil {
			return nil, err
		}
		m := tmpl.base.Method
		d.reqs = append(d.reqs, h1Request{
			wire: req, head: m == http.MethodHead,
			// As net/http's Transport: these are safe to replay on a new
			// connection when a kept-alive one turns out to be closed.
			idempotent: m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace,
			close:      tmpl.base.Close,
		})
	}
	return d, nil
}

func (d *h1Dialer) dial(ctx context.Context, t *Trail) (clientConn, error) {
	c := &h1Conn{d: d}
	if err := c.redial(ctx, t); err != nil {
		return nil, err
	}
	d.mu.Lock()
	c.next = d.live
	if d.live != nil {
		d.live.prev = c
	}
	d.live = c
	d.mu.Unlock()
	return c, nil
}

func (d *h1Dialer) abort() {
	d.stopped.Store(true)
	d.mu.Lock()
	defer d.mu.Unlock()
	for c := d.live; c != nil; c = c.next {
		c.mu.Lock()
		if c.nc != nil {
			c.nc.SetDeadline(aLongTimeAgo)
		}
		c.mu.Unlock()
	}
}

// h1Conn is one engine-owned HTTP/1.1 connection. One request uses it at a
// time (the pools and connection workers guarantee it); only abort touches
// it from elsewhere, under mu.
type h1Conn struct {
	d  *h1Dialer
	mu sync.Mutex // guards nc against abort while redial replaces it
	nc net.Conn
	rx rxStamper // nc's socket, when it has the kernel's receive timestamps
	// The last receive timestamp arrived converted, and what it gave.
	rxAt    int64
	rxStamp time.Duration
	connID  uint64
	rd      h1Reader
	broken  bool
	closed  atomic.Bool
	// The dialer's list of open connections (d.live), under d.mu: a list,
	// not a map, because close mode adds and removes a connection per
	// request.
	prev, next *h1Conn
}

// redial replaces the connection with a new one, stamping the dial phases.
func (c *h1Conn) redial(ctx context.Context, t *Trail) error {
	nc, err := c.d.dialNet(ctx, t)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.nc = nc
	c.mu.Unlock()
	c.rx = rxOf(nc)
	c.connID = c.d.nextID.Add(1)
	c.rd = h1Reader{src: nc}
	c.broken = false
	return nil
}

func (c *h1Conn) do(ctx context.Context, t *Trail) bool {
	deadline, _ := ctx.Deadline() // zero: none
	for attempt := 0; ; attempt++ {
		reusable, stale := c.try(ctx, t, deadline)
		if !stale || attempt > 0 || !c.d.reqs[t.Request].idempotent {
			return reusable
		}
		// The server had closed the kept-alive connection before it saw our
		// request (net/http's Transport replays such requests too). Dial a
		// new one for this request; the failed attempt's time lands in its
		// dial phases, as the time this request spent getting a connection.
		c.shut()
		*t = Trail{Index: t.Index, Request: t.Request, Intended: t.Intended, Dispatched: t.Dispatched, SlotGranted: t.SlotGranted, GotConn: t.GotConn}
		if err := c.redial(ctx, t); err != nil {
			t.Done = c.d.clock.now()
			return false
		}
		t.ConnID = c.connID
	}
}

// try sends the request once. stale reports a reused connection that the
// server had already closed: nothing came back at all.
func (c *h1Conn) try(ctx context.Context, t *Trail, deadline time.Time) (reusable, stale bool) {
	clk := c.d.clock
	if err := c.nc.SetDeadline(deadline); err != nil {
		return c.fail(ctx, t, histogram.Write, err, false), false
	}
	if c.d.stopped.Load() { // abort may have run before our deadline replaced its
		return c.fail(ctx, t, histogram.Write, errRunStopped, false), false
	}
	if _, err := c.nc.Write(c.d.reqs[t.Request].wire); err != nil {
		return c.fail(ctx, t, histogram.Write, err, false), c.isStale(t, err)
	}
	t.WroteRequest = clk.now()
	// Let other connections' goroutines run before reading. Under load the
	// response is then usually there when we read, which saves a read that
	// fails with EAGAIN and a park and wake through the netpoller (about
	// 10-15% of a keep-alive request's CPU on one core). With nothing else
	// runnable it returns at once, so an idle generator reads as soon as
	// it wrote; under load the wait is the same run-queue wait a request
	// woken by the netpoller has, so the stamps keep their meaning.
	runtime.Gosched()

	ttfb := false
	if c.d.ttfbTO > 0 {
		at := time.Now().Add(c.d.ttfbTO)
		if deadline.IsZero() || at.Before(deadline) {
			ttfb = true
			c.nc.SetReadDeadline(at)
			if c.d.stopped.Load() {
				return c.fail(ctx, t, histogram.TTFB, errRunStopped, false), false
			}
		}
	}
	if _, err := c.rd.fill(); err != nil {
		return c.fail(ctx, t, histogram.TTFB, err, ttfb), c.isStale(t, err)
	}
	t.FirstByte, t.ReadLag = c.arrived(t.WroteRequest)
	t.HasReadLag = t.ReadLag >= 0
	if ttfb {
		c.nc.SetReadDeadline(deadline)
		if c.d.stopped.Load() {
			return c.fail(ctx, t, histogram.TTFB, errRunStopped, false), false
		}
	}

	var h h1Head
	if err := c.rd.readHead(&h); err != nil {
		return c.fail(ctx, t, histogram.TTFB, err, false), false
	}
	t.Status = h.status
	t.Server, t.HasServer = h.server, h.hasServer
	req := &c.d.reqs[t.Request]
	kind, persistent := h.framing(req.head)
	n, err := c.rd.readBody(kind, h.length)
	t.Bytes = n
	if err != nil {
		return c.fail(ctx, t, histogram.Download, err, false), false
	}
	t.Done, _ = c.arrived(t.FirstByte)
	// Bytes past the response's end mean the server and we disagree on
	// framing: never send another request on such a connection. Nor on one
	// whose request said it would close, whatever the server answered.
	if !persistent || req.close || c.rd.buffered() > 0 {
		c.broken = true
		return false, false
	}
	c.rd.release()
	return true, false
}

// rxStamper is a connection that knows when the bytes its last read
// returned arrived: fileConn, by the kernel's receive timestamp. rxTime may
// be called from any goroutine (net/http reads on its own).
type rxStamper interface {
	rxTime() int64 // Unix ns on CLOCK_REALTIME; 0: unknown
}

// rxOf returns nc's socket if it has the kernel's receive timestamps, under
// TLS or not; else nil.
func rxOf(nc net.Conn) rxStamper {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if rs, ok := nc.(rxStamper); ok {
		return rs
	}
	return nil
}

// arrived stamps the bytes the last read returned: when they arrived, by the
// kernel's receive timestamp where the socket has one, else now. The stamp is
// no earlier than floor, the previous boundary (a fast server's answer can
// arrive before our write(2) has returned). lag is how long before now they
// arrived, the generator's own delay in reading them: -1 without a receive
// timestamp.
func (c *h1Conn) arrived(floor time.Duration) (stamp, lag time.Duration) {
	if c.rx != nil {
		if at := c.rx.rxTime(); at != 0 {
			// A read that made no system call (the rest of a response an
			// earlier read took) has the same stamp: the same instant,
			// without a second conversion's jitter of a few ns.
			if at != c.rxAt {
				c.rxAt = at
				c.rxStamp, lag = c.d.clock.at(at, floor)
			} else {
				lag = c.d.clock.now() - c.rxStamp
			}
			return max(c.rxStamp, floor), max(lag, 0)
		}
	}
	return c.d.clock.now(), -1
}

// isStale tells a kept-alive connection the server closed while it was idle:
// the write or first read failed with EOF or a reset, and nothing was read.
func (c *h1Conn) isStale(t *Trail, err error) bool {
	return !t.NewConn && c.rd.buffered() == 0 && !c.d.stopped.Load() &&
		(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
}

// fail records err as the request's failure in phase p and marks the
// connection unusable.
func (c *h1Conn) fail(ctx context.Context, t *Trail, p histogram.Phase, err error, ttfbArmed bool) bool {
	t.Done = c.d.clock.now()
	c.broken = true
	timeout := errors.Is(err, os.ErrDeadlineExceeded)
	switch {
	case c.d.stopped.Load():
		t.Err, t.ErrText = ErrCanceled, errRunStopped
	case timeout && ttfbArmed:
		t.Err, t.ErrText = ErrTimeout, errTTFBTimeout
	case timeout:
		t.Err, t.ErrText = ErrTimeout, errWholeTimeout
	default:
		t.Err, t.ErrText = classify(ctx, err), err
	}
	t.ErrPhase = p
	return false
}

func (c *h1Conn) shut() {
	c.broken = true
	c.rd.drop()
	c.mu.Lock()
	nc := c.nc
	c.nc = nil
	c.mu.Unlock()
	if nc != nil {
		nc.Close()
		if c.d.onClose != nil {
			c.d.onClose()
		}
	}
}

func (c *h1Conn) reserve() bool  { return !c.broken }
func (c *h1Conn) release()       {}
func (c *h1Conn) available() int { return 1 }
func (c *h1Conn) alive() bool    { return !c.broken }
func (c *h1Conn) id() uint64     { return c.connID }
func (c *h1Conn) close() {
	if c.closed.CompareAndSwap(false, true) {
		d := c.d
		d.mu.Lock()
		if c.prev != nil {
			c.prev.next = c.next
		} else {
			d.live = c.next
		}
		if c.next != nil {
			c.next.prev = c.prev
		}
		c.prev, c.next = nil, nil
		d.mu.Unlock()
		c.shut()
	}
}

// wire returns the template's request as the bytes net/http would send for
// it on an HTTP/1.1 connection.
func (rt *requestTemplate) wire() ([]byte, error) {
	var b bytes.Buffer
	if err := rt.build(context.Background()).Write(&b); err != nil {
		return nil, errors.Join(errors.New("loadgen: build request"), err)
	}
	return b.Bytes(), nil
}
