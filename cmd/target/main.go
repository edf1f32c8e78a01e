// Command target runs tailrace's calibration target: an HTTP server whose
// every phase can be slowed on purpose (see package target). It prints its
// URL on stdout and serves until interrupted.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/tailrace/tailrace/internal/cli"
	"github.com/tailrace/tailrace/target"
)

func main() {
	os.Exit(cli.Interruptible(func(ctx context.Context) int { return Main(ctx, os.Args[1:], os.Stdout, os.Stderr) }))
}

// flagOf names the flag behind each Config field a ConfigError can blame.
var flagOf = map[string]string{"Addr": "listen", "TLSDelay": "tls-delay",
	"StallEvery": "stall-every", "StallFor": "stall-for", "MaxConcurrent": "max-concurrent"}

// Main runs the command until ctx is done and returns its exit code: 0, 1
// for a failure to serve, 2 for bad usage.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg target.Config
	fs := pflag.NewFlagSet("target", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "listen", "127.0.0.1:8080", "address to listen on, host:port (port 0 picks a free one)")
	fs.BoolVar(&cfg.TLS, "tls", false, "serve HTTPS (h2 and http/1.1) with a self-signed certificate")
	fs.DurationVar(&cfg.TLSDelay, "tls-delay", 0, "delay every TLS handshake, full or resumed, by this much (needs --tls)")
	fs.DurationVar(&cfg.StallEvery, "stall-every", 0, "pause the whole server once every this long (with --stall-for)")
	fs.DurationVar(&cfg.StallFor, "stall-for", 0, "length of each pause, shorter than --stall-every")
	fs.IntVar(&cfg.MaxConcurrent, "max-concurrent", 0, "serve at most N requests at once, queueing the rest in order (0 = no limit)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "target: %v (see --help)\n", err) // pflag's error names the flag
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "target: unexpected argument %q: all settings are flags\n", fs.Arg(0))
		return 2
	}
	cfg.Log = stderr
	err := target.Run(ctx, cfg, stdout)
	if ce := (*target.ConfigError)(nil); errors.As(err, &ce) {
		fmt.Fprintf(stderr, "target: invalid --%s: %s\n", flagOf[ce.Field], ce.Reason)
		return 2
	} else if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
