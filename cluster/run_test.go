package cluster

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/schedule"
	"github.com/tailrace/tailrace/reports"
)

// recordingWorker runs no load: it keeps its assignment and emits empty
// intervals, so split and merge logic can be tested without a target.
type recordingWorker struct {
	name string
	mu   sync.Mutex
	got  []Assignment
}

func (w *recordingWorker) Name() string { return w.name }
func (w *recordingWorker) Local() bool  { return true }
func (w *recordingWorker) Run(_ context.Context, a Assignment, emit func(*histogram.Interval)) error {
	w.mu.Lock()
	w.got = append(w.got, a)
	w.mu.Unlock()
	n := a.Plan.Count(a.Segment)
	iv := histogram.NewInterval(a.Engine.Exemplars)
	iv.Start, iv.Length = a.T0, time.Second
	iv.Counters.Intended = n
	emit(iv)
	return nil
}

func TestSplitIsExact(t *testing.T) {
	plan := schedule.Plan{Stages: schedule.Stages{{Duration: 3 * time.Second, From: 0, To: 997}, {Duration: 2 * time.Second, From: 997, To: 997}}, Process: schedule.Constant}
	for _, tc := range []struct {
		name    string
		weights []int64
	}{
		{"equal thirds", nil},           // three workers, one share each
		{"weighted", []int64{3, 1, 2}},  // --weights 3,1,2
		{"reducible", []int64{4, 4, 8}}, // reduced by their gcd first
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := []*recordingWorker{{name: "a"}, {name: "b"}, {name: "c"}}
			cfg := Config{Engine: loadgen.Config{URL: mustURL(t, "http://127.0.0.1:1/")}, Modes: []loadgen.Mode{loadgen.ModeKeepAlive},
				Plan: plan, Weights: tc.weights, StartDelay: time.Millisecond}
			for _, w := range ws {
				cfg.Workers = append(cfg.Workers, w)
			}
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var union []time.Duration
			for _, w := range ws {
				a := w.got[0]
				arr := plan.Arrivals(a.Segment)
				for at, ok := arr.Next(); ok; at, ok = arr.Next() {
					union = append(union, at)
				}
			}
			var whole []time.Duration
			arr := plan.Arrivals(schedule.Full)
			for at, ok := arr.Next(); ok; at, ok = arr.Next() {
				whole = append(whole, at)
			}
			slices.Sort(union)
			if !slices.Equal(union, whole) {
				t.Fatalf("the segments' arrivals (%d) are not the schedule's (%d): overlap or gap", len(union), len(whole))
			}
			if got := res.Arms[0].Counters.Intended; got != int64(len(whole)) {
				t.Errorf("merged intended %d, want %d", got, len(whole))
			}
		})
	}
}

