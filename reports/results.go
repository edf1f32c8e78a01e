package reports

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tailrace/tailrace/histogram"
)

// Schema is the version tag of results.json. Rename nothing in the stable
// core without bumping it (DESIGN.md §8).
const Schema = "tailrace.results/v1"

// Results is a whole run: what was planned, who ran it, and per arm what was
// measured. It is a snapshot: build it with a Builder, then render it.
type Results struct {
	Schema    string    `json:"schema"`
	Plan      Plan      `json:"plan"`
	StartedAt time.Time `json:"started_at"`
	DurationS float64   `json:"duration_s"`
	Workers   []Worker  `json:"workers"`
	Arms      []Arm     `json:"arms"`
	Warnings  []string  `json:"warnings"`
	// Incomplete is set when the run did not run its whole plan (interrupted,
	// worker lost); the reason is among the warnings.
	Incomplete bool `json:"incomplete"`
	// SLOs holds the verdict of every --slo gate, in the order given; nil
	// when none was given.
	SLOs []SLOResult `json:"slos,omitempty"`
	// Search is the outcome of a capacity search (coordinator search);
	// the arms are then those of its best step. Nil for a plain run.
	Search *Search `json:"search,omitempty"`
}

// SLOResult is one SLO gate evaluated on the merged result: it passes only
// if it holds in every arm. Package slo fills it in.
type SLOResult struct {
	Expr string   `json:"expr"` // canonical form, e.g. "total.p99<250ms"
	Pass bool     `json:"pass"`
	Arms []SLOArm `json:"arms"`
}

// SLOArm is one SLO's outcome in one arm.
type SLOArm struct {
	Arm      string  `json:"arm"`
	Pass     bool    `json:"pass"`
	Observed string  `json:"observed"`          // for people, in the expression's unit: "8.81ms", "0.05%", "12", "299.7/s"
	Value    float64 `json:"value"`             // for scripts: µs for latencies, a fraction for rates of errors, a count, or per second
	NoData   bool    `json:"no_data,omitempty"` // the phase never happened in this arm (the value is 0)
}

// SLOsPass reports whether every SLO passed (true when there are none).
func (r *Results) SLOsPass() bool {
	for _, s := range r.SLOs {
		if !s.Pass {
			return false
		}
	}
	return true
}

// Plan is what the run was asked to do.
type Plan struct {
	Target      string   `json:"target"`
	Method      string   `json:"method"`
	Stages      string   `json:"stages"`
	Process     string   `json:"process"`
	Seed        int64    `json:"seed"`
	Modes       []string `json:"modes"`
	Connections int      `json:"connections"`
	MaxInFlight int      `json:"max_inflight"`
	Pacer       string   `json:"pacer"`
	Tick        string   `json:"tick,omitempty"` // the tick pacer's grid, a Go duration
	Timeout     string   `json:"timeout"`
	Workers     int      `json:"workers"`
	// BuiltinTarget is true when the run aimed at the in-process calibration target.
	BuiltinTarget bool `json:"builtin_target,omitempty"`
	// ClosedLoop is true for --concurrency runs: Concurrency loops per
	// worker sent back to back, ignoring the stages' rates (only their
	// duration counts). Latency is then the service-time view.
	ClosedLoop  bool `json:"closed_loop,omitempty"`
	Concurrency int  `json:"concurrency,omitempty"`
	// Client is the HTTP/1.1 client: "fast" (purpose-built) or "std"
	// (net/http); h2 arms always use net/http. Empty in older results.
	Client string `json:"client,omitempty"`
	// Requests is the request mix, when the run had one (a plan's requests
	// or a targets file); Target is then their origin.
	Requests []PlanRequest `json:"requests,omitempty"`
	// ExpectStatus is the set of statuses counted as success
	// (--expect-status); empty means every status below 400.
	ExpectStatus string `json:"expect_status,omitempty"`
	// PlanFile is the plan file the run was read from, if any.
	PlanFile string `json:"plan_file,omitempty"`
}

// ClosedLoopNote is how every output labels a closed-loop run.
const ClosedLoopNote = "closed-loop: latency is the service-time view; schedule_lag is not meaningful"

// Worker describes one load generator of the run.
type Worker struct {
	Name          string   `json:"name"`
	Share         float64  `json:"share"`
	Segment       string   `json:"segment"`
	Local         bool     `json:"local"`
	ClockOffsetUS int64    `json:"clock_offset_us"`
	RTTUS         int64    `json:"rtt_us"`
	LostAt        *float64 `json:"lost_at"` // seconds after the arm's start; nil if never lost
}

