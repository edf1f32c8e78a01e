package cluster

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tailrace/tailrace/histogram"
	tailracepb "github.com/tailrace/tailrace/proto"
)

// Bounds on what a decoded interval may ask the receiver to allocate: a
// hostile or corrupt message must not cost more than an honest one.
const (
	maxWireExemplarK = 1 << 12
	maxWireIndex     = 1 << 31
	maxWireLabels    = 64 // loadgen.MaxLabels
)

var errWire = errors.New("cluster: malformed interval")

// encodeInterval converts iv, measured by an engine whose T0 was t0 (in the
// sender's clock), into its wire form. Times travel as offsets from T0, so
// the receiver places them on its own clock without a conversion.
func encodeInterval(iv *histogram.Interval, arm int, t0 time.Time) (*tailracepb.Interval, error) {
	m := &tailracepb.Interval{
		Arm:      uint32(arm),
		Index:    int64(iv.Index),
		StartNs:  int64(iv.Start.Sub(t0)),
		LengthNs: int64(iv.Length),
		Counters: encodeCounters(&iv.Counters),
		Statuses: slices.Clone(iv.Statuses[:]), // iv goes back to the pool before m is marshalled
		Tail:     iv.Tail.AppendBinary(nil),
		Self: &tailracepb.Self{
			MaxInFlight: iv.Self.MaxInFlight, HiccupMaxNs: int64(iv.Self.HiccupMax), HiccupP99Ns: int64(iv.Self.HiccupP99),
			GcPauseNs: int64(iv.Self.GCPause), CpuNs: int64(iv.Self.CPU),
			Degraded: iv.Self.Degraded, DegradedReason: iv.Self.DegradedReason,
		},
		ExemplarK: uint32(iv.Exemplars.K()),
	}
	for p, h := range iv.Hists {
		if h == nil || (h.Count() == 0 && h.Clamped() == 0) {
			continue // the receiver's histograms start empty
		}
		b, err := h.Encode()
		if err != nil {
			return nil, fmt.Errorf("cluster: interval %d %s: %w", iv.Index, histogram.Phase(p), err)
		}
		m.Hists = append(m.Hists, &tailracepb.Hist{Phase: uint32(p), V2: b, Clamped: h.Clamped()})
	}
	if len(iv.Errors) > 0 {
		m.Errors = make(map[string]int64, len(iv.Errors))
		for k, v := range iv.Errors {
			m.Errors[k] = v
		}
	}
	if len(iv.ErrorText) > 0 {
		m.ErrorText = make(map[string]string, len(iv.ErrorText))
		for k, v := range iv.ErrorText {
			m.ErrorText[k] = v
		}
	}
	for _, e := range iv.Exemplars.Slowest() {
		we := &tailracepb.Exemplar{
			IntendedNs: math.MinInt64, PhasesNs: make([]int64, len(e.Phases)), Status: int32(e.Status),
			Error: e.Error, ConnId: e.ConnID, NewConn: e.NewConn, Resumed: e.Resumed, Worker: e.Worker, Label: e.Label,
		}
		if !e.Intended.IsZero() {
			we.IntendedNs = int64(e.Intended.Sub(t0))
		}
		for p, d := range e.Phases {
			we.PhasesNs[p] = int64(d)
		}
		m.Exemplars = append(m.Exemplars, we)
	}
	if len(iv.Labels) > 0 {
		m.Labels = make(map[string]*tailracepb.Interval, len(iv.Labels))
		for name, l := range iv.Labels {
			lm, err := encodeInterval(l, arm, t0)
			if err != nil {
				return nil, fmt.Errorf("cluster: label %q: %w", name, err)
			}
			lm.Self, lm.Labels = nil, nil
			m.Labels[name] = lm
		}
	}
	return m, nil
}

