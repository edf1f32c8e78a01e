//go:build linux && !386

package loadgen

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/internal/dnstest"
	"github.com/tailrace/tailrace/loadgen/schedule"
)

// muteListener accepts connections and never answers on them: a TLS
// handshake with it waits for the server's hello until the dialer gives up.
func muteListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestDialDeadlines: --timeout ends a request stuck in any step of a dial,
// as a timeout in that step, in the modes that dial per request and per
// connection. The fast client's close and resume modes carry the deadline
// without a context timer (Engine.send, dialNet), so this is what shows it
// still reaches the resolver, the connect and the TLS handshake; the run's
// stop must still reach a connect in progress too.
func TestDialDeadlines(t *testing.T) {
	stuck := stuckListener(t)
	mute := muteListener(t)
	dns, err := dnstest.Start(dnstest.Config{
		Records: map[string][]netip.Addr{"slow.test": {netip.MustParseAddr("127.0.0.1")}}, Delay: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	const timeout = 300 * time.Millisecond
	for _, tc := range []struct {
		name, url, want string
	}{
		{"connect", "http://" + stuck.String() + "/", "timeout@connect"},
		{"tls", "https://" + mute + "/", "timeout@tls"},
		{"dns", "http://slow.test:" + strconv.Itoa(int(stuck.Port())) + "/", "timeout@dns"},
	} {
		for _, client := range []ClientKind{ClientFast, ClientStd} {
			for _, mode := range []Mode{ModeClose, ModeKeepAlive} {
				t.Run(tc.name+"/"+string(client)+"/"+string(mode), func(t *testing.T) {
					cfg := Config{Mode: mode, Client: client, Timeout: timeout, Connections: 16, DNSServer: dns.Addr(), Insecure: true}
					r := runEngine(t, cfg, tc.url, 20, 500*time.Millisecond)
					if got := r.iv.Errors[tc.want]; got != r.iv.Counters.Sent || got == 0 {
						t.Fatalf("errors %v, want all %d sent as %q", r.iv.Errors, r.iv.Counters.Sent, tc.want)
					}
					// Each ended at its deadline: not before it, and long
					// before the DNS answer (5 s) or never (a TLS server
					// that stays mute, SYNs the listener keeps dropping).
					for _, tr := range r.trails {
						if took := tr.Done - tr.Dispatched; took < timeout-5*time.Millisecond || took > timeout+2*time.Second {
							t.Fatalf("request %d ended after %v, want about %v", tr.Index, took, timeout)
						}
					}
				})
			}
		}
	}

	t.Run("stopped in connect", func(t *testing.T) {
		u, _ := url.Parse("http://" + stuck.String() + "/")
		e, err := New(Config{URL: u, Mode: ModeClose})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		iv := histogram.NewInterval(16)
		done := make(chan error, 1)
		go func() {
			done <- e.Run(ctx, schedule.Plan{Stages: schedule.Steady(20, 10*time.Second)}, schedule.Full, time.Now(), func(i *histogram.Interval) { iv.Merge(i) })
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return after its stop")
		}
		if n := iv.Errors["canceled@connect"]; n == 0 || n != iv.Counters.Sent {
			t.Errorf("errors %v, want all %d sent as canceled@connect", iv.Errors, iv.Counters.Sent)
		}
	})
}
