package loadgen

import (
	"sync"
	"sync/atomic"
)

// tickGate is where, under the tick pacer, a connection waits for its
// response's first bytes: until the pacer's next tick, instead of in the
// netpoller. The socket is then in no epoll set, so an arriving response
// wakes nobody; the pacer wakes once per tick anyway, and lets every waiting
// connection read what has arrived before it sends the tick's arrivals. Its
// ttfb stays exact because the read carries the kernel's receive timestamp
// (rxMsg): only sockets that have them wait here.
//
// Why: at 10,000/s on a 1 ms grid the generator otherwise wakes two to
// three times per tick, the tick and the responses (about 14,000 context
// switches in 6 s where the ticks alone are 6,000).
//
// A deadline is seen on the first tick after it passed. Once open (the
// schedule is over, or the run stopped) the gate lets every wait through to
// the netpoller, at once and for good. Safe for concurrent use.
type tickGate struct {
	mu     sync.Mutex
	cond   sync.Cond
	gen    uint64 // ticks so far
	opened bool
	waits  atomic.Int64 // waits that parked, so far
	parked atomic.Int64 // waiting now
}

func newTickGate() *tickGate {
	g := &tickGate{}
	g.cond.L = &g.mu
	return g
}

// wait parks the caller until the next tick and reports true. It reports
// false, for the caller to wait in the netpoller instead, when the gate
// opens meanwhile, and at once when it is open or dl (a monoNow deadline,
// 0: none) has passed.
func (g *tickGate) wait(dl int64) bool {
	if dl != 0 && monoNow() >= dl {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.opened {
		return false
	}
	g.parked.Add(1)
	for gen := g.gen; g.gen == gen && !g.opened; {
		g.cond.Wait()
	}
	g.parked.Add(-1)
	g.waits.Add(1)
	return !g.opened // opened: the netpoller's read is the next try
}

// tick wakes every waiting connection, reporting whether there was one. A
// connection that begins to wait as it runs may wait for the next tick.
func (g *tickGate) tick() bool {
	if g.parked.Load() == 0 {
		return false
	}
	g.mu.Lock()
	g.gen++
	g.mu.Unlock()
	g.cond.Broadcast()
	return true
}

// open wakes every waiting connection and lets all later waits through.
func (g *tickGate) open() {
	g.mu.Lock()
	g.opened = true
	g.mu.Unlock()
	g.cond.Broadcast()
}
