package histogram_test

import (
	"fmt"
	"time"

	"github.com/tailrace/tailrace/histogram"
)

// A recorder shard per goroutine, an interval per second, and the tail
// breakdown that percentiles of phases cannot give.
func Example() {
	rec := histogram.NewRecorder(2, 3)
	sh := rec.Shard(0) // pinned by one goroutine

	var s histogram.Sample
	for i := range 1000 {
		s = histogram.Sample{Status: 200}
		ttfb := time.Millisecond
		if i%100 == 0 { // 1% of requests wait 50 ms on the server
			ttfb = 50 * time.Millisecond
		}
		s.Set(histogram.ScheduleLag, 100*time.Microsecond)
		s.Set(histogram.TTFB, ttfb)
		s.Set(histogram.Total, 100*time.Microsecond+ttfb)
		sh.Record(&s, &histogram.Counters{Completed: 1})
	}

	iv := rec.Rotate(0, time.Unix(0, 0), time.Second)
	total := iv.Hists[histogram.Total]
	fmt.Println("completed:", iv.Counters.Completed)
	fmt.Println("p50:", total.Quantile(0.5), "p99:", total.Quantile(0.99), "max:", total.Max())

	tail := iv.Tail.Breakdown(0.99)
	fmt.Printf("slowest %d: total %v = schedule_lag %v + ttfb %v\n", tail.Count, tail.MeanTotal,
		tail.MeanPhase[histogram.ScheduleLag], tail.MeanPhase[histogram.TTFB])
	// Output:
	// completed: 1000
	// p50: 1.1ms p99: 1.1ms max: 50.111ms
	// slowest 10: total 50.1ms = schedule_lag 100µs + ttfb 50ms
}

// Quantiles are in 0..1, not the library's 0..100.
func ExampleHist_Quantile() {
	h := histogram.New()
	for i := 1; i <= 100; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	fmt.Println(h.Quantile(0.5), h.Quantile(0.99), h.Count())
	// Output: 50.015ms 99.007ms 100
}

// Encode gives raw bytes; the clamped count travels separately.
func ExampleDecode() {
	h := histogram.New()
	h.Record(3 * time.Millisecond)
	h.Record(2 * time.Hour) // beyond 1 h: recorded at 1 h, counted
	b, _ := h.Encode()

	got, _ := histogram.Decode(b)
	got.SetClamped(h.Clamped())
	fmt.Println(got.Equal(h), got.Count(), got.Clamped())
	// Output: true 2 1
}
