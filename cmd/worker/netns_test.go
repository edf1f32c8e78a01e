//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tailrace/tailrace/target"
)

// The multi-host test: a coordinator, three workers and a target, each in
// its own network namespace, with addresses in the benchmarking range
// 198.18.0.0/15. Two bridges: a control network (198.18.0.0/24: the
// coordinator and the workers) and a data network (198.18.1.0/24: the
// workers and the target). Cutting a worker's control link leaves its data
// link up, so the target can tell whether it really stopped on its own.

const (
	ctlNet  = "198.18.0."
	dataNet = "198.18.1."
)

// topology is the namespaces of one test, named after the test process so
// that parallel runs do not collide.
type topology struct {
	prefix string
	hosts  []string // namespaces with an address: coordinator, workers, target
}

func (tp *topology) ns(host string) string { return tp.prefix + host }

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// netnsOrSkip skips the test where network namespaces cannot be made (not
// root, no ip command), saying why; in CI it fails instead.
func netnsOrSkip(t *testing.T) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "not running as root"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "the ip command (iproute2) is not installed"
	} else {
		probe := fmt.Sprintf("trprobe%d", os.Getpid())
		if err := ipCmd("netns", "add", probe); err != nil {
			why = "cannot create a network namespace: " + err.Error()
		} else {
			ipCmd("netns", "del", probe)
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("the multi-host test must run in CI, but %s", why)
	}
	fmt.Printf("skipping the multi-host (network namespace) test: %s\n", why)
	t.Skipf("skipping the multi-host (network namespace) test: %s", why)
}

