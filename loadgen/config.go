package loadgen

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/tailrace/tailrace/loadgen/resolver"
)

// Version is the engine's version; workers and coordinators compare it.
const Version = "0.2.0"

// Mode is a connection-reuse strategy: the experiment axis (DESIGN.md §4).
type Mode string

// Connection modes.
const (
	ModeKeepAlive Mode = "keepalive" // HTTP/1.1 persistent connections, at most Connections
	ModeClose     Mode = "close"     // a new connection (and full TLS handshake) per request
	ModeResume    Mode = "resume"    // a new connection per request, resuming TLS sessions
	ModeH2        Mode = "h2"        // HTTP/2 streams over at most Connections connections
)

// Modes lists every mode in the order arms run by default.
var Modes = []Mode{ModeKeepAlive, ModeClose, ModeResume, ModeH2}

// ParseMode returns the mode named s.
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("loadgen: unknown mode %q (want keepalive, close, resume or h2)", s)
}

// PacerKind says how the pacer waits for the next arrival.
type PacerKind string

// Pacers.
const (
	PacerSleep   PacerKind = "sleep"   // timer sleeps: about 1 ms granularity, little CPU
	PacerPrecise PacerKind = "precise" // sleep, then spin the last stretch: sub-100 µs lag, burns CPU
	PacerTick    PacerKind = "tick"    // wake on a grid (Config.Tick) and send what is due at once: least CPU, bursts
)

// The tick pacer's grid: by default 1 ms, as wrk2's timers.
const (
	DefaultTick = time.Millisecond
	MinTick     = 100 * time.Microsecond
	MaxTick     = time.Second
)

// ClientKind names the HTTP client the engine speaks through.
type ClientKind string

// Clients.
const (
	ClientFast ClientKind = "fast" // the purpose-built HTTP/1.1 client: no allocation per request
	ClientStd  ClientKind = "std"  // net/http's single-connection client
)

// Config is everything one engine needs to generate load against one target.
// The zero value is not valid: set URL and call Defaults (or Validate after
// filling every field).
type Config struct {
	URL    *url.URL
	Method string      // "" means GET
	Header http.Header // sent with every request; a Host entry sets the Host header
	Body   []byte

	Mode        Mode
	Connections int           // per engine: keep-alive pool size or h2 connections; 0 means 32
	MaxInFlight int           // arrivals beyond this are dropped, not delayed; 0 means 10000
	Pacer       PacerKind     // "" means sleep
	Tick        time.Duration // PacerTick's grid; 0 means 1 ms

	Timeout        time.Duration // whole request, from dispatch; 0 means 30s
	ConnectTimeout time.Duration // 0 means no separate limit
	TLSTimeout     time.Duration // 0 means no separate limit
	TTFBTimeout    time.Duration // from request written to first byte; 0 means no separate limit

	Insecure   bool           // skip certificate verification (explicit, default off)
	CACert     string         // PEM file of CAs to trust instead of the system pool
	CAPEM      []byte         // PEM CAs to trust, from memory (what a remote worker receives); used with or instead of CACert
	RootCAs    *x509.CertPool // CAs to trust, for programmatic use (the in-process target)
	TLSMin     uint16         // tls.VersionTLS12 or 13; 0 means 1.2
	TLSMax     uint16         // 0 means 1.3
	ServerName string         // SNI and verification name; "" means the URL's host
	// TLSGroups are the key-exchange groups the client offers
	// (tls.Config.CurvePreferences), each one of those ParseTLSGroups
	// names, at most once. Empty means Go's defaults: in Go 1.26 the ML-KEM
	// hybrids X25519MLKEM768, SecP256r1MLKEM768 and SecP384r1MLKEM1024,
	// then X25519, P-256, P-384 and P-521, with key shares for
	// X25519MLKEM768 and X25519. crypto/tls sends the groups in its own
	// fixed preference order, whatever this list's order: the list chooses
	// which groups are offered, not their order.
	TLSGroups []tls.CurveID

	Resolve   []resolver.Override // --resolve host:port:addr
	DNSServer string              // ask this DNS server directly; "" means the system resolver
	DNSCache  bool                // cache answers per TTL (real clients do)

	Shards    int // recorder shards; 0 means GOMAXPROCS (each holds an interval, 2.3 MB of histograms)
	Exemplars int // slowest requests kept per interval; 0 means 16
	SelfMeter bool

	// Performance knobs (issue 6).
	//
	// Client is the HTTP client under ModeKeepAlive, ModeClose and ModeResume:
	// "" or ClientFast is the purpose-built HTTP/1.1 client, ClientStd is
	// net/http. ModeH2 always uses net/http (Validate sets ClientStd).
	Client ClientKind
	// Concurrency > 0 runs closed-loop instead of the schedule: that many
	// loops, each sending its next request as soon as the last one is done,
	// until the plan's duration has passed. Each request's Intended is its
	// Dispatched, so schedule_lag is 0 and total is the service-time view.
	// Under ModeKeepAlive each loop owns one connection (Connections is
	// ignored). 0 means open loop.
	Concurrency int

	// Requests is a weighted mix (issue 5): each arrival sends one of them,
	// chosen from its global arrival index and the plan's seed
	// (schedule.Mix), so workers need no coordination and the same seed
	// makes the same choices. Every request must be on URL's origin: they
	// share the engine's connections. Empty means the single request of
	// URL, Method, Header and Body. Each label is recorded on its own as
	// well (histogram.Interval.Labels).
	Requests []RequestSpec
	// Expect is the set of statuses that count as success
	// (--expect-status); any other is an error of class status_Nxx. The
	// zero value means every status below 400.
	Expect StatusSet

	// OnTrail, if set, sees every finished request's trail (tests, debugging).
	// It runs on the request's goroutine and must be fast.
	OnTrail func(*Trail)
}

