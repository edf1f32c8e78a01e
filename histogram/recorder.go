package histogram

import (
	"sync"
	"time"
	"unsafe"
)

// Recorder collects samples from many goroutines into per-interval data.
// It is split into shards, each with its own lock and its own
// Interval; a goroutine (or connection) pins one shard and records into it,
// so recording goroutines do not contend and no lock is global. Rotate
// swaps every shard's current Interval for an empty one and merges the
// swapped-out ones, so recording never waits for a merge.
//
// Make one with NewRecorder; the zero value is not usable. A Recorder is
// safe for concurrent use. Each shard holds an Interval (about 2.3 MB), so
// size the shard count to the number of recording goroutines that run at
// once (GOMAXPROCS is a good default), not to the number of connections.
//
// A design refused: one lock-free histogram set per goroutine merged at
// rotation needs the recording goroutines to cooperate with the rotation
// (or atomics on every bucket). An uncontended mutex is lost in the noise
// of recording a 12-phase sample (about 90 ns either way) and makes "a value
// lands in exactly one interval" trivially true.
type Recorder struct {
	k      int
	shards []Shard
	rotMu  sync.Mutex // serializes rotations
}

// Shard is one lock-guarded slice of a Recorder. It is safe for concurrent
// use, but meant to be mostly owned by one goroutine: sharing it between
// busy goroutines makes them wait on its lock. Get one from Recorder.Shard.
type Shard struct {
	shardState
	// Padding to whole cache-line pairs, so that two shards' locks never
	// share a line (and the adjacent-line prefetcher does not pair them).
	_ [128 - unsafe.Sizeof(shardState{})%128]byte
}

type shardState struct {
	mu  sync.Mutex
	cur *Interval // guarded by mu
}

// NewRecorder returns a Recorder with the given number of shards (at least
// 1) whose intervals keep exemplarK exemplars each.
func NewRecorder(shards, exemplarK int) *Recorder {
	r := &Recorder{k: exemplarK, shards: make([]Shard, max(shards, 1))}
	for i := range r.shards {
		r.shards[i].cur = NewInterval(exemplarK)
	}
	return r
}

// NumShards returns the number of shards.
func (r *Recorder) NumShards() int { return len(r.shards) }

// Shard returns shard i modulo the number of shards (negative i included).
func (r *Recorder) Shard(i int) *Shard {
	n := len(r.shards)
	return &r.shards[(i%n+n)%n]
}

// Record adds one finished request to the shard's current interval, under
// one lock: smp's phases whose Has bit is set to their histograms; if Total
// is set, the consecutive phases to the tail bins and the request to the
// exemplars; the error class and the status class to their counts; and cn
// to the counters. Either may be nil (cn nil: counters untouched; smp nil:
// counters only). It does not allocate, except when an error class first
// seen in this interval grows the Errors map; keeping an exemplar copies it
// into storage allocated up front.
func (s *Shard) Record(smp *Sample, cn *Counters) {
	s.mu.Lock()
	if smp != nil {
		s.cur.record(smp)
	}
	if cn != nil {
		s.cur.Counters.Add(cn)
	}
	s.mu.Unlock()
}

// UpdateSelf applies f to the current interval's self-measurement under
// the shard's lock (for example to raise MaxInFlight). f must be quick.
func (s *Shard) UpdateSelf(f func(sf *Self)) {
	s.mu.Lock()
	f(&s.cur.Self)
	s.mu.Unlock()
}

// Rotate ends the current interval of every shard and returns their merge
// as an Interval with the given index, start and length, which the caller
// owns (give it back with PutInterval when done with it). Every value
// recorded before Rotate swaps a shard lands in the returned Interval and
// every value recorded after lands in the next one: none is lost or counted
// twice. Concurrent Rotate calls run one after the other.
//
// Each shard swaps its interval for an empty one from GetInterval's pool,
// so the returned Interval is the first shard's own, with the others merged
// in: a one-shard Recorder merges nothing and keeps no spare.
func (r *Recorder) Rotate(index int, start time.Time, length time.Duration) *Interval {
	return r.rotate(nil, index, start, length)
}

// RotateInto is Rotate merging into dst (which it resets first) instead of
// returning a shard's interval. It returns dst.
func (r *Recorder) RotateInto(dst *Interval, index int, start time.Time, length time.Duration) *Interval {
	dst.Reset()
	return r.rotate(dst, index, start, length)
}

func (r *Recorder) rotate(dst *Interval, index int, start time.Time, length time.Duration) *Interval {
	r.rotMu.Lock()
	defer r.rotMu.Unlock()
	for i := range r.shards {
		s := &r.shards[i]
		fresh := GetInterval(r.k)
		s.mu.Lock()
		old := s.cur
		s.cur = fresh
		s.mu.Unlock()
		if dst == nil {
			dst = old
			continue
		}
		// The merge runs outside the shard lock: recording into the fresh
		// interval goes on meanwhile.
		dst.Merge(old)
		PutInterval(old)
	}
	dst.Index, dst.Start, dst.Length = index, start, length
	if dst.Errors == nil {
		dst.Errors = make(map[string]int64)
	}
	return dst
}
