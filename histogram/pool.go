package histogram

import "sync"

// pools holds, per exemplar count k, a sync.Pool of empty intervals. An
// engine fills one interval per second (2.3 MB of histograms) and the
// coordinator is done with it a moment later: passing it back through the
// pool keeps the process's heap flat instead of making 2.3 MB of garbage a
// second, which the GC would let the heap grow by before collecting.
var pools sync.Map // int -> *sync.Pool

func poolOf(k int) *sync.Pool {
	if p, ok := pools.Load(k); ok {
		return p.(*sync.Pool)
	}
	p, _ := pools.LoadOrStore(k, &sync.Pool{})
	return p.(*sync.Pool)
}

// GetInterval returns an empty interval that keeps k exemplars: one given
// back with PutInterval if there is one, else a new one.
func GetInterval(k int) *Interval {
	if iv, ok := poolOf(k).Get().(*Interval); ok {
		return iv
	}
	return NewInterval(k)
}

// PutInterval gives iv back for GetInterval to reuse; the caller must not
// touch iv (or its Labels' intervals, which go back too) afterwards.
// Intervals not made by NewInterval (a nil histogram) are left to the GC.
func PutInterval(iv *Interval) {
	if iv == nil {
		return
	}
	for _, l := range iv.Labels {
		PutInterval(l)
	}
	iv.Labels = nil // labels belong to one run's mix: never carry them over
	for _, h := range iv.Hists {
		if h == nil {
			return
		}
	}
	if iv.Errors == nil {
		iv.Errors = make(map[string]int64)
	}
	iv.Reset()
	poolOf(iv.Exemplars.K()).Put(iv)
}
