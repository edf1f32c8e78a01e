package histogram

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

func TestShardPadding(t *testing.T) {
	if s := unsafe.Sizeof(Shard{}); s%128 != 0 {
		t.Errorf("Shard is %d bytes, not a multiple of 128: neighbours share cache lines", s)
	}
}

func TestRecorderShardModulo(t *testing.T) {
	r := NewRecorder(3, 4)
	for _, tc := range []struct{ i, want int }{
		{0, 0},  // first
		{4, 1},  // wraps
		{-1, 2}, // negative wraps from the end
	} {
		if r.Shard(tc.i) != r.Shard(tc.want) {
			t.Errorf("Shard(%d) is not Shard(%d)", tc.i, tc.want)
		}
	}
	if NewRecorder(0, 1).NumShards() != 1 {
		t.Error("NewRecorder(0, …) should have one shard")
	}
}

func TestRecorderRecordsEverything(t *testing.T) {
	r := NewRecorder(2, 3)
	sh := r.Shard(0)
	sh.Record(sample(time.Millisecond, 200, ""), nil)
	sh.Record(sample(7*time.Millisecond, 504, "timeout@ttfb"), &Counters{Sent: 2})
	r.Shard(1).Record(sample(3*time.Millisecond, 200, ""), nil)
	sh.Record(nil, &Counters{Dropped: 1, Sent: 1})
	sh.UpdateSelf(func(s *Self) { s.MaxInFlight = 9 })

	start := time.Unix(100, 0)
	iv := r.Rotate(4, start, time.Second)
	if iv.Index != 4 || !iv.Start.Equal(start) || iv.Length != time.Second {
		t.Errorf("interval header %d %v %v", iv.Index, iv.Start, iv.Length)
	}
	if iv.Hists[Total].Count() != 3 || iv.Hists[TTFB].Count() != 3 || iv.Hists[DNS].Count() != 0 {
		t.Error("phase histograms")
	}
	if iv.Counters.Dropped != 1 || iv.Counters.Sent != 3 || iv.Self.MaxInFlight != 9 {
		t.Errorf("counters %+v self %+v", iv.Counters, iv.Self)
	}
	if iv.Errors["timeout@ttfb"] != 1 || iv.Statuses[2] != 2 || iv.Statuses[5] != 1 {
		t.Errorf("errors %v statuses %v", iv.Errors, iv.Statuses)
	}
	if s := iv.Tail.Breakdown(0.5); s.Count != 2 || iv.Exemplars.Len() != 3 {
		t.Errorf("tail %+v, %d exemplars", s, iv.Exemplars.Len())
	}
	if next := r.Rotate(5, start.Add(time.Second), time.Second); next.Hists[Total].Count() != 0 || len(next.Errors) != 0 {
		t.Error("the next interval is not empty")
	}
	// RotateInto reuses the caller's interval.
	sh.Record(sample(time.Millisecond, 200, ""), nil)
	if got := r.RotateInto(iv, 6, start, time.Second); got != iv || iv.Hists[Total].Count() != 1 || iv.Index != 6 {
		t.Error("RotateInto did not reuse or refill dst")
	}
}

// TestRecorderRotateExact records from many goroutines while another
// rotates: every sample must land in exactly one interval.
func TestRecorderRotateExact(t *testing.T) {
	const (
		goroutines = 8
		perG       = 5000
		chunk      = 500 // recorders let a rotation happen after each chunk
		shards     = 4   // fewer than goroutines: shards are shared too
	)
	r := NewRecorder(shards, 4)
	var rotations atomic.Int64
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	want := New()
	for g := range goroutines {
		for i := range perG {
			want.Record(time.Duration(g*perG+i) * time.Microsecond)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sh := r.Shard(g)
			s := &Sample{Status: 200}
			for i := range perG {
				if i%chunk == 0 {
					// Interleave for sure: wait (bounded) until the rotator has
					// run once per chunk, while the other goroutines record.
					for rotations.Load() < int64(i/chunk) && time.Now().Before(deadline) {
						runtime.Gosched()
					}
				}
				s.Set(Total, time.Duration(g*perG+i)*time.Microsecond)
				s.Set(TTFB, time.Microsecond)
				sh.Record(s, &Counters{Completed: 1})
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	got := NewInterval(4)
	buf := NewInterval(4)
	withData := 0
	rotate := func() {
		iv := r.RotateInto(buf, int(rotations.Load()), time.Time{}, time.Second)
		if iv.Hists[Total].Count() > 0 {
			withData++
		}
		got.Merge(iv)
		rotations.Add(1)
	}
rotating:
	for time.Now().Before(deadline) {
		select {
		case <-done:
			break rotating
		default:
			rotate()
		}
	}
	select {
	case <-done:
	default:
		t.Fatal("recording goroutines did not finish in time")
	}
	rotate()

	const n = goroutines * perG
	if c := got.Hists[Total].Count(); c != n {
		t.Fatalf("intervals hold %d samples, recorded %d", c, n)
	}
	if !got.Hists[Total].Equal(want) {
		t.Fatal("the union of the intervals differs from what was recorded")
	}
	if got.Counters.Completed != n || got.Tail.Count() != n || got.Statuses[2] != n || got.Hists[TTFB].Count() != n {
		t.Fatalf("counters %d, tail %d, statuses %d, ttfb %d; want %d each",
			got.Counters.Completed, got.Tail.Count(), got.Statuses[2], got.Hists[TTFB].Count(), n)
	}
	if top := got.Exemplars.Slowest(); top[0].Phases[Total] != time.Duration(n-1)*time.Microsecond {
		t.Errorf("slowest exemplar %v, want %v", top[0].Phases[Total], time.Duration(n-1)*time.Microsecond)
	}
	if withData < 2 || rotations.Load() < perG/chunk {
		t.Errorf("%d rotations, %d with data: the test did not interleave", rotations.Load(), withData)
	}
	t.Logf("%d rotations, %d with data", rotations.Load(), withData)
}

func TestShardRecordDoesNotAllocate(t *testing.T) {
	r := NewRecorder(1, 16)
	sh := r.Shard(0)
	s := fullSample()
	s.Error = "timeout@ttfb"
	sh.Record(s, nil) // first sight of the error class may grow the map
	bump := time.Duration(0)
	if a := testing.AllocsPerRun(1000, func() {
		bump += time.Microsecond // slower every time: every sample is an exemplar
		s.Phases[Total] = time.Second + bump
		sh.Record(s, &Counters{Sent: 1, Completed: 1})
	}); a != 0 {
		t.Errorf("Shard.Record allocates %v times per sample", a)
	}
	r.Rotate(0, time.Time{}, time.Second)
	r.Rotate(1, time.Time{}, time.Second) // back to the first, reset buffer
	if a := testing.AllocsPerRun(1000, func() { sh.Record(s, &Counters{Sent: 1}) }); a != 0 {
		t.Errorf("Shard.Record allocates %v times per sample after rotation", a)
	}
}

// fullSample is a request with every phase set, as the engine records a new
// TLS connection's request.
func fullSample() *Sample {
	s := &Sample{Status: 200, ConnID: 42, NewConn: true, Intended: time.Unix(1, 0), Label: "home"}
	d := []time.Duration{90, 5, 300, 250, 900, 20, 1800, 400}
	var total time.Duration
	for p, us := range d {
		s.Set(Phase(p), us*time.Microsecond)
		total += us * time.Microsecond
	}
	s.Set(Service, total-90*time.Microsecond)
	s.Set(Response, total-95*time.Microsecond)
	s.Set(Total, total)
	s.Set(Server, 1500*time.Microsecond)
	return s
}
