package schedule_test

import (
	"fmt"
	"time"

	"github.com/tailrace/tailrace/loadgen/schedule"
)

// Worker 1 of 3 at a constant 1000/s takes every third arrival of the
// whole schedule; the other two fill the gaps.
func Example() {
	plan := schedule.Plan{Stages: schedule.Steady(1000, time.Second)}
	segs, err := schedule.Split([]int64{1, 1, 1})
	if err != nil {
		panic(err)
	}
	a := plan.Arrivals(segs[1])
	for range 4 {
		t, _ := a.Next()
		fmt.Println(t)
	}
	fmt.Println(segs[1], plan.Count(segs[1]), "of", plan.Count(schedule.Full))
	// Output:
	// 2ms
	// 5ms
	// 8ms
	// 11ms
	// 1:2/3 333 of 1000
}

func ExampleParseStages() {
	s, err := schedule.ParseStages("30s:0->2000,2m:2000")
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Duration(), s.RateAt(15*time.Second), s.Expected(0, s.Duration()))
	_, err = schedule.ParseStages("30s:0->2000,2m:abc")
	fmt.Println(err)
	// Output:
	// 2m30s 1000 270000
	// schedule: stage "2m:abc": rate "abc" is not a number (want DURATION:RATE or DURATION:FROM->TO, e.g. 30s:0->2000,2m:2000)
}

func ExampleSplit() {
	segs, _ := schedule.Split([]int64{3, 1, 2})
	fmt.Println(segs)
	// Output:
	// [0:3/6 3:4/6 4:6/6]
}
