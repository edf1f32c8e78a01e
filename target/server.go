package target

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	randv2 "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// handshakeTimeout bounds a TLS handshake beyond Config.TLSDelay, so that
// a client that connects and says nothing does not hold a goroutine.
const handshakeTimeout = 10 * time.Second

// drainTimeout bounds how long Close waits for handlers and connections,
// which end promptly once their context is canceled and their conn closed.
const drainTimeout = 10 * time.Second

// Server is a running calibration target. Create it with Start and stop it
// with Close; the zero value is not usable. Its methods are safe for
// concurrent use.
type Server struct {
	cfg     Config
	epoch   time.Time
	stalls  stalls
	stats   counters
	queue   *queue // nil without MaxConcurrent
	body    []byte // shared, read-only: no body is allocated per request
	logf    func(format string, args ...any)
	certPEM []byte
	pool    *x509.CertPool

	rngMu sync.Mutex
	rng   *randv2.Rand

	ctx       context.Context // parent of every request and handshake
	cancel    context.CancelFunc
	srv       *http.Server
	ln        net.Listener
	tlsLn     *tlsListener // nil without TLS
	serveDone chan struct{}

	// The drain gate: active counts open connections (ConnState) and
	// running handlers; after Close sets closed no handler starts.
	mu      sync.Mutex
	closed  bool
	active  int
	drained chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// Start listens on cfg.Addr and serves until Close. It returns a
// *ConfigError for an invalid Config.
func Start(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	addr := cfg.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	logger := log.New(logw, "", log.LstdFlags)
	seed := cfg.Seed
	if seed == 0 {
		seed = 1
	}
	s := &Server{
		cfg:       cfg,
		logf:      logger.Printf,
		body:      bytesOf("ok", 32<<10),
		rng:       randv2.New(randv2.NewPCG(seed, seed)),
		serveDone: make(chan struct{}),
	}
	if cfg.MaxConcurrent > 0 {
		s.queue = newQueue(cfg.MaxConcurrent)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	var tlsConfig *tls.Config
	if cfg.TLS {
		var err error
		if tlsConfig, err = s.setupTLS(); err != nil {
			s.cancel()
			return nil, err
		}
	}
	raw, err := net.Listen("tcp", addr)
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("target: listen: %w", err)
	}
	counting := &countingListener{Listener: raw, stats: &s.stats, sniffH2C: !cfg.TLS}
	s.ln = counting
	if cfg.TLS {
		s.tlsLn = newTLSListener(s.ctx, counting, tlsConfig, handshakeTimeout+cfg.TLSDelay, s.logf)
		s.ln = s.tlsLn
	}

	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	protos.SetUnencryptedHTTP2(true)
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		Protocols:         &protos,
		ReadHeaderTimeout: 30 * time.Second,
		// A load generator owns its connections' lifetimes; this only
		// reaps the ones a crashed client abandoned.
		IdleTimeout: 5 * time.Minute,
		ErrorLog:    logger,
		BaseContext: func(net.Listener) context.Context { return s.ctx },
		ConnState:   s.connState,
	}
	s.epoch = time.Now()
	s.stalls = stalls{epoch: s.epoch, every: cfg.StallEvery, length: cfg.StallFor}
	go func() {
		defer close(s.serveDone)
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logf("target: serve: %v", err)
		}
	}()
	return s, nil
}

func (s *Server) setupTLS() (*tls.Config, error) {
	cert, certPEM, err := selfSigned(time.Now())
	if err != nil {
		return nil, err
	}
	s.certPEM = certPEM
	s.pool = x509.NewCertPool()
	s.pool.AddCert(cert.Leaf)
	config := &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
		MinVersion:   tls.VersionTLS12,
	}
	if d := s.cfg.TLSDelay; d > 0 {
		// Called once per ClientHello, resumed or not, before the server
		// answers: the delay lands inside the client's TLS phase.
		config.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			return nil, sleep(hello.Context(), d)
		}
	}
	// One explicit key for the server's life: tickets issued by any
	// connection resume on any other, and never expire by rotation mid-test.
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("target: session ticket key: %w", err)
	}
	config.SetSessionTicketKeys([][32]byte{key})
	return config, nil
}

