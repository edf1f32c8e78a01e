package loadgen

import (
	"context"
	"sync"
	"time"

	"github.com/tailrace/tailrace/histogram"
)

// arrival is one due request on its way from the pacer to a connection.
type arrival struct {
	k          int64
	req        int // the request of the mix it sends
	intended   time.Duration
	dispatched time.Duration
	granted    time.Duration // when it got its connection slot; 0: handed to a worker, which stamps dispatched and granted as it takes it up
}

// connWorkers is the keep-alive dispatch path of the fast client: one
// goroutine per connection, each sending its connection's requests one after
// another, instead of a goroutine, a context and a pool hand-off per request.
// It keeps keepAlivePool's policy: an arrival goes to the most recently idle
// connection; a new connection is dialed only when none is idle and fewer
// than the limit exist; otherwise the arrival waits in a FIFO queue, and that
// wait is its pool_wait. The queue never blocks the pacer: it holds at most
// MaxInFlight arrivals, which the pacer's in-flight cap already enforces.
//
// In close and resume modes (newDialWorkers) a worker dials a connection for
// each request and closes it after, so it holds none between requests; it
// parks all the same, up to spare idle workers, so that the next arrival
// reuses its goroutine, Trail and context instead of starting its own. Any
// number may be busy (the in-flight cap bounds them): a new connection per
// request never waits for another request's.
//
// Make one with newConnWorkers or newDialWorkers; safe for concurrent use.
type connWorkers struct {
	e       *Engine
	mu      sync.Mutex
	idle    []*connWorker // waiting (keep-alive: with a live connection); most recently used last
	permits int           // workers (keep-alive: connections) that may still start
	queue   arrivalQueue
	done    bool // no more arrivals: workers exit once the queue is empty
	dials   bool // close and resume modes: workers park without a connection
	spare   int  // with dials: idle workers kept at most; the others exit
	started int  // workers started, for tests
	peak    int  // most workers idle at once, for tests
}

func newConnWorkers(e *Engine, conns int) *connWorkers {
	return &connWorkers{e: e, permits: conns}
}

// newDialWorkers returns the workers of close and resume modes: as many
// busy as the in-flight cap allows, up to spare idle.
func newDialWorkers(e *Engine, maxInFlight, spare int) *connWorkers {
	return &connWorkers{e: e, permits: maxInFlight, dials: true, spare: spare}
}

// dispatch hands a to a worker, starts one, or queues a. It never blocks on
// a request.
func (ws *connWorkers) dispatch(a arrival) {
	ws.mu.Lock()
	if n := len(ws.idle); n > 0 {
		w := ws.idle[n-1]
		ws.idle[n-1] = nil
		ws.idle = ws.idle[:n-1]
		ws.mu.Unlock()
		w.wake <- a // buffered: a parked worker has room for exactly one
		return
	}
	if ws.permits > 0 {
		ws.permits--
		ws.started++
		ws.mu.Unlock()
		w := ws.newWorker()
		ws.e.wg.Go(func() { w.run(a) })
		return
	}
	ws.queue.push(a)
	ws.mu.Unlock()
}

// finish says no more arrivals will come; idle workers exit now, busy ones
// once the queue is empty.
func (ws *connWorkers) finish() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.done = true
	for _, w := range ws.idle {
		close(w.wake)
	}
	ws.idle = nil
}

func (ws *connWorkers) newWorker() *connWorker {
	return &connWorker{e: ws.e, ws: ws, wake: make(chan arrival, 1)}
}

// connWorker owns one connection slot. Its Trail and context are reused:
// passing the address of a per-request Trail to interface methods would move
// it to the heap on every request.
type connWorker struct {
	e    *Engine
	ws   *connWorkers
	c    clientConn // nil until dialed and after it broke
	wake chan arrival
	t    Trail
	ctx  deadlineCtx
}

