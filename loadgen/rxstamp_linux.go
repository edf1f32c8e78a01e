//go:build linux && !386

package loadgen

import (
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// rxMsg reads a socket with recvmsg(2) instead of read(2), so that with
// SO_TIMESTAMPNS set the kernel hands back, beside the bytes, when the last
// of them arrived: its software receive timestamp, taken as the packet
// entered this host's network stack (on loopback, as the server's send was
// delivered), not when the generator got round to reading it.
//
// Why it matters: a response read by a thread that was asleep is read one
// wake-up later. On the bench VM that wake-up alone is 77 µs at the median
// (p99 127 µs) against nginx at 200 requests/s, as much again as nginx's
// own time to answer: stamped when read(2) returns, the generator's
// wake-up is reported as the server's ttfb. The kernel's stamp leaves it
// out.
//
// The quirks, all kept here: the stamp is on CLOCK_REALTIME (clock.at
// converts it); a read carries the stamp of the last packet it consumed,
// and a packet that arrives behind an unread one is merged into it with
// its newer stamp (tcp_try_coalesce), so the stamp is the arrival of the
// newest byte read: exact for Done, and for the first byte exact when
// nothing came after it before the read, else later, but never later than
// the read's return (a user-space stamp); and a packet that arrived before
// the kernel turned timestamping on has none: at is then 0, and the caller
// stamps the read itself.
type rxMsg struct {
	hdr syscall.Msghdr
	iov syscall.Iovec
	oob [rxOOBLen]byte
	at  atomic.Int64 // the last read's receive timestamp, Unix ns on CLOCK_REALTIME; 0: none
}

// rxOOBLen holds one control message carrying a struct timespec: a
// cmsghdr and the timespec, each a multiple of the word size (CmsgSpace,
// which cannot size an array; rxstamp_linux_test.go checks the two agree).
const rxOOBLen = unsafe.Sizeof(syscall.Cmsghdr{}) + unsafe.Sizeof(syscall.Timespec{})

// enableRxStamps asks the kernel to stamp fd's received packets
// (SO_TIMESTAMPNS), reporting whether it will.
func enableRxStamps(fd uintptr) bool {
	one := int32(1)
	_, _, e := syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, uintptr(unsafe.Pointer(&one)), 4, 0)
	return e == 0
}

// rxStampsOn turns the kernel's receive timestamps on for the life of the
// process, once, by holding a socket that asks for them, and reports
// whether they are on. Why hold one: the first socket to ask turns them on
// for every packet the host receives, but in a work item that runs a little
// later (net_enable_timestamp), so the first responses would arrive
// unstamped; and when the last such socket closed (close mode can get there
// between connections) they would go off, and on again, each time. It
// checks by sending itself a datagram over loopback until one arrives
// stamped (200 ms at most). Engines call it before T0.
var rxStampsOn = sync.OnceValue(func() bool {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	if !enableRxStamps(uintptr(fd)) || syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}) != nil {
		syscall.Close(fd)
		return false
	}
	self, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return false
	}
	var m rxMsg
	buf := make([]byte, 8)
	for range 200 {
		if syscall.Sendto(fd, []byte("t"), 0, self) != nil {
			break
		}
		time.Sleep(time.Millisecond)
		for {
			n, e := m.recv(uintptr(fd), buf)
			if e != 0 || n == 0 {
				break
			}
			if m.at.Load() != 0 {
				return true // fd stays open: it keeps them on
			}
		}
	}
	syscall.Close(fd)
	return false
})

// recv makes one recvmsg(2) of p (not empty) on the non-blocking fd, with
// RawSyscall as fileConn's reads (see fileConn.Read), retrying EINTR. It
// returns what read(2) would, and sets m.at.
func (m *rxMsg) recv(fd uintptr, p []byte) (int, syscall.Errno) {
	m.iov.Base = &p[0]
	m.iov.SetLen(len(p))
	m.hdr = syscall.Msghdr{Iov: &m.iov, Iovlen: 1, Control: &m.oob[0]}
	for {
		m.hdr.SetControllen(len(m.oob))
		m.hdr.Flags = 0
		r, _, e := syscall.RawSyscall(syscall.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&m.hdr)), 0)
		if e == syscall.EINTR {
			continue
		}
		var at int64
		if e == 0 && r > 0 {
			at = m.stamp()
		}
		m.at.Store(at)
		return int(r), e
	}
}

// stamp returns the receive timestamp the last recvmsg left in oob, or 0.
func (m *rxMsg) stamp() int64 {
	n := int(m.hdr.Controllen)
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&m.oob[0]))
	data := syscall.CmsgLen(0)
	const tsLen = int(unsafe.Sizeof(syscall.Timespec{}))
	if n < data+tsLen || int(h.Len) < data+tsLen || h.Level != syscall.SOL_SOCKET || h.Type != syscall.SO_TIMESTAMPNS {
		return 0
	}
	ts := (*syscall.Timespec)(unsafe.Pointer(&m.oob[data]))
	return ts.Nano()
}
