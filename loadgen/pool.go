package loadgen

import (
	"context"
	"sync"

	"github.com/tailrace/tailrace/histogram"
)

// pool grants a request a connection slot, the end of its pool_wait. A
// request that is granted leave to dial dials its own connection and then
// uses it, so a dial is charged to exactly the request that triggered it.
type pool interface {
	// acquire stamps t.SlotGranted and, when it dials, the dial phases. On
	// failure it sets t.Err and t.ErrPhase.
	acquire(ctx context.Context, t *Trail) (clientConn, error)
	// put returns the connection after a request; reusable says whether it
	// may carry another.
	put(c clientConn, reusable bool)
	// close closes every idle connection.
	close()
}

func newPool(m Mode, d connector, conns int, clk *clock) pool {
	switch m {
	case ModeKeepAlive:
		return newKeepAlivePool(d, conns, clk)
	case ModeH2:
		return &h2Pool{dialer: d, max: conns, clk: clk}
	default:
		return &dialPool{dialer: d, clk: clk}
	}
}

// keepAlivePool holds at most n HTTP/1.1 connections. A request reuses an
// idle connection when there is one (the most recently used, as Go's own
// Transport does), dials only when none is idle and fewer than n exist, and
// otherwise waits, in arrival order, for the next connection to come back.
type keepAlivePool struct {
	dialer  connector
	clk     *clock
	mu      sync.Mutex
	idle    []clientConn
	permits int                     // connections that may still be dialed
	waiters []chan clientConn       // FIFO; receives a connection, or nil: leave to dial
	all     map[clientConn]struct{} // every open connection, for close
}

func newKeepAlivePool(d connector, n int, clk *clock) *keepAlivePool {
	return &keepAlivePool{dialer: d, clk: clk, permits: n, all: map[clientConn]struct{}{}}
}

func (p *keepAlivePool) acquire(ctx context.Context, t *Trail) (clientConn, error) {
	p.mu.Lock()
	var c clientConn
	switch {
	case len(p.idle) > 0:
		c = p.idle[len(p.idle)-1]
		p.idle[len(p.idle)-1] = nil
		p.idle = p.idle[:len(p.idle)-1]
		p.mu.Unlock()
	case p.permits > 0:
		p.permits--
		p.mu.Unlock()
	default:
		w := make(chan clientConn, 1)
		p.waiters = append(p.waiters, w)
		p.mu.Unlock()
		select {
		case c = <-w:
		case <-ctx.Done():
			if !p.cancelWait(w) {
				p.handOff(<-w) // a connection was handed over as we gave up: pass it on
			}
			t.Done = p.clk.now()
			t.Err, t.ErrPhase, t.ErrText = classify(ctx, ctx.Err()), histogram.PoolWait, context.Cause(ctx)
			return nil, ctx.Err()
		}
	}
	t.SlotGranted = p.clk.now()
	if c != nil && c.alive() {
		t.ConnID = c.id()
		return c, nil
	}
	if c != nil { // the server closed it while idle: its slot is ours to dial
		p.forget(c)
	}
	c, err := p.dialer.dial(ctx, t)
	if err != nil {
		p.handOff(nil)
		return nil, err
	}
	t.ConnID = c.id()
	p.mu.Lock()
	p.all[c] = struct{}{}
	p.mu.Unlock()
	return c, nil
}

// cancelWait removes w from the waiters; false means it was already served.
func (p *keepAlivePool) cancelWait(w chan clientConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.waiters {
		if x == w {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			return true
		}
	}
	return false
}

// handOff gives a returned connection, or a nil "leave to dial", to the
// first waiter, or keeps it.
func (p *keepAlivePool) handOff(c clientConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.waiters) > 0 {
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		w <- c
		return
	}
	if c == nil {
		p.permits++
	} else {
		p.idle = append(p.idle, c)
	}
}

func (p *keepAlivePool) put(c clientConn, reusable bool) {
	if !reusable {
		p.forget(c)
		c = nil
	}
	p.handOff(c)
}

func (p *keepAlivePool) forget(c clientConn) {
	c.close()
	p.mu.Lock()
	delete(p.all, c)
	p.mu.Unlock()
}

func (p *keepAlivePool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.all {
		c.close()
	}
	clear(p.all)
	p.idle = nil
}

// dialPool is close and resume mode: every request dials its own connection
// and closes it afterwards. There is no wait for a slot.
type dialPool struct {
	dialer connector
	clk    *clock
}

func (p *dialPool) acquire(ctx context.Context, t *Trail) (clientConn, error) {
	t.SlotGranted = p.clk.now()
	c, err := p.dialer.dial(ctx, t)
	if err != nil {
		return nil, err
	}
	t.ConnID = c.id()
	return c, nil
}

func (p *dialPool) put(c clientConn, _ bool) { c.close() }
func (p *dialPool) close()                   {}

// h2Pool spreads requests over at most max HTTP/2 connections. While fewer
// than max exist, a request dials a new one (as h2load -c does); after that it
// takes a stream slot on the least-loaded connection, or waits, FIFO, for one.
type h2Pool struct {
	dialer  connector
	clk     *clock
	max     int
	mu      sync.Mutex
	conns   []clientConn
	dialing int
	waiters []chan struct{}
}

func (p *h2Pool) acquire(ctx context.Context, t *Trail) (clientConn, error) {
	for {
		p.mu.Lock()
		p.dropDead()
		if len(p.conns)+p.dialing < p.max {
			p.dialing++
			p.mu.Unlock()
			t.SlotGranted = p.clk.now()
			c, err := p.dialer.dial(ctx, t)
			p.mu.Lock()
			p.dialing--
			if err == nil && !c.reserve() {
				c.close()
				err = errNoStream
				t.Err, t.ErrPhase, t.ErrText = ErrFailed, histogram.Write, errNoStream
			}
			if err == nil {
				p.conns = append(p.conns, c)
			}
			p.wakeLocked() // a new connection, or room to dial again
			p.mu.Unlock()
			if err != nil {
				return nil, err
			}
			t.ConnID = c.id()
			return c, nil
		}
		var best clientConn
		for _, c := range p.conns {
			if best == nil || c.available() > best.available() {
				best = c
			}
		}
		if best != nil && best.reserve() {
			p.mu.Unlock()
			t.SlotGranted = p.clk.now()
			t.ConnID = best.id()
			return best, nil
		}
		w := make(chan struct{}, 1)
		p.waiters = append(p.waiters, w)
		p.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			p.mu.Lock()
			for i, x := range p.waiters {
				if x == w {
					p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
					break
				}
			}
			p.mu.Unlock()
			t.Done = p.clk.now()
			t.Err, t.ErrPhase, t.ErrText = classify(ctx, ctx.Err()), histogram.PoolWait, context.Cause(ctx)
			return nil, ctx.Err()
		}
	}
}

func (p *h2Pool) put(c clientConn, reusable bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !reusable && !c.alive() {
		for i, x := range p.conns {
			if x == c {
				p.conns = append(p.conns[:i], p.conns[i+1:]...)
				break
			}
		}
		c.close()
	}
	p.wakeLocked()
}

func (p *h2Pool) dropDead() {
	live := p.conns[:0]
	for _, c := range p.conns {
		if c.alive() {
			live = append(live, c)
		} else {
			c.close()
		}
	}
	clear(p.conns[len(live):])
	p.conns = live
}

func (p *h2Pool) wakeLocked() {
	if len(p.waiters) > 0 {
		p.waiters[0] <- struct{}{}
		p.waiters = p.waiters[1:]
	}
}

func (p *h2Pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.close()
	}
	p.conns = nil
}
