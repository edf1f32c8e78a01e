package cli

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tailrace/tailrace/cluster"
	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/schedule"
	"github.com/tailrace/tailrace/reports"
	"github.com/tailrace/tailrace/slo"
	"github.com/tailrace/tailrace/target"
)

// fakeStep is a target with a hard capacity: below it every request takes
// 10ms; above it the tail explodes.
func fakeStep(capacity float64, ran *[]float64) stepRunner {
	return func(ctx context.Context, rate float64) (*reports.Results, error) {
		*ran = append(*ran, rate)
		p99 := int64(10_000)
		if rate > capacity {
			p99 = 900_000
		}
		n := int64(rate * 2)
		arm := reports.Arm{Mode: "keepalive", DurationS: 2,
			Counters: histogramCounters(n),
			Phases:   map[string]reports.PhaseSummary{"total": {IntervalPhase: reports.IntervalPhase{Count: n, P50US: 9_000, P99US: p99}}}}
		return &reports.Results{Arms: []reports.Arm{arm}}, nil
	}
}

func mustSLO(t *testing.T, s string) []slo.SLO {
	t.Helper()
	g, err := slo.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return []slo.SLO{g}
}

func TestCapacitySearchSteps(t *testing.T) {
	tests := []struct {
		name           string
		capacity       float64
		refine         int
		wantRan        []float64
		best, firstBad float64
	}{
		// Fails at 800: refines twice between 400 and 800.
		{"knee", 500, 2, []float64{100, 200, 400, 800, 565.685, 475.683}, 475.683, 565.685},
		// No refinement asked.
		{"no refine", 500, 0, []float64{100, 200, 400, 800}, 400, 800},
		// Never fails: stops at --to.
		{"above range", 1e6, 2, []float64{100, 200, 400, 800, 1000}, 1000, 0},
		// The first step fails: nothing to refine.
		{"below range", 50, 2, []float64{100}, 0, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ran []float64
			c := searchConfig{slos: mustSLO(t, "total.p99<50ms"), from: 100, to: 1000, factor: 2,
				step: 2 * time.Second, maxTime: time.Hour, refine: tt.refine}
			s, best, err := capacitySearch(context.Background(), c, fakeStep(tt.capacity, &ran))
			if err != nil {
				t.Fatal(err)
			}
			if len(ran) != len(tt.wantRan) {
				t.Fatalf("ran %v, want %v", ran, tt.wantRan)
			}
			for i := range ran {
				if math.Abs(ran[i]-tt.wantRan[i]) > 0.01 {
					t.Fatalf("ran %v, want %v", ran, tt.wantRan)
				}
			}
			if math.Abs(s.BestRPS-tt.best) > 0.01 || math.Abs(s.FirstFailRPS-tt.firstBad) > 0.01 {
				t.Errorf("best %v, first failure %v; want %v, %v", s.BestRPS, s.FirstFailRPS, tt.best, tt.firstBad)
			}
			if best == nil || len(s.Steps) != len(ran) {
				t.Errorf("best results %v, %d steps recorded", best, len(s.Steps))
			}
		})
	}
}

// A search never starts a step that would overrun --max-time.
func TestCapacitySearchBudget(t *testing.T) {
	var ran []float64
	c := searchConfig{slos: mustSLO(t, "total.p99<50ms"), from: 100, to: 1000, factor: 2,
		step: 2 * time.Second, maxTime: 2500 * time.Millisecond, refine: 2}
	s, _, err := capacitySearch(context.Background(), c, fakeStep(1e6, &ran))
	if err == nil && len(ran) == 0 && strings.Contains(s.Stopped, "--max-time") {
		return
	}
	t.Errorf("ran %v, err %v, stopped %q: want no step and a --max-time note", ran, err, s.Stopped)
}

func TestStepRates(t *testing.T) {
	got := stepRates(100, 800, math.Pow(8, 1.0/3))
	if len(got) != 4 || got[3] != 800 || math.Abs(got[2]-400) > 1e-6 {
		t.Errorf("stepRates = %v, want 100 200 400 800", got)
	}
}

