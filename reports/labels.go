package reports

import (
	"fmt"
	"net/url"
	"slices"
	"text/tabwriter"

	"github.com/tailrace/tailrace/histogram"
)

// LabelSummary is one label's share of an arm: the requests of a mix that
// carried it (DESIGN.md: labels come from the plan, so they are few).
type LabelSummary struct {
	Counters histogram.Counters      `json:"counters"`
	Errors   map[string]int64        `json:"errors"`
	Statuses map[string]int64        `json:"statuses"`
	Phases   map[string]PhaseSummary `json:"phases"`
}

// PlanRequest is one request of the run's mix, as planned.
type PlanRequest struct {
	Label  string  `json:"label"`
	Method string  `json:"method"`
	URL    string  `json:"url"`
	Weight float64 `json:"weight"`
	Share  float64 `json:"share"` // of the arrivals, exact over every block of the mix (0..1)
}

// labelTally is one label's running share of an arm.
type labelTally struct {
	cum      [histogram.NumPhases]*histogram.Hist
	counters histogram.Counters
	errors   map[string]int64
	statuses map[string]int64
}

// addLabels folds in the per-label sub-intervals of one merged interval.
func (b *ArmBuilder) addLabels(iv *histogram.Interval) {
	for name, l := range iv.Labels {
		t := b.labels[name]
		if t == nil {
			if b.labels == nil {
				b.labels = map[string]*labelTally{}
			}
			t = &labelTally{errors: map[string]int64{}, statuses: map[string]int64{}}
			for p := range t.cum {
				t.cum[p] = histogram.New()
			}
			b.labels[name] = t
		}
		for p, h := range l.Hists {
			if h != nil {
				t.cum[p].Merge(h)
			}
		}
		t.counters.Add(&l.Counters)
		for k, v := range l.Errors {
			t.errors[k] += v
		}
		for i, v := range l.Statuses {
			if v > 0 {
				t.statuses[statusName(i)] += v
			}
		}
	}
}

// labelSummaries summarizes every label of the arm; nil without labels.
func (b *ArmBuilder) labelSummaries() (map[string]LabelSummary, error) {
	if len(b.labels) == 0 {
		return nil, nil
	}
	out := make(map[string]LabelSummary, len(b.labels))
	for name, t := range b.labels {
		ls := LabelSummary{Counters: t.counters, Errors: t.errors, Statuses: t.statuses, Phases: map[string]PhaseSummary{}}
		for p, h := range t.cum {
			if h.Count() == 0 && h.Clamped() == 0 {
				continue
			}
			s, err := Summarize(h)
			if err != nil {
				return nil, fmt.Errorf("reports: label %q: %w", name, err)
			}
			ls.Phases[histogram.Phase(p).String()] = s
		}
		out[name] = ls
	}
	return out, nil
}

// LabelNames returns the arm's labels in the plan's order when the plan
// lists them, the others after them sorted.
func LabelNames(p *Plan, a *Arm) []string {
	var names []string
	for _, r := range p.Requests {
		if _, ok := a.Labels[r.Label]; ok && !slices.Contains(names, r.Label) {
			names = append(names, r.Label)
		}
	}
	var rest []string
	for name := range a.Labels {
		if !slices.Contains(names, name) {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	return append(names, rest...)
}

// planMixText says what the run sent: its mix, its expected statuses.
func planMixText(ew *errWriter, p *Plan) {
	if len(p.Requests) > 0 {
		ew.printf("mix of %d requests:", len(p.Requests))
		for i, r := range p.Requests {
			sep := ","
			if i == 0 {
				sep = ""
			}
			ew.printf("%s %s %.1f%% (%s %s)", sep, r.Label, 100*r.Share, r.Method, pathOf(r.URL))
		}
		ew.printf("\n")
	}
	if p.ExpectStatus != "" {
		ew.printf("expected statuses: %s (any other is an error)\n", p.ExpectStatus)
	}
}

// pathOf is a URL's path and query, for tables: the origin is the target's.
func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.RequestURI()
}

// labelsText is the per-label table of an arm: count, share, errors, and
// the p50 and p99 of total and of ttfb.
func labelsText(ew *errWriter, p *Plan, a *Arm) {
	if len(a.Labels) == 0 {
		return
	}
	ew.printf("\nper label:\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "label\tcount\tshare\terrors\ttotal p50\ttotal p99\tttfb p50\tttfb p99\t\n")
	for _, name := range LabelNames(p, a) {
		l := a.Labels[name]
		share := 0.0
		if a.Counters.Intended > 0 {
			share = float64(l.Counters.Intended) / float64(a.Counters.Intended)
		}
		tot, ttfb := l.Phases[histogram.Total.String()], l.Phases[histogram.TTFB.String()]
		fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t%d\t%s\t%s\t%s\t%s\t\n", name, l.Counters.Intended, 100*share, l.Counters.Errors,
			US(tot.P50US), US(tot.P99US), US(ttfb.P50US), US(ttfb.P99US))
	}
	tw.Flush()
	for _, name := range LabelNames(p, a) {
		if errs := a.Labels[name].Errors; len(errs) > 0 {
			ew.printf("  %s errors: %s\n", name, mapText(errs))
		}
	}
}

// labelTable is the per-label table of the HTML report; nil without labels.
func labelTable(p *Plan, a *Arm, id string) *table {
	if len(a.Labels) == 0 {
		return nil
	}
	t := &table{ID: id + "-labels", Class: "labels",
		Head: []string{"label", "requests", "share", "errors", "total p50", "total p99", "ttfb p50", "ttfb p99", "total max"},
		Note: "each label is a request of the plan's mix (or several sharing a label); its phases are in results.json"}
	for _, name := range LabelNames(p, a) {
		l := a.Labels[name]
		tot, ttfb := l.Phases[histogram.Total.String()], l.Phases[histogram.TTFB.String()]
		t.Rows = append(t.Rows, []cell{txt(name), intc(l.Counters.Intended), numc(pct(l.Counters.Intended, a.Counters.Intended)),
			intc(l.Counters.Errors), usc(tot.P50US), usc(tot.P99US), usc(ttfb.P50US), usc(ttfb.P99US), usc(tot.MaxUS)})
	}
	return t
}
