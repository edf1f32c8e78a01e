package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/tailrace/tailrace/cluster"
	"github.com/tailrace/tailrace/target"
)

var (
	listening = regexp.MustCompile(`listening on (\S+),`)
	targetURL = regexp.MustCompile(`^(http://\S+)$`)
)

// loopbackRun starts the calibration target and a coordinator waiting for
// len(names) workers, then the workers; extra flags go to the coordinator.
func loopbackRun(t *testing.T, names []string, rate, duration string, extra ...string) (coord *proc, workers []*proc, out, url string) {
	t.Helper()
	bin := binaries(t)
	tgt := start(t, "target", "", filepath.Join(bin, "target"), "--listen", "127.0.0.1:0")
	url = tgt.waitLine(t, targetURL, 10*time.Second)[1]
	out = t.TempDir()
	args := append([]string{filepath.Join(bin, "coordinator"), "run", "--workers", fmt.Sprint(len(names)), "--listen", "127.0.0.1:0",
		"--rate", rate, "--duration", duration, "--out", out}, extra...)
	coord = start(t, "coordinator", "", append(args, url+"/")...)
	addr := coord.waitLine(t, listening, 10*time.Second)[1]
	for _, name := range names {
		workers = append(workers, start(t, name, "", filepath.Join(bin, "worker"), "--join", addr, "--name", name,
			"--out", filepath.Join(out, name)))
	}
	return coord, workers, out, url
}

// TestDistributedLoopback is the acceptance run: a coordinator, three worker
// processes and the calibration target, 3000/s for 10s.
func TestDistributedLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10 s multi-process run")
	}
	names := []string{"w1", "w2", "w3"}
	coord, workers, out, _ := loopbackRun(t, names, "3000", "10s", "--quiet")
	if code := coord.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("coordinator exited %d", code)
	}
	for _, w := range workers {
		if code := w.wait(t, 10*time.Second); code != 0 {
			t.Errorf("%s exited %d", w.name, code)
		}
	}
	checkRun(t, out, names, 3000, 10*time.Second)
	// The journal holds the same run.
	res := readResults(t, filepath.Join(out, "results.json"))
	back, err := cluster.ReplayJournal(filepath.Join(out, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	if back.Arms[0].Counters != res.Arms[0].Counters || back.Arms[0].Phases["total"].Hist != res.Arms[0].Phases["total"].Hist {
		t.Error("the journal does not replay to the run's results")
	}
}

// TestWorkerKilled: a worker SIGKILLed mid-run is reported lost within 5 s,
// the run goes on and exits 3, and the windows it missed are short.
func TestWorkerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("a multi-process run")
	}
	coord, workers, out, _ := loopbackRun(t, []string{"w1", "w2", "w3"}, "600", "6s")
	coord.waitLine(t, regexp.MustCompile(`\[\s*2\.0s/`), 30*time.Second) // two intervals in
	killed := time.Now()
	workers[2].kill()
	coord.waitLine(t, regexp.MustCompile(`worker w3 lost`), 10*time.Second)
	if took := time.Since(killed); took > 5*time.Second {
		t.Errorf("the loss was reported %v after the kill, want within 5s", took)
	} else {
		t.Logf("SIGKILLed worker reported lost after %v", took.Round(time.Millisecond))
	}
	if code := coord.wait(t, 30*time.Second); code != 3 {
		t.Errorf("coordinator exited %d, want 3", code)
	}
	res := readResults(t, filepath.Join(out, "results.json"))
	var lost *float64
	for _, w := range res.Workers {
		if w.Name == "w3" {
			lost = w.LostAt
		} else if w.LostAt != nil {
			t.Errorf("%s marked lost", w.Name)
		}
	}
	if lost == nil || *lost < 1 || *lost > 4 {
		t.Errorf("w3 lost at %v, want about 2s into the arm", lost)
	}
	short := 0
	for _, iv := range res.Arms[0].Intervals {
		if iv.Short {
			short++
		}
	}
	if short < 3 || !res.Incomplete {
		t.Errorf("%d short intervals, incomplete %v: want the windows after the kill short", short, res.Incomplete)
	}
}

