package schedule

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPlanJSON(t *testing.T) {
	const text = `{"stages":"30s:0->2000,2m:2000","process":"poisson","seed":1}`
	var p Plan
	if err := json.Unmarshal([]byte(text), &p); err != nil {
		t.Fatal(err)
	}
	want := Plan{Stages: Stages{{30 * time.Second, 0, 2000}, {2 * time.Minute, 2000, 2000}}, Process: Poisson, Seed: 1}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("decoded %+v, want %+v", p, want)
	}
	// encoding/json escapes ">" as \u003e by default; writers of plan
	// files for people turn that off.
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil || strings.TrimSpace(buf.String()) != text {
		t.Fatalf("encoded %s, %v; want %s", buf.String(), err, text)
	}
	b, _ := json.Marshal(p)
	var back Plan
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, p) {
		t.Fatalf("json.Marshal round trip via %s = %+v, %v", b, back, err)
	}
	if d := p.Duration(); d != 150*time.Second {
		t.Errorf("Duration = %v", d)
	}
	// 30 s ramp to 2000/s (30000) plus 2 minutes at 2000/s (240000).
	if e := p.Expected(Full); e != 270000 {
		t.Errorf("Expected(Full) = %v", e)
	}
	if e := p.Expected(Segment{0, 1, 3}); math.Abs(e-90000) > 1e-6 {
		t.Errorf("Expected(1/3) = %v", e)
	}
}

func TestPlanJSONErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{`{"stages":"2m:abc"}`, `rate "abc" is not a number`},                 // a bad stage
		{`{"stages":"1s:1","process":"burst"}`, `process "burst" is unknown`}, // a bad process
		{`{"stages":""}`, "no stages"},                                        // empty stages
	}
	for _, tt := range tests {
		var p Plan
		if err := json.Unmarshal([]byte(tt.in), &p); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Unmarshal(%s) = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestPlanValidate(t *testing.T) {
	tests := []struct {
		plan Plan
		want string // "" for valid
	}{
		{Plan{Stages: Steady(100, time.Second)}, ""},                             // constant, seed 0
		{Plan{Stages: Steady(100, time.Second), Process: Poisson, Seed: -3}, ""}, // poisson, negative seed
		{Plan{}, "no stages"}, // the zero plan
		{Plan{Stages: Steady(100, time.Second), Process: 2}, "process 2 is unknown"},  // an unknown process
		{Plan{Stages: Stages{{0, 1, 1}}}, "stage 1 (0s:1): duration is not positive"}, // zero duration
		{Plan{Stages: Stages{{time.Second, 1, 1}, {time.Second, -1, 2}}}, "stage 2 "}, // a negative rate
		{Plan{Stages: Stages{{time.Second, math.NaN(), 1}}}, "not a finite"},          // NaN
		{Plan{Stages: Stages{{time.Second, 1, math.Inf(1)}}}, "not a finite"},         // infinity
		{Plan{Stages: Steady(0, time.Hour)}, "every rate is zero"},                    // nothing to send
		{Plan{Stages: Stages{{math.MaxInt64, 1, 1}, {1, 1, 1}}}, "last longer than"},  // overflowing duration
	}
	for _, tt := range tests {
		err := tt.plan.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Validate(%+v) = %v", tt.plan, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("Validate(%+v) = %v, want %q", tt.plan, err, tt.want)
		}
	}
}
