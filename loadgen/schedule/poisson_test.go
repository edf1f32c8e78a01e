package schedule

import (
	"math"
	"slices"
	"testing"
	"time"
)

// gapStats returns the mean and the coefficient of variation of the gaps.
func gapStats(ts []time.Duration) (mean, cv float64) {
	var sum, sq float64
	for i := 1; i < len(ts); i++ {
		g := float64(ts[i] - ts[i-1])
		sum += g
		sq += g * g
	}
	n := float64(len(ts) - 1)
	mean = sum / n
	return mean, math.Sqrt(sq/n-mean*mean) / mean
}

func TestPoissonFull(t *testing.T) {
	tests := []struct {
		seed int64
		rate float64
	}{
		{1, 10000},  // 100k arrivals over 10 s
		{2, 10000},  // another seed, same statistics
		{42, 1e6},   // a high rate: 1e7 arrivals would be slow, so 0.1 s
		{-7, 500.5}, // a negative seed and an odd rate
	}
	for _, tt := range tests {
		d := time.Duration(1e5 / tt.rate * float64(time.Second))
		p := Plan{Stages: Steady(tt.rate, d), Process: Poisson, Seed: tt.seed}
		got := all(t, p, Full)
		want := p.Expected(Full)
		if math.Abs(float64(len(got))/want-1) > 0.02 {
			t.Errorf("seed %d rate %v: %d arrivals, want %.0f ± 2%%", tt.seed, tt.rate, len(got), want)
		}
		mean, cv := gapStats(got)
		if math.Abs(mean*tt.rate/1e9-1) > 0.02 {
			t.Errorf("seed %d rate %v: mean gap %.1f ns, want %.1f ± 2%%", tt.seed, tt.rate, mean, 1e9/tt.rate)
		}
		if math.Abs(cv-1) > 0.05 {
			t.Errorf("seed %d rate %v: gaps' coefficient of variation %.3f, want 1 ± 5%%", tt.seed, tt.rate, cv)
		}
		if c := p.Count(Full); c != int64(len(got)) {
			t.Errorf("seed %d: Count %d, iterated %d", tt.seed, c, len(got))
		}
	}
}

func TestPoissonSeeded(t *testing.T) {
	p := Plan{Stages: mustStages(t, "1s:0->5000,1s:5000"), Process: Poisson, Seed: 99}
	a, b := all(t, p, Full), all(t, p, Full)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed gave different arrivals")
	}
	p.Seed = 100
	if c := all(t, p, Full); slices.Equal(a[:100], c[:100]) {
		t.Fatal("seeds 99 and 100 gave the same arrivals")
	}
}

// TestPoissonRamp checks the time rescaling: on a ramp from 0, the first
// half of the time holds a quarter of the arrivals.
func TestPoissonRamp(t *testing.T) {
	p := Plan{Stages: mustStages(t, "10s:0->20000"), Process: Poisson, Seed: 3}
	got := all(t, p, Full)
	half, _ := slices.BinarySearch(got, 5*time.Second)
	if frac := float64(half) / float64(len(got)); math.Abs(frac-0.25) > 0.01 {
		t.Errorf("first half of a ramp holds %.3f of the arrivals, want 0.25", frac)
	}
	if math.Abs(float64(len(got))/p.Expected(Full)-1) > 0.02 {
		t.Errorf("%d arrivals, want %.0f", len(got), p.Expected(Full))
	}
}

func TestPoissonSplit(t *testing.T) {
	tests := []struct {
		name    string
		weights []int64
	}{
		{"thirds", []int64{1, 1, 1}},   // equal workers
		{"weighted", []int64{3, 1, 2}}, // unequal workers
	}
	p := Plan{Stages: Steady(10000, 10*time.Second), Process: Poisson, Seed: 5}
	const bin = 10 * time.Millisecond
	for _, tt := range tests {
		segs, _ := Split(tt.weights)
		var union []time.Duration
		bins := make([][]float64, len(segs))
		for i, seg := range segs {
			got := all(t, p, seg)
			union = append(union, got...)
			if want := p.Expected(seg); math.Abs(float64(len(got))/want-1) > 0.03 {
				t.Errorf("%s: segment %v has %d arrivals, want %.0f ± 3%%", tt.name, seg, len(got), want)
			}
			bins[i] = make([]float64, p.Duration()/bin)
			for _, at := range got {
				bins[i][at/bin]++
			}
		}
		if math.Abs(float64(len(union))/p.Expected(Full)-1) > 0.02 {
			t.Errorf("%s: union has %d arrivals, want %.0f ± 2%%", tt.name, len(union), p.Expected(Full))
		}
		slices.Sort(union)
		if _, cv := gapStats(union); math.Abs(cv-1) > 0.05 {
			t.Errorf("%s: union's gaps have coefficient of variation %.3f, want 1", tt.name, cv)
		}
		// Independent streams: per-bin counts are uncorrelated. With 1000
		// bins the correlation of independent counts is within ±0.1 with
		// overwhelming probability; a shared or shifted stream gives ~1.
		for i := range bins {
			for j := i + 1; j < len(bins); j++ {
				if r := correlation(bins[i], bins[j]); math.Abs(r) > 0.1 {
					t.Errorf("%s: segments %d and %d correlate %.3f", tt.name, i, j, r)
				}
			}
		}
	}
}

func correlation(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(len(x))
	my /= float64(len(y))
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}