// TestCoordinatorKilled: a coordinator SIGKILLed mid-run leaves no load
// behind (every worker stops within 5 s, the target sees no more
// requests), and its journal reads back.
func TestCoordinatorKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("a multi-process run")
	}
	coord, workers, out, url := loopbackRun(t, []string{"w1", "w2", "w3"}, "600", "30s")
	coord.waitLine(t, regexp.MustCompile(`\[\s*3\.0s/`), 30*time.Second)
	killed := time.Now()
	coord.kill()
	for _, w := range workers {
		code := w.wait(t, 10*time.Second)
		took := w.at.Sub(killed)
		if took > 5*time.Second || code != 3 {
			t.Errorf("%s exited %d, %v after the coordinator died; want 3 within 5s", w.name, code, took)
		}
		t.Logf("%s exited %v after the coordinator was SIGKILLed", w.name, took.Round(time.Millisecond))
	}
	// Nothing more reaches the target.
	before := targetRequests(t, url)
	time.Sleep(500 * time.Millisecond) // a window in which no request may arrive
	if after := targetRequests(t, url); after != before {
		t.Errorf("the target got %d requests after every worker exited", after-before)
	}
	res, err := cluster.ReplayJournal(filepath.Join(out, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Incomplete || len(res.Arms) != 1 || len(res.Arms[0].Intervals) < 2 || res.Arms[0].Counters.Sent < 1000 {
		t.Errorf("journal replay: incomplete %v, %d arms: want an incomplete arm with the intervals received", res.Incomplete, len(res.Arms))
	}
}

func targetRequests(t *testing.T, url string) int64 {
	t.Helper()
	resp, err := http.Get(url + target.StatsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s target.Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s.Requests
}

// TestRefusals: a wrong token, a non-loopback listen without auth and a
// target outside --allow-target are refused with a clear error, and the
// target gets nothing.
func TestRefusals(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process")
	}
	bin := binaries(t)
	tgt := start(t, "target", "", filepath.Join(bin, "target"), "--listen", "127.0.0.1:0")
	url := tgt.waitLine(t, targetURL, 10*time.Second)[1]

	exposed := start(t, "exposed", "", filepath.Join(bin, "coordinator"), "run", "--workers", "1", "--listen", "0.0.0.0:0", "--rate", "10", url+"/")
	if code := exposed.wait(t, 10*time.Second); code != 2 {
		t.Errorf("non-loopback listen without auth exited %d, want 2", code)
	}
	exposed.waitLine(t, regexp.MustCompile(`without a token or mutual TLS`), time.Second)

	coord := start(t, "coordinator", "", filepath.Join(bin, "coordinator"), "run", "--workers", "1", "--listen", "127.0.0.1:0",
		"--token", "s3cret", "--rate", "100", "--duration", "2s", url+"/")
	addr := coord.waitLine(t, listening, 10*time.Second)[1]
	bad := start(t, "bad-token", "", filepath.Join(bin, "worker"), "--join", addr, "--token", "guess")
	if code := bad.wait(t, 10*time.Second); code != 2 {
		t.Errorf("worker with a wrong token exited %d, want 2", code)
	}
	bad.waitLine(t, regexp.MustCompile(`bad token`), time.Second)

	fenced := start(t, "fenced", "", filepath.Join(bin, "worker"), "--join", addr, "--token", "s3cret", "--allow-target", "198.18.0.0/15")
	if code := coord.wait(t, 20*time.Second); code != 2 {
		t.Errorf("coordinator exited %d after its worker refused the target, want 2", code)
	}
	coord.waitLine(t, regexp.MustCompile(`not in this worker's --allow-target`), time.Second)
	fenced.wait(t, 10*time.Second)
	if n := targetRequests(t, url); n != 0 {
		t.Errorf("the target got %d requests from refused runs", n)
	}
}
