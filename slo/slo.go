package slo

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tailrace/tailrace/histogram"
)

// ErrSyntax is wrapped by every error Parse returns.
var ErrSyntax = errors.New("slo: invalid expression")

// Metric is what an SLO constrains.
type Metric uint8

const (
	Latency Metric = iota // a statistic of a phase's latency: total.p99
	Errors                // failed requests (dropped arrivals included)
	Dropped               // arrivals not sent: the in-flight cap was hit
	Rate                  // completed requests per second over the arm
)

// Op compares the observed value with the threshold.
type Op uint8

const (
	Less Op = iota
	LessEq
	Greater
	GreaterEq
)

var opText = [...]string{"<", "<=", ">", ">="}

func (o Op) String() string { return opText[o] }

func (o Op) holds(v, limit float64) bool {
	switch o {
	case Less:
		return v < limit
	case LessEq:
		return v <= limit
	case Greater:
		return v > limit
	}
	return v >= limit
}

// SLO is one parsed gate, such as total.p99<250ms, errors<0.1% or
// rate>=950/s. The zero value is "schedule_lag.p0<0s", never useful: make
// one with Parse. An SLO is a plain value, safe to copy and share.
type SLO struct {
	Metric Metric
	Phase  histogram.Phase // for Latency
	// Stat is the latency statistic: "mean", "max", or a percentile
	// written as pNN (p50, p99, p99.9, p99.99).
	Stat string
	// Quantile is the Stat's quantile in 0..1 (0.999 for p99.9); 0 for
	// mean and max.
	Quantile float64
	Op       Op
	// Limit is the threshold as written: for Latency the Duration in µs,
	// for Rate requests per second, for Errors and Dropped a percentage of
	// the intended arrivals when Percent is set, else a count.
	Limit    float64
	Duration time.Duration // the threshold of a Latency SLO
	Percent  bool
}

// Stats are the latency statistics an SLO may name; any other percentile
// written as pNN (p75, p99.99) is accepted too.
var Stats = []string{"p50", "p90", "p95", "p99", "p999", "p99.9", "mean", "max"}

// Parse reads one SLO expression:
//
//	<phase>.<stat><op><duration>    total.p99<250ms, ttfb.p95<=50ms, tls.max<1s
//	errors<op><n>[%]                errors<0.1% (of intended arrivals), errors<10
//	dropped<op><n>[%]               dropped<=0
//	rate<op><n>[/s]                 rate>=950/s (completed per second)
//
// where op is <, <=, > or >=, stat is mean, max or a percentile pNN (p999
// is p99.9), and a duration is Go's (250ms, 1.5s, 800us). Spaces are
// ignored. An unknown phase or metric is an error that lists the valid
// names.
func Parse(expr string) (SLO, error) {
	s := strings.Join(strings.Fields(expr), "")
	i := strings.IndexAny(s, "<>")
	if i <= 0 {
		return SLO{}, fmt.Errorf("%w %q: want <name><op><value> with op <, <=, > or >=, e.g. total.p99<250ms", ErrSyntax, expr)
	}
	name, rest := s[:i], s[i:]
	var o SLO
	switch {
	case strings.HasPrefix(rest, "<="):
		o.Op, rest = LessEq, rest[2:]
	case strings.HasPrefix(rest, ">="):
		o.Op, rest = GreaterEq, rest[2:]
	case rest[0] == '<':
		o.Op, rest = Less, rest[1:]
	default:
		o.Op, rest = Greater, rest[1:]
	}
	if rest == "" {
		return SLO{}, fmt.Errorf("%w %q: no value after %s", ErrSyntax, expr, o.Op)
	}
	var err error
	switch name {
	case "errors", "dropped":
		o.Metric = Errors
		if name == "dropped" {
			o.Metric = Dropped
		}
		num := strings.TrimSuffix(rest, "%")
		o.Percent = num != rest
		if o.Limit, err = number(num); err != nil {
			return SLO{}, fmt.Errorf("%w %q: %s wants a count or a percentage (e.g. %s<0.1%%): %v", ErrSyntax, expr, name, name, err)
		}
	case "rate":
		o.Metric = Rate
		if o.Limit, err = number(strings.TrimSuffix(rest, "/s")); err != nil {
			return SLO{}, fmt.Errorf("%w %q: rate wants requests per second (e.g. rate>=950/s): %v", ErrSyntax, expr, err)
		}
	default:
		if err := o.parseLatency(expr, name, rest); err != nil {
			return SLO{}, err
		}
	}
	return o, nil
}

