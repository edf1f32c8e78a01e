package target

import (
	"context"
	"time"
)

// stalls is the pause schedule: windows [epoch+k*every, epoch+k*every+length)
// for k >= 1. The zero value never stalls.
type stalls struct {
	epoch  time.Time
	every  time.Duration
	length time.Duration
}

func (st stalls) enabled() bool { return st.every > 0 && st.length > 0 }

// at returns, for time t, how long the window t falls in still lasts (0 when
// t is outside every window) and how long until the next window begins.
func (st stalls) at(t time.Time) (hold, untilNext time.Duration) {
	since := t.Sub(st.epoch)
	if since < 0 {
		return 0, st.every - since
	}
	k := since / st.every
	into := since - k*st.every
	if k >= 1 && into < st.length {
		return st.length - into, st.every - into
	}
	return 0, st.every - into
}

// pause spends d of the server's running time: time inside stall windows
// does not count, as if the whole process were frozen, and pause never
// returns inside a window. So pause(ctx, 0) is the plain hold, and a ttfb
// delay overlapping a window is stretched by exactly the overlap.
//
// It returns early with ctx's error, which is how Close interrupts it.
func (s *Server) pause(ctx context.Context, d time.Duration) error {
	if !s.stalls.enabled() {
		if d <= 0 {
			return nil
		}
		return sleep(ctx, d)
	}
	for {
		hold, untilNext := s.stalls.at(time.Now())
		if hold > 0 {
			if err := sleep(ctx, hold); err != nil {
				return err
			}
			continue
		}
		if d <= 0 {
			return nil
		}
		step := min(d, untilNext)
		if err := sleep(ctx, step); err != nil {
			return err
		}
		d -= step
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
