package loadgen

import (
	"context"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen/schedule"
)

func TestArrivalQueueFIFO(t *testing.T) {
	var q arrivalQueue
	next := int64(0)
	// Interleave pushes and pops across several growths of the ring.
	for round := range 5 {
		for i := range 10 * (round + 1) {
			q.push(arrival{k: int64(round*1000 + i)})
		}
		for range 5 * (round + 1) {
			a, ok := q.pop()
			if !ok {
				t.Fatal("queue empty too early")
			}
			_ = a
			next++
		}
	}
	// What is left comes out in the order it went in.
	prev := int64(-1)
	for a, ok := q.pop(); ok; a, ok = q.pop() {
		if a.k <= prev {
			t.Fatalf("arrival %d after %d: not FIFO", a.k, prev)
		}
		prev = a.k
	}
}

// TestPrecisePacerLag measures the schedule lag of --pacer precise at
// 50,000/s for 2 s and logs it (DESIGN.md §5 promises sub-100 µs). It is a
// measurement, not an assertion: the figure depends on the machine and on
// what else runs on it. Run with -v to read it.
func TestPrecisePacerLag(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("a 2 s measurement per case; meaningless under -race")
	}
	for _, tc := range []struct {
		name  string
		procs int
		real  bool // a loopback server instead of connections that answer at once
	}{
		{"instant", 0, false},
		{"instant-1P", 1, false},
		{"loopback", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.procs > 0 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(tc.procs))
			}
			rawURL := "http://127.0.0.1:1/"
			if tc.real {
				rawURL = h1Server(t, nil, okResponse)
			}
			u, _ := url.Parse(rawURL)
			e, t0 := pacedEngine(t, Config{URL: u, Connections: 50, Pacer: PacerPrecise, Client: ClientFast})
			if !tc.real {
				e.conns = &instantDialer{clk: &e.clk}
				e.workers = newConnWorkers(e, 50)
			}
			plan := schedule.Plan{Stages: schedule.Steady(50000, 2*time.Second)}
			e.pace(context.Background(), plan.Arrivals(schedule.Full))
			e.workers.finish()
			e.wg.Wait()
			iv := e.rec.Rotate(0, t0, 2*time.Second)
			lag := iv.Hists[histogram.ScheduleLag]
			t.Logf("GOMAXPROCS %d, %d requests at 50000/s: schedule lag p50 %v p99 %v p99.9 %v max %v; dropped %d, errors %v",
				runtime.GOMAXPROCS(0), lag.Count(), lag.Quantile(0.5), lag.Quantile(0.99), lag.Quantile(0.999), lag.Max(), iv.Counters.Dropped, fmtErrors(iv.Errors))
		})
	}
}

// pacedEngine returns an engine for cfg prepared to pace from T0, 20 ms from
// now, and stopped when the test ends.
func pacedEngine(t *testing.T, cfg Config) (*Engine, time.Time) {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(20 * time.Millisecond)
	stop, err := e.prepare(context.Background(), t0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(nil) })
	return e, t0
}

func fmtErrors(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	return fmt.Sprint(m)
}

// gridConn answers at once and keeps each request's intended and dispatch
// times.
type gridConn struct {
	instantConn
	mu    *sync.Mutex
	times *[][2]time.Duration
}

func (c *gridConn) do(ctx context.Context, t *Trail) bool {
	c.mu.Lock()
	*c.times = append(*c.times, [2]time.Duration{t.Intended, t.Dispatched})
	c.mu.Unlock()
	return c.instantConn.do(ctx, t)
}

type gridDialer struct {
	clk   *clock
	mu    sync.Mutex
	times [][2]time.Duration
}

func (d *gridDialer) dial(context.Context, *Trail) (clientConn, error) {
	return &gridConn{instantConn: instantConn{clk: d.clk}, mu: &d.mu, times: &d.times}, nil
}
func (d *gridDialer) abort() {}

// TestTickPacerSendsOnTheGrid: --pacer tick sends each arrival on the first
// 1 ms tick (from T0) at or after its intended time, never before, and so
// sends the arrivals of a tick together. At 3,000/s the arrivals fall
// between ticks (every 333 µs), so a pacer that sends each at its own time,
// as the sleep pacer does, fails the check; one that loses arrivals fails
// the count. How late after its tick each went out is logged (-v).
func TestTickPacerSendsOnTheGrid(t *testing.T) {
	const pacer = PacerTick
	u, _ := url.Parse("http://127.0.0.1:1/")
	e, _ := pacedEngine(t, Config{URL: u, Connections: 8, Pacer: pacer, Client: ClientFast})
	d := &gridDialer{clk: &e.clk}
	e.conns = d
	e.workers = newConnWorkers(e, 8)
	const rate, dur = 3000, 500 * time.Millisecond
	plan := schedule.Plan{Stages: schedule.Steady(rate, dur)}
	e.pace(context.Background(), plan.Arrivals(schedule.Full))
	e.workers.finish()
	e.wg.Wait()

	d.mu.Lock()
	defer d.mu.Unlock()
	if want := int(rate * dur / time.Second); len(d.times) != want {
		t.Fatalf("%d requests sent, want %d", len(d.times), want)
	}
	ticks := map[time.Duration]int{}
	late := make([]time.Duration, 0, len(d.times))
	for _, it := range d.times {
		intended, dispatched := it[0], it[1]
		tick := tickAfter(intended, DefaultTick)
		if dispatched < tick {
			t.Fatalf("arrival intended at %v sent at %v, before its tick %v", intended, dispatched, tick)
		}
		ticks[tick]++
		late = append(late, dispatched-tick)
	}
	slices.Sort(late)
	t.Logf("%s: %d requests on %d ticks; sent after their tick by p50 %v p99 %v max %v",
		pacer, len(d.times), len(ticks), late[len(late)/2], late[len(late)*99/100], late[len(late)-1])
}

