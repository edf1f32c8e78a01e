package histogram

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func ex(total time.Duration, conn uint64) *Exemplar {
	e := &Exemplar{ConnID: conn, Intended: time.Unix(1700000000, 0).UTC()}
	e.Phases[Total] = total
	return e
}

func totals(es []Exemplar) []time.Duration {
	out := make([]time.Duration, len(es))
	for i, e := range es {
		out[i] = e.Phases[Total]
	}
	return out
}

func TestTopKKeepsSlowest(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, tc := range []struct {
		k, n int
	}{
		{16, 1000}, // the usual
		{16, 5},    // fewer offers than K
		{1, 100},   // keep only the slowest
		{0, 10},    // keep none
	} {
		tk := NewTopK(tc.k)
		var all []time.Duration
		for i := range tc.n {
			d := time.Duration(r.IntN(1_000_000)) * time.Microsecond
			all = append(all, d)
			tk.Offer(ex(d, uint64(i)))
		}
		slices.SortFunc(all, func(a, b time.Duration) int { return int(b - a) })
		want := all[:min(tc.k, tc.n)]
		if got := totals(tk.Slowest()); !slices.Equal(got, want) {
			t.Errorf("k=%d n=%d: Slowest = %v, want %v", tc.k, tc.n, got, want)
		}
	}
	var zero TopK
	zero.Offer(ex(time.Second, 1))
	if zero.Len() != 0 || zero.K() != 0 {
		t.Error("the zero TopK kept an exemplar")
	}
}

func TestTopKMergeAndTies(t *testing.T) {
	a, b, all := NewTopK(4), NewTopK(4), NewTopK(4)
	for i := range 40 {
		e := ex(time.Duration(i%7)*time.Millisecond, uint64(i)) // many ties
		if i%3 == 0 {
			a.Offer(e)
		} else {
			b.Offer(e)
		}
		all.Offer(e)
	}
	a.Merge(&b)
	got, want := a.Slowest(), all.Slowest()
	if !slices.EqualFunc(got, want, func(x, y Exemplar) bool { return x.ConnID == y.ConnID }) {
		t.Errorf("merged %v, want %v: ties must resolve the same in any order", got, want)
	}
	a.Reset()
	if a.Len() != 0 || a.K() != 4 {
		t.Error("Reset should empty and keep K")
	}
}

func TestExemplarJSON(t *testing.T) {
	e := Exemplar{
		Intended: time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC),
		Status:   503, Error: "status_5xx", ConnID: 7, NewConn: true, Resumed: true,
		Worker: "w1", Label: "home",
	}
	e.Phases[TTFB] = 1500 * time.Microsecond
	e.Phases[Total] = 2 * time.Millisecond
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"phases_us":{`, `"ttfb":1500`, `"total":2000`, `"dns":0`, `"status":503`,
		`"error":"status_5xx"`, `"conn_id":7`, `"new_conn":true`, `"resumed":true`, `"worker":"w1"`, `"label":"home"`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	var back Exemplar
	if err := json.Unmarshal(b, &back); err != nil || back != e {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	// A newer writer's unknown phase is ignored, not an error.
	if err := json.Unmarshal([]byte(`{"phases_us":{"total":5,"quic":3}}`), &back); err != nil || back.Phases[Total] != 5*time.Microsecond {
		t.Errorf("unknown phase: %+v, %v", back, err)
	}
}
