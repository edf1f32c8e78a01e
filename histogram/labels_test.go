package histogram

import (
	"testing"
	"time"
)

// Per-label sub-intervals merge label by label and reset with their parent.
func TestIntervalLabels(t *testing.T) {
	part := func(label string, n int, d time.Duration) *Interval {
		iv := NewInterval(4)
		for range n {
			s := Sample{Status: 200, Label: label}
			s.Set(Total, d)
			iv.record(&s)
			iv.Counters.Add(&Counters{Intended: 1, Completed: 1})
			l := iv.Label(label)
			l.record(&s)
			l.Counters.Add(&Counters{Intended: 1, Completed: 1})
		}
		return iv
	}
	got := NewInterval(4)
	got.Merge(part("a", 10, time.Millisecond))
	got.Merge(part("b", 5, 2*time.Millisecond))
	got.Merge(part("a", 3, time.Millisecond))
	if len(got.Labels) != 2 || got.Labels["a"].Counters.Intended != 13 || got.Labels["b"].Hists[Total].Count() != 5 {
		t.Fatalf("labels %+v", got.Labels)
	}
	if got.Labels["a"].Labels != nil || got.Labels["a"].Exemplars.K() != 0 {
		t.Error("a label's sub-interval has labels or exemplars of its own")
	}
	if got.Counters.Intended != 18 {
		t.Errorf("parent intended %d, want 18", got.Counters.Intended)
	}
	got.Reset()
	if got.Labels["a"].Counters.Intended != 0 || got.Labels["b"].Hists[Total].Count() != 0 {
		t.Error("Reset left label data behind")
	}
}
