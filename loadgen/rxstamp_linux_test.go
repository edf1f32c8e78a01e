//go:build linux && !386

package loadgen

import (
	"context"
	"net"
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

// TestRxStampIsArrival: a fileConn's reads carry the kernel's receive
// timestamp of what they read: inside the server's write(2) (loopback
// delivers there), not when the client got round to reading, both for a
// read made long after the bytes arrived and for one that waited in the
// netpoller.
func TestRxStampIsArrival(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dial := func(t *testing.T) (*fileConn, net.Conn) {
		t.Helper()
		nc, err := rawDial(context.Background(), ln.Addr().(*net.TCPAddr).AddrPort(), time.Now().Add(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		srv, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close(); srv.Close() })
		c := nc.(*fileConn)
		if c.rx == nil {
			t.Skip("this kernel refused SO_TIMESTAMPNS")
		}
		return c, srv
	}
	// The kernel turns timestamps on a little after the first socket asks
	// (keepRxStampsOn): wait until a read carries one.
	keepRxStampsOn()
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
		// The failed read may have been the netpoller's (the deadline) or
		// a recvmsg that found nothing: neither leaves the old stamp for
		// the next response.
		if c.polled.Load() == nil && c.rxTime() != 0 {
			t.Fatalf("stamp %d left after a read that found nothing", c.rxTime())
		}
	})
}
