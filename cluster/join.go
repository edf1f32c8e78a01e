package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/schedule"
	tailracepb "github.com/tailrace/tailrace/proto"
)

// ErrCoordinatorLost is returned by JoinAndWork when the coordinator went
// away (its stream broke, or it fell silent for the orphan timeout): the
// worker has stopped generating load.
var ErrCoordinatorLost = errors.New("cluster: coordinator lost")

// ErrInterrupted is returned by JoinAndWork when its context ended: the
// worker stopped its load and told the coordinator.
var ErrInterrupted = errors.New("cluster: worker interrupted")

// JoinConfig is a worker's side of a run. Only Addr is required.
type JoinConfig struct {
	Addr  string // the coordinator, host:port
	Name  string // unique within the run; "" means hostname-pid
	Token string // presented to the coordinator when it requires one
	// TLS, if set, dials with TLS (with Certificates for mutual TLS); nil
	// dials in plain text.
	TLS  *tls.Config
	Caps Caps
	// OrphanTimeout is how long the worker goes on without a word from the
	// coordinator before it stops its load; the coordinator's own, if
	// shorter, wins. 0 means 5s.
	OrphanTimeout time.Duration
	// JoinTimeout bounds reaching the coordinator and being admitted; 0
	// means 30s. The worker keeps trying to connect meanwhile, so it may be
	// started before the coordinator.
	JoinTimeout time.Duration
	// SelfMeter measures the worker process itself (hiccups, GC, CPU) in
	// every interval: true for a worker process.
	SelfMeter bool
	// Log receives a line per join, arm and ending; nil discards them.
	Log io.Writer
	// OnInterval, if set, sees every interval the worker sends, before it is
	// sent (a worker's own record of its share). It runs on the sending
	// goroutine and must not keep iv.
	OnInterval func(arm int, mode loadgen.Mode, t0 time.Time, iv *histogram.Interval)
	// Dial, if set, opens the connection to Addr (tests: an in-memory
	// listener).
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// Now is the clock reported to the coordinator's probes; nil means
	// time.Now. Tests skew it.
	Now func() time.Time
}

// JoinAndWork joins the coordinator at cfg.Addr and generates the load it
// assigns, arm after arm, until the coordinator ends the session (nil).
// It never leaves load running behind: when the coordinator is gone it
// stops within the orphan timeout and returns ErrCoordinatorLost; when ctx
// ends it stops, reports what it measured, and returns ErrInterrupted. A
// refusal (bad token, version mismatch, late join) wraps ErrRefused.
func JoinAndWork(ctx context.Context, cfg JoinConfig) error {
	if cfg.Addr == "" {
		return errors.New("cluster: no coordinator address to join")
	}
	if err := cfg.Caps.Validate(); err != nil {
		return err
	}
	if cfg.Name == "" {
		host, _ := os.Hostname()
		cfg.Name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if cfg.OrphanTimeout <= 0 {
		cfg.OrphanTimeout = 5 * time.Second
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	creds := insecure.NewCredentials()
	if cfg.TLS != nil {
		creds = credentials.NewTLS(cfg.TLS)
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)),
	}
	target := "dns:///" + cfg.Addr
	if cfg.Dial != nil {
		opts = append(opts, grpc.WithContextDialer(cfg.Dial))
		target = "passthrough:///" + cfg.Addr
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return fmt.Errorf("cluster: join %s: %w", cfg.Addr, err)
	}
	defer conn.Close()

	w := &session{cfg: &cfg, base: time.Now(), ctrl: make(chan *tailracepb.CoordinatorMessage, 16)}
	// The session outlives ctx: on an interrupt the worker still sends what
	// it measured before it leaves.
	sctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	w.cancel = cancel
	joinTimer := time.AfterFunc(cfg.JoinTimeout, func() {
		cancel(fmt.Errorf("cluster: could not join the coordinator at %s within %v (is it running, and listening there?)", cfg.Addr, cfg.JoinTimeout))
	})
	stop := context.AfterFunc(ctx, func() {
		if !w.joined.Load() {
			cancel(ErrInterrupted)
		}
	})
	defer stop()
	stream, err := tailracepb.NewCoordinatorClient(conn).Session(sctx, grpc.WaitForReady(true))
	if err != nil {
		joinTimer.Stop()
		return w.failure(sctx, err)
	}
	w.stream = stream
	hello := &tailracepb.Hello{
		Protocol: ProtocolVersion, Version: loadgen.Version, Name: cfg.Name, Token: cfg.Token, Cores: uint32(runtime.NumCPU()),
		Limits: &tailracepb.Limits{MaxRate: cfg.Caps.MaxRate, MaxConnections: uint32(cfg.Caps.MaxConnections), AllowTarget: cfg.Caps.AllowTarget},
	}
	if err := w.send(&tailracepb.WorkerMessage{Kind: &tailracepb.WorkerMessage_Hello{Hello: hello}}); err != nil {
		joinTimer.Stop()
		return w.failure(sctx, err)
	}
	m, err := stream.Recv()
	joinTimer.Stop()
	if err != nil {
		return w.failure(sctx, err)
	}
	wel := m.GetWelcome()
	if wel == nil {
		return errors.New("cluster: the coordinator did not answer Hello with Welcome")
	}
	w.joined.Store(true)
	w.orphan = min(cfg.OrphanTimeout, time.Duration(wel.GetOrphanTimeoutNs()))
	if w.orphan <= 0 {
		w.orphan = cfg.OrphanTimeout
	}
	hb := time.Duration(wel.GetHeartbeatIntervalNs())
	if hb <= 0 || hb > w.orphan/2 {
		hb = w.orphan / 4
	}
	w.logf("joined the coordinator at %s as %s (orphan timeout %v)", cfg.Addr, cfg.Name, w.orphan)
	w.heard.Store(int64(time.Since(w.base)))

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel(nil)
	wg.Go(func() { w.recvLoop(sctx) })
	wg.Go(func() { w.heartbeats(sctx, hb) })
	wg.Go(func() { w.watch(sctx) })
	return w.serve(ctx, sctx)
}

