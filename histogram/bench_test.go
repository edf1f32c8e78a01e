package histogram

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func BenchmarkHistRecord(b *testing.B) {
	h := New()
	r := rand.New(rand.NewPCG(1, 1))
	vs := make([]time.Duration, 4096)
	for i := range vs {
		vs[i] = time.Duration(r.ExpFloat64() * float64(2*time.Millisecond))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.Record(vs[i&4095])
		i++
	}
}

// realisticSamples returns n seeded requests: mostly keep-alive (no dial
// phases), some new TLS connections, a few errors, a long tail.
func realisticSamples(seed uint64, n int) []Sample {
	r := rand.New(rand.NewPCG(seed, 7))
	exp := func(mean time.Duration) time.Duration { return time.Duration(r.ExpFloat64() * float64(mean)) }
	out := make([]Sample, n)
	for i := range out {
		s := &out[i]
		s.Status, s.ConnID, s.Intended = 200, uint64(r.IntN(64)), time.Unix(0, int64(i)*int64(200*time.Microsecond))
		s.Set(ScheduleLag, exp(80*time.Microsecond))
		s.Set(PoolWait, exp(20*time.Microsecond))
		if r.IntN(10) == 0 {
			s.NewConn = true
			s.Set(DNS, exp(100*time.Microsecond))
			s.Set(Connect, exp(300*time.Microsecond))
			s.Set(TLS, exp(time.Millisecond))
		}
		s.Set(Write, exp(15*time.Microsecond))
		ttfb := exp(2*time.Millisecond) + 300*time.Microsecond
		if r.IntN(100) == 0 {
			ttfb *= 50
		}
		s.Set(TTFB, ttfb)
		s.Set(Download, exp(200*time.Microsecond))
		var total time.Duration
		for p := range NumConsecutive {
			total += s.Phases[p]
		}
		s.Set(Service, total-s.Phases[ScheduleLag])
		s.Set(Response, total-s.Phases[ScheduleLag]-s.Phases[PoolWait])
		s.Set(Total, total)
		s.Set(Server, ttfb*8/10)
		if r.IntN(200) == 0 {
			s.Status, s.Error = 503, "status_5xx"
		}
	}
	return out
}

// BenchmarkShardRecord records full samples (12 phases) from 1 and 2
// goroutines, each with its own shard. ns/op is per sample.
func BenchmarkShardRecord(b *testing.B) {
	samples := realisticSamples(2, 4096)
	var values int
	for i := range samples {
		values += bits.OnesCount16(samples[i].Has)
	}
	perSample := float64(values) / float64(len(samples))
	for _, g := range []int{1, 2} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			r := NewRecorder(g, 16)
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range g {
				n := b.N / g
				if w == 0 {
					n += b.N % g
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					sh := r.Shard(w)
					cn := Counters{Intended: 1, Sent: 1, Completed: 1} // as the engine records a request
					for i := range n {
						sh.Record(&samples[(i+w*512)&4095], &cn)
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(ns/perSample, "ns/value")
		})
	}
}

// intervalOf records n realistic samples into a fresh Interval.
func intervalOf(seed uint64, n int) *Interval {
	iv := NewInterval(16)
	for _, s := range realisticSamples(seed, n) {
		iv.record(&s)
	}
	return iv
}

// BenchmarkEncode encodes one interval's 12 phase histograms (5000
// requests, a 1 s interval at 5000/s). ns/op is per interval.
func BenchmarkEncode(b *testing.B) {
	iv := intervalOf(3, 5000)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		size = 0
		for _, h := range iv.Hists {
			enc, err := h.Encode()
			if err != nil {
				b.Fatal(err)
			}
			size += len(enc)
		}
	}
	b.ReportMetric(float64(size), "bytes/interval")
	b.ReportMetric(float64(len(iv.Tail.AppendBinary(nil))), "tailbytes/interval")
}

func BenchmarkDecode(b *testing.B) {
	iv := intervalOf(3, 5000)
	enc, _ := iv.Hists[Total].Encode()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMerge merges one phase histogram and one whole interval (what
// Rotate does per shard, and the coordinator per worker).
func BenchmarkMerge(b *testing.B) {
	src := intervalOf(4, 5000)
	b.Run("hist", func(b *testing.B) {
		dst := New()
		b.ReportAllocs()
		for b.Loop() {
			dst.Merge(src.Hists[Total])
		}
	})
	b.Run("interval", func(b *testing.B) {
		dst := NewInterval(16)
		b.ReportAllocs()
		for b.Loop() {
			dst.Merge(src)
		}
	})
}

// BenchmarkRotate rotates a 4-shard recorder whose shards each hold 1250
// requests, reusing the destination interval. Refilling the shards is
// outside the timer.
func BenchmarkRotate(b *testing.B) {
	r := NewRecorder(4, 16)
	samples := realisticSamples(5, 5000)
	dst := NewInterval(16)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := range samples {
			r.Shard(i).Record(&samples[i], nil)
		}
		b.StartTimer()
		r.RotateInto(dst, 0, time.Time{}, time.Second)
	}
}

func BenchmarkBreakdown(b *testing.B) {
	iv := intervalOf(6, 5000)
	b.ReportAllocs()
	for b.Loop() {
		iv.Tail.Breakdown(0.99)
	}
}

// BenchmarkMergeV2 merges one encoded phase histogram (5000 requests)
// straight from its bytes, as a coordinator does with every worker's.
func BenchmarkMergeV2(b *testing.B) {
	enc, _ := intervalOf(3, 5000).Hists[Total].Encode()
	dst := New()
	b.ReportAllocs()
	for b.Loop() {
		if err := dst.MergeV2(enc, 0); err != nil {
			b.Fatal(err)
		}
	}
}
