package cluster

import (
	"fmt"
	"io"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/reports"
)

// progress prints one line per merged interval: on a terminal a single
// updating line, otherwise plain lines a log can keep.
type progress struct {
	w     io.Writer
	tty   bool
	mode  string
	total time.Duration
	wrote bool
	// workers in the arm, and how many of them were lost: shown when there
	// is more than one, so a distributed run's progress says who is left.
	workers, lost int
}

func (p *progress) interval(iv *histogram.Interval) {
	if p.w == nil {
		return
	}
	secs := iv.Length.Seconds()
	c := iv.Counters
	if secs <= 0 || c.Intended == 0 && c.Sent == 0 && c.Completed == 0 && c.Errors == 0 {
		return // the empty tail of a drain: nothing to say
	}
	tot := iv.Hists[histogram.Total]
	line := fmt.Sprintf("[%5.1fs/%.0fs] %-9s intended %6.0f/s  achieved %6.0f/s  p50 %8s  p99 %8s  errors %d  dropped %d  in-flight %d",
		(time.Duration(iv.Index)*time.Second + iv.Length).Seconds(), p.total.Seconds(), p.mode,
		float64(c.Intended)/secs, float64(c.Completed)/secs,
		reports.US(tot.Quantile(0.5).Microseconds()), reports.US(tot.Quantile(0.99).Microseconds()),
		c.Errors, c.Dropped, iv.Self.MaxInFlight)
	if p.workers > 1 || p.lost > 0 {
		line += fmt.Sprintf("  workers %d/%d", p.workers-p.lost, p.workers)
		if p.lost > 0 {
			line += fmt.Sprintf(" (%d lost)", p.lost)
		}
	}
	if iv.Self.Degraded {
		line += "  DEGRADED"
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
	p.wrote = true
}

func (p *progress) done() {
	if p.w != nil && p.tty && p.wrote {
		fmt.Fprintln(p.w)
	}
}

// note prints a one-off line (a worker lost, say) without breaking the
// updating line on a terminal.
func (p *progress) note(msg string) {
	if p.w == nil {
		return
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s\n", msg)
		return
	}
	fmt.Fprintln(p.w, msg)
}
