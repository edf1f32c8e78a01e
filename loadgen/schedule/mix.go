package schedule

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Mix chooses which request of a weighted mix each arrival sends, as a
// function of the arrival's global index k alone (Arrivals.NextIndexed)
// and a seed. A worker therefore needs nothing but its own arrivals to
// make its choices; the workers of a Split make disjoint choices that
// together are the single worker's; the same seed gives the same choices.
//
// The weights are turned into whole slots of a block of M consecutive
// arrivals (for integer weights, M is their sum divided by their greatest
// common divisor: 70/20/10 is 7, 2 and 1 slots of 10), and each block
// deals its slots in an order of its own: a seeded affine permutation
// p -> (a*p + c) mod M with a and c drawn per block. So every whole block
// holds the exact shares, the error over any prefix is at most one block's
// worth, and the order within blocks looks random rather than periodic (a
// periodic order would alias with a worker's every-third arrival).
// Weights that are not integers (or whose reduced sum is above MaxMixBlock)
// are rounded to slots of a block of 1000 (0.1% steps; more when there are
// more choices than that), every choice keeping at least one slot.
//
// Make one with NewMix; the zero value is not usable. A Mix is immutable:
// safe for concurrent use.
type Mix struct {
	m     uint64   // block length M
	seed  uint64   // already mixed
	cum   []uint64 // cum[i] = slots of choices 0..i; cum[last] = m
	units []uint64 // multipliers coprime to m
}

// MaxMixBlock bounds the block of integer weights (their reduced sum) and
// so the number of choices in a mix.
const MaxMixBlock = 1 << 16

// roundedBlock is the block length rounded weights are dealt over.
const roundedBlock = 1000

// maxUnits bounds the multipliers a Mix keeps to draw from.
const maxUnits = 256

// NewMix returns the mix of the given weights (each finite and positive)
// under seed.
func NewMix(weights []float64, seed int64) (*Mix, error) {
	if len(weights) == 0 {
		return nil, errors.New("schedule: mix: no weights")
	}
	if len(weights) > MaxMixBlock {
		return nil, fmt.Errorf("schedule: mix: %d choices, more than %d", len(weights), MaxMixBlock)
	}
	integral := true
	var sum float64
	for i, w := range weights {
		if !(w > 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("schedule: mix: weight %d is %v, want a positive number", i+1, w)
		}
		integral = integral && w == math.Trunc(w) && w <= 1<<53
		sum += w
	}
	if math.IsInf(sum, 0) {
		return nil, fmt.Errorf("schedule: mix: weights %v overflow", weights)
	}
	var slots []uint64
	if integral {
		var g uint64
		for _, w := range weights {
			g = ugcd(g, uint64(w))
		}
		var total uint64
		for _, w := range weights {
			total += uint64(w) / g // at most MaxMixBlock parts, or rounded below
			if total > MaxMixBlock {
				break
			}
		}
		if total <= MaxMixBlock {
			slots = make([]uint64, len(weights))
			for i, w := range weights {
				slots[i] = uint64(w) / g
			}
		}
	}
	if slots == nil {
		slots = roundSlots(weights, sum, uint64(max(roundedBlock, 4*len(weights))))
	}
	m := &Mix{seed: mix(mix(uint64(seed)) ^ 0x6d69785f73656564), cum: make([]uint64, len(slots))}
	var c uint64
	for i, s := range slots {
		c += s
		m.cum[i] = c
	}
	m.m = c
	m.units = units(m.m, m.seed)
	return m, nil
}

// roundSlots deals m slots by largest remainder, then gives every choice
// left without a slot one, taken from the choice with the most.
func roundSlots(weights []float64, sum float64, m uint64) []uint64 {
	slots := make([]uint64, len(weights))
	rem := make([]float64, len(weights))
	var dealt uint64
	for i, w := range weights {
		q := w / sum * float64(m)
		slots[i] = uint64(q)
		rem[i] = q - float64(slots[i])
		dealt += slots[i]
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rem[order[a]] > rem[order[b]] })
	for i := 0; dealt < m; i++ {
		slots[order[i%len(order)]]++
		dealt++
	}
	for i := range slots {
		if slots[i] == 0 {
			j := 0
			for x := range slots {
				if slots[x] > slots[j] {
					j = x
				}
			}
			slots[j]--
			slots[i]++
		}
	}
	return slots
}

// units returns up to maxUnits multipliers coprime to m, spread over [1, m).
func units(m, seed uint64) []uint64 {
	if m <= 2 {
		return []uint64{1}
	}
	var us []uint64
	if m <= 4*maxUnits {
		for a := uint64(1); a < m; a++ {
			if ugcd(a, m) == 1 {
				us = append(us, a)
			}
		}
		return us
	}
	h := seed
	for len(us) < maxUnits {
		h = mix(h)
		a := 1 + h%(m-1)
		for ugcd(a, m) != 1 { // a unit is never far: m has few prime factors
			a = a%(m-1) + 1
		}
		us = append(us, a)
	}
	return us
}

// Len is the number of choices.
func (m *Mix) Len() int { return len(m.cum) }

// Block is the block length M: every M consecutive arrivals starting at a
// multiple of M hold exactly Slots(i) of choice i.
func (m *Mix) Block() int64 { return int64(m.m) }

// Slots is the number of arrivals of each block that send choice i.
func (m *Mix) Slots(i int) int64 {
	if i == 0 {
		return int64(m.cum[0])
	}
	return int64(m.cum[i] - m.cum[i-1])
}

// Share is choice i's share of the arrivals, Slots(i)/Block().
func (m *Mix) Share(i int) float64 { return float64(m.Slots(i)) / float64(m.m) }

// Pick returns the choice of the arrival with global index k (k >= 0). It
// does not allocate.
func (m *Mix) Pick(k int64) int {
	if len(m.cum) == 1 {
		return 0
	}
	b, p := uint64(k)/m.m, uint64(k)%m.m
	h := mix(m.seed ^ mix(b))
	a := m.units[(h>>32)%uint64(len(m.units))]
	q := (a*p + h%m.m) % m.m // a, p < m <= 2^18: no overflow
	if len(m.cum) <= 8 {
		for i, c := range m.cum {
			if q < c {
				return i
			}
		}
	}
	i, _ := slices.BinarySearch(m.cum, q+1)
	return i
}

func ugcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
