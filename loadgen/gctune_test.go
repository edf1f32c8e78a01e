package loadgen

import (
	"os"
	"runtime/debug"
	"testing"
)

func gcPercent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}

// TestHoldGC: the lean target holds while only lean engines run; a heavy
// engine restores the previous one while it runs; the last release restores
// it for good; GOGC in the environment turns the tuning off.
func TestHoldGC(t *testing.T) {
	if _, set := os.LookupEnv("GOGC"); set {
		t.Skip("GOGC is set: holdGC leaves the GC alone (TestHoldGCRespectsGOGC)")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(77))
	relA := holdGC(true)
	if p := gcPercent(); p != leanGCPercent {
		t.Fatalf("one lean engine: GC percent %d, want %d", p, leanGCPercent)
	}
	relB := holdGC(true)
	relH := holdGC(false)
	if p := gcPercent(); p != 77 {
		t.Fatalf("a heavy engine running: GC percent %d, want the previous 77", p)
	}
	relH()
	relH() // a second release does nothing
	if p := gcPercent(); p != leanGCPercent {
		t.Fatalf("heavy engine gone, lean ones left: GC percent %d, want %d", p, leanGCPercent)
	}
	relA()
	if p := gcPercent(); p != leanGCPercent {
		t.Fatalf("one lean engine left: GC percent %d, want %d", p, leanGCPercent)
	}
	relB()
	if p := gcPercent(); p != 77 {
		t.Fatalf("no engine left: GC percent %d, want the previous 77", p)
	}
	relB()
	if gcTune.lean != 0 || gcTune.heavy != 0 {
		t.Errorf("counts lean %d heavy %d after every release, want 0 0", gcTune.lean, gcTune.heavy)
	}
}

func TestHoldGCRespectsGOGC(t *testing.T) {
	t.Setenv("GOGC", "150")
	defer debug.SetGCPercent(debug.SetGCPercent(150))
	rel := holdGC(true)
	defer rel()
	if p := gcPercent(); p != 150 {
		t.Errorf("GOGC=150 in the environment: GC percent %d after holdGC, want it untouched", p)
	}
}

func TestLeanEngine(t *testing.T) {
	for _, c := range []struct {
		client ClientKind
		mode   Mode
		want   bool
	}{
		{ClientFast, ModeKeepAlive, true},
		{ClientFast, ModeClose, false},
		{ClientFast, ModeResume, false},
		{ClientFast, ModeH2, false},
		{ClientStd, ModeKeepAlive, false},
	} {
		if got := leanEngine(&Config{Client: c.client, Mode: c.mode}); got != c.want {
			t.Errorf("%s client, %s mode: lean %v, want %v", c.client, c.mode, got, c.want)
		}
	}
}
