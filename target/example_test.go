package target_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net/http"

	"github.com/tailrace/tailrace/target"
)

func Example() {
	srv, err := target.Start(target.Config{TLS: true})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	// Verify the self-signed certificate rather than skipping verification.
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: srv.CertPool()},
		ForceAttemptHTTP2: true, // a custom TLSClientConfig turns h2 off otherwise
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	resp, err := client.Get(srv.URL() + "/?ttfb=5ms&size=6&status=503")
	if err != nil {
		log.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	st := srv.Stats()
	fmt.Println(resp.Proto, resp.Status, resp.ContentLength, string(body))
	fmt.Println("requests:", st.Requests, "handshakes:", st.TLSHandshakes, "h2 conns:", st.HTTP2Conns)
	// Output:
	// HTTP/2.0 503 Service Unavailable 6 okokok
	// requests: 1 handshakes: 1 h2 conns: 1
}
