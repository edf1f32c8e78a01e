package reports

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
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
	err  error  // the first write error: later puts fail with it
	buf  []byte // put's record, reused (under mu)
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

// spillRef is a spilled interval: where its detail is in the Spill's file,
// and how long each part is. From off come its histograms (base64 V2), one
// after another in phase order, then the figures of each phase in figs, in
// phase order, figureSize bytes each. It is a fixed-size value with no
// pointers but the Spill, so that a spilled interval costs the heap only
// the Interval itself (about 340 bytes): a run's memory grows by that per
// interval, not by the kilobyte or two its detail would take
// (TestSpilledIntervalFootprint).
type spillRef struct {
	s    *Spill
	off  int64
	lens [histogram.NumPhases]uint32 // bytes of each phase's histogram; 0: none
	figs uint32                      // the phases that have figures, bit p for phase p
}

// figs has a bit for every phase: this fails to compile if there are more.
var _ [32 - histogram.NumPhases]struct{}

// figureSize is the size of one IntervalPhase in the file: its eight
// fields as little-endian int64s.
const figureSize = 8 * 8

func appendFigures(b []byte, f IntervalPhase) []byte {
	for _, v := range [...]int64{f.Count, f.MeanUS, f.P50US, f.P90US, f.P95US, f.P99US, f.P999US, f.MaxUS} {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	return b
}

func readFigures(b []byte) IntervalPhase {
	v := func(i int) int64 { return int64(binary.LittleEndian.Uint64(b[8*i:])) }
	return IntervalPhase{Count: v(0), MeanUS: v(1), P50US: v(2), P90US: v(3), P95US: v(4), P99US: v(5), P999US: v(6), MaxUS: v(7)}
}

// put writes hists (phase name -> base64) and then phases' figures, each
// in phase order, and returns the reference that finds them.
func (s *Spill) put(hists map[string]string, phases map[string]IntervalPhase) (spillRef, error) {
	ref := spillRef{s: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.err != nil:
		return spillRef{}, s.err
	case s.f == nil:
		return spillRef{}, errSpillClosed
	}
	b := s.buf[:0]
	defer func() { s.buf = b[:0] }()
	nh, nf := 0, 0
	for p := range histogram.NumPhases {
		if enc, ok := hists[p.String()]; ok {
			if len(enc) == 0 || int64(len(enc)) > math.MaxUint32 {
				return spillRef{}, fmt.Errorf("reports: spill: a %s histogram of %d bytes", p, len(enc))
			}
			ref.lens[p] = uint32(len(enc))
			b = append(b, enc...)
			nh++
		}
	}
	for p := range histogram.NumPhases {
		if f, ok := phases[p.String()]; ok {
			ref.figs |= 1 << p
			b = appendFigures(b, f)
			nf++
		}
	}
	if nh != len(hists) || nf != len(phases) {
		return spillRef{}, errors.New("reports: spill: an interval phase that is not a histogram.Phase")
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

// at is where phase p's histogram starts in the file, relative to off;
// at(histogram.NumPhases) is where the figures start.
func (r *spillRef) at(p histogram.Phase) int64 {
	var n int64
	for _, l := range r.lens[:p] {
		n += int64(l)
	}
	return n
}

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
	b, err := r.read(r.off, int(r.at(histogram.NumPhases))+bits.OnesCount32(r.figs)*figureSize)
	if err != nil {
		return nil, nil, fmt.Errorf("reports: interval %d: %w", iv.Index, err)
	}
	hists = make(map[string]string)
	for p, n := range r.lens {
		if n > 0 {
			hists[histogram.Phase(p).String()], b = string(b[:n]), b[n:]
		}
	}
	phases = make(map[string]IntervalPhase)
	for p := range histogram.NumPhases {
		if r.figs&(1<<p) != 0 {
			phases[p.String()], b = readFigures(b), b[figureSize:]
		}
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
	p, err := histogram.ParsePhase(name)
	if err != nil || r.lens[p] == 0 {
		return "", nil
	}
	b, err := r.read(r.off+r.at(p), int(r.lens[p]))
	if err != nil {
		return "", fmt.Errorf("reports: interval %d: %w", iv.Index, err)
	}
	return string(b), nil
}

// PhaseFigures returns phase name's figures in the interval, and whether
// the interval has them (results written before interval summaries
// existed do not: their histograms do). A spilled interval reads just them.
func (iv *Interval) PhaseFigures(name string) (IntervalPhase, bool, error) {
	r := &iv.spill
	if r.s == nil {
		f, ok := iv.Phases[name]
		return f, ok || iv.Phases != nil, nil
	}
	p, err := histogram.ParsePhase(name)
	if err != nil || r.figs&(1<<p) == 0 {
		return IntervalPhase{}, true, nil
	}
	at := r.at(histogram.NumPhases) + int64(bits.OnesCount32(r.figs&(1<<p-1)))*figureSize
	b, err := r.read(r.off+at, figureSize)
	if err != nil {
		return IntervalPhase{}, false, fmt.Errorf("reports: interval %d: %w", iv.Index, err)
	}
	return readFigures(b), true, nil
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
