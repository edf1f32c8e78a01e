package target

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestClose(t *testing.T) {
	type load struct {
		path  string // requested with a client of this protocol...
		proto string // "h1", "h2" (ALPN or h2c)
	}
	tests := []struct {
		name     string
		cfg      Config
		requests []load
		rawConns int // TCP connections that never send a byte
		dialTLS  int // TLS handshakes left waiting (TLSDelay)
		idle     bool
		// ready says the server is in the state the row wants to close in.
		ready func(*Server) bool
	}{
		// Nothing to do: Close right after Start.
		{name: "fresh", ready: func(*Server) bool { return true }},
		// An idle keep-alive connection, a request in its ttfb wait, one
		// queued behind it, an h2c stream, a silent connection.
		{name: "busy plain", cfg: Config{MaxConcurrent: 1},
			requests: []load{{"/?ttfb=30s", "h1"}, {"/?ttfb=30s", "h1"}, {"/?download=30s", "h2"}},
			rawConns: 1, idle: true,
			ready: func(s *Server) bool { return s.Stats().Requests == 4 && s.queue.queued() == 2 }},
		// Requests held by a stall window and in a stretched download.
		{name: "stalled", cfg: Config{StallEvery: 20 * time.Millisecond, StallFor: 15 * time.Millisecond},
			requests: []load{{"/?ttfb=30s", "h1"}, {"/?download=30s", "h1"}},
			ready:    func(s *Server) bool { return s.Stats().Requests == 2 }},
		// TLS: handshakes stuck in the delay, a silent connection that never
		// sends its ClientHello, and h1 and h2 requests in flight.
		{name: "busy TLS", cfg: Config{TLS: true, TLSDelay: 100 * time.Millisecond},
			requests: []load{{"/?ttfb=30s", "h1"}, {"/?ttfb=30s", "h2"}},
			rawConns: 1, idle: true,
			ready: func(s *Server) bool { return s.Stats().Requests == 3 }},
		{name: "handshakes in delay", cfg: Config{TLS: true, TLSDelay: 30 * time.Second},
			dialTLS: 2, ready: func(s *Server) bool { return s.Stats().Connections == 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waitForNoServerGoroutines(t, "from earlier tests")
			s, err := Start(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() }) // if the test stops before its own Close
			var clients sync.WaitGroup
			defer clients.Wait()
			h1 := newClient(t, s, nil)
			h2 := newClient(t, s, func(tr *http.Transport) {
				var p http.Protocols
				p.SetHTTP2(true)
				p.SetUnencryptedHTTP2(true)
				tr.Protocols = &p
			})
			if tt.idle {
				get(t, h1, s.URL())
			}
			for _, l := range tt.requests {
				c := h1
				if l.proto == "h2" {
					c = h2
				}
				clients.Go(func() {
					if resp, err := c.Get(s.URL() + l.path); err == nil {
						_, err = readAll(resp)
						if err == nil {
							t.Errorf("GET %s completed; want it cut off by Close", l.path)
						}
					}
				})
			}
			for range tt.rawConns {
				c, err := net.Dial("tcp", s.Addr())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
			}
			for range tt.dialTLS {
				clients.Go(func() {
					c, err := tls.Dial("tcp", s.Addr(), &tls.Config{RootCAs: s.CertPool(), ServerName: "127.0.0.1"})
					if err == nil {
						c.Close()
						t.Error("handshake completed; want it cut off by Close")
					}
				})
			}
			waitFor(t, "the load to be in place", 5*time.Second, func() bool { return tt.ready(s) })
			waitFor(t, "serverGoroutines to see the running server", 5*time.Second, func() bool { return len(serverGoroutines()) > 0 })

			start := time.Now()
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Close took %v", d)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if st := s.Stats(); st.ConnsClosed != st.Connections {
				t.Errorf("after Close: %d connections, %d closed", st.Connections, st.ConnsClosed)
			}
			waitForNoServerGoroutines(t, "after Close")
			if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
				t.Error("dial after Close succeeded")
			}
		})
	}
}

func TestStartRejectsConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   Config
		field string
	}{
		{"bad addr", Config{Addr: "localhost"}, "Addr"},                                                  // no port
		{"tls delay without tls", Config{TLSDelay: time.Second}, "TLSDelay"},                             // the delay would never apply
		{"negative tls delay", Config{TLS: true, TLSDelay: -time.Second}, "TLSDelay"},                    // negative
		{"stall for without every", Config{StallFor: time.Second}, "StallEvery"},                         // no period
		{"stall every without for", Config{StallEvery: time.Second}, "StallFor"},                         // no length
		{"endless stall", Config{StallEvery: time.Second, StallFor: time.Second}, "StallFor"},            // a window as long as its period never ends
		{"negative stall", Config{StallEvery: -time.Second, StallFor: time.Millisecond}, "StallEvery"},   // negative
		{"negative max concurrent", Config{MaxConcurrent: -1}, "MaxConcurrent"},                          // negative
		{"negative stall for", Config{StallEvery: time.Second, StallFor: -time.Millisecond}, "StallFor"}, // negative
	}
	for _, tt := range tests {
		s, err := Start(tt.cfg)
		if err == nil {
			s.Close()
			t.Errorf("%s: Start succeeded", tt.name)
			continue
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tt.field || !strings.HasPrefix(err.Error(), "target: ") {
			t.Errorf("%s: Start error %v, want a ConfigError for %s", tt.name, err, tt.field)
		}
	}
}

func TestStartListenError(t *testing.T) {
	s := startServer(t, Config{})
	_, err := Start(Config{Addr: s.Addr()})
	var ce *ConfigError
	if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "target: listen") {
		t.Errorf("Start on a busy port: %v, want a listen error", err)
	}
}

func waitForNoServerGoroutines(t *testing.T, when string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := serverGoroutines()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d server goroutines %s, the first:\n%s", len(left), when, left[0])
		}
		time.Sleep(2 * time.Millisecond)
	}
}
