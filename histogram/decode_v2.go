package histogram

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// errV2 wraps every error about bytes that are not a well-formed V2
// histogram (a foreign geometry is ErrGeometry instead).
var errV2 = errors.New("histogram: malformed V2 histogram")

// v2Layout is how every Hist indexes its counts, read from the library
// once: how many counts there are, and log2 of half the sub-buckets of a
// bucket.
var v2Layout = sync.OnceValue(func() (l struct {
	countsLen int
	halfMag   uint
}) {
	l.countsLen = len(countsOf(newHDR()))
	// As hdrhistogram computes it: the sub-bucket count is the power of two
	// that resolves 2*10^digits at unit resolution.
	l.halfMag = uint(math.Ceil(math.Log2(2*math.Pow10(sigDigits)))) - 1
	return l
})

// v2Value is the lowest value of counts index idx. Our lowest trackable
// value is 1 (unit magnitude 0): bucket 0 holds 0..2*half-1 at unit
// resolution, and every later bucket the upper half of its sub-buckets at
// twice the previous resolution.
func v2Value(idx int, halfMag uint) int64 {
	half := 1 << halfMag
	if idx < 2*half {
		return int64(idx)
	}
	bucket := idx>>halfMag - 1
	sub := idx&(half-1) + half
	return int64(sub) << uint(bucket)
}

// v2Reader reads the headers of V2 compressed histograms, reusing its zlib
// reader from one histogram to the next.
type v2Reader struct {
	br  bytes.Reader
	zr  io.ReadCloser // nil until the first open
	hdr [v2InnerHeader]byte
}

// open checks b's outer header, points r.zr at b's zlib stream, and reads
// and checks the inner header, geometry included. It returns the payload
// length the header announces, unchecked; the payload is next in r.zr.
func (r *v2Reader) open(b []byte) (int32, error) {
	if len(b) < v2OuterHeader {
		return 0, fmt.Errorf("%w: %d bytes, want at least %d", errV2, len(b), v2OuterHeader)
	}
	if c := int32(binary.BigEndian.Uint32(b)) &^ 0xf0; c != hdrhistogram.V2CompressedEncodingCookieBase {
		return 0, fmt.Errorf("%w: cookie %#x is not V2 compressed", errV2, uint32(c))
	}
	if n := binary.BigEndian.Uint32(b[4:]); uint64(n) != uint64(len(b)-v2OuterHeader) {
		return 0, fmt.Errorf("%w: compressed length %d, have %d bytes", errV2, n, len(b)-v2OuterHeader)
	}
	r.br.Reset(b[v2OuterHeader:])
	if r.zr == nil {
		zr, err := zlib.NewReader(&r.br)
		if err != nil {
			return 0, fmt.Errorf("%w: %v", errV2, err)
		}
		r.zr = zr
	} else if err := r.zr.(zlib.Resetter).Reset(&r.br, nil); err != nil {
		return 0, fmt.Errorf("%w: %v", errV2, err)
	}
	hdr := r.hdr[:]
	if _, err := io.ReadFull(r.zr, hdr); err != nil {
		return 0, fmt.Errorf("%w: header: %v", errV2, err)
	}
	if c := int32(binary.BigEndian.Uint32(hdr[0:])) &^ 0xf0; c != hdrhistogram.V2EncodingCookieBase {
		return 0, fmt.Errorf("%w: inner cookie %#x is not V2", errV2, uint32(c))
	}
	digits := int32(binary.BigEndian.Uint32(hdr[12:]))
	lowest := int64(binary.BigEndian.Uint64(hdr[16:]))
	highest := int64(binary.BigEndian.Uint64(hdr[24:]))
	if digits != sigDigits || lowest != lowestUS || highest != highestUS {
		return 0, fmt.Errorf("%w: lowest %d, highest %d, %d digits", ErrGeometry, lowest, highest, digits)
	}
	return int32(binary.BigEndian.Uint32(hdr[4:])), nil
}

// V2Count is one non-zero bucket of a histogram parsed by V2Decoder: its
// index in the counts array every Hist shares, and its count. Only
// Hist.ApplyV2 reads it.
type V2Count struct {
	idx int32
	n   int64
}

// V2Decoder parses histograms in the V2 encoding (Hist.Encode's bytes) into
// their non-zero buckets, without building a Hist: see Hist.ApplyV2 and
// Hist.MergeV2.
//
// It exists for receivers that only merge what they receive. Decode,
// through hdrhistogram-go, allocates a whole histogram for every message (a
// zeroed 190 KB counts array) only for the receiver to merge it and drop
// it: a coordinator of 200 workers merging 12 phases a second made 2,400 of
// them, 450 MB of garbage a second. A received histogram holds a few
// hundred non-zero buckets; V2Decoder reads just those, and keeps its
// buffers and zlib reader from one Parse to the next, so that once warm it
// allocates nothing beyond what zlib does per stream.
//
// The zero value is ready to use; GetV2Decoder hands out pooled ones. A
// V2Decoder is not safe for concurrent use.
type V2Decoder struct {
	r       v2Reader
	payload []byte
	counts  []V2Count
}

var v2Decoders = sync.Pool{New: func() any { return new(V2Decoder) }}

