package loadgen

import "time"

// clock turns the monotonic clock into offsets from the run's T0, the unit
// of every Trail stamp. A stamp is never 0 after T0, so 0 can mean "did not
// happen".
type clock struct{ t0 time.Time }

func (c *clock) now() time.Duration {
	d := time.Since(c.t0)
	if d == 0 {
		d = 1
	}
	return d
}
