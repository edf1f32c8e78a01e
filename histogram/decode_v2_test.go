package histogram

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

func TestV2ValueMatchesLibrary(t *testing.T) {
	l := v2Layout()
	h := newHDR()
	for idx := range l.countsLen {
		if err := h.RecordValues(v2Value(idx, l.halfMag), 1); err != nil {
			t.Fatalf("index %d: value %d: %v", idx, v2Value(idx, l.halfMag), err)
		}
	}
	for idx, c := range countsOf(h) {
		if c != 1 {
			t.Fatalf("counts index %d holds %d after recording every index's value once", idx, c)
		}
	}
}

// TestV2DecoderParseThenApply parses several histograms, one of them bad,
// before applying any: the bad one leaves the others' counts intact, and
// Reset makes room for more.
func TestV2DecoderParseThenApply(t *testing.T) {
	a, _ := randomHist(1, 2000)
	b, _ := randomHist(2, 500)
	ea, _ := a.Encode()
	eb, _ := b.Encode()
	d := GetV2Decoder()
	defer d.Release()
	ca, err := d.Parse(ea)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Parse(ea[:len(ea)-1]); !errors.Is(err, errV2) {
		t.Fatalf("Parse of a truncated histogram: %v, want errV2", err)
	}
	cb, err := d.Parse(eb)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(ca, V2Count{0, 1}) // must not write over cb
	got := New()
	got.ApplyV2(ca, 1)
	got.ApplyV2(cb, 2)
	want := New()
	want.Merge(a)
	want.Merge(b)
	want.SetClamped(3)
	if !got.Equal(want) {
		t.Fatal("applying parsed counts differs from Merge")
	}
	d.Reset()
	if c, err := d.Parse(eb); err != nil || len(c) != len(cb) {
		t.Fatalf("Parse after Reset: %d counts, %v; want %d", len(c), err, len(cb))
	}
}

// TestMergeV2Allocs: once its pooled decoder is warm, MergeV2 allocates
// nothing beyond what zlib itself does to reset and inflate (a new adler32
// digest per stream, and tables for long Huffman codes).
func TestMergeV2Allocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops pooled values at random")
	}
	h, _ := randomHist(3, 5000)
	enc, _ := h.Encode()
	var br bytes.Reader
	zr, err := zlib.NewReader(bytes.NewReader(enc[v2OuterHeader:]))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	floor := testing.AllocsPerRun(100, func() {
		br.Reset(enc[v2OuterHeader:])
		if err := zr.(zlib.Resetter).Reset(&br, nil); err != nil {
			t.Fatal(err)
		}
		if n, _ := io.ReadFull(zr, buf); n == 0 {
			t.Fatal("inflated nothing")
		}
	})
	dst := New()
	allocs := testing.AllocsPerRun(100, func() {
		if err := dst.MergeV2(enc, 0); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > floor {
		t.Errorf("MergeV2 allocates %v times a call, zlib alone %v", allocs, floor)
	}
}

// FuzzMergeV2 checks that MergeV2 accepts exactly what Decode accepts,
// adds exactly what Merge adds of Decode's result, and leaves its
// destination alone on error; and that parsing a histogram twice and then
// applying both counts adds it twice.
func FuzzMergeV2(f *testing.F) {
	for _, n := range []int{0, 1, 100, 5000} {
		h := New()
		rng := rand.New(rand.NewPCG(uint64(n), 1))
		for range n {
			h.Record(time.Duration(rng.ExpFloat64() * float64(time.Millisecond)))
		}
		h.Record(2 * time.Hour) // the top of the range
		b, _ := h.Encode()
		f.Add(b, int64(n%3))
	}
	f.Add(v2(3, 1, highestUS, []byte{0x02, 0x03, 0x04}), int64(0))       // hand-made counts
	f.Add(v2(3, 1, highestUS, []byte{0xfd, 0xff, 0xff, 0x0f}), int64(0)) // zero run past the end
	f.Add(v2(2, 1, highestUS, nil), int64(0))                            // foreign geometry
	base, _ := randomHist(9, 50)
	base.SetClamped(3)
	f.Fuzz(func(t *testing.T, b []byte, clamped int64) {
		got := base.Clone() // a non-empty destination
		err := got.MergeV2(b, clamped)
		ref, rerr := Decode(b)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("MergeV2 error %v, Decode error %v", err, rerr)
		}
		if err != nil {
			if errors.Is(err, ErrGeometry) != errors.Is(rerr, ErrGeometry) {
				t.Fatalf("MergeV2 error %v, Decode error %v: ErrGeometry for one only", err, rerr)
			}
			if !got.Equal(base) {
				t.Fatal("a rejected histogram changed the destination")
			}
			return
		}
		ref.SetClamped(clamped)
		want := base.Clone()
		want.Merge(ref)
		if !got.Equal(want) {
			t.Fatal("MergeV2 differs from Decode and Merge")
		}

		d := GetV2Decoder()
		defer d.Release()
		c1, err1 := d.Parse(b)
		c2, err2 := d.Parse(b)
		if err1 != nil || err2 != nil {
			t.Fatalf("Parse: %v, %v after MergeV2 accepted it", err1, err2)
		}
		twice := base.Clone()
		twice.ApplyV2(c1, clamped)
		twice.ApplyV2(c2, clamped)
		want.Merge(ref)
		if !twice.Equal(want) {
			t.Fatal("Parse twice and ApplyV2 both differs from merging twice")
		}
	})
}