func TestRemoteRun(t *testing.T) {
	target := newTarget(t)
	n := startServer(t, ServerConfig{})
	var runs []*workerRun
	for _, name := range []string{"w2", "w1"} {
		runs = append(runs, startWorker(t, context.Background(), n.join(name)))
	}
	remote := n.await(t, 2)
	if remote[0].Name() != "w1" {
		t.Errorf("workers not sorted by name: %s first", remote[0].Name())
	}
	workers := append([]Worker{NewLocal("local-0", false)}, remote...)
	dir := t.TempDir()
	cfg := Config{
		Engine: target.engine(t), Modes: []loadgen.Mode{loadgen.ModeKeepAlive, loadgen.ModeClose}, Plan: steady(300, 2*time.Second),
		Workers: workers, Weights: []int64{1, 2, 3}, Journal: filepath.Join(dir, "journal"),
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := target.n.Load(); got != 1200 {
		t.Errorf("target got %d requests, want 1200", got)
	}
	for _, arm := range res.Arms {
		if arm.Counters.Sent != 600 || arm.Counters.Completed != 600 {
			t.Errorf("%s: sent %d completed %d, want 600", arm.Mode, arm.Counters.Sent, arm.Counters.Completed)
		}
		for _, iv := range arm.Intervals {
			if iv.Short {
				t.Errorf("%s interval %d marked short with every worker present", arm.Mode, iv.Index)
			}
		}
		want := map[string]int64{"local-0": 100, "w1": 200, "w2": 300} // weight/6 of 600
		for _, w := range arm.Workers {
			if w.Counters.Intended != want[w.Name] {
				t.Errorf("%s: worker %s intended %d, want %d", arm.Mode, w.Name, w.Counters.Intended, want[w.Name])
			}
		}
		if len(arm.Workers) != 3 {
			t.Errorf("%s: %d workers tallied, want 3", arm.Mode, len(arm.Workers))
		}
	}
	for _, w := range res.Workers[1:] {
		if w.Local || w.RTTUS <= 0 {
			t.Errorf("remote worker %s: local %v, rtt %dµs", w.Name, w.Local, w.RTTUS)
		}
	}
	n.srv.Close()
	for _, r := range runs {
		if err := r.wait(t, 10*time.Second); err != nil {
			t.Errorf("worker: %v", err)
		}
	}

	back, err := ReplayJournal(cfg.Journal)
	if err != nil {
		t.Fatal(err)
	}
	sameResults(t, res, back)
}

// sameResults checks that a replayed journal rebuilt the run's results.
func sameResults(t *testing.T, want, got *reports.Results) {
	t.Helper()
	if len(got.Arms) != len(want.Arms) || got.Incomplete != want.Incomplete {
		t.Fatalf("replay: %d arms, incomplete %v; want %d, %v", len(got.Arms), got.Incomplete, len(want.Arms), want.Incomplete)
	}
	for i, a := range want.Arms {
		b := got.Arms[i]
		if a.Counters != b.Counters || len(a.Intervals) != len(b.Intervals) {
			t.Errorf("replay arm %s: counters %+v, %d intervals; want %+v, %d", a.Mode, b.Counters, len(b.Intervals), a.Counters, len(a.Intervals))
			continue
		}
		for name, s := range a.Phases {
			if b.Phases[name].Hist != s.Hist {
				t.Errorf("replay arm %s: phase %s differs", a.Mode, name)
			}
		}
		for j := range a.Intervals {
			if a.Intervals[j].Short != b.Intervals[j].Short || a.Intervals[j].Workers != b.Intervals[j].Workers {
				t.Errorf("replay arm %s interval %d: short %v workers %d, want %v %d", a.Mode, j,
					b.Intervals[j].Short, b.Intervals[j].Workers, a.Intervals[j].Short, a.Intervals[j].Workers)
			}
		}
	}
	for i, w := range want.Workers {
		if (w.LostAt == nil) != (got.Workers[i].LostAt == nil) {
			t.Errorf("replay worker %s: lost at %v, want %v", w.Name, got.Workers[i].LostAt, w.LostAt)
		}
	}
}

func TestWorkerLost(t *testing.T) {
	for _, tc := range []struct {
		name string
		how  func(n *testNet, name string)
	}{
		{"killed", (*testNet).kill},  // the process died: its connection closed
		{"link cut", (*testNet).cut}, // silence: only the heartbeats tell
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := newTarget(t)
			n := startServer(t, ServerConfig{LossTimeout: 2 * time.Second, HeartbeatInterval: 100 * time.Millisecond})
			var runs []*workerRun
			for _, name := range []string{"a", "b", "c"} {
				cfg := n.join(name)
				if name == "c" {
					cfg.OrphanTimeout = 2 * time.Second
				}
				runs = append(runs, startWorker(t, context.Background(), cfg))
			}
			ws := n.await(t, 3)
			dir := t.TempDir()
			cfg := Config{Engine: target.engine(t), Modes: []loadgen.Mode{loadgen.ModeKeepAlive}, Plan: steady(300, 5*time.Second),
				Workers: ws, Journal: filepath.Join(dir, "journal"), StartDelay: 200 * time.Millisecond}
			var cutAt time.Time
			go func() {
				time.Sleep(1500 * time.Millisecond) // into the run's second interval
				cutAt = time.Now()
				tc.how(n, "c")
			}()
			res, err := Run(context.Background(), cfg)
			if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "worker c lost") {
				t.Fatalf("err = %v, want an incomplete run that names worker c", err)
			}
			lost := res.Workers[2].LostAt
			if lost == nil || *lost < 0.5 || *lost > 2.5 || res.Workers[0].LostAt != nil || res.Workers[1].LostAt != nil {
				t.Fatalf("workers %s: want c lost about 1.3s into the arm and nobody else", lostAts(res))
			}
			arm := res.Arms[0]
			var short int
			for _, iv := range arm.Intervals {
				if iv.Short {
					short++
					if iv.Workers != 2 {
						t.Errorf("short interval %d reported by %d workers", iv.Index, iv.Workers)
					}
				}
			}
			if short < 2 || !res.Incomplete {
				t.Errorf("%d short intervals, incomplete %v: want the windows after the loss short", short, res.Incomplete)
			}
			// The others ran their whole share: two thirds of 1500.
			if got := arm.Counters.Intended; got < 1000 {
				t.Errorf("intended %d, want at least the survivors' 1000", got)
			}
			// The lost worker stopped its load within its orphan timeout.
			if err := runs[2].wait(t, 5*time.Second); !errors.Is(err, ErrCoordinatorLost) {
				t.Errorf("lost worker ended with %v, want ErrCoordinatorLost", err)
			}
			if stopped := runs[2].at.Sub(cutAt); stopped > 2500*time.Millisecond {
				t.Errorf("lost worker stopped %v after the cut, want within its 2s orphan timeout", stopped)
			}
			back, err := ReplayJournal(cfg.Journal)
			if err != nil {
				t.Fatal(err)
			}
			sameResults(t, res, back)
		})
	}
}