// Arm is one connection mode's measurement.
type Arm struct {
	Mode          string                  `json:"mode"`
	StartedAt     time.Time               `json:"started_at"`
	DurationS     float64                 `json:"duration_s"`
	Counters      histogram.Counters      `json:"counters"`
	Errors        map[string]int64        `json:"errors"`
	ErrorSamples  map[string]string       `json:"error_samples,omitempty"` // one message per error class
	Statuses      map[string]int64        `json:"statuses"`
	Phases        map[string]PhaseSummary `json:"phases"`
	TailBreakdown []TailSlice             `json:"tail_breakdown"`
	Intervals     []Interval              `json:"intervals"`
	Exemplars     []histogram.Exemplar    `json:"exemplars"`
	Degraded      int                     `json:"degraded_intervals"`
	// Workers holds each worker's own share of this arm, when the
	// coordinator reported it (ArmBuilder.AddWorker); nil otherwise.
	Workers []ArmWorker `json:"workers,omitempty"`
	// Labels holds, per label of the plan's request mix, its requests'
	// phases, counters, errors and statuses; nil without a mix.
	Labels map[string]LabelSummary `json:"labels,omitempty"`
}

// ArmWorker is what one worker did in one arm.
type ArmWorker struct {
	Name      string             `json:"name"`
	Intervals int                `json:"intervals"` // intervals it reported
	Counters  histogram.Counters `json:"counters"`
	LagP99US  int64              `json:"schedule_lag_p99_us"`
	LagMaxUS  int64              `json:"schedule_lag_max_us"`
	Degraded  int                `json:"degraded_intervals"`
}

// PhaseSummary is one phase's distribution over the whole arm. Hist is the
// V2-encoded HdrHistogram (µs), base64, from which every figure can be rebuilt.
type PhaseSummary struct {
	IntervalPhase        // the figures, as an interval's (flattened in JSON)
	Clamped       int64  `json:"clamped,omitempty"`
	Hist          string `json:"hist"`
}

// TailSlice is the mean composition of the requests at or above a quantile of
// total: its phase means add up to its mean total.
type TailSlice struct {
	FromQuantile float64          `json:"from_quantile"`
	Count        int64            `json:"count"`
	MeanTotalUS  int64            `json:"mean_total_us"`
	MeanPhaseUS  map[string]int64 `json:"mean_phase_us"`
}

// Interval is one reporting interval, merged across workers.
type Interval struct {
	Index          int                `json:"index"`
	StartS         float64            `json:"start_s"` // seconds after the arm's start
	LengthS        float64            `json:"length_s"`
	Workers        int                `json:"workers"` // workers that reported it
	Counters       histogram.Counters `json:"counters"`
	Errors         map[string]int64   `json:"errors,omitempty"`
	TotalP50US     int64              `json:"total_p50_us"`
	TotalP90US     int64              `json:"total_p90_us"`
	TotalP95US     int64              `json:"total_p95_us"`
	TotalP99US     int64              `json:"total_p99_us"`
	TotalMaxUS     int64              `json:"total_max_us"`
	ResponseP99US  int64              `json:"response_p99_us"`
	LagP99US       int64              `json:"schedule_lag_p99_us"`
	MaxInFlight    int64              `json:"max_inflight"`
	HiccupMaxUS    int64              `json:"hiccup_max_us"`
	GCPauseUS      int64              `json:"gc_pause_us"`
	CPUS           float64            `json:"cpu_s"`
	Degraded       bool               `json:"degraded,omitempty"`
	DegradedReason string             `json:"degraded_reason,omitempty"`
	Short          bool               `json:"short,omitempty"` // ran short of its intended load (a worker was missing)
	// Hists holds every non-empty phase's V2-encoded interval histogram,
	// base64, so that .hlog logs can be rebuilt from results.json alone.
	Hists map[string]string `json:"hists,omitempty"`
	// Phases summarizes every non-empty phase of the interval, so that the
	// time series (timeseries.csv, .hlog maxima) need not decode Hists.
	// Results written before it existed lack it; readers fall back to Hists.
	Phases map[string]IntervalPhase `json:"phases,omitempty"`

	spill spillRef // where Hists and Phases are, when an ArmBuilder spilled them (spill.go)
}

// IntervalPhase is one phase's figures in one interval, in µs.
type IntervalPhase struct {
	Count  int64 `json:"count"`
	MeanUS int64 `json:"mean_us"`
	P50US  int64 `json:"p50_us"`
	P90US  int64 `json:"p90_us"`
	P95US  int64 `json:"p95_us"`
	P99US  int64 `json:"p99_us"`
	P999US int64 `json:"p999_us"`
	MaxUS  int64 `json:"max_us"`
}

// intervalPhase summarizes h.
func intervalPhase(h *histogram.Hist) IntervalPhase { return figures(h.Summary()) }

