package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs one subcommand and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: benchsum exec OUT -- CMD [ARGS...] | benchsum table DIR")
		return 2
	}
	switch args[0] {
	case "exec":
		if len(args) < 4 || args[2] != "--" {
			fmt.Fprintln(stderr, "usage: benchsum exec OUT -- CMD [ARGS...]")
			return 2
		}
		if err := run(args[1], args[3], args[4:]); err != nil {
			fmt.Fprintln(stderr, "benchsum:", err)
			return 1
		}
		return 0
	case "table":
		if len(args) != 2 {
			fmt.Fprintln(stderr, "usage: benchsum table DIR")
			return 2
		}
		if err := table(stdout, args[1]); err != nil {
			fmt.Fprintln(stderr, "benchsum:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "benchsum: unknown subcommand %q (want exec or table)\n", args[0])
	return 2
}

// run executes the command with its output in out and writes out.meta with
// the CPU time and peak RSS the kernel accounted to it. A tool that fails
// is recorded (exit=N), not fatal: the table shows the cell as unreadable.
func run(out, name string, args []string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		return err
	}
	var cpu time.Duration
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		rss = ru.Maxrss // KiB on Linux
	}
	meta := fmt.Sprintf("cpu_s=%.3f\nmaxrss_kb=%d\nwall_s=%.3f\nexit=%d\n", cpu.Seconds(), rss, wall.Seconds(), code)
	return os.WriteFile(out+".meta", []byte(meta), 0o644)
}
