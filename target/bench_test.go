package target

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkKeepAlive measures the target's own ceiling: requests per second
// from keep-alive clients over loopback, client and server on one machine.
func BenchmarkKeepAlive(b *testing.B) {
	for _, bc := range []struct {
		proto string
		tls   bool
	}{{"h1", false}, {"h2c", false}, {"h2", true}} {
		for _, workers := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/workers=%d", bc.proto, workers), func(b *testing.B) {
				s := startServer(b, Config{TLS: bc.tls})
				c := newClient(b, s, func(tr *http.Transport) {
					var p http.Protocols
					p.SetHTTP1(bc.proto == "h1")
					p.SetHTTP2(bc.proto == "h2")
					p.SetUnencryptedHTTP2(bc.proto == "h2c")
					tr.Protocols = &p
				})
				url := s.URL() + "/"
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for range workers {
					wg.Go(func() {
						for next.Add(1) <= int64(b.N) {
							resp, err := c.Get(url)
							if err != nil {
								b.Error(err)
								return
							}
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			})
		}
	}
}
