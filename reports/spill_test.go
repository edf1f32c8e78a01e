package reports_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/tailrace/tailrace/reports"
	"github.com/tailrace/tailrace/reports/internal/synth"
)

// memAndSpilled makes synth.Small's results twice: kept in memory, and with
// their intervals spilled to sp, which is closed when the test ends.
func memAndSpilled(t *testing.T) (mem, spilled *reports.Results, sp *reports.Spill) {
	t.Helper()
	mem, err := synth.Results(synth.Small())
	if err != nil {
		t.Fatal(err)
	}
	if sp, err = reports.NewSpill(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	c := synth.Small()
	c.Spill = sp
	if spilled, err = synth.Results(c); err != nil {
		t.Fatal(err)
	}
	return mem, spilled, sp
}

// TestSpillSameOutputs: results whose intervals were spilled to a file
// marshal, and export to every file WriteAll writes, byte for byte as the
// same results kept in memory; and the spilled intervals hold nothing in
// their Hists and Phases fields.
func TestSpillSameOutputs(t *testing.T) {
	mem, spilled, sp := memAndSpilled(t)
	for ai, a := range spilled.Arms {
		for i, iv := range a.Intervals {
			if iv.Hists != nil || iv.Phases != nil {
				t.Fatalf("arm %s interval %d kept its detail in memory", a.Mode, iv.Index)
			}
			h, ph, err := iv.Detail()
			if err != nil || len(h) == 0 || len(ph) == 0 {
				t.Fatalf("arm %s interval %d: Detail gave %d hists, %d phases, %v", a.Mode, iv.Index, len(h), len(ph), err)
			}
			want := &mem.Arms[ai].Intervals[i]
			for _, name := range []string{"total", "ttfb", "connect", "tls", "no-such-phase"} {
				enc, err := iv.PhaseHist(name)
				f, ok, ferr := iv.PhaseFigures(name)
				if err != nil || ferr != nil || enc != want.Hists[name] || !ok || f != want.Phases[name] {
					t.Fatalf("arm %s interval %d phase %s: PhaseHist/PhaseFigures differ from memory (%v, %v)", a.Mode, iv.Index, name, err, ferr)
				}
			}
		}
	}
	jm, err := json.Marshal(mem)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(spilled)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(jm, js) {
		t.Fatalf("spilled results marshal differently (%d bytes against %d)", len(js), len(jm))
	}

	dm, ds := t.TempDir(), t.TempDir()
	fm, err := reports.WriteAll(dm, mem)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := reports.WriteAll(ds, spilled)
	if err != nil {
		t.Fatal(err)
	}
	if len(fm) != len(fs) || len(fm) < 3 {
		t.Fatalf("WriteAll wrote %d files from memory, %d from the spill", len(fm), len(fs))
	}
	for i := range fm {
		rel, _ := filepath.Rel(dm, fm[i])
		a, err := os.ReadFile(fm[i])
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(ds, rel))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs when the intervals were spilled", rel)
		}
	}

	// Once closed, a spilled interval says so instead of giving nothing.
	sp.Close()
	if _, _, err := spilled.Arms[0].Intervals[0].Detail(); err == nil {
		t.Error("Detail after Close gave no error")
	}
	if _, _, err := spilled.Arms[0].Intervals[0].PhaseFigures("total"); err == nil {
		t.Error("PhaseFigures after Close gave no error")
	}
	if _, err := json.Marshal(spilled); err == nil {
		t.Error("marshalling after Close gave no error")
	}
}

// BenchmarkWriteAllSpilled is every export of a 4-arm, 300-interval run
// whose intervals wait in a Spill, against the same run in memory: each
// .hlog reads only its own phase of each interval from the file.
func BenchmarkWriteAllSpilled(b *testing.B) {
	for _, spill := range []bool{false, true} {
		c := synth.Config{Seed: 3, Modes: []string{"keepalive", "close", "resume", "h2"}, Intervals: 300, Rate: 40, Workers: 1}
		if spill {
			sp, err := reports.NewSpill(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer sp.Close()
			c.Spill = sp
		}
		r, err := synth.Results(c)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(map[bool]string{false: "memory", true: "spill"}[spill], func(b *testing.B) {
			dir := b.TempDir()
			for b.Loop() {
				if _, err := reports.WriteAll(dir, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriteFileSpilled is results.json of a 4-arm, 600-interval run
// whose intervals wait in a Spill. peak-heap-MB is the largest live heap
// seen (sampled every 200 µs) while it is written, above the heap before:
// the streaming encoder holds one interval at a time, not the document.
func BenchmarkWriteFileSpilled(b *testing.B) {
	sp, err := reports.NewSpill(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	c := synth.Config{Seed: 3, Modes: []string{"keepalive", "close", "resume", "h2"}, Intervals: 600, Rate: 2000, Workers: 1, Spill: sp}
	r, err := synth.Results(c)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "results.json")
	var peak uint64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		stop := watchHeap(&peak)
		b.StartTimer()
		if err := reports.WriteFile(path, r); err != nil {
			b.Fatal(err)
		}
		stop()
	}
	st, _ := os.Stat(path)
	b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
	b.ReportMetric(float64(st.Size())/1e6, "file-MB")
}

// watchHeap samples the live heap until stop is called and raises *peak to
// the largest growth it saw over the heap at the start.
func watchHeap(peak *uint64) (stop func()) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > base && v-base > *peak {
				*peak = v - base
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
