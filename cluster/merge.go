package cluster

import (
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen"
	tailracepb "github.com/tailrace/tailrace/proto"
	"github.com/tailrace/tailrace/reports"
)

// merger folds the intervals of one arm's workers, which arrive in any
// interleaving (but in order per worker), into an ArmBuilder: interval i is
// final once every worker has sent it or will never send it (it finished
// before i, or was lost). The live run and ReplayJournal share it, so a
// replayed journal merges exactly as the run did. Not safe for concurrent
// use.
type merger struct {
	b       *reports.ArmBuilder
	prog    *progress
	t0      time.Time
	k       int // exemplars per interval
	planned int // intervals the plan spans; a loss makes only these short
	names   []string

	pending  map[int]*pendingInterval
	next     int
	last     []int  // highest index received per worker; -1 for none
	finished []bool // the worker sends no more: done or lost
	lost     []bool
	tally    *histogram.Interval // scratch for ArmBuilder.AddWorker of wire intervals
	err      error               // the first error of the builder
}

type pendingInterval struct {
	iv *histogram.Interval
	n  int
}

func newMerger(b *reports.ArmBuilder, prog *progress, t0 time.Time, k int, planned time.Duration, names []string) *merger {
	m := &merger{
		b: b, prog: prog, t0: t0, k: k, names: names,
		planned: int((planned + loadgen.IntervalLength - 1) / loadgen.IntervalLength),
		pending: map[int]*pendingInterval{},
		last:    make([]int, len(names)), finished: make([]bool, len(names)), lost: make([]bool, len(names)),
	}
	for i := range m.last {
		m.last[i] = -1
	}
	return m
}

// accept reports whether worker w may still contribute interval idx, and
// records that it has.
func (m *merger) accept(w, idx int) bool {
	if m.finished[w] || idx < m.next || idx <= m.last[w] {
		return false // late or repeated: that window is already final
	}
	m.last[w] = idx
	return true
}

// add takes ownership of iv, an interval worker w measured.
func (m *merger) add(w int, iv *histogram.Interval) {
	if !m.accept(w, iv.Index) {
		return
	}
	p := m.pending[iv.Index]
	if p == nil {
		m.pending[iv.Index] = &pendingInterval{iv: iv, n: 1}
	} else {
		p.iv.Merge(iv)
		p.iv.Length = max(p.iv.Length, iv.Length)
		p.n++
		m.recycle(iv)
	}
	m.flush()
}

// addWire merges interval wi of worker w straight from its wire form.
func (m *merger) addWire(w int, wi *tailracepb.Interval) error {
	if err := checkInterval(wi); err != nil {
		return err
	}
	idx := int(wi.GetIndex())
	if m.finished[w] || idx < m.next || idx <= m.last[w] {
		return nil
	}
	p := m.pending[idx]
	fresh := p == nil
	if fresh {
		iv := m.get()
		iv.Index, iv.Start = idx, m.t0.Add(time.Duration(wi.GetStartNs()))
		p = &pendingInterval{iv: iv}
	}
	if err := mergeWire(p.iv, wi, m.t0, m.names[w]); err != nil {
		if fresh {
			m.recycle(p.iv)
		}
		return err
	}
	m.last[w] = idx
	p.iv.Length = max(p.iv.Length, time.Duration(wi.GetLengthNs()))
	p.n++
	m.pending[idx] = p
	m.flush()
	return nil
}

// finish records that worker w sends no more intervals; lost says it was
// cut short rather than done.
func (m *merger) finish(w int, lost bool) {
	m.finished[w] = true
	if lost && !m.lost[w] && m.prog != nil {
		m.prog.lost++
	}
	m.lost[w] = m.lost[w] || lost
	m.flush()
}

// flush finalizes, in order, every interval no worker can still add to.
func (m *merger) flush() {
	for {
		for w := range m.last {
			if !m.finished[w] && m.last[w] < m.next {
				return // w may still send m.next
			}
		}
		p := m.pending[m.next]
		if p == nil {
			// Indexes are contiguous per worker, so nobody has anything
			// later either: everything received is final.
			return
		}
		delete(m.pending, m.next)
		m.finalize(p)
		m.next++
	}
}

// close finalizes whatever is left, in order: after every worker finished
// (normally nothing is), or when giving up on the others.
func (m *merger) close() {
	for len(m.pending) > 0 {
		if p := m.pending[m.next]; p != nil {
			delete(m.pending, m.next)
			m.finalize(p)
		}
		m.next++
	}
}

func (m *merger) finalize(p *pendingInterval) {
	idx := p.iv.Index
	short := false
	for w, l := range m.lost {
		if l && m.last[w] < idx && idx < m.planned {
			short = true
		}
	}
	if err := m.b.Add(p.iv, p.n, short); err != nil && m.err == nil {
		m.err = err
	}
	if m.prog != nil {
		m.prog.interval(p.iv)
	}
	m.recycle(p.iv)
}

// get returns an empty interval, reusing a finalized one: each holds 2.3 MB
// of histograms.
func (m *merger) get() *histogram.Interval { return histogram.GetInterval(m.k) }

// recycle gives back an interval the merger is done with, to the pool that
// the engines' rotations (and get) draw from.
func (m *merger) recycle(iv *histogram.Interval) { histogram.PutInterval(iv) }

// tallyOf returns an interval holding what ArmBuilder.AddWorker reads of
// wi (counters, schedule lag, degraded), in a scratch interval reused from
// call to call.
func (m *merger) tallyOf(wi *tailracepb.Interval) *histogram.Interval {
	if m.tally == nil {
		m.tally = histogram.NewInterval(0)
	}
	t := m.tally
	t.Index, t.Start, t.Length = int(wi.GetIndex()), m.t0.Add(time.Duration(wi.GetStartNs())), time.Duration(wi.GetLengthNs())
	lag := t.Hists[histogram.ScheduleLag]
	lag.Reset()
	for _, h := range wi.GetHists() {
		if histogram.Phase(h.GetPhase()) == histogram.ScheduleLag {
			_ = lag.MergeV2(h.GetV2(), h.GetClamped()) // addWire has parsed it already
		}
	}
	t.Counters = decodeCounters(wi.GetCounters())
	t.Self = histogram.Self{Degraded: wi.GetSelf().GetDegraded(), DegradedReason: wi.GetSelf().GetDegradedReason(), MaxInFlight: wi.GetSelf().GetMaxInFlight()}
	return t
}
