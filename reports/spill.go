package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
)

// Spill keeps the bulky part of every Interval an ArmBuilder adds (its
// per-phase histograms and figures, about 12 KB a second) in a temporary
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

// intervalDetail is what an Interval keeps in a Spill.
type intervalDetail struct {
	Hists  map[string]string        `json:"h,omitempty"`
	Phases map[string]IntervalPhase `json:"p,omitempty"`
}

// spillRef locates one interval's detail in a Spill.
type spillRef struct {
	s   *Spill
	off int64
	n   int
}

func (s *Spill) put(d *intervalDetail) (spillRef, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return spillRef{}, fmt.Errorf("reports: spill: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.err != nil:
		return spillRef{}, s.err
	case s.f == nil:
		return spillRef{}, errSpillClosed
	}
	off := s.size
	if _, err := s.f.WriteAt(b, off); err != nil {
		s.err = fmt.Errorf("reports: spill: %w", err)
		return spillRef{}, s.err
	}
	s.size += int64(len(b))
	return spillRef{s: s, off: off, n: len(b)}, nil
}

var errSpillClosed = errors.New("reports: spill file already closed")

func (r spillRef) get() (*intervalDetail, error) {
	b := make([]byte, r.n)
	r.s.mu.Lock()
	f := r.s.f
	r.s.mu.Unlock()
	if f == nil {
		return nil, errSpillClosed
	}
	if _, err := f.ReadAt(b, r.off); err != nil {
		return nil, fmt.Errorf("reports: spill: %w", err)
	}
	d := &intervalDetail{}
	if err := json.Unmarshal(b, d); err != nil {
		return nil, fmt.Errorf("reports: spill: %w", err)
	}
	return d, nil
}

// Detail returns the interval's per-phase histograms (V2, base64) and
// figures by phase name, from memory or from its Spill. Read them through
// Detail, not the Hists and Phases fields, which are nil for a spilled
// interval.
func (iv *Interval) Detail() (hists map[string]string, phases map[string]IntervalPhase, err error) {
	if iv.spill.s == nil {
		return iv.Hists, iv.Phases, nil
	}
	d, err := iv.spill.get()
	if err != nil {
		return nil, nil, fmt.Errorf("reports: interval %d: %w", iv.Index, err)
	}
	return d.Hists, d.Phases, nil
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

// spillOut moves out's detail to s, if s is set. If the file cannot take
// it (a full disk), the detail stays in memory: only memory is at stake.
func spillOut(s *Spill, out *Interval) {
	if s == nil {
		return
	}
	if ref, err := s.put(&intervalDetail{Hists: out.Hists, Phases: out.Phases}); err == nil {
		out.Hists, out.Phases, out.spill = nil, nil, ref
	}
}
