package histogram

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Exemplar is one slow request kept whole, so a report can show what the
// tail's requests looked like rather than only their statistics. The zero
// value is an empty exemplar.
//
// In JSON, Phases is written as "phases_us", an object keyed by phase name
// with whole microseconds: {"phases_us": {"schedule_lag": 12, ..., "total": 1830}}.
type Exemplar struct {
	Intended time.Time                // when the schedule meant to send it
	Phases   [NumPhases]time.Duration // 0 for phases that did not happen
	Status   int                      // HTTP status; 0 = no response
	Error    string                   // error class; "" = none
	ConnID   uint64                   // the connection it used
	NewConn  bool                     // it dialed its own connection
	Resumed  bool                     // that connection resumed a TLS session
	Worker   string                   // set by the coordinator; "" on a worker
	Label    string                   // the request's label, if the plan names requests
}

type exemplarJSON struct {
	Intended time.Time        `json:"intended"`
	PhasesUS map[string]int64 `json:"phases_us"`
	Status   int              `json:"status"`
	Error    string           `json:"error,omitempty"`
	ConnID   uint64           `json:"conn_id"`
	NewConn  bool             `json:"new_conn"`
	Resumed  bool             `json:"resumed"`
	Worker   string           `json:"worker,omitempty"`
	Label    string           `json:"label,omitempty"`
}

// MarshalJSON writes e with every phase, in whole microseconds, under
// "phases_us" (see Exemplar).
func (e Exemplar) MarshalJSON() ([]byte, error) {
	w := exemplarJSON{
		Intended: e.Intended, Status: e.Status, Error: e.Error, ConnID: e.ConnID,
		NewConn: e.NewConn, Resumed: e.Resumed, Worker: e.Worker, Label: e.Label,
		PhasesUS: make(map[string]int64, NumPhases),
	}
	for p, d := range e.Phases {
		w.PhasesUS[Phase(p).String()] = d.Microseconds()
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the form MarshalJSON writes. Phases it does not name
// are 0; phase names it does not know are ignored, so that a newer writer's
// extra phases do not make the exemplar unreadable.
func (e *Exemplar) UnmarshalJSON(b []byte) error {
	var w exemplarJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("histogram: exemplar: %w", err)
	}
	out := Exemplar{
		Intended: w.Intended, Status: w.Status, Error: w.Error, ConnID: w.ConnID,
		NewConn: w.NewConn, Resumed: w.Resumed, Worker: w.Worker, Label: w.Label,
	}
	for name, v := range w.PhasesUS {
		if p, err := ParsePhase(name); err == nil {
			out.Phases[p] = time.Duration(v) * time.Microsecond
		}
	}
	*e = out
	return nil
}

// slower orders exemplars by total latency; ties go to the earlier intended
// time and then the lower connection ID, so that merges in any order keep
// the same set.
func slower(a, b *Exemplar) bool {
	if a.Phases[Total] != b.Phases[Total] {
		return a.Phases[Total] > b.Phases[Total]
	}
	if !a.Intended.Equal(b.Intended) {
		return a.Intended.Before(b.Intended)
	}
	return a.ConnID < b.ConnID
}

// TopK keeps the K slowest exemplars (by Phases[Total]) offered to it.
//
// Make one with NewTopK; the zero value keeps none (K = 0). Its storage is
// allocated once, so offering never allocates. A TopK is not safe for
// concurrent use. Copying a TopK shares its storage: use Merge into a new
// one for an independent copy.
type TopK struct {
	k int
	// h is a min-heap on slowness: h[0] is the fastest kept, the one a
	// slower newcomer replaces.
	h []Exemplar
}

// NewTopK returns a TopK that keeps the k slowest exemplars; k <= 0 keeps none.
func NewTopK(k int) TopK {
	k = max(k, 0)
	return TopK{k: k, h: make([]Exemplar, 0, k)}
}

// K returns how many exemplars t keeps at most.
func (t *TopK) K() int { return t.k }

// Len returns how many exemplars t holds.
func (t *TopK) Len() int { return len(t.h) }

// accepts reports whether an exemplar with this total would be kept: the
// one compare the hot path pays for a request that is not among the slowest.
// Equal totals are decided by Offer's full order.
func (t *TopK) accepts(total time.Duration) bool {
	return len(t.h) < t.k || (t.k > 0 && total >= t.h[0].Phases[Total])
}

// Offer keeps a copy of e if it is among the K slowest seen.
func (t *TopK) Offer(e *Exemplar) {
	if !t.accepts(e.Phases[Total]) {
		return
	}
	if len(t.h) < t.k {
		t.h = append(t.h, *e)
		t.up(len(t.h) - 1)
		return
	}
	if !slower(e, &t.h[0]) {
		return
	}
	t.h[0] = *e
	t.down(0)
}

func (t *TopK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !slower(&t.h[p], &t.h[i]) {
			return
		}
		t.h[p], t.h[i] = t.h[i], t.h[p]
		i = p
	}
}

func (t *TopK) down(i int) {
	n := len(t.h)
	for {
		m, l, r := i, 2*i+1, 2*i+2
		if l < n && slower(&t.h[m], &t.h[l]) {
			m = l
		}
		if r < n && slower(&t.h[m], &t.h[r]) {
			m = r
		}
		if m == i {
			return
		}
		t.h[m], t.h[i] = t.h[i], t.h[m]
		i = m
	}
}

// Merge offers every exemplar of o to t; t keeps its own K.
func (t *TopK) Merge(o *TopK) {
	if o == nil {
		return
	}
	for i := range o.h {
		t.Offer(&o.h[i])
	}
}

// Slowest returns a copy of the kept exemplars, slowest first.
func (t *TopK) Slowest() []Exemplar {
	out := slices.Clone(t.h)
	slices.SortFunc(out, func(a, b Exemplar) int {
		switch {
		case slower(&a, &b):
			return -1
		case slower(&b, &a):
			return 1
		}
		return 0
	})
	return out
}

// Reset empties t, keeping K and its storage.
func (t *TopK) Reset() {
	clear(t.h) // drop string references
	t.h = t.h[:0]
}
