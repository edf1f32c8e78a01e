package reports

import (
	"encoding/base64"
	"fmt"
	"maps"
	"time"

	"github.com/tailrace/tailrace/histogram"
)

// ArmBuilder folds merged intervals, in order, into an Arm. Its memory is
// bounded by the number of intervals (a few KB each), never by the number of
// requests. Not safe for concurrent use.
type ArmBuilder struct {
	arm   Arm
	start time.Time
	cum   [histogram.NumPhases]*histogram.Hist
	tail  histogram.TailBins
	top   histogram.TopK
	end   time.Time

	workers map[string]*workerTally
	order   []string // workers in the order first seen

	labels map[string]*labelTally // per label of a request mix (labels.go)
	spill  *Spill                 // where intervals' detail goes; nil: memory
}

// SpillTo makes b keep every interval's histograms and per-phase figures
// in s from now on instead of in memory (see Spill).
func (b *ArmBuilder) SpillTo(s *Spill) { b.spill = s }

// workerTally is one worker's running share of an arm: counters and a
// schedule-lag histogram (one Hist per worker, so memory grows with workers,
// not requests).
type workerTally struct {
	w   ArmWorker
	lag *histogram.Hist
}

// NewArmBuilder starts an arm of the given mode whose intervals are timed from start.
func NewArmBuilder(mode string, start time.Time, exemplars int) *ArmBuilder {
	b := &ArmBuilder{
		arm:   Arm{Mode: mode, StartedAt: start, Errors: map[string]int64{}, Statuses: map[string]int64{}, Phases: map[string]PhaseSummary{}},
		start: start,
		top:   histogram.NewTopK(exemplars),
		end:   start,
	}
	for p := range b.cum {
		b.cum[p] = histogram.New()
	}
	return b
}

// Add folds in one interval, merged across the workers that reported it.
// short marks an interval that ran short of its intended load.
func (b *ArmBuilder) Add(iv *histogram.Interval, workers int, short bool) error {
	for p, h := range iv.Hists {
		b.cum[p].Merge(h)
	}
	b.arm.Counters.Add(&iv.Counters)
	for k, v := range iv.Errors {
		b.arm.Errors[k] += v
	}
	for k, v := range iv.ErrorText {
		if _, ok := b.arm.ErrorSamples[k]; !ok {
			if b.arm.ErrorSamples == nil {
				b.arm.ErrorSamples = map[string]string{}
			}
			b.arm.ErrorSamples[k] = v
		}
	}
	for i, v := range iv.Statuses {
		if v > 0 {
			b.arm.Statuses[statusName(i)] += v
		}
	}
	b.addLabels(iv)
	b.tail.Merge(&iv.Tail)
	b.top.Merge(&iv.Exemplars)
	if e := iv.Start.Add(iv.Length); e.After(b.end) {
		b.end = e
	}
	out := Interval{
		Index: iv.Index, StartS: iv.Start.Sub(b.start).Seconds(), LengthS: iv.Length.Seconds(), Workers: workers,
		Counters: iv.Counters, Errors: maps.Clone(iv.Errors),
		MaxInFlight: iv.Self.MaxInFlight, HiccupMaxUS: iv.Self.HiccupMax.Microseconds(),
		GCPauseUS: iv.Self.GCPause.Microseconds(), CPUS: iv.Self.CPU.Seconds(),
		Degraded: iv.Self.Degraded, DegradedReason: iv.Self.DegradedReason, Short: short,
		Hists: map[string]string{}, Phases: map[string]IntervalPhase{},
	}
	if len(out.Errors) == 0 {
		out.Errors = nil
	}
	tot := iv.Hists[histogram.Total]
	out.TotalP50US = tot.Quantile(0.5).Microseconds()
	out.TotalP90US = tot.Quantile(0.9).Microseconds()
	out.TotalP95US = tot.Quantile(0.95).Microseconds()
	out.TotalP99US = tot.Quantile(0.99).Microseconds()
	out.TotalMaxUS = tot.Max().Microseconds()
	out.ResponseP99US = iv.Hists[histogram.Response].Quantile(0.99).Microseconds()
	out.LagP99US = iv.Hists[histogram.ScheduleLag].Quantile(0.99).Microseconds()
	for p, h := range iv.Hists {
		if h.Count() == 0 {
			continue
		}
		enc, err := h.Encode()
		if err != nil {
			return fmt.Errorf("reports: interval %d %s: %w", iv.Index, histogram.Phase(p), err)
		}
		name := histogram.Phase(p).String()
		out.Hists[name] = base64.StdEncoding.EncodeToString(enc)
		out.Phases[name] = intervalPhase(h)
	}
	spillOut(b.spill, &out)
	if out.Degraded {
		b.arm.Degraded++
	}
	b.arm.Intervals = append(b.arm.Intervals, out)
	return nil
}

// AddWorker folds in one worker's own interval, before it is merged with
// the other workers' (Interval.Merge changes its receiver): it feeds the
// per-worker table (achieved rate, schedule lag, degraded intervals). It
// reads only iv's Counters, its schedule_lag histogram and Self.Degraded,
// and keeps nothing of iv. It is optional; an arm built without it has no
// Workers.
func (b *ArmBuilder) AddWorker(name string, iv *histogram.Interval) {
	if b.workers == nil {
		b.workers = map[string]*workerTally{}
	}
	t := b.workers[name]
	if t == nil {
		t = &workerTally{w: ArmWorker{Name: name}, lag: histogram.New()}
		b.workers[name] = t
		b.order = append(b.order, name)
	}
	t.w.Intervals++
	t.w.Counters.Add(&iv.Counters)
	t.lag.Merge(iv.Hists[histogram.ScheduleLag])
	if iv.Self.Degraded {
		t.w.Degraded++
	}
}

// Cumulative returns the arm's cumulative histogram of phase p so far
// (read-only).
func (b *ArmBuilder) Cumulative(p histogram.Phase) *histogram.Hist { return b.cum[p] }

// Arm returns the finished arm.
func (b *ArmBuilder) Arm() (Arm, error) {
	a := b.arm
	a.DurationS = b.end.Sub(b.start).Seconds()
	a.Phases = make(map[string]PhaseSummary, histogram.NumPhases)
	for p, h := range b.cum {
		s, err := Summarize(h)
		if err != nil {
			return Arm{}, err
		}
		a.Phases[histogram.Phase(p).String()] = s
	}
	a.TailBreakdown = a.TailBreakdown[:0]
	for _, q := range TailQuantiles {
		ts := b.tail.Breakdown(q)
		slice := TailSlice{FromQuantile: q, Count: ts.Count, MeanTotalUS: ts.MeanTotal.Microseconds(), MeanPhaseUS: map[string]int64{}}
		for p, d := range ts.MeanPhase {
			slice.MeanPhaseUS[histogram.Phase(p).String()] = d.Microseconds()
		}
		a.TailBreakdown = append(a.TailBreakdown, slice)
	}
	a.Exemplars = b.top.Slowest()
	labels, err := b.labelSummaries()
	if err != nil {
		return Arm{}, err
	}
	a.Labels = labels
	a.Workers = nil
	for _, name := range b.order {
		t := b.workers[name]
		w := t.w
		w.LagP99US = t.lag.Quantile(0.99).Microseconds()
		w.LagMaxUS = t.lag.Max().Microseconds()
		a.Workers = append(a.Workers, w)
	}
	return a, nil
}

func statusName(i int) string {
	if i == 0 {
		return "none"
	}
	return fmt.Sprintf("%dxx", i)
}
