package target

import (
	"fmt"
	"testing"
	"time"
)

func TestStallSchedule(t *testing.T) {
	t.Parallel()
	epoch := time.Unix(1000, 0)
	st := stalls{epoch: epoch, every: 10 * time.Second, length: time.Second}
	const s, ms = time.Second, time.Millisecond
	tests := []struct {
		at              time.Duration // since epoch
		hold, untilNext time.Duration
	}{
		{0, 0, 10 * s},                       // the epoch itself is not a window (k starts at 1)
		{500 * ms, 0, 9500 * ms},             // the first second is free too
		{10*s - ms, 0, ms},                   // just before the first window
		{10 * s, s, 10 * s},                  // the window's first instant holds for all of it
		{10*s + 400*ms, 600 * ms, 9600 * ms}, // inside: the rest of the window
		{11 * s, 0, 9 * s},                   // the end is exclusive
		{25 * s, 0, 5 * s},                   // between windows
		{30*s + 999*ms, ms, 9001 * ms},       // the last millisecond of the third window
		{-s, 0, 11 * s},                      // before the epoch: never held
	}
	for _, tt := range tests {
		hold, next := st.at(epoch.Add(tt.at))
		if hold != tt.hold || next != tt.untilNext {
			t.Errorf("at epoch%+v: hold %v, next window in %v; want %v, %v", tt.at, hold, next, tt.hold, tt.untilNext)
		}
	}
}

// nextWindow returns the start of the first stall window at least lead
// after now.
func nextWindow(s *Server, lead time.Duration) time.Time {
	every := s.cfg.StallEvery
	k := time.Since(s.Epoch())/every + 1
	start := s.Epoch().Add(k * every)
	for time.Until(start) < lead {
		start = start.Add(every)
	}
	return start
}

func TestStall(t *testing.T) {
	const (
		every  = 400 * time.Millisecond
		length = 200 * time.Millisecond
		ms     = time.Millisecond
	)
	tests := []struct {
		name  string
		query string
		// sendAt is when to send, relative to a window's start w.
		sendAt time.Duration
		// The earliest the headers and the whole response may arrive.
		headersMin, doneMin func(sent, w time.Time) time.Time
		// Whether Server-Timing includes the hold (it stops at the headers).
		timingHasStall bool
	}{
		// Arriving inside a window: held until it ends.
		{"arrive in window", "", 20 * ms,
			func(_, w time.Time) time.Time { return w.Add(length) },
			func(_, w time.Time) time.Time { return w.Add(length) }, true},
		// In its ttfb wait when the window begins: the server is frozen,
		// so the window's whole length is added to the wait.
		{"window during ttfb", "ttfb=100ms", -50 * ms,
			func(sent, _ time.Time) time.Time { return sent.Add(100*ms + length) },
			func(sent, _ time.Time) time.Time { return sent.Add(100*ms + length) }, true},
		// Headers go out before the window; the body's wait is stretched.
		{"window during download", "download=150ms", -100 * ms,
			func(sent, _ time.Time) time.Time { return sent },
			func(sent, _ time.Time) time.Time { return sent.Add(150*ms + length) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Config{StallEvery: every, StallFor: length})
			c := newClient(t, s, nil)
			var late string
			for range attempts {
				w := nextWindow(s, 250*ms)
				get(t, c, s.URL()) // warm the connection: no dial in the timing
				time.Sleep(time.Until(w.Add(tt.sendAt)))
				sent := time.Now()
				resp, _, headers, done := get(t, c, s.URL()+"/?"+tt.query)
				gotHeaders, gotDone := sent.Add(headers), sent.Add(done)
				headersMin, doneMin := tt.headersMin(sent, w), tt.doneMin(sent, w)
				if gotHeaders.Before(headersMin) || gotDone.Before(doneMin) {
					t.Fatalf("headers at w%+v, done at w%+v; want >= w%+v, w%+v",
						gotHeaders.Sub(w), gotDone.Sub(w), headersMin.Sub(w), doneMin.Sub(w))
				}
				st := parseServerTiming(t, resp.Header.Get("Server-Timing"))
				// The handler starts a little after the send, by the time the
				// request takes to arrive: allow 10ms for it.
				if wantMin := headersMin.Sub(sent) - 10*ms; tt.timingHasStall && st < wantMin {
					t.Errorf("Server-Timing %v, want >= %v: the hold is server time", st, wantMin)
				}
				if st > headers {
					t.Errorf("Server-Timing %v exceeds the client's %v to headers", st, headers)
				}
				// A request meant to arrive before the window that got
				// there late (a busy machine) is held, so a Server-Timing
				// holding the stall counts as late, not wrong.
				if gotHeaders.Before(headersMin.Add(slack)) && gotDone.Before(doneMin.Add(slack)) && (tt.timingHasStall || st < length) {
					return
				}
				late = fmt.Sprintf("headers %v and body %v after the earliest allowed, Server-Timing %v",
					gotHeaders.Sub(headersMin), gotDone.Sub(doneMin), st)
			}
			t.Errorf("in %d attempts: %s, want < %v", attempts, late, slack)
		})
	}
}

func TestStallSparesStatsEndpoint(t *testing.T) {
	const every, length = 300 * time.Millisecond, 200 * time.Millisecond
	s := startServer(t, Config{StallEvery: every, StallFor: length})
	c := newClient(t, s, nil)
	w := nextWindow(s, 50*time.Millisecond)
	get(t, c, s.URL())
	time.Sleep(time.Until(w.Add(10 * time.Millisecond)))
	sent := time.Now()
	get(t, c, s.URL()+StatsPath)
	if end := time.Now(); !end.Before(w.Add(length)) {
		t.Errorf("stats answered %v after send, at the window's end: it was stalled", end.Sub(sent))
	}
}
