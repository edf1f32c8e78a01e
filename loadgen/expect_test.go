package loadgen

import "testing"

func TestParseStatusSet(t *testing.T) {
	tests := []struct {
		in, canon string
		yes, no   []int
	}{
		// The example.
		{"2xx,304", "2xx,304", []int{200, 250, 299, 304}, []int{199, 300, 303, 404, 500}},
		// Spaces and case are forgiven.
		{" 2XX , 404 ", "2xx,404", []int{204, 404}, []int{400}},
		// A range within a class.
		{"200-204", "200-204", []int{200, 204}, []int{205}},
		// A range across classes is split at the class boundary.
		{"250-310", "250-299,300-310", []int{250, 300, 310}, []int{249, 311}},
		// A range that covers a whole class shows as the class.
		{"100-299", "1xx,2xx", []int{100, 299}, []int{300}},
		// Repeats are harmless.
		{"200,200,2xx", "2xx", []int{200}, []int{300}},
	}
	for _, tt := range tests {
		s, err := ParseStatusSet(tt.in)
		if err != nil {
			t.Fatalf("%q: %v", tt.in, err)
		}
		if got := s.String(); got != tt.canon {
			t.Errorf("%q: String %q, want %q", tt.in, got, tt.canon)
		}
		for _, c := range tt.yes {
			if !s.Contains(c) {
				t.Errorf("%q does not contain %d", tt.in, c)
			}
		}
		for _, c := range tt.no {
			if s.Contains(c) {
				t.Errorf("%q contains %d", tt.in, c)
			}
		}
	}
}

func TestParseStatusSetErrors(t *testing.T) {
	for _, in := range []string{
		"",        // nothing
		"abc",     // not a status
		"6xx",     // no such class
		"99",      // below 100
		"600",     // above 599
		"300-200", // backwards
		"2xx,",    // empty item
		"0200",    // four digits
		"+200",    // a sign
	} {
		if s, err := ParseStatusSet(in); err == nil {
			t.Errorf("%q: parsed as %q", in, s)
		}
	}
}

func TestStatusError(t *testing.T) {
	var none StatusSet
	only201, _ := ParseStatusSet("201,503")
	tests := []struct {
		code   int
		expect *StatusSet
		want   string
	}{
		{200, &none, ""},              // default: below 400 is fine
		{404, &none, "status_4xx"},    // default: 4xx is an error
		{201, &only201, ""},           // expected
		{200, &only201, "status_2xx"}, // not expected, by class
		{503, &only201, ""},           // an expected 5xx is a success
		{0, &only201, "status_other"}, // no status at all
	}
	for _, tt := range tests {
		if got := statusError(tt.code, tt.expect); got != tt.want {
			t.Errorf("statusError(%d, %v) = %q, want %q", tt.code, tt.expect, got, tt.want)
		}
	}
}

func FuzzParseStatusSet(f *testing.F) {
	for _, s := range []string{"2xx,304", "200-204", "250-310", "1xx,2xx,3xx,4xx,5xx", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseStatusSet(in)
		if err != nil {
			return
		}
		canon := s.String()
		again, err := ParseStatusSet(canon)
		if err != nil {
			t.Fatalf("%q: canonical form %q does not parse: %v", in, canon, err)
		}
		if again != s {
			t.Fatalf("%q: canonical form %q parses to a different set", in, canon)
		}
	})
}
