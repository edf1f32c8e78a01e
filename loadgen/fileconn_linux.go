//go:build linux && !386

package loadgen

import (
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// fileConn is a connected TCP socket of rawDial's as a net.Conn. It makes
// its reads and writes itself, with syscall.RawSyscall on the non-blocking
// socket (see Read), and the socket joins the runtime's netpoller only when
// something must wait on it: the first read or write that finds it not
// ready (EAGAIN), or that finds its deadline passed. From then on it waits,
// and serves deadlines, exactly as an os.File (or a net.TCPConn) does.
//
// Why join late: joining costs a connection an fcntl, an epoll_ctl to add
// the socket and another to remove it, an os.File with its poll descriptor
// and finalizer, and their closing. A connection that never waits never pays
// it, and in close and resume modes on loopback most never wait: the
// connect completes inside connect(2), and h1Conn.try reads the response
// after letting other requests run, by when it has arrived.
//
// One Read and one Write may run at a time; Close, deadlines and LocalAddr
// may be called from any goroutine, as for any net.Conn. The socket is
// closed once Close was called and no system call of a Read or Write is in
// flight on it. A fileConn that has not joined the netpoller has no
// finalizer: its owner must Close it.
type fileConn struct {
	fd    int
	raddr netip.AddrPort
	// state counts the raw system calls in flight on fd, times two, plus
	// one once Close was called.
	state  atomic.Int64
	polled atomic.Pointer[polledFile] // nil until the socket joins the netpoller
	// Deadlines set before the socket joined the netpoller, as monoNow
	// readings (0: none); once it has joined, its os.File keeps them.
	rdl, wdl  atomic.Int64
	mu        sync.Mutex // orders joining against deadlines and the close
	closeOnce sync.Once
	closeErr  error
	r, w      rawIO // the system calls made through the netpoller
	// rx reads with recvmsg for the kernel's receive timestamps (see
	// rxMsg): &rxm, or nil when the socket has none, and reads are read(2)s.
	// rxm is inline, not one more allocation per connection.
	rx  *rxMsg
	rxm rxMsg
	// gate, under the tick pacer, is where a response's first read waits
	// while the socket is not in the netpoller (readPooled); nil: none.
	gate *tickGate
}

// polledFile is the socket as an os.File in the netpoller.
type polledFile struct {
	f  *os.File
	rc syscall.RawConn
}

// rawIO is one direction's system call as a function for RawConn.Read or
// Write, made when the socket joins the netpoller: a closure made per call
// would allocate.
type rawIO struct {
	mu    sync.Mutex
	p     []byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool
	trap  uintptr // SYS_READ or SYS_WRITE
	rx    *rxMsg  // reads: recvmsg(2) through it instead of read(2)
	// With pool set (readPooled), read borrows p from pool for each attempt
	// and gives it back (bp nil again) before it waits.
	pool bytePool
	bp   *[]byte
}

// newFileConn wraps the connected socket fd; with stamped (SO_TIMESTAMPNS
// is set on it) its reads take the kernel's receive timestamps (rxTime).
func newFileConn(fd int, raddr netip.AddrPort, stamped bool) *fileConn {
	c := &fileConn{fd: fd, raddr: raddr}
	c.r.trap, c.w.trap = syscall.SYS_READ, syscall.SYS_WRITE
	if stamped {
		c.rx = &c.rxm
		c.r.rx = c.rx
	}
	return c
}

// setGate makes nc's first reads of responses wait at g (readPooled), if nc
// is a fileConn.
func setGate(nc net.Conn, g *tickGate) {
	if c, ok := nc.(*fileConn); ok {
		c.gate = g
	}
}

// rxTime returns when the bytes the last read returned arrived, by the
// kernel's receive timestamp (Unix ns on CLOCK_REALTIME), or 0 when the
// read carried none.
func (c *fileConn) rxTime() int64 {
	if c.rx == nil {
		return 0
	}
	return c.rx.at.Load()
}

// monoBase is the origin of monoNow: deadlines are kept as monotonic
// offsets from it, so that checking one costs a single clock read.
var monoBase = time.Now()

func monoNow() int64 { return int64(time.Since(monoBase)) }

// monoOf converts a deadline to a monoNow reading; 0 is none.
func monoOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	if d := int64(t.Sub(monoBase)); d != 0 {
		return d
	}
	return 1
}

func (c *fileConn) name() string { return "tcp " + c.raddr.String() }

func (c *fileConn) closedErr(op string) error {
	return &os.PathError{Op: op, Path: c.name(), Err: os.ErrClosed}
}

// release ends a raw system call begun by quick (or LocalAddr), closing the
// socket if Close was called meanwhile.
func (c *fileConn) release() {
	if c.state.Add(-2) == 1 {
		c.closeOnce.Do(c.closeNow)
	}
}

// What quick did.
const (
	quickDone   = iota // it made the call: its count and errno stand
	quickWait          // the caller must go through the netpoller instead
	quickClosed        // Close was called
)

