package loadgen

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/target"
)

// A mix sends each request its share of the arrivals, records every label
// on its own, and each label's ttfb is its own request's (issue 5's
// per-label acceptance test, at the engine).
func TestMixPerLabel(t *testing.T) {
	srv := startTarget(t, target.Config{})
	base := srv.URL()
	req := func(label, method, query string, weight float64) RequestSpec {
		u, err := url.Parse(base + "/?" + query)
		if err != nil {
			t.Fatal(err)
		}
		return RequestSpec{Label: label, Method: method, URL: u, Weight: weight, Body: []byte(label)}
	}
	for _, tc := range []struct {
		client ClientKind
		mode   Mode
	}{
		{ClientFast, ModeKeepAlive}, // the fast client's pre-built bytes, per request
		{ClientFast, ModeClose},     // ... through the pool
		{ClientStd, ModeKeepAlive},  // net/http's templates, per request
	} {
		t.Run(fmt.Sprintf("%s-%s", tc.client, tc.mode), func(t *testing.T) {
			cfg := Config{Client: tc.client, Mode: tc.mode, Connections: 16, Requests: []RequestSpec{
				req("fast", "POST", "ttfb=5ms", 3),
				req("slow", "GET", "ttfb=20ms", 1),
			}}
			r := runEngine(t, cfg, base+"/", 200, 1500*time.Millisecond)
			fast, slow := r.iv.Labels["fast"], r.iv.Labels["slow"]
			if fast == nil || slow == nil || len(r.iv.Labels) != 2 {
				t.Fatalf("labels %v", r.iv.Labels)
			}
			// 300 arrivals, blocks of 4: exactly 225 and 75.
			if fast.Counters.Intended != 225 || slow.Counters.Intended != 75 {
				t.Errorf("intended %d and %d, want 225 and 75", fast.Counters.Intended, slow.Counters.Intended)
			}
			if sum := fast.Counters.Completed + slow.Counters.Completed; sum != r.iv.Counters.Completed {
				t.Errorf("labels completed %d, the arm %d", sum, r.iv.Counters.Completed)
			}
			within(t, "fast ttfb p50", fast.Hists[histogram.TTFB].Quantile(0.5), 5*time.Millisecond, 8*time.Millisecond)
			within(t, "slow ttfb p50", slow.Hists[histogram.TTFB].Quantile(0.5), 20*time.Millisecond, 23*time.Millisecond)
			for _, tr := range r.trails {
				if tr.Status != 200 {
					t.Fatalf("trail %d: status %d", tr.Index, tr.Status)
				}
			}
		})
	}
}

// --expect-status: a status outside the set is an error of its class, in
// the arm and in the label.
func TestExpectStatus(t *testing.T) {
	srv := startTarget(t, target.Config{})
	expect, _ := ParseStatusSet("201,503")
	u, _ := url.Parse(srv.URL() + "/?status=503")
	cfg := Config{Expect: expect, Requests: []RequestSpec{
		{Label: "ok", URL: u, Weight: 1},
		{Label: "plain", URL: mustURL(t, srv.URL()+"/"), Weight: 1},
	}}
	r := runEngine(t, cfg, srv.URL()+"/", 100, time.Second)
	if got := r.iv.Labels["ok"].Errors; len(got) != 0 {
		t.Errorf("an expected 503 counted as an error: %v", got)
	}
	plain := r.iv.Labels["plain"]
	if plain.Errors["status_2xx"] != plain.Counters.Intended || plain.Counters.Intended != 50 {
		t.Errorf("plain: errors %v of %d, want every one status_2xx", plain.Errors, plain.Counters.Intended)
	}
	if r.iv.Errors["status_2xx"] != 50 || r.iv.Counters.Errors != 50 {
		t.Errorf("arm errors %v (%d), want 50 status_2xx", r.iv.Errors, r.iv.Counters.Errors)
	}
}

func TestMixValidate(t *testing.T) {
	u := mustURL(t, "http://127.0.0.1:8080/")
	for _, tc := range []struct {
		name string
		reqs []RequestSpec
	}{
		{"other origin", []RequestSpec{{Label: "a", URL: mustURL(t, "http://127.0.0.1:9090/"), Weight: 1}}}, // shares no connection
		{"other scheme", []RequestSpec{{Label: "a", URL: mustURL(t, "https://127.0.0.1:8080/"), Weight: 1}}},
		{"no label", []RequestSpec{{URL: u, Weight: 1}}},     // labels name results
		{"zero weight", []RequestSpec{{Label: "a", URL: u}}}, // never sent
		{"no URL", []RequestSpec{{Label: "a", Weight: 1}}},   // nothing to send
	} {
		cfg := Config{URL: u, Requests: tc.reqs}
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: valid", tc.name)
		}
	}
	// The default port is the scheme's.
	cfg := Config{URL: mustURL(t, "http://example.test/"), Requests: []RequestSpec{{Label: "a", URL: mustURL(t, "http://example.test:80/x"), Weight: 1}}}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// BenchmarkRecordMix is BenchmarkRecord with a three-request mix: each
// request is recorded twice, overall and in its label, and the label's
// choice is the pacer's (Mix.Pick) per arrival.
func BenchmarkRecordMix(b *testing.B) {
	u, _ := url.Parse("http://127.0.0.1:1/")
	reqs := []RequestSpec{{Label: "a", URL: u, Weight: 70}, {Label: "b", URL: u, Weight: 20}, {Label: "c", URL: u, Weight: 10}}
	e, err := New(Config{URL: u, Shards: 1, Requests: reqs})
	if err != nil {
		b.Fatal(err)
	}
	if e.mix, err = newRequestMix(&e.cfg, 1); err != nil {
		b.Fatal(err)
	}
	e.clk = clock{t0: time.Now()}
	t := Trail{Intended: 1000, Dispatched: 1100, SlotGranted: 1200, GotConn: 1200, WroteRequest: 5000, FirstByte: 90000, Done: 95000, Status: 200, Bytes: 2}
	b.ReportAllocs()
	for b.Loop() {
		t.Index++
		t.Request = e.mix.pick(t.Index)
		t.Done += 7
		e.record(&t)
	}
}
