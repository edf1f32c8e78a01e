package histogram

import (
	"reflect"
	"unsafe"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// countsOffset is the offset of hdrhistogram.Histogram's counts array, or -1
// if the library no longer has one of type []int64 (then countsOf copies).
//
// The library exposes its counts only through Export, which copies all
// 23,552 of them (188 KB) per call. Encode runs for each of 12 phases every
// second, in the worker and again in the report builder: with Export that
// was 4.6 MB of garbage a second, which the GC let the heap grow by. Reading
// the array in place keeps the heap flat; TestCountsOf fails if the
// library's layout changes.
var countsOffset = func() uintptr {
	f, ok := reflect.TypeFor[hdrhistogram.Histogram]().FieldByName("counts")
	if !ok || f.Type != reflect.TypeFor[[]int64]() {
		return ^uintptr(0)
	}
	return f.Offset
}()

// countsOf returns h's counts, index by index as the V2 format encodes
// them. The caller must only read them, and not past a change to h.
func countsOf(h *hdrhistogram.Histogram) []int64 {
	if countsOffset == ^uintptr(0) {
		return h.Export().Counts
	}
	return *(*[]int64)(unsafe.Add(unsafe.Pointer(h), countsOffset))
}
