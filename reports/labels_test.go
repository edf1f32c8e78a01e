package reports

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tailrace/tailrace/histogram"
)

// labeledInterval records n requests split over two labels with known
// ttfbs: 3 of every 4 "list" at 5ms, the others "create" at 20ms.
func labeledInterval(index int, start time.Time, n int) *histogram.Interval {
	iv := histogram.NewInterval(4)
	iv.Index, iv.Start, iv.Length = index, start, time.Second
	for i := range n {
		name, ttfb := "list", 5*time.Millisecond
		if i%4 == 3 {
			name, ttfb = "create", 20*time.Millisecond
		}
		var s histogram.Sample
		s.Set(histogram.TTFB, ttfb)
		s.Set(histogram.Total, ttfb+time.Millisecond)
		s.Status, s.Label = 200, name
		cn := histogram.Counters{Intended: 1, Sent: 1, Completed: 1}
		if i%40 == 39 {
			s.Status, s.Error, cn.Errors = 503, "status_5xx", 1
		}
		for _, dst := range []*histogram.Interval{iv, iv.Label(name)} {
			rec := histogram.NewRecorder(1, 0)
			rec.Shard(0).Record(&s, &cn)
			dst.Merge(rec.Rotate(index, start, time.Second))
		}
	}
	return iv
}

func TestArmLabels(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	b := NewArmBuilder("keepalive", start, 4)
	for i := range 3 {
		if err := b.Add(labeledInterval(i, start.Add(time.Duration(i)*time.Second), 400), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	a, err := b.Arm()
	if err != nil {
		t.Fatal(err)
	}
	list, create := a.Labels["list"], a.Labels["create"]
	if list.Counters.Intended != 900 || create.Counters.Intended != 300 {
		t.Fatalf("intended %d and %d, want 900 and 300", list.Counters.Intended, create.Counters.Intended)
	}
	if got := list.Phases["ttfb"].P50US; got < 4995 || got > 5005 {
		t.Errorf("list ttfb p50 %dµs, want 5000", got)
	}
	if got := create.Phases["ttfb"].P50US; got < 19980 || got > 20020 {
		t.Errorf("create ttfb p50 %dµs, want 20000", got)
	}
	if create.Errors["status_5xx"] != 30 || list.Errors["status_5xx"] != 0 || create.Statuses["5xx"] != 30 {
		t.Errorf("errors list %v create %v, statuses %v", list.Errors, create.Errors, create.Statuses)
	}
	r := &Results{Schema: Schema, Plan: Plan{Method: "GET", Requests: []PlanRequest{
		{Label: "list", Method: "GET", URL: "http://127.0.0.1/items", Weight: 3, Share: 0.75},
		{Label: "create", Method: "POST", URL: "http://127.0.0.1/items", Weight: 1, Share: 0.25},
	}}, Arms: []Arm{a}}
	var out bytes.Buffer
	if err := Text(&out, r); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"mix of 2 requests: list 75.0% (GET /items), create 25.0% (POST /items)",
		"per label:",
		"list    900  75.0%       0     6.00ms     6.00ms    5.00ms    5.00ms",
		"create    300  25.0%      30    21.01ms    21.01ms   20.02ms   20.02ms",
		"create errors: status_5xx 30",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("summary lacks %q:\n%s", w, out.String())
		}
	}
	// Labels survive results.json.
	j, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Results
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	if back.Arms[0].Labels["create"].Phases["ttfb"].P50US != create.Phases["ttfb"].P50US {
		t.Error("labels changed through JSON")
	}
	var html bytes.Buffer
	if err := HTML(&html, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.String(), "Per label") || !strings.Contains(html.String(), `id="arm-keepalive-labels"`) {
		t.Error("the HTML report has no per-label table")
	}
}

func TestSearchText(t *testing.T) {
	s := &Search{SLOs: []string{"total.p99<50ms"}, FromRPS: 100, ToRPS: 1000, Factor: 2, StepS: 10, WarmupS: 1,
		Steps: []SearchStep{
			{RateRPS: 100, AchievedRPS: 100, TotalP50US: 2000, TotalP99US: 5000, Pass: true},
			{RateRPS: 400, AchievedRPS: 380, TotalP50US: 90000, TotalP99US: 800000, Failed: []string{"total.p99<50ms (800ms)"}},
			{RateRPS: 200, AchievedRPS: 199.5, TotalP50US: 3000, TotalP99US: 9000, Pass: true},
			{RateRPS: 282.8, AchievedRPS: 282, TotalP50US: 3000, TotalP99US: 30000, Pass: true, Refine: true},
		}, BestRPS: 282.8, FirstFailRPS: 400, Stopped: "an SLO failed at 400/s"}
	var b bytes.Buffer
	if err := SearchText(&b, s); err != nil {
		t.Fatal(err)
	}
	want := `capacity search: total.p99<50ms  (steps of 10s after 1s warm-up, x2 from 100/s to 1000/s)
   rate  achieved      p50       p99  errors                      verdict
  100/s     100/s   2.00ms    5.00ms   0.00%                         pass
  200/s     200/s   3.00ms    9.00ms   0.00%                         pass
  283/s     282/s   3.00ms   30.00ms   0.00%                         pass
  400/s     380/s  90.00ms  800.00ms   0.00%  FAIL total.p99<50ms (800ms)
highest rate meeting every SLO: 283/s (the knee is between it and 400/s, which failed)
stopped: an SLO failed at 400/s
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
