package loadgen_test

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/schedule"
	"github.com/tailrace/tailrace/target"
)

// Send 100 requests/s for half a second to a calibration target whose first
// byte comes after 5ms, and read the merged intervals.
func Example() {
	srv, err := target.Start(target.Config{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	u, _ := url.Parse(srv.URL() + "/?ttfb=5ms")

	e, err := loadgen.New(loadgen.Config{URL: u, Mode: loadgen.ModeKeepAlive, Connections: 4})
	if err != nil {
		panic(err)
	}
	plan := schedule.Plan{Stages: schedule.Steady(100, 500*time.Millisecond)}
	all := histogram.NewInterval(16)
	err = e.Run(context.Background(), plan, schedule.Full, time.Now(), func(iv *histogram.Interval) {
		all.Merge(iv)
	})
	if err != nil {
		panic(err)
	}
	c := all.Counters
	fmt.Println("intended", c.Intended, "completed", c.Completed, "errors", c.Errors)
	fmt.Println("ttfb p50 at least 5ms:", all.Hists[histogram.TTFB].Quantile(0.5) >= 5*time.Millisecond)
	// Output:
	// intended 50 completed 50 errors 0
	// ttfb p50 at least 5ms: true
}