func encodeCounters(c *histogram.Counters) *tailracepb.Counters {
	return &tailracepb.Counters{
		Intended: c.Intended, Sent: c.Sent, Completed: c.Completed, Errors: c.Errors, Dropped: c.Dropped,
		ConnsOpened: c.ConnsOpened, ConnsReused: c.ConnsReused, TlsResumed: c.TLSResumed,
		ConnsClosed: c.ConnsClosed, Inversions: c.Inversions, BytesRead: c.BytesRead,
	}
}

func decodeCounters(m *tailracepb.Counters) histogram.Counters {
	return histogram.Counters{
		Intended: m.GetIntended(), Sent: m.GetSent(), Completed: m.GetCompleted(), Errors: m.GetErrors(),
		Dropped: m.GetDropped(), ConnsOpened: m.GetConnsOpened(), ConnsReused: m.GetConnsReused(),
		TLSResumed: m.GetTlsResumed(), ConnsClosed: m.GetConnsClosed(), Inversions: m.GetInversions(),
		BytesRead: m.GetBytesRead(),
	}
}

// checkInterval rejects a wire interval whose fields are out of range, before
// anything of it is merged.
func checkInterval(m *tailracepb.Interval) error {
	switch {
	case m.GetIndex() < 0 || m.GetIndex() >= maxWireIndex:
		return fmt.Errorf("%w: index %d", errWire, m.GetIndex())
	case m.GetLengthNs() < 0:
		return fmt.Errorf("%w: length %d", errWire, m.GetLengthNs())
	case len(m.GetStatuses()) > histogram.NumStatusClasses:
		return fmt.Errorf("%w: %d status classes", errWire, len(m.GetStatuses()))
	case m.GetExemplarK() > maxWireExemplarK:
		return fmt.Errorf("%w: %d exemplars per interval", errWire, m.GetExemplarK())
	}
	for _, h := range m.GetHists() {
		if h.GetPhase() >= uint32(histogram.NumPhases) || h.GetClamped() < 0 {
			return fmt.Errorf("%w: histogram of phase %d, clamped %d", errWire, h.GetPhase(), h.GetClamped())
		}
	}
	for _, e := range m.GetExemplars() {
		if len(e.GetPhasesNs()) > int(histogram.NumPhases) {
			return fmt.Errorf("%w: exemplar with %d phases", errWire, len(e.GetPhasesNs()))
		}
	}
	if len(m.GetLabels()) > maxWireLabels {
		return fmt.Errorf("%w: %d labels", errWire, len(m.GetLabels()))
	}
	for name, l := range m.GetLabels() {
		if l == nil || len(l.GetLabels()) > 0 || len(l.GetExemplars()) > 0 {
			return fmt.Errorf("%w: label %q with labels or exemplars of its own", errWire, name)
		}
		if err := checkInterval(l); err != nil {
			return fmt.Errorf("label %q: %w", name, err)
		}
	}
	return nil
}

// decodeInterval rebuilds the interval m carries, placing its times after
// t0 (the receiver's T0 of the arm). worker names the sender in exemplars
// that do not name one.
func decodeInterval(m *tailracepb.Interval, t0 time.Time, worker string) (*histogram.Interval, error) {
	if err := checkInterval(m); err != nil {
		return nil, err
	}
	iv := histogram.NewInterval(int(m.GetExemplarK()))
	iv.Index, iv.Start, iv.Length = int(m.GetIndex()), t0.Add(time.Duration(m.GetStartNs())), time.Duration(m.GetLengthNs())
	if err := mergeWire(iv, m, t0, worker); err != nil {
		return nil, err
	}
	return iv, nil
}

