//go:build linux && !386

package loadgen

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

func TestRxOOBLen(t *testing.T) {
	if want := syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{}))); int(rxOOBLen) != want {
		t.Fatalf("rxOOBLen %d, CmsgSpace says %d", rxOOBLen, want)
	}
}

// dialFileConn connects a fileConn to ln with rawDial and returns it with
// the server's side; both close when the test ends.
func dialFileConn(t *testing.T, ln *net.TCPListener) (*fileConn, *net.TCPConn) {
	t.Helper()
	nc, err := rawDial(context.Background(), ln.Addr().(*net.TCPAddr).AddrPort(), time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close(); srv.Close() })
	return nc.(*fileConn), srv
}

// loopbackListener listens on 127.0.0.1 until the test ends.
func loopbackListener(t *testing.T) *net.TCPListener {
	t.Helper()
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// TestRxStampIsArrival: a fileConn's reads carry the kernel's receive
// timestamp of what they read: inside the server's write(2) (loopback
// delivers there), not when the client got round to reading, both for a
// read made long after the bytes arrived and for one that waited in the
// netpoller.
func TestRxStampIsArrival(t *testing.T) {
	ln := loopbackListener(t)
	dial := func(t *testing.T) (*fileConn, net.Conn) {
		t.Helper()
		c, srv := dialFileConn(t, ln)
		if c.rx == nil {
			t.Skip("this kernel refused SO_TIMESTAMPNS")
		}
		return c, srv
	}
	// The kernel turns timestamps on a little after the first socket asks
	// (rxStampsOn): wait until a TCP read carries one too.
	if !rxStampsOn() {
		t.Fatal("rxStampsOn: no stamped datagram over loopback in 200 ms")
	}
	warm := func() bool {
		c, srv := dial(t)
		defer c.Close()
		buf := make([]byte, 8)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			srv.Write([]byte("w"))
			if n, _ := c.Read(buf); n > 0 && c.rxTime() != 0 {
				return true
			}
			time.Sleep(time.Millisecond)
		}
		return false
	}
	if !warm() {
		t.Fatal("no read carried a receive timestamp in 5 s")
	}
	// send writes p on srv and returns the wall clock around the write.
	send := func(t *testing.T, srv net.Conn, p string) (before, after int64) {
		before = time.Now().UnixNano()
		if _, err := srv.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
		return before, time.Now().UnixNano()
	}
	check := func(t *testing.T, c *fileConn, before, after, readAt int64) {
		t.Helper()
		rx := c.rxTime()
		// Loopback delivers inside the write; 10 ms of slack for a
		// delivery deferred to ksoftirqd on a loaded machine.
		if rx < before || rx > after+int64(10*time.Millisecond) {
			t.Fatalf("receive stamp %d ns after the server's write began (it took %d ns); want within it", rx-before, after-before)
		}
		if lag := time.Duration(readAt - rx); readAt-after > int64(20*time.Millisecond) && lag < 15*time.Millisecond {
			t.Fatalf("read %v after the stamp, though %v after the write", lag, time.Duration(readAt-after))
		}
	}

	t.Run("read late", func(t *testing.T) {
		c, srv := dial(t)
		before, after := send(t, srv, "hello")
		time.Sleep(30 * time.Millisecond) // the reader is late, not the bytes
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		readAt := time.Now().UnixNano()
		if err != nil || string(buf[:n]) != "hello" {
			t.Fatalf("read %q, %v", buf[:n], err)
		}
		if c.polled.Load() != nil {
			t.Fatal("the read waited in the netpoller; this case is the read that did not")
		}
		check(t, c, before, after, readAt)
	})
	t.Run("read waits in the netpoller", func(t *testing.T) {
		c, srv := dial(t)
		type res struct {
			n   int
			err error
			at  int64
		}
		got := make(chan res, 1)
		go func() {
			buf := make([]byte, 64)
			n, err := c.Read(buf)
			got <- res{n, err, time.Now().UnixNano()}
		}()
		deadline := time.Now().Add(5 * time.Second)
		for c.polled.Load() == nil && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if c.polled.Load() == nil {
			t.Fatal("the read never waited in the netpoller")
		}
		before, after := send(t, srv, "world")
		r := <-got
		if r.err != nil || r.n != 5 {
			t.Fatalf("read %d, %v", r.n, r.err)
		}
		check(t, c, before, after, r.at)
	})
	t.Run("a read that finds nothing clears it", func(t *testing.T) {
		c, srv := dial(t)
		send(t, srv, "x")
		buf := make([]byte, 64)
		deadline := time.Now().Add(5 * time.Second)
		for c.rxTime() == 0 && time.Now().Before(deadline) {
			c.Read(buf)
		}
		if c.rxTime() == 0 {
			t.Fatal("no stamp")
		}
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := c.Read(buf); err == nil {
			t.Fatal("read something that was never sent")
		}
		// The read's recvmsg found nothing (then it waited in the netpoller
		// for the deadline): the old stamp is not left for the next
		// response.
		if c.rxTime() != 0 {
			t.Fatalf("stamp %d left after a read that found nothing", c.rxTime())
		}
	})
}

