package target

import (
	"encoding/json"
	"fmt"
	randv2 "math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestShaping(t *testing.T) {
	s := startServer(t, Config{})
	c := newClient(t, s, nil)
	get(t, c, s.URL()) // warm a keep-alive connection: no dial in the timings

	const ms = time.Millisecond
	tests := []struct {
		name       string
		query      string
		status     int
		size       int
		ttfb       time.Duration // minimum time to headers; at most slack more
		download   time.Duration // minimum time from headers to the body's end
		headersMax time.Duration // 0: ttfb+slack
		bodyMax    time.Duration // the most from headers to the body's end; 0: download+slack
	}{
		// Defaults: 200, "ok", no delay.
		{"defaults", "", 200, 2, 0, 0, 0, 0},
		// ttfb holds the headers back.
		{"ttfb", "ttfb=20ms", 200, 2, 20 * ms, 0, 0, 0},
		// A longer ttfb, to see the delay scale rather than be noise.
		{"ttfb 60ms", "ttfb=60ms", 200, 2, 60 * ms, 0, 0, 0},
		// download sends the headers at once and holds only the body.
		{"download", "download=60ms&size=100k", 200, 100 << 10, 0, 60 * ms, 0, 0},
		// Both: headers after ttfb, body download later.
		{"ttfb and download", "ttfb=20ms&download=40ms&size=1k", 200, 1 << 10, 20 * ms, 40 * ms, 0, 0},
		// A body larger than the shared buffer is written in chunks; its
		// transfer takes what it takes.
		{"size 1m", "size=1m", 200, 1 << 20, 0, 0, 0, 2 * time.Second},
		// An empty body.
		{"size 0", "size=0", 200, 0, 0, 0, 0, 0},
		// The status is whatever was asked, body and all.
		{"status 503", "status=503&size=10", 503, 10, 0, 0, 0, 0},
		// 204 carries no body even if a size is asked.
		{"status 204", "status=204&size=10", 204, 0, 0, 0, 0, 0},
		// Jitter adds [0, 20ms) to ttfb.
		{"jitter", "ttfb=10ms&jitter=20ms", 200, 2, 10 * ms, 0, 30*ms + slack, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headersMax, bodyMax := tt.headersMax, tt.bodyMax
			if headersMax == 0 {
				headersMax = tt.ttfb + slack
			}
			if bodyMax == 0 {
				bodyMax = tt.download + slack
			}
			// Lower bounds are exact and checked on every attempt; the upper
			// bounds only say the delay was not much longer than asked, so a
			// noisy machine gets a few attempts to show one clean run.
			var late string
			for range attempts {
				resp, body, headers, done := get(t, c, s.URL()+"/any/path?"+tt.query)
				if resp.StatusCode != tt.status {
					t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
				}
				if len(body) != tt.size {
					t.Errorf("body is %d bytes, want %d", len(body), tt.size)
				}
				if tt.size > 0 && strings.Trim(string(body), "ok") != "" {
					t.Errorf("body is not the constant pattern: %.20q...", body)
				}
				if tt.status != 204 && resp.ContentLength != int64(tt.size) {
					t.Errorf("Content-Length = %d, want %d", resp.ContentLength, tt.size)
				}
				st := parseServerTiming(t, resp.Header.Get("Server-Timing"))
				dl := done - headers
				// The server's view covers ttfb and nothing after the
				// headers, and cannot exceed what the client saw.
				if headers < tt.ttfb || done < tt.ttfb+tt.download || st < tt.ttfb || st > headers {
					t.Fatalf("headers after %v, body after %v, Server-Timing %v: want headers and Server-Timing >= %v, Server-Timing <= headers, body >= %v",
						headers, done, st, tt.ttfb, tt.ttfb+tt.download)
				}
				if headers < headersMax && dl >= tt.download-5*ms && dl < bodyMax {
					return
				}
				late = fmt.Sprintf("headers after %v, want < %v; body %v after headers, want [%v, %v)",
					headers, headersMax, dl, tt.download-5*ms, bodyMax)
			}
			t.Errorf("in %d attempts: %s", attempts, late)
		})
	}
}

