// Package loadgen is tailrace's engine: it sends one worker's share of an
// open-loop schedule to one target and times every request phase by phase,
// from the moment the schedule intended to send it.
//
// # Open loop
//
// The pacer sleeps until each arrival's intended time (T0 plus the offset the
// schedule gives) and dispatches everything that is due; it never waits for a
// response. A slow target therefore cannot slow the schedule down, and every
// latency is measured from the intended time: no coordinated omission. When
// Config.MaxInFlight requests are outstanding, further arrivals are dropped
// and counted (the generator, not the target, was the limit), never delayed.
// PacerPrecise spins the last stretch before each arrival for sub-100 µs
// schedule lag, at the cost of a busy core; a target sharing the
// generator's cores takes them from it, and the lag with them (p99 1-1.5 ms
// at 50,000/s against nginx on the same 2 cores). Give it two cores or
// more: with one P, while it spins the runtime does not poll the network,
// so it sleeps on a timerfd to 300 µs before each arrival and, spinning,
// parks once per arrival for the runtime to poll. Responses are then read
// on time, and the lag is what pays: p99 55-225 µs at 200-10,000/s and
// up to 1.3 ms at 50,000/s against nginx. PacerTick sends on a grid
// from T0 (Config.Tick, 1 ms by default, as wrk2's millisecond timers),
// every arrival on the first tick at or after its time: the generator wakes
// once per tick instead of once every few arrivals. At 10,000/s a 1 ms grid
// costs about a third less CPU than PacerSleep, in bursts of 10 (schedule
// lag p50 ~0.6 ms against ~0.3; p99 about the same, ~1.1 ms); the bursts
// queue in the server, and at 50,000/s they add ~70 µs to its median ttfb.
// Its ticks come from a timerfd (waker.go), because the runtime's timers
// sleep in whole milliseconds. Where the kernel's receive timestamps are on
// (below), its plain-HTTP/1.1 connections wait for a response's first
// bytes at a gate (gate.go) instead of in the netpoller, and read them on
// the next tick: a response then wakes nobody, and its ttfb is still when
// it arrived. While requests are in flight the pacer keeps every tick of
// the grid, so a response waits at most one tick to be read, and
// Config.Timeout and TTFBTimeout are seen on the first tick after they
// passed. A response that came in several packets by the tick is stamped
// with the last one's arrival (the kernel keeps only the newest stamp of
// unread packets): its ttfb ends up to a tick late, its download is that
// much shorter, and its total is exact. At 10,000/s the gate halves the
// generator's context switches and cuts its CPU by about 6% on a 1 ms grid
// and 14% on a 5 ms one.
//
// # Connections the engine owns
//
// The engine dials every connection itself (DNS through loadgen/resolver, TCP,
// TLS), stamping each step, then speaks HTTP over it. For HTTP/1.1
// (ModeKeepAlive, ModeClose, ModeResume) the default client (ClientFast) is
// purpose-built: the request's bytes are built once, each request is one
// Write and reads into a reused buffer, every stamp is taken where a syscall
// returns, and a keep-alive request allocates nothing. ClientStd, and every
// HTTP/2 request, uses net/http's single-connection client
// (http.Transport.NewClientConn). A dial is charged to exactly the request
// that triggered it and then used it, which the stock http.Transport pool
// cannot promise.
//
// Under ClientFast, keep-alive requests are sent by one goroutine per
// connection, fed by the pacer through a FIFO queue (the wait in it is
// pool_wait); otherwise each request runs on its own goroutine and a pool
// grants it a slot: an idle keep-alive connection, an HTTP/2 stream, or leave
// to dial its own. Modes: ModeKeepAlive, ModeClose, ModeResume (TLS session
// tickets) and ModeH2 (TLS+ALPN, or h2c with prior knowledge for http://).
// Config.Concurrency replaces the schedule by closed loops, for measuring a
// maximum rate.
//
// Config.Timeout bounds each request from its dispatch. Under ClientFast the
// deadline goes on the socket at each step instead of into a context timer
// (a timer per request was a sixth of close mode's user CPU); only a DNS
// query and a TLS handshake, which watch a context and not the socket, get
// a real one.
//
// # Phases
//
// Each request leaves a Trail of timestamps. Its phases are consecutive
// intervals between them, so schedule_lag + pool_wait + dns + connect + tls +
// write + ttfb + download equals total exactly; a boundary that runs
// backwards (an HTTP/2 first byte before the request was fully written) is
// clamped and counted. A failed request ends its failing phase when it failed,
// is classified ("connect", "timeout@ttfb", "status_5xx", ...) and still
// records total.
//
// On Linux a response's first byte and its end are the kernel's receive
// timestamps (SO_TIMESTAMPNS, rxstamp_linux.go), for every client and mode,
// so that the arms of a comparison are stamped alike: when the bytes
// reached the host, not when the generator, woken, read them. (net/http's
// connections are stamped through their socket's latest read when its
// hooks run, an upper bound that is still at or before the read's return.) On the
// bench VM that wake-up was 77 µs at the median, as long as nginx's whole
// answer. It costs 1-3% of the closed-loop maximum rate (while it is on, the
// host timestamps every packet it receives). That wake-up is still measured,
// as its own phase, read_lag: from the first bytes' arrival to the read that
// returned them (Trail.ReadLag; not part of total). Where the kernel does
// not stamp, ttfb ends at the read, no read_lag is recorded, and the run's
// warnings say so (cluster, KernelStamps).
//
// # Request mixes
//
// Config.Requests is a weighted mix on one origin: each arrival sends the
// request schedule.Mix picks from its global arrival index and the plan's
// seed, so the choice needs no coordination between workers and the same
// seed repeats it. Every request's template (and, under ClientFast, its
// bytes) is built once. Each label is recorded in a recorder of its own
// beside the overall one and emitted as Interval.Labels. Config.Expect makes
// statuses outside a set errors (status_Nxx).
//
// # Intervals
//
// Trails go into a sharded histogram.Recorder. Every second, aligned to T0,
// the engine rotates it and emits a histogram.Interval with the generator's own
// measurements (max in-flight, hiccups, GC pauses, CPU) and a degraded flag for
// intervals in which it, not the target, limited the measurement.
package loadgen
