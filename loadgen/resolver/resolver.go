package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
)

// ErrNotFound is wrapped by Lookup errors when the name does not exist
// (NXDOMAIN) or has no address of the configured family (NODATA).
var ErrNotFound = errors.New("no such host")

const (
	defaultTimeout   = 5 * time.Second
	defaultSystemTTL = 30 * time.Second
	maxTTLSeconds    = 1<<31 - 1 // RFC 2181 section 8: larger TTLs mean 0
)

// Config configures a [Resolver]. The zero value asks the system resolver for
// both address families on every Lookup, without caching.
type Config struct {
	// Server is the "ip:port" of a DNS server to ask directly over UDP, with a
	// TCP retry when an answer comes back truncated. "" uses the system
	// resolver (net.DefaultResolver: /etc/hosts, then the servers of
	// /etc/resolv.conf or the platform's equivalent).
	Server string
	// Cache keeps answers until their TTL runs out, as real clients do. When
	// false every Lookup of a name asks again, and concurrent Lookups of one
	// name are not merged: each new connection pays for its own resolution.
	Cache bool
	// Static pins host:port pairs to addresses (--resolve). Two overrides for
	// the same host and port are an error.
	Static []Override
	// Timeout bounds one resolution of one name: both families, and the TCP
	// retry after a truncated UDP answer. 0 means 5s.
	Timeout time.Duration
	// Network selects the families: "ip" (or "") for both, "ip4" or "ip6".
	Network string
	// DefaultTTL is how long answers of the system resolver are cached. Go's
	// resolver API does not expose record TTLs, so with Server == "" the
	// cache cannot honour the real ones; this fixed value stands in for them.
	// 0 means 30s. Ignored when Server is set (real TTLs are used) or Cache
	// is false.
	DefaultTTL time.Duration
}

// Source says where a Lookup's addresses came from.
type Source uint8

const (
	// Literal: the host was an IP address; no DNS happened.
	Literal Source = iota + 1
	// Static: an [Override] matched host and port; no DNS happened.
	Static
	// Cached: the answer came from the TTL cache; no DNS happened.
	Cached
	// Queried: a real resolution happened, or the caller waited for one
	// another caller started. Only this case is a dns phase.
	Queried
)

// Resolved reports whether the Lookup spent time on DNS, i.e. whether the
// engine should record a dns phase for it.
func (s Source) Resolved() bool { return s == Queried }

func (s Source) String() string {
	switch s {
	case Literal:
		return "literal"
	case Static:
		return "static"
	case Cached:
		return "cached"
	case Queried:
		return "queried"
	}
	return fmt.Sprintf("Source(%d)", uint8(s))
}

// Result is the outcome of one Lookup.
type Result struct {
	// Addrs are the addresses to dial, in preference order (see [Resolver]).
	// The slice may be shared with the cache and other callers: do not
	// modify it.
	Addrs []netip.Addr
	// Source says whether DNS was involved.
	Source Source
	// TTL is how long the answer may be reused: the record TTL for Queried
	// (0 if it must not be cached), what remains of it for Cached, and 0 for
	// Literal and Static.
	TTL time.Duration
}

// Resolver maps host names to addresses for the engine's dialer, and says
// whether each lookup cost a DNS round trip. Create one with [New]; the zero
// value is not usable. It is safe for concurrent use and meant to be shared
// by every connection of a run, so that its cache is.
//
// With a Server, addresses come in answer order, IPv4 (A) before IPv6
// (AAAA): the engine dials them in order, and a simple fixed preference makes
// runs comparable; RFC 6724 sorting is left to the system resolver, whose
// order is kept as is. Negative answers (NXDOMAIN, NODATA) are never cached:
// a load test resolving a missing name should see each failure.
type Resolver struct {
	server     string // "" = system resolver
	cache      *cache // nil when caching is off
	static     map[staticKey][]netip.Addr
	timeout    time.Duration
	network    string
	defaultTTL time.Duration
	flights    singleflight.Group
}

type staticKey struct{ host, port string }

