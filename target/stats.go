package target

import (
	"net/http"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a Server's counters since it started or since the
// last ResetStats. Each field is read atomically, but the snapshot as a whole
// is not: take it when the load has stopped if fields must agree.
type Stats struct {
	// Requests counts requests that reached the handler, malformed ones
	// included; the stats endpoint is not counted.
	Requests int64 `json:"requests"`
	// Connections counts accepted TCP connections, whether or not their TLS
	// handshake succeeded; ConnsClosed counts those closed by either side.
	Connections int64 `json:"connections"`
	ConnsClosed int64 `json:"conns_closed"`
	// TLSHandshakes counts completed handshakes, full and resumed, once per
	// connection; TLSResumed counts the resumed ones among them.
	TLSHandshakes int64 `json:"tls_handshakes"`
	TLSResumed    int64 `json:"tls_resumed"`
	// HTTP2Conns counts connections that spoke HTTP/2: TLS connections that
	// negotiated h2, and plain ones that opened with the h2c preface.
	HTTP2Conns int64 `json:"http2_conns"`
	// MaxConcurrentConns is the most connections open at once and
	// MaxInFlight the most requests being served at once (queued requests
	// of a MaxConcurrent server are not in flight).
	MaxConcurrentConns int64 `json:"max_concurrent_conns"`
	MaxInFlight        int64 `json:"max_in_flight"`
	// RequestsPerProto splits Requests by protocol ("HTTP/1.0", "HTTP/1.1",
	// "HTTP/2.0"); the keys are always present.
	RequestsPerProto map[string]int64 `json:"requests_per_proto"`
}

// counters are the live, lock-free form of Stats.
type counters struct {
	requests, connections, connsClosed    atomic.Int64
	tlsHandshakes, tlsResumed, http2Conns atomic.Int64
	openConns, maxOpenConns               atomic.Int64
	inFlight, maxInFlight                 atomic.Int64
	http10, http11, http20                atomic.Int64
	// lastRequest is nanoseconds since the epoch plus one, so that zero
	// means no request yet.
	lastRequest atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Requests:           c.requests.Load(),
		Connections:        c.connections.Load(),
		ConnsClosed:        c.connsClosed.Load(),
		TLSHandshakes:      c.tlsHandshakes.Load(),
		TLSResumed:         c.tlsResumed.Load(),
		HTTP2Conns:         c.http2Conns.Load(),
		MaxConcurrentConns: c.maxOpenConns.Load(),
		MaxInFlight:        c.maxInFlight.Load(),
		RequestsPerProto: map[string]int64{
			"HTTP/1.0": c.http10.Load(),
			"HTTP/1.1": c.http11.Load(),
			"HTTP/2.0": c.http20.Load(),
		},
	}
}

// reset zeroes the event counters; the high-water marks restart from the
// current levels, which are gauges and survive.
func (c *counters) reset() {
	for _, v := range []*atomic.Int64{
		&c.requests, &c.connections, &c.connsClosed, &c.tlsHandshakes,
		&c.tlsResumed, &c.http2Conns, &c.http10, &c.http11, &c.http20,
	} {
		v.Store(0)
	}
	c.maxOpenConns.Store(c.openConns.Load())
	c.maxInFlight.Store(c.inFlight.Load())
}

func (c *counters) connOpened() {
	c.connections.Add(1)
	raiseTo(&c.maxOpenConns, c.openConns.Add(1))
}

func (c *counters) connClosed() {
	c.connsClosed.Add(1)
	c.openConns.Add(-1)
}

func (c *counters) request(r *http.Request, epoch time.Time, at time.Time) {
	c.requests.Add(1)
	raiseTo(&c.lastRequest, int64(at.Sub(epoch))+1)
	switch {
	case r.ProtoMajor == 2:
		c.http20.Add(1)
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		c.http10.Add(1)
	default:
		c.http11.Add(1)
	}
}

func (c *counters) enterFlight() { raiseTo(&c.maxInFlight, c.inFlight.Add(1)) }
func (c *counters) leaveFlight() { c.inFlight.Add(-1) }

// raiseTo sets hi to v if v is larger.
func raiseTo(hi *atomic.Int64, v int64) {
	for {
		m := hi.Load()
		if v <= m || hi.CompareAndSwap(m, v) {
			return
		}
	}
}
