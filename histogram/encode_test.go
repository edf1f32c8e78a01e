package histogram

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	big := New()
	big.RecordN(time.Millisecond, 1<<60) // a count needing the 9-byte varint
	for _, tc := range []struct {
		name string
		h    *Hist
	}{
		{"empty", New()},      // no counts at all
		{"one value", one(0)}, // a single count at index 0
		{"one large value", one(time.Hour)},
		{"random", func() *Hist { h, _ := randomHist(7, 20_000); return h }()}, // zero runs and lone zeros
		{"huge count", big}, // 9-byte zig-zag form
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.h.Encode()
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.h) {
				t.Fatal("Decode(Encode(h)) is not Equal to h")
			}
			// Our raw bytes, base64-encoded, are what the library (and every
			// HdrHistogram tool) reads; and what it writes, we read.
			lib, err := hdrhistogram.Decode([]byte(base64.StdEncoding.EncodeToString(b)))
			if err != nil {
				t.Fatalf("library cannot read our encoding: %v", err)
			}
			if !lib.Equals(tc.h.HDR()) {
				t.Fatal("library decodes our encoding to a different histogram")
			}
			text, err := tc.h.HDR().Encode(hdrhistogram.V2CompressedEncodingCookieBase)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := base64.StdEncoding.DecodeString(string(text))
			if h2, err := Decode(raw); err != nil || !h2.Equal(tc.h) {
				t.Fatalf("cannot read the library's encoding: %v", err)
			}
		})
	}
}

func one(d time.Duration) *Hist {
	h := New()
	h.Record(d)
	return h
}

func TestEncodeDropsClamped(t *testing.T) {
	h := one(-time.Second)
	b, _ := h.Encode()
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Clamped() != 0 {
		t.Fatalf("decoded Clamped = %d, want 0 (not in the V2 format)", got.Clamped())
	}
	got.SetClamped(h.Clamped())
	if !got.Equal(h) {
		t.Fatal("SetClamped did not restore the Hist")
	}
}

// v2 builds a raw V2 encoding with the given header fields and payload.
func v2(digits int32, lowest, highest int64, payload []byte) []byte {
	inner := make([]byte, v2InnerHeader, v2InnerHeader+len(payload))
	binary.BigEndian.PutUint32(inner[0:], uint32(hdrhistogram.V2EncodingCookieBase|0x10))
	binary.BigEndian.PutUint32(inner[4:], uint32(len(payload)))
	binary.BigEndian.PutUint32(inner[12:], uint32(digits))
	binary.BigEndian.PutUint64(inner[16:], uint64(lowest))
	binary.BigEndian.PutUint64(inner[24:], uint64(highest))
	inner = append(inner, payload...)
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(inner)
	w.Close()
	out := binary.BigEndian.AppendUint32(nil, uint32(hdrhistogram.V2CompressedEncodingCookieBase|0x10))
	out = binary.BigEndian.AppendUint32(out, uint32(z.Len()))
	return append(out, z.Bytes()...)
}

func TestDecodeRejects(t *testing.T) {
	good, _ := one(time.Millisecond).Encode()
	for _, tc := range []struct {
		name     string
		b        []byte
		geometry bool // want ErrGeometry
	}{
		{"empty", nil, false},                                                   // nothing
		{"short", good[:5], false},                                              // shorter than the outer header
		{"truncated", good[:len(good)-3], false},                                // length field says more
		{"trailing bytes", append(append([]byte{}, good...), 0), false},         // length field says less
		{"base64 text", []byte(base64.StdEncoding.EncodeToString(good)), false}, // the library's form, not ours
		{"bad outer cookie", append([]byte{1, 2, 3, 4}, good[4:]...), false},    // not V2 compressed
		{"not zlib", append(append([]byte{}, good[:8]...), bytes.Repeat([]byte{0xff}, len(good)-8)...), false},
		{"two digits", v2(2, 1, highestUS, nil), true},                                        // foreign precision
		{"nanoseconds", v2(3, 1, int64(time.Hour), nil), true},                                // foreign range
		{"huge geometry", v2(5, 1, 1<<62, nil), true},                                         // rejected before allocating
		{"zero run past the end", v2(3, 1, highestUS, []byte{0xfd, 0xff, 0xff, 0x0f}), false}, // corrupt payload
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Decode(tc.b)
			if err == nil {
				t.Fatalf("Decode accepted it: %v values", h.Count())
			}
			if got := errors.Is(err, ErrGeometry); got != tc.geometry {
				t.Errorf("errors.Is(%v, ErrGeometry) = %v, want %v", err, got, tc.geometry)
			}
			dst := one(time.Second)
			err = dst.MergeV2(tc.b, 1)
			if err == nil {
				t.Fatal("MergeV2 accepted it")
			}
			if got := errors.Is(err, ErrGeometry); got != tc.geometry {
				t.Errorf("MergeV2: errors.Is(%v, ErrGeometry) = %v, want %v", err, got, tc.geometry)
			}
			if !dst.Equal(one(time.Second)) {
				t.Error("MergeV2 changed its destination")
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, h := range []*Hist{New(), one(time.Millisecond), func() *Hist { h, _ := randomHist(8, 300); return h }()} {
		b, _ := h.Encode()
		f.Add(b, []byte{})
	}
	f.Add(v2(3, 1, highestUS, []byte{0x02, 0x03, 0x04}), []byte{1, 2, 3})
	f.Add([]byte{}, []byte{0x10, 0xff, 0x00, 0x7f, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, b, values []byte) {
		// Decode never panics, and what it accepts round-trips.
		if h, err := Decode(b); err == nil {
			re, err := h.Encode()
			if err != nil {
				t.Fatal(err)
			}
			h2, err := Decode(re)
			if err != nil || !h2.Equal(h) {
				t.Fatalf("decoded Hist does not round-trip: %v", err)
			}
		}
		// A Hist built from the fuzz input round-trips exactly.
		h := New()
		for i := 0; i+2 < len(values); i += 3 {
			exp := values[i] % 40 // up to 2^40 µs: past 1 h, so clamping too
			v := time.Duration(uint64(values[i+1])<<exp|uint64(values[i+2])) * time.Microsecond
			h.RecordN(v, int64(values[i]>>6)+1)
		}
		enc, err := h.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(enc)
		if err != nil {
			t.Fatal(err)
		}
		got.SetClamped(h.Clamped())
		if !got.Equal(h) {
			t.Fatal("decode(encode(h)) != h")
		}
	})
}
