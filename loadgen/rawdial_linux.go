package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// rawDial connects a TCP socket to ap itself instead of through net.Dialer,
// in every mode (it counts most in close and resume, a connection per
// request): net.Dialer costs about twice the user CPU per connection (its
// contexts, timers and finalizers, getsockname and getpeername, and a park
// in the netpoller for every connect even where the handshake completed
// inside connect, as it does on loopback). Here a connect that has completed by the time the
// syscall returns goes on at once; one still in progress waits for the
// socket to become writable, as net.Dialer does, bounded by deadline and
// ctx. The connection is net.Conn over an *os.File, so the netpoller
// waits for its reads and writes and serves its deadlines exactly as for
// a net.TCPConn.
// Errors read as net.Dialer's do ("dial tcp ADDR: connect: ...").
func rawDial(ctx context.Context, ap netip.AddrPort, deadline time.Time) (net.Conn, error) {
	family := syscall.AF_INET
	var sa syscall.Sockaddr
	if a := ap.Addr(); a.Is4() || a.Is4In6() {
		sa = &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: a.Unmap().As4()}
	} else {
		if a.Zone() != "" {
			return nil, errNoRawDial // scoped addresses: net.Dialer knows their interfaces
		}
		family = syscall.AF_INET6
		sa = &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	}
	opErr := func(call string, err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: os.NewSyscallError(call, err)}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return nil, opErr("socket", err)
	}
	// As net.Dialer: no Nagle delay (requests are written whole anyway).
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != nil {
		syscall.Close(fd)
		return nil, opErr("setsockopt", err)
	}
	cerr := syscall.Connect(fd, sa)
	for cerr == syscall.EINTR {
		cerr = syscall.Connect(fd, sa)
	}
	switch cerr {
	case nil, syscall.EINPROGRESS, syscall.EALREADY:
	default:
		syscall.Close(fd)
		return nil, opErr("connect", cerr)
	}
	f := os.NewFile(uintptr(fd), "tcp "+ap.String()) // registers fd with the netpoller
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, opErr("socket", err)
	}
	c := newFileConn(f, rc, ap)
	if cerr == nil {
		return c, nil
	}
	if connected(fd) { // the handshake finished inside connect (loopback)
		return c, nil
	}
	if err := c.awaitConnect(ctx, deadline); err != nil {
		f.Close()
		if errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: err}
		}
		return nil, opErr("connect", err)
	}
	return c, nil
}

// connected reports whether fd's connect has completed: getpeername fails
// with ENOTCONN until it has.
func connected(fd int) bool {
	_, err := syscall.Getpeername(fd)
	return err == nil
}

// awaitConnect waits until the connect in progress completes or fails, or
// deadline passes, or ctx ends.
func (c *fileConn) awaitConnect(ctx context.Context, deadline time.Time) error {
	if err := c.SetWriteDeadline(deadline); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { c.SetWriteDeadline(aLongTimeAgo) })
	defer stop()
	var serr error
	werr := c.rc.Write(func(fd uintptr) bool {
		// Check the socket itself each time: readiness seen before the
		// wait started is reset by it, so only its state can be trusted.
		n, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		switch {
		case err != nil:
			serr = err
			return true
		case n != 0 && syscall.Errno(n) != syscall.EINPROGRESS && syscall.Errno(n) != syscall.EALREADY && syscall.Errno(n) != syscall.EINTR:
			serr = syscall.Errno(n)
			return true
		}
		return connected(int(fd))
	})
	if err := c.SetWriteDeadline(time.Time{}); err != nil && werr == nil && serr == nil {
		return err
	}
	if werr != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return werr
	}
	return serr
}

// fileConn is a connected TCP socket of rawDial's as a net.Conn. Its Read
// and Write make their system calls with syscall.RawSyscall instead of
// through the runtime's entersyscall (as os.File's and net.TCPConn's do);
// see Read.
type fileConn struct {
	*os.File
	rc    syscall.RawConn
	raddr netip.AddrPort
	r, w  rawIO // one read and one write at a time, without allocating
}

// rawIO is one direction's system call as a function for RawConn.Read or
// Write, made once per connection: a closure made per call would allocate.
type rawIO struct {
	mu    sync.Mutex
	p     []byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool
	trap  uintptr // SYS_READ or SYS_WRITE
	// With pool set (readPooled), read borrows p from pool for each attempt
	// and gives it back (bp nil again) before it waits.
	pool bytePool
	bp   *[]byte
}

func newFileConn(f *os.File, rc syscall.RawConn, raddr netip.AddrPort) *fileConn {
	c := &fileConn{File: f, rc: rc, raddr: raddr}
	c.r.trap, c.r.fn = syscall.SYS_READ, c.r.read
	c.w.trap, c.w.fn = syscall.SYS_WRITE, c.w.write
	return c
}

