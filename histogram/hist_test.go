package histogram

import (
	"math/rand/v2"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// randomHist records n seeded, roughly log-normal latencies into a new Hist
// and returns it with the values recorded.
func randomHist(seed uint64, n int) (*Hist, []time.Duration) {
	r := rand.New(rand.NewPCG(seed, 42))
	h := New()
	vs := make([]time.Duration, n)
	for i := range vs {
		vs[i] = time.Duration(r.ExpFloat64()*float64(3*time.Millisecond)) + 150*time.Microsecond
		if r.IntN(100) == 0 {
			vs[i] *= 40 // a tail
		}
		h.Record(vs[i])
	}
	return h, vs
}

func TestQuantileMatchesLibrary(t *testing.T) {
	h, _ := randomHist(1, 10_000)
	lib := h.HDR()
	for _, tc := range []struct {
		q, pct float64
	}{
		{0, 0},            // the minimum: lowest equivalent value
		{0.5, 50},         // median
		{0.9, 90},         // P90
		{0.99, 99},        // P99: 0.99*100 is not exactly 99 in float64
		{0.999, 99.9},     // P99.9
		{0.9999, 99.99},   // P99.99
		{1, 100},          // the maximum
		{0.123, 12.3},     // an arbitrary quantile
		{1e-9, 1e-7},      // just above 0: highest equivalent of the min
		{0.99999, 99.999}, // beyond the data's resolution
	} {
		got := h.Quantile(tc.q)
		want := time.Duration(lib.ValueAtPercentile(tc.pct)) * time.Microsecond
		if got != want {
			t.Errorf("Quantile(%v) = %v, library ValueAtPercentile(%v) = %v", tc.q, got, tc.pct, want)
		}
	}
	qs := h.Quantiles(0.5, 0.99, 0)
	if qs[0] != h.Quantile(0.5) || qs[1] != h.Quantile(0.99) || qs[2] != h.Quantile(0) {
		t.Errorf("Quantiles = %v, want the Quantile of each in order", qs)
	}
}

func TestQuantileEmptyAndPanics(t *testing.T) {
	h := New()
	if got := h.Quantile(0.99); got != 0 {
		t.Errorf("empty Quantile(0.99) = %v, want 0", got)
	}
	if s := h.Summary(); s != (Summary{}) {
		t.Errorf("empty Summary = %+v, want zero", s)
	}
	if h.Spectrum(5) != nil || h.Max() != 0 || h.Min() != 0 || h.Mean() != 0 {
		t.Errorf("empty Hist: Spectrum, Max, Min, Mean should be nil/0")
	}
	for _, q := range []float64{
		99,     // a percentile passed as a quantile
		-0.01,  // below 0
		1.0001, // above 1
		nanQ(), // NaN
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Quantile(%v) did not panic", q)
				}
			}()
			h.Quantile(q)
		}()
	}
}

func nanQ() float64 { z := 0.0; return z / z }

func TestRecordClamping(t *testing.T) {
	for _, tc := range []struct {
		name    string
		d       time.Duration
		want    time.Duration // the value recorded (Min of a one-value Hist)
		clamped int64
	}{
		{"zero", 0, 0, 0}, // 0 is recordable
		{"sub-microsecond truncates", 999 * time.Nanosecond, 0, 0},                          // truncated, not clamped
		{"one microsecond", time.Microsecond, time.Microsecond, 0},                          // the lowest unit
		{"negative", -time.Millisecond, 0, 1},                                               // recorded at 0
		{"tiny negative", -time.Nanosecond, 0, 1},                                           // truncates to 0 but still clamped
		{"exactly one hour", time.Hour, MaxValue, 0},                                        // the top of the range
		{"just above one hour", time.Hour + time.Microsecond, MaxValue, 1},                  // clamped to the top
		{"a day", 24 * time.Hour, MaxValue, 1},                                              // far above the range
		{"max duration", time.Duration(1<<63 - 1), MaxValue, 1},                             // no overflow
		{"truncated within range", 1500*time.Microsecond + 999, 1500 * time.Microsecond, 0}, // ns dropped
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New()
			h.Record(tc.d)
			if h.Count() != 1 {
				t.Fatalf("Count = %d, want 1: a value must never be lost", h.Count())
			}
			if h.Clamped() != tc.clamped {
				t.Errorf("Clamped = %d, want %d", h.Clamped(), tc.clamped)
			}
			if !h.HDR().ValuesAreEquivalent(int64(h.Min()/time.Microsecond), int64(tc.want/time.Microsecond)) {
				t.Errorf("recorded %v, want (equivalent to) %v", h.Min(), tc.want)
			}
		})
	}
}

func TestRecordN(t *testing.T) {
	h := New()
	h.RecordN(time.Millisecond, 5)
	h.RecordN(2*time.Hour, 3)
	h.RecordN(time.Second, 0)  // no-op
	h.RecordN(time.Second, -2) // no-op
	if h.Count() != 8 || h.Clamped() != 3 {
		t.Errorf("Count, Clamped = %d, %d; want 8, 3", h.Count(), h.Clamped())
	}
}

