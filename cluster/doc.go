// Package cluster runs a load test across workers: it splits one schedule
// into disjoint segments, starts every worker at one T0, merges their
// intervals as they arrive, and deals with workers that go away. Both ends
// of the distributed session live here, so nothing else imports gRPC.
//
// # One code path
//
// Run drives Workers. An in-process worker (NewLocal) runs a
// loadgen.Engine; a remote worker is the coordinator's end of a gRPC
// session (Server.Await returns them). A single-host run is the same flow
// with local workers only, and the two kinds mix.
//
// # The session (DESIGN.md §7)
//
// Workers dial the coordinator (JoinAndWork) and open one bidirectional
// stream each (proto/tailrace.proto): Hello (name, version, token, caps),
// 16 clock probes (the offset is taken from the lowest-RTT probe, as NTP
// does), then per arm a Plan that the worker checks against its Caps, a
// Start at T0 converted to the worker's clock, one Interval per second
// (histograms as V2 bytes, times as offsets from T0) and Done. Heartbeats
// flow both ways off the hot path.
//
// # Failure semantics
//
// A worker silent for ServerConfig.LossTimeout, or whose stream breaks, is
// lost: Run records when (reports.Worker.LostAt), marks the windows it
// missed as short, goes on or aborts (Config.OnWorkerLoss), and returns an
// error wrapping ErrIncomplete. A worker whose coordinator is silent for
// its orphan timeout, or whose stream breaks, stops its load at once: no
// orphaned load, ever. A worker that joins after the run started is
// refused, never silently added.
//
// # Security
//
// Server.Serve refuses a non-loopback listener unless workers present a
// token or a client certificate (CheckExposure). Workers hold their own
// Caps whatever the coordinator asks: a rate cap, a connection cap, and a
// list of allowed targets; link-local and cloud metadata addresses are
// refused unless that list names them.
//
// # Journal
//
// With Config.Journal set, every worker interval is appended to a file as
// it arrives; ReplayJournal rebuilds the results from it, after a crash
// too.
package cluster
