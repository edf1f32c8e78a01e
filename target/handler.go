package target

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// StatsPath serves Stats as JSON. Requests to it are not counted, stalled
// or queued, so a test can watch a server that is stalled or saturated.
const StatsPath = "/_tailrace/stats"

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if !s.enter() {
		panic(http.ErrAbortHandler) // Close is draining: no response at all
	}
	defer s.leave()
	if r.URL.Path == StatsPath {
		s.serveStats(w, start)
		return
	}
	s.stats.request(r, s.epoch, start)

	p := defaultParams
	if r.URL.RawQuery != "" {
		var err error
		if p, err = parseParams(r.URL.Query()); err != nil {
			s.reply(w, start, http.StatusBadRequest, "text/plain; charset=utf-8", []byte(err.Error()+"\n"))
			return
		}
	}

	// A wait below fails only when the request's context is done: the
	// client left or Close began. The response is then abandoned with
	// ErrAbortHandler, which net/http turns into a reset, so no client
	// ever mistakes a cut-short response for a complete one.
	ctx := r.Context()
	if s.pause(ctx, 0) != nil {
		panic(http.ErrAbortHandler)
	}
	if s.queue != nil {
		if s.queue.acquire(ctx) != nil {
			panic(http.ErrAbortHandler)
		}
		defer s.queue.release()
	}
	s.stats.enterFlight()
	defer s.stats.leaveFlight()

	if s.pause(ctx, p.ttfb+s.jitter(p.jitter)) != nil {
		panic(http.ErrAbortHandler)
	}
	size := p.size
	if r.Method == http.MethodHead || !bodyAllowed(p.status) {
		size = 0
	}
	h := w.Header()
	h["Content-Type"] = []string{"text/plain"}
	if bodyAllowed(p.status) {
		h["Content-Length"] = []string{strconv.FormatInt(p.size, 10)}
	}
	h["Server-Timing"] = []string{serverTiming(time.Since(start))}
	w.WriteHeader(p.status)
	if p.download > 0 {
		// The headers go out now; only the body waits.
		if http.NewResponseController(w).Flush() != nil || s.pause(ctx, p.download) != nil {
			panic(http.ErrAbortHandler)
		}
	}
	for size > 0 {
		chunk := s.body[:min(int64(len(s.body)), size)]
		if _, err := w.Write(chunk); err != nil {
			return
		}
		size -= int64(len(chunk))
	}
}

func (s *Server) serveStats(w http.ResponseWriter, start time.Time) {
	b, err := json.Marshal(s.Stats())
	if err != nil {
		// Stats holds only integers; this cannot fail.
		panic(err)
	}
	w.Header()["Cache-Control"] = []string{"no-store"}
	s.reply(w, start, http.StatusOK, "application/json", append(b, '\n'))
}

// reply writes a small complete response.
func (s *Server) reply(w http.ResponseWriter, start time.Time, status int, contentType string, body []byte) {
	h := w.Header()
	h["Content-Type"] = []string{contentType}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	h["Server-Timing"] = []string{serverTiming(time.Since(start))}
	w.WriteHeader(status)
	w.Write(body)
}

// serverTiming formats the Server-Timing header: milliseconds with three
// decimals, so a microsecond survives the trip.
func serverTiming(d time.Duration) string {
	b := make([]byte, 0, 32)
	b = append(b, "total;dur="...)
	b = strconv.AppendFloat(b, float64(d)/float64(time.Millisecond), 'f', 3, 64)
	return string(b)
}

// bodyAllowed is false for the statuses that must not carry a body or a
// Content-Length (RFC 9110, 8.6 and 15.3.5).
func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}

func (s *Server) jitter(upto time.Duration) time.Duration {
	if upto <= 0 {
		return 0
	}
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return time.Duration(s.rng.Int64N(int64(upto)))
}
