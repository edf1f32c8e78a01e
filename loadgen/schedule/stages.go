package schedule

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// wantStages closes every stage-syntax error, so a user who typed a bad
// --stages flag sees the form and an example without reading the docs.
const wantStages = "(want DURATION:RATE or DURATION:FROM->TO, e.g. 30s:0->2000,2m:2000)"

// maxArrivals bounds a plan's expected arrivals so that every arrival index
// is an exact float64; beyond it, Λ⁻¹(k) could not tell k from k+1.
const maxArrivals = 1 << 53

// Stage is one piece of a load profile: the rate, in requests per second,
// moves linearly from From to To over Duration. From == To is a steady
// stage; From == To == 0 is a pause in which time passes and nothing is
// sent.
//
// The zero value is not a valid stage (Duration must be positive).
type Stage struct {
	Duration time.Duration
	From, To float64 // requests per second, >= 0
}

// Stages is a load profile: stages run back to back from the run's start.
// Its text form is the --stages flag syntax, "30s:0->2000,2m:2000"; it
// marshals as that text, so it works as a pflag.Value, in JSON and on the
// wire.
//
// The zero value (no stages) is a valid pflag.Value to Set, but not a valid
// profile. Stages is a plain slice: safe for concurrent reads.
type Stages []Stage

// Steady returns the single-stage profile of a constant rate (requests per
// second) for d: what --rate and --duration mean.
func Steady(rate float64, d time.Duration) Stages {
	return Stages{{Duration: d, From: rate, To: rate}}
}

// ParseStages parses a comma-separated list of stages, each DURATION:RATE
// (steady) or DURATION:FROM->TO (linear ramp). DURATION is in
// time.ParseDuration syntax and must be positive; rates are non-negative
// requests per second; at least one rate must be positive.
func ParseStages(s string) (Stages, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("schedule: no stages %s", wantStages)
	}
	items := strings.Split(s, ",")
	out := make(Stages, 0, len(items))
	for _, item := range items {
		st, err := parseStage(strings.TrimSpace(item))
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	if err := out.validate(); err != nil {
		return nil, err
	}
	return out, nil
}

func parseStage(item string) (Stage, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("schedule: stage %q: %s %s", item, fmt.Sprintf(format, args...), wantStages)
	}
	if item == "" {
		return Stage{}, bad("is empty")
	}
	ds, rates, ok := strings.Cut(item, ":")
	if !ok {
		return Stage{}, bad("has no \":\" between duration and rate")
	}
	ds = strings.TrimSpace(ds)
	d, err := time.ParseDuration(ds)
	if err != nil {
		return Stage{}, bad("duration %q is not a duration", ds)
	}
	if d <= 0 {
		return Stage{}, bad("duration %q is not positive", ds)
	}
	from, to, ramp := strings.Cut(rates, "->")
	f, err := parseStageRate(strings.TrimSpace(from))
	if err != nil {
		return Stage{}, bad("%v", err)
	}
	t := f
	if ramp {
		if t, err = parseStageRate(strings.TrimSpace(to)); err != nil {
			return Stage{}, bad("%v", err)
		}
	}
	return Stage{Duration: d, From: f, To: t}, nil
}

func parseStageRate(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("rate %q is not a number", s)
	case err != nil || math.IsInf(v, 0) || math.IsNaN(v):
		return 0, fmt.Errorf("rate %q is not finite", s)
	case v < 0:
		return 0, fmt.Errorf("rate %q is negative", s)
	}
	return v + 0, nil // + 0 turns -0 into 0, so String never prints "-0"
}

// validate checks what ParseStages guarantees, for Stages built in code or
// decoded from a plan file.
func (s Stages) validate() error {
	if len(s) == 0 {
		return fmt.Errorf("schedule: no stages %s", wantStages)
	}
	var total time.Duration
	positive := false
	for i, st := range s {
		if st.Duration <= 0 {
			return fmt.Errorf("schedule: stage %d (%s): duration is not positive", i+1, st)
		}
		for _, r := range [2]float64{st.From, st.To} {
			if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
				return fmt.Errorf("schedule: stage %d (%s): rate %v is not a finite non-negative number", i+1, st, r)
			}
			positive = positive || r > 0
		}
		if total > math.MaxInt64-st.Duration {
			return fmt.Errorf("schedule: stages last longer than %v", time.Duration(math.MaxInt64))
		}
		total += st.Duration
	}
	if !positive {
		return fmt.Errorf("schedule: stages %q: every rate is zero %s", s.String(), wantStages)
	}
	if n := s.Expected(0, total); n > maxArrivals {
		return fmt.Errorf("schedule: stages %q expect %.4g arrivals, more than 2^53", s.String(), n)
	}
	return nil
}

