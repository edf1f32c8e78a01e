package reports_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/tailrace/tailrace/reports"
	"github.com/tailrace/tailrace/reports/internal/synth"
)

// TestSpillSameOutputs: results whose intervals were spilled to a file
// marshal, and export to every file WriteAll writes, byte for byte as the
// same results kept in memory; and the spilled intervals hold nothing in
// their Hists and Phases fields.
func TestSpillSameOutputs(t *testing.T) {
	mem, err := synth.Results(synth.Small())
	if err != nil {
		t.Fatal(err)
	}
	sp, err := reports.NewSpill(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	c := synth.Small()
	c.Spill = sp
	spilled, err := synth.Results(c)
	if err != nil {
		t.Fatal(err)
	}
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
				f, ok := iv.PhaseFigures(name)
				if err != nil || enc != want.Hists[name] || !ok || f != want.Phases[name] {
					t.Fatalf("arm %s interval %d phase %s: PhaseHist/PhaseFigures differ from memory (%v)", a.Mode, iv.Index, name, err)
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
