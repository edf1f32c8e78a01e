//go:build !race

package reports_test

import (
	"runtime"
	"testing"

	"github.com/tailrace/tailrace/reports"
	"github.com/tailrace/tailrace/reports/internal/synth"
)

// retained is the live heap that n spilled one-second intervals of a
// keep-alive arm hold once built: what a long run's memory grows by.
func retained(t *testing.T, n int) uint64 {
	t.Helper()
	sp, err := reports.NewSpill(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	r, err := synth.Results(synth.Config{Seed: 5, Modes: []string{"keepalive"}, Intervals: n, Rate: 50, Workers: 1, Spill: sp})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(r)
	return m1.HeapAlloc - m0.HeapAlloc
}

// TestSpilledIntervalFootprint: a spilled interval keeps at most a few
// hundred bytes on the heap (its counters and headline figures, and where
// its detail is in the file), so that a 10-minute run at one interval a
// second grows its heap by well under the 5% (RSS ~30 MB; the
// GC's heap goal doubles whatever stays live).
func TestSpilledIntervalFootprint(t *testing.T) {
	const small, large = 100, 1100
	a, b := retained(t, small), retained(t, large)
	per := (float64(b) - float64(a)) / (large - small)
	t.Logf("retained per spilled interval: %.0f bytes", per)
	if per > 600 {
		t.Errorf("a spilled interval keeps %.0f bytes on the heap, want ≤ 600", per)
	}
}