// figures is s in whole µs.
func figures(s histogram.Summary) IntervalPhase {
	return IntervalPhase{Count: s.Count, MeanUS: s.Mean.Microseconds(), P50US: s.P50.Microseconds(), P90US: s.P90.Microseconds(),
		P95US: s.P95.Microseconds(), P99US: s.P99.Microseconds(), P999US: s.P999.Microseconds(), MaxUS: s.Max.Microseconds()}
}

// TailQuantiles are the quantiles the tail breakdown is reported from.
var TailQuantiles = []float64{0, 0.5, 0.95, 0.99, 0.999}

// Summarize turns a histogram into its summary, with the encoded histogram.
func Summarize(h *histogram.Hist) (PhaseSummary, error) {
	s := h.Summary()
	enc, err := h.Encode()
	if err != nil {
		return PhaseSummary{}, fmt.Errorf("reports: encode histogram: %w", err)
	}
	return PhaseSummary{IntervalPhase: figures(s), Clamped: s.Clamped, Hist: base64.StdEncoding.EncodeToString(enc)}, nil
}

// DecodeHist rebuilds a histogram from its base64 V2 form in results.json.
func DecodeHist(s string) (*histogram.Hist, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("reports: histogram is not base64: %w", err)
	}
	return histogram.Decode(b)
}

// WriteFile writes r as indented JSON to path atomically: a reader sees the
// old file or the new one, never half of one. It streams: the arms'
// intervals, which are most of a long run's file and may wait in a Spill, are
// encoded one at a time, so writing costs memory for one interval, not for
// the whole document.
func WriteFile(path string, r *Results) error {
	return writeAtomic(path, func(w io.Writer) error { return EncodeJSON(w, r) })
}

// EncodeJSON writes r to w as json.MarshalIndent(r, "", "  ") would, and a
// newline, byte for byte, without holding the whole document in memory.
func EncodeJSON(w io.Writer, r *Results) error {
	// The skeleton is r without its arms' intervals: every arm then writes
	// `"intervals": null`, which nothing else in the document can contain
	// (a string's quotes are escaped), and the intervals go in its place.
	skel := *r
	skel.Arms = slices.Clone(r.Arms)
	for i := range skel.Arms {
		skel.Arms[i].Intervals = nil
	}
	b, err := json.MarshalIndent(&skel, "", "  ")
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	hole := []byte(`"intervals": null`)
	if bytes.Count(b, hole) != len(r.Arms) {
		// Cannot happen with today's schema; never write a wrong file.
		if b, err = json.MarshalIndent(r, "", "  "); err != nil {
			return fmt.Errorf("reports: %w", err)
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	for i := range r.Arms {
		j := bytes.Index(b, hole)
		indent := string(b[bytes.LastIndexByte(b[:j], '\n')+1 : j])
		if _, err := w.Write(b[:j+len(hole)-len("null")]); err != nil {
			return err
		}
		if err := encodeIntervals(w, r.Arms[i].Intervals, indent); err != nil {
			return err
		}
		b = b[j+len(hole):]
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// encodeIntervals writes ivs as MarshalIndent would inside an object whose
// keys sit at indent.
func encodeIntervals(w io.Writer, ivs []Interval, indent string) error {
	if ivs == nil {
		_, err := io.WriteString(w, "null")
		return err
	}
	if len(ivs) == 0 {
		_, err := io.WriteString(w, "[]")
		return err
	}
	in := indent + "  "
	if _, err := io.WriteString(w, "[\n"+in); err != nil {
		return err
	}
	for k := range ivs {
		b, err := json.MarshalIndent(ivs[k], in, "  ")
		if err != nil {
			return fmt.Errorf("reports: %w", err)
		}
		if k < len(ivs)-1 {
			b = append(b, ",\n"+in...)
		} else {
			b = append(b, "\n"+indent+"]"...)
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// writeAtomic writes what fill writes to path atomically, through a buffer:
// a reader sees the old file or the new one, never half of one, and nothing
// is left behind when fill or a write fails.
func writeAtomic(path string, fill func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	defer os.Remove(f.Name())
	// CreateTemp makes 0600 files; reports are meant to be shared.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("reports: %w", err)
	}
	fw := &errWriter{w: f}
	bw := bufio.NewWriterSize(fw, 64<<10)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if fw.err != nil { // the file's own error says more than the renderer's
		err = fmt.Errorf("reports: write %s: %w", path, fw.err)
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("reports: write %s: %w", path, cerr)
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	return nil
}

// ReadFile reads a results.json and checks its schema.
func ReadFile(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("reports: %s is not a results file: %w", path, err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("reports: %s has schema %q, want %q", path, r.Schema, Schema)
	}
	return &r, nil
}
