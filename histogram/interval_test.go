package histogram

import (
	"testing"
	"time"
)

func TestSelfMerge(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b Self
		want Self
	}{
		{ // peaks take the max, totals add
			"numbers",
			Self{MaxInFlight: 5, HiccupMax: 3, HiccupP99: 1, GCPause: 10, CPU: 100},
			Self{MaxInFlight: 7, HiccupMax: 2, HiccupP99: 2, GCPause: 5, CPU: 50},
			Self{MaxInFlight: 7, HiccupMax: 3, HiccupP99: 2, GCPause: 15, CPU: 150},
		},
		{ // degraded ORs; a reason from one side is kept
			"one degraded", Self{}, Self{Degraded: true, DegradedReason: "lag"},
			Self{Degraded: true, DegradedReason: "lag"},
		},
		{ // the same reason is not repeated
			"same reason", Self{Degraded: true, DegradedReason: "lag"}, Self{Degraded: true, DegradedReason: "lag"},
			Self{Degraded: true, DegradedReason: "lag"},
		},
		{ // distinct reasons are joined, each once
			"distinct reasons",
			Self{Degraded: true, DegradedReason: "lag; cap"}, Self{Degraded: true, DegradedReason: "cap; gc"},
			Self{Degraded: true, DegradedReason: "lag; cap; gc"},
		},
	} {
		got := tc.a
		got.Merge(&tc.b)
		if got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestStatusClass(t *testing.T) {
	for _, tc := range []struct{ status, want int }{
		{0, 0},   // no response
		{99, 0},  // not an HTTP status
		{100, 1}, // informational
		{200, 2}, // ok
		{302, 3}, // redirect
		{404, 4}, // client error
		{503, 5}, // server error
		{599, 5}, // top of the range
		{600, 0}, // out of range
		{-1, 0},  // nonsense
	} {
		if got := statusClass(tc.status); got != tc.want {
			t.Errorf("statusClass(%d) = %d, want %d", tc.status, got, tc.want)
		}
	}
}

func TestCountersAdd(t *testing.T) {
	c := Counters{Intended: 1, Sent: 2, Completed: 3, Errors: 4, Dropped: 5, ConnsOpened: 6,
		ConnsReused: 7, TLSResumed: 8, ConnsClosed: 9, Inversions: 10, BytesRead: 11}
	d := c
	d.Add(&c)
	want := Counters{2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22}
	if d != want {
		t.Errorf("Add: %+v, want %+v", d, want)
	}
}

func sample(total time.Duration, status int, errClass string) *Sample {
	s := &Sample{Status: status, Error: errClass, ConnID: 1}
	s.Set(TTFB, total*9/10)
	s.Set(Write, total-total*9/10)
	s.Set(Total, total)
	return s
}

func TestIntervalRecordMergeReset(t *testing.T) {
	a, b := NewInterval(2), NewInterval(2)
	a.record(sample(time.Millisecond, 200, ""))
	a.record(sample(5*time.Millisecond, 503, "status_5xx"))
	b.record(sample(9*time.Millisecond, 0, "connect"))
	b.record(sample(2*time.Millisecond, 503, "status_5xx"))
	b.Counters.Sent = 2
	b.Self.MaxInFlight = 3

	// Stale phases without their Has bit count as 0.
	s := sample(time.Millisecond, 200, "")
	s.Phases[DNS] = time.Hour
	a.record(s)
	if a.Hists[DNS].Count() != 0 || a.Tail.Breakdown(0).MeanPhase[DNS] != 0 {
		t.Error("a phase without its Has bit was recorded")
	}

	a.Merge(b)
	if got := a.Hists[Total].Count(); got != 5 {
		t.Errorf("total count %d, want 5", got)
	}
	if a.Errors["status_5xx"] != 2 || a.Errors["connect"] != 1 || len(a.Errors) != 2 {
		t.Errorf("errors %v", a.Errors)
	}
	if a.Statuses != [NumStatusClasses]int64{1, 0, 2, 0, 0, 2} {
		t.Errorf("statuses %v", a.Statuses)
	}
	if got := totals(a.Exemplars.Slowest()); len(got) != 2 || got[0] != 9*time.Millisecond || got[1] != 5*time.Millisecond {
		t.Errorf("exemplars %v, want the two slowest", got)
	}
	if a.Tail.Count() != 5 || a.Counters.Sent != 2 || a.Self.MaxInFlight != 3 {
		t.Error("tail, counters or self not merged")
	}

	a.Reset()
	if a.Hists[Total].Count() != 0 || len(a.Errors) != 0 || a.Statuses != [NumStatusClasses]int64{} ||
		a.Tail.Count() != 0 || a.Exemplars.Len() != 0 || a.Exemplars.K() != 2 || a.Counters != (Counters{}) {
		t.Errorf("Reset left data behind: %+v", a)
	}

	// Merging into a zero Interval allocates what it needs.
	var z Interval
	z.Merge(b)
	if z.Hists[Total].Count() != 2 || z.Errors["connect"] != 1 {
		t.Error("merge into a zero Interval lost data")
	}
}
