// Package histogram records request latencies phase by phase and merges
// them losslessly: the phase vocabulary, HDR histograms, per-interval
// snapshots, the sharded concurrent recorder, tail bins and exemplars. It
// imports nothing else from tailrace.
//
// # Phases
//
// A Phase names one timed stage of a request (schedule_lag, pool_wait, dns,
// connect, tls, write, ttfb, download, service, response, total, server).
// The first NumConsecutive phases partition Total: they sum to it exactly.
//
// # Hist
//
// A Hist is an HdrHistogram of one phase: microseconds from 1 µs to 1 h
// with 3 significant digits, so every value is kept within 0.1% and any
// number of Hists merge without loss. It wraps hdrhistogram-go and hides its
// quirks: quantiles are taken in 0..1 (the library wants 0..100), values
// out of range are recorded at the nearest bound and counted (Clamped), not
// dropped with an error, and Encode returns raw V2 bytes rather than
// base64. All Hists share one geometry; Decode rejects any other.
//
// # Recorder
//
// A Recorder is split into shards; each recording goroutine pins one
// (Recorder.Shard) and records finished requests (Sample) into it under the
// shard's own, normally uncontended, lock: there is no global lock on the
// hot path, and recording a 12-phase sample takes about 100 ns without
// allocating. Every second Recorder.Rotate swaps each shard's Interval for
// an empty spare and merges the swapped-out ones into the Interval it
// returns; recording never waits for that merge, and every sample lands in
// exactly one interval.
//
// An Interval holds a Hist per phase, Counters, error and status classes,
// TailBins, the K slowest requests as Exemplars (TopK), and the generator's
// measurement of itself (Self). Intervals merge: a coordinator merges its
// workers' intervals, and a run's intervals into its totals.
//
// # Tail bins
//
// Percentiles of phases do not add up: the P99 of ttfb plus the P99 of
// connect is not the P99 of total, because the slowest requests by ttfb are
// not the slowest by connect. "Where did the slowest 1% spend their time?"
// needs the phases of those requests, kept together. TailBins keeps, in
// about 240 log-spaced bins of total latency, the count of requests and the
// sum of each consecutive phase. TailBins.Breakdown(0.99) takes the slowest
// 1% bin by bin and returns their mean phases, which add up exactly to their
// mean total. TailBins merge like histograms and travel in a compact binary
// form (TailBins.AppendBinary).
//
// # Wire forms
//
// Hist.Encode is the standard HdrHistogram V2 compressed encoding, raw
// (base64 it for .hlog files and JSON); it does not carry the clamped
// count, which callers ship beside it and restore with Hist.SetClamped.
// Decode rebuilds a Hist from it; a receiver that only merges uses
// Hist.MergeV2, or V2Decoder.Parse then Hist.ApplyV2 to merge several all
// or nothing, which read the non-zero buckets alone instead of allocating
// a whole Hist per message. TailBins use their own sparse varint form. Exemplar and TailSlice marshal
// to the JSON forms of results.json (phases keyed by name, in µs).
package histogram
