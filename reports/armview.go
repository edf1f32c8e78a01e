package reports

import (
	"fmt"
	"html/template"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/tailrace/tailrace/histogram"
)

// armView is one arm's section of report.html.
type armView struct {
	ID, Mode  string
	Facts     []fact
	Phases    *table
	Labels    *table // per label of a mix (labels.go); nil without one
	Tail      template.HTML
	TailTable *table
	Latency   template.HTML
	Rate      template.HTML
	InFlight  template.HTML
	Spectrum  template.HTML
	Lag       template.HTML
	Degraded  *table
	Conns     *table
	Errors    template.HTML
	ErrTable  *table
	Statuses  string
	Exemplars *table
}

func newArmView(r *Results, i int) (*armView, error) {
	a := &r.Arms[i]
	id := "arm-" + slug(a.Mode)
	c := a.Counters
	rate := 0.0
	if a.DurationS > 0 {
		rate = float64(c.Completed) / a.DurationS
	}
	v := &armView{ID: id, Mode: a.Mode,
		Facts: []fact{
			{"duration", fmt.Sprintf("%.1fs, %d intervals", a.DurationS, len(a.Intervals))},
			{"requests", fmt.Sprintf("intended %d, sent %d, completed %d", c.Intended, c.Sent, c.Completed)},
			{"errors", fmt.Sprintf("%d (%s of intended), of which dropped %d", c.Errors, pct(c.Errors, c.Intended), c.Dropped)},
			{"achieved", fmt.Sprintf("%.1f completed/s, %s read", rate, bytesText(c.BytesRead))},
			{"degraded", fmt.Sprintf("%d of %d intervals", a.Degraded, len(a.Intervals))},
		},
	}
	v.Phases = phaseTable(a, id)
	v.Labels = labelTable(&r.Plan, a, id)
	v.Tail, v.TailTable = tailBreakdown(a, id+"-tail", 0)
	v.Latency, v.Rate, v.InFlight = overTime(a, id)
	spec, err := spectrum(id+"-spectrum", "Percentile spectrum per phase", a)
	if err != nil {
		return nil, err
	}
	v.Spectrum = spec
	v.Lag, v.Degraded = lagChart(a, id)
	v.Conns = connTable(a, id)
	v.Errors, v.ErrTable = errorsView(a, id)
	if len(a.Statuses) > 0 {
		v.Statuses = mapText(a.Statuses)
	}
	v.Exemplars = exemplarTable(a, id)
	return v, nil
}

// slug makes a string safe as an HTML id.
func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, s)
}

func phaseClass(p histogram.Phase) string { return "ph" + fmt.Sprint(int(p)) }

