package cli

import (
	"errors"
	"fmt"

	"github.com/tailrace/tailrace/cluster"
)

// Exit codes (DESIGN.md §8).
const (
	ExitOK         = 0
	ExitSLO        = 1 // an --slo was violated
	ExitUsage      = 2 // bad usage or input
	ExitIncomplete = 3 // worker lost, aborted, interrupted
)

// ErrSLO is returned when an --slo was violated (exit code 1). A run that
// is also incomplete exits 3: that it did not run its whole plan matters
// more than what the part it ran measured.
var ErrSLO = errors.New("an SLO was violated")

// usageError is bad input from the user: exit code 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// ExitCode maps an error from a subcommand to the process exit code.
func ExitCode(err error) int {
	var u usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &u):
		return ExitUsage
	case errors.Is(err, cluster.ErrIncomplete):
		return ExitIncomplete
	case errors.Is(err, ErrSLO):
		return ExitSLO
	}
	return ExitIncomplete
}