// TestPrecisePacerOneP: with one P the precise pacer's spin (Gosched in a
// loop) keeps the run queue busy, and the runtime polls the network only
// when it is empty (or on sysmon's 10 ms tick). Spinning 1.5 ms before
// every arrival at 2,000/s it spun all the time, and this test measured
// ttfb p90 20.3 ms (p50 35-43 µs); at 20,000/s, where it spins all the
// time whatever its window, 9,608 of 20,000 arrivals were dropped at the
// in-flight cap and ttfb p99 was 20 ms. Now it sleeps on a timerfd to
// 300 µs before each arrival and lets the runtime poll once per arrival
// (preciseSpin): p90 10-28 µs at 2,000/s and 61 µs at 20,000/s.
func TestPrecisePacerOneP(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("a 1 s measurement per rate; meaningless under -race")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, rate := range []float64{2000, 20000} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			u, _ := url.Parse(h1Server(t, nil, okResponse))
			e, t0 := pacedEngine(t, Config{URL: u, Connections: 8, Pacer: PacerPrecise, Client: ClientFast})
			plan := schedule.Plan{Stages: schedule.Steady(rate, time.Second)}
			e.pace(context.Background(), plan.Arrivals(schedule.Full))
			e.workers.finish()
			e.wg.Wait()
			iv := e.rec.Rotate(0, t0, time.Second)
			ttfb, lag := iv.Hists[histogram.TTFB], iv.Hists[histogram.ScheduleLag]
			t.Logf("%d requests: ttfb p50 %v p75 %v p90 %v p99 %v; schedule lag p50 %v p99 %v; errors %v",
				ttfb.Count(), ttfb.Quantile(0.5), ttfb.Quantile(0.75), ttfb.Quantile(0.9), ttfb.Quantile(0.99), lag.Quantile(0.5), lag.Quantile(0.99), fmtErrors(iv.Errors))
			if ttfb.Count() != int64(rate) {
				t.Fatalf("%d responses, want %v", ttfb.Count(), rate)
			}
			if p90 := ttfb.Quantile(0.9); p90 > 5*time.Millisecond {
				t.Errorf("ttfb p90 %v with one P: the pacer's spin kept the runtime from reading responses", p90)
			}
		})
	}
}

// TestTickPacerGate: under the tick pacer, connections wait for their
// responses at the gate, read on the next tick, and their ttfb is still
// the server's (the kernel's receive stamps), not rounded up to the tick:
// on a 10 ms grid with an in-process server answering at once, ttfb p50
// stays under 2 ms. Stamped where the read returned, it was 9.98 ms.
func TestTickPacerGate(t *testing.T) {
	if !rxStampsOn() {
		t.Skip("no receive timestamps here: the tick pacer does not gate")
	}
	u, _ := url.Parse(h1Server(t, nil, okResponse))
	const tick = 10 * time.Millisecond
	e, t0 := pacedEngine(t, Config{URL: u, Connections: 16, Pacer: PacerTick, Tick: tick, Client: ClientFast})
	if e.gate == nil {
		t.Fatal("the tick pacer's engine has no gate")
	}
	plan := schedule.Plan{Stages: schedule.Steady(1000, time.Second)}
	e.pace(context.Background(), plan.Arrivals(schedule.Full))
	e.workers.finish()
	e.wg.Wait()
	iv := e.rec.Rotate(0, t0, time.Second)
	ttfb := iv.Hists[histogram.TTFB]
	t.Logf("%d requests, %d waits at the gate: ttfb p50 %v p90 %v p99 %v; errors %v",
		ttfb.Count(), e.gate.waits.Load(), ttfb.Quantile(0.5), ttfb.Quantile(0.9), ttfb.Quantile(0.99), fmtErrors(iv.Errors))
	if ttfb.Count() != 1000 || len(iv.Errors) != 0 {
		t.Fatalf("%d responses, errors %v; want 1000, none", ttfb.Count(), fmtErrors(iv.Errors))
	}
	if e.gate.waits.Load() < 500 {
		t.Errorf("%d waits at the gate for 1000 responses: the connections waited in the netpoller", e.gate.waits.Load())
	}
	if p50 := ttfb.Quantile(0.5); p50 > 2*time.Millisecond {
		t.Errorf("ttfb p50 %v on a %v grid: stamped when read, not when it arrived", p50, tick)
	}
	// What the gate costs is shown, as read_lag: responses wait for the
	// next tick, 10 ms after their request at most.
	lag := iv.Hists[histogram.ReadLag]
	t.Logf("read_lag p50 %v max %v", lag.Quantile(0.5), lag.Max())
	if lag.Count() != 1000 || lag.Quantile(0.5) < 2*time.Millisecond {
		t.Errorf("read_lag: %d values, p50 %v: want 1000 with the gate's wait in them (up to %v)", lag.Count(), lag.Quantile(0.5), tick)
	}
}
