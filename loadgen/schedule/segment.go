package schedule

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MaxOf is the largest Segment denominator. A constant-process worker keeps
// a table of the arrival residues it owns and builds it by sorting Of keys,
// so Of bounds both its memory (at most 4 bytes per owned residue) and its
// start-up cost (about 0.1 s at MaxOf). Split divides weights by their
// greatest common divisor before it checks this bound.
const MaxOf = 1 << 20

// Segment is the share [Start/Of, End/Of) of a plan's arrivals that one
// worker generates. A worker needs only its own segment (and the plan) to
// compute its arrivals; the segments of one Split partition the arrivals.
// Its text form is "Start:End/Of", e.g. "0:1/3"; it marshals as that text,
// so it works as a pflag.Value, in JSON and on the wire.
//
// The zero value is not valid (Of is 0); use Full for a single worker.
type Segment struct {
	Start, End, Of int64
}

// Full is the whole schedule: the segment of a run with one worker.
var Full = Segment{Start: 0, End: 1, Of: 1}

// Validate reports whether 0 <= Start < End <= Of <= MaxOf.
func (s Segment) Validate() error {
	if s.Of < 1 || s.Start < 0 || s.Start >= s.End || s.End > s.Of {
		return fmt.Errorf("schedule: segment %s: want 0 <= START < END <= OF", s)
	}
	if s.Of > MaxOf {
		return fmt.Errorf("schedule: segment %s: OF is more than %d", s, MaxOf)
	}
	return nil
}

// Fraction is the share of the arrivals, (End-Start)/Of.
func (s Segment) Fraction() float64 { return float64(s.End-s.Start) / float64(s.Of) }

// String returns the text form "Start:End/Of".
func (s Segment) String() string {
	return strconv.FormatInt(s.Start, 10) + ":" + strconv.FormatInt(s.End, 10) + "/" + strconv.FormatInt(s.Of, 10)
}

// ParseSegment parses the text form "Start:End/Of" and validates it.
func ParseSegment(text string) (Segment, error) {
	bad := func() error { return fmt.Errorf("schedule: segment %q is not START:END/OF (e.g. 0:1/3)", text) }
	se, of, ok := strings.Cut(text, "/")
	if !ok {
		return Segment{}, bad()
	}
	st, en, ok := strings.Cut(se, ":")
	if !ok {
		return Segment{}, bad()
	}
	var s Segment
	for _, f := range []struct {
		dst *int64
		txt string
	}{{&s.Start, st}, {&s.End, en}, {&s.Of, of}} {
		v, err := strconv.ParseInt(strings.TrimSpace(f.txt), 10, 64)
		if err != nil {
			return Segment{}, bad()
		}
		*f.dst = v
	}
	if err := s.Validate(); err != nil {
		return Segment{}, err
	}
	return s, nil
}

// MarshalText implements encoding.TextMarshaler; an invalid segment is an
// error, so a bad share never reaches a worker.
func (s Segment) MarshalText() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Segment) UnmarshalText(b []byte) error {
	v, err := ParseSegment(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Set implements pflag.Value.
func (s *Segment) Set(v string) error { return s.UnmarshalText([]byte(v)) }

// Type implements pflag.Value.
func (s *Segment) Type() string { return "segment" }

// Split returns one contiguous segment per weight, in order, each as wide
// as its weight: weights {3,1,2} give 0:3/6, 3:4/6 and 4:6/6. The weights
// are first divided by their greatest common divisor, so {2,2,2} gives
// thirds (Of 3): a smaller Of interleaves more evenly. Every weight must be
// positive and their reduced sum at most MaxOf.
func Split(weights []int64) ([]Segment, error) {
	if len(weights) == 0 {
		return nil, fmt.Errorf("schedule: split: no weights")
	}
	var g, sum int64
	for i, w := range weights {
		if w <= 0 {
			return nil, fmt.Errorf("schedule: split: weight %d is %d, want a positive integer", i+1, w)
		}
		g = gcd(g, w)
	}
	for _, w := range weights {
		if sum > math.MaxInt64-w/g {
			return nil, fmt.Errorf("schedule: split: weights %v overflow", weights)
		}
		sum += w / g
	}
	if sum > MaxOf {
		return nil, fmt.Errorf("schedule: split: weights %v sum to %d parts, more than %d", weights, sum, MaxOf)
	}
	segs := make([]Segment, len(weights))
	var start int64
	for i, w := range weights {
		segs[i] = Segment{Start: start, End: start + w/g, Of: sum}
		start += w / g
	}
	return segs, nil
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
