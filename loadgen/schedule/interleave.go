package schedule

import "slices"

// golden is 2^64/φ: i*golden (mod 2^64) is frac(i/φ) in 64-bit fixed point,
// computed exactly in integers, so every machine derives the same order.
const golden = 0x9E3779B97F4A7C15

// owned returns, ascending, the residues r in [0, Of) such that the
// segment owns every arrival k with k mod Of == r.
//
// The residues are ranked by the golden-ratio points frac(r/φ); residue r
// belongs to the segment that holds its rank. Ranks are a permutation of
// [0, Of), so segments that share Of partition the arrivals exactly, and
// each owns exactly End-Start of every block of Of consecutive arrivals.
// The golden points are the most evenly spread sequence there is (the
// three-gap theorem), so inside a block a segment's arrivals are spread,
// not bunched: Of 3 gives each worker every third arrival, weights {3,1,2}
// deal the arrivals to workers 0 2 0 2 1 0. Measured over every contiguous
// segment and every prefix of a block, a segment's running count stays
// within 1 arrival of its share for Of <= 9, within 2 for Of <= 100 and
// within 3 for Of <= 1000 (TestOwnedSpread).
//
// We refused the rule "take k when c(k+1)-c(k) == 1, c(n) =
// floor(nB/W)-floor(nA/W)": it is not a partition. For weights {3,1,2},
// arrival 3 is taken by both outer segments and the middle one sees -1.
// No rule fixed by Of alone keeps every segment of every split within 1 of
// its share at every prefix (a discrepancy must grow like log Of), so we
// keep blocks exact and the spread even.
func (s Segment) owned() []uint32 {
	if s.Of == 1 {
		return []uint32{0}
	}
	// Key: the top bits of the golden point, the residue in the low bits.
	// Residues < MaxOf fit in the low bits; a tie in the top bits (points
	// closer than 2^-44, rare) is broken by residue, which keeps the order
	// a deterministic permutation, all that exactness needs.
	const mask = MaxOf - 1
	keys := make([]uint64, s.Of)
	for r := range keys {
		keys[r] = uint64(r)*golden&^mask | uint64(r)
	}
	slices.Sort(keys)
	own := make([]uint32, 0, s.End-s.Start)
	for _, k := range keys[s.Start:s.End] {
		own = append(own, uint32(k&mask))
	}
	slices.Sort(own)
	return own
}