func (o *SLO) parseLatency(expr, name, value string) error {
	phase, stat, ok := strings.Cut(name, ".")
	if !ok {
		return fmt.Errorf("%w %q: unknown metric %q (want errors, dropped, rate, or <phase>.<stat> with phase one of %s)",
			ErrSyntax, expr, name, phaseList())
	}
	p, err := histogram.ParsePhase(phase)
	if err != nil {
		return fmt.Errorf("%w %q: unknown phase %q (want one of %s)", ErrSyntax, expr, phase, phaseList())
	}
	o.Metric, o.Phase = Latency, p
	if o.Stat, o.Quantile, err = parseStat(stat); err != nil {
		return fmt.Errorf("%w %q: %v", ErrSyntax, expr, err)
	}
	d, err := time.ParseDuration(value)
	if err != nil || d < 0 {
		return fmt.Errorf("%w %q: %q is not a duration (want e.g. 250ms, 1.5s, 800us)", ErrSyntax, expr, value)
	}
	o.Duration, o.Limit = d, float64(d)/float64(time.Microsecond)
	return nil
}

// parseStat reads mean, max or pNN, and returns the canonical name.
func parseStat(s string) (string, float64, error) {
	if s == "mean" || s == "max" {
		return s, 0, nil
	}
	digits, ok := strings.CutPrefix(s, "p")
	bad := fmt.Errorf("unknown statistic %q (want one of %s, or a percentile such as p99.99)", s, strings.Join(Stats, ", "))
	if !ok || digits == "" || strings.Trim(digits, "0123456789.") != "" || strings.Count(digits, ".") > 1 {
		return "", 0, bad
	}
	// p999 and p9999 are the usual shorthands for p99.9 and p99.99.
	if !strings.Contains(digits, ".") && len(digits) > 2 && strings.HasPrefix(digits, "99") {
		digits = "99." + digits[2:]
	}
	v, err := strconv.ParseFloat(digits, 64)
	if err != nil || v <= 0 || v >= 100 || digits[0] == '.' || digits[len(digits)-1] == '.' || len(digits) > 2 && digits[0] == '0' {
		return "", 0, bad
	}
	return "p" + strconv.FormatFloat(v, 'f', -1, 64), v / 100, nil
}

func number(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil || strings.ContainsAny(s, "xXpPeEnN_iI"):
		return 0, fmt.Errorf("%q is not a plain number", s)
	case v < 0 || math.IsInf(v, 0):
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return v, nil
}

func phaseList() string {
	ps := histogram.Phases()
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.String()
	}
	return strings.Join(names, ", ")
}

// String returns the canonical form of the expression, which Parse reads
// back to the same SLO.
func (o SLO) String() string {
	switch o.Metric {
	case Errors, Dropped:
		name := "errors"
		if o.Metric == Dropped {
			name = "dropped"
		}
		if o.Percent {
			return name + o.Op.String() + strconv.FormatFloat(o.Limit, 'f', -1, 64) + "%"
		}
		return name + o.Op.String() + strconv.FormatFloat(o.Limit, 'f', -1, 64)
	case Rate:
		return "rate" + o.Op.String() + strconv.FormatFloat(o.Limit, 'f', -1, 64) + "/s"
	}
	return o.Phase.String() + "." + o.Stat + o.Op.String() + o.Duration.String()
}
