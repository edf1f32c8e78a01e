package reports

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// The charts are inline SVG written here rather than by a plotting library:
// a report must open with no network and no third-party script, and the
// three shapes it needs (lines on linear or log axes, stacked bars, shaded
// bands) take less code than adapting a general library's output to a
// strict Content-Security-Policy. Every chart carries data-chart and
// data-points so that a browser test can tell a drawn chart from an empty
// one, and its scales as data attributes so that report.js can turn a mouse
// position back into values without a second copy of the data.

// Plot geometry, in viewBox units. The SVG scales to its container.
const (
	chartW = 720
	chartH = 250
	padL   = 64
	padR   = 14
	padT   = 12
	padB   = 36
)

// scale maps a domain onto pixels, linearly or logarithmically.
type scale struct {
	log      bool
	min, max float64 // domain; positive when log
	lo, hi   float64 // pixels
}

func (s scale) px(v float64) float64 {
	min, max := s.min, s.max
	if s.log {
		v = math.Log10(math.Max(v, min))
		min, max = math.Log10(min), math.Log10(max)
	}
	if max <= min {
		return s.lo
	}
	v = math.Max(min, math.Min(max, v))
	return s.lo + (v-min)/(max-min)*(s.hi-s.lo)
}

func (s scale) attr() string {
	kind := "lin"
	if s.log {
		kind = "log"
	}
	return fmt.Sprintf("%s %s %s %s %s", kind, num(s.min), num(s.max), num(s.lo), num(s.hi))
}

type tick struct {
	v     float64
	label string
}

type xy struct{ x, y float64 }

// series is one line of a chart. class picks its colour (see report.css).
type series struct {
	name  string
	class string
	pts   []xy
	dots  bool // mark each point: for sparse series
	thin  bool
	title string // tooltip of the legend entry
	marks []mark // per point, when set: a dot with its own class and tooltip (marks[i] is pts[i])
}

// mark sets one point of a series apart, e.g. a step that failed an SLO.
type mark struct{ class, title string }

// rule is a labelled vertical line at x, e.g. the best rate of a search.
type rule struct {
	x            float64
	class        string
	label, title string
}

// band shades an x range, e.g. a degraded interval.
type band struct {
	x0, x1 float64
	title  string
}

// lineChart is a set of lines over shared axes.
type lineChart struct {
	id, title, note string
	small           bool // half width: drawn with a smaller viewBox, so its text stays legible
	x, y            scale
	xTicks, yTicks  []tick
	xUnit, yUnit    string // how report.js formats a readout: s, q, us, rate, count
	xLabel, yLabel  string
	series          []series
	bands           []band
	rules           []rule
}

// latencyAxis sets a latency y axis for values in [lo, hi] µs (lo the
// smallest above 0): logarithmic when they span more than two decades.
func (c *lineChart) latencyAxis(lo, hi float64) {
	if hi > 0 && hi/lo > 100 {
		min, max, ticks := logTicksUS(lo, hi)
		c.y, c.yTicks, c.yLabel = scale{log: true, min: min, max: max}, ticks, "log scale"
		return
	}
	max, ticks := linTicks(hi, usShort)
	c.y, c.yTicks = scale{max: max}, ticks
}

func (c *lineChart) points() int {
	n := 0
	for _, s := range c.series {
		n += len(s.pts)
	}
	return n
}

