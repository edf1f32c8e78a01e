package loadgen

import (
	"testing"
	"time"
)

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func TestTickGate(t *testing.T) {
	g := newTickGate()
	done := make(chan bool, 2)
	for range 2 {
		go func() { done <- g.wait(0) }()
	}
	waitFor(t, "two waiters", func() bool { return g.parked.Load() == 2 })
	g.tick()
	for range 2 {
		if !<-done {
			t.Fatal("a wait ended by a tick reported false")
		}
	}
	if g.waits.Load() != 2 || g.parked.Load() != 0 {
		t.Fatalf("waits %d parked %d, want 2 and 0", g.waits.Load(), g.parked.Load())
	}
	if g.tick() {
		t.Fatal("a tick with nobody waiting woke someone")
	}
	// No tick is kept for later: the next wait parks.
	go func() { done <- g.wait(0) }()
	waitFor(t, "a waiter", func() bool { return g.parked.Load() == 1 })
	if g.wait(monoNow() - 1) {
		t.Fatal("a wait whose deadline had passed parked")
	}
	g.open()
	if <-done {
		t.Fatal("a wait ended by open reported true: its caller would wait here again")
	}
	if g.wait(0) {
		t.Fatal("a wait on an open gate parked")
	}
}
