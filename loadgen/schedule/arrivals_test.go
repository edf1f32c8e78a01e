package schedule

import (
	"math"
	"slices"
	"testing"
	"time"
)

func mustStages(t testing.TB, s string) Stages {
	t.Helper()
	st, err := ParseStages(s)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// all drains an iterator, failing on a time that goes backwards or lands
// outside the plan.
func all(t testing.TB, p Plan, seg Segment) []time.Duration {
	t.Helper()
	var out []time.Duration
	a := p.Arrivals(seg)
	for at, ok := a.Next(); ok; at, ok = a.Next() {
		if at < 0 || at >= p.Duration() {
			t.Fatalf("%v: arrival at %v outside [0, %v)", seg, at, p.Duration())
		}
		if n := len(out); n > 0 && at < out[n-1] {
			t.Fatalf("%v: arrival %d at %v before %v", seg, n, at, out[n-1])
		}
		out = append(out, at)
	}
	if _, ok := a.Next(); ok {
		t.Fatalf("%v: Next after the end returned ok", seg)
	}
	return out
}

func TestConstantSteady(t *testing.T) {
	p := Plan{Stages: Steady(1000, 2*time.Second)}
	got := all(t, p, Full)
	if len(got) != 2000 {
		t.Fatalf("got %d arrivals, want 2000", len(got))
	}
	for k, at := range got {
		if at != time.Duration(k)*time.Millisecond {
			t.Fatalf("arrival %d at %v, want %v", k, at, time.Duration(k)*time.Millisecond)
		}
	}
	if n := p.Count(Full); n != 2000 {
		t.Errorf("Count = %d", n)
	}
}

func TestConstantRamp(t *testing.T) {
	p := Plan{Stages: mustStages(t, "1s:0->1000")}
	got := all(t, p, Full)
	if len(got) != 500 {
		t.Fatalf("got %d arrivals, want 500 (the integral of the ramp)", len(got))
	}
	for k := 2; k < len(got); k++ {
		if got[k]-got[k-1] > got[k-1]-got[k-2] {
			t.Fatalf("gap %d (%v) larger than gap %d (%v) on a rising ramp", k, got[k]-got[k-1], k-1, got[k-1]-got[k-2])
		}
	}
	// Λ(t) = 500 t², so arrival k is at sqrt(k/500) s.
	for _, k := range []int{1, 2, 125, 499} {
		want := time.Duration(math.Round(math.Sqrt(float64(k)/500) * 1e9))
		if got[k] != want {
			t.Errorf("arrival %d at %v, want %v", k, got[k], want)
		}
	}
}

func TestZeroRateStage(t *testing.T) {
	tests := []struct {
		stages    string
		process   Process
		quietFrom time.Duration // no arrival in [quietFrom, quietTo)
		quietTo   time.Duration
		wantCount int64 // for constant; -1 to skip
		wantFirst time.Duration
	}{
		// A pause in the middle: 100 before, none inside, 100 after.
		{"1s:100,1s:0,1s:100", Constant, time.Second, 2 * time.Second, 200, 0},
		// The pause after a ramp down to 0 whose count is whole.
		{"1s:200->0,1s:0,1s:50", Constant, time.Second, 2 * time.Second, 150, 0},
		// A leading pause: the first arrival is when the rate starts.
		{"1s:0,1s:10", Constant, 0, time.Second, 10, time.Second},
		// Poisson skips the pause too.
		{"1s:1000,1s:0,1s:1000", Poisson, time.Second, 2 * time.Second, -1, -1},
		// Poisson through a ramp that touches zero and a pause.
		{"1s:1000->0,500ms:0,1s:0->1000", Poisson, time.Second, 1500 * time.Millisecond, -1, -1},
	}
	for _, tt := range tests {
		p := Plan{Stages: mustStages(t, tt.stages), Process: tt.process, Seed: 7}
		got := all(t, p, Full)
		for _, at := range got {
			if at >= tt.quietFrom && at < tt.quietTo {
				t.Errorf("%s %v: arrival at %v inside the pause", tt.stages, tt.process, at)
				break
			}
		}
		if tt.wantCount >= 0 && int64(len(got)) != tt.wantCount {
			t.Errorf("%s: %d arrivals, want %d", tt.stages, len(got), tt.wantCount)
		}
		if tt.wantFirst >= 0 && (len(got) == 0 || got[0] != tt.wantFirst) {
			t.Errorf("%s: first arrival %v, want %v", tt.stages, got[:min(1, len(got))], tt.wantFirst)
		}
	}
}

// TestConstantSplitExact is the promise of the constant split: the
// segments of a Split together yield exactly the full schedule, each
// arrival once, each segment its share to within one arrival.
func TestConstantSplitExact(t *testing.T) {
	plans := []struct {
		name   string
		stages string
	}{
		{"steady", "2s:1000"}, // k ms apart
		{"ramped", "1s:0->1000,500ms:0,2s:700->100,1s:333.3,750ms:10->2500"}, // ramps, a pause, odd rates
		{"fractional", "3s:0.7,1s:1234.5"},                                   // a total that is not whole
	}
	splits := []struct {
		name    string
		weights []int64
		tol     float64 // a segment's count may miss Fraction*total by this much (see TestOwnedSpread)
	}{
		{"thirds", []int64{1, 1, 1}, 1},           // the contract's equal split
		{"weighted", []int64{3, 1, 2}, 1},         // the contract's weighted split
		{"two-sided", []int64{4, 1, 5}, 1},        // where floor-difference ownership fails; Of 10 is ≤ 2
		{"many", []int64{1, 2, 3, 4, 5, 6, 7}, 2}, // seven workers, all different: Of 28
		{"lopsided", []int64{1, 997}, 3},          // a tiny worker next to a big one: Of 998
	}
	for _, pl := range plans {
		p := Plan{Stages: mustStages(t, pl.stages)}
		full := all(t, p, Full)
		index := make(map[time.Duration]int, len(full))
		for k, at := range full {
			if _, dup := index[at]; dup {
				t.Fatalf("%s: two arrivals at %v; the test needs distinct times", pl.name, at)
			}
			index[at] = k
		}
		if c := p.Count(Full); c != int64(len(full)) {
			t.Errorf("%s: Count(Full) = %d, iterated %d", pl.name, c, len(full))
		}
		for _, sp := range splits {
			segs, err := Split(sp.weights)
			if err != nil {
				t.Fatal(err)
			}
			owner := make([]int, len(full))
			var union []time.Duration
			for i, seg := range segs {
				got := all(t, p, seg)
				union = append(union, got...)
				for _, at := range got {
					k, ok := index[at]
					if !ok {
						t.Fatalf("%s/%s: segment %v has an arrival at %v not in the full schedule", pl.name, sp.name, seg, at)
					}
					if owner[k] != 0 {
						t.Fatalf("%s/%s: arrival %d taken by segments %d and %d", pl.name, sp.name, k, owner[k]-1, i)
					}
					owner[k] = i + 1
				}
				want := seg.Fraction() * float64(len(full))
				if math.Abs(float64(len(got))-want) > sp.tol {
					t.Errorf("%s/%s: segment %v has %d arrivals, want %.2f ± %v", pl.name, sp.name, seg, len(got), want, sp.tol)
				}
				if c := p.Count(seg); c != int64(len(got)) {
					t.Errorf("%s/%s: Count(%v) = %d, iterated %d", pl.name, sp.name, seg, c, len(got))
				}
			}
			slices.Sort(union)
			if !slices.Equal(union, full) {
				t.Errorf("%s/%s: union of %d arrivals differs from the full %d", pl.name, sp.name, len(union), len(full))
			}
		}
	}
}

func TestArrivalsPanicsOnInvalid(t *testing.T) {
	tests := []struct {
		plan Plan
		seg  Segment
	}{
		{Plan{}, Full}, // no stages
		{Plan{Stages: Steady(1, time.Second)}, Segment{}},        // zero segment
		{Plan{Stages: Steady(1, time.Second), Process: 5}, Full}, // unknown process
	}
	for _, tt := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Arrivals(%+v, %v) did not panic", tt.plan, tt.seg)
				}
			}()
			tt.plan.Arrivals(tt.seg)
		}()
	}
}

