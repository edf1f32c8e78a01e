package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen/schedule"
	"github.com/tailrace/tailrace/target"
)

func TestClosedLoop(t *testing.T) {
	srv := startTarget(t, target.Config{})
	const loops = 4
	tests := []struct {
		name      string
		cfg       Config
		maxConns  int64 // connections the target may see
		everyConn bool  // one connection per request
	}{
		// Each loop owns one kept-alive connection.
		{"keepalive fast", Config{Mode: ModeKeepAlive, Client: ClientFast}, loops, false},
		{"keepalive std", Config{Mode: ModeKeepAlive, Client: ClientStd}, loops, false},
		// A new connection for every request, loops back to back.
		{"close fast", Config{Mode: ModeClose, Client: ClientFast}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetStats()
			u, _ := url.Parse(srv.URL() + "/?ttfb=2ms")
			cfg := tc.cfg
			cfg.URL, cfg.Concurrency = u, loops
			var mu sync.Mutex
			var trails []Trail
			cfg.OnTrail = func(tr *Trail) {
				mu.Lock()
				trails = append(trails, *tr)
				mu.Unlock()
			}
			e, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			all := histogram.NewInterval(16)
			var maxIn int64
			plan := schedule.Plan{Stages: schedule.Steady(1, 500*time.Millisecond)} // the rate is ignored
			if err := e.Run(context.Background(), plan, schedule.Full, time.Now(), func(iv *histogram.Interval) {
				all.Merge(iv)
				maxIn = max(maxIn, iv.Self.MaxInFlight)
			}); err != nil {
				t.Fatal(err)
			}
			c := all.Counters
			// 4 loops of ~2ms requests for 0.5s: far more than the plan's 1/s.
			if c.Errors != 0 || c.Completed < 100 || c.Intended != c.Sent || c.Sent != c.Completed {
				t.Fatalf("counters %+v, errors %v", c, all.Errors)
			}
			if maxIn > loops {
				t.Errorf("max in flight %d, want at most %d loops", maxIn, loops)
			}
			if lag := all.Hists[histogram.ScheduleLag].Max(); lag != 0 {
				t.Errorf("schedule lag max %v, want 0 in closed loop", lag)
			}
			for _, tr := range trails {
				if tr.Intended != tr.Dispatched {
					t.Fatalf("trail %d: intended %v, dispatched %v: want equal", tr.Index, tr.Intended, tr.Dispatched)
				}
			}
			st := srv.Stats()
			if st.Requests != c.Completed {
				t.Errorf("target served %d, engine completed %d", st.Requests, c.Completed)
			}
			if tc.maxConns > 0 && st.Connections > tc.maxConns {
				t.Errorf("target saw %d connections, want at most %d", st.Connections, tc.maxConns)
			}
			if tc.everyConn && st.Connections != st.Requests {
				t.Errorf("target saw %d connections for %d requests, want one each", st.Connections, st.Requests)
			}
			t.Logf("%d requests, target stats %+v", c.Completed, st)
		})
	}
}

// TestClosedLoopCloseModeDialsEveryRequest: in close and resume modes the
// fast client closes its connection after every request (the request said
// "Connection: close"), even when the server would keep it (this one
// answers without "Connection: close" and keeps reading), so a closed
// loop's worker dials for every request.
func TestClosedLoopCloseModeDialsEveryRequest(t *testing.T) {
	u, _ := url.Parse(h1Server(t, nil, okResponse))
	e, err := New(Config{URL: u, Mode: ModeClose, Client: ClientFast, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	all := histogram.NewInterval(16)
	plan := schedule.Plan{Stages: schedule.Steady(1, 200*time.Millisecond)}
	if err := e.Run(context.Background(), plan, schedule.Full, time.Now(), func(iv *histogram.Interval) { all.Merge(iv) }); err != nil {
		t.Fatal(err)
	}
	c := all.Counters
	if c.Errors != 0 || c.Completed < 20 {
		t.Fatalf("counters %+v, errors %v %v", c, all.Errors, all.ErrorText)
	}
	if c.ConnsOpened != c.Completed || c.ConnsReused != 0 || c.ConnsClosed != c.ConnsOpened {
		t.Errorf("%d requests: %d connections opened, %d reused, %d closed; want one opened and closed each",
			c.Completed, c.ConnsOpened, c.ConnsReused, c.ConnsClosed)
	}
}

// TestOpenLoopCloseModeReusesWorkers: an open-loop close-mode run on the
// fast client dials and closes a connection for every request, even against
// a server that would keep it (h1Server ignores Connection: close), and its
// arrivals reuse parked workers instead of a goroutine each.
func TestOpenLoopCloseModeReusesWorkers(t *testing.T) {
	r := runPlan(t, Config{Mode: ModeClose, Client: ClientFast, Connections: 4}, h1Server(t, nil, okResponse),
		schedule.Plan{Stages: schedule.Steady(1000, 300*time.Millisecond), Process: schedule.Constant})
	c := r.iv.Counters
	if c.Errors != 0 || c.Completed != 300 {
		t.Fatalf("counters %+v, errors %v %v; want 300 completed", c, r.iv.Errors, r.iv.ErrorText)
	}
	if c.ConnsOpened != c.Completed || c.ConnsReused != 0 || c.ConnsClosed != c.ConnsOpened {
		t.Errorf("%d requests: %d connections opened, %d reused, %d closed; want one opened and closed each",
			c.Completed, c.ConnsOpened, c.ConnsReused, c.ConnsClosed)
	}
	if ws := r.e.workers; ws == nil || !ws.dials {
		t.Fatal("close mode on the fast client has no dialing workers")
	} else if ws.started > 200 {
		// Without reuse it is 300, one per arrival; with it, a handful here,
		// or about 100 if the machine stalled the run for 100 ms.
		t.Errorf("%d workers started for 300 arrivals: parked workers are not reused", ws.started)
	}
	// Nothing waits for a slot: waiting for a worker to run is schedule_lag.
	if pw := r.iv.Hists[histogram.PoolWait]; pw.Count() != 300 || pw.Max() != 0 {
		t.Errorf("pool_wait: %d recorded, max %v; want 300, all 0", pw.Count(), pw.Max())
	}
}

// TestOpenLoopCloseModeSpareWorkers: past a burst, at most spare
// (Connections) workers stay parked; the others exit.
func TestOpenLoopCloseModeSpareWorkers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond) // ~60 requests in flight at 2000/s
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	// A burst, then a lull in which the burst's workers come back idle.
	stages := append(schedule.Steady(2000, 100*time.Millisecond), schedule.Steady(20, 200*time.Millisecond)...)
	r := runPlan(t, Config{Mode: ModeClose, Client: ClientFast, Connections: 4}, srv.URL, schedule.Plan{Stages: stages, Process: schedule.Constant})
	if c := r.iv.Counters; c.Errors != 0 || c.Completed != 204 || c.ConnsOpened != 204 {
		t.Fatalf("counters %+v, errors %v %v; want 204 completed on 204 connections", c, r.iv.Errors, r.iv.ErrorText)
	}
	ws := r.e.workers
	if ws.started <= 8 {
		t.Fatalf("only %d workers started in the burst: the test did not exercise the bound", ws.started)
	}
	if ws.peak > 4 {
		t.Errorf("%d workers idle at once, want at most 4 (Connections)", ws.peak)
	}
}
