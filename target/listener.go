package target

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// countingListener counts accepted connections and hands out conns that
// count their own close.
type countingListener struct {
	net.Listener
	stats    *counters
	sniffH2C bool
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.wrap(c), nil
}

func (l *countingListener) wrap(c net.Conn) *conn {
	l.stats.connOpened()
	tc := &conn{Conn: c, stats: l.stats, sniffed: -1}
	if l.sniffH2C {
		tc.sniffed = 0
	}
	return tc
}

// h2Preface opens every HTTP/2 connection; on plain TCP it is the only sign
// that the client chose h2c, and net/http consumes it before any hook runs.
var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// conn counts its close once, however many layers call Close, and on plain
// listeners watches its first bytes for the h2c preface.
type conn struct {
	net.Conn
	stats  *counters
	closed atomic.Bool
	// sniffed is how many preface bytes have matched, or -1 once decided.
	// Only the goroutine that reads the first request touches it: net/http
	// decides h1 versus h2c before it starts any other reader.
	sniffed int
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.sniffed >= 0 && n > 0 {
		c.sniff(p[:n])
	}
	return n, err
}

func (c *conn) sniff(b []byte) {
	m := min(len(b), len(h2Preface)-c.sniffed)
	if !bytes.Equal(b[:m], h2Preface[c.sniffed:c.sniffed+m]) {
		c.sniffed = -1
		return
	}
	c.sniffed += m
	if c.sniffed == len(h2Preface) {
		c.sniffed = -1
		c.stats.http2Conns.Add(1)
	}
}

func (c *conn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.stats.connClosed()
	}
	return c.Conn.Close()
}

// tlsListener hands http.Server connections whose TLS handshake is already
// done. Running the handshake here, one goroutine per connection and off
// the Accept path, is what makes the TLS counters exact: each connection
// is counted once, when its handshake completes, with its resumption and
// ALPN result, whether or not a request ever follows (net/http's ConnState
// hooks are skipped for HTTP/2 connections, and a count at the first
// request would miss connections that never send one). http.Server then
// finds a *tls.Conn with the handshake done and uses it as is.
type tlsListener struct {
	raw     *countingListener
	config  *tls.Config
	ctx     context.Context // canceled by Server.Close: aborts handshakes
	timeout time.Duration
	logf    func(format string, args ...any)

	ready     chan net.Conn
	failed    chan error
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

func newTLSListener(ctx context.Context, raw *countingListener, config *tls.Config, timeout time.Duration, logf func(string, ...any)) *tlsListener {
	l := &tlsListener{
		raw: raw, config: config, ctx: ctx, timeout: timeout, logf: logf,
		ready:  make(chan net.Conn),
		failed: make(chan error, 1),
		done:   make(chan struct{}),
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

func (l *tlsListener) acceptLoop() {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		c, err := l.raw.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: back off as
				// http.Server does rather than spin or give up.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				l.logf("target: accept: %v; retrying in %v", err, backoff)
				select {
				case <-time.After(backoff):
					continue
				case <-l.done:
					return
				}
			}
			select {
			case l.failed <- err:
			default:
			}
			return
		}
		backoff = 0
		tc := tls.Server(l.raw.wrap(c), l.config)
		l.wg.Add(1)
		go l.handshake(tc)
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

func (l *tlsListener) handshake(tc *tls.Conn) {
	defer l.wg.Done()
	ctx, cancel := context.WithTimeout(l.ctx, l.timeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		if l.ctx.Err() == nil {
			l.logf("target: TLS handshake from %v: %v", tc.RemoteAddr(), err)
		}
		tc.Close()
		return
	}
	st := tc.ConnectionState()
	l.raw.stats.tlsHandshakes.Add(1)
	if st.DidResume {
		l.raw.stats.tlsResumed.Add(1)
	}
	if st.NegotiatedProtocol == "h2" {
		l.raw.stats.http2Conns.Add(1)
	}
	select {
	case l.ready <- tc:
	case <-l.done:
		tc.Close()
	}
}

func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case err := <-l.failed:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *tlsListener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.raw.Close()
	})
	return err
}

func (l *tlsListener) Addr() net.Addr { return l.raw.Addr() }

// wait returns once the accept loop and every handshake have finished;
// call it after Close and after canceling ctx.
func (l *tlsListener) wait() { l.wg.Wait() }
