package resolver_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tailrace/tailrace/internal/dnstest"
	"github.com/tailrace/tailrace/loadgen/resolver"
)

// BenchmarkLookup measures the paths a new connection takes when no DNS
// round trip is needed, at several goroutine counts (per GOMAXPROCS).
func BenchmarkLookup(b *testing.B) {
	srv := startDNS(b, dnstest.Config{TTL: 3600})
	o, err := resolver.ParseOverride("static.example.test:443:127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	r := newResolver(b, resolver.Config{Server: srv.Addr(), Cache: true, Static: []resolver.Override{o}})
	if res, err := r.Lookup(context.Background(), "api.example.test", "443"); err != nil || res.Source != resolver.Queried {
		b.Fatalf("priming Lookup = %v, %v", res.Source, err)
	}
	cases := []struct {
		name, host string
		want       resolver.Source
	}{
		{"cached", "api.example.test", resolver.Cached},
		{"static", "static.example.test", resolver.Static},
		{"literal", "127.0.0.1", resolver.Literal},
	}
	for _, c := range cases {
		for _, par := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/par=%d", c.name, par), func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(par)
				ctx := context.Background()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						res, err := r.Lookup(ctx, c.host, "443")
						if err != nil || res.Source != c.want {
							b.Errorf("Lookup = %v, %v; want %v", res.Source, err, c.want)
							return
						}
					}
				})
			})
		}
	}
}
