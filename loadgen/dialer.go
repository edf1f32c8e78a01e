package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen/resolver"
)

var (
	errNoRawDial      = errors.New("loadgen: no raw dial for this address on this system")
	errConnectTimeout = errors.New("loadgen: connect timeout (--connect-timeout)")
	errTLSTimeout     = errors.New("loadgen: tls timeout (--tls-timeout)")
	errNoH2           = errors.New("loadgen: server did not negotiate h2 via ALPN")
)

// connKey carries a connection we dialed ourselves into http.Transport's dial
// hooks, so net/http speaks HTTP over it without dialing anything itself.
type connKey struct{}

func handOver(ctx context.Context, _, _ string) (net.Conn, error) {
	c, ok := ctx.Value(connKey{}).(net.Conn)
	if !ok {
		return nil, errors.New("loadgen: transport asked to dial without a pre-dialed connection")
	}
	return c, nil
}

// netDialer owns DNS, TCP and TLS for one target, so that every phase is
// stamped by us and charged to the request that triggered the dial. Both
// connection layers (net/http's and the purpose-built HTTP/1.1 client) dial
// through it.
type netDialer struct {
	clock      *clock
	res        *resolver.Resolver
	net        net.Dialer
	tls        *tls.Config // nil for http://
	scheme     string
	host, port string
	hostport   string
	h2         bool
	connectTO  time.Duration
	tlsTO      time.Duration
	// fixed is the host's addresses when no lookup can ever query: an IP
	// literal or a --resolve override. Nil for a name DNS answers.
	fixed *resolver.Result
	gate  *tickGate // the tick pacer's, for the connections' first reads; nil: none
	aside bool      // dial on a goroutine of its own (see dialAside)
}

func newNetDialer(cfg *Config, clk *clock, res *resolver.Resolver) (*netDialer, error) {
	u := cfg.URL
	d := &netDialer{
		clock: clk, res: res, scheme: u.Scheme, host: u.Hostname(), port: u.Port(),
		h2: cfg.Mode == ModeH2, connectTO: cfg.ConnectTimeout, tlsTO: cfg.TLSTimeout,
		aside: cfg.Mode == ModeKeepAlive,
	}
	// No TCP keep-alive probes: the engine's connections are busy or closed
	// by the server when idle, and turning probes on costs four setsockopt
	// calls per dial, a third of a new connection's syscalls.
	d.net.KeepAlive = -1
	if d.port == "" {
		d.port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	d.hostport = net.JoinHostPort(d.host, d.port)
	if r, ok := res.Fixed(d.host, d.port); ok {
		d.fixed = &r
	}
	if u.Scheme == "https" {
		tc, err := cfg.tlsConfig()
		if err != nil {
			return nil, err
		}
		if d.h2 {
			tc.NextProtos = []string{"h2"}
		} else {
			tc.NextProtos = []string{"http/1.1"}
		}
		if tc.ServerName == "" {
			// An IP literal is verified against the certificate's IP SANs;
			// crypto/tls still wants it named here.
			tc.ServerName = d.host
		}
		if cfg.Mode == ModeResume {
			tc.ClientSessionCache = tls.NewLRUClientSessionCache(64)
		}
		d.tls = tc
	}
	return d, nil
}

// dialNet resolves, connects and runs the TLS handshake, stamping each step
// into t (and t.Err/t.ErrPhase on failure).
func (d *netDialer) dialNet(ctx context.Context, t *Trail) (net.Conn, error) {
	if d.aside {
		return d.dialAside(ctx, t)
	}
	return d.dial(ctx, t)
}

// dialAside runs dial on a goroutine of its own and waits for it.
//
// In keep-alive mode the dialing goroutine is the connection's worker, which
// parks between requests for the connection's life. Dialing (the connect
// path, and a TLS handshake's crypto above all) grows a goroutine's stack,
// and a parked goroutine's grown stack stays grown until a garbage
// collection shrinks it, which an idle generator may not run for two
// minutes; a goroutine that exits frees its stack at once. This and parseDur
// took 10,000 idle workers' stacks from 8 KB each to 4 (bench/README.md,
// "Memory per idle connection"). The extra goroutine costs about 2 µs, 192 B
// and 3-4 allocations a dial (BenchmarkDialAside: medians of 8, 69.7 against
// 67.6 µs a loopback dial), once per connection: close and resume modes,
// which dial per request, dial on the worker.
func (d *netDialer) dialAside(ctx context.Context, t *Trail) (net.Conn, error) {
	type result struct {
		nc  net.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := d.dial(ctx, t)
		done <- result{nc, err}
	}()
	r := <-done
	return r.nc, r.err
}

// dial is dialNet on the calling goroutine.
//
// ctx may be a deadlineCtx, whose deadline no timer enforces: rawDial and
// net.Dialer put it on the socket themselves, but a DNS query and
// crypto/tls's handshake watch only Done, so when either may run, ctx is
// replaced by a real context with that deadline.
func (d *netDialer) dial(ctx context.Context, t *Trail) (net.Conn, error) {
	if dc, ok := ctx.(*deadlineCtx); ok && (d.fixed == nil || d.tls != nil) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadlineCause(dc.Context, dc.deadline, errWholeTimeout)
		defer cancel()
	}
	// DNS. Only a real query counts as a dns phase; cached, literal and
	// --resolve answers cost nothing and are not recorded.
	start := d.clock.now()
	var res resolver.Result
	var err error
	if d.fixed != nil {
		res = *d.fixed
	} else {
		res, err = d.res.Lookup(ctx, d.host, d.port)
	}
	if res.Source.Resolved() || err != nil {
		t.Resolved = true
		t.DNSStart, t.DNSDone = start, d.clock.now()
	}
	if err != nil {
		return nil, d.fail(ctx, t, histogram.DNS, err)
	}

	// TCP: addresses in order, the first that connects wins.
	t.NewConn = true
	t.ConnectStart = d.clock.now()
	cctx, cancel := withTimeoutCause(ctx, d.connectTO, errConnectTimeout)
	var nc net.Conn
	deadline, _ := cctx.Deadline() // zero: none
	for _, a := range res.Addrs {
		ap := netip.AddrPortFrom(a, portNum(d.port))
		nc, err = rawDial(cctx, ap, deadline)
		if err == nil && d.gate != nil {
			setGate(nc, d.gate)
		}
		if errors.Is(err, errNoRawDial) {
			nc, err = d.net.DialContext(cctx, "tcp", ap.String())
		}
		if err == nil || cctx.Err() != nil {
			break
		}
	}
	if err == nil && len(res.Addrs) == 0 {
		err = fmt.Errorf("loadgen: no addresses for %s", d.host)
	}
	t.ConnectDone = d.clock.now()
	if err != nil {
		defer cancel()
		return nil, d.fail(cctx, t, histogram.Connect, err)
	}
	cancel()

	if d.tls != nil {
		t.TLSDialed = true
		t.TLSStart = d.clock.now()
		tctx, cancel := withTimeoutCause(ctx, d.tlsTO, errTLSTimeout)
		tc := tls.Client(nc, d.tls)
		err = tc.HandshakeContext(tctx)
		t.TLSDone = d.clock.now()
		if err == nil && d.h2 && tc.ConnectionState().NegotiatedProtocol != "h2" {
			err = errNoH2
		}
		if err != nil {
			defer cancel()
			nc.Close()
			return nil, d.fail(tctx, t, histogram.TLS, err)
		}
		cancel()
		t.Resumed = tc.ConnectionState().DidResume
		nc = tc
	}
	return nc, nil
}

