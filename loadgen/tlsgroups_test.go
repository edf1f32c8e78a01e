package loadgen

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// helloRecorder is a TLS server on loopback that records the key-exchange
// groups every ClientHello offered and the group every handshake used.
type helloRecorder struct {
	srv *httptest.Server

	mu         sync.Mutex
	offered    [][]tls.CurveID
	negotiated []tls.CurveID
}

func startHelloRecorder(t *testing.T) *helloRecorder {
	t.Helper()
	h := &helloRecorder{}
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.negotiated = append(h.negotiated, r.TLS.CurveID)
		h.mu.Unlock()
		w.Write([]byte("ok"))
	}))
	h.srv.TLS = &tls.Config{
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			h.mu.Lock()
			h.offered = append(h.offered, slices.Clone(hello.SupportedCurves))
			h.mu.Unlock()
			return nil, nil
		},
	}
	h.srv.EnableHTTP2 = true // for ModeH2
	h.srv.StartTLS()         // httptest listens on 127.0.0.1, port 0
	t.Cleanup(h.srv.Close)
	return h
}

func (h *helloRecorder) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(h.srv.Certificate())
	return p
}

// results returns what was recorded since the last call, and forgets it.
func (h *helloRecorder) results() (offered [][]tls.CurveID, negotiated []tls.CurveID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	offered, negotiated = h.offered, h.negotiated
	h.offered, h.negotiated = nil, nil
	return offered, negotiated
}

// goDefaultGroups is what a crypto/tls client with no CurvePreferences
// offers this process's server: Go's default, asked of Go itself.
func goDefaultGroups(t *testing.T, h *helloRecorder) []tls.CurveID {
	t.Helper()
	c, err := tls.Dial("tcp", h.srv.Listener.Addr().String(), &tls.Config{RootCAs: h.pool(), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	offered, _ := h.results()
	if len(offered) != 1 {
		t.Fatalf("%d ClientHellos from one dial, want 1", len(offered))
	}
	return offered[0]
}

// TestTLSGroupsOffered proves that Config.TLSGroups is what the engine's
// ClientHellos offer, under every client and mode that dials TLS, and that
// without it the engine offers exactly what Go offers by default.
func TestTLSGroupsOffered(t *testing.T) {
	h := startHelloRecorder(t)
	goDefault := goDefaultGroups(t, h)
	if !slices.Contains(goDefault, tls.X25519MLKEM768) || !slices.Contains(goDefault, tls.X25519) {
		t.Fatalf("Go's default groups %v lack X25519MLKEM768 or X25519", goDefault)
	}
	tests := []struct {
		name           string
		mode           Mode
		client         ClientKind
		groups         []tls.CurveID
		offered        []tls.CurveID // exactly, in order
		negotiated     tls.CurveID
		tlsMax, tlsMin uint16
	}{
		{"default", ModeClose, ClientFast, nil, goDefault, tls.X25519MLKEM768, 0, 0},
		{"default std h2", ModeH2, ClientStd, nil, goDefault, tls.X25519MLKEM768, 0, 0},
		{"x25519", ModeClose, ClientFast, []tls.CurveID{tls.X25519}, []tls.CurveID{tls.X25519}, tls.X25519, 0, 0},
		{"x25519 std", ModeClose, ClientStd, []tls.CurveID{tls.X25519}, []tls.CurveID{tls.X25519}, tls.X25519, 0, 0},
		{"x25519 h2", ModeH2, "", []tls.CurveID{tls.X25519}, []tls.CurveID{tls.X25519}, tls.X25519, 0, 0},
		{"x25519 resume", ModeResume, ClientFast, []tls.CurveID{tls.X25519}, []tls.CurveID{tls.X25519}, tls.X25519, 0, 0},
		{"p256", ModeKeepAlive, ClientFast, []tls.CurveID{tls.CurveP256}, []tls.CurveID{tls.CurveP256}, tls.CurveP256, 0, 0},
		{"mlkem only", ModeClose, ClientFast, []tls.CurveID{tls.X25519MLKEM768}, []tls.CurveID{tls.X25519MLKEM768}, tls.X25519MLKEM768, 0, 0},
		{"p384 tls1.2", ModeClose, ClientFast, []tls.CurveID{tls.CurveP384}, []tls.CurveID{tls.CurveP384}, tls.CurveP384, tls.VersionTLS12, 0},
		// crypto/tls offers the groups in its own order, not the list's
		// (tls.Config.CurvePreferences: "the order of the list is
		// ignored"); the help text of --tls-groups says so.
		{"order is Go's", ModeClose, ClientFast, []tls.CurveID{tls.CurveP521, tls.CurveP256, tls.X25519}, []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP521}, tls.X25519, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.results()
			cfg := Config{
				Mode: tc.mode, Client: tc.client, Connections: 2, RootCAs: h.pool(),
				TLSGroups: tc.groups, TLSMax: tc.tlsMax, TLSMin: tc.tlsMin,
			}
			r := runEngine(t, cfg, h.srv.URL+"/", 40, 200*time.Millisecond)
			if c := r.iv.Counters; c.Errors != 0 || c.Completed != c.Intended {
				t.Fatalf("counters %+v: want every request completed", c)
			}
			offered, negotiated := h.results()
			if len(offered) == 0 {
				t.Fatal("no ClientHello reached the server")
			}
			for i, o := range offered {
				if !slices.Equal(o, tc.offered) {
					t.Errorf("ClientHello %d offered %v, want %v", i, o, tc.offered)
				}
			}
			for i, g := range negotiated {
				if g != tc.negotiated {
					t.Errorf("request %d used %v, want %v", i, g, tc.negotiated)
				}
			}
			t.Logf("%d ClientHellos offered %v; groups used: %v", len(offered), offered[0], slices.Compact(negotiated))
		})
	}
}

