package cluster

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tailrace/tailrace/loadgen"
	tailracepb "github.com/tailrace/tailrace/proto"
)

func TestAuth(t *testing.T) {
	for _, tc := range []struct {
		name, server, worker string
		refused              string // "" = admitted
	}{
		{"no token needed", "", "", ""},                     // loopback default: anyone local joins
		{"right token", "s3cret", "s3cret", ""},             // the shared secret matches
		{"missing token", "s3cret", "", "requires a token"}, // the worker was not given one
		{"wrong token", "s3cret", "guess", "bad token"},     // refused, and told which side is wrong
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := startServer(t, ServerConfig{Token: tc.server})
			cfg := n.join("w1")
			cfg.Token = tc.worker
			w := startWorker(t, context.Background(), cfg)
			if tc.refused != "" {
				err := w.wait(t, 10*time.Second)
				if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("err = %v, want a refusal saying %q", err, tc.refused)
				}
				return
			}
			ws := n.await(t, 1)
			if ws[0].Name() != "w1" || ws[0].Local() {
				t.Errorf("joined %q (local %v)", ws[0].Name(), ws[0].Local())
			}
			n.srv.Close()
			if err := w.wait(t, 10*time.Second); err != nil {
				t.Errorf("worker ended with %v after the coordinator closed the session", err)
			}
		})
	}
}

// rawHello opens a session by hand and returns the status it ends with.
func rawHello(t *testing.T, n *testNet, h *tailracepb.Hello) error {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(n.join("raw").Dial), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := tailracepb.NewCoordinatorClient(conn).Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&tailracepb.WorkerMessage{Kind: &tailracepb.WorkerMessage_Hello{Hello: h}}); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := s.Recv()
		if err != nil {
			return err
		}
		if m.GetWelcome() != nil {
			return nil
		}
	}
}

func TestVersionMismatch(t *testing.T) {
	n := startServer(t, ServerConfig{})
	for _, tc := range []struct {
		name     string
		protocol uint32
		version  string
	}{
		{"older tailrace", ProtocolVersion, "0.0.1"},             // same protocol, other release
		{"other protocol", ProtocolVersion + 1, loadgen.Version}, // same release number, other wire
	} {
		err := rawHello(t, n, &tailracepb.Hello{Protocol: tc.protocol, Version: tc.version, Name: "old"})
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "version mismatch") {
			t.Errorf("%s: %v, want FailedPrecondition: version mismatch", tc.name, err)
		}
	}
	if err := rawHello(t, n, &tailracepb.Hello{Protocol: ProtocolVersion, Version: loadgen.Version}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a worker without a name: %v, want InvalidArgument", err)
	}
}

func TestLateJoinRefused(t *testing.T) {
	n := startServer(t, ServerConfig{})
	startWorker(t, context.Background(), n.join("w1"))
	n.await(t, 1)
	late := startWorker(t, context.Background(), n.join("w2"))
	err := late.wait(t, 10*time.Second)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "already started") {
		t.Fatalf("late worker: %v, want a refusal", err)
	}
}

func TestDuplicateNameRefused(t *testing.T) {
	n := startServer(t, ServerConfig{})
	startWorker(t, context.Background(), n.join("twin"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		n.srv.mu.Lock()
		joined := len(n.srv.joined)
		n.srv.mu.Unlock()
		if joined == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first worker did not join")
		}
		time.Sleep(10 * time.Millisecond)
	}
	err := startWorker(t, context.Background(), n.join("twin")).wait(t, 10*time.Second)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "already joined") {
		t.Fatalf("second worker of the same name: %v, want a refusal", err)
	}
}

func TestClockOffset(t *testing.T) {
	for _, skew := range []time.Duration{0, 250 * time.Millisecond, -1500 * time.Millisecond, 3 * time.Hour} {
		n := startServer(t, ServerConfig{})
		cfg := n.join("skewed")
		cfg.Now = func() time.Time { return time.Now().Add(skew) }
		startWorker(t, context.Background(), cfg)
		w := n.await(t, 1)[0]
		off, rtt := w.(clocked).clock()
		// The worker read its clock somewhere within the best probe's round
		// trip: the estimate is off by at most half of it.
		if diff := (off - skew).Abs(); diff > rtt/2+time.Millisecond || rtt <= 0 {
			t.Errorf("skew %v: estimated %v (rtt %v), off by %v", skew, off, rtt, diff)
		}
		n.srv.Close()
	}
}

func TestJoinTimeout(t *testing.T) {
	n := startServer(t, ServerConfig{})
	n.lis.Close() // nobody will ever answer
	cfg := n.join("w")
	cfg.JoinTimeout = 300 * time.Millisecond
	start := time.Now()
	err := startWorker(t, context.Background(), cfg).wait(t, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "could not join") {
		t.Fatalf("err = %v, want a join timeout", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("gave up after %v, want about 300ms", took)
	}
}

func TestAwaitDeadline(t *testing.T) {
	n := startServer(t, ServerConfig{})
	startWorker(t, context.Background(), n.join("only"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := n.srv.Await(ctx, 2)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 workers joined") || !strings.Contains(err.Error(), "only") {
		t.Fatalf("err = %v, want one that says who joined", err)
	}
}

// overlapStream is a session stream that counts a CloseSend made while a
// Send is in flight: grpc forbids it, and the race detector sees it only
// when the timing lines up (TestAwaitDeadline, 1 run in 15).
type overlapStream struct {
	tailracepb.Coordinator_SessionClient
	sending  atomic.Int32
	overlaps atomic.Int32
	closed   atomic.Bool
}

func (s *overlapStream) Send(*tailracepb.WorkerMessage) error {
	s.sending.Add(1)
	runtime.Gosched() // stay in flight a while, as a real Send that writes does
	s.sending.Add(-1)
	return nil
}

func (s *overlapStream) CloseSend() error {
	if s.sending.Load() > 0 {
		s.overlaps.Add(1)
	}
	s.closed.Store(true)
	return nil
}

// TestSendLastWaitsForSends: the worker's last message and its CloseSend
// never overlap a heartbeat or a probe reply still being sent.
func TestSendLastWaitsForSends(t *testing.T) {
	hb := &tailracepb.WorkerMessage{Kind: &tailracepb.WorkerMessage_Heartbeat{Heartbeat: &tailracepb.Heartbeat{}}}
	var overlaps int32
	for range 200 {
		s := &overlapStream{}
		w := &session{cfg: &JoinConfig{}, stream: s}
		var wg, sending sync.WaitGroup
		sending.Add(3)
		for range 3 { // heartbeats and probe replies, sending until the close
			wg.Go(func() {
				w.send(hb)
				sending.Done()
				for !s.closed.Load() {
					w.send(hb)
				}
			})
		}
		sending.Wait()
		w.sendLast(hb)
		wg.Wait()
		overlaps += s.overlaps.Load()
	}
	if overlaps > 0 {
		t.Errorf("CloseSend ran during a Send %d times in 200 sessions", overlaps)
	}
}
