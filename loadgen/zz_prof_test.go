//go:build profbench

package loadgen

import (
	"context"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen/schedule"
)

func TestProfClosed(t *testing.T) {
	u, _ := url.Parse(os.Getenv("PROF_URL"))
	conc, _ := strconv.Atoi(os.Getenv("PROF_CONC"))
	rate, _ := strconv.ParseFloat(os.Getenv("PROF_RATE"), 64)
	mode := Mode(os.Getenv("PROF_MODE"))
	cfg := Config{URL: u, Concurrency: conc, Mode: mode, Connections: 50, Insecure: u.Scheme == "https", Client: ClientKind(os.Getenv("PROF_CLIENT"))}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rate == 0 {
		rate = 1
	}
	all := histogram.NewInterval(16)
	cpu0 := processCPU()
	start := time.Now()
	e.Run(context.Background(), schedule.Plan{Stages: schedule.Steady(rate, 5*time.Second)}, schedule.Full, time.Now(), func(iv *histogram.Interval) { all.Merge(iv) })
	cpu := processCPU() - cpu0
	t.Logf("completed %d in %v: %.0f/s errors %d %v cpu/req %.2fµs", all.Counters.Completed, time.Since(start), float64(all.Counters.Completed)/time.Since(start).Seconds(), all.Counters.Errors, all.Errors, float64(cpu.Nanoseconds())/1000/float64(all.Counters.Completed))
}
