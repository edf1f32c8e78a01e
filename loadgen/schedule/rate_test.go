package schedule

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want float64 // per second; 0 means an error is expected
	}{
		{"2000", 2000},   // bare numbers are per second
		{"2000/s", 2000}, // explicit per second
		{"120/m", 2},     // per minute
		{"3600/h", 1},    // per hour
		{"0.5", 0.5},     // fractions are fine
		{" 60 / m ", 1},  // blanks are tolerated
		{"1e3/s", 1000},  // exponents
		{"0", 0},         // zero is not a rate
		{"-5", 0},        // negative
		{"abc", 0},       // not a number
		{"10/d", 0},      // unknown unit
		{"inf", 0},       // not finite
		{"NaN/s", 0},     // not a number at all
		{"", 0},          // empty
		{"4e-324/m", 0},  // underflows to zero per second
		{"100/", 0},      // a slash with no unit
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if tt.want == 0 {
			if err == nil {
				t.Errorf("ParseRate(%q) = %v, want an error", tt.in, got)
			} else if !strings.Contains(err.Error(), strconv.Quote(tt.in)) || !strings.Contains(err.Error(), "e.g. 2000/s") {
				t.Errorf("ParseRate(%q) error %q must name the value and the form", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"2000", "120/m", "1/h", "0", "-1", "x/s", "1e308/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ParseRate(in)
		if err != nil {
			return
		}
		if r <= 0 || math.IsInf(r, 0) || math.IsNaN(r) {
			t.Fatalf("ParseRate(%q) = %v", in, r)
		}
		// The per-second value, printed, parses back to itself.
		s := strconv.FormatFloat(r, 'g', -1, 64) + "/s"
		if back, err := ParseRate(s); err != nil || back != r {
			t.Fatalf("ParseRate(%q) = %v, %v after ParseRate(%q) = %v", s, back, err, in, r)
		}
	})
}