// figure renders the chart with its caption and legend.
func (c *lineChart) figure() template.HTML {
	w, h := c.size()
	c.x.lo, c.x.hi = padL, float64(w-padR)
	c.y.lo, c.y.hi = float64(h-padB), padT
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart-box"><figcaption>%s</figcaption>`, esc(c.title))
	fmt.Fprintf(&b, `<svg class="chart" id="%s" data-chart="line" data-points="%d" data-series="%d" data-x="%s" data-y="%s" data-xunit="%s" data-yunit="%s" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		esc(c.id), c.points(), len(c.series), c.x.attr(), c.y.attr(), c.xUnit, c.yUnit, w, h, esc(c.title))
	c.axes(&b)
	b.WriteString(`<g class="bands">`)
	for _, bd := range c.bands {
		x0, x1 := c.x.px(bd.x0), c.x.px(bd.x1)
		fmt.Fprintf(&b, `<rect class="band" x="%s" y="%d" width="%s" height="%d"><title>%s</title></rect>`,
			num1(x0), padT, num1(math.Max(x1-x0, 1)), h-padT-padB, esc(bd.title))
	}
	b.WriteString(`</g>`)
	if len(c.rules) > 0 {
		b.WriteString(`<g class="rules">`)
		for _, r := range c.rules {
			x, anchor, dx := c.x.px(r.x), "start", 4.0
			if x > c.x.hi-80 {
				anchor, dx = "end", -4 // a label at the right edge would run off it
			}
			fmt.Fprintf(&b, `<line class="rule %s" x1="%s" x2="%s" y1="%d" y2="%d"><title>%s</title></line>`,
				r.class, num1(x), num1(x), padT, h-padB, esc(r.title))
			fmt.Fprintf(&b, `<text class="rule %s" x="%s" y="%d" text-anchor="%s">%s</text>`, r.class, num1(x+dx), padT+12, anchor, esc(r.label))
		}
		b.WriteString(`</g>`)
	}
	for i, s := range c.series {
		cls := "ln " + s.class
		if s.thin {
			cls += " thin"
		}
		fmt.Fprintf(&b, `<g data-i="%d" data-name="%s"><path class="%s" d="`, i, esc(s.name), cls)
		for j, p := range s.pts {
			if j == 0 {
				b.WriteByte('M')
			} else {
				b.WriteByte('L')
			}
			b.WriteString(num1(c.x.px(p.x)))
			b.WriteByte(' ')
			b.WriteString(num1(c.y.px(p.y)))
		}
		b.WriteString(`"/>`)
		switch {
		case len(s.marks) == len(s.pts) && len(s.pts) > 0:
			for j, p := range s.pts {
				m := s.marks[j]
				fmt.Fprintf(&b, `<circle class="dot %s %s" cx="%s" cy="%s" r="3.5"><title>%s</title></circle>`,
					s.class, m.class, num1(c.x.px(p.x)), num1(c.y.px(p.y)), esc(m.title))
			}
		case s.dots || len(s.pts) == 1:
			for _, p := range s.pts {
				fmt.Fprintf(&b, `<circle class="dot %s" cx="%s" cy="%s" r="2.5"/>`, s.class, num1(c.x.px(p.x)), num1(c.y.px(p.y)))
			}
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	b.WriteString(legend(c.id, c.series))
	if c.note != "" {
		fmt.Fprintf(&b, `<p class="note">%s</p>`, esc(c.note))
	}
	b.WriteString(`</figure>`)
	return template.HTML(b.String())
}

func (c *lineChart) size() (int, int) {
	if c.small {
		return chartW * 2 / 3, chartH
	}
	return chartW, chartH
}

func (c *lineChart) axes(b *strings.Builder) {
	w, h := c.size()
	b.WriteString(`<g class="grid">`)
	for _, t := range c.yTicks {
		y := num1(c.y.px(t.v))
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%s" y2="%s"/>`, padL, w-padR, y, y)
	}
	for _, t := range c.xTicks {
		x := num1(c.x.px(t.v))
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%d" y2="%d"/>`, x, x, padT, h-padB)
	}
	b.WriteString(`</g><g class="axis">`)
	fmt.Fprintf(b, `<rect class="frame" x="%d" y="%d" width="%d" height="%d"/>`, padL, padT, w-padL-padR, h-padT-padB)
	for _, t := range c.yTicks {
		fmt.Fprintf(b, `<text x="%d" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`, padL-5, num1(c.y.px(t.v)), esc(t.label))
	}
	for _, t := range c.xTicks {
		x, anchor := c.x.px(t.v), "middle"
		if x > c.x.hi-20 {
			anchor = "end" // the last label would run off the edge
		}
		fmt.Fprintf(b, `<text x="%s" y="%d" text-anchor="%s">%s</text>`, num1(x), h-padB+15, anchor, esc(t.label))
	}
	if c.xLabel != "" {
		fmt.Fprintf(b, `<text class="label" x="%d" y="%d" text-anchor="middle">%s</text>`, (padL+w-padR)/2, h-3, esc(c.xLabel))
	}
	if c.yLabel != "" {
		fmt.Fprintf(b, `<text class="label" x="12" y="%d" text-anchor="middle" transform="rotate(-90 12 %d)">%s</text>`, (padT+h-padB)/2, (padT+h-padB)/2, esc(c.yLabel))
	}
	b.WriteString(`</g>`)
}

// legend is HTML, not SVG, so that it wraps and its entries are buttons
// that report.js turns into toggles.
func legend(id string, ss []series) string {
	if len(ss) < 2 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="legend" data-for="%s">`, esc(id))
	for i, s := range ss {
		t := s.title
		if t == "" {
			t = "show or hide " + s.name
		}
		fmt.Fprintf(&b, `<button type="button" data-i="%d" title="%s"><span class="sw %s"></span>%s</button>`, i, esc(t), s.class, esc(s.name))
	}
	b.WriteString(`</div>`)
	return b.String()
}

// barRow is one horizontal stacked bar: segments left to right.
type barRow struct {
	label string
	right string // text after the bar, e.g. the mean total
	segs  []barSeg
}

type barSeg struct {
	name  string
	class string
	v     float64
	title string
}

// barChart is a set of horizontal stacked bars on one linear scale.
type barChart struct {
	id, title, note string
	small           bool    // drawn narrower, for side-by-side grids
	max             float64 // the scale's end; 0 means the longest bar
	ticks           func(max float64) (float64, []tick)
	rows            []barRow
	keys            []series // legend entries (name and class only)
}

func (c *barChart) figure() template.HTML {
	const rowH, gap, labelW, rightW = 22, 8, 64, 110
	w := chartW
	if c.small {
		w = chartW * 2 / 3
	}
	max := c.max
	for _, r := range c.rows {
		t := 0.0
		for _, s := range r.segs {
			t += s.v
		}
		max = math.Max(max, t)
	}
	var ticks []tick
	if c.ticks != nil {
		max, ticks = c.ticks(max)
	}
	h := padT + len(c.rows)*(rowH+gap) + 24
	x := scale{min: 0, max: max, lo: labelW, hi: float64(w - rightW)}
	n := 0
	for _, r := range c.rows {
		for _, s := range r.segs {
			if s.v > 0 {
				n++
			}
		}
	}
	var b strings.Builder
	b.WriteString(`<figure class="chart-box">`)
	if c.title != "" {
		fmt.Fprintf(&b, `<figcaption>%s</figcaption>`, esc(c.title))
	}
	fmt.Fprintf(&b, `<svg class="chart bars" id="%s" data-chart="bars" data-points="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		esc(c.id), n, w, h, esc(c.title))
	b.WriteString(`<g class="grid">`)
	for _, t := range ticks {
		px := num1(x.px(t.v))
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%d" y2="%d"/>`, px, px, padT, h-24)
	}
	b.WriteString(`</g><g class="axis">`)
	for _, t := range ticks {
		fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="middle">%s</text>`, num1(x.px(t.v)), h-8, esc(t.label))
	}
	b.WriteString(`</g>`)
	for i, r := range c.rows {
		y := padT + i*(rowH+gap)
		fmt.Fprintf(&b, `<text class="rowlabel" x="%d" y="%d" text-anchor="end" dominant-baseline="middle">%s</text>`, labelW-6, y+rowH/2, esc(r.label))
		at := 0.0
		for _, s := range r.segs {
			if s.v <= 0 {
				continue
			}
			x0, x1 := x.px(at), x.px(at+s.v)
			at += s.v
			fmt.Fprintf(&b, `<rect class="seg %s" x="%s" y="%d" width="%s" height="%d"><title>%s</title></rect>`,
				s.class, num1(x0), y, num1(math.Max(x1-x0, 0.5)), rowH, esc(s.title))
		}
		fmt.Fprintf(&b, `<text class="rowright" x="%s" y="%d" dominant-baseline="middle">%s</text>`, num1(x.px(at)+5), y+rowH/2, esc(r.right))
	}
	b.WriteString(`</svg>`)
	if len(c.keys) > 0 {
		b.WriteString(`<div class="legend static">`)
		for _, k := range c.keys {
			fmt.Fprintf(&b, `<span><span class="sw %s"></span>%s</span>`, k.class, esc(k.name))
		}
		b.WriteString(`</div>`)
	}
	if c.note != "" {
		fmt.Fprintf(&b, `<p class="note">%s</p>`, esc(c.note))
	}
	b.WriteString(`</figure>`)
	return template.HTML(b.String())
}

// miniBar is a small unlabelled stacked bar, for a table cell.
func miniBar(segs []barSeg, max float64) template.HTML {
	const w, h = 220, 12
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="mini" viewBox="0 0 %d %d" role="img">`, w, h)
	x := scale{min: 0, max: max, lo: 0, hi: w}
	at := 0.0
	for _, s := range segs {
		if s.v <= 0 {
			continue
		}
		x0, x1 := x.px(at), x.px(at+s.v)
		at += s.v
		fmt.Fprintf(&b, `<rect class="seg %s" x="%s" y="0" width="%s" height="%d"><title>%s</title></rect>`,
			s.class, num1(x0), num1(math.Max(x1-x0, 0.5)), h, esc(s.title))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// linTicks returns a rounded-up end of a linear axis from 0 and its ticks.
func linTicks(max float64, label func(float64) string) (float64, []tick) {
	if max <= 0 || math.IsNaN(max) || math.IsInf(max, 0) {
		max = 1
	}
	step := niceStep(max / 5)
	end := math.Ceil(max/step-1e-9) * step
	var ts []tick
	for v := 0.0; v <= end+step/2; v += step {
		ts = append(ts, tick{v, label(v)})
	}
	return end, ts
}

func niceStep(raw float64) float64 {
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag*(1+1e-9) {
			return m * mag
		}
	}
	return 10 * mag
}

// timeTicks ticks a time axis of span seconds at a step people count in.
func timeTicks(span float64) (float64, []tick) {
	if span <= 0 {
		span = 1
	}
	step := 3600.0
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600} {
		if span/s <= 8 {
			step = s
			break
		}
	}
	if span/step > 8 {
		step = math.Ceil(span/8/3600) * 3600
	}
	var ts []tick
	for v := 0.0; v <= span+1e-9; v += step {
		ts = append(ts, tick{v, secText(v)})
	}
	return span, ts
}

// logTicksUS ticks a log axis of microseconds: decades, and 2 and 5 in
// between when there are few decades.
func logTicksUS(min, max float64) (float64, float64, []tick) {
	lo := math.Pow(10, math.Floor(math.Log10(math.Max(min, 1))))
	hi := math.Pow(10, math.Ceil(math.Log10(math.Max(max, lo*10))))
	var ts []tick
	few := hi/lo <= 1000
	for d := lo; d <= hi*1.0001; d *= 10 {
		ts = append(ts, tick{d, usShort(d)})
		if few && d < hi {
			ts = append(ts, tick{2 * d, usShort(2 * d)}, tick{5 * d, usShort(5 * d)})
		}
	}
	return lo, hi, ts
}

// quantileTicks ticks the x axis of a percentile spectrum: x = 1/(1-q).
var quantileTicks = []tick{{1, "0%"}, {10, "90%"}, {100, "99%"}, {1e3, "99.9%"}, {1e4, "99.99%"}, {1e5, "99.999%"}}

// usShort formats a microsecond axis label without trailing zeros.
func usShort(us float64) string {
	switch {
	case us == 0:
		return "0"
	case us < 1000:
		return strconv.FormatFloat(us, 'f', -1, 64) + "µs"
	case us < 1e6:
		return strconv.FormatFloat(round3(us/1e3), 'f', -1, 64) + "ms"
	}
	return strconv.FormatFloat(round3(us/1e6), 'f', -1, 64) + "s"
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// secText formats seconds on a time axis: 45s, 2m, 1h30m.
func secText(s float64) string {
	switch {
	case s < 60 || math.Mod(s, 60) != 0:
		return strconv.FormatFloat(s, 'f', -1, 64) + "s"
	case s < 3600 || math.Mod(s, 3600) != 0 && s < 7200:
		return strconv.FormatFloat(s/60, 'f', -1, 64) + "m"
	}
	h := math.Floor(s / 3600)
	if m := math.Mod(s, 3600) / 60; m != 0 {
		return fmt.Sprintf("%gh%gm", h, m)
	}
	return fmt.Sprintf("%gh", h)
}

// num1 writes a pixel coordinate with one decimal, the precision a screen
// needs, to keep paths short.
func num1(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

func esc(s string) string { return template.HTMLEscapeString(s) }