func TestWorkerLossAbort(t *testing.T) {
	target := newTarget(t)
	n := startServer(t, ServerConfig{})
	for _, name := range []string{"a", "b"} {
		startWorker(t, context.Background(), n.join(name))
	}
	ws := n.await(t, 2)
	go func() {
		time.Sleep(1500 * time.Millisecond)
		n.kill("b")
	}()
	start := time.Now()
	res, err := Run(context.Background(), Config{Engine: target.engine(t), Modes: []loadgen.Mode{loadgen.ModeKeepAlive, loadgen.ModeClose},
		Plan: steady(100, 10*time.Second), Workers: ws, OnWorkerLoss: LossAbort})
	if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "aborted") {
		t.Fatalf("err = %v, want an aborted run", err)
	}
	if took := time.Since(start); took > 6*time.Second {
		t.Errorf("the abort took the run %v, want it to stop soon after the loss", took)
	}
	if len(res.Arms) != 1 || res.Arms[0].Counters.Intended >= 1000 {
		t.Errorf("%d arms, intended %d: want the first arm cut short and no second", len(res.Arms), res.Arms[0].Counters.Intended)
	}
}

func TestOrphanStopsLoad(t *testing.T) {
	target := newTarget(t)
	n := startServer(t, ServerConfig{HeartbeatInterval: 100 * time.Millisecond, LossTimeout: 5 * time.Second})
	cfg := n.join("orphan")
	cfg.OrphanTimeout = 2 * time.Second
	run := startWorker(t, context.Background(), cfg)
	ws := n.await(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Run(ctx, Config{Engine: target.engine(t), Modes: []loadgen.Mode{loadgen.ModeKeepAlive}, Plan: steady(200, 20*time.Second), Workers: ws})
	deadline := time.Now().Add(10 * time.Second)
	for target.n.Load() < 100 {
		if time.Now().After(deadline) {
			t.Fatal("no load reached the target")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cutAt := time.Now()
	n.cut("orphan") // the coordinator falls silent, as if it hung or its host vanished
	if err := run.wait(t, 5*time.Second); !errors.Is(err, ErrCoordinatorLost) {
		t.Fatalf("worker ended with %v, want ErrCoordinatorLost", err)
	}
	if last := target.lastAt().Sub(cutAt); last > 2*time.Second+500*time.Millisecond {
		t.Errorf("the target got a request %v after the coordinator fell silent; the orphan timeout is 2s", last)
	}
	// A request written just before the load stopped may reach the handler
	// just after the worker returned: the engine closed its connections
	// before returning, so once the server has closed its side of all of
	// them it has counted everything that was ever sent.
	if !target.drained(5 * time.Second) {
		t.Fatalf("the target still has %d open connections 5s after the worker returned", target.conns.Load())
	}
	before := target.n.Load()
	time.Sleep(300 * time.Millisecond) // nothing may arrive now: wait a little and look
	if after, open := target.n.Load(), target.conns.Load(); after != before || open != 0 {
		t.Errorf("%d requests and %d connections arrived after the worker returned and its connections closed", after-before, open)
	}
}

func TestPlanRefusedByCaps(t *testing.T) {
	for _, tc := range []struct {
		name    string
		caps    Caps
		refused string
	}{
		{"rate cap", Caps{MaxRate: 50}, "--max-rate"},                               // the share peaks at 100/s
		{"target not allowed", Caps{AllowTarget: []string{"10.0.0.0/8"}}, "not in"}, // loopback is not 10/8
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := newTarget(t)
			n := startServer(t, ServerConfig{})
			cfg := n.join("capped")
			cfg.Caps = tc.caps
			startWorker(t, context.Background(), cfg)
			ws := n.await(t, 1)
			_, err := Run(context.Background(), Config{Engine: target.engine(t), Modes: []loadgen.Mode{loadgen.ModeKeepAlive},
				Plan: steady(100, time.Second), Workers: ws})
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.refused) {
				t.Fatalf("err = %v, want a refusal mentioning %q", err, tc.refused)
			}
			if got := target.n.Load(); got != 0 {
				t.Errorf("the target got %d requests from a refused plan", got)
			}
		})
	}
}

