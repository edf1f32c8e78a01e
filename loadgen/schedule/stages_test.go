package schedule

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// flagValue is pflag.Value, restated so the test needs no pflag import.
type flagValue interface {
	String() string
	Set(string) error
	Type() string
}

var (
	_ flagValue = (*Stages)(nil)
	_ flagValue = (*Process)(nil)
	_ flagValue = (*Segment)(nil)
)

func TestParseStages(t *testing.T) {
	tests := []struct {
		in   string
		want Stages
		str  string // String() of the result
	}{
		// The documented example: a ramp then a hold.
		{"30s:0->2000,2m:2000", Stages{{30 * time.Second, 0, 2000}, {2 * time.Minute, 2000, 2000}}, "30s:0->2000,2m:2000"},
		// A single steady stage.
		{"10s:100", Stages{{10 * time.Second, 100, 100}}, "10s:100"},
		// Spaces around items and parts are tolerated; String drops them.
		{" 1m : 5 -> 10 , 1h:0.5 ", Stages{{time.Minute, 5, 10}, {time.Hour, 0.5, 0.5}}, "1m:5->10,1h:0.5"},
		// A pause in the middle, and a ramp whose ends are equal is steady.
		{"1s:10,1s:0,1s:7->7", Stages{{time.Second, 10, 10}, {time.Second, 0, 0}, {time.Second, 7, 7}}, "1s:10,1s:0,1s:7"},
		// Ramp down; compound durations print in canonical short form.
		{"1h30m:2000->0,90s:1", Stages{{90 * time.Minute, 2000, 0}, {90 * time.Second, 1, 1}}, "1h30m:2000->0,1m30s:1"},
		// Sub-second durations and exponents.
		{"250ms:1e3", Stages{{250 * time.Millisecond, 1000, 1000}}, "250ms:1000"},
		// Negative zero is zero.
		{"1s:-0->5", Stages{{time.Second, 0, 5}}, "1s:0->5"},
	}
	for _, tt := range tests {
		got, err := ParseStages(tt.in)
		if err != nil {
			t.Errorf("ParseStages(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseStages(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.str {
			t.Errorf("ParseStages(%q).String() = %q, want %q", tt.in, s, tt.str)
		}
	}
}

func TestParseStagesErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string // substring of the error
	}{
		// The contract's example message, verbatim.
		{"30s:0->2000,2m:abc", `schedule: stage "2m:abc": rate "abc" is not a number (want DURATION:RATE or DURATION:FROM->TO, e.g. 30s:0->2000,2m:2000)`},
		// Nothing at all.
		{"", "schedule: no stages (want"},
		// Only blanks.
		{"   ", "no stages"},
		// An empty item between commas.
		{"1s:1,,2s:2", `stage "": is empty`},
		// A trailing comma.
		{"1s:1,", `stage "": is empty`},
		// No colon.
		{"30s", `stage "30s": has no ":"`},
		// A bad duration.
		{"30x:1", `duration "30x" is not a duration`},
		// A bare number is not a duration.
		{"30:1", `duration "30" is not a duration`},
		// Zero duration.
		{"0s:1", `duration "0s" is not positive`},
		// Negative duration.
		{"-1s:1", `duration "-1s" is not positive`},
		// A negative rate.
		{"1s:-5", `rate "-5" is negative`},
		// A negative ramp end.
		{"1s:5->-1", `rate "-1" is negative`},
		// Infinity is not a rate.
		{"1s:inf", `rate "inf" is not finite`},
		// NaN is not a rate.
		{"1s:NaN", `rate "NaN" is not finite`},
		// Out of float64 range.
		{"1s:1e999", `rate "1e999" is not finite`},
		// An empty ramp start.
		{"1s:->5", `rate "" is not a number`},
		// Two arrows.
		{"1s:1->2->3", `rate "2->3" is not a number`},
		// Every rate zero: nothing would ever be sent.
		{"1s:0,2s:0->0", `every rate is zero`},
		// So many arrivals that indices stop being exact.
		{"1000000h:1e12", "more than 2^53"},
		// Durations that overflow time.Duration together.
		{"2000000h:1,2000000h:1,2000000h:1", "last longer than"},
	}
	for _, tt := range tests {
		_, err := ParseStages(tt.in)
		if err == nil {
			t.Errorf("ParseStages(%q): no error, want %q", tt.in, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseStages(%q) = %q, want it to contain %q", tt.in, err, tt.want)
		}
		if !strings.HasPrefix(err.Error(), "schedule: ") {
			t.Errorf("ParseStages(%q) = %q, want the package prefix", tt.in, err)
		}
	}
}

