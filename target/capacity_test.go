package target

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestMaxConcurrent(t *testing.T) {
	const service = 200 * time.Millisecond
	s := startServer(t, Config{MaxConcurrent: 2})
	c := newClient(t, s, func(tr *http.Transport) { tr.MaxConnsPerHost = 0 })

	var late string
	for range attempts {
		s.ResetStats()
		start := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var finished, timings []time.Duration
		for range 4 {
			wg.Go(func() {
				resp, _, _, _ := get(t, c, s.URL()+"/?ttfb=200ms")
				mu.Lock()
				defer mu.Unlock()
				finished = append(finished, time.Since(start))
				timings = append(timings, parseServerTiming(t, resp.Header.Get("Server-Timing")))
			})
		}
		wg.Wait()
		slices.Sort(finished)
		slices.Sort(timings)

		if st := s.Stats(); st.MaxInFlight != 2 || st.Requests != 4 {
			t.Fatalf("stats %+v: want MaxInFlight 2 of 4 requests", st)
		}
		// A queued request needs a slot, freed one service time in at the
		// earliest, then its own service time.
		for i, f := range finished[2:] {
			if f < 2*service {
				t.Fatalf("request %d finished at %v, before two service times (%v)", i+2, f, 2*service)
			}
		}
		// Its queueing is server time, so Server-Timing shows it.
		if timings[3] < 2*service-slack {
			t.Errorf("slowest Server-Timing %v, want about %v: the queue is server time", timings[3], 2*service)
		}
		// Upper bounds: the first two were not queued, the last two waited
		// about one service time.
		if finished[1] < service+slack && finished[3] < 2*service+slack && finished[2]-finished[0] > service-slack {
			return
		}
		late = "finish times " + formatDurations(finished)
	}
	t.Errorf("in %d attempts: %s, want two at about %v and two at about %v", attempts, late, service, 2*service)
}

func formatDurations(d []time.Duration) string {
	var b []byte
	for i, x := range d {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, x.Round(time.Millisecond).String()...)
	}
	return string(b)
}

func TestMaxConcurrentIsFIFO(t *testing.T) {
	s := startServer(t, Config{MaxConcurrent: 1})
	c := newClient(t, s, nil)
	const n = 6
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// The first holds the slot while the others line up.
			ttfb := "10ms"
			if i == 0 {
				ttfb = "300ms"
			}
			get(t, c, s.URL()+"/?ttfb="+ttfb+"&id="+strconv.Itoa(i))
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		})
		// Request i holds the slot or is in line before i+1 is sent.
		waitFor(t, "request "+strconv.Itoa(i)+" to be in line", 5*time.Second, func() bool { return i == 0 && s.Stats().MaxInFlight == 1 || i > 0 && s.queue.queued() == i })
	}
	wg.Wait()
	if !slices.IsSorted(order) {
		t.Errorf("served in order %v, want arrival order", order)
	}
	if st := s.Stats(); st.MaxInFlight != 1 {
		t.Errorf("MaxInFlight = %d, want 1", st.MaxInFlight)
	}
}

func TestQueue(t *testing.T) {
	t.Parallel()
	q := newQueue(1)
	ctx := t.Context()
	if err := q.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	// A waiter that gives up leaves the line.
	canceled, cancel := context.WithCancel(ctx)
	gaveUp := make(chan error)
	go func() { gaveUp <- q.acquire(canceled) }()
	waitFor(t, "a waiter", 5*time.Second, func() bool { return q.queued() == 1 })
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled acquire = %v, want context.Canceled", err)
	}
	if n := q.queued(); n != 0 {
		t.Fatalf("%d waiting after the only waiter gave up", n)
	}
	// The slot is still held once; releasing it frees it for the next.
	q.release()
	if err := q.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	q.release()
	if q.free != 1 {
		t.Errorf("free = %d after all released, want 1", q.free)
	}
}