func TestConnectionsHeldToCap(t *testing.T) {
	target := newTarget(t)
	n := startServer(t, ServerConfig{})
	cfg := n.join("small")
	cfg.Caps = Caps{MaxConnections: 2}
	startWorker(t, context.Background(), cfg)
	ws := n.await(t, 1)
	ecfg := target.engine(t)
	ecfg.Connections = 16
	res, err := Run(context.Background(), Config{Engine: ecfg, Modes: []loadgen.Mode{loadgen.ModeKeepAlive},
		Plan: steady(50, time.Second), Workers: ws})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Arms[0].Counters.ConnsOpened; got > 2 {
		t.Errorf("opened %d connections past a cap of 2", got)
	}
	if !slices.ContainsFunc(res.Warnings, func(s string) bool { return strings.Contains(s, "--max-connections 2") }) {
		t.Errorf("no warning says the connections were capped: %q", res.Warnings)
	}
}

func TestJournalTruncated(t *testing.T) {
	dir := t.TempDir()
	target := newTarget(t)
	cfg := Config{Engine: target.engine(t), Modes: []loadgen.Mode{loadgen.ModeKeepAlive}, Plan: steady(100, 2*time.Second),
		Workers: []Worker{NewLocal("l0", false), NewLocal("l1", false)}, Journal: filepath.Join(dir, "journal")}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	full, err := ReplayJournal(cfg.Journal)
	if err != nil {
		t.Fatal(err)
	}
	sameResults(t, res, full)
	// A crash leaves a journal cut anywhere: it still reads back, marked
	// incomplete, holding no more than was written.
	b := readFile(t, cfg.Journal)
	if _, err := ReplayJournal(writeFile(t, filepath.Join(dir, "stub"), b[:len(journalMagic)+3])); err == nil {
		t.Error("a journal cut before its run record was read back")
	}
	for _, cut := range []int{len(b) - 1, len(b) / 2} {
		got, err := ReplayJournal(writeFile(t, filepath.Join(dir, "cut"), b[:cut]))
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if !got.Incomplete {
			t.Errorf("cut at %d: not marked incomplete", cut)
		}
		if len(got.Arms) > 0 && got.Arms[0].Counters.Sent > res.Arms[0].Counters.Sent {
			t.Errorf("cut at %d: more requests than the run had", cut)
		}
	}
}

func lostAts(res *reports.Results) string {
	var parts []string
	for _, w := range res.Workers {
		at := "-"
		if w.LostAt != nil {
			at = strconv.FormatFloat(*w.LostAt, 'f', 2, 64)
		}
		parts = append(parts, w.Name+" lost at "+at)
	}
	return strings.Join(parts, ", ")
}

// A worker whose responses the kernel does not stamp says so in the run's
// warnings, once however many arms ask it, locally and over gRPC alike.
func TestUnstampedWorkerWarns(t *testing.T) {
	target := newTarget(t)
	n := startServer(t, ServerConfig{})
	startWorker(t, context.Background(), n.join("w1"))
	workers := append([]Worker{NewLocal("local-0", false)}, n.await(t, 1)...)
	cfg := Config{Engine: target.engine(t), Modes: []loadgen.Mode{loadgen.ModeKeepAlive, loadgen.ModeClose},
		Plan: steady(100, 500*time.Millisecond), Workers: workers}
	stamped := func(res *reports.Results) (n map[string]int) {
		n = map[string]int{}
		for _, w := range res.Warnings {
			if name, _, ok := strings.Cut(strings.TrimPrefix(w, "worker "), ": its responses are stamped where its reads return"); ok {
				n[name]++
			}
		}
		return n
	}

	if loadgen.KernelStamps() {
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := stamped(res); len(got) != 0 {
			t.Errorf("stamped workers warned of unstamped reads: %v in %q", got, res.Warnings)
		}
	}

	defer func(f func() bool) { kernelStamps = f }(kernelStamps)
	kernelStamps = func() bool { return false }
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := stamped(res); got["local-0"] != 1 || got["w1"] != 1 || len(got) != 2 {
		t.Errorf("unstamped-read warnings per worker %v, want local-0 and w1 once each: %q", got, res.Warnings)
	}
}
