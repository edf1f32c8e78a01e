package reports_test

import (
	"encoding/base64"
	"fmt"
	"os"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/reports"
)

// A results.json holds every interval's histograms, so any export can be
// made again from it; here the time series of one made-up interval.
func ExampleTimeseriesCSV() {
	h := histogram.New()
	for _, ms := range []int{3, 3, 4, 4, 4, 5, 9} {
		h.Record(time.Duration(ms) * time.Millisecond)
	}
	enc, _ := h.Encode()
	sum, _ := reports.Summarize(h)
	r := &reports.Results{Schema: reports.Schema, Arms: []reports.Arm{{
		Mode:   "keepalive",
		Phases: map[string]reports.PhaseSummary{"ttfb": sum},
		Intervals: []reports.Interval{{Index: 0, LengthS: 1, Workers: 1,
			Counters: histogram.Counters{Intended: 7, Sent: 7, Completed: 7},
			Hists:    map[string]string{"ttfb": base64.StdEncoding.EncodeToString(enc)}}},
	}}}
	if err := reports.TimeseriesCSV(os.Stdout, r); err != nil {
		fmt.Println(err)
	}
	// Output:
	// arm,interval,start_s,length_s,workers,degraded,short,intended,sent,completed,errors,dropped,conns_opened,max_inflight,phase,count,mean_us,p50_us,p90_us,p95_us,p99_us,p999_us,max_us
	// keepalive,0,0,1,1,false,false,7,7,7,0,0,0,0,ttfb,7,4573,4001,5003,9007,9007,9007,9007
}
