package cluster

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/tailrace/tailrace/loadgen"
	tailracepb "github.com/tailrace/tailrace/proto"
)

// ProtocolVersion is the version of the session protocol; a worker and a
// coordinator of different versions refuse each other.
const ProtocolVersion = 1

// maxMessage bounds one session message: a Plan carries the request body.
const maxMessage = 64 << 20

// ServerConfig configures the coordinator's end of the sessions. The zero
// value accepts any worker on a loopback listener, with default timings.
type ServerConfig struct {
	// Token, if set, must be presented by every worker (--token).
	Token string
	// TLS, if set, serves TLS; with ClientAuth tls.RequireAndVerifyClientCert
	// and ClientCAs it is mutual TLS, and only workers holding a
	// certificate of those CAs get in.
	TLS *tls.Config
	// HeartbeatInterval is how often each side says it is alive; 0 means
	// 500ms.
	HeartbeatInterval time.Duration
	// LossTimeout is how long a worker may stay silent before it is lost; 0
	// means 3s.
	LossTimeout time.Duration
	// OrphanTimeout is sent to every worker: it stops generating load after
	// this long without a word from the coordinator; 0 means 5s.
	OrphanTimeout time.Duration
	// Probes is the number of clock probes per worker; 0 means 16.
	Probes int
	// Log receives one line per join, refusal and loss; nil discards them.
	Log io.Writer
}

func (c *ServerConfig) defaults() {
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 500 * time.Millisecond
	}
	if c.LossTimeout <= 0 {
		c.LossTimeout = 3 * time.Second
	}
	if c.OrphanTimeout <= 0 {
		c.OrphanTimeout = 5 * time.Second
	}
	if c.Probes <= 0 {
		c.Probes = 16
	}
}

func (c *ServerConfig) mutualTLS() bool {
	return c.TLS != nil && c.TLS.ClientAuth == tls.RequireAndVerifyClientCert && c.TLS.ClientCAs != nil
}

// Server is the coordinator's end of the worker sessions: it admits
// workers (token or mTLS, same version), measures their clocks, and hands
// them to the run as Workers (Await). Workers that come after the run
// started are refused. Make one with NewServer; it is safe for concurrent
// use, and serves one run.
type Server struct {
	tailracepb.UnimplementedCoordinatorServer
	cfg ServerConfig
	gs  *grpc.Server

	mu       sync.Mutex
	want     int             // workers the run waits for; 0 until Await
	joined   []*remoteWorker // admitted, in join order
	all      map[*remoteWorker]bool
	started  bool
	changed  chan struct{} // closed and replaced when joined changes
	stopOnce sync.Once
}

// NewServer returns a server with cfg; call Serve to accept workers.
func NewServer(cfg ServerConfig) *Server {
	cfg.defaults()
	opts := []grpc.ServerOption{grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage)}
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	s := &Server{cfg: cfg, all: map[*remoteWorker]bool{}, changed: make(chan struct{})}
	s.gs = grpc.NewServer(opts...)
	tailracepb.RegisterCoordinatorServer(s.gs, s)
	return s
}

// CheckExposure refuses a listen address other than loopback unless
// workers must prove who they are (a token or mutual TLS): whoever joins
// receives the plan, request headers included, and generates load for it.
// Non-TCP addresses (in-memory, Unix) are not exposed.
func CheckExposure(addr net.Addr, token, mutualTLS bool) error {
	ta, ok := addr.(*net.TCPAddr)
	if !ok || ta.IP.IsLoopback() || token || mutualTLS {
		return nil
	}
	return fmt.Errorf("cluster: refusing to listen on %s without a token or mutual TLS: anyone who can reach it could join as a worker and receive the plan, headers included; give --token (or TAILRACE_TOKEN) or --tls-cert, --tls-key and --tls-ca, or listen on 127.0.0.1", addr)
}

// Serve accepts sessions on lis until Close. It refuses (CheckExposure) a
// non-loopback listener without a token or mutual TLS.
func (s *Server) Serve(lis net.Listener) error {
	if err := CheckExposure(lis.Addr(), s.cfg.Token != "", s.cfg.mutualTLS()); err != nil {
		lis.Close()
		return err
	}
	if err := s.gs.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("cluster: serve: %w", err)
	}
	return nil
}

// Await waits until n workers have joined and returns them, sorted by name;
// from then on every new worker is refused. When ctx ends first (the join
// deadline, an interrupt) it returns an error that names who did join.
func (s *Server) Await(ctx context.Context, n int) ([]Worker, error) {
	s.mu.Lock()
	s.want = n
	s.mu.Unlock()
	for {
		s.mu.Lock()
		live := s.joined[:0]
		for _, r := range s.joined {
			if r.over() {
				s.logf("worker %s left before the run started (%v)", r.name, r.endErr())
				continue
			}
			live = append(live, r)
		}
		s.joined = live
		if len(live) >= n {
			s.started = true
			ws := slices.Clone(live[:n])
			s.mu.Unlock()
			slices.SortFunc(ws, func(a, b *remoteWorker) int { return strings.Compare(a.name, b.name) })
			out := make([]Worker, len(ws))
			for i, w := range ws {
				out[i] = w
			}
			return out, nil
		}
		wake := s.changed
		s.mu.Unlock()
		select {
		case <-wake:
		case <-time.After(s.cfg.HeartbeatInterval):
			// re-check: a joined worker may have been lost meanwhile
		case <-ctx.Done():
			s.mu.Lock()
			s.started = true
			names := make([]string, len(s.joined))
			for i, r := range s.joined {
				names[i] = r.name
			}
			s.mu.Unlock()
			who := "none"
			if len(names) > 0 {
				who = strings.Join(names, ", ")
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("cluster: %d of %d workers joined before the join deadline (joined: %s)", len(names), n, who)
			}
			return nil, fmt.Errorf("%w: interrupted while waiting for workers (%d of %d joined: %s)", ErrIncomplete, len(names), n, who)
		}
	}
}

