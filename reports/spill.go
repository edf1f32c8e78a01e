package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/tailrace/tailrace/histogram"
)

// Spill keeps the bulky part of every Interval an ArmBuilder adds (its
// per-phase histograms, about 10 KB a second) in a temporary
// file instead of the heap, so that a long run's memory stays flat: a
// 10-minute run would otherwise hold 7 MB more at its end than at its
// start, a 12-hour soak half a gigabyte. Results marshal, and the exports
// read, spilled intervals exactly as in-memory ones.
//
// The file is removed as soon as it is created (where the OS allows it), so
// nothing is left behind whatever way the process ends. Make one with
// NewSpill and Close it once the results it backs are written. Safe for
// concurrent use.
type Spill struct {
	mu   sync.Mutex
	f    *os.File
	size int64
	err  error // the first write error: later puts fail with it
}

// NewSpill creates a spill file in dir ("" means os.TempDir()).
func NewSpill(dir string) (*Spill, error) {
	f, err := os.CreateTemp(dir, "tailrace-intervals-*")
	if err != nil {
		return nil, fmt.Errorf("reports: spill file: %w", err)
	}
	_ = os.Remove(f.Name()) // on systems that refuse, Close removes it
	return &Spill{f: f}, nil
}

// Close releases the file; intervals spilled to it cannot be read after.
func (s *Spill) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	_ = os.Remove(s.f.Name())
	s.f = nil
	return err
}

// spillRef is a spilled interval: its histograms, one after another in
// phase order from off in the Spill's file, and its per-phase figures,
// kept in memory (about 70 bytes a phase, against about 1.5 KB of encoded
// histogram), so that the time series never reads the file and an .hlog
// reads just its phase.
type spillRef struct {
	s      *Spill
	off    int64
	hists  []spilledHist
	phases []spilledPhase
}

type spilledHist struct {
	name string // the phase's name (histogram.Phase.String: no allocation)
	n    int    // bytes of its base64 V2 encoding
}

type spilledPhase struct {
	name string
	IntervalPhase
}

// put writes hists (phase name -> base64) in phase order and returns the
// reference that finds them, with phases kept alongside.
func (s *Spill) put(hists map[string]string, phases map[string]IntervalPhase) (spillRef, error) {
	ref := spillRef{s: s}
	var b []byte
	for p := range histogram.NumPhases {
		name := p.String()
		if enc, ok := hists[name]; ok {
			ref.hists = append(ref.hists, spilledHist{name: name, n: len(enc)})
			b = append(b, enc...)
		}
		if f, ok := phases[name]; ok {
			ref.phases = append(ref.phases, spilledPhase{name: name, IntervalPhase: f})
		}
	}
	if len(ref.hists) != len(hists) || len(ref.phases) != len(phases) {
		return spillRef{}, errors.New("reports: spill: an interval phase that is not a histogram.Phase")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.err != nil:
		return spillRef{}, s.err
	case s.f == nil:
		return spillRef{}, errSpillClosed
	}
	ref.off = s.size
	if _, err := s.f.WriteAt(b, ref.off); err != nil {
		s.err = fmt.Errorf("reports: spill: %w", err)
		return spillRef{}, s.err
	}
	s.size += int64(len(b))
	return ref, nil
}

var errSpillClosed = errors.New("reports: spill file already closed")

// read returns n bytes at off of the spill file.
func (r *spillRef) read(off int64, n int) ([]byte, error) {
	r.s.mu.Lock()
	f := r.s.f
	r.s.mu.Unlock()
	if f == nil {
		return nil, errSpillClosed
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("reports: spill: %w", err)
	}
	return b, nil
}

// Detail returns the interval's per-phase histograms (V2, base64) and
// figures by phase name, from memory or from its Spill. Read them through
// Detail (or PhaseHist and PhaseFigures), not the Hists and Phases fields,
// which are nil for a spilled interval.
func (iv *Interval) Detail() (hists map[string]string, phases map[string]IntervalPhase, err error) {
	r := &iv.spill
	if r.s == nil {
		return iv.Hists, iv.Phases, nil
	}
	total := 0
	for _, h := range r.hists {
		total += h.n
	}
	b, err := r.read(r.off, total)
	if err != nil {
		return nil, nil, fmt.Errorf("reports: interval %d: %w", iv.Index, err)
	}
	hists = make(map[string]string, len(r.hists))
	for _, h := range r.hists {
		hists[h.name], b = string(b[:h.n]), b[h.n:]
	}
	phases = make(map[string]IntervalPhase, len(r.phases))
	for _, f := range r.phases {
		phases[f.name] = f.IntervalPhase
	}
	return hists, phases, nil
}

// PhaseHist returns phase name's histogram in the interval (V2, base64),
// or "" where the phase did not occur; a spilled interval reads just it.
func (iv *Interval) PhaseHist(name string) (string, error) {
	r := &iv.spill
	if r.s == nil {
		return iv.Hists[name], nil
	}
	off := r.off
	for _, h := range r.hists {
		if h.name == name {
			b, err := r.read(off, h.n)
			if err != nil {
				return "", fmt.Errorf("reports: interval %d: %w", iv.Index, err)
			}
			return string(b), nil
		}
		off += int64(h.n)
	}
	return "", nil
}

// PhaseFigures returns phase name's figures in the interval, and whether
// the interval has them (results written before interval summaries
// existed do not: their histograms do).
func (iv *Interval) PhaseFigures(name string) (IntervalPhase, bool) {
	if iv.spill.s == nil {
		f, ok := iv.Phases[name]
		return f, ok || iv.Phases != nil
	}
	for _, f := range iv.spill.phases {
		if f.name == name {
			return f.IntervalPhase, true
		}
	}
	return IntervalPhase{}, true
}

// MarshalJSON writes a spilled interval as if it were in memory.
func (iv Interval) MarshalJSON() ([]byte, error) {
	type plain Interval // without the method
	p := plain(iv)
	if iv.spill.s != nil {
		h, ph, err := iv.Detail()
		if err != nil {
			return nil, err
		}
		p.Hists, p.Phases = h, ph
	}
	return json.Marshal(p)
}

// spillOut moves out's histograms to s, if s is set. If the file cannot
// take them (a full disk), they stay in memory: only memory is at stake.
func spillOut(s *Spill, out *Interval) {
	if s == nil {
		return
	}
	if ref, err := s.put(out.Hists, out.Phases); err == nil {
		out.Hists, out.Phases, out.spill = nil, nil, ref
	}
}