func TestStats(t *testing.T) {
	h := New()
	for _, ms := range []int{1, 2, 3, 4, 10} {
		h.Record(time.Duration(ms) * time.Millisecond)
	}
	near := func(name string, got, want time.Duration) {
		t.Helper()
		if d := got - want; d < -want/500 || d > want/500 {
			t.Errorf("%s = %v, want %v ±0.2%%", name, got, want)
		}
	}
	near("Mean", h.Mean(), 4*time.Millisecond)
	near("Min", h.Min(), time.Millisecond)
	near("Max", h.Max(), 10*time.Millisecond)
	s := h.Summary()
	near("P50", s.P50, 3*time.Millisecond)
	near("P99", s.P99, 10*time.Millisecond)
	if s.Count != 5 || s.Max != h.Max() || s.P9999 != h.Quantile(0.9999) || s.P90 != h.Quantile(0.9) {
		t.Errorf("Summary %+v disagrees with the Hist", s)
	}
}

func TestSpectrum(t *testing.T) {
	h, vs := randomHist(2, 5000)
	sp := h.Spectrum(5)
	if len(sp) < 10 {
		t.Fatalf("Spectrum has %d points, want many", len(sp))
	}
	last := sp[len(sp)-1]
	if last.Quantile != 1 || last.Count != int64(len(vs)) || last.Value != h.Max() {
		t.Errorf("last point %+v, want quantile 1, count %d, value %v", last, len(vs), h.Max())
	}
	for i := 1; i < len(sp); i++ {
		if sp[i].Quantile < sp[i-1].Quantile || sp[i].Value < sp[i-1].Value || sp[i].Count < sp[i-1].Count {
			t.Fatalf("Spectrum not monotonic at %d: %+v then %+v", i, sp[i-1], sp[i])
		}
	}
	if len(h.Spectrum(0)) != len(sp) {
		t.Errorf("Spectrum(0) should use the default of 5 ticks")
	}
}

func TestMergeIsUnion(t *testing.T) {
	a, va := randomHist(3, 3000)
	b, vb := randomHist(4, 2000)
	b.Record(-time.Second) // clamped counts must add too
	all := New()
	for _, v := range append(append([]time.Duration{}, va...), vb...) {
		all.Record(v)
	}
	all.Record(-time.Second)
	a.Merge(b)
	a.Merge(nil)
	if !a.Equal(all) {
		t.Fatalf("merge of two Hists differs from recording every value into one")
	}
	if a.Clamped() != 1 {
		t.Errorf("Clamped = %d, want 1", a.Clamped())
	}
}

func TestCloneResetEqual(t *testing.T) {
	h, _ := randomHist(5, 100)
	h.Record(-1)
	c := h.Clone()
	if !c.Equal(h) {
		t.Fatal("Clone is not Equal")
	}
	c.Record(time.Millisecond)
	if c.Equal(h) || h.Count() != 101 {
		t.Fatal("Clone shares storage with the original")
	}
	c.Reset()
	if c.Count() != 0 || c.Clamped() != 0 || !c.Equal(New()) {
		t.Fatal("Reset did not empty the Hist")
	}
	d := h.Clone()
	d.SetClamped(7)
	if d.Equal(h) {
		t.Error("Equal ignores the clamped count")
	}
}

func TestFromHDR(t *testing.T) {
	h, _ := randomHist(6, 500)
	if w := FromHDR(h.HDR()); w.HDR() != h.HDR() {
		t.Error("FromHDR copied a histogram with our geometry")
	}
	// A foreign geometry (µs up to 10 h, 2 digits) is re-recorded into ours,
	// and its value above 1 h is clamped.
	f := hdrhistogram.New(1, 36_000_000_000, 2)
	for _, v := range []int64{1500, 2_000_000, 5_000_000_000} {
		if err := f.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	g := FromHDR(f)
	if g.Count() != 3 || g.Clamped() != 1 || !sameGeometry(g.HDR()) {
		t.Errorf("foreign FromHDR: Count, Clamped = %d, %d; want 3, 1 in our geometry", g.Count(), g.Clamped())
	}
}

// TestCountsOf proves the in-place view of the library's counts matches
// what Export copies, and fails if the library's layout moved (countsOf
// would then fall back to copying, 188 KB per call).
func TestCountsOf(t *testing.T) {
	if countsOffset == ^uintptr(0) {
		t.Fatal("hdrhistogram.Histogram has no counts []int64 field any more: countsOf copies through Export")
	}
	h := New()
	for _, v := range []time.Duration{time.Microsecond, 3 * time.Millisecond, 7 * time.Second, 40 * time.Minute} {
		h.RecordN(v, 3)
	}
	got, want := countsOf(h.h), h.h.Export().Counts
	if len(got) != len(want) {
		t.Fatalf("countsOf has %d counts, Export %d", len(got), len(want))
	}
	var n int64
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("count %d: countsOf %d, Export %d", i, got[i], want[i])
		}
		n += got[i]
	}
	if n != 12 {
		t.Fatalf("counts sum to %d, want 12", n)
	}
	if a := testing.AllocsPerRun(10, func() { countsOf(h.h) }); a != 0 {
		t.Errorf("countsOf allocates %v times per call", a)
	}
}