func phaseTable(a *Arm, id string) *table {
	t := &table{ID: id + "-phases", Class: "phases",
		Head: []string{"phase", "count", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"},
		Note: "total is measured from the intended send time (no coordinated omission); response is what a closed-loop tool would report."}
	if s, ok := a.Phases[histogram.ReadLag.String()]; ok && s.Count > 0 {
		t.Note = strings.TrimSuffix(t.Note, ".") + "; " + readLagNote
	}
	for _, ph := range PhaseOrder {
		s, ok := a.Phases[ph.String()]
		if !ok || s.Count == 0 {
			continue
		}
		name := cell{HTML: template.HTML(fmt.Sprintf(`<span class="sw %s"></span>%s`, phaseClass(ph), esc(ph.String())))}
		t.Rows = append(t.Rows, []cell{name, intc(s.Count), usc(s.MeanUS), usc(s.P50US), usc(s.P90US),
			usc(s.P95US), usc(s.P99US), usc(s.P999US), usc(s.MaxUS)})
	}
	return t
}

// tailBreakdown draws the mean phase composition of the requests at or
// above each quantile. max fixes the scale (to compare arms); 0 fits it.
func tailBreakdown(a *Arm, id string, max float64) (template.HTML, *table) {
	ch := &barChart{id: id, title: "Tail breakdown: mean time per phase of the requests at or above each quantile of total",
		max: max, ticks: func(m float64) (float64, []tick) { return linTicks(m, usShort) },
		note: "Unlike percentiles of phases, these means add up: each bar is the mean total of its requests."}
	if max > 0 { // one of several arms side by side: the page says the rest once
		ch.small, ch.title, ch.note = true, "", ""
	}
	t := &table{ID: id + "-table", Caption: "Tail breakdown", Head: []string{"from", "count", "mean total"}}
	for p := range histogram.NumConsecutive {
		ph := histogram.Phase(p)
		t.Head = append(t.Head, ph.String())
		ch.keys = append(ch.keys, series{name: ph.String(), class: phaseClass(ph)})
	}
	for _, ts := range a.TailBreakdown {
		name := "all"
		if ts.FromQuantile > 0 {
			name = "≥" + QuantileName(ts.FromQuantile)
		}
		row := barRow{label: name, right: fmt.Sprintf("%s (n=%d)", US(ts.MeanTotalUS), ts.Count)}
		trow := []cell{txt(name), intc(ts.Count), usc(ts.MeanTotalUS)}
		for p := range histogram.NumConsecutive {
			ph := histogram.Phase(p)
			us := ts.MeanPhaseUS[ph.String()]
			share := 0.0
			if ts.MeanTotalUS > 0 {
				share = 100 * float64(us) / float64(ts.MeanTotalUS)
			}
			row.segs = append(row.segs, barSeg{name: ph.String(), class: phaseClass(ph), v: float64(us),
				title: fmt.Sprintf("%s %s: %s (%.0f%%)", name, ph, US(us), share)})
			trow = append(trow, usc(us))
		}
		ch.rows = append(ch.rows, row)
		t.Rows = append(t.Rows, trow)
	}
	if len(ch.rows) == 0 {
		return "", nil
	}
	return ch.figure(), t
}

// bucket is a run of consecutive intervals drawn as one point.
type bucket struct {
	x     float64 // start, seconds after the arm's start
	ivs   []Interval
	lenS  float64
	count histogram.Counters
}

func buckets(ivs []Interval) []bucket {
	g := (len(ivs) + maxPoints - 1) / maxPoints
	g = max(g, 1)
	var bs []bucket
	for i := 0; i < len(ivs); i += g {
		b := bucket{x: ivs[i].StartS, ivs: ivs[i:min(i+g, len(ivs))]}
		for j := range b.ivs {
			b.lenS += b.ivs[j].LengthS
			b.count.Add(&b.ivs[j].Counters)
		}
		bs = append(bs, b)
	}
	return bs
}

// worst is the largest f over a bucket's intervals.
func (b *bucket) worst(f func(*Interval) int64) float64 {
	m := int64(0)
	for i := range b.ivs {
		m = max(m, f(&b.ivs[i]))
	}
	return float64(m)
}

func (b *bucket) perSec(n int64) float64 {
	if b.lenS <= 0 {
		return 0
	}
	return float64(n) / b.lenS
}

func foldNote(ivs []Interval, bs []bucket) string {
	if len(bs) == len(ivs) || len(bs) == 0 {
		return ""
	}
	g := len(bs[0].ivs)
	return fmt.Sprintf("Each point stands for %d consecutive intervals: latency, lag and in-flight show the worst of them, rates their mean.", g)
}

func span(ivs []Interval) float64 {
	if len(ivs) == 0 {
		return 1
	}
	l := ivs[len(ivs)-1]
	return math.Max(l.StartS+l.LengthS, 1)
}

// degradedBands shades runs of degraded (and short) intervals. Runs closer
// than a few pixels are drawn as one band, whose tooltip says how many of
// its intervals were degraded: a run degraded every few seconds for an
// hour would otherwise draw hundreds of bands.
func degradedBands(ivs []Interval) []band {
	bad := func(iv *Interval) bool { return iv.Degraded || iv.Short }
	gap := span(ivs) / 150
	var bs []band
	for i := 0; i < len(ivs); i++ {
		if !bad(&ivs[i]) {
			continue
		}
		j, n := i, 1 // the band's last degraded interval, and how many it has
		for k := i + 1; k < len(ivs); k++ {
			if !bad(&ivs[k]) {
				continue
			}
			if ivs[k].StartS-(ivs[j].StartS+ivs[j].LengthS) > gap {
				break
			}
			j, n = k, n+1
		}
		total := j - i + 1
		var why []string
		for k := i; k <= j; k++ {
			if ivs[k].Short {
				why = append(why, "short of workers")
			}
			if ivs[k].DegradedReason != "" {
				why = append(why, ivs[k].DegradedReason)
			}
		}
		slices.Sort(why)
		why = slices.Compact(why)
		from, to := ivs[i].StartS, ivs[j].StartS+ivs[j].LengthS
		title := fmt.Sprintf("%s–%s degraded: %s", secText(math.Round(from)), secText(math.Round(to)), strings.Join(why, "; "))
		if n < total {
			title = fmt.Sprintf("%s–%s: %d of %d intervals degraded: %s", secText(math.Round(from)), secText(math.Round(to)), n, total, strings.Join(why, "; "))
		}
		bs = append(bs, band{x0: from, x1: to, title: title})
		i = j
	}
	return bs
}

// timeChart draws series over the arm's time. bands shades the degraded
// intervals, on the charts where they explain the lines.
func timeChart(id, title, yUnit string, small, bands bool, ivs []Interval, bs []bucket, ss []series, yLabel func(float64) string) template.HTML {
	ymax := 0.0
	for _, s := range ss {
		for _, p := range s.pts {
			ymax = math.Max(ymax, p.y)
		}
	}
	if yUnit == "count" {
		ymax = math.Max(ymax, 5) // whole numbers: no tick at 0.5 of a request
	}
	ymax, yt := linTicks(ymax, yLabel)
	xmax, xt := timeTicks(span(ivs))
	c := &lineChart{id: id, title: title, small: small, x: scale{max: xmax}, y: scale{max: ymax}, xTicks: xt, yTicks: yt,
		xUnit: "s", yUnit: yUnit, xLabel: "seconds into the arm", series: ss, note: foldNote(ivs, bs)}
	if bands {
		c.bands = degradedBands(ivs)
	}
	return c.figure()
}

func overTime(a *Arm, id string) (lat, rate, inflight template.HTML) {
	if len(a.Intervals) == 0 {
		return "", "", ""
	}
	bs := buckets(a.Intervals)
	mk := func(name, class string, f func(b *bucket) float64) series {
		s := series{name: name, class: class, dots: len(bs) <= 30}
		for i := range bs {
			s.pts = append(s.pts, xy{bs[i].x, f(&bs[i])})
		}
		return s
	}
	lat = timeChart(id+"-latency", "Latency of total over time (per interval; shaded: degraded intervals)", "us", false, true, a.Intervals, bs, []series{
		mk("p50", "c0", func(b *bucket) float64 { return b.worst(func(iv *Interval) int64 { return iv.TotalP50US }) }),
		mk("p95", "c1", func(b *bucket) float64 { return b.worst(p95) }),
		mk("p99", "c2", func(b *bucket) float64 { return b.worst(func(iv *Interval) int64 { return iv.TotalP99US }) }),
	}, usShort)
	rate = timeChart(id+"-rate", "Intended vs achieved rate (requests per second)", "rate", true, false, a.Intervals, bs, []series{
		mk("intended", "c3", func(b *bucket) float64 { return b.perSec(b.count.Intended) }),
		mk("sent", "c4", func(b *bucket) float64 { return b.perSec(b.count.Sent) }),
		mk("completed", "c0", func(b *bucket) float64 { return b.perSec(b.count.Completed) }),
	}, func(v float64) string { return fmt.Sprintf("%g/s", v) })
	inflight = timeChart(id+"-inflight", "Requests in flight (peak per interval, largest worker)", "count", true, false, a.Intervals, bs, []series{
		mk("max in flight", "c5", func(b *bucket) float64 { return b.worst(func(iv *Interval) int64 { return iv.MaxInFlight }) }),
	}, func(v float64) string { return fmt.Sprint(v) })
	return lat, rate, inflight
}

// p95 reads an interval's total p95; results written before the field
// existed carry the interval histogram instead.
func p95(iv *Interval) int64 {
	if iv.TotalP95US != 0 {
		return iv.TotalP95US
	}
	enc, err := iv.PhaseHist("total")
	if err != nil || enc == "" {
		return iv.TotalP95US
	}
	h, err := DecodeHist(enc)
	if err != nil {
		return 0
	}
	return h.Quantile(0.95).Microseconds()
}

func lagChart(a *Arm, id string) (template.HTML, *table) {
	if len(a.Intervals) == 0 {
		return "", nil
	}
	bs := buckets(a.Intervals)
	lag := series{name: "schedule_lag p99", class: "c2", dots: len(bs) <= 30}
	hic := series{name: "hiccup max (1 ms sleep overshoot)", class: "c4", dots: len(bs) <= 30, thin: true}
	for i := range bs {
		b := &bs[i]
		lag.pts = append(lag.pts, xy{b.x, b.worst(func(iv *Interval) int64 { return iv.LagP99US })})
		hic.pts = append(hic.pts, xy{b.x, b.worst(func(iv *Interval) int64 { return iv.HiccupMaxUS })})
	}
	ch := timeChart(id+"-lag", "Schedule lag: how late the generator sent (shaded: degraded intervals)", "us", false, true, a.Intervals, bs,
		[]series{lag, hic}, usShort)
	t := &table{ID: id + "-degraded", Caption: "Degraded intervals (the generator, not the target, may have been the limit)",
		Head: []string{"interval", "from", "lag p99", "max in flight", "reason"}}
	more := 0
	for _, iv := range a.Intervals {
		if !iv.Degraded && !iv.Short {
			continue
		}
		why := iv.DegradedReason
		if iv.Short {
			why = strings.TrimPrefix(why+"; ran short: a worker was missing", "; ")
		}
		if len(t.Rows) == maxDegradedRows {
			more++
			continue
		}
		t.Rows = append(t.Rows, []cell{intc(int64(iv.Index)), numc(fmt.Sprintf("%.0fs", iv.StartS)), usc(iv.LagP99US), intc(iv.MaxInFlight), txt(why)})
	}
	if more > 0 {
		t.Note = fmt.Sprintf("and %d more (every interval is in results.json and timeseries.csv)", more)
	}
	if len(t.Rows) == 0 {
		return ch, nil
	}
	return ch, t
}

// maxDegradedRows bounds the degraded-interval table: a long run that fell
// behind for an hour would otherwise list thousands of rows.
const maxDegradedRows = 40

func connTable(a *Arm, id string) *table {
	c := a.Counters
	perConn := "–"
	if c.ConnsOpened > 0 {
		perConn = fmt.Sprintf("%.1f", float64(c.ConnsOpened+c.ConnsReused)/float64(c.ConnsOpened))
	}
	return &table{ID: id + "-conns", Class: "kv",
		Head: []string{"opened", "reused (requests)", "TLS resumed", "closed", "requests per connection", "phase inversions clamped"},
		Rows: [][]cell{{intc(c.ConnsOpened), intc(c.ConnsReused),
			numc(fmt.Sprintf("%d (%s of opened)", c.TLSResumed, pct(c.TLSResumed, c.ConnsOpened))),
			intc(c.ConnsClosed), numc(perConn), intc(c.Inversions)}}}
}

// errorPhase says in which phase an error class happened.
func errorPhase(class string) string {
	switch {
	case strings.HasPrefix(class, "status_"):
		return "response (HTTP status)"
	case class == "dropped":
		return "not sent (in-flight cap)"
	case strings.Contains(class, "@"):
		_, p, _ := strings.Cut(class, "@")
		return p
	}
	return class
}

func errorsView(a *Arm, id string) (template.HTML, *table) {
	if len(a.Errors) == 0 {
		return "", nil
	}
	classes := slices.Sorted(maps.Keys(a.Errors))
	t := &table{ID: id + "-errors", Caption: "Errors by class", Head: []string{"class", "phase", "count", "of intended"}}
	if len(a.ErrorSamples) > 0 {
		t.Head = append(t.Head, "e.g.")
	}
	for _, k := range classes {
		row := []cell{{Text: k, Class: "code"}, txt(errorPhase(k)), intc(a.Errors[k]), numc(pct(a.Errors[k], a.Counters.Intended))}
		if len(a.ErrorSamples) > 0 {
			row = append(row, cell{Text: a.ErrorSamples[k], Class: "sample"})
		}
		t.Rows = append(t.Rows, row)
	}
	bs := buckets(a.Intervals)
	var ss []series
	for i, k := range classes {
		s := series{name: k, class: fmt.Sprintf("c%d", i%8), dots: len(bs) <= 30}
		for j := range bs {
			n := int64(0)
			for _, iv := range bs[j].ivs {
				n += iv.Errors[k]
			}
			s.pts = append(s.pts, xy{bs[j].x, float64(n)})
		}
		ss = append(ss, s)
	}
	ch := timeChart(id+"-errors-time", "Errors by class over time (count per interval)", "count", false, false, a.Intervals, bs, ss,
		func(v float64) string { return fmt.Sprint(v) })
	return ch, t
}

func exemplarTable(a *Arm, id string) *table {
	if len(a.Exemplars) == 0 {
		return nil
	}
	ex := slices.Clone(a.Exemplars)
	slices.SortStableFunc(ex, func(x, y histogram.Exemplar) int {
		return int(y.Phases[histogram.Total] - x.Phases[histogram.Total])
	})
	ex = ex[:min(len(ex), 20)]
	maxT := float64(ex[0].Phases[histogram.Total].Microseconds())
	workers := slices.ContainsFunc(ex, func(e histogram.Exemplar) bool { return e.Worker != "" })
	t := &table{ID: id + "-exemplars", Caption: fmt.Sprintf("The %d slowest requests kept, with their phases (at: seconds after the arm's start)", len(ex)), Class: "exemplars",
		Head: []string{"at", "outcome", "connection", "total", "phases", ""}}
	if workers {
		t.Head = slices.Insert(t.Head, 1, "worker")
	}
	for _, e := range ex {
		var segs []barSeg
		var parts []string
		for p := range histogram.NumConsecutive {
			ph := histogram.Phase(p)
			us := e.Phases[p].Microseconds()
			if us <= 0 {
				continue
			}
			segs = append(segs, barSeg{name: ph.String(), class: phaseClass(ph), v: float64(us), title: ph.String() + " " + US(us)})
			parts = append(parts, ph.String()+" "+US(us))
		}
		outcome := fmt.Sprint(e.Status)
		if e.Error != "" {
			outcome = e.Error
		}
		conn := fmt.Sprintf("#%d reused", e.ConnID)
		switch {
		case e.NewConn && e.Resumed:
			conn = fmt.Sprintf("#%d new, TLS resumed", e.ConnID)
		case e.NewConn:
			conn = fmt.Sprintf("#%d new", e.ConnID)
		}
		at := e.Intended.Sub(a.StartedAt).Seconds()
		row := []cell{numc(fmt.Sprintf("%.3fs", at)), txt(outcome), txt(conn),
			usc(e.Phases[histogram.Total].Microseconds()), {HTML: miniBar(segs, maxT)}, {Text: strings.Join(parts, " · "), Class: "small"}}
		if workers {
			row = slices.Insert(row, 1, txt(e.Worker))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
