package histogram

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"time"
)

// Tail bins are log-spaced in total latency (µs): values 0..7 get a bin
// each, and every power of two above gets tailSub bins, so a bin is at most
// 1/8 of its lower bound wide (12.5%, 6.7% at the top of an octave). That is
// fine enough to cut at P99 without dragging in the requests just below it,
// which DESIGN.md's 64 bins (one per ~30%) could not do.
const (
	tailSubBits = 3
	tailSub     = 1 << tailSubBits
)

// NumTailBins is the number of tail bins: one each for totals of 0..7 µs,
// then 8 per power of two up to 2^32 µs (about 71 min); a larger total goes
// into the last bin.
const NumTailBins = 30 * tailSub

// binOf returns the bin of a total of v µs.
func binOf(v uint64) int {
	if v < tailSub {
		return int(v)
	}
	e := bits.Len64(v) - 1 // >= tailSubBits
	i := (e-tailSubBits+1)<<tailSubBits | int(v>>(e-tailSubBits)&(tailSub-1))
	return min(i, NumTailBins-1)
}

// tailBinLow returns the lowest total (µs) in bin i, and tailBinLow(i+1) is
// one past its highest (the last bin is open-ended).
func tailBinLow(i int) uint64 {
	if i < tailSub {
		return uint64(i)
	}
	e := i>>tailSubBits + tailSubBits - 1
	return uint64(tailSub+i&(tailSub-1)) << (e - tailSubBits)
}

type tailBin struct {
	n     int64                 // requests
	total int64                 // sum of their totals, µs; always the sum of phase
	phase [NumConsecutive]int64 // per consecutive phase, sum of µs
}

// TailBins keeps, per bin of total latency, the count of requests and the
// sums of their consecutive phases, so that the mean phases of "the slowest
// 1%" can be recovered after any number of merges (see Breakdown). It takes
// about 19 KB.
//
// The zero value is empty and ready to use. TailBins is not safe for
// concurrent use. It is comparable with ==.
type TailBins struct {
	bins  [NumTailBins]tailBin
	count int64
}

// Add records one request. Its total is defined as the sum of its phases,
// each truncated to whole microseconds (negative phases count as 0), so
// that a breakdown adds up exactly.
func (t *TailBins) Add(phases *[NumConsecutive]time.Duration) {
	var v [NumConsecutive]int64
	var total int64
	for i, d := range phases {
		if d > 0 {
			v[i] = int64(d / time.Microsecond)
			total += v[i]
		}
	}
	b := &t.bins[binOf(uint64(total))]
	b.n++
	b.total += total
	for i, x := range v {
		b.phase[i] += x
	}
	t.count++
}

// Merge adds o's requests to t.
func (t *TailBins) Merge(o *TailBins) {
	if o == nil || o.count == 0 {
		return
	}
	for i := range t.bins {
		ob := &o.bins[i]
		if ob.n == 0 {
			continue
		}
		b := &t.bins[i]
		b.n += ob.n
		b.total += ob.total
		for j, x := range ob.phase {
			b.phase[j] += x
		}
	}
	t.count += o.count
}

// Reset empties t.
func (t *TailBins) Reset() { *t = TailBins{} }

// Count returns the number of requests added.
func (t *TailBins) Count() int64 { return t.count }

// TailSlice describes the requests at or above a quantile of total latency:
// how many there are and their mean total and mean consecutive phases, in
// phase order. The MeanPhase values add up to MeanTotal exactly. The zero
// value describes an empty slice.
type TailSlice struct {
	FromQuantile float64
	Count        int64
	MeanTotal    time.Duration
	MeanPhase    [NumConsecutive]time.Duration
}