// New validates cfg and returns a Resolver.
func New(cfg Config) (*Resolver, error) {
	r := &Resolver{
		timeout:    cfg.Timeout,
		network:    cfg.Network,
		defaultTTL: cfg.DefaultTTL,
		static:     make(map[staticKey][]netip.Addr, len(cfg.Static)),
	}
	if cfg.Server != "" {
		ap, err := netip.ParseAddrPort(cfg.Server)
		if err != nil || ap.Port() == 0 {
			return nil, fmt.Errorf("resolver: dns server %q: want IP:PORT, e.g. 127.0.0.1:53 or [::1]:53", cfg.Server)
		}
		r.server = ap.String()
	}
	switch r.network {
	case "":
		r.network = "ip"
	case "ip", "ip4", "ip6":
	default:
		return nil, fmt.Errorf("resolver: network %q: want ip, ip4 or ip6", cfg.Network)
	}
	switch {
	case r.timeout < 0:
		return nil, fmt.Errorf("resolver: negative timeout %v", cfg.Timeout)
	case r.timeout == 0:
		r.timeout = defaultTimeout
	}
	switch {
	case r.defaultTTL < 0:
		return nil, fmt.Errorf("resolver: negative default TTL %v", cfg.DefaultTTL)
	case r.defaultTTL == 0:
		r.defaultTTL = defaultSystemTTL
	}
	for _, o := range cfg.Static {
		if err := checkHost(o.Host); err != nil {
			return nil, fmt.Errorf("resolver: override %v: %w", o, err)
		}
		k := staticKey{strings.ToLower(o.Host), o.Port}
		if _, dup := r.static[k]; dup {
			return nil, fmt.Errorf("resolver: two overrides for %s:%s", k.host, k.port)
		}
		// Filtered once here so a Lookup returns a ready slice; an empty one
		// is kept to report the mismatch rather than fall through to DNS.
		r.static[k] = r.filter(o.Addrs)
	}
	if cfg.Cache {
		r.cache = newCache()
	}
	return r, nil
}

// filter keeps the addresses of the configured family, unmapping IPv4-mapped
// IPv6 ones so that they count as IPv4.
func (r *Resolver) filter(addrs []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		a = a.Unmap()
		if r.wants(a) {
			out = append(out, a)
		}
	}
	return out
}

func (r *Resolver) wants(a netip.Addr) bool {
	switch r.network {
	case "ip4":
		return a.Is4()
	case "ip6":
		return a.Is6()
	}
	return true
}

// Fixed returns what Lookup returns for host on port when that can never
// involve DNS: host is an IP address, or an [Override] names it. ok is false
// otherwise (and for a literal or override Lookup would reject). Callers that
// dial one host many times ask once and skip Lookup after.
func (r *Resolver) Fixed(host, port string) (res Result, ok bool) {
	if _, lit := literal(host); !lit {
		if _, st := r.static[staticKey{strings.ToLower(host), port}]; !st {
			return Result{}, false
		}
	}
	res, err := r.Lookup(context.Background(), host, port)
	return res, err == nil
}

// Lookup returns the addresses to dial for host on port, and where they came
// from. port only selects [Override]s; it is never resolved. Errors are
// prefixed "resolver:"; a missing name wraps [ErrNotFound], and a timeout
// wraps [context.DeadlineExceeded] whether it came from ctx or from
// [Config.Timeout].
//
// When a cache miss joins a query another caller started, ctx still bounds
// this caller's wait, but cancelling it does not abort the shared query; that
// query is bounded by [Config.Timeout] instead.
func (r *Resolver) Lookup(ctx context.Context, host, port string) (Result, error) {
	if host == "" {
		return Result{}, errors.New("resolver: empty host")
	}
	if addr, ok := literal(host); ok {
		if !r.wants(addr) {
			return Result{}, fmt.Errorf("resolver: address %s is not usable on network %s", addr, r.network)
		}
		return Result{Addrs: []netip.Addr{addr}, Source: Literal}, nil
	}
	name := strings.ToLower(host) // allocation-free when already lower case
	if addrs, ok := r.static[staticKey{name, port}]; ok {
		if len(addrs) == 0 {
			return Result{}, fmt.Errorf("resolver: override for %s:%s has no %s address", name, port, r.network)
		}
		return Result{Addrs: addrs, Source: Static}, nil
	}
	if r.cache == nil {
		addrs, ttl, err := r.resolve(ctx, name)
		if err != nil {
			return Result{}, err
		}
		return Result{Addrs: addrs, Source: Queried, TTL: ttl}, nil
	}
	if addrs, ttl, ok := r.cache.get(name, time.Now()); ok {
		return Result{Addrs: addrs, Source: Cached, TTL: ttl}, nil
	}
	return r.shared(ctx, name)
}