// mergeWire adds the data of m into dst as dst.Merge would add the decoded
// interval, without building it: histograms merge straight from their V2
// bytes. Index, Start and Length of dst are left alone. On error dst is
// unchanged.
func mergeWire(dst *histogram.Interval, m *tailracepb.Interval, t0 time.Time, worker string) error {
	if err := checkInterval(m); err != nil {
		return err
	}
	var tail histogram.TailBins
	if err := tail.UnmarshalBinary(m.GetTail()); err != nil {
		return fmt.Errorf("cluster: interval %d: %w", m.GetIndex(), err)
	}
	// Parse every histogram before touching dst, so that a bad one leaves
	// dst as it was: the labels' first (parsed again when merged: they are
	// few), then the interval's own.
	d := histogram.GetV2Decoder()
	defer d.Release()
	for name, l := range m.GetLabels() {
		var lt histogram.TailBins
		if err := lt.UnmarshalBinary(l.GetTail()); err != nil {
			return fmt.Errorf("cluster: interval %d label %q: %w", m.GetIndex(), name, err)
		}
		for _, h := range l.GetHists() {
			if _, err := d.Parse(h.GetV2()); err != nil {
				return fmt.Errorf("cluster: interval %d label %q %s: %w", m.GetIndex(), name, histogram.Phase(h.GetPhase()), err)
			}
		}
		d.Reset()
	}
	var parsed [histogram.NumPhases * 2][]histogram.V2Count
	if len(m.GetHists()) > len(parsed) {
		return fmt.Errorf("%w: %d histograms", errWire, len(m.GetHists()))
	}
	for i, h := range m.GetHists() {
		counts, err := d.Parse(h.GetV2())
		if err != nil {
			return fmt.Errorf("cluster: interval %d %s: %w", m.GetIndex(), histogram.Phase(h.GetPhase()), err)
		}
		parsed[i] = counts
	}
	for i, h := range m.GetHists() {
		p := histogram.Phase(h.GetPhase())
		if dst.Hists[p] == nil {
			dst.Hists[p] = histogram.New()
		}
		dst.Hists[p].ApplyV2(parsed[i], h.GetClamped())
	}
	c := decodeCounters(m.GetCounters())
	dst.Counters.Add(&c)
	if len(m.GetErrors()) > 0 && dst.Errors == nil {
		dst.Errors = make(map[string]int64, len(m.GetErrors()))
	}
	for k, v := range m.GetErrors() {
		dst.Errors[k] += v
	}
	for i, v := range m.GetStatuses() {
		dst.Statuses[i] += v
	}
	dst.Tail.Merge(&tail)
	for _, we := range m.GetExemplars() {
		e := histogram.Exemplar{
			Status: int(we.GetStatus()), Error: we.GetError(), ConnID: we.GetConnId(), NewConn: we.GetNewConn(),
			Resumed: we.GetResumed(), Worker: we.GetWorker(), Label: we.GetLabel(),
		}
		if we.GetIntendedNs() != math.MinInt64 {
			e.Intended = t0.Add(time.Duration(we.GetIntendedNs()))
		}
		for p, d := range we.GetPhasesNs() {
			e.Phases[p] = time.Duration(d)
		}
		if e.Worker == "" {
			e.Worker = worker
		}
		dst.Exemplars.Offer(&e)
	}
	s := m.GetSelf()
	self := histogram.Self{
		MaxInFlight: s.GetMaxInFlight(), HiccupMax: time.Duration(s.GetHiccupMaxNs()), HiccupP99: time.Duration(s.GetHiccupP99Ns()),
		GCPause: time.Duration(s.GetGcPauseNs()), CPU: time.Duration(s.GetCpuNs()),
		Degraded: s.GetDegraded(), DegradedReason: s.GetDegradedReason(),
	}
	dst.Self.Merge(&self)
	for k, v := range m.GetErrorText() {
		if _, ok := dst.ErrorText[k]; !ok {
			if dst.ErrorText == nil {
				dst.ErrorText = make(map[string]string, len(m.GetErrorText()))
			}
			dst.ErrorText[k] = v
		}
	}
	for name, l := range m.GetLabels() {
		if err := mergeWire(dst.Label(name), l, t0, worker); err != nil {
			return err // checked above: cannot happen
		}
	}
	return nil
}