func (w *connWorker) run(a arrival) {
	defer func() {
		if w.c != nil {
			w.c.close()
		}
	}()
	ws := w.ws
	for {
		w.serve(a)
		ws.mu.Lock()
		if next, ok := ws.queue.pop(); ok {
			ws.mu.Unlock()
			// It waited in the queue for a connection: pool_wait, from the
			// pacer's stamp to now.
			next.granted = ws.e.clk.now()
			a = next
			continue
		}
		if ws.done || (!ws.dials && w.c == nil) || (ws.dials && len(ws.idle) >= ws.spare) {
			// Keep-alive: without a connection the slot goes back (as the
			// pool's "leave to dial"), so that idle connections are
			// preferred to dialing.
			ws.permits++
			ws.mu.Unlock()
			return
		}
		ws.idle = append(ws.idle, w)
		ws.peak = max(ws.peak, len(ws.idle))
		ws.mu.Unlock()
		next, ok := <-w.wake
		if !ok {
			return
		}
		a = next
	}
}

// serve sends one request on the worker's connection, dialing first if it
// has none, and records it.
func (w *connWorker) serve(a arrival) {
	e := w.e
	t := &w.t
	*t = Trail{Index: a.k, Request: a.req, Intended: a.intended, Dispatched: a.dispatched, SlotGranted: a.granted}
	if t.SlotGranted == 0 {
		// Handed straight to this worker: its idle connection (or, in close
		// and resume modes and below the keep-alive limit, leave to dial) was
		// granted as the worker took the arrival up. The wait for the worker
		// to run is the generator's own queueing, schedule_lag, as a
		// goroutine's start is on net/http's path; pool_wait is only the
		// wait for a connection when none was free.
		t.SlotGranted = e.clk.now()
		t.Dispatched = t.SlotGranted
	}
	w.send(t, t.Dispatched+e.cfg.Timeout)
	e.inflight.Add(-1)
	e.record(t)
}

func (w *connWorker) send(t *Trail, until time.Duration) {
	e := w.e
	switch {
	case t.SlotGranted >= until: // the whole --timeout passed in the queue
		t.Done = until
		t.Err, t.ErrPhase, t.ErrText = ErrTimeout, histogram.PoolWait, errWholeTimeout
		return
	case e.reqCtx.Err() != nil && !w.ws.dials:
		// (A dialing worker goes on to dial, which fails as it would have on
		// net/http's path: canceled@connect, not a pool_wait it never had.)
		t.Done = t.SlotGranted
		t.Err, t.ErrPhase, t.ErrText = ErrCanceled, histogram.PoolWait, context.Cause(e.reqCtx)
		return
	}
	deadline := e.clk.t0.Add(until)
	if w.c != nil && !w.c.alive() { // the server closed it, or it broke
		w.c.close()
		w.c = nil
	}
	w.ctx = deadlineCtx{Context: e.reqCtx, deadline: deadline}
	if w.c == nil {
		c, err := e.conns.dial(&w.ctx, t) // dialNet honors the deadline
		if err != nil {
			if t.Done == 0 {
				t.Done = e.clk.now()
			}
			return
		}
		w.c = c
		t.GotConn = e.clk.now()
	} else {
		t.GotConn = t.SlotGranted // it was ready: no time passed getting it
	}
	t.ConnID = w.c.id()
	if !w.c.do(&w.ctx, t) {
		w.c.close()
		w.c = nil
	}
}

// deadlineCtx is the run's request context carrying one request's deadline
// without a timer. Only the fast client gets it: it puts the deadline on the
// socket and never waits on Done, so nothing needs to fire at the deadline
// (dialNet swaps in a real context for the steps that do wait on Done). A
// context timer per request cost about a sixth of close mode's user CPU
// (2.4-2.6 of 13-16 µs per request, S2 A/B).
type deadlineCtx struct {
	context.Context
	deadline time.Time
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// arrivalQueue is a FIFO ring of arrivals that grows by doubling. The zero
// value is an empty queue; not safe for concurrent use.
type arrivalQueue struct {
	buf        []arrival
	head, size int
}

func (q *arrivalQueue) push(a arrival) {
	if q.size == len(q.buf) {
		nb := make([]arrival, max(16, 2*len(q.buf)))
		for i := range q.size {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = a
	q.size++
}

func (q *arrivalQueue) pop() (arrival, bool) {
	if q.size == 0 {
		return arrival{}, false
	}
	a := q.buf[q.head]
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return a, true
}
