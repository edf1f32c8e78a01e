// Command coordinator runs tailrace load tests: it splits one open-loop
// schedule across workers, merges their histograms and writes the results.
//
//	coordinator run --rate 1000 --duration 30s https://host/path
package main

import (
	"context"
	"os"

	"github.com/tailrace/tailrace/internal/cli"
)

func main() { os.Exit(Main(os.Args[1:])) }

// Main runs the coordinator with args and returns the exit code. The first
// SIGINT/SIGTERM stops the run gracefully (results so far are kept); a
// second one exits at once.
func Main(args []string) int {
	return cli.Interruptible(func(ctx context.Context) int { return cli.Coordinator(ctx, args, os.Stdout, os.Stderr) })
}
