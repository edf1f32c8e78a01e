package slo_test

import (
	"fmt"

	"github.com/tailrace/tailrace/slo"
)

func ExampleParse() {
	for _, expr := range []string{"total.p999 < 250ms", "errors<0.1%", "totl.p99<1s"} {
		o, err := slo.Parse(expr)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(o)
	}
	// Output:
	// total.p99.9<250ms
	// errors<0.1%
	// error: slo: invalid expression "totl.p99<1s": unknown phase "totl" (want one of schedule_lag, pool_wait, dns, connect, tls, write, ttfb, download, service, response, total, server, read_lag)
}
