package histogram

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

func TestTailBinGeometry(t *testing.T) {
	if got := binOf(highestUS); got >= NumTailBins {
		t.Fatalf("1 h falls in bin %d of %d", got, NumTailBins)
	}
	for i := 0; i < NumTailBins; i++ {
		lo := tailBinLow(i)
		if binOf(lo) != i {
			t.Fatalf("binOf(tailBinLow(%d) = %d) = %d", i, lo, binOf(lo))
		}
		if i+1 < NumTailBins {
			hi := tailBinLow(i + 1)
			if binOf(hi-1) != i {
				t.Fatalf("binOf(%d) = %d, want %d", hi-1, binOf(hi-1), i)
			}
			if w := float64(hi-lo) / float64(max(lo, 1)); lo >= 8 && w > 0.125 {
				t.Fatalf("bin %d [%d, %d) is %.1f%% wide", i, lo, hi, 100*w)
			}
		}
	}
	if binOf(1<<40) != NumTailBins-1 {
		t.Error("a total beyond the bins does not land in the last bin")
	}
}

// phasesOf returns consecutive phases summing to total: 10% schedule lag,
// 20% write, the rest TTFB.
func phasesOf(total time.Duration) *[NumConsecutive]time.Duration {
	var p [NumConsecutive]time.Duration
	p[ScheduleLag] = total / 10
	p[Write] = total / 5
	p[TTFB] = total - p[ScheduleLag] - p[Write]
	return &p
}

func TestBreakdownPicksTheTail(t *testing.T) {
	var tb TailBins
	for range 990 {
		tb.Add(phasesOf(time.Millisecond))
	}
	for range 10 {
		tb.Add(phasesOf(100 * time.Millisecond))
	}
	for _, tc := range []struct {
		q         float64
		count     int64
		meanTotal time.Duration // ±10%
	}{
		{0.99, 10, 100 * time.Millisecond},   // exactly the slow ones
		{0.995, 5, 100 * time.Millisecond},   // half of the slow bin
		{0.98, 20, 50500 * time.Microsecond}, // the slow ones and 10 fast
		{0, 1000, 1990 * time.Microsecond},   // everyone
		{1, 0, 0},                            // nobody
		{0.9999, 0, 0},                       // round(0.1) = 0 requests
	} {
		s := tb.Breakdown(tc.q)
		if s.Count != tc.count || s.FromQuantile != tc.q {
			t.Errorf("Breakdown(%v): Count %d, want %d", tc.q, s.Count, tc.count)
		}
		if d := s.MeanTotal - tc.meanTotal; d < -tc.meanTotal/10 || d > tc.meanTotal/10 {
			t.Errorf("Breakdown(%v): MeanTotal %v, want %v ±10%%", tc.q, s.MeanTotal, tc.meanTotal)
		}
		if want := s.MeanTotal * 7 / 10; s.Count > 0 && (s.MeanPhase[TTFB]-want > time.Microsecond || want-s.MeanPhase[TTFB] > time.Microsecond) {
			t.Errorf("Breakdown(%v): TTFB %v, want 70%% of the total", tc.q, s.MeanPhase[TTFB])
		}
	}
}

func TestBreakdownAddsUp(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	var tb TailBins
	var sumAll time.Duration
	for range 20_000 {
		var p [NumConsecutive]time.Duration
		for i := range p {
			if r.IntN(3) > 0 {
				p[i] = time.Duration(r.ExpFloat64() * float64(time.Duration(i+1)*300*time.Microsecond))
			}
		}
		for i := range p {
			sumAll += p[i].Truncate(time.Microsecond)
		}
		tb.Add(&p)
	}
	for _, q := range []float64{0, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 0.33333} {
		s := tb.Breakdown(q)
		var sum time.Duration
		for _, d := range s.MeanPhase {
			sum += d
		}
		if d := sum - s.MeanTotal; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("Breakdown(%v): phases sum to %v, MeanTotal %v", q, sum, s.MeanTotal)
		}
	}
	// q = 0 is every request, and its mean is exact.
	all := tb.Breakdown(0)
	want := sumAll / time.Duration(tb.Count())
	if d := all.MeanTotal - want; d < -time.Nanosecond || d > time.Nanosecond {
		t.Errorf("Breakdown(0).MeanTotal = %v, want %v", all.MeanTotal, want)
	}
	// Tail means grow with q.
	if !(tb.Breakdown(0.5).MeanTotal < tb.Breakdown(0.9).MeanTotal && tb.Breakdown(0.9).MeanTotal < tb.Breakdown(0.99).MeanTotal) {
		t.Error("tail means do not grow with the quantile")
	}
}

