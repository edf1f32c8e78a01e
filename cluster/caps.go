package cluster

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/resolver"
	"github.com/tailrace/tailrace/loadgen/schedule"
)

// Caps are a worker's own limits. They hold whatever the coordinator asks:
// a plan beyond them is refused, or (connections) held to them, and the
// coordinator is told. The zero value caps nothing but still refuses
// link-local and cloud metadata targets.
type Caps struct {
	// MaxRate is the highest rate, in requests per second, this worker
	// generates; a plan whose share peaks above it is refused. 0 means no cap.
	MaxRate float64
	// MaxConnections caps the connections open at once: the pool size of
	// keepalive and h2, and the requests in flight of close and resume,
	// which open one connection each. 0 means no cap.
	MaxConnections int
	// AllowTarget lists the targets this worker may load: host names
	// (matched exactly, case-insensitively), IP addresses and CIDR prefixes
	// (matched against every address the target resolves to). Empty allows
	// any target but link-local and cloud metadata ones, which are refused
	// unless an entry names them.
	AllowTarget []string
}

// metadataPrefixes are addresses where cloud instances find their
// credentials: a load test has no business there unless told so.
var metadataPrefixes = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),     // IPv4 link-local, AWS/GCP/Azure metadata at .169.254
	netip.MustParsePrefix("fe80::/10"),          // IPv6 link-local
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS metadata over IPv6
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud metadata
}

var metadataNames = []string{"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}

// allowList is AllowTarget parsed.
type allowList struct {
	hosts    []string
	prefixes []netip.Prefix
}

// Validate reports an AllowTarget entry that is neither a host name, an
// address nor a CIDR prefix, or a negative cap.
func (c Caps) Validate() error {
	if c.MaxRate < 0 || c.MaxConnections < 0 {
		return fmt.Errorf("cluster: caps must not be negative (max rate %g, max connections %d)", c.MaxRate, c.MaxConnections)
	}
	_, err := c.allow()
	return err
}

func (c Caps) allow() (allowList, error) {
	var a allowList
	for _, e := range c.AllowTarget {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
			continue
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return a, fmt.Errorf("cluster: allowed target %q is not a CIDR prefix (e.g. 10.0.0.0/8): %v", e, err)
			}
			a.prefixes = append(a.prefixes, p.Masked())
		default:
			if ip, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
				a.prefixes = append(a.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
				continue
			}
			if strings.ContainsAny(e, " :,@") {
				return a, fmt.Errorf("cluster: allowed target %q is not a host name, address or CIDR prefix", e)
			}
			a.hosts = append(a.hosts, normHost(e))
		}
	}
	return a, nil
}

func normHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

func (a allowList) empty() bool { return len(a.hosts) == 0 && len(a.prefixes) == 0 }

func (a allowList) hostAllowed(h string) bool {
	h = normHost(h)
	for _, x := range a.hosts {
		if x == h {
			return true
		}
	}
	return false
}

func (a allowList) addrAllowed(ip netip.Addr) bool {
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// apply holds cfg to the caps: it refuses a plan beyond them and returns
// notes on what it changed. ctx bounds the resolution of the target.
func (c Caps) apply(ctx context.Context, cfg *loadgen.Config, plan schedule.Plan, seg schedule.Segment) ([]string, error) {
	if c.MaxRate > 0 {
		if peak := peakRate(plan, seg); peak > c.MaxRate*(1+1e-9) {
			return nil, fmt.Errorf("its share of the plan peaks at %.6g requests/s, above this worker's --max-rate %g", peak, c.MaxRate)
		}
	}
	if err := c.checkTarget(ctx, cfg); err != nil {
		return nil, err
	}
	var notes []string
	if n := c.MaxConnections; n > 0 {
		conns := cfg.Connections
		if conns == 0 {
			conns = 32 // loadgen's default
		}
		if conns > n {
			notes = append(notes, fmt.Sprintf("connections held to its --max-connections %d (asked for %d)", n, conns))
			cfg.Connections = n
		}
		if cfg.Mode == loadgen.ModeClose || cfg.Mode == loadgen.ModeResume {
			// Every request has its own connection: in flight is connections.
			inflight := cfg.MaxInFlight
			if inflight == 0 {
				inflight = 10000
			}
			if inflight > n {
				notes = append(notes, fmt.Sprintf("requests in flight held to its --max-connections %d (mode %s opens a connection per request); arrivals beyond are dropped and counted", n, cfg.Mode))
				cfg.MaxInFlight = n
			}
		}
	}
	return notes, nil
}

// checkTarget refuses a target outside AllowTarget, and a link-local or
// metadata target that AllowTarget does not name. The host is resolved as
// the engine would resolve it (--resolve overrides, --dns-server) and every
// address must pass.
func (c Caps) checkTarget(ctx context.Context, cfg *loadgen.Config) error {
	allow, err := c.allow()
	if err != nil {
		return err
	}
	if cfg.URL == nil {
		return fmt.Errorf("no target URL")
	}
	host, port := cfg.URL.Hostname(), cfg.URL.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[cfg.URL.Scheme]
	}
	named := allow.hostAllowed(host)
	for _, m := range metadataNames {
		if normHost(host) == m && !named {
			return fmt.Errorf("target %s is a cloud metadata service: refused unless --allow-target names it", host)
		}
	}
	res, err := resolver.New(resolver.Config{Server: cfg.DNSServer, Static: cfg.Resolve})
	if err != nil {
		return err
	}
	r, err := res.Lookup(ctx, host, port)
	if err != nil {
		return fmt.Errorf("cannot resolve target %s to check it against the worker's allowed targets: %v", host, err)
	}
	for _, ip := range r.Addrs {
		ip = ip.Unmap()
		inList := allow.addrAllowed(ip)
		for _, p := range metadataPrefixes {
			if p.Contains(ip) && !inList {
				return fmt.Errorf("target %s resolves to %s, a link-local or cloud metadata address: refused unless --allow-target names it (e.g. --allow-target %s)", host, ip, ip)
			}
		}
		if !allow.empty() && !named && !inList {
			return fmt.Errorf("target %s (%s) is not in this worker's --allow-target %s", host, ip, strings.Join(c.AllowTarget, ","))
		}
	}
	return nil
}