func TestTLSGroupsParse(t *testing.T) {
	good := []struct {
		in   string
		want []tls.CurveID
	}{
		{"x25519", []tls.CurveID{tls.X25519}},
		{"X25519MLKEM768,x25519", []tls.CurveID{tls.X25519MLKEM768, tls.X25519}},
		{" p256 , P384,p521", []tls.CurveID{tls.CurveP256, tls.CurveP384, tls.CurveP521}},
	}
	for _, tc := range good {
		got, err := ParseTLSGroups(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseTLSGroups(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	bad := []struct{ in, want string }{
		{"", "empty TLS group"},
		{"x25519,", "empty TLS group"},
		{"x25519,,p256", "empty TLS group"},
		{"x448", `unknown TLS group "x448" (want x25519mlkem768, x25519, p256, p384 or p521)`},
		{"secp256r1mlkem768", "unknown TLS group"},
		{"x25519,X25519", "x25519 listed twice"},
	}
	for _, tc := range bad {
		if got, err := ParseTLSGroups(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseTLSGroups(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.want)
		}
	}
	for _, g := range tlsGroups {
		if TLSGroupName(g.id) != g.name {
			t.Errorf("TLSGroupName(%v) = %q, want %q", g.id, TLSGroupName(g.id), g.name)
		}
	}
}

func TestTLSGroupsValidate(t *testing.T) {
	base := func(groups ...tls.CurveID) Config {
		u := mustURL(t, "https://127.0.0.1:1/")
		return Config{URL: u, TLSGroups: groups}
	}
	for _, groups := range [][]tls.CurveID{nil, {tls.X25519}, {tls.X25519MLKEM768}, {tls.CurveP521, tls.CurveP256}} {
		c := base(groups...)
		if err := c.Validate(); err != nil {
			t.Errorf("TLSGroups %v: %v", groups, err)
		}
	}
	bad := []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown", base(tls.X25519, tls.CurveID(4587)), "unsupported TLS group SecP256r1MLKEM768"},
		{"unassigned", base(tls.CurveID(9999)), "unsupported TLS group CurveID(9999)"},
		{"twice", base(tls.CurveP256, tls.CurveP256), "p256 listed twice"},
		{"mlkem under tls1.2", func() Config { c := base(tls.X25519MLKEM768); c.TLSMax = tls.VersionTLS12; return c }(), "needs TLS 1.3"},
	}
	for _, tc := range bad {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
