package loadgen

import (
	"os"
	"runtime/debug"
	"sync"
)

// leanGCPercent is the GC target while every running engine allocates
// nothing per request (see holdGC).
const leanGCPercent = 25

// gcTune counts the running engines by kind, to set the process's GC target.
var gcTune struct {
	sync.Mutex
	lean, heavy int
	saved       int  // the GC percent before leaning: restored after
	leaned      bool // the GC percent is leanGCPercent, set by us
}

// holdGC tunes the garbage collector for a running engine and returns what
// undoes it when the engine stops.
//
// The fast client's keep-alive path allocates nothing per request: a run's
// garbage is the per-interval work (encoding, exports), tens of KB a second
// whatever the rate. Under Go's default GOGC=100 the heap may grow to twice
// the live heap (mostly histogram counts, ~8 MB) before a collection, and at
// that rate it takes minutes to get there: the process's RSS climbs for the
// first minutes of a run and settles 8 MB above what it needs (bench/soak.sh
// measured +8% from the 2nd minute to the 10th). While only such engines run
// (lean), the process collects at leanGCPercent: in the soak, every 38-67 s,
// 0.7-0.9 ms of CPU each (gctrace). An engine that
// allocates per request (net/http, or a dial per request) restores the
// previous target while it runs: a tight heap would cost it GC CPU. GOGC set
// in the environment is the user's choice and is never overridden.
func holdGC(lean bool) (release func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	gcTune.Lock()
	if lean {
		gcTune.lean++
	} else {
		gcTune.heavy++
	}
	retuneGC()
	gcTune.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			gcTune.Lock()
			if lean {
				gcTune.lean--
			} else {
				gcTune.heavy--
			}
			retuneGC()
			gcTune.Unlock()
		})
	}
}

// retuneGC sets the GC target from the counts; gcTune must be locked.
func retuneGC() {
	want := gcTune.lean > 0 && gcTune.heavy == 0
	switch {
	case want && !gcTune.leaned:
		gcTune.saved = debug.SetGCPercent(leanGCPercent)
		gcTune.leaned = true
	case !want && gcTune.leaned:
		debug.SetGCPercent(gcTune.saved)
		gcTune.leaned = false
	}
}

// leanEngine reports whether cfg's engine allocates nothing per request in
// steady state: the fast client on kept-alive connections.
func leanEngine(cfg *Config) bool {
	return cfg.Client == ClientFast && cfg.Mode == ModeKeepAlive
}
