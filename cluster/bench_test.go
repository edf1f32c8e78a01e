package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tailrace/tailrace/loadgen"
	tailracepb "github.com/tailrace/tailrace/proto"
)

// The scale benchmark: a coordinator (this process) and a swarm of
// simulated workers (a child process, so that their CPU is not counted as
// the coordinator's) streaming pre-recorded intervals over loopback gRPC.
// It measures what the coordinator spends per interval-round: receiving
// every worker's interval, journaling it, merging it and folding the merge
// into the results.
//
//	go test -run XXX -bench Coordinator200Workers -benchtime 1x ./cluster/
//	TAILRACE_SWARM_PACE=1s go test ... (real time: 60 intervals take 60 s)

const swarmEnv = "TAILRACE_SWARM"

func BenchmarkCoordinator200Workers(b *testing.B) {
	for _, reqs := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("reqs=%d/s/worker", reqs), func(b *testing.B) {
			for range b.N {
				benchCoordinator(b, 200, 60, reqs)
			}
		})
	}
}

func benchCoordinator(b *testing.B, workers, intervals, reqs int) {
	pace := 50 * time.Millisecond
	if p := os.Getenv("TAILRACE_SWARM_PACE"); p != "" {
		var err error
		if pace, err = time.ParseDuration(p); err != nil {
			b.Fatal(err)
		}
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := NewServer(ServerConfig{LossTimeout: 30 * time.Second, Probes: 2})
	go srv.Serve(lis)
	defer srv.Close()

	swarm := exec.Command(os.Args[0], "-test.run=^TestSwarmHelper$", "-test.v")
	swarm.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%d,%d,%d,%s", swarmEnv, lis.Addr(), workers, intervals, reqs, pace))
	swarm.Stdout, swarm.Stderr = os.Stderr, os.Stderr
	if err := swarm.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		swarm.Process.Kill()
		swarm.Wait()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ws, err := srv.Await(ctx, workers)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var peak uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
	})
	cpu0 := processCPU()
	wall0 := time.Now()
	b.ResetTimer()
	res, err := Run(context.Background(), Config{
		Engine: loadgen.Config{URL: mustURL(b, "http://127.0.0.1:1/"), Exemplars: 16}, Modes: []loadgen.Mode{loadgen.ModeKeepAlive},
		Plan: steady(float64(reqs*workers), time.Duration(intervals)*time.Second), Workers: ws,
		Journal: filepath.Join(b.TempDir(), "journal"), StartDelay: 100 * time.Millisecond,
	})
	b.StopTimer()
	cpu := processCPU() - cpu0
	wall := time.Since(wall0)
	close(stop)
	sampler.Wait()
	if err != nil {
		b.Fatal(err)
	}
	got := res.Arms[0].Counters.Sent
	if want := int64(workers * intervals * reqs); got != want {
		b.Fatalf("merged %d requests, want %d", got, want)
	}
	b.ReportMetric(cpu.Seconds()/float64(intervals), "cpu-s/interval")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%core")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(workers*intervals)/wall.Seconds(), "worker-intervals/s")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestSwarmHelper is the swarm of the benchmark, run in a child process; it
// does nothing in an ordinary test run.
func TestSwarmHelper(t *testing.T) {
	spec := os.Getenv(swarmEnv)
	if spec == "" {
		t.Skip("only the benchmark's child process runs the swarm")
	}
	f := strings.Split(spec, ",")
	addr := f[0]
	workers, _ := strconv.Atoi(f[1])
	intervals, _ := strconv.Atoi(f[2])
	reqs, _ := strconv.Atoi(f[3])
	pace, _ := time.ParseDuration(f[4])

	// A few realistic intervals, encoded once and sent over and over.
	t0 := time.Now()
	var base []*tailracepb.Interval
	for i := range 4 {
		m, err := encodeInterval(richInterval(t0, reqs, uint64(i+1)), 0, t0)
		if err != nil {
			t.Fatal(err)
		}
		base = append(base, m)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() { errs <- simulateWorker(conn, fmt.Sprintf("sim-%03d", w), base, intervals, pace) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// simulateWorker speaks the worker's side of the session without an
// engine: it accepts the plan and streams the given intervals.
func simulateWorker(conn *grpc.ClientConn, name string, base []*tailracepb.Interval, intervals int, pace time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := tailracepb.NewCoordinatorClient(conn).Session(ctx, grpc.WaitForReady(true))
	if err != nil {
		return err
	}
	var mu sync.Mutex
	send := func(m *tailracepb.WorkerMessage) error {
		mu.Lock()
		defer mu.Unlock()
		return s.Send(m)
	}
	if err := send(&tailracepb.WorkerMessage{Kind: &tailracepb.WorkerMessage_Hello{Hello: &tailracepb.Hello{
		Protocol: ProtocolVersion, Version: loadgen.Version, Name: name}}}); err != nil {
		return err
	}
	go func() { // heartbeats, as a real worker sends them
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if send(&tailracepb.WorkerMessage{Kind: &tailracepb.WorkerMessage_Heartbeat{Heartbeat: &tailracepb.Heartbeat{}}}) != nil {
					return
				}
			}
		}
	}()
	for {
		m, err := s.Recv()
		if err != nil {
			return nil // the coordinator ended the session
		}
		switch k := m.Kind.(type) {
		case *tailracepb.CoordinatorMessage_Probe:
			send(&tailracepb.WorkerMessage{Kind: &tailracepb.WorkerMessage_ProbeReply{ProbeReply: &tailracepb.ProbeReply{
				Seq: k.Probe.GetSeq(), WorkerUnixNs: time.Now().UnixNano()}}})
		case *tailracepb.CoordinatorMessage_Plan:
			send(&tailracepb.WorkerMessage{Kind: &tailracepb.WorkerMessage_PlanReply{PlanReply: &tailracepb.PlanReply{Arm: k.Plan.GetArm()}}})
		case *tailracepb.CoordinatorMessage_Start:
			arm := k.Start.GetArm()
			go func() {
				next := time.Now()
				for i := range intervals {
					b := base[i%len(base)]
					iv := &tailracepb.Interval{
						Arm: arm, Index: int64(i), StartNs: int64(i) * int64(time.Second), LengthNs: int64(time.Second),
						Hists: b.Hists, Counters: b.Counters, Errors: b.Errors, Statuses: b.Statuses, Tail: b.Tail,
						ExemplarK: b.ExemplarK, Exemplars: b.Exemplars, Self: b.Self, ErrorText: b.ErrorText,
					}
					if send(&tailracepb.WorkerMessage{Kind: &tailracepb.WorkerMessage_Interval{Interval: iv}}) != nil {
						return
					}
					next = next.Add(pace)
					time.Sleep(time.Until(next))
				}
				send(&tailracepb.WorkerMessage{Kind: &tailracepb.WorkerMessage_Done{Done: &tailracepb.Done{Arm: arm}}})
			}()
		}
	}
}
