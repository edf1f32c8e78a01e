package histogram

import (
	"strings"
	"time"
)

// Counters are the per-interval event counts. The zero value is all zero.
// Counters is a plain value: not safe for concurrent use (a Shard guards its own).
type Counters struct {
	Intended    int64 `json:"intended"`     // arrivals the schedule produced
	Sent        int64 `json:"sent"`         // requests dispatched
	Completed   int64 `json:"completed"`    // requests that got a full response
	Errors      int64 `json:"errors"`       // requests that failed, any class
	Dropped     int64 `json:"dropped"`      // arrivals not sent: the in-flight cap was hit
	ConnsOpened int64 `json:"conns_opened"` // connections dialed
	ConnsReused int64 `json:"conns_reused"` // requests served on an existing connection
	TLSResumed  int64 `json:"tls_resumed"`  // TLS handshakes that resumed a session
	ConnsClosed int64 `json:"conns_closed"` // connections closed, by either side
	Inversions  int64 `json:"inversions"`   // phase timestamps out of order, clamped to 0
	BytesRead   int64 `json:"bytes_read"`   // response bytes read, headers included
}

// Add adds o to c field by field.
func (c *Counters) Add(o *Counters) {
	c.Intended += o.Intended
	c.Sent += o.Sent
	c.Completed += o.Completed
	c.Errors += o.Errors
	c.Dropped += o.Dropped
	c.ConnsOpened += o.ConnsOpened
	c.ConnsReused += o.ConnsReused
	c.TLSResumed += o.TLSResumed
	c.ConnsClosed += o.ConnsClosed
	c.Inversions += o.Inversions
	c.BytesRead += o.BytesRead
}

// Sample is one finished request, as the engine hands it to Shard.Record.
// Only the phases whose Has bit is set are recorded; the others count as 0,
// whatever Phases holds, so a reused Sample needs only Has cleared (or
// *s = Sample{}) between requests. Record copies what it keeps. The zero
// value records only a status-0 count.
type Sample struct {
	Phases   [NumPhases]time.Duration
	Has      uint16 // bit p set: record Phases[p]
	Intended time.Time
	Status   int    // HTTP status; 0 = no response
	Error    string // "" = none; else an error class: "connect", "timeout@ttfb", "status_5xx", ...
	ConnID   uint64
	NewConn  bool
	Resumed  bool
	Label    string
}

// Set sets phase p to d and marks it for recording.
func (s *Sample) Set(p Phase, d time.Duration) {
	s.Phases[p] = d
	s.Has |= 1 << p
}

// Self is the generator's measurement of itself over an interval, filled in
// by the engine; a degraded interval is one where the generator, not the
// target, may have been the limit. The zero value means nothing measured.
type Self struct {
	MaxInFlight    int64         // most requests in flight at once
	HiccupMax      time.Duration // worst overshoot of a 1 ms sleep
	HiccupP99      time.Duration // P99 overshoot of a 1 ms sleep
	GCPause        time.Duration // total GC pause
	CPU            time.Duration // process CPU time
	Degraded       bool
	DegradedReason string // "; "-separated, each reason once
}

// Merge combines o into s: maxima of the peaks, sums of the totals, and the
// union of the degradation reasons. Merging two workers' MaxInFlight gives
// the largest of them, not their sum: the peaks need not have coincided.
func (s *Self) Merge(o *Self) {
	s.MaxInFlight = max(s.MaxInFlight, o.MaxInFlight)
	s.HiccupMax = max(s.HiccupMax, o.HiccupMax)
	s.HiccupP99 = max(s.HiccupP99, o.HiccupP99)
	s.GCPause += o.GCPause
	s.CPU += o.CPU
	s.Degraded = s.Degraded || o.Degraded
	s.DegradedReason = joinReasons(s.DegradedReason, o.DegradedReason)
}

