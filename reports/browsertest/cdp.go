package browsertest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// cdp is a minimal Chrome DevTools Protocol client over the pipe transport
// (--remote-debugging-pipe: JSON messages separated by NUL bytes on file
// descriptors 3 and 4). The pipe needs no port and no WebSocket: nothing
// the test does touches the network, not even loopback.
//
// One goroutine reads; calls wait for their reply by id; events are kept
// in arrival order for the caller to inspect. Safe for concurrent use.
type cdp struct {
	w io.Writer

	mu      sync.Mutex
	next    int
	pending map[int]chan message
	events  []message
	notify  chan struct{} // a new event arrived (buffered, coalesced)
	err     error         // why the reader stopped
	done    chan struct{}
}

type message struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *cdpError       `json:"error,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
}

type cdpError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func newCDP(w io.Writer, r io.Reader) *cdp {
	c := &cdp{w: w, pending: map[int]chan message{}, notify: make(chan struct{}, 1), done: make(chan struct{})}
	go c.read(bufio.NewReader(r))
	return c
}

func (c *cdp) read(r *bufio.Reader) {
	defer close(c.done)
	for {
		b, err := r.ReadBytes(0)
		if err != nil {
			c.stop(fmt.Errorf("browsertest: devtools pipe closed: %w", err))
			return
		}
		var m message
		if err := json.Unmarshal(b[:len(b)-1], &m); err != nil {
			c.stop(fmt.Errorf("browsertest: bad devtools message %.100q: %w", b, err))
			return
		}
		c.mu.Lock()
		if m.ID != 0 {
			if ch := c.pending[m.ID]; ch != nil {
				delete(c.pending, m.ID)
				ch <- m
			}
		} else {
			c.events = append(c.events, m)
			select {
			case c.notify <- struct{}{}:
			default:
			}
		}
		c.mu.Unlock()
	}
}

func (c *cdp) stop(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
}

// call sends a command (to a page's session when session is not empty)
// and decodes its result into result, if not nil.
func (c *cdp) call(ctx context.Context, session, method string, params, result any) error {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	c.next++
	id := c.next
	ch := make(chan message, 1)
	c.pending[id] = ch
	c.mu.Unlock()

	p, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("browsertest: %s: %w", method, err)
	}
	msg, err := json.Marshal(message{ID: id, Method: method, Params: p, SessionID: session})
	if err != nil {
		return fmt.Errorf("browsertest: %s: %w", method, err)
	}
	if _, err := c.w.Write(append(msg, 0)); err != nil {
		return fmt.Errorf("browsertest: %s: %w", method, err)
	}
	select {
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return fmt.Errorf("browsertest: %s: %w", method, ctx.Err())
	case m, ok := <-ch:
		if !ok {
			c.mu.Lock()
			defer c.mu.Unlock()
			return fmt.Errorf("browsertest: %s: %w", method, c.err)
		}
		if m.Error != nil {
			return fmt.Errorf("browsertest: %s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if result != nil {
			if err := json.Unmarshal(m.Result, result); err != nil {
				return fmt.Errorf("browsertest: %s result: %w", method, err)
			}
		}
		return nil
	}
}

// waitEvent waits until an event of the session satisfies ok.
func (c *cdp) waitEvent(ctx context.Context, session string, ok func(m message) bool) error {
	seen := 0
	for {
		c.mu.Lock()
		evs, err := c.events[seen:], c.err
		seen = len(c.events)
		c.mu.Unlock()
		for _, m := range evs {
			if m.SessionID == session && ok(m) {
				return nil
			}
		}
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("browsertest: waiting for the page: %w", ctx.Err())
		case <-c.notify:
		case <-c.done:
		}
	}
}

// sessionEvents returns the events of one session so far.
func (c *cdp) sessionEvents(session string) []message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []message
	for _, m := range c.events {
		if m.SessionID == session {
			out = append(out, m)
		}
	}
	return out
}

var errNoBrowser = errors.New("browsertest: no Chromium found (install Debian's chromium, or set TAILRACE_CHROMIUM)")
