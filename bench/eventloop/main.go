//go:build linux

// Command eventloop sends S3's load (bench/run.sh: evenly spaced
// keep-alive requests) the way wrk2 does, with no Go runtime in the way:
// one goroutine locked to its OS thread, raw non-blocking sockets, one
// epoll set, no netpoller, no scheduler, no timing or recording. It
// answers one question: would a second engine built like that make S3
// cheaper than tailrace's? It prints CPU seconds per 100k requests and
// context switches per request, from getrusage.
//
//	taskset -c 0 go run ./bench/eventloop -addr 127.0.0.1:18080 -rate 10000 -c 50 -duration 10s
//
// On the bench machine the answer was no: evenly spaced, it cost more CPU
// than tailrace (it sleeps and wakes about twice per request, where Go's
// scheduler spins across the gaps), and only sending in bursts made it
// cheap. -batch 5ms sends what is due once every 5 ms, the bursts that
// generators whose connections keep their schedules in step send.
//
// It expects a small response that arrives in one read (nginx's 2-byte
// body in bench/nginx.conf) and counts any other answer as bad.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "the server, a loopback `host:port`")
	rate := flag.Int("rate", 10000, "requests per second, evenly spaced")
	conns := flag.Int("c", 50, "keep-alive connections")
	dur := flag.Duration("duration", 10*time.Second, "how long to send (at most 2m)")
	batch := flag.Duration("batch", 0, "wake at most once per this period (0: at every arrival)")
	flag.Parse()
	ap, err := netip.ParseAddrPort(*addr)
	switch {
	case err != nil || !ap.Addr().Is4() || !ap.Addr().IsLoopback():
		fail("-addr %q: want an IPv4 loopback host:port", *addr)
	case *rate < 1 || *rate > 1_000_000:
		fail("-rate %d: want 1 to 1000000", *rate)
	case *conns < 1 || *conns > 10_000:
		fail("-c %d: want 1 to 10000", *conns)
	case *dur <= 0 || *dur > 2*time.Minute:
		fail("-duration %v: want more than 0 and at most 2m", *dur)
	case *batch < 0 || *batch > time.Second:
		fail("-batch %v: want 0 to 1s", *batch)
	}
	r, err := run(ap, *rate, *conns, *dur, *batch)
	if err != nil {
		fmt.Fprintln(os.Stderr, "eventloop:", err)
		os.Exit(1)
	}
	fmt.Printf("requests %d  bad %d  late>1ms %d  in %.2fs (%.0f/s)\n", r.done, r.bad, r.late, r.wall.Seconds(), float64(r.done)/r.wall.Seconds())
	per := func(v float64) float64 { return v / float64(r.done) }
	fmt.Printf("cpu s per 100k %.2f  (user %.2fs sys %.2fs)  context switches per request %.2f\n",
		per(r.user.Seconds()+r.sys.Seconds())*100_000, r.user.Seconds(), r.sys.Seconds(), per(float64(r.switches)))
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "eventloop: "+format+"\n", a...)
	os.Exit(2)
}

type result struct {
	done, bad, late int
	wall            time.Duration
	user, sys       time.Duration
	switches        int64
}

func run(ap netip.AddrPort, rate, nconn int, dur, batch time.Duration) (result, error) {
	runtime.LockOSThread() // everything below runs on this thread, in the kernel or here
	var res result
	req := []byte("GET / HTTP/1.1\r\nHost: " + ap.String() + "\r\nUser-Agent: tailrace-eventloop\r\n\r\n")
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return res, err
	}
	defer syscall.Close(epfd)
	fds := make([]int, nconn)
	busy := make([]bool, nconn)
	idle := make([]int, 0, nconn)
	for i := range fds {
		fd, err := dial(ap)
		if err != nil {
			return res, err
		}
		defer syscall.Close(fd)
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(i)}
		if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return res, err
		}
		fds[i] = fd
		idle = append(idle, i)
	}
	buf := make([]byte, 64<<10)
	evs := make([]syscall.EpollEvent, 256)
	gap := time.Second / time.Duration(rate)
	total := int(dur / gap)
	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	for k := 0; res.done+res.bad < total; {
		now := time.Since(start)
		for ; k < total && time.Duration(k)*gap <= now && len(idle) > 0; k++ {
			if now-time.Duration(k)*gap > time.Millisecond {
				res.late++
			}
			c := idle[len(idle)-1]
			idle = idle[:len(idle)-1]
			if _, err := syscall.Write(fds[c], req); err != nil {
				return res, fmt.Errorf("write: %w", err)
			}
			busy[c] = true
		}
		timeout := time.Duration(-1) // only responses are left
		if k < total {
			next := time.Duration(k) * gap
			if batch > 0 {
				next = (next + batch - 1) / batch * batch
			}
			timeout = max(next-time.Since(start), 0)
			if len(idle) == 0 {
				timeout = -1 // nothing can be sent until a response frees a connection
			}
		}
		n, err := epollWait(epfd, evs, timeout)
		if err != nil {
			return res, err
		}
		for _, ev := range evs[:n] {
			c := int(ev.Fd)
			m, err := syscall.Read(fds[c], buf)
			if err != nil || m == 0 || !busy[c] {
				return res, fmt.Errorf("connection %d: read %d bytes, %v (the server closed it?)", c, m, err)
			}
			if m < 12 || string(buf[:12]) != "HTTP/1.1 200" {
				res.bad++
			} else {
				res.done++
			}
			busy[c] = false
			idle = append(idle, c)
		}
	}
	res.wall = time.Since(start)
	var after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	res.user = time.Duration(after.Utime.Nano() - before.Utime.Nano())
	res.sys = time.Duration(after.Stime.Nano() - before.Stime.Nano())
	res.switches = (after.Nvcsw - before.Nvcsw) + (after.Nivcsw - before.Nivcsw)
	return res, nil
}

// dial connects a blocking socket, then makes it non-blocking.
func dial(ap netip.AddrPort) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := syscall.Connect(fd, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		syscall.Close(fd)
		return -1, fmt.Errorf("connect %s: %w", ap, err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != nil {
		syscall.Close(fd)
		return -1, err
	}
	return fd, syscall.SetNonblock(fd, true)
}

// epollWait waits up to timeout (forever if negative) with nanosecond
// resolution: epoll_pwait2 (Linux 5.11), not epoll_wait's milliseconds.
// It goes through syscall.Syscall6, so the runtime may hand this thread's
// P to other goroutines while it sleeps, as it does for any blocking call.
func epollWait(epfd int, evs []syscall.EpollEvent, timeout time.Duration) (int, error) {
	const sysEpollPwait2 = 441 // amd64 and arm64 alike
	var tsp uintptr
	var ts syscall.Timespec
	if timeout >= 0 {
		ts = syscall.NsecToTimespec(int64(timeout))
		tsp = uintptr(unsafe.Pointer(&ts))
	}
	for {
		n, _, e := syscall.Syscall6(sysEpollPwait2, uintptr(epfd), uintptr(unsafe.Pointer(&evs[0])), uintptr(len(evs)), tsp, 0, 0)
		switch {
		case e == syscall.EINTR:
			continue
		case errors.Is(e, syscall.ENOSYS):
			return 0, errors.New("epoll_pwait2 is not available (Linux 5.11 or later)")
		case e != 0:
			return 0, fmt.Errorf("epoll_pwait2: %w", e)
		}
		return int(n), nil
	}
}
