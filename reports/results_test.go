package reports_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/tailrace/tailrace/reports"
)

// TestEncodeJSON: the streaming encoder writes exactly what
// json.MarshalIndent writes, whether the intervals are in memory or
// spilled, nil or empty, and whatever the strings around them hold.
func TestEncodeJSON(t *testing.T) {
	mem, spilled, _ := memAndSpilled(t)
	if len(mem.Arms) < 2 || len(mem.Arms[0].Intervals) < 2 {
		t.Fatalf("synth.Small has %d arms: too small for this test", len(mem.Arms))
	}

	odd := *mem
	odd.Arms = append([]reports.Arm(nil), mem.Arms...)
	odd.Arms[0].Intervals = nil
	odd.Arms[1].Intervals = []reports.Interval{}
	odd.Warnings = append([]string{`a warning that says "intervals": null`}, mem.Warnings...)
	odd.Search = &reports.Search{}

	none := *mem
	none.Arms = nil

	for name, r := range map[string]*reports.Results{"memory": mem, "spilled": spilled, "nil and empty intervals": &odd, "no arms": &none} {
		want, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		var got bytes.Buffer
		if err := reports.EncodeJSON(&got, r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: EncodeJSON differs from MarshalIndent (%d bytes against %d)", name, got.Len(), len(want))
		}
	}

	// And WriteFile, which uses it, round-trips.
	path := filepath.Join(t.TempDir(), "results.json")
	if err := reports.WriteFile(path, spilled); err != nil {
		t.Fatal(err)
	}
	back, err := reports.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(back)
	b, _ := json.Marshal(mem)
	if !bytes.Equal(a, b) {
		t.Error("results.json written from a spill does not read back as the results")
	}
}

// TestWriteFileFailureKeepsOldFile: when encoding fails half way (here a
// spill closed under it), the file already at path is untouched and no
// temporary file is left beside it.
func TestWriteFileFailureKeepsOldFile(t *testing.T) {
	_, spilled, sp := memAndSpilled(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sp.Close()
	if err := reports.WriteFile(path, spilled); err == nil {
		t.Fatal("WriteFile from a closed spill gave no error")
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "old\n" {
		t.Errorf("the old file changed: %q, %v", b, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d entries in the directory, want only results.json", len(ents))
	}
}
