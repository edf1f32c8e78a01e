package cluster

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/resolver"
	"github.com/tailrace/tailrace/loadgen/schedule"
)

func TestCheckTarget(t *testing.T) {
	for _, tc := range []struct {
		name    string
		url     string
		resolve string // a --resolve override, if any
		allow   []string
		refused string // "" = allowed
	}{
		{"loopback, no list", "http://127.0.0.1:8080/", "", nil, ""},                                                            // the default allows ordinary targets
		{"metadata address", "http://169.254.169.254/latest/", "", nil, "link-local or cloud metadata"},                         // the classic SSRF target
		{"link-local v4", "http://169.254.10.1/", "", nil, "link-local"},                                                        // all of 169.254/16
		{"link-local v6", "http://[fe80::1]/", "", nil, "link-local"},                                                           // fe80::/10
		{"AWS metadata v6", "http://[fd00:ec2::254]/", "", nil, "metadata"},                                                     // not link-local, still metadata
		{"v4-mapped metadata", "http://[::ffff:169.254.169.254]/", "", nil, "metadata"},                                         // the same address in disguise
		{"metadata by name", "http://metadata.google.internal/", "", nil, "metadata service"},                                   // refused before any lookup
		{"name resolving to metadata", "http://innocent.test/", "innocent.test:80:169.254.169.254", nil, "metadata"},            // checked after resolution
		{"metadata allowed by address", "http://169.254.169.254/", "", []string{"169.254.169.254"}, ""},                         // named explicitly
		{"metadata allowed by prefix", "http://169.254.169.254/", "", []string{"169.254.0.0/16"}, ""},                           // named by its prefix
		{"in an allowed prefix", "http://127.0.0.1:9/", "", []string{"127.0.0.0/8"}, ""},                                        // CIDR list
		{"outside the list", "http://127.0.0.1:9/", "", []string{"10.0.0.0/8", "198.18.0.0/15"}, "not in"},                      // not a member
		{"allowed host name", "http://api.test:8080/", "api.test:8080:127.0.0.1", []string{"API.test"}, ""},                     // names match case-insensitively
		{"other host name", "http://evil.test/", "evil.test:80:127.0.0.1", []string{"api.test"}, "not in"},                      // a host entry is exact
		{"allowed name, metadata address", "http://api.test/", "api.test:80:169.254.169.254", []string{"api.test"}, "metadata"}, // names do not unlock metadata addresses
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadgen.Config{URL: mustURL(t, tc.url)}
			if tc.resolve != "" {
				o, err := resolver.ParseOverride(tc.resolve)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Resolve = []resolver.Override{o}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err := Caps{AllowTarget: tc.allow}.checkTarget(ctx, &cfg)
			switch {
			case tc.refused == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
				t.Errorf("err = %v, want a refusal saying %q", err, tc.refused)
			}
		})
	}
}

func TestCapsValidate(t *testing.T) {
	for _, tc := range []struct {
		caps Caps
		ok   bool
	}{
		{Caps{}, true}, // nothing capped
		{Caps{AllowTarget: []string{"10.0.0.0/8", "::1", "api.example.com", "[fe80::1]"}}, true}, // every kind of entry
		{Caps{AllowTarget: []string{"10.0.0.0/33"}}, false},                                      // no such prefix
		{Caps{AllowTarget: []string{"host:80"}}, false},                                          // a port is not a target
		{Caps{MaxRate: -1}, false},                                                               // negative cap
	} {
		if err := tc.caps.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate() = %v, want ok %v", tc.caps, err, tc.ok)
		}
	}
}

func TestCapsApply(t *testing.T) {
	plan := schedule.Plan{Stages: schedule.Stages{{Duration: time.Second, From: 0, To: 900}, {Duration: time.Second, From: 900, To: 300}}}
	third := schedule.Segment{Start: 0, End: 1, Of: 3} // peaks at 300/s
	for _, tc := range []struct {
		name      string
		caps      Caps
		mode      loadgen.Mode
		conns     int
		wantConns int
		wantIn    int
		refused   string
	}{
		{"under the rate cap", Caps{MaxRate: 300}, loadgen.ModeKeepAlive, 8, 8, 0, ""},          // exactly at the cap is fine
		{"over the rate cap", Caps{MaxRate: 299}, loadgen.ModeKeepAlive, 8, 8, 0, "--max-rate"}, // the ramp's peak counts
		{"pool held to the cap", Caps{MaxConnections: 4}, loadgen.ModeKeepAlive, 8, 4, 0, ""},   // keepalive pool
		{"default pool held", Caps{MaxConnections: 4}, loadgen.ModeH2, 0, 4, 0, ""},             // the default 32 is over 4
		{"close mode in flight", Caps{MaxConnections: 4}, loadgen.ModeClose, 8, 4, 4, ""},       // a connection per request
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadgen.Config{URL: mustURL(t, "http://127.0.0.1:1/"), Mode: tc.mode, Connections: tc.conns}
			notes, err := tc.caps.apply(context.Background(), &cfg, plan, third)
			if tc.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("err = %v, want a refusal saying %q", err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Connections != tc.wantConns || cfg.MaxInFlight != tc.wantIn {
				t.Errorf("connections %d, in flight %d; want %d, %d", cfg.Connections, cfg.MaxInFlight, tc.wantConns, tc.wantIn)
			}
			if (tc.wantConns != tc.conns) != (len(notes) > 0) {
				t.Errorf("notes %q after holding connections %d to %d", notes, tc.conns, tc.wantConns)
			}
		})
	}
}

func TestCheckExposure(t *testing.T) {
	for _, tc := range []struct {
		name        string
		addr        net.Addr
		token, mtls bool
		ok          bool
	}{
		{"loopback v4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7070}, false, false, true}, // the default
		{"loopback v6", &net.TCPAddr{IP: net.IPv6loopback, Port: 7070}, false, false, true},       // [::1]
		{"any, no auth", &net.TCPAddr{IP: net.IPv4zero, Port: 7070}, false, false, false},         // refused, says why
		{"public, no auth", &net.TCPAddr{IP: net.IPv4(198, 18, 0, 1), Port: 7070}, false, false, false},
		{"any with a token", &net.TCPAddr{IP: net.IPv4zero, Port: 7070}, true, false, true},  // authenticated
		{"any with mTLS", &net.TCPAddr{IP: net.IPv4zero, Port: 7070}, false, true, true},     // authenticated
		{"unix socket", &net.UnixAddr{Name: "/tmp/c.sock", Net: "unix"}, false, false, true}, // not on the network
	} {
		err := CheckExposure(tc.addr, tc.token, tc.mtls)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok %v", tc.name, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--token") {
			t.Errorf("%s: the refusal does not say how to fix it: %v", tc.name, err)
		}
	}
}
