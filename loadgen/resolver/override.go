package resolver

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Override pins a host and port to fixed addresses, like curl's --resolve:
// a Lookup of Host on Port returns Addrs without asking DNS. The zero value
// matches nothing useful; build one with [ParseOverride] or a literal.
type Override struct {
	// Host is an ASCII host name, matched case-insensitively.
	Host string
	// Port is the decimal port the override applies to; other ports of the
	// same host are resolved normally, as in curl.
	Port string
	// Addrs are returned in this order.
	Addrs []netip.Addr
}

// overrideForm is the syntax quoted in every parse error.
const overrideForm = "HOST:PORT:ADDR[,ADDR...] (IPv6 in brackets, e.g. example.test:443:[::1])"

// ParseOverride parses curl's --resolve syntax HOST:PORT:ADDR[,ADDR...].
// IPv6 addresses may be bracketed ("[::1]") or bare; IPv4-mapped IPv6
// addresses are unmapped. The host is lower-cased and the port made
// canonical ("0443" becomes "443"), so Lookup can match them exactly.
//
// curl's "+" (stale entry) and "-" (removal) prefixes and its "*" wildcard
// host are not supported: they manage curl's own DNS cache, which a load
// generator does not share.
func ParseOverride(s string) (Override, error) {
	host, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Override{}, fmt.Errorf("resolver: override %q: want %s", s, overrideForm)
	}
	port, list, ok := strings.Cut(rest, ":")
	if !ok {
		return Override{}, fmt.Errorf("resolver: override %q: missing address: want %s", s, overrideForm)
	}
	if err := checkHost(host); err != nil {
		return Override{}, fmt.Errorf("resolver: override %q: %w: want %s", s, err, overrideForm)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return Override{}, fmt.Errorf("resolver: override %q: port %q is not 1-65535: want %s", s, port, overrideForm)
	}
	o := Override{Host: strings.ToLower(host), Port: strconv.FormatUint(n, 10)}
	for a := range strings.SplitSeq(list, ",") {
		addr, err := parseOverrideAddr(a)
		if err != nil {
			return Override{}, fmt.Errorf("resolver: override %q: %w: want %s", s, err, overrideForm)
		}
		o.Addrs = append(o.Addrs, addr)
	}
	return o, nil
}

// checkHost accepts what can appear in a URL host that is not an IP literal.
// Restricting to ASCII keeps lower-casing exact (use punycode for IDNs).
func checkHost(h string) error {
	if h == "" {
		return fmt.Errorf("empty host")
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_':
		default:
			return fmt.Errorf("host %q has character %q; want letters, digits, '-', '.', '_'", h, c)
		}
	}
	return nil
}

func parseOverrideAddr(a string) (netip.Addr, error) {
	text := a
	if strings.HasPrefix(a, "[") && strings.HasSuffix(a, "]") {
		text = a[1 : len(a)-1]
	}
	addr, err := netip.ParseAddr(text)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("address %q is not an IP address", a)
	}
	// A zone is free text; keep it to what String can print back unambiguously.
	if z := addr.Zone(); strings.ContainsAny(z, ",[]:%") {
		return netip.Addr{}, fmt.Errorf("address %q has an unsupported zone %q", a, z)
	}
	return addr.Unmap(), nil
}

// String formats o in the syntax [ParseOverride] reads, with IPv6 addresses
// in brackets.
func (o Override) String() string {
	var b strings.Builder
	b.WriteString(o.Host)
	b.WriteByte(':')
	b.WriteString(o.Port)
	b.WriteByte(':')
	for i, a := range o.Addrs {
		if i > 0 {
			b.WriteByte(',')
		}
		if a.Is6() {
			b.WriteByte('[')
			b.WriteString(a.String())
			b.WriteByte(']')
		} else {
			b.WriteString(a.String())
		}
	}
	return b.String()
}
