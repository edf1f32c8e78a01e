package loadgen

import (
	"context"
	"errors"
	"net"
	"os"

	"github.com/tailrace/tailrace/histogram"
)

// ErrorClass says how a request failed. The phase it failed in is kept beside
// it in the Trail, so "timeout in ttfb" and "connect refused" stay distinct
// while the set of labels stays small and bounded.
type ErrorClass uint8

// Error classes.
const (
	ErrNone     ErrorClass = iota
	ErrFailed              // the phase's operation failed (refused, reset, bad TLS, ...)
	ErrTimeout             // a deadline (--timeout or a per-phase timeout) expired in the phase
	ErrDropped             // never sent: --max-inflight was reached (the generator was the limit)
	ErrCanceled            // the run was stopped while the request was in flight
)

// Label returns the error's name in outputs: the phase ("connect"),
// "timeout@phase", "dropped" or "canceled@phase".
func (c ErrorClass) Label(p histogram.Phase) string {
	switch c {
	case ErrNone:
		return ""
	case ErrTimeout:
		return "timeout@" + p.String()
	case ErrDropped:
		return "dropped"
	case ErrCanceled:
		return "canceled@" + p.String()
	}
	return p.String()
}

// Cause values attached to request contexts, so a canceled context says why.
var (
	errWholeTimeout = errors.New("loadgen: request timeout (--timeout)")
	errTTFBTimeout  = errors.New("loadgen: ttfb timeout (--ttfb-timeout)")
	errRunStopped   = errors.New("loadgen: run stopped")
)

// classify maps an error seen in phase p to its class, using the request
// context's cause to tell timeouts from failures.
func classify(ctx context.Context, err error) ErrorClass {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errWholeTimeout), errors.Is(cause, errTTFBTimeout),
		errors.Is(cause, errConnectTimeout), errors.Is(cause, errTLSTimeout):
		return ErrTimeout
	case errors.Is(cause, errRunStopped):
		return ErrCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return ErrTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ErrTimeout
	}
	return ErrFailed
}
