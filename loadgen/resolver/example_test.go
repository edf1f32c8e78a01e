package resolver_test

import (
	"context"
	"fmt"

	"github.com/tailrace/tailrace/loadgen/resolver"
)

// A --resolve override answers without DNS; other hosts and ports would still
// be resolved.
func ExampleResolver_Lookup() {
	o, err := resolver.ParseOverride("API.example.test:443:127.0.0.1,[::1]")
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := resolver.New(resolver.Config{Cache: true, Static: []resolver.Override{o}})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := r.Lookup(context.Background(), "api.example.test", "443")
	fmt.Println(o, res.Addrs, res.Source, res.Source.Resolved(), err)

	res, err = r.Lookup(context.Background(), "192.0.2.1", "443")
	fmt.Println(res.Addrs, res.Source, res.Source.Resolved(), err)
	// Output:
	// api.example.test:443:127.0.0.1,[::1] [127.0.0.1 ::1] static false <nil>
	// [192.0.2.1] literal false <nil>
}

func ExampleParseOverride() {
	_, err := resolver.ParseOverride("example.test:443")
	fmt.Println(err)
	// Output: resolver: override "example.test:443": missing address: want HOST:PORT:ADDR[,ADDR...] (IPv6 in brackets, e.g. example.test:443:[::1])
}
