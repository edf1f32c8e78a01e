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
	near("200 ms ago", clk.at(wall, 0), clk.now()-200*time.Millisecond)
	near("from the future: now", clk.at(time.Now().Add(time.Hour).UnixNano(), 0), clk.now())
	floor := clk.now() - 10*time.Millisecond
	if got := clk.at(wall, floor); got != floor {
		t.Errorf("before the floor: %v, want the floor %v", got, floor)
	}
	if got := clk.at(time.Now().Add(-time.Hour).UnixNano(), 0); got != 1 {
		t.Errorf("before T0, no floor: %v, want 1 (a stamp is never 0)", got)
	}
}
