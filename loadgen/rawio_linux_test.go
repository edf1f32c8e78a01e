//go:build linux && !386

package loadgen

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestFileConnIOAsFile: fileConn's Read and Write (raw system calls) give
// what os.File's Read and Write gave on the same socket in the same
// situation: the same counts, and errors that read the same and match the
// same sentinels. Each case runs on fresh connections to one listener:
// through the os.File of a socket in the netpoller, and through fileConn's
// methods on a socket not yet in it (each then joins when it must wait),
// on one already in it, and through readPooled.
func TestFileConnIOAsFile(t *testing.T) {
	type ioFunc func(c *fileConn, p []byte) (int, error)
	readRaw := func(c *fileConn, p []byte) (int, error) { return c.Read(p) }
	readFile := func(c *fileConn, p []byte) (int, error) { return c.polled.Load().f.Read(p) }
	writeRaw := func(c *fileConn, p []byte) (int, error) { return c.Write(p) }
	writeFile := func(c *fileConn, p []byte) (int, error) { return c.polled.Load().f.Write(p) }
	polled := func(op ioFunc) ioFunc {
		return func(c *fileConn, p []byte) (int, error) {
			if c.polled.Load() == nil {
				return 0, errors.New("the socket is not in the netpoller")
			}
			return op(c, p)
		}
	}
	// readPooled reads into a buffer of len(p) from a pool, then copies.
	readPooled := func(c *fileConn, p []byte) (int, error) {
		pool := &sync.Pool{New: func() any { b := make([]byte, len(p)); return &b }}
		bp, n, err := c.readPooled(pool)
		if bp == nil || len(*bp) != len(p) {
			return n, fmt.Errorf("readPooled returned buffer %v", bp)
		}
		copy(p, (*bp)[:n])
		return n, err
	}

	cases := []struct {
		name string
		// run sets the scene on c (whose server side is srv) and does one
		// read or write with op, returning what to compare.
		run   func(t *testing.T, c *fileConn, srv *net.TCPConn, op ioFunc) (int, error)
		write bool
		is    error // the sentinel the error must match, if any
	}{
		{name: "data", run: func(t *testing.T, c *fileConn, srv *net.TCPConn, op ioFunc) (int, error) {
			srv.Write([]byte("hello"))
			p := make([]byte, 64)
			n, err := op(c, p)
			if string(p[:n]) != "hello" {
				return n, fmt.Errorf("read %q", p[:n])
			}
			return n, err
		}},
		{name: "empty buffer", run: func(t *testing.T, c *fileConn, srv *net.TCPConn, op ioFunc) (int, error) {
			return op(c, nil)
		}},
		{name: "eof", is: nil, run: func(t *testing.T, c *fileConn, srv *net.TCPConn, op ioFunc) (int, error) {
			srv.Close()
			return op(c, make([]byte, 64))
		}},
		{name: "reset", is: syscall.ECONNRESET, run: func(t *testing.T, c *fileConn, srv *net.TCPConn, op ioFunc) (int, error) {
			srv.SetLinger(0)
			srv.Close()
			return op(c, make([]byte, 64))
		}},
		{name: "deadline passed", is: os.ErrDeadlineExceeded, run: func(t *testing.T, c *fileConn, srv *net.TCPConn, op ioFunc) (int, error) {
			c.SetReadDeadline(time.Now().Add(-time.Second))
			return op(c, make([]byte, 64))
		}},
		{name: "deadline passed, data waiting", is: os.ErrDeadlineExceeded, run: func(t *testing.T, c *fileConn, srv *net.TCPConn, op ioFunc) (int, error) {
			srv.Write([]byte("hello"))
			c.SetReadDeadline(time.Now().Add(-time.Second))
			return op(c, make([]byte, 64))
		}},
		{name: "deadline while waiting", is: os.ErrDeadlineExceeded, run: func(t *testing.T, c *fileConn, srv *net.TCPConn, op ioFunc) (int, error) {
			c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
			return op(c, make([]byte, 64))
		}},
		{name: "closed", is: os.ErrClosed, run: func(t *testing.T, c *fileConn, srv *net.TCPConn, op ioFunc) (int, error) {
			c.Close()
			return op(c, make([]byte, 64))
		}},
		{name: "closed while waiting", is: os.ErrClosed, run: func(t *testing.T, c *fileConn, srv *net.TCPConn, op ioFunc) (int, error) {
			time.AfterFunc(30*time.Millisecond, func() { c.Close() })
			return op(c, make([]byte, 64))
		}},
		{name: "write", write: true, run: func(t *testing.T, c *fileConn, srv *net.TCPConn, op ioFunc) (int, error) {
			return op(c, []byte("GET / HTTP/1.1\r\n\r\n"))
		}},
		{name: "write deadline while blocked", write: true, is: os.ErrDeadlineExceeded, run: func(t *testing.T, c *fileConn, srv *net.TCPConn, op ioFunc) (int, error) {
			// The server never reads: the socket buffers fill, then the
			// write waits until its deadline. How much went out first is
			// the kernel's business; that some did and the error are ours.
			// (The buffer is made before the deadline is set: on a busy
			// machine making it took longer than the deadline once, and
			// then nothing went out at all.)
			p := make([]byte, 64<<20)
			c.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
			n, err := op(c, p)
			if n <= 0 || n >= 64<<20 {
				return n, fmt.Errorf("wrote %d bytes before the deadline", n)
			}
			return 0, err
		}},
		{name: "write deadline passed", write: true, is: os.ErrDeadlineExceeded, run: func(t *testing.T, c *fileConn, srv *net.TCPConn, op ioFunc) (int, error) {
			c.SetWriteDeadline(aLongTimeAgo)
			return op(c, []byte("x"))
		}},
		{name: "write closed", write: true, is: os.ErrClosed, run: func(t *testing.T, c *fileConn, srv *net.TCPConn, op ioFunc) (int, error) {
			c.Close()
			return op(c, []byte("x"))
		}},
		{name: "write after reset", write: true, is: syscall.ECONNRESET, run: func(t *testing.T, c *fileConn, srv *net.TCPConn, op ioFunc) (int, error) {
			srv.SetLinger(0)
			srv.Close()
			// Wait until the reset has arrived (the socket reports it),
			// without reading it away.
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
				if n, _ := unix.Poll(fds, 10); n == 1 && fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
					break
				}
			}
			return op(c, []byte("x"))
		}},
	}

	ln := loopbackListener(t)
	// pair dials a connection, in the netpoller at once if poll.
	pair := func(t *testing.T, poll bool) (*fileConn, *net.TCPConn) {
		c, srv := dialFileConn(t, ln)
		if c.polled.Load() != nil {
			t.Fatal("a new connection is in the netpoller before it waited")
		}
		if poll {
			if _, err := c.poll("test"); err != nil {
				t.Fatal(err)
			}
		}
		return c, srv
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, file := readRaw, readFile
			if tc.write {
				raw, file = writeRaw, writeFile
			}
			c2, s2 := pair(t, true)
			n2, err2 := tc.run(t, c2, s2, file)
			ops := map[string]ioFunc{"fileConn": raw, "fileConn in the netpoller": polled(raw)}
			if !tc.write && tc.name != "empty buffer" {
				ops["readPooled"] = readPooled
				ops["readPooled in the netpoller"] = polled(readPooled)
			}
			for name, op := range ops {
				c1, s1 := pair(t, strings.HasSuffix(name, "netpoller"))
				n1, err1 := tc.run(t, c1, s1, op)
				if n1 != n2 || fmt.Sprint(err1) != fmt.Sprint(err2) {
					t.Fatalf("%s gave (%d, %v), os.File (%d, %v)", name, n1, err1, n2, err2)
				}
				if fmt.Sprintf("%T", err1) != fmt.Sprintf("%T", err2) {
					t.Errorf("%s: error types differ: %T against %T", name, err1, err2)
				}
				if tc.is != nil && !errors.Is(err1, tc.is) {
					t.Errorf("%s: error %v does not match %v", name, err1, tc.is)
				}
				if tc.name == "eof" && err1 == nil {
					t.Errorf("%s: no EOF", name)
				}
			}
		})
	}
}

