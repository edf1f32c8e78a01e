//go:build linux && !386

package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tailrace/tailrace/loadgen/resolver"
)

func TestRawDialConnects(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			addr := map[string]string{"tcp4": "127.0.0.1:0", "tcp6": "[::1]:0"}[network]
			ln, err := net.Listen(network, addr)
			if err != nil {
				t.Skipf("no %s loopback: %v", network, err)
			}
			defer ln.Close()
			got := make(chan string, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					got <- err.Error()
					return
				}
				defer c.Close()
				b, _ := io.ReadAll(c)
				got <- string(b)
			}()
			ap := ln.Addr().(*net.TCPAddr).AddrPort()
			c, err := rawDial(context.Background(), ap, time.Now().Add(5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if c.RemoteAddr().String() != ap.String() {
				t.Errorf("RemoteAddr %s, want %s", c.RemoteAddr(), ap)
			}
			if la := c.LocalAddr().(*net.TCPAddr); la.Port == 0 || !la.IP.IsLoopback() {
				t.Errorf("LocalAddr %s, want a loopback address with a port", la)
			}
			if _, err := c.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			c.Close()
			if s := <-got; s != "hello" {
				t.Errorf("server read %q, want hello", s)
			}
		})
	}
}

func TestRawDialRefused(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close() // nothing listens there now
	_, err = rawDial(context.Background(), ap, time.Time{})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want connection refused", err)
	}
	if want := "dial tcp " + ap.String() + ": connect: connection refused"; err.Error() != want {
		t.Errorf("message %q, want net.Dialer's %q", err, want)
	}
	if c := classify(context.Background(), err); c != ErrFailed {
		t.Errorf("classified %v, want %v", c, ErrFailed)
	}
}

// stuckListener returns the address of a listening socket with a backlog of
// 0 that never accepts, with its queue already full: a further connect stays
// in progress (the SYN is dropped) until the dialer gives up.
func stuckListener(t *testing.T) netip.AddrPort {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port))
	// Fill the accept queue (a backlog of 0 still holds one or two).
	for range 4 {
		c, err := rawDial(context.Background(), ap, time.Now().Add(300*time.Millisecond))
		if err != nil {
			return ap // this one already hung: the queue is full
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("could not fill the listener's queue")
	return ap
}

func TestRawDialDeadline(t *testing.T) {
	ap := stuckListener(t)
	start := time.Now()
	_, err := rawDial(context.Background(), ap, start.Add(200*time.Millisecond))
	took := time.Since(start)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if !strings.HasPrefix(err.Error(), "dial tcp "+ap.String()) {
		t.Errorf("message %q does not say what was dialed", err)
	}
	if took < 150*time.Millisecond || took > 5*time.Second {
		t.Errorf("gave up after %v, want about 200ms", took)
	}
	if c := classify(context.Background(), err); c != ErrTimeout {
		t.Errorf("classified %v, want %v", c, ErrTimeout)
	}
}

func TestRawDialCanceled(t *testing.T) {
	ap := stuckListener(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(100*time.Millisecond, func() { cancel(errRunStopped) })
	start := time.Now()
	_, err := rawDial(ctx, ap, time.Time{})
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v, want the dial stopped by the cancel", err, time.Since(start))
	}
	if c := classify(ctx, err); c != ErrCanceled {
		t.Errorf("classified %v (%v), want %v", c, err, ErrCanceled)
	}
}

// BenchmarkDial is one TCP connection to a loopback listener that accepts
// and closes at once: dial, then close. raw is rawDial (close and resume
// modes); std is net.Dialer with keep-alive probes off, as before it. The
// kernel's work dominates the time per dial, so it also reports the
// process's user CPU per dial (the acceptor's included, the same in both).
func BenchmarkDial(b *testing.B) {
	ap := closingListener(b)
	std := net.Dialer{KeepAlive: -1}
	dials := map[string]func() (net.Conn, error){
		"raw": func() (net.Conn, error) { return rawDial(context.Background(), ap, time.Time{}) },
		"std": func() (net.Conn, error) { return std.DialContext(context.Background(), "tcp", ap.String()) },
	}
	for _, name := range []string{"raw", "std"} {
		dial := dials[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var before, after syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &before)
			for b.Loop() {
				c, err := dial()
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
			syscall.Getrusage(syscall.RUSAGE_SELF, &after)
			user := time.Duration(after.Utime.Nano() - before.Utime.Nano())
			b.ReportMetric(float64(user.Microseconds())/float64(b.N), "user-µs/op")
		})
	}
}

// BenchmarkDialAside measures what keep-alive mode's dial on a goroutine of
// its own (netDialer.dialAside) adds to a dial: "inline" is close mode's
// dialNet, "aside" keep-alive's, both plain TCP to loopback.
func BenchmarkDialAside(b *testing.B) {
	u, _ := url.Parse("http://" + closingListener(b).String() + "/")
	res, err := resolver.New(resolver.Config{})
	if err != nil {
		b.Fatal(err)
	}
	clk := clock{t0: time.Now()}
	for _, mode := range []Mode{ModeClose, ModeKeepAlive} {
		name := map[Mode]string{ModeClose: "inline", ModeKeepAlive: "aside"}[mode]
		b.Run(name, func(b *testing.B) {
			d, err := newNetDialer(&Config{URL: u, Mode: mode, ConnectTimeout: time.Second}, &clk, res)
			if err != nil {
				b.Fatal(err)
			}
			if d.aside != (mode == ModeKeepAlive) {
				b.Fatalf("%s: aside = %v", mode, d.aside)
			}
			b.ReportAllocs()
			var t Trail
			for b.Loop() {
				t = Trail{}
				c, err := d.dialNet(context.Background(), &t)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}

// closingListener listens on loopback until the benchmark ends, closing
// every connection it accepts, and returns its address.
func closingListener(b *testing.B) netip.AddrPort {
	b.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}