func joinReasons(a, b string) string {
	if b == "" || a == b {
		return a
	}
	if a == "" {
		return b
	}
	have := strings.Split(a, "; ")
	for r := range strings.SplitSeq(b, "; ") {
		if r != "" && !contains(have, r) {
			have = append(have, r)
		}
	}
	return strings.Join(have, "; ")
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// NumStatusClasses is the length of Interval.Statuses.
const NumStatusClasses = 6

// statusClass maps an HTTP status to its Statuses index: status/100, or 0
// for no response or a status outside 100..599.
func statusClass(status int) int {
	if status < 100 || status >= 100*NumStatusClasses {
		return 0
	}
	return status / 100
}

// Interval is everything recorded in one time window: per-phase histograms,
// counters, error classes, status classes, tail bins, exemplars and the
// generator's self-measurement.
//
// Make one with NewInterval; the zero value has nil Hists and Errors map,
// which Merge and Reset tolerate but recording does not. An Interval is not
// safe for concurrent use. It holds 12 histograms (about 2.3 MB), so reuse
// one (Reset, Recorder.RotateInto) where intervals are made every second.
type Interval struct {
	Index     int           // position in the run, from 0 at T0
	Start     time.Time     // start of the window
	Length    time.Duration // length of the window
	Hists     [NumPhases]*Hist
	Counters  Counters
	Errors    map[string]int64        // by error class
	Statuses  [NumStatusClasses]int64 // index status/100; 0 = no response
	Tail      TailBins                // total latency bins, for Breakdown
	Exemplars TopK                    // the slowest requests
	Self      Self
	// ErrorText holds, per error class, one message seen for it (the first
	// the sender kept), so a report can say what "tls 600" actually was.
	ErrorText map[string]string
	// Labels holds, per label of a request mix, the share of this interval's
	// requests that carried it: their histograms, counters, errors and
	// statuses (tail bins, exemplars and Self stay in the parent). Nil when
	// the run has no mix. Sub-intervals have no Labels of their own; the
	// labels come from the plan, so there are few of them.
	Labels map[string]*Interval
}

// NewInterval returns an empty Interval that keeps k exemplars.
func NewInterval(k int) *Interval {
	iv := &Interval{Errors: make(map[string]int64), Exemplars: NewTopK(k)}
	for p := range iv.Hists {
		iv.Hists[p] = New()
	}
	return iv
}

// Merge adds o's data to iv: histograms merge, counts add, exemplars keep
// iv's K slowest of both, Self merges as Self.Merge does. Index, Start and
// Length are left alone: the caller knows what window the merge covers.
func (iv *Interval) Merge(o *Interval) {
	for p, oh := range o.Hists {
		if oh == nil {
			continue
		}
		if iv.Hists[p] == nil {
			iv.Hists[p] = New()
		}
		iv.Hists[p].Merge(oh)
	}
	iv.Counters.Add(&o.Counters)
	if len(o.Errors) > 0 && iv.Errors == nil {
		iv.Errors = make(map[string]int64, len(o.Errors))
	}
	for k, v := range o.Errors {
		iv.Errors[k] += v
	}
	for i, v := range o.Statuses {
		iv.Statuses[i] += v
	}
	iv.Tail.Merge(&o.Tail)
	iv.Exemplars.Merge(&o.Exemplars)
	iv.Self.Merge(&o.Self)
	for k, v := range o.ErrorText {
		if _, ok := iv.ErrorText[k]; !ok {
			if iv.ErrorText == nil {
				iv.ErrorText = make(map[string]string, len(o.ErrorText))
			}
			iv.ErrorText[k] = v
		}
	}
	for name, ol := range o.Labels {
		iv.Label(name).Merge(ol)
	}
}

// Label returns the sub-interval of the named label, adding an empty one
// (without exemplars) if there is none.
func (iv *Interval) Label(name string) *Interval {
	l := iv.Labels[name]
	if l == nil {
		if iv.Labels == nil {
			iv.Labels = make(map[string]*Interval)
		}
		l = NewInterval(0)
		iv.Labels[name] = l
	}
	return l
}

// Reset empties iv for reuse, keeping its allocations (histograms, map
// capacity, exemplar storage) and its exemplar K.
func (iv *Interval) Reset() {
	iv.Index, iv.Start, iv.Length = 0, time.Time{}, 0
	for _, h := range iv.Hists {
		if h != nil {
			h.Reset()
		}
	}
	iv.Counters = Counters{}
	clear(iv.Errors)
	iv.Statuses = [NumStatusClasses]int64{}
	iv.Tail.Reset()
	iv.Exemplars.Reset()
	iv.Self = Self{}
	clear(iv.ErrorText)
	for _, l := range iv.Labels {
		l.Reset()
	}
}

// record adds one sample; the caller holds whatever lock guards iv.
func (iv *Interval) record(s *Sample) {
	// Phases whose bit is unset may hold a reused Sample's stale values:
	// they count as 0 everywhere below.
	var ph [NumPhases]time.Duration
	for has, p := s.Has, 0; has != 0 && p < int(NumPhases); has, p = has>>1, p+1 {
		if has&1 != 0 {
			ph[p] = s.Phases[p]
			iv.Hists[p].Record(ph[p])
		}
	}
	if s.Has&(1<<Total) != 0 {
		iv.Tail.Add((*[NumConsecutive]time.Duration)(ph[:NumConsecutive]))
		if iv.Exemplars.accepts(ph[Total]) {
			e := Exemplar{
				Intended: s.Intended, Phases: ph, Status: s.Status, Error: s.Error,
				ConnID: s.ConnID, NewConn: s.NewConn, Resumed: s.Resumed, Label: s.Label,
			}
			iv.Exemplars.Offer(&e)
		}
	}
	if s.Error != "" {
		iv.Errors[s.Error]++
	}
	iv.Statuses[statusClass(s.Status)]++
}