func TestMalformedParams(t *testing.T) {
	s := startServer(t, Config{})
	c := newClient(t, s, nil)
	tests := []struct {
		query string
		param string // the parameter the message must name
	}{
		{"ttfb=abc", "ttfb"},         // not a duration
		{"ttfb=-5ms", "ttfb"},        // negative
		{"download=10", "download"},  // no unit
		{"jitter=x", "jitter"},       // not a duration
		{"size=12q", "size"},         // unknown suffix
		{"size=-1", "size"},          // negative
		{"status=abc", "status"},     // not a number
		{"status=99", "status"},      // out of range
		{"ttfb=1ms&size=zz", "size"}, // a good one does not mask a bad one
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			resp, body, _, _ := get(t, c, s.URL()+"/?"+tt.query)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
			if !strings.Contains(string(body), "bad "+tt.param+" ") {
				t.Errorf("body %q does not name %q", body, tt.param)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
				t.Errorf("Content-Type = %q, want text/plain", resp.Header.Get("Content-Type"))
			}
			if resp.Header.Get("Server-Timing") == "" {
				t.Error("no Server-Timing")
			}
		})
	}
	if got := s.Stats().Requests; got != int64(len(tests)) {
		t.Errorf("Requests = %d, want %d: malformed requests count", got, len(tests))
	}
}

func TestJitter(t *testing.T) {
	t.Parallel()
	const n, upto = 1000, 20 * time.Millisecond
	draws := func(seed uint64) []time.Duration {
		s := &Server{rng: randv2.New(randv2.NewPCG(seed, seed))}
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = s.jitter(upto)
		}
		return out
	}
	a := draws(7)
	lo, hi := slices.Min(a), slices.Max(a)
	if lo < 0 || hi >= upto {
		t.Errorf("draws in [%v, %v], want within [0, %v)", lo, hi, upto)
	}
	// 1000 uniform draws leave no 1ms gap at either end but with
	// probability about 2*0.95^1000.
	if lo > time.Millisecond || hi < upto-time.Millisecond {
		t.Errorf("draws span only [%v, %v] of [0, %v)", lo, hi, upto)
	}
	if !slices.Equal(a, draws(7)) {
		t.Error("the same seed gave different draws")
	}
	if slices.Equal(a, draws(8)) {
		t.Error("different seeds gave the same draws")
	}
}

func TestStatsEndpoint(t *testing.T) {
	s := startServer(t, Config{})
	c := newClient(t, s, nil)
	if !s.LastRequestAt().IsZero() {
		t.Errorf("LastRequestAt = %v before any request, want zero", s.LastRequestAt())
	}
	before := time.Now()
	for range 3 {
		get(t, c, s.URL()+"/")
	}
	after := time.Now()
	resp, body, _, _ := get(t, c, s.URL()+StatsPath)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var st Stats
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("stats %s: %v", body, err)
	}
	if st.Requests != 3 || st.Connections != 1 || st.RequestsPerProto["HTTP/1.1"] != 3 {
		t.Errorf("stats = %s, want 3 requests on 1 connection", body)
	}
	for _, key := range []string{`"requests":`, `"conns_closed":`, `"tls_handshakes":`, `"tls_resumed":`, `"http2_conns":`, `"max_concurrent_conns":`, `"max_in_flight":`, `"requests_per_proto":`} {
		if !strings.Contains(string(body), key) {
			t.Errorf("stats JSON %s lacks %s", body, key)
		}
	}
	if got := s.Stats().Requests; got != 3 {
		t.Errorf("Requests = %d after a stats request, want 3", got)
	}
	if last := s.LastRequestAt(); last.Before(before) || last.After(after) {
		t.Errorf("LastRequestAt = %v, want within [%v, %v]", last, before, after)
	}

	s.ResetStats()
	got := s.Stats()
	if got.Requests != 0 || got.Connections != 0 || got.MaxConcurrentConns != 1 || got.MaxInFlight != 0 {
		t.Errorf("after ResetStats: %+v, want zero counts and the open connection as the high-water mark", got)
	}
}

func TestURL(t *testing.T) {
	tests := []struct {
		cfg    Config
		prefix string
	}{
		{Config{}, "http://127.0.0.1:"},            // the default loopback address
		{Config{TLS: true}, "https://127.0.0.1:"},  // TLS changes the scheme
		{Config{Addr: ":0"}, "http://127.0.0.1:"},  // all interfaces are reached on loopback
		{Config{Addr: "[::1]:0"}, "http://[::1]:"}, // IPv6 keeps its brackets
	}
	for _, tt := range tests {
		s, err := Start(tt.cfg)
		if err != nil {
			if tt.cfg.Addr == "[::1]:0" {
				t.Logf("no IPv6 loopback: %v", err)
				continue
			}
			t.Fatal(err)
		}
		if !strings.HasPrefix(s.URL(), tt.prefix) {
			t.Errorf("Config %+v: URL %q, want prefix %q", tt.cfg, s.URL(), tt.prefix)
		}
		c := newClient(t, s, nil)
		if resp, _, _, _ := get(t, c, s.URL()); resp.StatusCode != 200 {
			t.Errorf("GET %s: %s", s.URL(), resp.Status)
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}
}
