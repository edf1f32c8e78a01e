package loadgen

import (
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/tailrace/tailrace/histogram"
)

// selfMeter measures the generator itself: how late a 1 ms sleep wakes up (a
// hiccup meter, as jHiccup does: GC, scheduler and CPU starvation all show up
// here), GC pause time and process CPU per interval.
type selfMeter struct {
	mu      sync.Mutex
	hiccups *histogram.Hist
	quit    chan struct{}
	done    chan struct{}
	// fill's alone (one goroutine: the engine's rotation), not under mu.
	lastGC  time.Duration
	lastCPU time.Duration
	gc      debug.GCStats // reused: ReadGCStats allocates 4 KB into an empty one
}

const hiccupTick = time.Millisecond

func startSelfMeter() *selfMeter {
	m := &selfMeter{hiccups: histogram.New(), quit: make(chan struct{}), done: make(chan struct{})}
	m.lastGC, m.lastCPU = m.gcPauseTotal(), processCPU()
	go m.loop()
	return m
}

func (m *selfMeter) loop() {
	defer close(m.done)
	t := time.NewTimer(hiccupTick)
	defer t.Stop()
	for {
		start := time.Now()
		select {
		case <-m.quit:
			return
		case <-t.C:
		}
		over := time.Since(start) - hiccupTick
		m.mu.Lock()
		m.hiccups.Record(over)
		m.mu.Unlock()
		t.Reset(hiccupTick)
	}
}

func (m *selfMeter) fill(s *histogram.Self) {
	m.mu.Lock()
	s.HiccupMax, s.HiccupP99 = m.hiccups.Max(), m.hiccups.Quantile(0.99)
	m.hiccups.Reset()
	m.mu.Unlock()
	gc, cpu := m.gcPauseTotal(), processCPU()
	s.GCPause, s.CPU = gc-m.lastGC, cpu-m.lastCPU
	m.lastGC, m.lastCPU = gc, cpu
}

func (m *selfMeter) stop() {
	close(m.quit)
	<-m.done
}

// gcPauseTotal returns the process's total GC pause so far. Only fill (and
// startSelfMeter, before the loop) call it.
func (m *selfMeter) gcPauseTotal() time.Duration {
	debug.ReadGCStats(&m.gc)
	return m.gc.PauseTotal
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