// TestReadPooledWaitsAtGate: with a tick gate, a response's first read
// that finds nothing waits for the next tick, not for the bytes: the socket
// stays out of the netpoller, and the read, when the tick lets it, still
// carries the time the bytes arrived. A passed deadline, or the gate
// opening, sends the wait to the netpoller as before.
func TestReadPooledWaitsAtGate(t *testing.T) {
	if !rxStampsOn() {
		t.Skip("no receive timestamps here")
	}
	ln := loopbackListener(t)
	dial := func(t *testing.T, g *tickGate) (*fileConn, net.Conn) {
		t.Helper()
		c, srv := dialFileConn(t, ln)
		setGate(c, g)
		return c, srv
	}
	type res struct {
		s   string
		err error
	}
	read := func(c *fileConn) chan res {
		got := make(chan res, 1)
		go func() {
			bp, n, err := c.readPooled(&h1Bufs)
			got <- res{string((*bp)[:n]), err}
		}()
		return got
	}
	// arrived reports whether bytes wait in c's socket (a peek).
	arrived := func(c *fileConn) bool {
		var b [1]byte
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(c.fd), uintptr(unsafe.Pointer(&b[0])), 1, syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		return e == 0 && n == 1
	}

	// queued returns how many bytes wait in c's socket.
	queued := func(c *fileConn) int {
		var b [64]byte
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(c.fd), uintptr(unsafe.Pointer(&b[0])), 64, syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		if e != 0 {
			return 0
		}
		return int(n)
	}

	t.Run("tick", func(t *testing.T) {
		g := newTickGate()
		c, srv := dial(t, g)
		got := read(c)
		waitFor(t, "the read to wait at the gate", func() bool { return g.parked.Load() == 1 })
		before := time.Now().UnixNano()
		srv.Write([]byte("hello"))
		after := time.Now().UnixNano()
		waitFor(t, "the bytes", func() bool { return arrived(c) })
		if g.parked.Load() != 1 || c.polled.Load() != nil {
			t.Fatalf("the bytes woke the read (parked %d, in the netpoller %v)", g.parked.Load(), c.polled.Load() != nil)
		}
		g.tick()
		r := <-got
		if r.err != nil || r.s != "hello" {
			t.Fatalf("read %q, %v", r.s, r.err)
		}
		if rx := c.rxTime(); rx < before || rx > after+int64(10*time.Millisecond) {
			t.Fatalf("receive stamp %d ns after the write began (it took %d ns)", rx-before, after-before)
		}
	})
	t.Run("two packets", func(t *testing.T) {
		// By the tick a response has come in two packets, 30 ms apart, and
		// the read takes both: it is stamped with the second's arrival,
		// which is exact for the response's end (Done). The first byte's
		// own arrival is lost: the kernel merges a packet into the unread
		// one before it and keeps the newer stamp (tcp_try_coalesce), so
		// not even a peek finds it. Under the gate such a response's ttfb
		// ends up to a tick late (doc.go).
		g := newTickGate()
		c, srv := dial(t, g)
		got := read(c)
		waitFor(t, "the read to wait at the gate", func() bool { return g.parked.Load() == 1 })
		if _, err := srv.Write([]byte("hel")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the first packet", func() bool { return arrived(c) })
		time.Sleep(30 * time.Millisecond) // the packets' arrivals apart
		before := time.Now().UnixNano()
		if _, err := srv.Write([]byte("lo")); err != nil {
			t.Fatal(err)
		}
		after := time.Now().UnixNano()
		waitFor(t, "the second packet", func() bool { return queued(c) == 5 })
		g.tick()
		if r := <-got; r.err != nil || r.s != "hello" {
			t.Fatalf("read %q, %v", r.s, r.err)
		}
		if l := c.rxTime(); l < before || l > after+int64(10*time.Millisecond) {
			t.Errorf("stamped %v after the second write began, want within it (%v)", time.Duration(l-before), time.Duration(after-before))
		}
	})
	t.Run("deadline", func(t *testing.T) {
		g := newTickGate()
		c, _ := dial(t, g)
		c.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
		got := read(c)
		for done := false; !done; {
			select {
			case r := <-got:
				if !errors.Is(r.err, os.ErrDeadlineExceeded) {
					t.Fatalf("read %q, %v; want the deadline", r.s, r.err)
				}
				done = true
			case <-time.After(time.Millisecond):
				g.tick()
			}
		}
	})
	t.Run("open", func(t *testing.T) {
		g := newTickGate()
		c, srv := dial(t, g)
		got := read(c)
		waitFor(t, "the read to wait at the gate", func() bool { return g.parked.Load() == 1 })
		g.open()
		waitFor(t, "the read to wait in the netpoller", func() bool { return c.polled.Load() != nil })
		srv.Write([]byte("late"))
		if r := <-got; r.err != nil || r.s != "late" {
			t.Fatalf("read %q, %v", r.s, r.err)
		}
	})
}
