package loadgen

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen/resolver"
	"github.com/tailrace/tailrace/loadgen/schedule"
)

// IntervalLength is the length of one reporting interval.
const IntervalLength = time.Second

var errNoStream = errors.New("loadgen: new HTTP/2 connection has no free stream")

// Engine generates one segment of an open-loop schedule against one target and
// times every request phase by phase. An Engine runs once; it is not safe to
// call Run concurrently or twice.
type Engine struct {
	cfg      Config
	res      *resolver.Resolver
	clk      clock
	rec      *histogram.Recorder
	pool     pool
	conns    connector
	workers  *connWorkers // the fast client's dispatch (dispatch.go); nil for net/http
	gate     *tickGate    // the tick pacer's, where first reads wait (gate.go); nil: none
	mix      *requestMix  // Config.Requests; nil without a mix (mix.go)
	inflight atomic.Int64
	maxIn    atomic.Int64
	closed   atomic.Int64 // connections we closed, not yet counted into an interval
	ids      atomic.Uint64
	reqCtx   context.Context
	wg       sync.WaitGroup

	errMu   sync.Mutex
	errText map[string]string // first message per error class, not yet emitted
	errSeen map[string]bool
}

// New validates cfg and prepares an engine.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	res, err := resolver.New(resolver.Config{Server: cfg.DNSServer, Cache: cfg.DNSCache, Static: cfg.Resolve})
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	return &Engine{cfg: cfg, res: res, rec: histogram.NewRecorder(cfg.Shards, cfg.Exemplars)}, nil
}

// Run sends the arrivals of seg of plan, starting at t0 (which may be in the
// future; Run waits), and calls emit once per interval, in order, from a
// single goroutine. It returns when every request has finished, after the
// last interval was emitted. When ctx is canceled, the pacer stops, requests
// in flight are canceled and recorded as such, and the partial last interval
// is still emitted: nothing measured is lost.
func (e *Engine) Run(ctx context.Context, plan schedule.Plan, seg schedule.Segment, t0 time.Time, emit func(*histogram.Interval)) error {
	mix, err := newRequestMix(&e.cfg, plan.Seed)
	if err != nil {
		return err
	}
	e.mix = mix
	stopRequests, err := e.prepare(ctx, t0)
	if err != nil {
		return err
	}
	defer stopRequests(nil)
	defer holdGC(leanEngine(&e.cfg))()

	var meter *selfMeter
	if e.cfg.SelfMeter {
		meter = startSelfMeter()
		defer meter.stop()
	}
	rotDone := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(rotDone)
		e.rotate(t0, finished, meter, emit)
	}()

	if e.cfg.Concurrency > 0 {
		e.runClosed(ctx, plan.Duration())
	} else {
		e.pace(ctx, plan.Arrivals(seg))
	}
	if ctx.Err() != nil {
		stopRequests(errRunStopped)
	}
	if e.workers != nil {
		e.workers.finish()
	}
	e.wg.Wait()
	e.pool.close()
	close(finished)
	<-rotDone
	return nil
}

// prepare builds the connection layer and the context requests run under;
// requests outlive ctx's cancellation only until the returned func is called.
func (e *Engine) prepare(ctx context.Context, t0 time.Time) (context.CancelCauseFunc, error) {
	e.clk = clock{t0: t0}
	tmpl := newRequestTemplates(&e.cfg)
	nd, err := newNetDialer(&e.cfg, &e.clk, e.res)
	if err != nil {
		return nil, err
	}
	onClose := func() { e.closed.Add(1) }
	conns := e.cfg.Connections
	if e.cfg.Concurrency > 0 && e.cfg.Mode == ModeKeepAlive {
		conns = e.cfg.Concurrency // a closed loop per connection
	}
	// The kernel's receive timestamps, turned on before T0 so that the
	// first responses are stamped too (rxStampsOn).
	stamps := rxStampsOn()
	if e.cfg.Client == ClientFast && e.cfg.Mode != ModeH2 {
		// (TLS connections read inside crypto/tls, never at the gate.)
		if stamps && e.cfg.Pacer == PacerTick && e.cfg.Concurrency == 0 && e.cfg.URL.Scheme == "http" {
			e.gate = newTickGate()
			nd.gate = e.gate
		}
		if e.conns, err = newH1Dialer(&e.cfg, nd, tmpl, &e.ids, onClose); err != nil {
			return nil, err
		}
		if e.cfg.Mode == ModeKeepAlive {
			e.workers = newConnWorkers(e, conns)
		} else {
			e.workers = newDialWorkers(e, e.cfg.MaxInFlight, conns)
		}
	} else {
		e.conns = newStdDialer(&e.cfg, nd, tmpl, &e.ids, onClose)
	}
	e.pool = newPool(e.cfg.Mode, e.conns, conns, &e.clk)
	reqCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	e.reqCtx = reqCtx
	return func(cause error) {
		cancel(cause)
		if cause != nil {
			e.conns.abort()
		}
	}, nil
}

