package schedule

import (
	"math"
	"slices"
	"testing"
	"time"
)

// picks returns, per choice, how many of arrivals 0..n-1 pick it.
func picks(m *Mix, n int64) []int64 {
	c := make([]int64, m.Len())
	for k := range n {
		c[m.Pick(k)]++
	}
	return c
}

func TestMixShares(t *testing.T) {
	tests := []struct {
		name    string
		weights []float64
		block   int64
	}{
		// The acceptance mix: reduced to 7/2/1 slots of 10.
		{"70/20/10", []float64{70, 20, 10}, 10},
		// Equal weights: one slot each.
		{"equal", []float64{1, 1, 1, 1, 1}, 5},
		// Fractions are rounded to a block of 1000.
		{"fractions", []float64{0.7, 0.2, 0.1}, 1000},
		// A tiny weight still gets a slot.
		{"tiny", []float64{1e9 + 0.5, 1}, 1000},
		// Integer weights whose reduced sum is too large are rounded.
		{"huge sum", []float64{100000, 1}, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMix(tt.weights, 1)
			if err != nil {
				t.Fatal(err)
			}
			if m.Block() != tt.block {
				t.Errorf("block %d, want %d", m.Block(), tt.block)
			}
			var sum float64
			for _, w := range tt.weights {
				sum += w
			}
			const n = 10000
			c := picks(m, n)
			for i, w := range tt.weights {
				got := float64(c[i]) / n
				if math.Abs(got-w/sum) > 0.01 {
					t.Errorf("choice %d: share %.4f, want %.4f", i, got, w/sum)
				}
				// Whole blocks hold the exact slots.
				if b := picks(m, 3*m.Block()); b[i] != 3*m.Slots(i) {
					t.Errorf("choice %d: %d in three blocks, want %d", i, b[i], 3*m.Slots(i))
				}
			}
		})
	}
}

// The acceptance test of issue 5: shares within 1% over 10,000 arrivals,
// identical for the same seed, disjoint across workers and together the
// single worker's, for both arrival processes.
func TestMixAcrossWorkers(t *testing.T) {
	weights := []float64{70, 20, 10}
	for _, proc := range []Process{Constant, Poisson} {
		t.Run(proc.String(), func(t *testing.T) {
			plan := Plan{Stages: Steady(10000, time.Second), Process: proc, Seed: 7}
			m, err := NewMix(weights, plan.Seed)
			if err != nil {
				t.Fatal(err)
			}
			single := map[int64]int{}
			a := plan.Arrivals(Full)
			for k, _, ok := a.NextIndexed(); ok; k, _, ok = a.NextIndexed() {
				if k != int64(len(single)) {
					t.Fatalf("one worker: arrival %d has index %d", len(single), k)
				}
				single[k] = m.Pick(k)
			}
			segs, _ := Split([]int64{1, 1, 1})
			union := map[int64]int{}
			shares := make([]int64, 3)
			for _, seg := range segs {
				a := plan.Arrivals(seg)
				for k, _, ok := a.NextIndexed(); ok; k, _, ok = a.NextIndexed() {
					if _, dup := union[k]; dup {
						t.Fatalf("arrival %d owned by two workers", k)
					}
					union[k] = m.Pick(k)
					shares[union[k]]++
				}
			}
			n := int64(len(union))
			if proc == Constant {
				if len(union) != len(single) || len(single) != 10000 {
					t.Fatalf("%d arrivals on 3 workers, %d on one, want 10000", len(union), len(single))
				}
				for k, c := range single {
					if union[k] != c {
						t.Fatalf("arrival %d: choice %d on one worker, %d on three", k, c, union[k])
					}
				}
			}
			for i, w := range weights {
				got := float64(shares[i]) / float64(n)
				if math.Abs(got-w/100) > 0.01 {
					t.Errorf("choice %d: share %.4f over %d arrivals, want %.2f±0.01", i, got, n, w/100)
				}
			}
			t.Logf("%s: shares %v of %d", proc, shares, n)
		})
	}
}

func TestMixSeeded(t *testing.T) {
	w := []float64{70, 20, 10}
	a, _ := NewMix(w, 1)
	b, _ := NewMix(w, 1)
	c, _ := NewMix(w, 2)
	var sa, sb, sc []int
	for k := range int64(1000) {
		sa, sb, sc = append(sa, a.Pick(k)), append(sb, b.Pick(k)), append(sc, c.Pick(k))
	}
	if !slices.Equal(sa, sb) {
		t.Error("same seed, different choices")
	}
	if slices.Equal(sa, sc) {
		t.Error("different seeds, same choices")
	}
}

// A worker that owns every third arrival must not see a periodic pattern
// that starves a choice: its own shares stay near the weights.
func TestMixNoAliasing(t *testing.T) {
	m, _ := NewMix([]float64{1, 1, 1}, 3)
	for r := range int64(3) {
		c := make([]int, 3)
		for k := r; k < 30000; k += 3 {
			c[m.Pick(k)]++
		}
		for i, x := range c {
			if x < 3000 || x > 3700 {
				t.Errorf("residue %d: choice %d picked %d of 10000 times, want about 3333", r, i, x)
			}
		}
	}
}

func TestNewMixErrors(t *testing.T) {
	tests := []struct {
		name string
		w    []float64
	}{
		{"none", nil},                         // no choices
		{"zero", []float64{1, 0}},             // a weight must be positive
		{"negative", []float64{-1}},           // ... and not negative
		{"nan", []float64{math.NaN()}},        // ... and a number
		{"inf", []float64{math.Inf(1)}},       // ... and finite
		{"overflow", []float64{1e308, 1e308}}, // whose sum is finite
	}
	for _, tt := range tests {
		if _, err := NewMix(tt.w, 1); err == nil {
			t.Errorf("%s: NewMix(%v) succeeded", tt.name, tt.w)
		}
	}
}

func BenchmarkMixPick(b *testing.B) {
	for _, n := range []int{1, 3, 32} {
		w := make([]float64, n)
		for i := range w {
			w[i] = float64(i + 1)
		}
		m, _ := NewMix(w, 1)
		b.Run(string(rune('0'+n/10))+string(rune('0'+n%10)), func(b *testing.B) {
			s := 0
			for i := range b.N {
				s += m.Pick(int64(i))
			}
			_ = s
		})
	}
}
