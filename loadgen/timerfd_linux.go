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
	f     *os.File
	rc    syscall.RawConn
	wait  func(fd uintptr) bool // expire, made once: a method value per call would allocate
	d     time.Duration         // the sleep expire arms
	armed bool
	buf   [8]byte
	op    string // the call that failed with errno
	errno syscall.Errno
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
	t := &timerFD{f: os.NewFile(uintptr(fd), "timerfd")}
	if t.rc, err = t.f.SyscallConn(); err != nil {
		t.f.Close()
		return nil
	}
	t.wait = t.expire
	t.stop = context.AfterFunc(ctx, func() { t.f.SetReadDeadline(aLongTimeAgo) })
	return t
}

// sleep arms the timer d from now and waits for it to expire. A sleep of
// 1 ns parks the goroutine only until the runtime next polls the network,
// which it does once nothing else is runnable (waker.yield).
func (t *timerFD) sleep(d time.Duration) error {
	t.d, t.armed, t.errno = d, false, 0
	if err := t.rc.Read(t.wait); err != nil {
		return err
	}
	if t.errno != 0 {
		return os.NewSyscallError(t.op, t.errno)
	}
	return nil
}

// expire, RawConn.Read's function, arms the timer on its first call and
// waits without reading: RawConn.Read cleared the descriptor's readiness
// before that call, so the expiry's edge is seen. Then it reads the
// expiry count (arming reset it to 0).
func (t *timerFD) expire(fd uintptr) bool {
	if !t.armed {
		t.armed = true
		spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(t.d))}
		if _, _, e := syscall.RawSyscall6(unix.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0); e != 0 {
			t.op, t.errno = "timerfd_settime", e
			return true
		}
		return false
	}
	for {
		_, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&t.buf[0])), uintptr(len(t.buf)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN: // woken early (a stale edge): wait on
			return false
		case 0:
			return true
		}
		t.op, t.errno = "read timerfd", e
		return true
	}
}

func (t *timerFD) close() {
	t.stop()
	t.f.Close()
}