// pace dispatches every arrival at its intended time and never waits for a
// response: after a sleep it dispatches everything already due, in a batch.
func (e *Engine) pace(ctx context.Context, arr *schedule.Arrivals) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	sh := e.rec.Shard(0)
	yield := runtime.GOMAXPROCS(0) == 1
	var tick, wake *waker
	switch e.cfg.Pacer {
	case PacerTick:
		tick = newWaker(ctx)
		defer tick.close()
		if e.gate != nil {
			defer e.gate.open() // no more ticks: what is in flight waits in the netpoller
		}
	case PacerPrecise:
		if yield {
			wake = newWaker(ctx)
			defer wake.close()
		}
	}
	cur := time.Duration(-1) // the tick pacer's last tick
	for k := int64(0); ; k++ {
		gk, at, ok := arr.NextIndexed()
		if !ok {
			return
		}
		req := e.mix.pick(gk)
		due := e.clk.t0.Add(at)
		if tick != nil {
			// The first tick of the grid at or after the arrival's time:
			// every arrival due by then goes out with it. While requests
			// are in flight every tick of the grid is kept, for the
			// connections waiting at the gate to read their responses.
			for next := tickAfter(at, e.cfg.Tick); cur < next; {
				t := next
				if e.gate != nil && cur >= 0 && e.inflight.Load() > 0 {
					t = min(next, cur+e.cfg.Tick)
				}
				if tick.sleepUntil(ctx, e.clk.t0.Add(t)) != nil {
					return
				}
				cur = t
				if e.gate != nil && e.gate.tick() {
					// Their responses first: the connections they free
					// take this tick's arrivals.
					runtime.Gosched()
				}
			}
			if ctx.Err() != nil {
				return
			}
		} else if wait := time.Until(due); wait > 0 {
			oneP := wake != nil && wake.exact() // see preciseSpin
			switch {
			case oneP:
				if wait > preciseSpin && wake.sleepUntil(ctx, due.Add(-preciseSpin)) != nil {
					return
				}
				wait = 0
			case e.cfg.Pacer == PacerPrecise:
				wait -= spinWindow
			}
			if wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-ctx.Done():
					return
				}
			}
			if e.cfg.Pacer == PacerPrecise {
				// With one P (a generator pinned to one core) a plain spin
				// would starve the goroutines sending requests: yield. With
				// more, yielding costs lag (the pacer waits its turn in the
				// global run queue) and the other Ps run the requests.
				polled := false // see preciseSpin
				for time.Now().Before(due) {
					switch {
					case oneP && !polled:
						polled = true
						wake.yield()
					case yield:
						runtime.Gosched()
					}
				}
			}
		} else if ctx.Err() != nil {
			return
		}
		if n := e.inflight.Add(1); n > int64(e.cfg.MaxInFlight) {
			e.inflight.Add(-1)
			cn, smp := histogram.Counters{Intended: 1, Dropped: 1, Errors: 1}, histogram.Sample{Error: ErrDropped.Label(0)}
			sh.Record(&smp, &cn)
			e.mix.record(req, &cn, &smp)
			continue
		} else {
			for m := e.maxIn.Load(); n > m && !e.maxIn.CompareAndSwap(m, n); m = e.maxIn.Load() {
			}
		}
		if e.workers != nil {
			e.workers.dispatch(arrival{k: k, req: req, intended: at, dispatched: e.clk.now()})
			if e.cfg.Pacer == PacerPrecise && !yield {
				// The woken worker waits in this P's runnext while the pacer
				// spins, until an idle P's thread wakes to steal it: 65 µs
				// of schedule lag at the median here. Yielding once lets it
				// run now (p99 169 -> 40-48 µs at 50,000/s, 2 Ps,
				// TestPrecisePacerLag/instant).
				runtime.Gosched()
			}
		} else {
			e.wg.Go(func() { e.send(k, req, at) })
		}
	}
}