func TestTailMergeAndReset(t *testing.T) {
	var a, b, all TailBins
	for i := range 300 {
		p := phasesOf(time.Duration(i*i) * time.Microsecond)
		if i%2 == 0 {
			a.Add(p)
		} else {
			b.Add(p)
		}
		all.Add(p)
	}
	a.Merge(&b)
	a.Merge(nil)
	if a != all {
		t.Fatal("merge of two TailBins differs from adding every request to one")
	}
	a.Reset()
	if a != (TailBins{}) || a.Count() != 0 {
		t.Fatal("Reset did not empty")
	}
	defer func() {
		if recover() == nil {
			t.Error("Breakdown(1.5) did not panic")
		}
	}()
	a.Breakdown(1.5)
}

func TestTailWire(t *testing.T) {
	var tb TailBins
	for i := range 1000 {
		tb.Add(phasesOf(time.Duration(i*37) * time.Microsecond))
	}
	tb.Add(phasesOf(3 * time.Hour)) // the open-ended last bin
	b := tb.AppendBinary([]byte("prefix"))
	var got TailBins
	if err := got.UnmarshalBinary(b[len("prefix"):]); err != nil {
		t.Fatal(err)
	}
	if got != tb {
		t.Fatal("round trip changed the bins")
	}
	t.Logf("1001 requests: %d bytes", len(b)-len("prefix"))

	var empty TailBins
	if e, _ := empty.MarshalBinary(); len(e) != 2 {
		t.Errorf("empty TailBins encodes to %d bytes, want 2", len(e))
	}

	good := tb.AppendBinary(nil)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},                                                            // no version
		{"version 2", []byte{2, 0}},                                               // unknown version
		{"truncated", good[:len(good)-1]},                                         // last varint cut
		{"trailing", append(append([]byte{}, good...), 0)},                        // extra byte
		{"too many bins", []byte{1, 0xf1, 0x01}},                                  // more than NumTailBins
		{"bin out of range", []byte{1, 1, 0xf0, 0x01, 1, 0, 0, 0, 0, 0, 0, 0, 0}}, // gap past the end
		{"empty bin", []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},                 // count 0
		{"mean outside bin", []byte{1, 1, 0, 1, 5, 0, 0, 0, 0, 0, 0, 0}},          // bin 0 holds totals of 0 µs only
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tb
			if err := before.UnmarshalBinary(tc.b); err == nil {
				t.Fatal("accepted")
			}
			if before != tb {
				t.Error("a failed UnmarshalBinary changed the receiver")
			}
		})
	}
}

func FuzzTailBins(f *testing.F) {
	var tb TailBins
	tb.Add(phasesOf(1234 * time.Microsecond))
	tb.Add(phasesOf(2 * time.Hour))
	f.Add(tb.AppendBinary(nil), []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{1, 0}, []byte{})
	f.Add([]byte{1, 1, 9, 1, 9, 0, 0, 0, 0, 0, 0, 0}, []byte{0xff})
	f.Fuzz(func(t *testing.T, b, phases []byte) {
		// Garbage never panics; what decodes round-trips.
		var got TailBins
		if err := got.UnmarshalBinary(b); err == nil {
			var again TailBins
			if err := again.UnmarshalBinary(got.AppendBinary(nil)); err != nil || again != got {
				t.Fatalf("decoded bins do not round-trip: %v", err)
			}
			s := got.Breakdown(0.99)
			var sum time.Duration
			for _, d := range s.MeanPhase {
				sum += d
			}
			if sum != s.MeanTotal {
				t.Fatalf("decoded bins break down to phases summing to %v, not %v", sum, s.MeanTotal)
			}
		}
		// Bins built from the fuzz input round-trip exactly.
		var built TailBins
		for i := 0; i+NumConsecutive <= len(phases); i += NumConsecutive {
			var p [NumConsecutive]time.Duration
			for j := range p {
				p[j] = time.Duration(phases[i+j]) << (phases[i] % 48)
			}
			built.Add(&p)
		}
		var back TailBins
		if err := back.UnmarshalBinary(built.AppendBinary(nil)); err != nil || back != built {
			t.Fatalf("built bins do not round-trip: %v", err)
		}
	})
}

func TestTailSliceJSON(t *testing.T) {
	s := TailSlice{FromQuantile: 0.99, Count: 10}
	s.MeanPhase[TTFB] = 1500 * time.Microsecond
	s.MeanPhase[Write] = 250*time.Microsecond + 500
	s.MeanTotal = s.MeanPhase[TTFB] + s.MeanPhase[Write]
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["mean_total_us"] != 1750.5 || m["mean_phase_us"].(map[string]any)["ttfb"] != 1500.0 {
		t.Errorf("JSON form %s", b)
	}
	var back TailSlice
	if err := json.Unmarshal(b, &back); err != nil || back != s {
		t.Errorf("JSON round trip: %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"mean_phase_us":{"total":1}}`), &back); err == nil {
		t.Error("a non-consecutive phase was accepted")
	}
}