// quick makes one raw read(2) or write(2) (trap) of p, which must not be
// empty, on a socket not yet in the netpoller. It does not make it, and
// says quickWait, when dl (the direction's deadline) has passed: the
// netpoller reports that exactly as os.File does.
func (c *fileConn) quick(trap uintptr, p []byte, dl *atomic.Int64) (int, syscall.Errno, int) {
	if d := dl.Load(); d != 0 && monoNow() >= d {
		return 0, 0, quickWait
	}
	if c.state.Add(2)&1 != 0 {
		c.release()
		return 0, 0, quickClosed
	}
	var r uintptr
	var e syscall.Errno
	if trap == syscall.SYS_READ && c.rx != nil {
		var n int
		n, e = c.rx.recv(uintptr(c.fd), p)
		r = uintptr(n)
	} else {
		r, _, e = syscall.RawSyscall(trap, uintptr(c.fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		for e == syscall.EINTR {
			r, _, e = syscall.RawSyscall(trap, uintptr(c.fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		}
	}
	c.release()
	switch e {
	case syscall.EAGAIN:
		return 0, 0, quickWait
	case 0:
		return int(r), 0, quickDone
	}
	return 0, e, quickDone
}

// poll returns the socket as an os.File in the netpoller, making it so the
// first time (os.NewFile registers a non-blocking descriptor), with the
// deadlines set so far.
func (c *fileConn) poll(op string) (*polledFile, error) {
	if pc := c.polled.Load(); pc != nil {
		return pc, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if pc := c.polled.Load(); pc != nil {
		return pc, nil
	}
	if c.state.Load()&1 != 0 {
		return nil, c.closedErr(op)
	}
	f := os.NewFile(uintptr(c.fd), c.name())
	rc, err := f.SyscallConn()
	if err != nil { // not reached for a socket; f is then not ours to close
		return nil, err
	}
	if d := c.rdl.Load(); d != 0 {
		f.SetReadDeadline(monoBase.Add(time.Duration(d)))
	}
	if d := c.wdl.Load(); d != 0 {
		f.SetWriteDeadline(monoBase.Add(time.Duration(d)))
	}
	c.r.fn, c.w.fn = c.r.read, c.w.write
	pc := &polledFile{f: f, rc: rc}
	c.polled.Store(pc)
	return pc, nil
}

// closeNow closes the socket (through its os.File once it has one). It runs
// once, when Close was called and no raw system call is in flight.
func (c *fileConn) closeNow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pc := c.polled.Load(); pc != nil {
		c.closeErr = pc.f.Close()
		return
	}
	// Raw, as the socket's reads and writes: closing a socket without
	// SO_LINGER does not block.
	if _, _, e := syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(c.fd), 0, 0); e != 0 {
		c.closeErr = &os.PathError{Op: "close", Path: c.name(), Err: e}
	}
}

// Close closes the connection: at once, or when the raw system call in
// flight returns. A Read or Write waiting in the netpoller returns at once
// with os.ErrClosed, as on an os.File.
func (c *fileConn) Close() error {
	old := c.state.Or(1)
	switch {
	case old&1 != 0:
		return c.closedErr("close")
	case old == 0:
		c.closeOnce.Do(c.closeNow)
		return c.closeErr
	}
	return nil // the call in flight closes it (release)
}

// read makes one read(2) of p: false asks RawConn.Read to wait for
// readability (EAGAIN).
func (x *rawIO) read(fd uintptr) bool {
	if x.pool != nil && x.bp == nil {
		x.bp = x.pool.Get().(*[]byte)
		x.p = *x.bp
	}
	for {
		var r uintptr
		var e syscall.Errno
		if x.rx != nil {
			var n int
			n, e = x.rx.recv(fd, x.p)
			r = uintptr(n)
		} else {
			r, _, e = syscall.RawSyscall(x.trap, fd, uintptr(unsafe.Pointer(&x.p[0])), uintptr(len(x.p)))
		}
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

// rawDo runs x's system call through the netpoller (c.r reads, c.w writes),
// on p, or for a read with pool set on a buffer borrowed from pool, which
// it returns (nil when the netpoller failed the wait): what it moved, the
// error the call returned, and the netpoller's.
func (c *fileConn) rawDo(pc *polledFile, x *rawIO, p []byte, pool bytePool) (int, *[]byte, syscall.Errno, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.p, x.n, x.errno, x.pool, x.bp = p, 0, 0, pool, nil
	var err error
	if x == &c.r {
		err = pc.rc.Read(x.fn)
	} else {
		err = pc.rc.Write(x.fn)
	}
	bp := x.bp
	x.p, x.pool, x.bp = nil, nil, nil
	return x.n, bp, x.errno, err
}

// Read reads as os.File's Read does, with the same results and errors,
// but makes the read(2) itself with RawSyscall: the socket is non-blocking,
// so the call never blocks, and when it would, the netpoller waits as for
// any socket. Why: as we understand the runtime, a P seen in a
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
		if c.state.Load()&1 != 0 {
			return 0, c.closedErr("read")
		}
		return 0, nil
	}
	if c.polled.Load() == nil {
		n, errno, st := c.quick(syscall.SYS_READ, p, &c.rdl)
		switch st {
		case quickDone:
			return c.readResult(n, errno)
		case quickClosed:
			return 0, c.closedErr("read")
		}
	}
	pc, err := c.poll("read")
	if err != nil {
		return 0, err
	}
	n, _, errno, err := c.rawDo(pc, &c.r, p, nil)
	if err != nil {
		return pc.f.Read(p)
	}
	return c.readResult(n, errno)
}

// readResult turns what a read(2) gave into Read's results.
func (c *fileConn) readResult(n int, errno syscall.Errno) (int, error) {
	switch {
	case errno != 0:
		return 0, &os.PathError{Op: "read", Path: c.name(), Err: errno}
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
//
// With a gate (and the kernel's receive timestamps, which keep the stamps
// exact) a read that finds nothing waits for the tick pacer's next tick and
// tries again, and the socket stays out of the netpoller; a passed deadline
// or an open gate sends it to the netpoller as before.
func (c *fileConn) readPooled(pool bytePool) (*[]byte, int, error) {
	for gated := c.gate != nil && c.rx != nil; c.polled.Load() == nil; {
		bp := pool.Get().(*[]byte)
		n, errno, st := c.quick(syscall.SYS_READ, *bp, &c.rdl)
		switch st {
		case quickDone:
			n, err := c.readResult(n, errno)
			return bp, n, err
		case quickClosed:
			return bp, 0, c.closedErr("read")
		}
		pool.Put(bp)
		if !gated || !c.gate.wait(c.rdl.Load()) {
			break
		}
	}
	pc, err := c.poll("read")
	if err != nil {
		return pool.Get().(*[]byte), 0, err
	}
	n, bp, errno, err := c.rawDo(pc, &c.r, nil, pool)
	if bp == nil { // the netpoller failed the wait (a deadline, a close)
		bp = pool.Get().(*[]byte)
	}
	if err != nil {
		n, err = pc.f.Read(*bp)
		return bp, n, err
	}
	n, err = c.readResult(n, errno)
	return bp, n, err
}

// Write writes all of p as os.File's Write does, with the same results and
// errors, making each write(2) with RawSyscall (see Read).
func (c *fileConn) Write(p []byte) (int, error) {
	n := 0
	if c.polled.Load() == nil {
		for n < len(p) {
			m, errno, st := c.quick(syscall.SYS_WRITE, p[n:], &c.wdl)
			if st == quickWait {
				break
			}
			if st == quickClosed {
				return n, c.closedErr("write")
			}
			if errno != 0 {
				return n, &os.PathError{Op: "write", Path: c.name(), Err: errno}
			}
			n += m
		}
		if n == len(p) {
			return n, nil
		}
	}
	pc, err := c.poll("write")
	if err != nil {
		return n, err
	}
	m, _, errno, err := c.rawDo(pc, &c.w, p[n:], nil)
	n += m
	switch {
	case err != nil:
		m, err := pc.f.Write(p[n:])
		return n + m, err
	case errno != 0:
		return n, &os.PathError{Op: "write", Path: c.name(), Err: errno}
	}
	return n, nil
}

// SetDeadline, SetReadDeadline and SetWriteDeadline keep the deadline for
// the socket's first wait, or give it to its os.File once it has one.
func (c *fileConn) SetDeadline(t time.Time) error {
	return c.setDeadline(t, true, true)
}

func (c *fileConn) SetReadDeadline(t time.Time) error  { return c.setDeadline(t, true, false) }
func (c *fileConn) SetWriteDeadline(t time.Time) error { return c.setDeadline(t, false, true) }

func (c *fileConn) setDeadline(t time.Time, read, write bool) error {
	if pc := c.polled.Load(); pc != nil {
		return setFileDeadline(pc.f, t, read, write)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if pc := c.polled.Load(); pc != nil {
		return setFileDeadline(pc.f, t, read, write)
	}
	if c.state.Load()&1 != 0 {
		return c.closedErr("SetDeadline")
	}
	d := monoOf(t)
	if read {
		c.rdl.Store(d)
	}
	if write {
		c.wdl.Store(d)
	}
	return nil
}

func setFileDeadline(f *os.File, t time.Time, read, write bool) error {
	switch {
	case read && write:
		return f.SetDeadline(t)
	case read:
		return f.SetReadDeadline(t)
	}
	return f.SetWriteDeadline(t)
}

func (c *fileConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.raddr) }

func (c *fileConn) LocalAddr() net.Addr {
	addr := &net.TCPAddr{}
	if c.state.Add(2)&1 == 0 {
		switch sa, _ := syscall.Getsockname(c.fd); sa := sa.(type) {
		case *syscall.SockaddrInet4:
			addr = &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
		case *syscall.SockaddrInet6:
			addr = &net.TCPAddr{IP: sa.Addr[:], Port: sa.Port}
		}
	}
	c.release()
	return addr
}