// countingPool is a bytePool that counts the buffers it has out.
type countingPool struct {
	gets, out atomic.Int64
}

func (p *countingPool) Get() any {
	p.gets.Add(1)
	p.out.Add(1)
	b := make([]byte, 64)
	return &b
}

func (p *countingPool) Put(any) { p.out.Add(-1) }

// TestReadPooledHoldsNoBufferWhileWaiting: readPooled borrows a buffer to
// try its read, gives it back while nothing has arrived, and returns the
// response's bytes in a buffer borrowed once they are there.
func TestReadPooledHoldsNoBufferWhileWaiting(t *testing.T) {
	c, srv := dialFileConn(t, loopbackListener(t))
	c.SetReadDeadline(time.Now().Add(10 * time.Second)) // a bound, should the test fail

	pool := new(countingPool)
	type result struct {
		bp  *[]byte
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		bp, n, err := c.readPooled(pool)
		done <- result{bp, n, err}
	}()
	// Waiting: it has tried (a buffer was lent) and given the buffer back.
	deadline := time.Now().Add(5 * time.Second)
	for pool.gets.Load() == 0 || pool.out.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("while waiting: %d buffers lent, %d out", pool.gets.Load(), pool.out.Load())
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := srv.Write([]byte("HTTP/1.1 200 OK\r\n")); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || string((*r.bp)[:r.n]) != "HTTP/1.1 200 OK\r\n" {
		t.Fatalf("read (%q, %v)", (*r.bp)[:r.n], r.err)
	}
	if got := pool.out.Load(); got != 1 {
		t.Errorf("%d buffers out after the read, want the one returned", got)
	}
}
