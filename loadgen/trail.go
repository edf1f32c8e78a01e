package loadgen

import (
	"time"

	"github.com/tailrace/tailrace/histogram"
)

// Trail is the record of one request: every timestamp the engine took, as
// offsets from the run's start T0, and how the request ended. A zero stamp
// means "did not happen". A Trail is written by exactly one goroutine while the
// request runs and is treated as immutable once the request is done.
type Trail struct {
	Index        int64         // arrival index within this worker's segment
	Request      int           // the request of Config.Requests it sent (0 without a mix)
	Intended     time.Duration // when the schedule meant to send it
	Dispatched   time.Duration // the engine picked it up
	SlotGranted  time.Duration // pool wait ended: an idle connection, a stream slot, or leave to dial
	DNSStart     time.Duration
	DNSDone      time.Duration
	ConnectStart time.Duration
	ConnectDone  time.Duration
	TLSStart     time.Duration
	TLSDone      time.Duration
	GotConn      time.Duration // the connection is ready for this request
	WroteRequest time.Duration
	FirstByte    time.Duration
	Done         time.Duration // body fully read, or the error happened
	// ReadLag is how long after FirstByte (the kernel's arrival stamp) the
	// read that returned those bytes did: the generator's own delay. Valid
	// when HasReadLag: the read had a receive timestamp.
	ReadLag    time.Duration
	HasReadLag bool

	ConnID     uint64
	NewConn    bool // this request dialed the connection it used
	Resolved   bool // the dial performed a real DNS query (not cached, literal or --resolve)
	TLSDialed  bool // the dial ran a TLS handshake
	Resumed    bool // that handshake resumed a session
	Status     int
	Bytes      int64         // response body bytes read
	Server     time.Duration // from Server-Timing; valid when HasServer
	HasServer  bool
	Err        ErrorClass
	ErrPhase   histogram.Phase // the phase the error happened in (valid when Err != ErrNone)
	ErrText    error           // the underlying error, for the report's sample message
	Inversions int             // boundaries that ran backwards and were clamped
}

// boundaries returns the end of every consecutive phase, b[0] = Intended and
// b[p+1] = the end of phase p, clamped so they never decrease. Phases a request
// never reached end where the previous one did. The phase sum therefore equals
// Done - Intended exactly.
func (t *Trail) boundaries() (b [histogram.NumConsecutive + 1]time.Duration, inversions int) {
	b[0] = t.Intended
	ends := [histogram.NumConsecutive]time.Duration{
		histogram.ScheduleLag: t.Dispatched,
		histogram.PoolWait:    t.SlotGranted,
		histogram.DNS:         t.DNSDone,
		histogram.Connect:     t.ConnectDone,
		histogram.TLS:         t.TLSDone,
		histogram.Write:       t.WroteRequest,
		histogram.TTFB:        t.FirstByte,
		histogram.Download:    t.Done,
	}
	if t.Err != ErrNone {
		// The failing phase ends at Done; nothing after it happened.
		ends[t.ErrPhase] = t.Done
		for p := t.ErrPhase + 1; int(p) < histogram.NumConsecutive; p++ {
			ends[p] = 0
		}
	}
	for p := 0; p < histogram.NumConsecutive; p++ {
		e := ends[p]
		switch {
		case e == 0:
			e = b[p]
		case e < b[p]:
			inversions++
			e = b[p]
		}
		b[p+1] = e
	}
	return b, inversions
}

// Phases fills smp with the request's phase durations and marks which phases
// are recorded, following DESIGN.md §3's "recorded when" column.
// t0 converts the Intended offset into wall-clock time for exemplars. It
// returns how many boundaries ran backwards and were clamped.
func (t *Trail) Phases(t0 time.Time, smp *histogram.Sample) (inversions int) {
	b, inversions := t.boundaries()
	*smp = histogram.Sample{Intended: t0.Add(t.Intended), Status: t.Status, ConnID: t.ConnID, NewConn: t.NewConn, Resumed: t.Resumed}
	for p := 0; p < histogram.NumConsecutive; p++ {
		smp.Phases[p] = b[p+1] - b[p]
	}
	reached := func(p histogram.Phase) bool { return t.Err == ErrNone || t.ErrPhase >= p }
	has := uint16(1)<<histogram.ScheduleLag | 1<<histogram.PoolWait |
		1<<histogram.Service | 1<<histogram.Response | 1<<histogram.Total
	if t.Resolved && reached(histogram.DNS) {
		has |= 1 << histogram.DNS
	}
	if t.NewConn && reached(histogram.Connect) {
		has |= 1 << histogram.Connect
	}
	if t.TLSDialed && reached(histogram.TLS) {
		has |= 1 << histogram.TLS
	}
	if reached(histogram.Write) && t.GotConn != 0 {
		has |= 1 << histogram.Write
	}
	if reached(histogram.TTFB) && t.WroteRequest != 0 {
		has |= 1 << histogram.TTFB
	}
	if reached(histogram.Download) && t.FirstByte != 0 {
		has |= 1 << histogram.Download
	}
	done := b[histogram.NumConsecutive]
	smp.Phases[histogram.Total] = done - b[0]
	smp.Phases[histogram.Service] = done - b[histogram.ScheduleLag+1]
	smp.Phases[histogram.Response] = done - b[histogram.PoolWait+1]
	if t.HasServer {
		smp.Phases[histogram.Server] = t.Server
		has |= 1 << histogram.Server
	}
	if t.HasReadLag && has&(1<<histogram.Download) != 0 {
		smp.Phases[histogram.ReadLag] = t.ReadLag
		has |= 1 << histogram.ReadLag
	}
	smp.Has = has
	if t.Err != ErrNone {
		smp.Error = t.Err.Label(t.ErrPhase)
	} else if t.Status >= 400 {
		smp.Error = statusClass(t.Status)
	}
	return inversions
}

// Sum returns the sum of the consecutive phases; it always equals the total.
func (t *Trail) Sum() (sum, total time.Duration) {
	var smp histogram.Sample
	t.Phases(time.Time{}, &smp)
	for p := 0; p < histogram.NumConsecutive; p++ {
		sum += smp.Phases[p]
	}
	return sum, smp.Phases[histogram.Total]
}

func statusClass(code int) string {
	switch {
	case code >= 500 && code < 600:
		return "status_5xx"
	case code >= 400:
		return "status_4xx"
	}
	return ""
}
