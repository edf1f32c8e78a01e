package resolver

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseOverride(t *testing.T) {
	addrs := func(ss ...string) []netip.Addr {
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out
	}
	tests := []struct {
		in      string
		want    Override
		wantErr string // substring; "" means success
	}{
		// The curl man page's example.
		{in: "example.com:443:127.0.0.1", want: Override{"example.com", "443", addrs("127.0.0.1")}},
		// Bracketed IPv6, as curl writes it.
		{in: "example.test:443:[::1]", want: Override{"example.test", "443", addrs("::1")}},
		// Several addresses keep their order; bare IPv6 is accepted too.
		{in: "a.test:80:192.0.2.1,[2001:db8::1],2001:db8::2", want: Override{"a.test", "80", addrs("192.0.2.1", "2001:db8::1", "2001:db8::2")}},
		// Host is lower-cased and the port made canonical so Lookup matches exactly.
		{in: "API.Example.TEST:0080:10.0.0.1", want: Override{"api.example.test", "80", addrs("10.0.0.1")}},
		// IPv4-mapped IPv6 is unmapped, so it dials as IPv4.
		{in: "m.test:1:[::ffff:192.0.2.5]", want: Override{"m.test", "1", addrs("192.0.2.5")}},
		// A zone survives.
		{in: "z.test:1:[fe80::1%eth0]", want: Override{"z.test", "1", addrs("fe80::1%eth0")}},
		// Nothing to split.
		{in: "example.com", wantErr: "HOST:PORT:ADDR"},
		// Host and port but no address.
		{in: "example.com:443", wantErr: "missing address"},
		// Empty address list.
		{in: "example.com:443:", wantErr: `address ""`},
		// Trailing comma leaves an empty address.
		{in: "example.com:443:127.0.0.1,", wantErr: `address ""`},
		// Empty host.
		{in: ":443:127.0.0.1", wantErr: "empty host"},
		// curl's wildcard host is not supported.
		{in: "*:443:127.0.0.1", wantErr: `character '*'`},
		// curl's "+" prefix is not supported.
		{in: "+example.com:443:127.0.0.1", wantErr: `character '+'`},
		// Port out of range.
		{in: "example.com:65536:127.0.0.1", wantErr: "not 1-65535"},
		// Port zero.
		{in: "example.com:0:127.0.0.1", wantErr: "not 1-65535"},
		// Port must be a number.
		{in: "example.com:https:127.0.0.1", wantErr: "not 1-65535"},
		// A name where an address belongs.
		{in: "example.com:443:localhost", wantErr: `address "localhost" is not an IP address`},
		// Unclosed bracket.
		{in: "example.com:443:[::1", wantErr: "not an IP address"},
		// A zone that would make String ambiguous.
		{in: "example.com:443:[fe80::1%a,b]", wantErr: "not an IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseOverride(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "resolver: ") || !strings.Contains(err.Error(), tt.in) {
					t.Fatalf("err = %v, want one naming %q and containing %q", err, tt.in, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseOverride: %v", err)
			}
			if !equalOverride(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestOverrideString(t *testing.T) {
	o := Override{Host: "a.test", Port: "8443", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("::1")}}
	if got, want := o.String(), "a.test:8443:192.0.2.1,[::1]"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func equalOverride(a, b Override) bool {
	return a.Host == b.Host && a.Port == b.Port && slices.Equal(a.Addrs, b.Addrs)
}

// FuzzParseOverride checks that whatever ParseOverride accepts, String prints
// back in a form that parses to the same value.
func FuzzParseOverride(f *testing.F) {
	for _, s := range []string{
		"example.com:443:127.0.0.1",
		"example.test:443:[::1]",
		"a.test:80:192.0.2.1,[2001:db8::1],2001:db8::2",
		"z.test:1:[fe80::1%eth0]",
		"m.test:01:[::ffff:1.2.3.4]",
		"x:1:",
		"::::",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOverride(s)
		if err != nil {
			return
		}
		printed := o.String()
		back, err := ParseOverride(printed)
		if err != nil {
			t.Fatalf("ParseOverride(%q) ok, but its String %q does not parse: %v", s, printed, err)
		}
		if !equalOverride(o, back) {
			t.Fatalf("round trip of %q via %q: %#v != %#v", s, printed, back, o)
		}
		if back.String() != printed {
			t.Fatalf("String not stable: %q then %q", printed, back.String())
		}
	})
}
