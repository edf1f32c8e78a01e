package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
)

// Coordinator dispatches the coordinator's subcommands and returns the exit code.
func Coordinator(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	usage := "usage: coordinator <command> [flags]\n\ncommands:\n  run      run a load test (coordinated across workers)\n  plan     show what a run would do (effective plan, split, mix, first arrivals), sending nothing\n  search   find the highest rate that meets SLOs (capacity search)\n  report   re-render a run's report or exports from its results.json\n  compare  set the arms of one or more runs side by side (compare.html)\n  version  print the version\n\nRun 'coordinator <command> --help' for the flags.\n"
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ExitUsage
	}
	var err error
	switch args[0] {
	case "run":
		err = Run(ctx, args[1:], stdout, stderr)
	case "plan":
		err = Plan(ctx, args[1:], stdout, stderr)
	case "search":
		err = Search(ctx, args[1:], stdout, stderr)
	case "report":
		err = Report(ctx, args[1:], stdout, stderr)
	case "compare":
		err = Compare(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "tailrace", version())
		return ExitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return ExitOK
	default:
		fmt.Fprintf(stderr, "coordinator: unknown command %q\n\n%s", args[0], usage)
		return ExitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "coordinator %s: %v\n", args[0], err)
	}
	return ExitCode(err)
}

// newFlags is a subcommand's flag set: its errors and usage go to stderr,
// its flags are listed in the order they are defined, and its usage is
// head followed by the flags.
func newFlags(name, head string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.Usage = func() { fmt.Fprint(stderr, head, fs.FlagUsages()) }
	return fs
}

// parse parses args into fs. help reports --help (the usage is printed: the
// command succeeds doing nothing); any other failure is a usage error.
func parse(fs *pflag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return true, nil
		}
		return false, usageError{err}
	}
	return false, nil
}

// Interruptible runs cmd with a context that the first SIGINT or SIGTERM
// cancels (the command stops and keeps what it measured); after it the
// default handling returns, so a second signal exits at once. It is the
// whole main of every command.
func Interruptible(cmd func(ctx context.Context) int) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	return cmd(ctx)
}