// Breakdown returns the requests at or above quantile q (0..1) of total
// latency: the slowest m = round((1-q)·Count()) requests, taken bin by bin
// from the slowest. The bin where m is reached contributes the fraction of
// its requests needed, with the same fraction of its sums (its requests are
// taken as alike, an error bounded by the bin width). q = 0 means every
// request. q outside [0, 1] panics.
//
// Means are computed in nanoseconds: MeanTotal is the rounded mean total,
// and each MeanPhase is its mean rounded up or down (largest remainder
// first) so that they sum to MeanTotal exactly.
func (t *TailBins) Breakdown(q float64) TailSlice {
	checkQuantile(q)
	s := TailSlice{FromQuantile: q}
	m := int64(math.Round((1 - q) * float64(t.count)))
	if q == 0 {
		m = t.count
	}
	if m <= 0 {
		return s
	}
	var sumTotal float64
	var sumPhase [NumConsecutive]float64
	need := m
	for i := NumTailBins - 1; i >= 0 && need > 0; i-- {
		b := &t.bins[i]
		if b.n == 0 {
			continue
		}
		f := 1.0
		if b.n > need {
			f = float64(need) / float64(b.n)
			need = 0
		} else {
			need -= b.n
		}
		sumTotal += f * float64(b.total)
		for j, x := range b.phase {
			sumPhase[j] += f * float64(x)
		}
	}
	s.Count = m
	s.MeanTotal, s.MeanPhase = splitMean(sumTotal, &sumPhase, float64(m))
	return s
}

// splitMean divides sums (µs) by n and returns the mean total and phases in
// ns, with the phases rounded so that they sum to the total: the error of
// each phase is under 1 ns and the total is the correctly rounded mean.
func splitMean(sumTotal float64, sumPhase *[NumConsecutive]float64, n float64) (time.Duration, [NumConsecutive]time.Duration) {
	const usToNS = float64(time.Microsecond)
	var out [NumConsecutive]time.Duration
	var frac [NumConsecutive]float64
	var floorSum time.Duration
	for i, x := range sumPhase {
		v := x * usToNS / n
		fl := math.Floor(v)
		out[i] = time.Duration(fl)
		frac[i] = v - fl
		floorSum += out[i]
	}
	total := time.Duration(math.Round(sumTotal * usToNS / n))
	// Float error can put the total a hair outside [floorSum, floorSum+N]; the
	// phases are the truth, so the total follows them there.
	rem := min(max(int(total-floorSum), 0), NumConsecutive)
	for range rem {
		best := 0
		for i, f := range frac {
			if f > frac[best] {
				best = i
			}
		}
		out[best]++
		frac[best] = -1 // rounded up once at most
	}
	return floorSum + time.Duration(rem), out
}

// MarshalJSON writes s in the results.json form: {"from_quantile": 0.99,
// "count": 10, "mean_total_us": 1234.5, "mean_phase_us": {"ttfb": 1000.25,
// ...}}. Means are in fractional microseconds so that they still add up.
func (s TailSlice) MarshalJSON() ([]byte, error) {
	w := tailSliceJSON{FromQuantile: s.FromQuantile, Count: s.Count, MeanTotalUS: durUS(s.MeanTotal),
		MeanPhaseUS: make(map[string]float64, NumConsecutive)}
	for i, d := range s.MeanPhase {
		w.MeanPhaseUS[Phase(i).String()] = durUS(d)
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the form MarshalJSON writes. Phase names it does not
// know are an error, since they would break the adding up.
func (s *TailSlice) UnmarshalJSON(b []byte) error {
	var w tailSliceJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("histogram: tail slice: %w", err)
	}
	out := TailSlice{FromQuantile: w.FromQuantile, Count: w.Count, MeanTotal: usDur(w.MeanTotalUS)}
	for name, v := range w.MeanPhaseUS {
		p, err := ParsePhase(name)
		if err != nil || int(p) >= NumConsecutive {
			return fmt.Errorf("histogram: tail slice: %q is not a consecutive phase", name)
		}
		out.MeanPhase[p] = usDur(v)
	}
	*s = out
	return nil
}

type tailSliceJSON struct {
	FromQuantile float64            `json:"from_quantile"`
	Count        int64              `json:"count"`
	MeanTotalUS  float64            `json:"mean_total_us"`
	MeanPhaseUS  map[string]float64 `json:"mean_phase_us"`
}

func durUS(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func usDur(v float64) time.Duration { return time.Duration(math.Round(v * float64(time.Microsecond))) }
