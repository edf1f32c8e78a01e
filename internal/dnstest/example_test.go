package dnstest_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/tailrace/tailrace/internal/dnstest"
)

func Example() {
	srv, err := dnstest.Start(dnstest.Config{
		Records: map[string][]netip.Addr{"api.example.test": {netip.MustParseAddr("192.0.2.10")}},
		TTL:     60,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	// Any stub resolver can use it; here, the standard library's.
	r := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, srv.Addr())
		},
	}
	addrs, err := r.LookupNetIP(context.Background(), "ip4", "api.example.test.")
	fmt.Println(addrs, err, srv.Queries())
	// Output: [192.0.2.10] <nil> 1
}
