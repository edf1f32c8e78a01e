package loadgen

import (
	"testing"
	"time"
)

// TestClockAt: a wall-clock reading becomes the stamp of that instant,
// kept within [floor, now].
func TestClockAt(t *testing.T) {
	clk := clock{t0: time.Now().Add(-time.Second)}
	const slack = 5 * time.Millisecond // two clock reads apart, on a noisy machine
	near := func(name string, got, want time.Duration) {
		t.Helper()
		if got < want-slack || got > want+slack {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	wall := time.Now().Add(-200 * time.Millisecond).UnixNano()
	stamp, age := clk.at(wall, 0)
	near("200 ms ago", stamp, clk.now()-200*time.Millisecond)
	near("200 ms ago, its age", age, 200*time.Millisecond)
	stamp, age = clk.at(time.Now().Add(time.Hour).UnixNano(), 0)
	near("from the future: now", stamp, clk.now())
	if age != 0 {
		t.Errorf("from the future: age %v, want 0", age)
	}
	floor := clk.now() - 10*time.Millisecond
	if stamp, age = clk.at(wall, floor); stamp != floor {
		t.Errorf("before the floor: %v, want the floor %v", stamp, floor)
	}
	near("before the floor, its age is still the reading's", age, 200*time.Millisecond)
	if stamp, _ = clk.at(time.Now().Add(-time.Hour).UnixNano(), 0); stamp != 1 {
		t.Errorf("before T0, no floor: %v, want 1 (a stamp is never 0)", stamp)
	}
}
