package resolver_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tailrace/tailrace/internal/dnstest"
	"github.com/tailrace/tailrace/loadgen/resolver"
)

var records = map[string][]netip.Addr{
	"api.example.test":   {netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("192.0.2.2")},
	"only4.example.test": {netip.MustParseAddr("192.0.2.9")},
}

func startDNS(t testing.TB, cfg dnstest.Config) *dnstest.Server {
	t.Helper()
	if cfg.Records == nil {
		cfg.Records = records
	}
	s, err := dnstest.Start(cfg)
	if err != nil {
		t.Fatalf("dnstest.Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newResolver(t testing.TB, cfg resolver.Config) *resolver.Resolver {
	t.Helper()
	r, err := resolver.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// step is one Lookup in a sequence and what it must produce.
type step struct {
	host, port string
	source     resolver.Source
	addrs      []netip.Addr
	err        error         // wanted in the chain; nil means success
	atLeast    time.Duration // minimum time the Lookup must take
	under      time.Duration // maximum time, when non-zero
}

func TestLookupSequences(t *testing.T) {
	const delay = 15 * time.Millisecond
	const host, port = "api.example.test", "443"
	v4 := addrs("192.0.2.1", "192.0.2.2")
	override, err := resolver.ParseOverride("api.example.test:443:[::1],127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dns     dnstest.Config
		cfg     resolver.Config // Server is filled in
		steps   []step
		queries int64 // questions the server answered in all
	}{
		{
			// The delay is DNS time and is reported as such; the cached answer costs no query.
			name:    "delay then cache hit",
			dns:     dnstest.Config{TTL: 60, Delay: delay},
			cfg:     resolver.Config{Cache: true, Network: "ip4"},
			steps:   []step{{host: host, port: port, source: resolver.Queried, addrs: v4, atLeast: delay}, {host: host, port: port, source: resolver.Cached, addrs: v4, under: delay}},
			queries: 1,
		},
		{
			// --dns-cache=false: every new connection resolves.
			name:    "cache off queries every time",
			dns:     dnstest.Config{TTL: 60, Delay: delay},
			cfg:     resolver.Config{Network: "ip4"},
			steps:   []step{{host: host, port: port, source: resolver.Queried, atLeast: delay}, {host: host, port: port, source: resolver.Queried, atLeast: delay}, {host: host, port: port, source: resolver.Queried, atLeast: delay}},
			queries: 3,
		},
		{
			// TTL 0 means the answer must not be reused.
			name:    "ttl zero not cached",
			dns:     dnstest.Config{TTL: 0},
			cfg:     resolver.Config{Cache: true, Network: "ip4"},
			steps:   []step{{host: host, port: port, source: resolver.Queried, addrs: v4}, {host: host, port: port, source: resolver.Queried, addrs: v4}},
			queries: 2,
		},
		{
			// Both families: A and AAAA asked, IPv4 first, cached together.
			name:    "both families",
			dns:     dnstest.Config{TTL: 60},
			cfg:     resolver.Config{Cache: true},
			steps:   []step{{host: host, port: port, source: resolver.Queried, addrs: addrs("192.0.2.1", "192.0.2.2", "2001:db8::1")}, {host: "API.Example.Test", port: port, source: resolver.Cached}},
			queries: 2,
		},
		{
			// A name with only IPv4 still resolves on "ip" (AAAA is NODATA).
			name:    "nodata on one family",
			dns:     dnstest.Config{TTL: 60},
			cfg:     resolver.Config{Cache: true},
			steps:   []step{{host: "only4.example.test", port: port, source: resolver.Queried, addrs: addrs("192.0.2.9")}},
			queries: 2,
		},
		{
			// NODATA on the only family asked is not found.
			name:    "nodata",
			dns:     dnstest.Config{TTL: 60},
			cfg:     resolver.Config{Cache: true, Network: "ip6"},
			steps:   []step{{host: "only4.example.test", port: port, err: resolver.ErrNotFound}},
			queries: 1,
		},
		{
			// NXDOMAIN is ErrNotFound and is not cached.
			name:    "nxdomain",
			dns:     dnstest.Config{TTL: 60},
			cfg:     resolver.Config{Cache: true, Network: "ip4"},
			steps:   []step{{host: "missing.example.test", port: port, err: resolver.ErrNotFound}, {host: "missing.example.test", port: port, err: resolver.ErrNotFound}},
			queries: 2,
		},
		{
			// --resolve wins over DNS for its host and port, in its own order, without a query.
			name:    "static override",
			dns:     dnstest.Config{TTL: 60},
			cfg:     resolver.Config{Cache: true, Static: []resolver.Override{override}},
			steps:   []step{{host: host, port: port, source: resolver.Static, addrs: addrs("::1", "127.0.0.1")}, {host: "API.example.test", port: port, source: resolver.Static}},
			queries: 0,
		},
		{
			// An override is per port, as in curl: another port goes to DNS.
			name:    "override other port",
			dns:     dnstest.Config{TTL: 60},
			cfg:     resolver.Config{Cache: true, Network: "ip4", Static: []resolver.Override{override}},
			steps:   []step{{host: host, port: "80", source: resolver.Queried, addrs: v4}},
			queries: 1,
		},
		{
			// An override is filtered by family.
			name:    "override filtered by network",
			dns:     dnstest.Config{TTL: 60},
			cfg:     resolver.Config{Network: "ip4", Static: []resolver.Override{override}},
			steps:   []step{{host: host, port: port, source: resolver.Static, addrs: addrs("127.0.0.1")}},
			queries: 0,
		},
		{
			// IP literals never touch DNS, bracketed or not.
			name:    "ip literals",
			dns:     dnstest.Config{TTL: 60},
			cfg:     resolver.Config{Cache: true},
			steps:   []step{{host: "192.0.2.77", port: port, source: resolver.Literal, addrs: addrs("192.0.2.77")}, {host: "[2001:db8::7]", port: port, source: resolver.Literal, addrs: addrs("2001:db8::7")}, {host: "::1", port: port, source: resolver.Literal, addrs: addrs("::1")}},
			queries: 0,
		},
		{
			// A truncated UDP answer is retried over TCP; the stub is not a counted answer.
			name:    "truncation retried over tcp",
			dns:     dnstest.Config{TTL: 60, Truncate: true},
			cfg:     resolver.Config{Cache: true, Network: "ip4"},
			steps:   []step{{host: host, port: port, source: resolver.Queried, addrs: v4}, {host: host, port: port, source: resolver.Cached, addrs: v4}},
			queries: 1,
		},
		{
			// NXDOMAIN over TCP too.
			name:    "truncation nxdomain",
			dns:     dnstest.Config{TTL: 60, Truncate: true},
			cfg:     resolver.Config{Cache: true, Network: "ip4"},
			steps:   []step{{host: "missing.example.test", port: port, err: resolver.ErrNotFound}},
			queries: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startDNS(t, tt.dns)
			cfg := tt.cfg
			cfg.Server = srv.Addr()
			r := newResolver(t, cfg)
			for i, st := range tt.steps {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				start := time.Now()
				res, err := r.Lookup(ctx, st.host, st.port)
				elapsed := time.Since(start)
				cancel()
				if st.err != nil {
					if !errors.Is(err, st.err) {
						t.Fatalf("step %d: err = %v, want %v", i, err, st.err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d: Lookup(%q, %q): %v", i, st.host, st.port, err)
				}
				if res.Source != st.source {
					t.Errorf("step %d: Source = %v, want %v", i, res.Source, st.source)
				}
				if st.addrs != nil && !slices.Equal(res.Addrs, st.addrs) {
					t.Errorf("step %d: Addrs = %v, want %v", i, res.Addrs, st.addrs)
				}
				if elapsed < st.atLeast {
					t.Errorf("step %d: took %v, want at least %v", i, elapsed, st.atLeast)
				}
				if st.under > 0 && elapsed >= st.under {
					t.Errorf("step %d: took %v, want under %v", i, elapsed, st.under)
				}
				if res.Source == resolver.Queried && tt.dns.TTL > 0 && res.TTL != time.Duration(tt.dns.TTL)*time.Second {
					t.Errorf("step %d: TTL = %v, want %ds", i, res.TTL, tt.dns.TTL)
				}
			}
			if got := srv.Queries(); got != tt.queries {
				t.Errorf("server answered %d questions, want %d", got, tt.queries)
			}
		})
	}
}

func TestTTLExpiry(t *testing.T) {
	srv := startDNS(t, dnstest.Config{TTL: 1})
	r := newResolver(t, resolver.Config{Server: srv.Addr(), Cache: true, Network: "ip4"})
	ctx := t.Context()

	start := time.Now()
	if res, err := r.Lookup(ctx, "api.example.test", "443"); err != nil || res.Source != resolver.Queried {
		t.Fatalf("first Lookup = %v, %v; want Queried", res.Source, err)
	}
	res, err := r.Lookup(ctx, "api.example.test", "443")
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < time.Second && res.Source != resolver.Cached {
		t.Fatalf("Lookup within the 1s TTL = %v, want Cached", res.Source)
	}
	if res.TTL <= 0 || res.TTL > time.Second {
		t.Errorf("cached TTL = %v, want in (0, 1s]", res.TTL)
	}

	// Poll until the entry expires; it must not before 1s, and must by 3s.
	deadline := start.Add(3 * time.Second)
	for {
		res, err := r.Lookup(ctx, "api.example.test", "443")
		if err != nil {
			t.Fatal(err)
		}
		if res.Source == resolver.Queried {
			if since := time.Since(start); since < time.Second {
				t.Fatalf("entry expired after %v, before its 1s TTL", since)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("entry still %v 3s after a 1s TTL", res.Source)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := srv.Queries(); got != 2 {
		t.Errorf("server answered %d questions, want 2", got)
	}
}

func TestConcurrentMissesCoalesce(t *testing.T) {
	srv := startDNS(t, dnstest.Config{TTL: 60, Delay: 50 * time.Millisecond})
	r := newResolver(t, resolver.Config{Server: srv.Addr(), Cache: true, Network: "ip4"})
	const n = 10
	results := make([]resolver.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = r.Lookup(t.Context(), "api.example.test", "443")
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		// Each waited out the shared query; a caller that arrived after it
		// finished may legitimately see the cache instead.
		if s := results[i].Source; s != resolver.Queried && s != resolver.Cached {
			t.Errorf("caller %d: Source = %v", i, s)
		}
	}
	if got := srv.Queries(); got != 1 {
		t.Errorf("%d concurrent misses sent %d queries, want 1", n, got)
	}
}

func TestTimeouts(t *testing.T) {
	const slow = 2 * time.Second
	tests := []struct {
		name       string
		cfg        resolver.Config
		ctxTimeout time.Duration
	}{
		// The caller's deadline ends its wait on a shared (cached-path) query.
		{name: "ctx deadline, cache on", cfg: resolver.Config{Cache: true, Network: "ip4", Timeout: 3 * time.Second}, ctxTimeout: 50 * time.Millisecond},
		// The caller's deadline interrupts its own query.
		{name: "ctx deadline, cache off", cfg: resolver.Config{Network: "ip4", Timeout: 3 * time.Second}, ctxTimeout: 50 * time.Millisecond},
		// Config.Timeout bounds a query when the caller has no deadline.
		{name: "config timeout", cfg: resolver.Config{Cache: true, Timeout: 50 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startDNS(t, dnstest.Config{TTL: 60, Delay: slow})
			cfg := tt.cfg
			cfg.Server = srv.Addr()
			r := newResolver(t, cfg)
			ctx := t.Context()
			if tt.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
			}
			start := time.Now()
			_, err := r.Lookup(ctx, "api.example.test", "443")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want context.DeadlineExceeded", err)
			}
			if elapsed := time.Since(start); elapsed >= slow/2 {
				t.Errorf("Lookup returned after %v; the deadline was not honoured", elapsed)
			}
		})
	}
}

func TestCancelDoesNotFailOtherWaiters(t *testing.T) {
	srv := startDNS(t, dnstest.Config{TTL: 60, Delay: 100 * time.Millisecond})
	r := newResolver(t, resolver.Config{Server: srv.Addr(), Cache: true, Network: "ip4"})
	impatient, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := r.Lookup(impatient, "api.example.test", "443")
		done <- err
	}()
	// Usually lets the impatient caller start the shared query. Not an
	// assertion: if the patient caller starts it instead, the test still holds.
	time.Sleep(20 * time.Millisecond)
	cancel()
	res, err := r.Lookup(t.Context(), "api.example.test", "443")
	if err != nil {
		t.Fatalf("patient caller failed: %v", err)
	}
	if res.Source != resolver.Queried {
		t.Errorf("patient caller Source = %v, want Queried", res.Source)
	}
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("impatient caller err = %v, want context.Canceled", err)
	}
}

func TestSystemResolver(t *testing.T) {
	// localhost comes from /etc/hosts: no packet leaves the machine.
	r := newResolver(t, resolver.Config{Cache: true, Network: "ip4", DefaultTTL: time.Minute})
	res, err := r.Lookup(t.Context(), "localhost", "80")
	if err != nil {
		t.Skipf("system resolver cannot resolve localhost here: %v", err)
	}
	if res.Source != resolver.Queried || res.TTL != time.Minute || len(res.Addrs) == 0 || !res.Addrs[0].IsLoopback() {
		t.Errorf("first Lookup = %+v, want Queried loopback with the 1m default TTL", res)
	}
	res, err = r.Lookup(t.Context(), "localhost", "80")
	if err != nil || res.Source != resolver.Cached {
		t.Errorf("second Lookup = %+v, %v; want Cached", res, err)
	}
}

func TestNewValidates(t *testing.T) {
	o := resolver.Override{Host: "a.test", Port: "1", Addrs: addrs("127.0.0.1")}
	tests := []struct {
		name string
		cfg  resolver.Config
		ok   bool
	}{
		// The zero value is valid: system resolver, no cache.
		{name: "zero", ok: true},
		// IPv6 server with port.
		{name: "ipv6 server", cfg: resolver.Config{Server: "[::1]:53"}, ok: true},
		// A host name is not an address.
		{name: "server name", cfg: resolver.Config{Server: "dns.example:53"}},
		// The port is required.
		{name: "server without port", cfg: resolver.Config{Server: "127.0.0.1"}},
		// Port 0 cannot be asked.
		{name: "server port zero", cfg: resolver.Config{Server: "127.0.0.1:0"}},
		// Only ip, ip4, ip6.
		{name: "bad network", cfg: resolver.Config{Network: "tcp"}},
		// Negative durations are mistakes.
		{name: "negative timeout", cfg: resolver.Config{Timeout: -1}},
		{name: "negative default ttl", cfg: resolver.Config{DefaultTTL: -1}},
		// Two overrides for one host:port are ambiguous.
		{name: "duplicate override", cfg: resolver.Config{Static: []resolver.Override{o, {Host: "A.test", Port: "1", Addrs: addrs("::1")}}}},
		// A hand-built override is checked like a parsed one.
		{name: "bad override host", cfg: resolver.Config{Static: []resolver.Override{{Host: "a b", Port: "1"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resolver.New(tt.cfg)
			if (err == nil) != tt.ok {
				t.Errorf("New: err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestLiteralOfWrongFamily(t *testing.T) {
	r := newResolver(t, resolver.Config{Network: "ip4"})
	if _, err := r.Lookup(t.Context(), "::1", "80"); err == nil {
		t.Error("Lookup of an IPv6 literal on ip4 succeeded")
	}
}

func TestFixed(t *testing.T) {
	dns := startDNS(t, dnstest.Config{})
	r := newResolver(t, resolver.Config{
		Server: dns.Addr(), Network: "ip4",
		Static: []resolver.Override{{Host: "pinned.test", Port: "443", Addrs: addrs("127.0.0.9")}},
	})
	for _, tt := range []struct {
		host, port string
		ok         bool
		source     resolver.Source
		addrs      []netip.Addr
	}{
		{"127.0.0.5", "80", true, resolver.Literal, addrs("127.0.0.5")},
		{"[::ffff:127.0.0.6]", "80", true, resolver.Literal, addrs("127.0.0.6")},
		{"Pinned.Test", "443", true, resolver.Static, addrs("127.0.0.9")},
		{"pinned.test", "80", false, 0, nil},    // the override is for port 443 only
		{"a.example.test", "80", false, 0, nil}, // a name only DNS answers
		{"::1", "80", false, 0, nil},            // a literal Lookup rejects on ip4
	} {
		res, ok := r.Fixed(tt.host, tt.port)
		if ok != tt.ok || res.Source != tt.source || !slices.Equal(res.Addrs, tt.addrs) {
			t.Errorf("Fixed(%q, %q) = %v %v, %v; want %v %v, %v", tt.host, tt.port, res.Source, res.Addrs, ok, tt.source, tt.addrs, tt.ok)
		}
	}
	if q := dns.Queries(); q != 0 {
		t.Errorf("Fixed sent %d DNS questions, want none", q)
	}
}