func (d *netDialer) fail(ctx context.Context, t *Trail, p histogram.Phase, err error) error {
	t.Err, t.ErrPhase, t.ErrText = classify(ctx, err), p, err
	return err
}

// stdDialer dials through netDialer and wraps each connection in net/http's
// single-connection client.
type stdDialer struct {
	*netDialer
	ttfbTO    time.Duration
	transport *http.Transport
	reqs      []*requestTemplate // by Trail.Request
	nextID    *atomic.Uint64
	onClose   func()
}

func newStdDialer(cfg *Config, nd *netDialer, reqs []*requestTemplate, ids *atomic.Uint64, onClose func()) *stdDialer {
	d := &stdDialer{netDialer: nd, ttfbTO: cfg.TTFBTimeout, reqs: reqs, nextID: ids, onClose: onClose}
	protos := new(http.Protocols)
	switch {
	case d.h2 && d.tls == nil:
		protos.SetUnencryptedHTTP2(true)
	case d.h2:
		protos.SetHTTP2(true)
	default:
		protos.SetHTTP1(true)
	}
	d.transport = &http.Transport{
		Protocols:          protos,
		DialContext:        handOver,
		DialTLSContext:     handOver,
		DisableCompression: true, // measure the bytes the server sends, not our gunzip
		Proxy:              nil,
	}
	return d
}

func (d *stdDialer) dial(ctx context.Context, t *Trail) (clientConn, error) {
	nc, err := d.dialNet(ctx, t)
	if err != nil {
		return nil, err
	}
	cc, err := d.transport.NewClientConn(context.WithValue(ctx, connKey{}, nc), d.scheme, d.hostport)
	if err != nil {
		nc.Close()
		// HTTP/2's preface and settings are exchanged here: charge it to write.
		return nil, d.fail(ctx, t, histogram.Write, err)
	}
	return &stdConn{cc: cc, connID: d.nextID.Add(1), reqs: d.reqs, onClose: d.onClose, clk: d.clock, ttfbTO: d.ttfbTO, rx: rxOf(nc)}, nil
}

// abort is a no-op: net/http watches each request's context, which the run's
// stop cancels.
func (d *stdDialer) abort() {}

func withTimeoutCause(ctx context.Context, d time.Duration, cause error) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, d, cause)
}

func portNum(p string) uint16 {
	var n uint16
	for _, c := range p {
		n = n*10 + uint16(c-'0')
	}
	return n
}