// The acceptance test of issue 5: against the calibration target with an
// artificial capacity (8 requests at once, 10 ms each: 800/s), the search
// finds the knee within one step of the true one. Steps double, so the
// steps below the knee run the target at most 80% busy and the first one
// above it at least at its nominal capacity, where its queue grows without
// bound. A busy machine can slow the generator itself, so the search gets
// a second attempt.
func TestCapacitySearchFindsKnee(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the target at several rates for about 12s")
	}
	const (
		slots   = 8
		service = 10 * time.Millisecond
		factor  = 2
	)
	capacity := slots / service.Seconds()
	tgt, err := target.Start(target.Config{MaxConcurrent: slots})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close()
	ecfg := loadgen.Config{Connections: 32, Shards: 2}
	ecfg.URL = mustURL(t, tgt.URL()+"/?ttfb="+service.String())
	run := func(ctx context.Context, rate float64) (*reports.Results, error) {
		return cluster.Run(ctx, cluster.Config{
			Engine: ecfg, Modes: []loadgen.Mode{loadgen.ModeKeepAlive},
			Plan:    schedule.Plan{Stages: schedule.Steady(rate, 2*time.Second)},
			Workers: []cluster.Worker{cluster.NewLocal("local-0", true)},
		})
	}
	c := searchConfig{slos: mustSLO(t, "total.p99<60ms"), from: 100, to: 2000, factor: factor,
		step: 2 * time.Second, maxTime: time.Minute, refine: 1}
	var problems []string
	for attempt := 1; attempt <= 2; attempt++ {
		s, best, err := capacitySearch(context.Background(), c, run)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		reports.SearchText(&b, s)
		t.Logf("attempt %d: true capacity at most %.0f/s\n%s", attempt, capacity, b.String())
		if best == nil || best.Arms[0].Counters.Completed == 0 {
			t.Fatal("no results for the best step")
		}
		// The true capacity is a little below slots/service (the target's
		// timer overshoots the 10ms); the service time at the lowest rate,
		// where nothing queues, bounds it from below.
		low := slots / (float64(s.Steps[0].TotalP50US) / 1e6)
		problems = problems[:0]
		if s.BestRPS < low/factor || s.BestRPS > capacity*1.02 {
			problems = append(problems, fmt.Sprintf("best %.0f/s, want within one step (x%d) below the capacity, %.0f..%.0f/s", s.BestRPS, factor, low, capacity))
		}
		if s.FirstFailRPS < low*0.98 || s.FirstFailRPS > capacity*factor {
			problems = append(problems, fmt.Sprintf("first failure %.0f/s, want within one step above the capacity, %.0f..%.0f/s", s.FirstFailRPS, low, capacity))
		}
		if len(problems) == 0 {
			return
		}
	}
	t.Error(strings.Join(problems, "; "))
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func histogramCounters(n int64) histogram.Counters {
	return histogram.Counters{Intended: n, Sent: n, Completed: n}
}

func TestSearchBadInputExits2(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		// The range is required.
		{"no range", []string{"--slo", "errors<1"}, "--from and --to are required"},
		// ... and must go up.
		{"backwards", []string{"--slo", "errors<1", "--from", "100", "--to", "10"}, "must be below --to"},
		// Without an SLO nothing can fail.
		{"no slo", []string{"--from", "1", "--to", "10"}, "--slo is required"},
		// The search sets the rate itself.
		{"rate", []string{"--slo", "errors<1", "--from", "1", "--to", "10", "--rate", "5"}, "--rate: a search sets the rate"},
		// One mode at a time.
		{"modes", []string{"--slo", "errors<1", "--from", "1", "--to", "10", "--modes", "keepalive,h2"}, "a search runs one mode"},
		// Steps of a second at least: the reporting interval.
		{"short step", []string{"--slo", "errors<1", "--from", "1", "--to", "10", "--step-duration", "100ms"}, "at least 1s"},
		// A factor that does not grow.
		{"factor", []string{"--slo", "errors<1", "--from", "1", "--to", "10", "--factor", "1"}, "must be above 1"},
		// The engine flags are run's: --tls-groups is checked the same way.
		{"tls groups", []string{"--slo", "errors<1", "--from", "1", "--to", "10", "--tls-groups", "x448"}, `"--tls-groups" flag: loadgen: unknown TLS group "x448" (want x25519mlkem768, x25519, p256, p384 or p521)`},
		{"tls groups on http", []string{"--slo", "errors<1", "--from", "1", "--to", "10", "--tls-groups", "x25519", "http://127.0.0.1:1/"}, "--tls-groups) need an https:// target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"search"}, tt.args...)...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, ExitUsage, tt.want)
			}
		})
	}
}
