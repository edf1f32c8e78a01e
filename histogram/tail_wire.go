package histogram

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// tailWireVersion leads every encoding, so the format can change without a
// receiver misreading it.
const tailWireVersion = 1

// AppendBinary appends t's compact wire form to b and returns the result.
// Only non-empty bins are written: a version byte, the number of non-empty
// bins, then per bin the gap from the previous one, its count and its eight
// phase sums, all as uvarints. A bin's total is not sent: it is the sum of
// its phases. An interval with a few dozen busy bins takes a few hundred
// bytes. (It never fails, so unlike encoding.BinaryAppender it returns no
// error.)
func (t *TailBins) AppendBinary(b []byte) []byte {
	b = append(b, tailWireVersion)
	var used uint64
	for i := range t.bins {
		if t.bins[i].n != 0 {
			used++
		}
	}
	b = binary.AppendUvarint(b, used)
	prev := -1
	for i := range t.bins {
		bin := &t.bins[i]
		if bin.n == 0 {
			continue
		}
		b = binary.AppendUvarint(b, uint64(i-prev-1))
		prev = i
		b = binary.AppendUvarint(b, uint64(bin.n))
		for _, x := range bin.phase {
			b = binary.AppendUvarint(b, uint64(x))
		}
	}
	return b
}

// MarshalBinary returns t's wire form (see AppendBinary).
func (t *TailBins) MarshalBinary() ([]byte, error) {
	return t.AppendBinary(nil), nil
}

var errTailShort = errors.New("histogram: tail bins: truncated")

// UnmarshalBinary replaces t with the bins encoded in b by AppendBinary. It
// rejects anything AppendBinary could not have written: unknown versions,
// bins out of order or range, empty bins, sums that overflow, a bin whose
// mean total lies outside the bin, and trailing bytes. On error t is
// unchanged.
func (t *TailBins) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		return errTailShort
	}
	if b[0] != tailWireVersion {
		return fmt.Errorf("histogram: tail bins: unknown version %d", b[0])
	}
	b = b[1:]
	next := func() (uint64, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, errTailShort
		}
		b = b[n:]
		return v, nil
	}
	used, err := next()
	if err != nil {
		return err
	}
	if used > NumTailBins {
		return fmt.Errorf("histogram: tail bins: %d bins, at most %d", used, NumTailBins)
	}
	var out TailBins
	prev := -1
	for range used {
		gap, err := next()
		if err != nil {
			return err
		}
		if gap >= uint64(NumTailBins-prev-1) {
			return fmt.Errorf("histogram: tail bins: bin %d+%d out of range", prev+1, gap)
		}
		i := prev + 1 + int(gap)
		prev = i
		bin := &out.bins[i]
		n, err := next()
		if err != nil {
			return err
		}
		if n == 0 || n > math.MaxInt64 || n > math.MaxInt64-uint64(out.count) {
			return fmt.Errorf("histogram: tail bins: bin %d: bad count %d", i, n)
		}
		bin.n = int64(n)
		out.count += bin.n
		var total uint64
		for j := range bin.phase {
			x, err := next()
			if err != nil {
				return err
			}
			if x > math.MaxInt64-total {
				return fmt.Errorf("histogram: tail bins: bin %d: sums overflow", i)
			}
			bin.phase[j] = int64(x)
			total += x
		}
		bin.total = int64(total)
		if !meanInBin(i, n, total) {
			return fmt.Errorf("histogram: tail bins: bin %d: mean total %d/%d outside the bin", i, total, n)
		}
	}
	if len(b) != 0 {
		return fmt.Errorf("histogram: tail bins: %d trailing bytes", len(b))
	}
	*t = out
	return nil
}

// meanInBin reports whether n totals summing to total can all lie in bin i,
// that is low(i)·n <= total < low(i+1)·n, computed without overflow.
func meanInBin(i int, n, total uint64) bool {
	hi, lo := bits.Mul64(tailBinLow(i), n)
	if hi != 0 || lo > total {
		return false
	}
	if i == NumTailBins-1 {
		return true
	}
	hi, lo = bits.Mul64(tailBinLow(i+1), n)
	return hi != 0 || total < lo
}
