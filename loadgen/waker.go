package loadgen

import (
	"context"
	"runtime"
	"time"
)

// waker sleeps the tick pacer until an instant, to within the machine's
// wake-up latency. The runtime's timers cannot do that on Linux: an idle Go
// program sleeps in epoll_wait, whose timeout is in whole milliseconds, so
// what is left of a sleep is rounded up to one (sleeps to a 1 ms grid with
// time.Timer land 0.1-1.0 ms late, spread evenly). A timerfd in the
// netpoller wakes that same epoll_wait when it expires: 45-110 µs late on
// this VM, its wake-up latency. Where there is no timerfd (other systems,
// or the call failed) the waker uses a time.Timer.
type waker struct {
	tfd *timerFD // nil: t
	t   *time.Timer
}

// newWaker returns a waker whose sleeps end early, with ctx's error, once
// ctx is done.
func newWaker(ctx context.Context) *waker {
	if tfd := openTimerFD(ctx); tfd != nil {
		return &waker{tfd: tfd}
	}
	return &waker{t: time.NewTimer(time.Hour)}
}

// sleepUntil returns at due or soon after: nil, or ctx's error once ctx is
// done.
func (w *waker) sleepUntil(ctx context.Context, due time.Time) error {
	d := time.Until(due)
	if d <= 0 {
		return ctx.Err()
	}
	if w.tfd != nil {
		err := w.tfd.sleep(d)
		if err == nil || ctx.Err() != nil {
			return ctx.Err()
		}
		// The timerfd failed: the runtime's timer from now on.
		w.tfd.close()
		w.tfd, w.t = nil, time.NewTimer(time.Hour)
		if d = time.Until(due); d <= 0 {
			return nil
		}
	}
	w.t.Reset(d)
	select {
	case <-w.t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// exact tells whether the waker's sleeps end on a timerfd (within the
// wake-up latency), not on the runtime's timer (within a millisecond).
func (w *waker) exact() bool { return w.tfd != nil }

// yield parks the caller until the runtime next polls the network: once
// nothing else is runnable. Without a timerfd it only yields the P.
func (w *waker) yield() {
	if w.tfd == nil || w.tfd.sleep(1) != nil {
		runtime.Gosched()
	}
}

func (w *waker) close() {
	if w.tfd != nil {
		w.tfd.close()
	} else {
		w.t.Stop()
	}
}
