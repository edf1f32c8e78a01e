//go:build !linux

package loadgen

import (
	"context"
	"time"
)

// timerFD exists on Linux only: elsewhere the waker uses a time.Timer.
type timerFD struct{}

func openTimerFD(context.Context) *timerFD { return nil }
func (*timerFD) sleep(time.Duration) error { panic("loadgen: no timerfd") }
func (*timerFD) close()                    {}
