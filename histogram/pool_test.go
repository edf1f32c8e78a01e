package histogram

import (
	"testing"
	"time"
)

// TestIntervalPool: an interval given back comes out empty, with its own
// exemplar count, and without the labels of the run that used it.
func TestIntervalPool(t *testing.T) {
	iv := GetInterval(3)
	iv.Index, iv.Length = 7, time.Second
	iv.Hists[Total].Record(5 * time.Millisecond)
	iv.Errors["connect"] = 2
	iv.Counters.Completed = 9
	iv.Labels = map[string]*Interval{"a": NewInterval(0)}
	iv.Labels["a"].Hists[TTFB].Record(time.Millisecond)
	PutInterval(iv)

	for range 3 { // sync.Pool may or may not hand iv back: either way the same checks hold
		got := GetInterval(3)
		if got.Exemplars.K() != 3 {
			t.Fatalf("K = %d, want 3", got.Exemplars.K())
		}
		if got.Index != 0 || got.Length != 0 || got.Hists[Total].Count() != 0 || len(got.Errors) != 0 || got.Counters.Completed != 0 || got.Labels != nil {
			t.Fatalf("reused interval not empty: index %d, total %d, errors %v, completed %d, labels %v",
				got.Index, got.Hists[Total].Count(), got.Errors, got.Counters.Completed, got.Labels)
		}
		if got.Errors == nil {
			t.Fatal("Errors map is nil: recording into it would panic")
		}
		if k0 := GetInterval(0); k0.Exemplars.K() != 0 {
			t.Fatalf("GetInterval(0) gave K = %d", k0.Exemplars.K())
		}
	}
	PutInterval(nil)         // tolerated
	PutInterval(&Interval{}) // not made by NewInterval: left to the GC
}

// TestRotateSingleShardNoCopy: with one shard, Rotate hands over the
// shard's own interval (no merge), and recording goes on in a fresh one.
func TestRotateSingleShardNoCopy(t *testing.T) {
	r := NewRecorder(1, 0)
	before := r.Shard(0).cur
	r.Shard(0).Record(&Sample{Has: 1 << Total, Phases: [NumPhases]time.Duration{Total: time.Millisecond}}, nil)
	iv := r.Rotate(1, time.Time{}, time.Second)
	if iv != before {
		t.Error("single-shard Rotate merged into another interval instead of handing over the shard's own")
	}
	if iv.Index != 1 || iv.Hists[Total].Count() != 1 || iv.Errors == nil {
		t.Errorf("rotated interval: index %d, total count %d", iv.Index, iv.Hists[Total].Count())
	}
	if r.Shard(0).cur == iv || r.Shard(0).cur.Hists[Total].Count() != 0 {
		t.Error("the shard still records into the rotated interval")
	}
}
