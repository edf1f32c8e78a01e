// Command worker generates load for a tailrace coordinator: it joins one
// (coordinator run --workers N), checks each plan against its own caps,
// generates its share of the schedule and streams what it measured.
//
//	worker --join coordinator.example:7070 --token "$TAILRACE_TOKEN" --allow-target 10.0.0.0/8
//
// When the coordinator is gone it stops within --orphan-timeout: no
// orphaned load, ever.
package main

import (
	"context"
	"os"

	"github.com/tailrace/tailrace/internal/cli"
)

func main() { os.Exit(Main(os.Args[1:])) }

// Main runs the worker with args and returns the exit code. The first
// SIGINT/SIGTERM stops the load and reports what was measured; a second
// one exits at once.
func Main(args []string) int {
	return cli.Interruptible(func(ctx context.Context) int { return cli.Worker(ctx, args, os.Stdout, os.Stderr) })
}
