package cluster

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

	"github.com/tailrace/tailrace/histogram"
)

// Why the coordinator has its own V2 decoder: histogram.Decode builds a
// whole histogram (a 190 KB counts array, zeroed) for every phase of every
// interval of every worker, only for it to be merged and dropped. With 200
// workers that is 2,400 histograms and 450 MB of garbage a second. A
// received histogram holds a few hundred non-zero buckets; v2Decoder reads
// just those and adds them to the destination, reusing its buffers. It
// accepts exactly what histogram.Decode accepts, and merging its result
// equals merging Decode's (FuzzMergeV2 checks both).

// geometry of every histogram.Hist, read from the library once.
var v2Geom = sync.OnceValue(func() (g struct {
	lowest, highest int64
	digits          int64
	countsLen       int
	halfMag         uint // log2 of a bucket's half count of sub-buckets
}) {
	h := histogram.New().HDR()
	g.lowest, g.highest, g.digits = h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures()
	g.countsLen = len(h.Export().Counts)
	// As hdrhistogram computes it: the sub-bucket count is the power of two
	// that resolves 2*10^digits at unit resolution.
	single := 2 * math.Pow10(int(g.digits))
	g.halfMag = uint(math.Ceil(math.Log2(single))) - 1
	return g
})

// v2Value is the lowest value of counts index idx, for a lowest trackable
// value of 1 (unit magnitude 0): bucket 0 holds 0..2*half-1 at unit
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

type v2Count struct {
	idx int32
	n   int64
}

// v2Decoder parses V2 histograms into (index, count) pairs. Not safe for
// concurrent use; get one from v2Decoders.
type v2Decoder struct {
	br      bytes.Reader
	zr      io.ReadCloser
	payload []byte
	counts  []v2Count
}

var v2Decoders = sync.Pool{New: func() any { return new(v2Decoder) }}

const (
	v2OuterHeader = 8
	v2InnerHeader = 40
)

var errV2 = errors.New("cluster: malformed V2 histogram")

// parse appends the non-zero buckets of b to d.counts and returns them.
func (d *v2Decoder) parse(b []byte) ([]v2Count, error) {
	g := v2Geom()
	if len(b) < v2OuterHeader {
		return nil, fmt.Errorf("%w: %d bytes", errV2, len(b))
	}
	if c := int32(binary.BigEndian.Uint32(b)) &^ 0xf0; c != hdrhistogram.V2CompressedEncodingCookieBase {
		return nil, fmt.Errorf("%w: cookie %#x", errV2, uint32(c))
	}
	if n := binary.BigEndian.Uint32(b[4:]); uint64(n) != uint64(len(b)-v2OuterHeader) {
		return nil, fmt.Errorf("%w: compressed length %d of %d", errV2, n, len(b)-v2OuterHeader)
	}
	d.br.Reset(b[v2OuterHeader:])
	if d.zr == nil {
		zr, err := zlib.NewReader(&d.br)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errV2, err)
		}
		d.zr = zr
	} else if err := d.zr.(zlib.Resetter).Reset(&d.br, nil); err != nil {
		return nil, fmt.Errorf("%w: %v", errV2, err)
	}
	var hdr [v2InnerHeader]byte
	if _, err := io.ReadFull(d.zr, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %v", errV2, err)
	}
	if c := int32(binary.BigEndian.Uint32(hdr[0:])) &^ 0xf0; c != hdrhistogram.V2EncodingCookieBase {
		return nil, fmt.Errorf("%w: inner cookie %#x", errV2, uint32(c))
	}
	plen := int32(binary.BigEndian.Uint32(hdr[4:]))
	digits := int64(int32(binary.BigEndian.Uint32(hdr[12:])))
	lowest := int64(binary.BigEndian.Uint64(hdr[16:]))
	highest := int64(binary.BigEndian.Uint64(hdr[24:]))
	if digits != g.digits || lowest != g.lowest || highest != g.highest {
		return nil, fmt.Errorf("%w: lowest %d, highest %d, %d digits", histogram.ErrGeometry, lowest, highest, digits)
	}
	if plen < 0 || int64(plen) > int64(g.countsLen)*9 {
		return nil, fmt.Errorf("%w: payload length %d", errV2, plen)
	}
	// Read one byte more than announced: a longer payload is an error, and
	// reaching the end verifies zlib's checksum.
	if cap(d.payload) < int(plen)+1 {
		d.payload = make([]byte, 0, int(plen)+1)
	}
	buf := bytes.NewBuffer(d.payload[:0])
	n, err := buf.ReadFrom(io.LimitReader(d.zr, int64(plen)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errV2, err)
	}
	if n != int64(plen) {
		return nil, fmt.Errorf("%w: payload of %d bytes, announced %d", errV2, n, plen)
	}
	payload := buf.Bytes()
	d.payload = payload
	start := len(d.counts)
	var idx, total int64
	for pos := 0; pos < len(payload); {
		v, w, err := zigZag(payload[pos:])
		if err != nil {
			return nil, err
		}
		pos += w
		if v < 0 {
			zeros := -v
			if zeros <= 0 || zeros > int64(g.countsLen)-idx {
				return nil, fmt.Errorf("%w: run of %d zeros at index %d", errV2, zeros, idx)
			}
			idx += zeros
			continue
		}
		if idx >= int64(g.countsLen) {
			return nil, fmt.Errorf("%w: index %d past %d counts", errV2, idx, g.countsLen)
		}
		if v > math.MaxInt64-total {
			return nil, fmt.Errorf("%w: counts sum past MaxInt64", errV2)
		}
		total += v
		if v > 0 {
			d.counts = append(d.counts, v2Count{int32(idx), v})
		}
		idx++
	}
	return d.counts[start:], nil
}

// zigZag reads one ZigZag LEB128-64b9B value: LEB128 for up to 8 bytes, and
// a 9th byte carrying its 8 bits whole.
func zigZag(b []byte) (int64, int, error) {
	var u uint64
	for i := 0; i < 9; i++ {
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

// apply adds counts to dst, and clamped to its clamped count.
func applyV2(dst *histogram.Hist, counts []v2Count, clamped int64) {
	g := v2Geom()
	h := dst.HDR()
	var dropped int64
	for _, c := range counts {
		// Recording the bucket's lowest value lands in the same bucket: this
		// is what the library's own Merge does.
		if h.RecordValues(v2Value(int(c.idx), g.halfMag), c.n) != nil {
			dropped += c.n // only a total count past MaxInt64
		}
	}
	dst.SetClamped(dst.Clamped() + clamped + dropped)
}

// mergeV2 adds the histogram encoded in b (histogram.Hist.Encode's bytes)
// and clamped values to dst. On error dst is unchanged.
func mergeV2(dst *histogram.Hist, b []byte, clamped int64) error {
	d := v2Decoders.Get().(*v2Decoder)
	defer d.release()
	counts, err := d.parse(b)
	if err != nil {
		return err
	}
	applyV2(dst, counts, clamped)
	return nil
}

func (d *v2Decoder) release() {
	d.counts = d.counts[:0]
	if cap(d.counts) > 1<<16 {
		d.counts = nil // one huge histogram should not pin its buffer forever
	}
	v2Decoders.Put(d)
}
