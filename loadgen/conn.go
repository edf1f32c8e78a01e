package loadgen

import "context"

// connector is the connection layer behind the engine: it dials connections
// the engine owns and sends one request at a time on them, stamping the Trail.
// The pacer, pools, recorder and outputs only see this interface, so a
// purpose-built HTTP/1.1 client or HTTP/3 can replace net/http here alone.
type connector interface {
	// dial opens a new connection, stamping DNS, connect and TLS into t (and
	// t.Err/t.ErrPhase on failure).
	dial(ctx context.Context, t *Trail) (clientConn, error)
	// abort makes every request in flight on this connector's connections
	// return at once; the run's stop calls it after canceling the request
	// context, for connection layers that do not watch that context.
	abort()
}

// clientConn is one connection owned by the engine.
type clientConn interface {
	// do sends one request and reads the response to its end, stamping
	// WroteRequest, FirstByte, Done, Status, Bytes and Server-Timing into t.
	// It reports whether the connection may carry another request.
	do(ctx context.Context, t *Trail) (reusable bool)
	// reserve claims a concurrent-request slot (HTTP/2 streams); HTTP/1.1
	// connections have exactly one. It returns false when none is free.
	reserve() bool
	release()
	available() int
	alive() bool
	close()
	id() uint64
}
