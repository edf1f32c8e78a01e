// Package synth makes seeded, realistic-looking results for the tests,
// golden files and benchmarks of the renderers: the same Config gives the
// same Results, byte for byte, on every machine.
package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/reports"
)

// Config says what run to make up. The zero value is not useful; see Small.
type Config struct {
	Seed      uint64
	Modes     []string // one arm per mode: keepalive, close, resume, h2
	Intervals int      // one-second intervals per arm
	Rate      int      // requests per interval
	Workers   int
	Errors    bool // sprinkle connect, timeout@ttfb and status_5xx errors
	LoseOne   bool // the last worker is lost half way through
	Exemplars int  // kept per interval (default 4)
	// Spill, if set, gets the intervals' detail (reports.ArmBuilder.SpillTo).
	Spill *reports.Spill
}

// Small is the configuration of the golden files: four arms, a few
// seconds, two workers, errors and a lost worker.
func Small() Config {
	return Config{Seed: 7, Modes: []string{"keepalive", "close", "resume", "h2"}, Intervals: 6, Rate: 200,
		Workers: 2, Errors: true, LoseOne: true}
}

// Start is the fixed start time of every made-up run.
var Start = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// Results makes up a run.
func Results(c Config) (*reports.Results, error) {
	if c.Exemplars == 0 {
		c.Exemplars = 4
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x7a11))
	r := &reports.Results{
		Schema: reports.Schema,
		Plan: reports.Plan{Target: "https://127.0.0.1:8443/?ttfb=2ms", Method: "GET",
			Stages: fmt.Sprintf("%ds:%d", c.Intervals, c.Rate), Process: "constant", Seed: int64(c.Seed),
			Modes: c.Modes, Connections: 32, MaxInFlight: 10000, Pacer: "sleep", Timeout: "30s", Workers: c.Workers},
		StartedAt: Start,
		Warnings:  []string{},
	}
	var lostAt *float64
	if c.LoseOne && c.Workers > 1 {
		v := float64(c.Intervals / 2)
		lostAt = &v
		r.Incomplete = true
		r.Warnings = append(r.Warnings, fmt.Sprintf("worker w-%d lost at %.0fs: its share of the schedule ran short", c.Workers-1, v))
	}
	for i := range c.Workers {
		w := reports.Worker{Name: fmt.Sprintf("w-%d", i), Share: 1 / float64(c.Workers),
			Segment: fmt.Sprintf("%d:%d/%d", i, i+1, c.Workers), ClockOffsetUS: int64(i * 137), RTTUS: int64(200 + 40*i)}
		if i == c.Workers-1 {
			w.LostAt = lostAt
		}
		r.Workers = append(r.Workers, w)
	}
	start := Start
	for _, mode := range c.Modes {
		a, err := arm(rng, c, mode, start, lostAt)
		if err != nil {
			return nil, err
		}
		if a.Degraded > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: %d of %d intervals degraded (the generator fell behind its schedule)", mode, a.Degraded, len(a.Intervals)))
		}
		r.Arms = append(r.Arms, *a)
		start = start.Add(time.Duration(c.Intervals+1) * time.Second)
	}
	r.DurationS = start.Sub(Start).Seconds()
	return r, nil
}

