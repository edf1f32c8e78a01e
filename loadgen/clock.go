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

// at converts wall, a CLOCK_REALTIME reading in Unix ns (a kernel receive
// timestamp, rxMsg), into a stamp: now's stamp less age, how long ago wall
// was on the realtime clock (at least 0). Only a step of the wall clock
// within that interval (microseconds) could mislead it, and the stamp is
// kept within [floor, now] all the same.
func (c *clock) at(wall int64, floor time.Duration) (stamp, age time.Duration) {
	n := time.Now()
	now := n.Sub(c.t0)
	age = max(time.Duration(n.UnixNano()-wall), 0)
	return max(now-age, floor, 1), age
}