// session is the worker's side of one session.
type session struct {
	cfg    *JoinConfig
	stream tailracepb.Coordinator_SessionClient
	cancel context.CancelCauseFunc
	sendMu sync.Mutex
	ctrl   chan *tailracepb.CoordinatorMessage // Plan, Start, and the end of the stream (nil)
	base   time.Time
	heard  atomic.Int64 // since base, of the last message from the coordinator
	joined atomic.Bool
	orphan time.Duration

	armMu   sync.Mutex
	stopArm context.CancelCauseFunc // the running arm's, if any
}

func (w *session) logf(format string, args ...any) {
	if w.cfg.Log != nil {
		fmt.Fprintf(w.cfg.Log, "worker: "+format+"\n", args...)
	}
}

func (w *session) send(m *tailracepb.WorkerMessage) error {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	return w.stream.Send(m)
}

// sendLast sends m and closes the sending side. CloseSend must not run
// concurrently with a Send (grpc's rule), and the heartbeats and the probe
// replies may still be sending, so it holds the same lock.
func (w *session) sendLast(m *tailracepb.WorkerMessage) {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	w.stream.Send(m)
	w.stream.CloseSend()
}

// failure turns an error before the session started into what the caller
// should see: a refusal, a join timeout, an interruption.
func (w *session) failure(sctx context.Context, err error) error {
	if c := context.Cause(sctx); c != nil && !errors.Is(c, context.Canceled) {
		return c
	}
	st, ok := status.FromError(err)
	if ok {
		switch st.Code() {
		case codes.Unauthenticated, codes.FailedPrecondition, codes.AlreadyExists, codes.InvalidArgument, codes.PermissionDenied:
			return fmt.Errorf("%w by the coordinator at %s: %s", ErrRefused, w.cfg.Addr, strings.TrimPrefix(st.Message(), "cluster: "))
		}
		return fmt.Errorf("cluster: join %s: %s", w.cfg.Addr, strings.TrimPrefix(st.Message(), "cluster: "))
	}
	return fmt.Errorf("cluster: join %s: %w", w.cfg.Addr, err)
}

