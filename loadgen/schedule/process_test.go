package schedule

import (
	"strings"
	"testing"
)

func TestParseProcess(t *testing.T) {
	tests := []struct {
		in      string
		want    Process
		wantErr bool
	}{
		{"constant", Constant, false},   // the default process
		{"poisson", Poisson, false},     // the random one
		{"Poisson", Poisson, false},     // case does not matter
		{" constant ", Constant, false}, // nor surrounding blanks
		{"", 0, true},                   // empty is not a default
		{"uniform", 0, true},            // an unknown name
	}
	for _, tt := range tests {
		got, err := ParseProcess(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseProcess(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "want constant or poisson") {
			t.Errorf("ParseProcess(%q) error %q does not name the expected form", tt.in, err)
		}
	}
}

func TestProcessText(t *testing.T) {
	for _, p := range []Process{Constant, Poisson} {
		b, err := p.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Process
		if err := back.UnmarshalText(b); err != nil || back != p {
			t.Errorf("round trip of %v: %v, %v", p, back, err)
		}
		var f Process
		if err := f.Set(p.String()); err != nil || f != p || f.Type() != "process" {
			t.Errorf("Set(%q) = %v, %v", p, f, err)
		}
	}
	if _, err := Process(9).MarshalText(); err == nil {
		t.Error("an unknown process marshalled")
	}
	if s := Process(9).String(); s != "Process(9)" {
		t.Errorf("String of an unknown process = %q", s)
	}
}
