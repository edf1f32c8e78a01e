package cluster

import (
	"context"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/schedule"
)

// Worker is one load generator as the coordinator sees it. In-process workers
// (NewLocal) and remote workers over gRPC (Server.Await) both implement it,
// so a single-host run is the same flow as a distributed one.
type Worker interface {
	Name() string
	Local() bool
	// Run generates the assignment's load from a.T0 and calls emit once per
	// interval, in order, from one goroutine. It returns when the worker has
	// finished, after its last interval; an error wrapping ErrWorkerLost
	// says the worker is gone and sent all it ever will.
	Run(ctx context.Context, a Assignment, emit func(*histogram.Interval)) error
}

// Assignment is one worker's part of one arm.
type Assignment struct {
	Engine  loadgen.Config
	Plan    schedule.Plan
	Segment schedule.Segment
	T0      time.Time
	Arm     int // the arm's position in the run, from 0
}

// LocalWorker runs an engine in this process. The zero value is not usable;
// use NewLocal.
type LocalWorker struct {
	name      string
	selfMeter bool
}

// NewLocal returns an in-process worker. Only one worker of a process should
// meter the process itself (hiccups, GC, CPU), or merged figures double count.
func NewLocal(name string, selfMeter bool) *LocalWorker {
	return &LocalWorker{name: name, selfMeter: selfMeter}
}

// Name returns the worker's name.
func (w *LocalWorker) Name() string { return w.name }

// Local reports true.
func (w *LocalWorker) Local() bool { return true }

// prepare implements preparer: an in-process worker accepts every
// assignment, and says when its responses are not stamped by the kernel.
func (w *LocalWorker) prepare(context.Context, Assignment) ([]string, error) {
	return stampNotes(), nil
}

// kernelStamps is loadgen.KernelStamps, a variable for tests.
var kernelStamps = loadgen.KernelStamps

// stampNotes is what a worker says of its stamps: nothing when the kernel
// stamps its responses on arrival.
func stampNotes() []string {
	if kernelStamps() {
		return nil
	}
	return []string{"its responses are stamped where its reads return, not by the kernel on arrival (SO_TIMESTAMPNS is unavailable on its host): its ttfb and download include its own wake-up latency, tens of µs on a busy host"}
}

// Run implements Worker.
func (w *LocalWorker) Run(ctx context.Context, a Assignment, emit func(*histogram.Interval)) error {
	cfg := a.Engine
	cfg.SelfMeter = w.selfMeter
	e, err := loadgen.New(cfg)
	if err != nil {
		return err
	}
	return e.Run(ctx, a.Plan, a.Segment, a.T0, emit)
}