// recvLoop answers clock probes at once (their timing is the point) and
// passes everything else to serve.
func (w *session) recvLoop(sctx context.Context) {
	for {
		m, err := w.stream.Recv()
		if err != nil {
			if err == io.EOF {
				select { // the coordinator ended the session
				case w.ctrl <- nil:
				case <-sctx.Done():
				}
				return
			}
			w.cancel(fmt.Errorf("%w: stream broken: %v", ErrCoordinatorLost, status.Convert(err).Message()))
			return
		}
		w.heard.Store(int64(time.Since(w.base)))
		switch k := m.Kind.(type) {
		case *tailracepb.CoordinatorMessage_Heartbeat:
		case *tailracepb.CoordinatorMessage_Probe:
			r := &tailracepb.ProbeReply{Seq: k.Probe.GetSeq(), WorkerUnixNs: w.cfg.Now().UnixNano()}
			w.send(&tailracepb.WorkerMessage{Kind: &tailracepb.WorkerMessage_ProbeReply{ProbeReply: r}})
		case *tailracepb.CoordinatorMessage_Abort:
			w.logf("the coordinator aborted: %s", k.Abort.GetReason())
			w.armMu.Lock()
			if w.stopArm != nil {
				w.stopArm(fmt.Errorf("aborted by the coordinator: %s", k.Abort.GetReason()))
			}
			w.armMu.Unlock()
		default:
			select {
			case w.ctrl <- m:
			case <-sctx.Done():
				return
			}
		}
	}
}

func (w *session) heartbeats(sctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	hb := &tailracepb.WorkerMessage{Kind: &tailracepb.WorkerMessage_Heartbeat{Heartbeat: &tailracepb.Heartbeat{}}}
	for {
		select {
		case <-sctx.Done():
			return
		case <-t.C:
			if err := w.send(hb); err != nil {
				return // the receive loop or the watch will tell why
			}
		}
	}
}

// watch stops everything when the coordinator has been silent for the
// orphan timeout: no orphaned load, ever.
func (w *session) watch(sctx context.Context) {
	// The timer is set to the exact deadline, last word + orphan timeout,
	// not polled: the load stops at the deadline, not up to a tick after.
	t := time.NewTimer(w.orphan)
	defer t.Stop()
	for {
		select {
		case <-sctx.Done():
			return
		case <-t.C:
			silent := time.Since(w.base) - time.Duration(w.heard.Load())
			if silent >= w.orphan {
				w.cancel(fmt.Errorf("%w: no word from it for %v (orphan timeout)", ErrCoordinatorLost, w.orphan))
				return
			}
			t.Reset(w.orphan - silent)
		}
	}
}

// prepared is a Plan accepted and ready to Start.
type prepared struct {
	arm  int
	e    *loadgen.Engine
	mode loadgen.Mode
	plan schedule.Plan
	seg  schedule.Segment
}

// serve handles Plans and Starts until the session ends.
func (w *session) serve(ctx, sctx context.Context) error {
	var ready *prepared
	for {
		select {
		case <-sctx.Done():
			return context.Cause(sctx)
		case <-ctx.Done():
			w.sendLast(&tailracepb.WorkerMessage{Kind: &tailracepb.WorkerMessage_Abort{Abort: &tailracepb.Abort{Reason: "worker interrupted"}}})
			return ErrInterrupted
		case m := <-w.ctrl:
			switch k := m.GetKind().(type) {
			case nil:
				w.logf("the coordinator ended the session")
				return nil
			case *tailracepb.CoordinatorMessage_Plan:
				ready = w.plan(sctx, k.Plan)
			case *tailracepb.CoordinatorMessage_Start:
				arm := int(k.Start.GetArm())
				if ready == nil || ready.arm != arm {
					w.send(doneMsg(arm, "start of an arm that was not planned"))
					continue
				}
				p := ready
				ready = nil
				if err := w.run(ctx, sctx, p, k.Start.GetT0WorkerUnixNs()); err != nil {
					return err
				}
			}
		}
	}
}

func doneMsg(arm int, errText string) *tailracepb.WorkerMessage {
	return &tailracepb.WorkerMessage{Kind: &tailracepb.WorkerMessage_Done{Done: &tailracepb.Done{Arm: uint32(arm), Error: errText}}}
}