func bytesOf(pattern string, n int) []byte {
	b := make([]byte, 0, n)
	for len(b) < n {
		b = append(b, pattern...)
	}
	return b[:n]
}

// URL is the base URL of the server, such as "http://127.0.0.1:41234".
// A server listening on all interfaces (":8080") is reached at 127.0.0.1.
func (s *Server) URL() string {
	hostPort := s.Addr()
	if a, ok := s.ln.Addr().(*net.TCPAddr); ok && a.IP.IsUnspecified() {
		hostPort = net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port))
	}
	if s.cfg.TLS {
		return "https://" + hostPort
	}
	return "http://" + hostPort
}

// Addr is the address the server listens on, as host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Epoch is the origin of the stall schedule: the time the server started.
func (s *Server) Epoch() time.Time { return s.epoch }

// CertPool returns a new pool holding the server's certificate, for clients
// to verify it with; nil without TLS.
func (s *Server) CertPool() *x509.CertPool {
	if s.pool == nil {
		return nil
	}
	return s.pool.Clone()
}

// CertPEM returns the server's certificate in PEM form; nil without TLS.
func (s *Server) CertPEM() []byte { return append([]byte(nil), s.certPEM...) }

// Stats returns the counters since Start or the last ResetStats.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// ResetStats zeroes the counters, so a test can measure one phase of its
// load; the high-water marks restart from the current levels.
func (s *Server) ResetStats() { s.stats.reset() }

// LastRequestAt is when the latest request arrived (the stats endpoint
// aside), or the zero Time if none has. It carries a monotonic reading, so
// it compares exactly with time.Now taken in the same process.
func (s *Server) LastRequestAt() time.Time {
	n := s.stats.lastRequest.Load()
	if n == 0 {
		return time.Time{}
	}
	return s.epoch.Add(time.Duration(n - 1))
}

// Close stops the server: it closes the listener and every connection,
// aborts delays and stalls in progress, and returns once every handler has
// returned. Calling it again returns the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	// Connections first, so that handlers cut short by the cancel below
	// find them closed and cannot answer.
	err := s.srv.Close()
	s.ln.Close() // in case Serve had not yet registered it
	s.cancel()
	<-s.serveDone
	if s.tlsLn != nil {
		s.tlsLn.wait()
	}

	s.mu.Lock()
	s.closed = true
	var drained chan struct{}
	if s.active > 0 {
		s.drained = make(chan struct{})
		drained = s.drained
	}
	s.mu.Unlock()
	if drained != nil {
		t := time.NewTimer(drainTimeout)
		defer t.Stop()
		select {
		case <-drained:
		case <-t.C:
			s.mu.Lock()
			n := s.active
			s.mu.Unlock()
			return fmt.Errorf("target: close: %d connections or handlers still running after %v", n, drainTimeout)
		}
	}
	if err != nil {
		return fmt.Errorf("target: close: %w", err)
	}
	return nil
}

// enter admits a handler unless Close has begun draining.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.active++
	return true
}

func (s *Server) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	if s.active == 0 && s.drained != nil {
		close(s.drained)
		s.drained = nil
	}
}

// connState tracks connections until their serving goroutine is done, so
// Close leaves none behind. Every StateNew is followed by StateClosed or
// StateHijacked, and none comes after Serve returns.
func (s *Server) connState(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		s.mu.Lock()
		s.active++
		s.mu.Unlock()
	case http.StateClosed, http.StateHijacked:
		s.leave()
	}
}

// Run starts a server, prints its URL on stdout and serves until ctx is
// done. It is the whole of cmd/target, kept here so it can be tested.
func Run(ctx context.Context, cfg Config, stdout io.Writer) error {
	s, err := Start(cfg)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(stdout, s.URL()); err != nil {
		s.Close()
		return fmt.Errorf("target: %w", err)
	}
	<-ctx.Done()
	return s.Close()
}
