//go:build linux

package loadgen

import (
	"context"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// timerFD is a one-shot timerfd read through the netpoller: its read parks
// the goroutine, and the epoll_wait the runtime sleeps in wakes when the
// timer expires (see waker). Its system calls are RawSyscalls, as the
// sockets' are (fileConn.Read says why): with Syscall, sysmon took the P
// from them and kept waking (S3 on a 1 ms grid: 32,000-38,000 context
// switches in 6 s, against 15,000-17,000 with RawSyscall).
type timerFD struct {
	fd    int
	f     *os.File
	rc    syscall.RawConn
	read  func(fd uintptr) bool
	poll  func(fd uintptr) bool
	armed bool
	buf   [8]byte
	errno syscall.Errno // readExpiry's
	stop  func() bool
}

// openTimerFD returns a timerFD whose sleeps fail once ctx is done, or nil
// when the system gives none.
func openTimerFD(ctx context.Context) *timerFD {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil
	}
	// A non-blocking descriptor joins the netpoller in os.NewFile.
	t := &timerFD{fd: fd, f: os.NewFile(uintptr(fd), "timerfd")}
	if t.rc, err = t.f.SyscallConn(); err != nil {
		t.f.Close()
		return nil
	}
	t.read, t.poll = t.readExpiry, t.pollExpiry
	t.stop = context.AfterFunc(ctx, func() { t.f.SetReadDeadline(aLongTimeAgo) })
	return t
}

// sleep arms the timer d from now and waits for it to expire.
func (t *timerFD) sleep(d time.Duration) error {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	// Arming resets the expiry count, so the read returns at the expiry.
	_, _, e := syscall.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(t.fd), 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	if e != 0 {
		return os.NewSyscallError("timerfd_settime", e)
	}
	t.errno = 0
	if err := t.rc.Read(t.read); err != nil {
		return err
	}
	if t.errno != 0 {
		return os.NewSyscallError("read timerfd", t.errno)
	}
	return nil
}

// yield parks the goroutine until the runtime next polls the network, which
// it does once nothing else is runnable: the timer, armed to expire at
// once, wakes it from there.
func (t *timerFD) yield() error {
	t.armed, t.errno = false, 0
	if err := t.rc.Read(t.poll); err != nil {
		return err
	}
	if t.errno != 0 {
		return os.NewSyscallError("read timerfd", t.errno)
	}
	return nil
}

// pollExpiry arms the timer on its first call, after RawConn.Read cleared
// the readiness (so the expiry's edge is seen), and waits; then reads.
func (t *timerFD) pollExpiry(fd uintptr) bool {
	if !t.armed {
		t.armed = true
		spec := unix.ItimerSpec{Value: unix.Timespec{Nsec: 1}}
		if _, _, e := syscall.RawSyscall6(unix.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0); e != 0 {
			t.errno = e
			return true
		}
		return false
	}
	return t.readExpiry(fd)
}

// readExpiry reads the expiry count: false (wait) until the timer expired.
func (t *timerFD) readExpiry(fd uintptr) bool {
	for {
		_, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&t.buf[0])), uintptr(len(t.buf)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		t.errno = e // 0: the count was read
		return true
	}
}

func (t *timerFD) close() {
	t.stop()
	t.f.Close()
}