// read makes one read(2) of p: false asks RawConn.Read to wait for
// readability (EAGAIN).
func (x *rawIO) read(fd uintptr) bool {
	if x.pool != nil && x.bp == nil {
		x.bp = x.pool.Get().(*[]byte)
		x.p = *x.bp
	}
	for {
		r, _, e := syscall.RawSyscall(x.trap, fd, uintptr(unsafe.Pointer(&x.p[0])), uintptr(len(x.p)))
		switch e {
		case 0:
			x.n = int(r)
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if x.pool != nil {
				x.pool.Put(x.bp)
				x.bp, x.p = nil, nil
			}
			return false
		default:
			x.errno = e
		}
		return true
	}
}

// write writes what is left of p: false asks RawConn.Write to wait for
// writability (EAGAIN).
func (x *rawIO) write(fd uintptr) bool {
	for x.n < len(x.p) {
		r, _, e := syscall.RawSyscall(x.trap, fd, uintptr(unsafe.Pointer(&x.p[x.n])), uintptr(len(x.p)-x.n))
		switch e {
		case 0:
			x.n += int(r)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			x.errno = e
			return true
		}
	}
	return true
}

// rawDo runs x's system call through the RawConn (c.r reads, c.w writes),
// on p, or for a read with pool set on a buffer borrowed from pool, which
// it returns (nil when the netpoller failed the wait): what it moved, the
// error the call returned, and the netpoller's.
func (c *fileConn) rawDo(x *rawIO, p []byte, pool bytePool) (int, *[]byte, syscall.Errno, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.p, x.n, x.errno, x.pool, x.bp = p, 0, 0, pool, nil
	var err error
	if x == &c.r {
		err = c.rc.Read(x.fn)
	} else {
		err = c.rc.Write(x.fn)
	}
	bp := x.bp
	x.p, x.pool, x.bp = nil, nil, nil
	return x.n, bp, x.errno, err
}

// Read reads as os.File's Read does, with the same results and errors,
// but makes the read(2) itself with RawSyscall: the socket is non-blocking,
// so the call never blocks, and when it would, the netpoller waits as for
// any socket (rc.Read). Why: as we understand the runtime, a P seen in a
// system call on two of sysmon's ticks (20 µs apart) is taken from it, and
// with one P (a generator pinned to one core) each such retake kept sysmon
// from backing off towards its 10 ms sleep: at 10,000 requests/s over
// keep-alive connections, 30,000 of sysmon's nanosleeps in 5 s and two
// thirds of the process's context switches. Read and Write with RawSyscall cut S3's CPU per request by
// about a quarter (bench/README.md).
//
// Only a read that ran gives its own result here. When the netpoller
// reports an error instead (a deadline passed, the file was closed), no
// byte and no socket error has been consumed, so os.File's Read runs and
// reports it, exactly as before.
func (c *fileConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return c.File.Read(p)
	}
	n, _, errno, err := c.rawDo(&c.r, p, nil)
	return c.readResult(p, n, errno, err)
}

// readResult turns what a read through rawDo gave into Read's results.
func (c *fileConn) readResult(p []byte, n int, errno syscall.Errno, err error) (int, error) {
	switch {
	case err != nil:
		return c.File.Read(p)
	case errno != 0:
		return 0, &os.PathError{Op: "read", Path: c.Name(), Err: errno}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// readPooled reads as Read does into a buffer it borrows from pool, and
// returns the buffer (the caller's from then on) with the count and error.
// It borrows only to try a read: when nothing has arrived yet it gives the
// buffer back before it waits, so a request waiting for a slow server's
// first byte holds no buffer (ten thousand of them waiting would otherwise
// hold ten thousand). No system call is added: the read that finds nothing
// is the one Read makes anyway.
func (c *fileConn) readPooled(pool bytePool) (*[]byte, int, error) {
	n, bp, errno, err := c.rawDo(&c.r, nil, pool)
	if bp == nil { // the netpoller failed the wait (a deadline, a close)
		bp = pool.Get().(*[]byte)
	}
	n, err = c.readResult(*bp, n, errno, err)
	return bp, n, err
}

// Write writes all of p as os.File's Write does, with the same results and
// errors, making each write(2) with RawSyscall (see Read).
func (c *fileConn) Write(p []byte) (int, error) {
	n, _, errno, err := c.rawDo(&c.w, p, nil)
	switch {
	case err != nil:
		m, err := c.File.Write(p[n:])
		return n + m, err
	case errno != 0:
		return n, &os.PathError{Op: "write", Path: c.Name(), Err: errno}
	}
	return n, nil
}

func (c *fileConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.raddr) }

func (c *fileConn) LocalAddr() net.Addr {
	var addr net.Addr = &net.TCPAddr{}
	if c.rc != nil {
		c.rc.Control(func(fd uintptr) {
			switch sa, _ := syscall.Getsockname(int(fd)); sa := sa.(type) {
			case *syscall.SockaddrInet4:
				addr = &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
			case *syscall.SockaddrInet6:
				addr = &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
			}
		})
	}
	return addr
}