// String returns the stage in the syntax ParseStages reads.
func (st Stage) String() string {
	d := st.Duration.String()
	// time.Duration prints "2m0s" and "1h0m0s"; users write "2m" and "1h".
	if strings.HasSuffix(d, "m0s") {
		d = d[:len(d)-2]
	}
	if strings.HasSuffix(d, "h0m") {
		d = d[:len(d)-2]
	}
	from := strconv.FormatFloat(st.From, 'f', -1, 64)
	if st.From == st.To {
		return d + ":" + from
	}
	return d + ":" + from + "->" + strconv.FormatFloat(st.To, 'f', -1, 64)
}

// String returns the profile in the syntax ParseStages reads; it re-parses
// to an equal value.
func (s Stages) String() string {
	parts := make([]string, len(s))
	for i, st := range s {
		parts[i] = st.String()
	}
	return strings.Join(parts, ",")
}

// Set implements pflag.Value.
func (s *Stages) Set(v string) error {
	p, err := ParseStages(v)
	if err != nil {
		return err
	}
	*s = p
	return nil
}

// Type implements pflag.Value.
func (s *Stages) Type() string { return "stages" }

// MarshalText implements encoding.TextMarshaler.
func (s Stages) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Stages) UnmarshalText(b []byte) error { return s.Set(string(b)) }

// Duration is the total length of the profile.
func (s Stages) Duration() time.Duration {
	var total time.Duration
	for _, st := range s {
		total += st.Duration
	}
	return total
}

// RateAt is the intended rate, in requests per second, at elapsed time since
// the run's start; 0 before the start and from the end on. At a boundary
// between stages the later stage applies.
func (s Stages) RateAt(elapsed time.Duration) float64 {
	if elapsed < 0 {
		return 0
	}
	for _, st := range s {
		if elapsed < st.Duration {
			return st.rate(elapsed.Seconds())
		}
		elapsed -= st.Duration
	}
	return 0
}

// Expected is the integral of the rate over [from, to): the expected number
// of arrivals in that window. Bounds are clamped to the profile.
func (s Stages) Expected(from, to time.Duration) float64 {
	from, to = max(from, 0), min(to, s.Duration())
	if to <= from {
		return 0
	}
	return s.cumulative(to) - s.cumulative(from)
}

// cumulative is Λ(t), summed stage by stage in the same order as curve, so
// both agree to the last bit.
func (s Stages) cumulative(t time.Duration) float64 {
	var cum float64
	for _, st := range s {
		if t < st.Duration {
			return cum + st.cumulative(t.Seconds())
		}
		cum += st.count()
		t -= st.Duration
	}
	return cum
}

// The per-stage formulas below wrap products in float64() because Go may
// otherwise fuse a*b+c into one FMA on some architectures; a coordinator on
// amd64 and workers on arm64 must agree on every arrival.

// slope is half the rate's acceleration: rate(u) = From + 2*slope*u.
func (st Stage) slope() float64 { return (st.To - st.From) / (2 * st.Duration.Seconds()) }

// rate is the rate u seconds into the stage, interpolated so that the
// middle of a 0->2000 ramp is 1000, not 1000.0000000000001.
func (st Stage) rate(u float64) float64 {
	return st.From + float64((st.To-st.From)*(u/st.Duration.Seconds()))
}

// count is the stage's expected arrivals, Λ over the whole stage.
func (st Stage) count() float64 { return float64((st.From + st.To) / 2 * st.Duration.Seconds()) }

// cumulative is Λ within the stage, u seconds after it began.
func (st Stage) cumulative(u float64) float64 {
	return float64(st.From*u) + float64(st.slope()*u*u)
}
