package target

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"testing"
	"time"
)

func TestTLSVerifiesWithCertPool(t *testing.T) {
	s := startServer(t, Config{TLS: true})
	if got := s.URL()[:8]; got != "https://" {
		t.Fatalf("URL = %q, want https", s.URL())
	}
	block, _ := pem.Decode(s.CertPEM())
	if block == nil {
		t.Fatal("CertPEM holds no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(s.Addr())
	tests := []struct {
		name   string
		host   string // the name the client verifies
		roots  *x509.CertPool
		wantOK bool
	}{
		// The pool verifies the IPv4 SAN the URL uses.
		{"pool 127.0.0.1", "127.0.0.1", s.CertPool(), true},
		// And the DNS SAN.
		{"pool localhost", "localhost", s.CertPool(), true},
		// A pool built from CertPEM works the same.
		{"pem pool", "127.0.0.1", pemPool(t, s.CertPEM()), true},
		// The system roots do not know a self-signed certificate.
		{"system roots", "127.0.0.1", nil, false},
		// A name the certificate does not carry fails.
		{"wrong name", "example.com", s.CertPool(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", port), &tls.Config{RootCAs: tt.roots, ServerName: tt.host})
			if err == nil {
				c.Close()
			}
			if (err == nil) != tt.wantOK {
				t.Fatalf("dial verifying %q: err = %v, want ok = %v", tt.host, err, tt.wantOK)
			}
		})
	}
	if !cert.IsCA || len(cert.IPAddresses) != 2 || !cert.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Errorf("certificate SANs %v %v, CA %v", cert.DNSNames, cert.IPAddresses, cert.IsCA)
	}
	if cert.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithm %v, want ECDSA", cert.PublicKeyAlgorithm)
	}
	// A plain server has no certificate to offer.
	if p := startServer(t, Config{}); p.CertPool() != nil || p.CertPEM() != nil {
		t.Error("plain server returned a certificate")
	}
}

func pemPool(t *testing.T, b []byte) *x509.CertPool {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		t.Fatal("CertPEM does not parse")
	}
	return p
}

// handshakeTimes makes n requests, each on a new connection, and returns
// the client-observed TLS handshake durations and how many resumed.
func handshakeTimes(t *testing.T, s *Server, version uint16, n int) (times []time.Duration, resumed int) {
	t.Helper()
	cache := tls.NewLRUClientSessionCache(64)
	c := newClient(t, s, func(tr *http.Transport) {
		tr.DisableKeepAlives = true
		tr.TLSClientConfig.ClientSessionCache = cache
		tr.TLSClientConfig.MinVersion = version
		tr.TLSClientConfig.MaxVersion = version
	})
	for range n {
		var start, done time.Time
		trace := &httptrace.ClientTrace{
			TLSHandshakeStart: func() { start = time.Now() },
			TLSHandshakeDone:  func(tls.ConnectionState, error) { done = time.Now() },
		}
		req, _ := http.NewRequest("GET", s.URL(), nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		// Reading the whole response is what delivers a TLS 1.3 session
		// ticket to the client, which reads it after the handshake.
		if _, err := readAll(resp); err != nil {
			t.Fatal(err)
		}
		if resp.TLS.Version != version {
			t.Fatalf("negotiated %x, want %x", resp.TLS.Version, version)
		}
		if resp.TLS.DidResume {
			resumed++
		}
		times = append(times, done.Sub(start))
	}
	return times, resumed
}

func TestTLSResumption(t *testing.T) {
	tests := []struct {
		name    string
		version uint16
	}{
		// TLS 1.2: the ticket arrives inside the handshake.
		{"TLS 1.2", tls.VersionTLS12},
		// TLS 1.3: the ticket arrives after it, with the response.
		{"TLS 1.3", tls.VersionTLS13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Config{TLS: true})
			const n = 20
			_, clientResumed := handshakeTimes(t, s, tt.version, n)
			st := s.Stats()
			if st.TLSHandshakes != n || st.TLSResumed < n-1 || st.Connections != n {
				t.Errorf("stats %+v: want %d handshakes on %d connections, >= %d resumed", st, n, n, n-1)
			}
			if int64(clientResumed) != st.TLSResumed {
				t.Errorf("client saw %d resumptions, server counted %d", clientResumed, st.TLSResumed)
			}
			waitFor(t, "all connections closed", 5*time.Second, func() bool { return s.Stats().ConnsClosed == n })
		})
	}
}

