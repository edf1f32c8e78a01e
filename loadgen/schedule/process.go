package schedule

import (
	"fmt"
	"strings"
)

// Process is the arrival process that turns a rate into send times.
//
// The zero value is Constant. A Process marshals as text ("constant",
// "poisson"), so it works as a pflag.Value, in JSON and on the wire.
type Process uint8

const (
	// Constant sends the k-th arrival of the schedule exactly when the
	// cumulative expected count reaches k: no randomness at all.
	Constant Process = iota
	// Poisson draws exponential gaps (a non-homogeneous Poisson process
	// following the stages' rate), the arrival pattern of many independent
	// users.
	Poisson
)

// ParseProcess parses "constant" or "poisson" (case-insensitive).
func ParseProcess(s string) (Process, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "constant":
		return Constant, nil
	case "poisson":
		return Poisson, nil
	}
	return 0, fmt.Errorf("schedule: process %q is unknown (want constant or poisson)", s)
}

// String returns the name ParseProcess accepts, or "Process(N)" for an
// unknown value.
func (p Process) String() string {
	switch p {
	case Constant:
		return "constant"
	case Poisson:
		return "poisson"
	}
	return fmt.Sprintf("Process(%d)", uint8(p))
}

func (p Process) valid() error {
	if p > Poisson {
		return fmt.Errorf("schedule: process %d is unknown (want constant or poisson)", uint8(p))
	}
	return nil
}

// MarshalText implements encoding.TextMarshaler; an unknown value is an error.
func (p Process) MarshalText() ([]byte, error) {
	if err := p.valid(); err != nil {
		return nil, err
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Process) UnmarshalText(b []byte) error {
	v, err := ParseProcess(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Set implements pflag.Value.
func (p *Process) Set(s string) error { return p.UnmarshalText([]byte(s)) }

// Type implements pflag.Value.
func (p *Process) Type() string { return "process" }