// Validate checks the configuration, filling defaults, and returns an error
// that names what is wrong.
func (c *Config) Validate() error {
	if c.URL == nil {
		return errors.New("loadgen: no target URL")
	}
	if c.URL.Scheme != "http" && c.URL.Scheme != "https" {
		return fmt.Errorf("loadgen: target URL %q: scheme must be http or https", c.URL.String())
	}
	if c.URL.Host == "" {
		return fmt.Errorf("loadgen: target URL %q has no host", c.URL.String())
	}
	if c.Method == "" {
		c.Method = http.MethodGet
	}
	if c.Mode == "" {
		c.Mode = ModeKeepAlive
	}
	if _, err := ParseMode(string(c.Mode)); err != nil {
		return err
	}
	if c.Connections == 0 {
		c.Connections = 32
	}
	if c.Connections < 0 {
		return fmt.Errorf("loadgen: connections %d must be positive", c.Connections)
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 10000
	}
	if c.MaxInFlight < 0 {
		return fmt.Errorf("loadgen: max in-flight %d must be positive", c.MaxInFlight)
	}
	switch c.Pacer {
	case "":
		c.Pacer = PacerSleep
	case PacerSleep, PacerPrecise, PacerTick:
	default:
		return fmt.Errorf("loadgen: unknown pacer %q (want sleep, precise or tick)", c.Pacer)
	}
	switch {
	case c.Tick != 0 && c.Pacer != PacerTick:
		return fmt.Errorf("loadgen: a tick (%v) is the tick pacer's grid, and the pacer is %s", c.Tick, c.Pacer)
	case c.Tick == 0 && c.Pacer == PacerTick:
		c.Tick = DefaultTick
	case c.Tick != 0 && (c.Tick < MinTick || c.Tick > MaxTick):
		return fmt.Errorf("loadgen: tick %v out of range (%v to %v)", c.Tick, MinTick, MaxTick)
	}
	switch c.Client {
	case "", ClientFast, ClientStd:
		if c.Client == "" {
			c.Client = ClientFast
		}
		if c.Mode == ModeH2 {
			c.Client = ClientStd // HTTP/2 is net/http's
		}
	default:
		return fmt.Errorf("loadgen: unknown client %q (want fast or std)", c.Client)
	}
	if c.Concurrency < 0 {
		return fmt.Errorf("loadgen: concurrency %d must not be negative", c.Concurrency)
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	for name, d := range map[string]time.Duration{"timeout": c.Timeout, "connect timeout": c.ConnectTimeout, "tls timeout": c.TLSTimeout, "ttfb timeout": c.TTFBTimeout} {
		if d < 0 {
			return fmt.Errorf("loadgen: %s %v must not be negative", name, d)
		}
	}
	if c.Insecure && (c.CACert != "" || len(c.CAPEM) > 0) {
		return errors.New("loadgen: insecure and a CA certificate conflict: verify with the CA, or skip verification, not both")
	}
	if c.TLSMin == 0 {
		c.TLSMin = tls.VersionTLS12
	}
	if c.TLSMax == 0 {
		c.TLSMax = tls.VersionTLS13
	}
	if c.TLSMin > c.TLSMax {
		return fmt.Errorf("loadgen: TLS minimum %s is above maximum %s", tls.VersionName(c.TLSMin), tls.VersionName(c.TLSMax))
	}
	if err := checkTLSGroups(c.TLSGroups, c.TLSMax); err != nil {
		return err
	}
	if c.Exemplars == 0 {
		c.Exemplars = 16
	}
	if c.Shards == 0 {
		c.Shards = runtime.GOMAXPROCS(0)
	}
	if _, err := c.tlsConfig(); err != nil && c.URL.Scheme == "https" {
		return err
	}
	return c.validateRequests()
}

// ParseTLSVersion accepts "1.2" or "1.3".
func ParseTLSVersion(s string) (uint16, error) {
	switch strings.TrimSpace(s) {
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("loadgen: TLS version %q (want 1.2 or 1.3)", s)
}

// tlsGroup is a key-exchange group TLSGroups may hold, and the name
// ParseTLSGroups knows it by.
type tlsGroup struct {
	name string
	id   tls.CurveID
}

// tlsGroups lists the groups in crypto/tls's own preference order.
var tlsGroups = []tlsGroup{
	{"x25519mlkem768", tls.X25519MLKEM768},
	{"x25519", tls.X25519},
	{"p256", tls.CurveP256},
	{"p384", tls.CurveP384},
	{"p521", tls.CurveP521},
}

// tlsGroupNames is the list of names for messages.
const tlsGroupNames = "x25519mlkem768, x25519, p256, p384 or p521"

// ParseTLSGroups parses a comma-separated list of key-exchange group names
// (case-insensitive, spaces around a name ignored): x25519mlkem768, x25519,
// p256, p384, p521. An empty element, an unknown name or a name listed
// twice is an error.
func ParseTLSGroups(s string) ([]tls.CurveID, error) {
	var ids []tls.CurveID
	for part := range strings.SplitSeq(s, ",") {
		name := strings.ToLower(strings.TrimSpace(part))
		if name == "" {
			return nil, fmt.Errorf("loadgen: empty TLS group in %q (want a comma-separated list of %s)", s, tlsGroupNames)
		}
		i := slices.IndexFunc(tlsGroups, func(g tlsGroup) bool { return g.name == name })
		if i < 0 {
			return nil, fmt.Errorf("loadgen: unknown TLS group %q (want %s)", part, tlsGroupNames)
		}
		if slices.Contains(ids, tlsGroups[i].id) {
			return nil, fmt.Errorf("loadgen: TLS group %s listed twice (want each of %s at most once)", name, tlsGroupNames)
		}
		ids = append(ids, tlsGroups[i].id)
	}
	return ids, nil
}

// TLSGroupName is the name ParseTLSGroups knows id by ("x25519"), or
// crypto/tls's name for it if ParseTLSGroups knows none.
func TLSGroupName(id tls.CurveID) string {
	if i := slices.IndexFunc(tlsGroups, func(g tlsGroup) bool { return g.id == id }); i >= 0 {
		return tlsGroups[i].name
	}
	return id.String()
}

// checkTLSGroups checks Config.TLSGroups: known groups, each once, and
// one TLS 1.2 can use if max is below TLS 1.3.
func checkTLSGroups(ids []tls.CurveID, max uint16) error {
	tls12 := false
	for i, id := range ids {
		if !slices.ContainsFunc(tlsGroups, func(g tlsGroup) bool { return g.id == id }) {
			return fmt.Errorf("loadgen: unsupported TLS group %s (want %s)", id, tlsGroupNames)
		}
		if slices.Contains(ids[:i], id) {
			return fmt.Errorf("loadgen: TLS group %s listed twice (want each of %s at most once)", TLSGroupName(id), tlsGroupNames)
		}
		tls12 = tls12 || id != tls.X25519MLKEM768
	}
	if len(ids) > 0 && !tls12 && max < tls.VersionTLS13 {
		return fmt.Errorf("loadgen: TLS group x25519mlkem768 needs TLS 1.3, and the maximum is %s: offer another group too", tls.VersionName(max))
	}
	return nil
}

func (c *Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         c.TLSMin,
		MaxVersion:         c.TLSMax,
		ServerName:         c.ServerName,
		InsecureSkipVerify: c.Insecure, // only when the user asked, by flag
	}
	if len(c.TLSGroups) > 0 {
		tc.CurvePreferences = slices.Clone(c.TLSGroups)
	}
	if c.RootCAs != nil {
		tc.RootCAs = c.RootCAs
	}
	if c.CACert != "" || len(c.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if c.CACert != "" {
			pem, err := os.ReadFile(c.CACert)
			if err != nil {
				return nil, fmt.Errorf("loadgen: CA certificate: %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("loadgen: CA certificate %s: no PEM certificates found", c.CACert)
			}
		}
		if len(c.CAPEM) > 0 && !pool.AppendCertsFromPEM(c.CAPEM) {
			return nil, errors.New("loadgen: CA certificates: no PEM certificates found in CAPEM")
		}
		tc.RootCAs = pool
	}
	return tc, nil
}
