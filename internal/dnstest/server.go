package dnstest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes what a [Server] answers. The zero value is a server that
// answers NXDOMAIN to everything, immediately, with TTL 0.
type Config struct {
	// Records maps a name (without the trailing dot, matched
	// case-insensitively) to its addresses. IPv4 addresses (including
	// IPv4-mapped IPv6 ones) are served as A records, the others as AAAA, in
	// the order given. A nil or empty slice makes the name exist with no
	// addresses (NODATA rather than NXDOMAIN).
	Records map[string][]netip.Addr
	// TTL is the time to live of every record, in seconds. 0 tells clients
	// not to cache.
	TTL uint32
	// Delay holds every answer back by this long; each answer waits on its
	// own, so a slow answer never delays another query. 0 answers at once.
	Delay time.Duration
	// Truncate answers every UDP query with TC=1 and no records, so the
	// client must retry over TCP, where the full answer is served.
	Truncate bool
}

// Server is a running test DNS server. Create one with [Start]; the zero
// value is not usable. Its methods are safe for concurrent use. A closed
// server cannot be restarted.
type Server struct {
	cfg     Config
	records map[string][]netip.Addr
	udp     *net.UDPConn
	tcp     *net.TCPListener
	addr    string

	queries atomic.Int64
	done    chan struct{}
	wg      sync.WaitGroup

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   bool
	closeErr error
}

// listenAttempts bounds the search for a port free for both UDP and TCP:
// another process can take the TCP side of a port between our two binds.
const listenAttempts = 16

// Start listens on 127.0.0.1 on one port for both UDP and TCP and serves cfg
// until [Server.Close]. It copies cfg.Records, so later changes to the map do
// not race with the server.
func Start(cfg Config) (*Server, error) {
	if cfg.Delay < 0 {
		return nil, fmt.Errorf("dnstest: negative delay %v", cfg.Delay)
	}
	records := make(map[string][]netip.Addr, len(cfg.Records))
	for name, addrs := range cfg.Records {
		records[normalize(name)] = append([]netip.Addr(nil), addrs...)
	}
	udp, tcp, err := listen()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		records: records,
		udp:     udp,
		tcp:     tcp,
		addr:    udp.LocalAddr().String(),
		done:    make(chan struct{}),
		conns:   make(map[net.Conn]struct{}),
	}
	s.wg.Go(s.serveUDP)
	s.wg.Go(s.serveTCP)
	return s, nil
}

func listen() (*net.UDPConn, *net.TCPListener, error) {
	var lastErr error
	for range listenAttempts {
		udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, nil, fmt.Errorf("dnstest: listen udp: %w", err)
		}
		port := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err == nil {
			return udp, tcp, nil
		}
		lastErr = err
		udp.Close()
	}
	return nil, nil, fmt.Errorf("dnstest: no port free for both udp and tcp after %d attempts: %w", listenAttempts, lastErr)
}

func normalize(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// Addr returns the server's address as "127.0.0.1:PORT", the same for UDP and
// TCP.
func (s *Server) Addr() string { return s.addr }

// Queries returns how many questions the server has answered in full, over
// UDP or TCP, including NXDOMAIN and NODATA answers. Truncated UDP answers
// are not counted: the client has to ask again over TCP. The count is
// incremented before the answer is written, so once a client has its answer
// the count includes it.
func (s *Server) Queries() int64 { return s.queries.Load() }

// Close stops the server, drops answers still waiting out their delay, and
// waits for all its goroutines to return. It is safe to call more than once;
// later calls return the first call's result.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return s.closeErr
	}
	s.closed = true
	close(s.done)
	if err := errors.Join(s.udp.Close(), s.tcp.Close()); err != nil {
		s.closeErr = fmt.Errorf("dnstest: close: %w", err)
	}
	for c := range s.conns {
		c.Close()
	}
	err := s.closeErr
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// maxMessage is the largest DNS message over either transport.
const maxMessage = 65535

func (s *Server) serveUDP() {
	buf := make([]byte, maxMessage)
	for {
		n, from, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			// The socket only fails for good: closed by Close, or broken.
			return
		}
		query := append([]byte(nil), buf[:n]...)
		s.wg.Go(func() {
			resp, counted := s.respond(query, true)
			if resp == nil || !s.wait() {
				return
			}
			if counted {
				s.queries.Add(1)
			}
			s.udp.WriteToUDPAddrPort(resp, from)
		})
	}
}

func (s *Server) serveTCP() {
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() { s.serveConn(c) })
	}
}

// serveConn reads length-prefixed queries until the client hangs up. Each
// query is answered from its own goroutine so a delayed answer does not hold
// back the next query on the same connection (RFC 7766 pipelining).
func (s *Server) serveConn(c net.Conn) {
	var (
		writeMu  sync.Mutex
		inflight sync.WaitGroup
	)
	defer func() {
		inflight.Wait()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	var lenBuf [2]byte
	for {
		if _, err := io.ReadFull(c, lenBuf[:]); err != nil {
			return
		}
		query := make([]byte, binary.BigEndian.Uint16(lenBuf[:]))
		if _, err := io.ReadFull(c, query); err != nil {
			return
		}
		inflight.Go(func() {
			resp, counted := s.respond(query, false)
			if resp == nil || !s.wait() {
				return
			}
			if counted {
				s.queries.Add(1)
			}
			framed := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(resp)), uint16(len(resp)))
			framed = append(framed, resp...)
			writeMu.Lock()
			defer writeMu.Unlock()
			c.Write(framed)
		})
	}
}

// wait sleeps out the configured delay and reports whether the answer should
// still be sent (false once the server is closing).
func (s *Server) wait() bool {
	if s.cfg.Delay <= 0 {
		select {
		case <-s.done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(s.cfg.Delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}