// Close ends every session: each worker sees its stream end normally, and
// stops. It waits a few seconds for the sessions to close.
func (s *Server) Close() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.started = true
		for r := range s.all {
			r.end(nil)
		}
		s.mu.Unlock()
		done := make(chan struct{})
		go func() {
			s.gs.GracefulStop()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			s.gs.Stop()
		}
	})
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Log != nil {
		fmt.Fprintf(s.cfg.Log, format+"\n", args...)
	}
}

// helloTimeout bounds how long a connection may stay without saying Hello.
const helloTimeout = 10 * time.Second

// Session implements the Coordinator service: one worker's whole session.
func (s *Server) Session(stream tailracepb.Coordinator_SessionServer) error {
	from := "unknown"
	if p, ok := peer.FromContext(stream.Context()); ok {
		from = p.Addr.String()
	}
	r := newRemote(stream, &s.cfg, from)
	s.mu.Lock()
	s.all[r] = true
	s.mu.Unlock()
	defer func() {
		r.end(nil)
		s.mu.Lock()
		delete(s.all, r)
		s.mu.Unlock()
	}()
	go r.recvLoop()

	hello, err := r.hello(helloTimeout)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if err := s.admit(hello); err != nil {
		s.logf("refused a worker %q from %s: %s", hello.GetName(), from, status.Convert(err).Message())
		return err
	}
	r.name, r.cores, r.limits = hello.GetName(), hello.GetCores(), hello.GetLimits()
	err = r.send(&tailracepb.CoordinatorMessage{Kind: &tailracepb.CoordinatorMessage_Welcome{Welcome: &tailracepb.Welcome{
		HeartbeatIntervalNs: int64(s.cfg.HeartbeatInterval), OrphanTimeoutNs: int64(s.cfg.OrphanTimeout),
	}}})
	if err != nil {
		return err
	}
	go r.heartbeats()
	go r.watch()
	if err := r.syncClock(s.cfg.Probes); err != nil {
		s.logf("worker %s from %s: %v", r.name, from, err)
		return status.Error(codes.Unavailable, err.Error())
	}
	if err := s.register(r); err != nil {
		s.logf("refused worker %s from %s: %s", r.name, from, status.Convert(err).Message())
		return err
	}
	<-r.done
	if err := r.endErr(); err != nil {
		s.logf("worker %s: %v", r.name, err)
		return status.Error(codes.Unavailable, err.Error())
	}
	return nil
}

// admit checks a Hello: token, versions, a name, and whether the run is
// still open.
func (s *Server) admit(h *tailracepb.Hello) error {
	if s.cfg.Token != "" {
		if h.GetToken() == "" {
			return status.Error(codes.Unauthenticated, "cluster: the coordinator requires a token: give the worker --token or TAILRACE_TOKEN")
		}
		if subtle.ConstantTimeCompare([]byte(h.GetToken()), []byte(s.cfg.Token)) != 1 {
			return status.Error(codes.Unauthenticated, "cluster: bad token: the worker's --token does not match the coordinator's")
		}
	}
	if h.GetProtocol() != ProtocolVersion || h.GetVersion() != loadgen.Version {
		return status.Errorf(codes.FailedPrecondition, "cluster: version mismatch: worker is tailrace %s (protocol %d), coordinator is tailrace %s (protocol %d): run the same version on both", h.GetVersion(), h.GetProtocol(), loadgen.Version, ProtocolVersion)
	}
	if h.GetName() == "" || len(h.GetName()) > 200 {
		return status.Error(codes.InvalidArgument, "cluster: a worker needs a name of 1 to 200 bytes (--name)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.openLocked(h.GetName())
}

func (s *Server) openLocked(name string) error {
	if s.started {
		return status.Error(codes.FailedPrecondition, "cluster: the run has already started: a worker that joins late is refused, never silently added")
	}
	if s.want > 0 && len(s.joined) >= s.want {
		return status.Errorf(codes.FailedPrecondition, "cluster: the run already has the %d workers it waits for", s.want)
	}
	for _, r := range s.joined {
		if r.name == name {
			return status.Errorf(codes.AlreadyExists, "cluster: a worker named %q has already joined: give each worker its own --name", name)
		}
	}
	return nil
}

func (s *Server) register(r *remoteWorker) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.openLocked(r.name); err != nil {
		return err
	}
	s.joined = append(s.joined, r)
	close(s.changed)
	s.changed = make(chan struct{})
	want := "?"
	if s.want > 0 {
		want = fmt.Sprint(s.want)
	}
	s.logf("worker %s joined from %s (%d cores, clock offset %v, rtt %v) [%d/%s]",
		r.name, r.from, r.cores, r.offset.Round(time.Microsecond), r.rtt.Round(time.Microsecond), len(s.joined), want)
	return nil
}