// buildTopology creates the namespaces, bridges and links; every one is
// deleted when the test ends.
func buildTopology(t *testing.T, workers int) *topology {
	t.Helper()
	tp := &topology{prefix: fmt.Sprintf("tr%d-", os.Getpid())}
	var made []string
	t.Cleanup(func() {
		for i := len(made) - 1; i >= 0; i-- {
			if err := ipCmd("netns", "del", made[i]); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	must := func(args ...string) {
		t.Helper()
		if err := ipCmd(args...); err != nil {
			t.Fatal(err)
		}
	}
	addNS := func(host string) {
		must("netns", "add", tp.ns(host))
		made = append(made, tp.ns(host))
		must("-n", tp.ns(host), "link", "set", "lo", "up")
	}
	// The bridges live in their own namespace: nothing is added to the
	// host's own network.
	addNS("br")
	for _, br := range []string{"ctl", "data"} {
		must("-n", tp.ns("br"), "link", "add", br, "type", "bridge")
		must("-n", tp.ns("br"), "link", "set", br, "up")
	}
	link := func(host, dev, br, addr string) {
		peer := host + dev // the bridge end, named after the host end
		must("link", "add", dev, "netns", tp.ns(host), "type", "veth", "peer", "name", peer, "netns", tp.ns("br"))
		must("-n", tp.ns("br"), "link", "set", peer, "master", br, "up")
		must("-n", tp.ns(host), "addr", "add", addr+"/24", "dev", dev)
		must("-n", tp.ns(host), "link", "set", dev, "up")
	}
	addNS("c")
	link("c", "ctl0", "ctl", ctlNet+"1")
	for i := 1; i <= workers; i++ {
		w := fmt.Sprintf("w%d", i)
		addNS(w)
		link(w, "ctl0", "ctl", fmt.Sprintf("%s%d", ctlNet, 10+i))
		link(w, "data0", "data", fmt.Sprintf("%s%d", dataNet, 10+i))
	}
	addNS("t")
	link("t", "data0", "data", dataNet+"1")
	return tp
}

// cut takes a host's link down at the bridge: its packets vanish without an
// error on either end, as when a cable is pulled.
func (tp *topology) cut(t *testing.T, host, dev string) {
	t.Helper()
	if err := ipCmd("-n", tp.ns("br"), "link", "set", host+dev, "down"); err != nil {
		t.Fatal(err)
	}
}

// inNetns runs f on an OS thread switched into namespace ns: sockets f
// creates belong to ns for their whole life.
func inNetns(ns string, f func() error) error {
	target, err := os.Open("/var/run/netns/" + ns)
	if err != nil {
		return err
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is restored before it is unlocked; if that fails it
		// stays locked and dies with this goroutine.
		me, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer me.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %v", ns, err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(me.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns back: %v", err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// nsClient is an HTTP client whose connections are made inside ns.
func nsClient(ns string) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
			err = inNetns(ns, func() error {
				var d net.Dialer
				c, err = d.DialContext(ctx, network, addr)
				return err
			})
			return c, err
		},
	}}
}

// waitReachable waits until addr accepts connections from inside ns.
func waitReachable(t *testing.T, ns, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := inNetns(ns, func() error {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s unreachable from %s: %v", addr, ns, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sourceCounter is a target that counts requests by source address: the
// proof that a worker stopped is that its address falls silent here.
type sourceCounter struct {
	mu   sync.Mutex
	n    map[string]int64
	last map[string]time.Time
}

func (s *sourceCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	s.mu.Lock()
	s.n[host]++
	s.last[host] = time.Now()
	s.mu.Unlock()
	w.Write([]byte("ok"))
}

func (s *sourceCounter) get(host string) (int64, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[host], s.last[host]
}

func TestDistributedNetns(t *testing.T) {
	if testing.Short() {
		t.Skip("a multi-host run")
	}
	bin := binaries(t) // first: it skips under the race detector
	netnsOrSkip(t)
	tp := buildTopology(t, 3)
	const token = "netns-test-token"
	coordAddr := ctlNet + "1:7070"
	names := []string{"w1", "w2", "w3"}

	// 1. The acceptance run, against the calibration target.
	tgt := start(t, "target", tp.ns("t"), filepath.Join(bin, "target"), "--listen", dataNet+"1:8080")
	tgt.waitLine(t, targetURL, 10*time.Second)
	waitReachable(t, tp.ns("w1"), dataNet+"1:8080")
	out := t.TempDir()
	coord := start(t, "coordinator", tp.ns("c"), filepath.Join(bin, "coordinator"), "run", "--workers", "3",
		"--listen", coordAddr, "--token", token, "--rate", "3000", "--duration", "10s", "--out", out, "--quiet",
		"http://"+dataNet+"1:8080/")
	coord.waitLine(t, listening, 10*time.Second)
	var first []*proc
	for _, name := range names {
		first = append(first, start(t, name, tp.ns(name), filepath.Join(bin, "worker"), "--join", coordAddr, "--token", token,
			"--name", name, "--allow-target", dataNet+"0/24", "--out", filepath.Join(out, name)))
	}
	if code := coord.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("coordinator exited %d", code)
	}
	for _, w := range first { // each writes its own results as it leaves
		if code := w.wait(t, 10*time.Second); code != 0 {
			t.Errorf("%s exited %d", w.name, code)
		}
	}
	checkRun(t, out, names, 3000, 10*time.Second)
	c := readResults(t, filepath.Join(out, "results.json")).Arms[0].Counters
	if got := targetStats(t, tp).Requests; got < c.Completed || got > c.Sent {
		t.Errorf("the target counted %d requests; the coordinator says %d sent, %d completed", got, c.Sent, c.Completed)
	}

	// 2. A worker's control link is cut mid-run.
	sc := &sourceCounter{n: map[string]int64{}, last: map[string]time.Time{}}
	var ln net.Listener
	if err := inNetns(tp.ns("t"), func() (err error) {
		ln, err = net.Listen("tcp", dataNet+"1:8081")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: sc}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	out2 := t.TempDir()
	coord = start(t, "coordinator-2", tp.ns("c"), filepath.Join(bin, "coordinator"), "run", "--workers", "3",
		"--listen", coordAddr, "--token", token, "--rate", "900", "--duration", "15s", "--out", out2,
		"http://"+dataNet+"1:8081/")
	coord.waitLine(t, listening, 10*time.Second)
	var workers []*proc
	for _, name := range names {
		workers = append(workers, start(t, name+"-2", tp.ns(name), filepath.Join(bin, "worker"), "--join", coordAddr,
			"--token", token, "--name", name, "--allow-target", dataNet+"0/24"))
	}
	coord.waitLine(t, regexp.MustCompile(`\[\s*3\.0s/`), 30*time.Second)
	cutAt := time.Now()
	tp.cut(t, "w3", "ctl0")
	coord.waitLine(t, regexp.MustCompile(`worker w3 lost`), 10*time.Second)
	took := time.Since(cutAt)
	if took > 5*time.Second {
		t.Errorf("the loss was reported %v after the cut, want within 5s", took)
	}
	// w3 still reaches the target over its data link; only its own orphan
	// timeout (5s from the last word it heard, at or before the cut) stops
	// it. Once its process is gone it cannot send, so its last request at
	// the target is the last it ever sent.
	if code := workers[2].wait(t, 15*time.Second); code != 3 {
		t.Errorf("w3 exited %d, want 3 (coordinator lost)", code)
	}
	n3, last3 := sc.get(dataNet + "13")
	if n3 == 0 {
		t.Fatal("the target never heard from w3: the test proves nothing")
	}
	if after := last3.Sub(cutAt); after > 5*time.Second+100*time.Millisecond {
		t.Errorf("w3's last request reached the target %v after the cut; its orphan timeout is 5s", after)
	}
	t.Logf("link cut: loss reported after %v; w3's last request %v after the cut, its process gone after %v",
		took.Round(time.Millisecond), last3.Sub(cutAt).Round(time.Millisecond), workers[2].at.Sub(cutAt).Round(time.Millisecond))
	if code := coord.wait(t, 60*time.Second); code != 3 {
		t.Errorf("coordinator exited %d, want 3 after losing a worker", code)
	}
	res := readResults(t, filepath.Join(out2, "results.json"))
	short := 0
	for _, iv := range res.Arms[0].Intervals {
		if iv.Short {
			short++
		}
	}
	if short == 0 || !res.Incomplete {
		t.Errorf("%d short windows, incomplete %v after a worker was lost", short, res.Incomplete)
	}
	for _, w := range []string{dataNet + "11", dataNet + "12"} {
		if n, last := sc.get(w); n == 0 || last.Before(cutAt.Add(5*time.Second)) {
			t.Errorf("worker %s stopped early (last request %v after the cut)", w, last.Sub(cutAt))
		}
	}
}

func targetStats(t *testing.T, tp *topology) target.Stats {
	t.Helper()
	resp, err := nsClient(tp.ns("w1")).Get("http://" + dataNet + "1:8080" + target.StatsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s target.Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}
