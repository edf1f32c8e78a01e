package loadgen

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
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
	c := newFileConn(fd, ap)
	if cerr == nil || connected(fd) { // connected inside connect (loopback)
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

// connected reports whether fd's connect has completed: getpeername fails
// with ENOTCONN until it has.
func connected(fd int) bool {
	_, err := syscall.Getpeername(fd)
	return err == nil
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
