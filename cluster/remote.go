package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tailrace/tailrace/histogram"
	tailracepb "github.com/tailrace/tailrace/proto"
)

// Timeouts of the coordinator's side of a session.
const (
	probeTimeout = 5 * time.Second  // one clock probe's answer
	planTimeout  = 30 * time.Second // a Plan's answer: the worker resolves the target to check it
	abortGrace   = 10 * time.Second // from Abort to the worker's Done
)

// remoteWorker is a worker on the other end of a session, as a Worker. Its
// receive loop runs for the whole session; the run consumes what it
// forwards. Heartbeats and the liveness watch run beside it, so a worker
// that falls silent is lost within LossTimeout whatever the run is doing.
type remoteWorker struct {
	cfg    *ServerConfig
	stream tailracepb.Coordinator_SessionServer
	from   string
	name   string
	cores  uint32
	limits *tailracepb.Limits

	sendMu sync.Mutex
	in     chan *tailracepb.WorkerMessage
	done   chan struct{}
	once   sync.Once
	err    error // why the session ended; nil if the coordinator ended it
	base   time.Time
	heard  atomic.Int64 // since base, of the last message received

	offset, rtt time.Duration // the worker's clock minus ours; best probe's round trip
	prepared    int           // the arm whose Plan the worker accepted; -1 for none
}

func newRemote(stream tailracepb.Coordinator_SessionServer, cfg *ServerConfig, from string) *remoteWorker {
	return &remoteWorker{
		cfg: cfg, stream: stream, from: from, prepared: -1, base: time.Now(),
		in: make(chan *tailracepb.WorkerMessage, 1024), done: make(chan struct{}),
	}
}

// Name returns the name the worker joined with.
func (r *remoteWorker) Name() string { return r.name }

// Local reports false.
func (r *remoteWorker) Local() bool { return false }

func (r *remoteWorker) clock() (offset, rtt time.Duration) { return r.offset, r.rtt }

func (r *remoteWorker) lastHeard() time.Time {
	return r.base.Add(time.Duration(r.heard.Load()))
}

// end ends the session once: err says why, nil meaning the coordinator
// closed it.
func (r *remoteWorker) end(err error) {
	r.once.Do(func() {
		r.err = err
		close(r.done)
	})
}

func (r *remoteWorker) over() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// endErr is why the session ended; valid once done is closed.
func (r *remoteWorker) endErr() error { return r.err }

// lost is the error a Run returns once the session is over.
func (r *remoteWorker) lost() error {
	if r.err == nil {
		return fmt.Errorf("%w: session closed", ErrWorkerLost)
	}
	return fmt.Errorf("%w: %v", ErrWorkerLost, r.err)
}

func (r *remoteWorker) send(m *tailracepb.CoordinatorMessage) error {
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	if err := r.stream.Send(m); err != nil {
		r.end(fmt.Errorf("stream broken: %v", err))
		return err
	}
	return nil
}

func (r *remoteWorker) recvLoop() {
	for {
		m, err := r.stream.Recv()
		if err != nil {
			r.end(fmt.Errorf("stream ended: %v", err))
			return
		}
		r.heard.Store(int64(time.Since(r.base)))
		switch k := m.Kind.(type) {
		case *tailracepb.WorkerMessage_Heartbeat:
			continue
		case *tailracepb.WorkerMessage_Abort:
			r.end(fmt.Errorf("worker stopped: %s", k.Abort.GetReason()))
			return
		}
		select {
		case r.in <- m:
		case <-r.done:
			return
		}
	}
}

func (r *remoteWorker) heartbeats() {
	t := time.NewTicker(r.cfg.HeartbeatInterval)
	defer t.Stop()
	hb := &tailracepb.CoordinatorMessage{Kind: &tailracepb.CoordinatorMessage_Heartbeat{Heartbeat: &tailracepb.Heartbeat{}}}
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
			if r.send(hb) != nil {
				return
			}
		}
	}
}

// watch ends the session when the worker has been silent for LossTimeout:
// with a cut link no error ever arrives, only silence.
func (r *remoteWorker) watch() {
	t := time.NewTicker(min(r.cfg.HeartbeatInterval, r.cfg.LossTimeout/4))
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
			if silent := time.Since(r.base) - time.Duration(r.heard.Load()); silent > r.cfg.LossTimeout {
				r.end(fmt.Errorf("no message for %v (its heartbeats stopped)", silent.Round(100*time.Millisecond)))
				return
			}
		}
	}
}

// next returns the next forwarded message, or an error when the session
// ends, ctx ends or timeout passes.
func (r *remoteWorker) next(ctx context.Context, timeout <-chan time.Time) (*tailracepb.WorkerMessage, error) {
	select {
	case m := <-r.in:
		return m, nil
	case <-r.done:
		return nil, r.lost()
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timeout:
		return nil, errTimeout
	}
}

var errTimeout = errors.New("timeout")

func (r *remoteWorker) hello(timeout time.Duration) (*tailracepb.Hello, error) {
	m, err := r.next(context.Background(), time.After(timeout))
	if err != nil {
		return nil, fmt.Errorf("cluster: no Hello: %v", err)
	}
	h := m.GetHello()
	if h == nil {
		return nil, errors.New("cluster: the session must open with Hello")
	}
	return h, nil
}

