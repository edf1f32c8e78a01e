//go:build linux

package loadgen

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// timerFD is a one-shot timerfd read through the netpoller: its read parks
// the goroutine, and the epoll_wait the runtime sleeps in wakes when the
// timer expires (see waker).
type timerFD struct {
	fd   int
	f    *os.File
	buf  [8]byte
	stop func() bool
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
	t.stop = context.AfterFunc(ctx, func() { t.f.SetReadDeadline(aLongTimeAgo) })
	return t
}

// sleep arms the timer d from now and waits for it to expire.
func (t *timerFD) sleep(d time.Duration) error {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(t.fd, 0, &spec, nil); err != nil {
		return os.NewSyscallError("timerfd_settime", err)
	}
	// Arming resets the expiry count, so this read returns at the expiry.
	_, err := t.f.Read(t.buf[:])
	return err
}

func (t *timerFD) close() {
	t.stop()
	t.f.Close()
}
