package cli

import (
	"context"
	"fmt"
	"io"
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