func TestStagesFlagAndText(t *testing.T) {
	var s Stages
	if err := s.Set("30s:0->2000,2m:2000"); err != nil {
		t.Fatal(err)
	}
	if s.Type() != "stages" || s.String() != "30s:0->2000,2m:2000" {
		t.Errorf("Type, String = %q, %q", s.Type(), s.String())
	}
	if err := s.Set("bad"); err == nil || s.String() != "30s:0->2000,2m:2000" {
		t.Errorf("a failed Set must report and keep the value: err %v, value %q", err, s)
	}
	b, _ := s.MarshalText()
	var back Stages
	if err := back.UnmarshalText(b); err != nil || !reflect.DeepEqual(back, s) {
		t.Errorf("text round trip: %v, %v", back, err)
	}
}

func TestStagesRateAtAndExpected(t *testing.T) {
	s, err := ParseStages("10s:0->1000,5s:0,10s:500")
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Duration(); d != 25*time.Second {
		t.Errorf("Duration = %v", d)
	}
	rates := []struct {
		at   time.Duration
		want float64
	}{
		{-time.Second, 0},                // before the start
		{0, 0},                           // the ramp starts at 0
		{5 * time.Second, 500},           // half way up the ramp
		{10 * time.Second, 0},            // a boundary belongs to the later stage: the pause
		{12 * time.Second, 0},            // inside the pause
		{15 * time.Second, 500},          // the hold starts
		{25 * time.Second, 0},            // the end is exclusive
		{100 * time.Second, 0},           // long after the end
		{9999 * time.Millisecond, 999.9}, // just before the ramp's top
	}
	for _, tt := range rates {
		if got := s.RateAt(tt.at); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("RateAt(%v) = %v, want %v", tt.at, got, tt.want)
		}
	}
	windows := []struct {
		from, to time.Duration
		want     float64
	}{
		{0, 25 * time.Second, 5000 + 5000},        // everything: ramp 5000, hold 5000
		{0, 5 * time.Second, 1250},                // first half of the ramp: a quarter of it
		{5 * time.Second, 10 * time.Second, 3750}, // second half of the ramp
		{10 * time.Second, 15 * time.Second, 0},   // the pause
		{-5 * time.Second, 2 * time.Second, 200},  // clamped at the start
		{20 * time.Second, time.Hour, 2500},       // clamped at the end
		{7 * time.Second, 3 * time.Second, 0},     // an empty window
		{12 * time.Second, 16 * time.Second, 500}, // pause then one second of hold
	}
	for _, tt := range windows {
		if got := s.Expected(tt.from, tt.to); math.Abs(got-tt.want) > 1e-6 {
			t.Errorf("Expected(%v, %v) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func FuzzParseStages(f *testing.F) {
	for _, s := range []string{
		"30s:0->2000,2m:2000", "1s:1", "1h30m:0.5->1e3", "1s:0,1s:1", "100ms:1e-300",
		"1s:-0", "2m:abc", "", ",", "1s:1->", "1.5s:0x1p4", "9223372036854775807ns:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseStages(in)
		if err != nil {
			return
		}
		out := s.String()
		back, err := ParseStages(out)
		if err != nil {
			t.Fatalf("ParseStages(%q) ok, but its String %q does not re-parse: %v", in, out, err)
		}
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip of %q via %q: %v != %v", in, out, back, s)
		}
		if err := (Plan{Stages: s}).Validate(); err != nil {
			t.Fatalf("ParseStages(%q) accepted what Validate rejects: %v", in, err)
		}
	})
}