func BenchmarkArrivalsNext(b *testing.B) {
	thirds, _ := Split([]int64{1, 1, 1})
	lopsided, _ := Split([]int64{1, 999})
	ramp := mustStages(b, "1h:0->1000000")
	steady := Steady(1e6, time.Hour)
	for _, bb := range []struct {
		name string
		plan Plan
		seg  Segment
	}{
		{"constant/full", Plan{Stages: steady}, Full},
		{"constant/1of3", Plan{Stages: steady}, thirds[1]},
		{"constant/1of1000", Plan{Stages: steady}, lopsided[0]},
		{"constant/ramp", Plan{Stages: ramp}, Full},
		{"poisson/full", Plan{Stages: steady, Process: Poisson, Seed: 1}, Full},
		{"poisson/ramp", Plan{Stages: ramp, Process: Poisson, Seed: 1}, thirds[1]},
	} {
		b.Run(bb.name, func(b *testing.B) {
			a := bb.plan.Arrivals(bb.seg)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := a.Next(); !ok {
					a = bb.plan.Arrivals(bb.seg)
				}
			}
		})
	}
}

func BenchmarkArrivalsSetup(b *testing.B) {
	p := Plan{Stages: Steady(1e6, time.Hour)}
	for _, seg := range []Segment{Full, {1, 2, 3}, {0, 500, 1000}, {0, MaxOf / 2, MaxOf}} {
		b.Run(seg.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Arrivals(seg)
			}
		})
	}
}
