package loadgen

import (
	"context"
	"sync/atomic"
	"time"
)

// runClosed is the closed-loop mode (Config.Concurrency): that many loops,
// each sending its next request as soon as its last one is done, from t0
// until d has passed or ctx is done. It is how wrk, ab and h2load measure a
// maximum rate; its latencies are the service-time view (Intended is
// Dispatched), so the open-loop schedule is the tool for latency under a
// given load. It returns when the time is up; requests still in flight
// finish on their own goroutines.
func (e *Engine) runClosed(ctx context.Context, d time.Duration) {
	if wait := time.Until(e.clk.t0); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
	var stop atomic.Bool
	var next atomic.Int64
	for range e.cfg.Concurrency {
		e.wg.Go(func() {
			if w := e.closedWorker(); w != nil {
				defer func() {
					if w.c != nil {
						w.c.close()
					}
				}()
				for !stop.Load() {
					e.enter()
					now := e.clk.now()
					k := next.Add(1) - 1
					// A loop owns its worker: the slot is granted as it is dispatched.
					w.serve(arrival{k: k, req: e.mix.pick(k), intended: now, dispatched: now, granted: now})
				}
				return
			}
			for !stop.Load() {
				e.enter()
				e.issue(next.Add(1)-1, 0)
			}
		})
	}
	timer := time.NewTimer(time.Until(e.clk.t0.Add(d)))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
	stop.Store(true)
}

// closedWorker returns a connection worker for one closed loop when the fast
// client runs it, or nil: then the loop goes through the pool. In close and
// resume modes the worker dials a connection for every request and closes
// it after; what it saves over the pool is the Trail and context each
// request would allocate.
func (e *Engine) closedWorker() *connWorker {
	if e.workers != nil {
		return e.workers.newWorker()
	}
	return nil
}

// enter counts a request in flight and keeps the interval's peak.
func (e *Engine) enter() int64 {
	n := e.inflight.Add(1)
	for m := e.maxIn.Load(); n > m && !e.maxIn.CompareAndSwap(m, n); m = e.maxIn.Load() {
	}
	return n
}