// GetV2Decoder returns a V2Decoder from a pool; give it back with Release.
func GetV2Decoder() *V2Decoder { return v2Decoders.Get().(*V2Decoder) }

// Release resets d and gives it back to the pool GetV2Decoder draws from.
// Neither d nor any counts it returned may be used afterwards.
func (d *V2Decoder) Release() {
	d.Reset()
	if cap(d.counts) > 1<<16 {
		d.counts = nil // one huge histogram should not pin its buffer forever
	}
	v2Decoders.Put(d)
}

// Reset forgets the counts Parse returned, keeping the buffers for the next
// Parse, which overwrites them: counts returned before must not be used
// afterwards.
func (d *V2Decoder) Reset() { d.counts = d.counts[:0] }

// Parse reads the histogram encoded in b (Hist.Encode's bytes) and returns
// its non-zero buckets, for Hist.ApplyV2. It accepts exactly what Decode
// accepts, and rejects a foreign geometry with ErrGeometry.
//
// The counts are appended to d's buffer, and stay valid and unchanged until
// d's next Reset or Release: a caller can parse several histograms first
// and apply them only once all have parsed, so that one malformed message
// changes nothing. On error d holds what it held before.
func (d *V2Decoder) Parse(b []byte) ([]V2Count, error) {
	// FuzzMergeV2 checks that this accepts what Decode accepts, and that
	// applying the counts equals merging Decode's result.
	start := len(d.counts)
	if err := d.parse(b); err != nil {
		d.counts = d.counts[:start]
		return nil, err
	}
	end := len(d.counts)
	return d.counts[start:end:end], nil
}

// parse appends the non-zero buckets of b to d.counts.
func (d *V2Decoder) parse(b []byte) error {
	l := v2Layout()
	plen, err := d.r.open(b)
	if err != nil {
		return err
	}
	if plen < 0 || int64(plen) > int64(l.countsLen)*9 {
		return fmt.Errorf("%w: payload length %d", errV2, plen)
	}
	// Read one byte more than announced: a longer payload is an error, and
	// reaching the end verifies zlib's checksum.
	if cap(d.payload) < int(plen)+1 {
		d.payload = make([]byte, int(plen)+1)
	}
	n, err := io.ReadFull(d.r.zr, d.payload[:plen+1])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: %v", errV2, err)
	}
	if n != int(plen) {
		return fmt.Errorf("%w: payload of %d bytes or more, announced %d", errV2, n, plen)
	}
	payload := d.payload[:n]
	var idx, total int64
	for pos := 0; pos < len(payload); {
		v, w, err := zigZag(payload[pos:])
		if err != nil {
			return err
		}
		pos += w
		if v < 0 {
			zeros := -v
			if zeros <= 0 || zeros > int64(l.countsLen)-idx {
				return fmt.Errorf("%w: run of %d zeros at index %d", errV2, zeros, idx)
			}
			idx += zeros
			continue
		}
		if idx >= int64(l.countsLen) {
			return fmt.Errorf("%w: index %d past %d counts", errV2, idx, l.countsLen)
		}
		if v > math.MaxInt64-total {
			return fmt.Errorf("%w: counts sum past MaxInt64", errV2)
		}
		total += v
		if v > 0 {
			d.counts = append(d.counts, V2Count{int32(idx), v})
		}
		idx++
	}
	return nil
}

// zigZag reads one value in the ZigZag LEB128-64b9B form appendZigZag
// writes, and returns it and its length in bytes.
func zigZag(b []byte) (int64, int, error) {
	var u uint64
	for i := range 9 {
		if i >= len(b) {
			return 0, 0, fmt.Errorf("%w: truncated value", errV2)
		}
		if i == 8 {
			u |= uint64(b[8]) << 56
			return unzig(u), 9, nil
		}
		u |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return unzig(u), i + 1, nil
		}
	}
	panic("unreachable")
}

func unzig(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// ApplyV2 adds counts, as V2Decoder.Parse returned them, to h, and clamped
// to its clamped count: the same as h.Merge of the Hist that Decode returns
// for the parsed bytes, with clamped as its clamped count.
func (h *Hist) ApplyV2(counts []V2Count, clamped int64) {
	halfMag := v2Layout().halfMag
	for _, c := range counts {
		// Recording the bucket's lowest value lands in the same bucket, as
		// the library's own Merge does; it keeps the total count right,
		// which adding to countsOf(h.h) would not.
		if h.h.RecordValues(v2Value(int(c.idx), halfMag), c.n) != nil {
			clamped += c.n // only a total count past MaxInt64 gets here
		}
	}
	h.clamped += clamped
}

// MergeV2 adds the histogram encoded in b (Hist.Encode's bytes) and clamped
// values to h: what h.Merge adds of Decode's result with SetClamped(clamped),
// at a fraction of the cost and without allocating a Hist. It accepts
// exactly what Decode accepts; on error h is unchanged. To merge several
// histograms all or nothing, use a V2Decoder and ApplyV2.
func (h *Hist) MergeV2(b []byte, clamped int64) error {
	d := GetV2Decoder()
	defer d.Release()
	counts, err := d.Parse(b)
	if err != nil {
		return err
	}
	h.ApplyV2(counts, clamped)
	return nil
}