func TestTLSDelay(t *testing.T) {
	const delay = 80 * time.Millisecond
	s := startServer(t, Config{TLS: true, TLSDelay: delay})
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		var late []time.Duration
		for range attempts {
			times, resumed := handshakeTimes(t, s, version, 3)
			if resumed != 2 {
				t.Fatalf("TLS %x: %d of the 2 later handshakes resumed", version, resumed)
			}
			for i, d := range times {
				// Full (i = 0) and resumed handshakes are delayed alike.
				if d < delay {
					t.Fatalf("TLS %x: handshake %d took %v, want >= %v", version, i, d, delay)
				}
			}
			if slicesMax(times) < delay+slack {
				late = nil
				break
			}
			late = times
		}
		if late != nil {
			t.Errorf("TLS %x: handshakes took %v, want < %v", version, late, delay+slack)
		}
	}
}

func slicesMax(d []time.Duration) time.Duration {
	var m time.Duration
	for _, x := range d {
		m = max(m, x)
	}
	return m
}

func TestProtocols(t *testing.T) {
	tests := []struct {
		name       string
		tls        bool
		h1, h2     bool // client protocols
		h2c        bool
		wantProto  string
		wantH2Conn int64
	}{
		// HTTP/2 negotiated by ALPN.
		{"h2 over TLS", true, false, true, false, "HTTP/2.0", 1},
		// HTTP/2 with prior knowledge on plain TCP.
		{"h2c", false, false, false, true, "HTTP/2.0", 1},
		// ALPN offering only http/1.1.
		{"h1 over TLS", true, true, false, false, "HTTP/1.1", 0},
		// Plain keep-alive HTTP/1.1.
		{"h1", false, true, false, false, "HTTP/1.1", 0},
	}
	const n = 5
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Config{TLS: tt.tls})
			c := newClient(t, s, func(tr *http.Transport) {
				var p http.Protocols
				p.SetHTTP1(tt.h1)
				p.SetHTTP2(tt.h2)
				p.SetUnencryptedHTTP2(tt.h2c)
				tr.Protocols = &p
			})
			for range n {
				resp, _, _, _ := get(t, c, s.URL())
				if resp.Proto != tt.wantProto {
					t.Fatalf("Proto = %s, want %s", resp.Proto, tt.wantProto)
				}
			}
			st := s.Stats()
			if st.HTTP2Conns != tt.wantH2Conn || st.Connections != 1 || st.RequestsPerProto[tt.wantProto] != n || st.Requests != n {
				t.Errorf("stats %+v: want %d HTTP/2 conns, 1 connection, %d %s requests", st, tt.wantH2Conn, n, tt.wantProto)
			}
			if tt.tls && st.TLSHandshakes != 1 {
				t.Errorf("TLSHandshakes = %d, want 1", st.TLSHandshakes)
			}
		})
	}
}

func TestTLSHandshakeFailureNotCounted(t *testing.T) {
	s := startServer(t, Config{TLS: true})
	// A client that does not trust the certificate aborts the handshake.
	c, err := tls.Dial("tcp", s.Addr(), &tls.Config{ServerName: "127.0.0.1"})
	if err == nil {
		c.Close()
		t.Fatal("handshake with an untrusted certificate succeeded")
	}
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("dial error %v, want an unknown authority", err)
	}
	waitFor(t, "the failed connection closed", 5*time.Second, func() bool { return s.Stats().ConnsClosed == 1 })
	if st := s.Stats(); st.Connections != 1 || st.TLSHandshakes != 0 {
		t.Errorf("stats %+v: want 1 connection and no completed handshake", st)
	}
}