// flight is what a shared query hands every caller waiting on it.
type flight struct {
	addrs  []netip.Addr
	ttl    time.Duration
	cached bool // a flight that began just after another filled the cache
}

// shared resolves a cache miss, merging concurrent misses for one name into
// a single query. The query runs detached from any one caller's
// cancellation, so the first caller giving up does not fail the others.
func (r *Resolver) shared(ctx context.Context, name string) (Result, error) {
	ch := r.flights.DoChan(name, func() (any, error) {
		// A flight that ended between our cache miss and DoChan has just
		// filled the cache; do not ask again.
		if addrs, ttl, ok := r.cache.get(name, time.Now()); ok {
			return flight{addrs: addrs, ttl: ttl, cached: true}, nil
		}
		addrs, ttl, err := r.resolve(context.WithoutCancel(ctx), name)
		if err != nil {
			return nil, err
		}
		if ttl > 0 {
			r.cache.put(name, addrs, time.Now().Add(ttl))
		}
		return flight{addrs: addrs, ttl: ttl}, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return Result{}, res.Err
		}
		f := res.Val.(flight)
		src := Queried
		if f.cached {
			src = Cached
		}
		return Result{Addrs: f.addrs, Source: src, TTL: f.ttl}, nil
	case <-ctx.Done():
		return Result{}, fmt.Errorf("resolver: lookup %s: %w", name, ctx.Err())
	}
}

// literal reports whether host is an IP address, bracketed or not. It avoids
// netip.ParseAddr's allocated error on the common path of a host name: only
// strings made of digits and dots, or containing a colon, can parse.
func literal(host string) (netip.Addr, bool) {
	if len(host) > 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if !strings.Contains(host, ":") {
		for i := 0; i < len(host); i++ {
			if c := host[i]; c != '.' && (c < '0' || c > '9') {
				return netip.Addr{}, false
			}
		}
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return addr.Unmap(), true
}

// resolve asks DNS for name, bounded by the configured timeout.
func (r *Resolver) resolve(ctx context.Context, name string) ([]netip.Addr, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if r.server != "" {
		return r.query(ctx, name)
	}
	return r.system(ctx, name)
}

func (r *Resolver) system(ctx context.Context, name string) ([]netip.Addr, time.Duration, error) {
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, r.network, name)
	if err != nil {
		var dnsErr *net.DNSError
		switch {
		case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
			return nil, 0, fmt.Errorf("resolver: lookup %s: %w", name, ErrNotFound)
		case ctx.Err() != nil:
			return nil, 0, fmt.Errorf("resolver: lookup %s: %w", name, ctx.Err())
		case errors.As(err, &dnsErr) && dnsErr.IsTimeout:
			return nil, 0, fmt.Errorf("resolver: lookup %s: %w (%w)", name, context.DeadlineExceeded, err)
		}
		return nil, 0, fmt.Errorf("resolver: %w", err)
	}
	// Go may return IPv4 answers in IPv4-mapped form; unmapped, they compare
	// and dial as the IPv4 addresses they are.
	addrs = r.filter(addrs)
	if len(addrs) == 0 {
		return nil, 0, fmt.Errorf("resolver: lookup %s: no %s address: %w", name, r.network, ErrNotFound)
	}
	return addrs, r.defaultTTL, nil
}