// tickAfter is the first tick at or after at of a grid of period tick from
// T0.
func tickAfter(at, tick time.Duration) time.Duration {
	return (at + tick - 1) / tick * tick
}

// spinWindow is how early the precise pacer wakes before spinning when its
// sleep is the runtime's timer (whole milliseconds). With one P it sleeps
// on a timerfd instead, to preciseSpin before the arrival: while it spins
// (Gosched in a loop) the run queue is never empty, and the runtime polls
// the network only when it is, or on sysmon's 10 ms tick. Spinning 1.5 ms
// before each arrival at 2,000/s it spun all the time and read responses
// up to 20 ms late (TestPrecisePacerOneP: ttfb p90 20 ms against 28 µs;
// against nginx, ttfb p50 5.5 ms against the sleep pacer's 96 µs). The
// timerfd's wake-up latency costs lag instead, where it shows: schedule
// lag p99 55-225 µs against nginx at 200-2,000/s, against 9-126 µs (one run
// each). And once per arrival the spin parks on the timerfd armed to
// expire at once (waker.yield), so that the runtime, with nothing else to run, polls
// the network: without it, above ~3,000/s, where the pacer spins all the
// time, responses waited for sysmon (against nginx at 10,000/s ttfb p99
// 13 ms, now 0.34-0.41 ms; in TestPrecisePacerOneP at 20,000/s half the
// arrivals were dropped at the in-flight cap). That costs lag too: p50
// 0 -> 30 µs and p99 370-383 -> 161-173 µs at 10,000/s; p50 0 -> 88 µs and
// p99 0.42-0.45 -> 0.44-1.31 ms at 50,000/s.
const spinWindow = 1500 * time.Microsecond

// preciseSpin: see spinWindow.
const preciseSpin = 300 * time.Microsecond

// issue runs request k of a closed loop (or a test): the mix's choice for k.
func (e *Engine) issue(k int64, intended time.Duration) { e.send(k, e.mix.pick(k), intended) }

// send runs one request, request req of the mix, from dispatch to done and
// records its trail: net/http's path (h2, --client std), a goroutine per
// request; the fast client's goes through connection workers (dispatch.go).
func (e *Engine) send(k int64, req int, intended time.Duration) {
	t := Trail{Index: k, Request: req, Intended: intended, Dispatched: e.clk.now()}
	if e.cfg.Concurrency > 0 {
		t.Intended = t.Dispatched // closed loop: no schedule to lag behind
	}
	ctx, cancel := context.WithTimeoutCause(e.reqCtx, e.cfg.Timeout, errWholeTimeout)
	c, err := e.pool.acquire(ctx, &t)
	if err == nil {
		t.GotConn = e.clk.now()
		reusable := c.do(ctx, &t)
		e.pool.put(c, reusable)
	} else if t.Done == 0 {
		t.Done = e.clk.now()
	}
	cancel()
	e.inflight.Add(-1)
	e.record(&t)
}

