//go:build linux && !386

package loadgen

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
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
// ctx. The connection is a fileConn: it reads and writes the socket itself
// and joins the netpoller, which then waits for it and serves its deadlines
// exactly as for a net.TCPConn, only when something must wait.
// Errors read as net.Dialer's do ("dial tcp ADDR: connect: ...").
func rawDial(ctx context.Context, ap netip.AddrPort, deadline time.Time) (net.Conn, error) {
	// The address as connect(2) takes it, on the stack: syscall.Connect's
	// Sockaddr would be one more allocation per connection.
	var sa rawSockaddr
	a := ap.Addr()
	switch {
	case a.Is4() || a.Is4In6():
		sa.setInet4(a.Unmap().As4(), ap.Port())
	case a.Zone() != "":
		return nil, errNoRawDial // scoped addresses: net.Dialer knows their interfaces
	default:
		sa.setInet6(a.As16(), ap.Port())
	}
	opErr := func(call string, err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: os.NewSyscallError(call, err)}
	}
	// The calls below return at once (the socket is non-blocking; on
	// loopback connect(2) completes the handshake inside, in about 10 µs), so
	// they are made with RawSyscall, without telling the scheduler (see
	// fileConn.Read).
	fd, _, e := syscall.RawSyscall(syscall.SYS_SOCKET, uintptr(sa.family()), syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if e != 0 {
		return nil, opErr("socket", e)
	}
	// As net.Dialer: no Nagle delay (requests are written whole anyway).
	one := int32(1)
	if _, _, e := syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, uintptr(unsafe.Pointer(&one)), 4, 0); e != 0 {
		syscall.RawSyscall(syscall.SYS_CLOSE, fd, 0, 0)
		return nil, opErr("setsockopt", e)
	}
	// The kernel's receive timestamps, for ttfb and download (rxMsg); a
	// socket that refuses them is read with read(2) and stamped by us.
	stamped := enableRxStamps(fd)
	var cerr syscall.Errno
	for {
		_, _, cerr = syscall.RawSyscall(syscall.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&sa.b)), uintptr(sa.n))
		if cerr != syscall.EINTR {
			break
		}
	}
	switch cerr {
	case 0, syscall.EINPROGRESS, syscall.EALREADY:
	default:
		syscall.RawSyscall(syscall.SYS_CLOSE, fd, 0, 0)
		return nil, opErr("connect", cerr)
	}
	c := newFileConn(int(fd), ap, stamped)
	if cerr == 0 || connected(int(fd)) { // connected inside connect (loopback)
		return c, nil
	}
	if err := c.awaitConnect(ctx, deadline); err != nil {
		c.Close()
		if errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(ap), Err: err}
		}
		return nil, opErr("connect", err)
	}
	return c, nil
}

// rawSockaddr is a socket address in the kernel's layout (struct
// sockaddr_in or sockaddr_in6) and its length.
type rawSockaddr struct {
	b [syscall.SizeofSockaddrInet6]byte
	n uint32
}

func (sa *rawSockaddr) setInet4(addr [4]byte, port uint16) {
	r := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&sa.b))
	r.Family = syscall.AF_INET
	setPort(&r.Port, port)
	r.Addr = addr
	sa.n = syscall.SizeofSockaddrInet4
}

func (sa *rawSockaddr) setInet6(addr [16]byte, port uint16) {
	r := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&sa.b))
	r.Family = syscall.AF_INET6
	setPort(&r.Port, port)
	r.Addr = addr
	sa.n = syscall.SizeofSockaddrInet6
}

func (sa *rawSockaddr) family() uint16 {
	return (*syscall.RawSockaddrInet4)(unsafe.Pointer(&sa.b)).Family
}

// setPort stores port in network byte order.
func setPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

// connected reports whether fd's connect has completed: getpeername fails
// with ENOTCONN until it has.
func connected(fd int) bool {
	var sa rawSockaddr
	sa.n = uint32(len(sa.b))
	_, _, e := syscall.RawSyscall(syscall.SYS_GETPEERNAME, uintptr(fd), uintptr(unsafe.Pointer(&sa.b)), uintptr(unsafe.Pointer(&sa.n)))
	return e == 0
}

// awaitConnect waits until the connect in progress completes or fails, or
// deadline passes, or ctx ends.
func (c *fileConn) awaitConnect(ctx context.Context, deadline time.Time) error {
	pc, err := c.poll("connect")
	if err != nil {
		return err
	}
	if err := c.SetWriteDeadline(deadline); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { c.SetWriteDeadline(aLongTimeAgo) })
	defer stop()
	var serr error
	werr := pc.rc.Write(func(fd uintptr) bool {
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