func arm(rng *rand.Rand, c Config, mode string, start time.Time, lostAt *float64) (*reports.Arm, error) {
	b := reports.NewArmBuilder(mode, start, c.Exemplars)
	if c.Spill != nil {
		b.SpillTo(c.Spill)
	}
	rec := histogram.NewRecorder(1, c.Exemplars)
	for i := range c.Intervals {
		ivStart := start.Add(time.Duration(i) * time.Second)
		workers := c.Workers
		if lostAt != nil && float64(i) >= *lostAt {
			workers--
		}
		// A slow patch a third of the way in: a stall the tail should show.
		stall := i == c.Intervals/3
		var merged *histogram.Interval
		for w := range workers {
			sh := rec.Shard(0)
			n := c.Rate / c.Workers
			for k := range n {
				s, cn := sample(rng, mode, stall, c.Errors, k)
				s.Intended = ivStart.Add(time.Duration(k) * time.Second / time.Duration(n))
				s.ConnID = uint64(i*c.Rate + w*n + k)
				sh.Record(&s, &cn)
			}
			sh.UpdateSelf(func(sf *histogram.Self) {
				sf.MaxInFlight = int64(2 + rng.IntN(6))
				sf.HiccupMax = time.Duration(200+rng.IntN(900)) * time.Microsecond
				sf.CPU = 80 * time.Millisecond
				if stall {
					sf.MaxInFlight = 40
					sf.Degraded, sf.DegradedReason = true, "schedule_lag p99 above 2ms"
				}
			})
			iv := rec.Rotate(i, ivStart, time.Second)
			b.AddWorker(fmt.Sprintf("w-%d", w), iv)
			if merged == nil {
				merged = iv
			} else {
				merged.Merge(iv)
			}
		}
		if err := b.Add(merged, workers, workers < c.Workers); err != nil {
			return nil, err
		}
	}
	a, err := b.Arm()
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// sample makes up one request of the given mode.
func sample(rng *rand.Rand, mode string, stall, errs bool, k int) (histogram.Sample, histogram.Counters) {
	us := func(mean float64) time.Duration {
		return time.Duration(mean*math.Exp(rng.NormFloat64()*0.35)) * time.Microsecond
	}
	var s histogram.Sample
	cn := histogram.Counters{Intended: 1, Sent: 1}
	lag := us(400)
	if stall {
		lag += time.Duration(rng.IntN(30000)) * time.Microsecond
	}
	s.Set(histogram.ScheduleLag, lag)
	s.Set(histogram.PoolWait, us(6))
	newConn := mode == "close" || mode == "resume" || k%16 == 0
	if newConn {
		cn.ConnsOpened, cn.ConnsClosed = 1, 1
		s.NewConn = true
		c := us(150)
		t := us(1100)
		if mode == "resume" && k > 0 {
			t = us(450)
			s.Resumed, cn.TLSResumed = true, 1
		}
		s.Set(histogram.Connect, c)
		s.Set(histogram.TLS, t)
	} else {
		cn.ConnsReused = 1
	}
	s.Set(histogram.Write, us(40))
	ttfb := us(3200)
	if rng.IntN(200) == 0 {
		ttfb += 20 * time.Millisecond // the odd slow response: a tail
	}
	s.Set(histogram.TTFB, ttfb)
	s.Set(histogram.Server, ttfb-us(300))
	s.Set(histogram.Download, us(50))
	// Not drawn from rng, which would move every other figure.
	s.Set(histogram.ReadLag, time.Duration(40+k%50)*time.Microsecond)
	var sum time.Duration
	for p := range histogram.NumConsecutive {
		sum += s.Phases[p]
	}
	s.Set(histogram.Service, sum-lag)
	s.Set(histogram.Response, sum-lag-s.Phases[histogram.PoolWait])
	s.Set(histogram.Total, sum)
	s.Status = 200
	switch r := rng.IntN(1000); {
	case !errs:
	case r < 3:
		s.Error, s.Status = "status_5xx", 503
	case r < 4 && newConn:
		s.Error, s.Status = "connect", 0
	case r < 5:
		s.Error, s.Status = "timeout@ttfb", 0
	}
	if s.Error != "" {
		cn.Errors = 1
	} else {
		cn.Completed = 1
		cn.BytesRead = 1024
	}
	return s, cn
}

// Long makes up a long run cheaply: twelve seconds per arm are built for real,
// then its intervals are tiled out to n, with their latencies varied a
// little and a stall every ten minutes. The interval histograms are
// shared between tiles and the arms' cumulative figures are those of the
// first seconds: right for measuring the size and speed of the renderers
// (which depend on the number of intervals), not for checking numbers.
func Long(n int, modes ...string) (*reports.Results, error) {
	c := Config{Seed: 11, Modes: modes, Intervals: 12, Rate: 40, Workers: 1, Errors: true}
	r, err := Results(c)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(c.Seed, 1))
	for ai := range r.Arms {
		a := &r.Arms[ai]
		base := a.Intervals
		a.Intervals = make([]reports.Interval, n)
		a.Degraded = 0
		for i := range a.Intervals {
			iv := base[i%len(base)]
			iv.Index, iv.StartS = i, float64(i)
			f := 0.8 + 0.4*rng.Float64()
			if i%600 == 300 {
				f, iv.Degraded, iv.DegradedReason = 6, true, "schedule_lag p99 above 2ms"
			}
			iv.TotalP50US = int64(float64(iv.TotalP50US) * f)
			iv.TotalP95US = int64(float64(iv.TotalP95US) * f)
			iv.TotalP99US = int64(float64(iv.TotalP99US) * f)
			iv.LagP99US = int64(float64(iv.LagP99US) * f)
			if iv.Degraded {
				a.Degraded++
			}
			a.Intervals[i] = iv
		}
		a.DurationS = float64(n)
	}
	r.Plan.Stages = fmt.Sprintf("%ds:%d", n, c.Rate)
	r.DurationS = float64(n * len(modes))
	return r, nil
}

// Search is a made-up capacity search for the renderers' tests: five
// steps in the order run (three geometric, two refine), of which two fail
// an SLO and one was limited by the generator. The best rate is 282.8/s;
// the lowest failure 336.4/s.
func Search() *reports.Search {
	return &reports.Search{SLOs: []string{"total.p99<50ms", "errors<1%"}, FromRPS: 100, ToRPS: 1600, Factor: 2, StepS: 10, WarmupS: 2,
		Steps: []reports.SearchStep{
			{RateRPS: 100, AchievedRPS: 99.8, TotalP50US: 1900, TotalP99US: 4800, Pass: true},
			{RateRPS: 200, AchievedRPS: 199.1, TotalP50US: 2300, TotalP99US: 9100, ErrorRate: 0.0004, Pass: true, Degraded: 2},
			{RateRPS: 400, AchievedRPS: 352.6, TotalP50US: 96000, TotalP99US: 840000, ErrorRate: 0.031,
				Failed: []string{"total.p99<50ms (840.00ms)", "errors<1% (3.10%)"}},
			{RateRPS: 282.8, AchievedRPS: 281.9, TotalP50US: 3100, TotalP99US: 31000, ErrorRate: 0.001, Pass: true, Refine: true},
			{RateRPS: 336.4, AchievedRPS: 330.2, TotalP50US: 14000, TotalP99US: 120000, ErrorRate: 0.004, Refine: true,
				Failed: []string{"total.p99<50ms (120.00ms)"}},
		},
		BestRPS: 282.8, FirstFailRPS: 336.4, Stopped: "an SLO failed at 400/s"}
}
