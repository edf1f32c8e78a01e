// Package target is tailrace's calibration target: an HTTP server whose
// every phase can be made slow on purpose, so that tests and users can check
// that tailrace measures what really happened.
//
// # Shaping a response
//
// Any path accepts these query parameters; a malformed value gets a 400
// whose plain-text body names the parameter:
//
//	ttfb=20ms      wait this long before sending the status and headers
//	jitter=5ms     add a uniform random [0, jitter) to ttfb (seeded: Config.Seed)
//	download=30ms  send and flush the headers, wait, then send the body
//	size=100k      body bytes, with k (1024) or m (1024*1024); default 2, "ok"
//	status=503     the response status, 200 to 599
//
// Every response carries Content-Length (except 204 and 304) and
// Server-Timing: total;dur=<ms>, the server's time from the handler's start
// to writing the headers, which covers ttfb, jitter, stall holds and the
// queue of a MaxConcurrent server, but not the download delay.
//
// # Shaping the server
//
// Config adds what a query cannot: TLS with a self-signed certificate and a
// handshake delay (Config.TLSDelay, full and resumed handshakes alike),
// periodic whole-server stalls (Config.StallEvery, Config.StallFor: the
// coordinated-omission test), and a capacity with a FIFO queue
// (Config.MaxConcurrent). It speaks HTTP/1.1 with keep-alive, HTTP/2 over
// TLS by ALPN, and h2c with prior knowledge on plain connections; an HTTP/2
// connection allows net/http's default of 250 concurrent streams.
//
// Close is prompt: it closes every connection, aborts delays, stalls and
// queues in progress (the client sees a reset, never a response cut short
// that looks complete) and returns once no handler or connection
// goroutine is left.
//
// # Counting what happened
//
// Server.Stats counts requests, connections, TLS handshakes and
// resumptions (once per connection, when the handshake completes), HTTP/2
// connections and high-water marks; the same JSON is served at StatsPath.
// Server.LastRequestAt lets a test check that no load arrived after a point.
//
// # Example
//
//	srv, err := target.Start(target.Config{TLS: true, StallEvery: 10 * time.Second, StallFor: time.Second})
//	if err != nil {
//		return err
//	}
//	defer srv.Close()
//	client := &http.Client{Transport: &http.Transport{
//		TLSClientConfig:   &tls.Config{RootCAs: srv.CertPool()},
//		ForceAttemptHTTP2: true,
//	}}
//	resp, err := client.Get(srv.URL() + "/?ttfb=20ms&size=100k")
//
// The command cmd/target runs the same server from flags.
package target