// plan checks a Plan against the caps and prepares its engine, and answers.
func (w *session) plan(sctx context.Context, p *tailracepb.Plan) *prepared {
	arm := int(p.GetArm())
	reply := &tailracepb.PlanReply{Arm: uint32(arm)}
	var out *prepared
	cfg, plan, seg, err := decodePlan(p)
	if err == nil {
		rctx, cancel := context.WithTimeout(sctx, 10*time.Second)
		reply.Notes, err = w.cfg.Caps.apply(rctx, &cfg, plan, seg)
		cancel()
	}
	if err == nil {
		cfg.SelfMeter = w.cfg.SelfMeter
		var e *loadgen.Engine
		if e, err = loadgen.New(cfg); err == nil {
			out = &prepared{arm: arm, e: e, mode: cfg.Mode, plan: plan, seg: seg}
			reply.Notes = append(reply.Notes, stampNotes()...)
		}
	}
	if err != nil {
		reply.Refused = err.Error()
		w.logf("refused arm %d: %s", arm, reply.Refused)
	} else {
		w.logf("arm %d (%s): segment %s of %s, peak %.6g requests/s", arm, cfg.Mode, seg, plan.Stages, peakRate(plan, seg))
	}
	for _, n := range reply.Notes {
		w.logf("arm %d: %s", arm, n)
	}
	w.send(&tailracepb.WorkerMessage{Kind: &tailracepb.WorkerMessage_PlanReply{PlanReply: reply}})
	return out
}

// run generates one arm from T0 (given in our clock) and streams its
// intervals, then Done. It returns an error only when the session is over.
func (w *session) run(ctx, sctx context.Context, p *prepared, t0Unix int64) error {
	t0 := time.Now().Add(time.Duration(t0Unix - w.cfg.Now().UnixNano()))
	actx, stopArm := context.WithCancelCause(sctx)
	defer stopArm(nil)
	w.armMu.Lock()
	w.stopArm = stopArm
	w.armMu.Unlock()
	defer func() {
		w.armMu.Lock()
		w.stopArm = nil
		w.armMu.Unlock()
	}()
	stop := context.AfterFunc(ctx, func() { stopArm(ErrInterrupted) })
	defer stop()

	// Intervals are encoded and sent off the engine's rotation goroutine, so
	// a slow network never delays the interval boundaries.
	out := make(chan *histogram.Interval, 64)
	shipped := make(chan struct{})
	go func() {
		defer close(shipped)
		for iv := range out {
			if w.cfg.OnInterval != nil {
				w.cfg.OnInterval(p.arm, p.mode, t0, iv)
			}
			wi, err := encodeInterval(iv, p.arm, t0)
			histogram.PutInterval(iv) // wi holds copies: the engine's next rotation reuses it
			if err != nil {
				w.cancel(fmt.Errorf("cluster: %w", err))
				continue
			}
			w.send(&tailracepb.WorkerMessage{Kind: &tailracepb.WorkerMessage_Interval{Interval: wi}})
		}
	}()
	w.logf("arm %d starts in %v", p.arm, time.Until(t0).Round(time.Millisecond))
	err := p.e.Run(actx, p.plan, p.seg, t0, func(iv *histogram.Interval) {
		select {
		case out <- iv:
		case <-sctx.Done():
		}
	})
	close(out)
	<-shipped
	if sctx.Err() != nil {
		w.logf("load stopped: %v", context.Cause(sctx))
		return context.Cause(sctx)
	}
	cause := context.Cause(actx)
	switch {
	case err != nil:
		w.send(doneMsg(p.arm, err.Error()))
	case errors.Is(cause, ErrInterrupted):
		w.sendLast(doneMsg(p.arm, "worker interrupted"))
		return ErrInterrupted
	case cause != nil:
		w.logf("arm %d stopped: %v", p.arm, cause)
		w.send(doneMsg(p.arm, cause.Error()))
	default:
		w.logf("arm %d done", p.arm)
		w.send(doneMsg(p.arm, ""))
	}
	return nil
}