// syncClock estimates the worker's clock offset as NTP does, from the probe
// with the lowest round trip: its answer was taken closest to the middle.
func (r *remoteWorker) syncClock(n int) error {
	best := time.Duration(-1)
	for seq := uint64(0); seq < uint64(n); seq++ {
		t1 := time.Now()
		if err := r.send(&tailracepb.CoordinatorMessage{Kind: &tailracepb.CoordinatorMessage_Probe{Probe: &tailracepb.Probe{Seq: seq}}}); err != nil {
			return fmt.Errorf("cluster: clock probe: %w", err)
		}
		timeout := time.After(probeTimeout)
		for {
			m, err := r.next(context.Background(), timeout)
			if err != nil {
				return fmt.Errorf("cluster: clock probe: %v", err)
			}
			p := m.GetProbeReply()
			if p == nil || p.GetSeq() != seq {
				continue
			}
			rtt := time.Since(t1)
			if best < 0 || rtt < best {
				best = rtt
				r.offset = time.Duration(p.GetWorkerUnixNs() - t1.Add(rtt/2).UnixNano())
				r.rtt = rtt
			}
			break
		}
	}
	return nil
}

// prepare sends the arm's Plan and waits for the worker to accept it.
func (r *remoteWorker) prepare(ctx context.Context, a Assignment) ([]string, error) {
	if r.over() {
		return nil, r.lost()
	}
	p, err := encodePlan(a)
	if err != nil {
		return nil, err
	}
	if err := r.send(&tailracepb.CoordinatorMessage{Kind: &tailracepb.CoordinatorMessage_Plan{Plan: p}}); err != nil {
		return nil, r.lost()
	}
	timeout := time.After(planTimeout)
	for {
		m, err := r.next(ctx, timeout)
		switch {
		case errors.Is(err, errTimeout):
			r.end(fmt.Errorf("no answer to the plan within %v", planTimeout))
			return nil, r.lost()
		case err != nil:
			return nil, err
		}
		rep := m.GetPlanReply()
		if rep == nil || int(rep.GetArm()) != a.Arm {
			continue // left over from an earlier arm
		}
		if rep.GetRefused() != "" {
			return rep.GetNotes(), fmt.Errorf("%w: worker %s refused the plan: %s", ErrRefused, r.name, rep.GetRefused())
		}
		r.prepared = a.Arm
		return rep.GetNotes(), nil
	}
}

// Run implements Worker: intervals are decoded and handed to emit.
func (r *remoteWorker) Run(ctx context.Context, a Assignment, emit func(*histogram.Interval)) error {
	var bad error
	err := r.runWire(ctx, a, func(wi *tailracepb.Interval) {
		if bad != nil {
			return
		}
		iv, err := decodeInterval(wi, a.T0, r.name)
		if err != nil {
			bad = err
			r.end(fmt.Errorf("sent a malformed interval: %v", err))
			return
		}
		emit(iv)
	})
	if err == nil && bad != nil {
		err = r.lost()
	}
	return err
}

// runWire starts the prepared arm at a.T0 (in the worker's clock) and
// passes each interval to sink until the worker's Done. When ctx ends it
// tells the worker to stop and still waits for the intervals in flight.
func (r *remoteWorker) runWire(ctx context.Context, a Assignment, sink func(*tailracepb.Interval)) error {
	if r.prepared != a.Arm {
		if _, err := r.prepare(ctx, a); err != nil {
			return err
		}
	}
	r.prepared = -1
	start := &tailracepb.Start{Arm: uint32(a.Arm), T0WorkerUnixNs: a.T0.Add(r.offset).UnixNano()}
	if err := r.send(&tailracepb.CoordinatorMessage{Kind: &tailracepb.CoordinatorMessage_Start{Start: start}}); err != nil {
		return r.lost()
	}
	ctxDone := ctx.Done()
	var abortDeadline <-chan time.Time
	for {
		select {
		case m := <-r.in:
			switch k := m.Kind.(type) {
			case *tailracepb.WorkerMessage_Interval:
				if int(k.Interval.GetArm()) == a.Arm {
					sink(k.Interval)
				}
			case *tailracepb.WorkerMessage_Done:
				if int(k.Done.GetArm()) != a.Arm {
					continue
				}
				if k.Done.GetError() != "" && abortDeadline == nil {
					return fmt.Errorf("%w: stopped early: %s", ErrWorkerLost, k.Done.GetError())
				}
				return nil
			}
		case <-r.done:
			return r.lost()
		case <-ctxDone:
			reason := "run stopped"
			if c := context.Cause(ctx); c != nil {
				reason = c.Error()
			}
			r.send(&tailracepb.CoordinatorMessage{Kind: &tailracepb.CoordinatorMessage_Abort{Abort: &tailracepb.Abort{Reason: reason}}})
			ctxDone = nil
			abortDeadline = time.After(abortGrace)
		case <-abortDeadline:
			r.end(fmt.Errorf("no Done within %v of the abort", abortGrace))
			return r.lost()
		}
	}
}