func (e *Engine) record(t *Trail) {
	var smp histogram.Sample
	t.Inversions = t.Phases(e.clk.t0, &smp)
	if t.Err == ErrNone && !e.cfg.Expect.IsZero() {
		smp.Error = statusError(t.Status, &e.cfg.Expect)
	}
	smp.Label = e.mix.labelOf(t.Request)
	cn := histogram.Counters{Intended: 1, Sent: 1, BytesRead: t.Bytes, Inversions: int64(t.Inversions)}
	if t.Err == ErrNone {
		cn.Completed = 1
	}
	if smp.Error != "" {
		cn.Errors = 1
	}
	if t.NewConn && t.GotConn != 0 {
		cn.ConnsOpened = 1
	} else if t.GotConn != 0 {
		cn.ConnsReused = 1
	}
	if t.Resumed {
		cn.TLSResumed = 1
	}
	sh := e.rec.Shard(int(t.Index))
	sh.Record(&smp, &cn)
	e.mix.record(t.Request, &cn, &smp)
	if smp.Error != "" {
		e.noteError(smp.Error, t)
	}
	if e.cfg.OnTrail != nil {
		e.cfg.OnTrail(t)
	}
}

// noteError keeps the first message of each error class, so reports can say
// what the failures were. The set of classes is small and bounded.
func (e *Engine) noteError(class string, t *Trail) {
	e.errMu.Lock()
	defer e.errMu.Unlock()
	if e.errSeen[class] {
		return
	}
	if e.errSeen == nil {
		e.errSeen, e.errText = map[string]bool{}, map[string]string{}
	}
	e.errSeen[class] = true
	msg := "HTTP status " + fmt.Sprint(t.Status)
	if t.ErrText != nil {
		msg = t.ErrText.Error()
	}
	e.errText[class] = msg
}

// rotate closes an interval at every whole second after t0 and once more
// when the run has finished, filling in the generator's self-measurement.
func (e *Engine) rotate(t0 time.Time, finished <-chan struct{}, meter *selfMeter, emit func(*histogram.Interval)) {
	timer := time.NewTimer(time.Until(t0.Add(IntervalLength)))
	defer timer.Stop()
	for i := 0; ; i++ {
		start := t0.Add(time.Duration(i) * IntervalLength)
		last := false
		select {
		case <-timer.C:
		case <-finished:
			last = true
		}
		length := IntervalLength
		if last {
			length = max(time.Since(start), 0)
		}
		iv := e.rec.Rotate(i, start, length)
		e.mix.rotate(iv, i, start, length)
		e.fillSelf(iv, meter)
		emit(iv)
		if last {
			return
		}
		timer.Reset(time.Until(start.Add(2 * IntervalLength)))
	}
}

func (e *Engine) fillSelf(iv *histogram.Interval, meter *selfMeter) {
	iv.Counters.ConnsClosed += e.closed.Swap(0)
	iv.Self.MaxInFlight = e.maxIn.Swap(e.inflight.Load())
	e.errMu.Lock()
	if len(e.errText) > 0 {
		iv.ErrorText, e.errText = e.errText, map[string]string{}
	}
	e.errMu.Unlock()
	if meter != nil {
		meter.fill(&iv.Self)
	}
	markDegraded(iv)
}

// markDegraded flags an interval in which the generator, not the target,
// limited the measurement (DESIGN.md §5).
func markDegraded(iv *histogram.Interval) {
	lag := iv.Hists[histogram.ScheduleLag]
	if lag.Count() > 0 {
		limit := max(2*time.Millisecond, iv.Hists[histogram.Service].Quantile(0.5)/10)
		if p99 := lag.Quantile(0.99); p99 > limit {
			iv.Self.Degraded = true
			iv.Self.DegradedReason = fmt.Sprintf("schedule lag p99 %v above %v", p99.Round(time.Microsecond), limit.Round(time.Microsecond))
		}
	}
	if iv.Counters.Dropped > 0 {
		reason := fmt.Sprintf("in-flight cap reached: %d arrivals dropped", iv.Counters.Dropped)
		if iv.Self.Degraded {
			reason = iv.Self.DegradedReason + "; " + reason
		}
		iv.Self.Degraded, iv.Self.DegradedReason = true, reason
	}
}

// InFlight reports the number of requests dispatched and not yet done.
func (e *Engine) InFlight() int64 { return e.inflight.Load() }
