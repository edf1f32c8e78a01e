package reports_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/reports"
)

// TestHLogRoundTrip writes every phase of every arm as an interval log,
// reads it back with hdrhistogram-go's own log reader, and checks that the
// merged intervals equal the arm's cumulative histogram, bucket for bucket,
// and that each interval sits at its time.
func TestHLogRoundTrip(t *testing.T) {
	r := small(t)
	for i := range r.Arms {
		a := &r.Arms[i]
		for _, p := range histogram.Phases() {
			sum := a.Phases[p.String()]
			if sum.Count == 0 {
				continue
			}
			var buf bytes.Buffer
			if err := reports.HLog(&buf, a, p); err != nil {
				t.Fatal(err)
			}
			rd := hdrhistogram.NewHistogramLogReader(&buf)
			merged := histogram.New()
			n := 0
			for {
				h, err := rd.NextIntervalHistogram()
				if err != nil && !errors.Is(err, io.EOF) {
					t.Fatalf("%s %s: interval %d: %v", a.Mode, p, n, err)
				}
				if h == nil {
					break
				}
				iv := a.Intervals[n]
				wantStart := a.StartedAt.Add(time.Duration(iv.StartS * float64(time.Second))).Truncate(time.Millisecond)
				if got := time.UnixMilli(h.StartTimeMs()); !got.Equal(wantStart) {
					t.Errorf("%s %s interval %d starts at %v, want %v", a.Mode, p, n, got, wantStart)
				}
				merged.Merge(histogram.FromHDR(h))
				n++
			}
			if n != len(a.Intervals) {
				t.Errorf("%s %s: read %d intervals, want %d", a.Mode, p, n, len(a.Intervals))
			}
			want, err := reports.DecodeHist(sum.Hist)
			if err != nil {
				t.Fatal(err)
			}
			if !merged.Equal(want) {
				t.Errorf("%s %s: merged log has %d values, max %v; the arm has %d, max %v", a.Mode, p,
					merged.Count(), merged.Max(), want.Count(), want.Max())
			}
		}
	}
}

// TestHLogLineIsTheLibrarys checks that an interval line written from
// results.json is the line hdrhistogram-go's own writer writes for the
// same histogram, but for the compression of the payload.
func TestHLogLineIsTheLibrarys(t *testing.T) {
	r := small(t)
	a := &r.Arms[1]
	var ours bytes.Buffer
	if err := reports.HLog(&ours, a, histogram.TTFB); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(ours.String()), "\n")
	iv := a.Intervals[2]
	got := lines[len(lines)-len(a.Intervals)+2]

	h, err := reports.DecodeHist(iv.Hists["ttfb"])
	if err != nil {
		t.Fatal(err)
	}
	hh := h.HDR()
	from := a.StartedAt.UnixMilli() + int64(iv.StartS*1000+0.5)
	hh.SetStartTimeMs(from)
	hh.SetEndTimeMs(from + int64(iv.LengthS*1000+0.5))
	var lib bytes.Buffer
	lw := hdrhistogram.NewHistogramLogWriter(&lib)
	lw.SetBaseTime(a.StartedAt.UnixMilli() - a.StartedAt.UnixMilli()%1000)
	if err := lw.OutputIntervalHistogram(hh); err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(lib.String())
	gi, wi := strings.LastIndex(got, ","), strings.LastIndex(want, ",")
	if got[:gi] != want[:wi] {
		t.Errorf("line %q, the library writes %q", got[:gi], want[:wi])
	}
	for _, payload := range []string{got[gi+1:], want[wi+1:]} {
		d, err := hdrhistogram.Decode([]byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		if !histogram.FromHDR(d).Equal(h) {
			t.Errorf("payload %.30s... does not decode to the interval's histogram", payload)
		}
	}
}
