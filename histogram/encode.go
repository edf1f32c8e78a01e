package histogram

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// ErrGeometry is returned by Decode for a well-formed histogram whose range
// or precision is not the one every Hist has (1 µs .. 1 h, 3 digits).
var ErrGeometry = errors.New("histogram: foreign histogram geometry")

// V2 layout: a 4-byte cookie and a 4-byte length, both big-endian, then a
// zlib stream whose first 40 bytes are the uncompressed header (cookie,
// payload length, normalizing offset, significant digits, lowest, highest,
// conversion ratio).
const (
	v2OuterHeader = 8
	v2InnerHeader = 40
)

// Encode returns h in the HdrHistogram V2 compressed encoding as raw binary
// bytes: base64.StdEncoding of the result is exactly what HdrHistogram tools
// (and the library's Decode and .hlog files) read. We ship raw bytes (a
// protobuf bytes field) and pay base64's 33% only where text is needed.
//
// The library's own Encode returns base64 text and costs about 0.6 ms and
// 850 KB of garbage per histogram (a BestCompression zlib writer per call and
// a write per varint); a worker encodes 12 histograms every second, so
// Encode writes the same format itself with a pooled zlib writer.
//
// The clamped count is not part of the V2 format and is not encoded: callers
// ship Clamped alongside and restore it with SetClamped.
func (h *Hist) Encode() ([]byte, error) {
	counts := countsOf(h.h)
	last := len(counts) - 1
	for last >= 0 && counts[last] == 0 {
		last--
	}
	enc := encoders.Get().(*encoder)
	defer encoders.Put(enc)
	payload := append(enc.payload[:0], make([]byte, v2InnerHeader)...)
	for i := 0; i <= last; {
		if counts[i] != 0 {
			payload = appendZigZag(payload, counts[i])
			i++
			continue
		}
		j := i + 1
		for j <= last && counts[j] == 0 {
			j++
		}
		// A lone zero is written as 0, a run as its negated length.
		if j-i == 1 {
			payload = appendZigZag(payload, 0)
		} else {
			payload = appendZigZag(payload, -int64(j-i))
		}
		i = j
	}
	enc.payload = payload
	binary.BigEndian.PutUint32(payload[0:], uint32(hdrhistogram.V2EncodingCookieBase|0x10))
	binary.BigEndian.PutUint32(payload[4:], uint32(len(payload)-v2InnerHeader))
	binary.BigEndian.PutUint32(payload[8:], 0) // normalizing index offset
	binary.BigEndian.PutUint32(payload[12:], sigDigits)
	binary.BigEndian.PutUint64(payload[16:], lowestUS)
	binary.BigEndian.PutUint64(payload[24:], highestUS)
	binary.BigEndian.PutUint64(payload[32:], math.Float64bits(1)) // integer-to-double ratio

	enc.out.Reset()
	enc.out.Write(make([]byte, v2OuterHeader))
	enc.z.Reset(&enc.out)
	if _, err := enc.z.Write(payload); err != nil {
		return nil, fmt.Errorf("histogram: encode: %w", err)
	}
	if err := enc.z.Close(); err != nil {
		return nil, fmt.Errorf("histogram: encode: %w", err)
	}
	b := bytes.Clone(enc.out.Bytes()) // the one allocation: the caller keeps it
	binary.BigEndian.PutUint32(b[0:], uint32(hdrhistogram.V2CompressedEncodingCookieBase|0x10))
	binary.BigEndian.PutUint32(b[4:], uint32(len(b)-v2OuterHeader))
	return b, nil
}

// encoder is Encode's scratch space, pooled: a zlib writer allocates several
// hundred KB, and the payload and compressed buffers would be garbage every
// second otherwise.
type encoder struct {
	z       *zlib.Writer
	payload []byte
	out     bytes.Buffer
}

var encoders = sync.Pool{New: func() any { return &encoder{z: zlib.NewWriter(nil)} }}

// appendZigZag appends v in HdrHistogram's ZigZag LEB128-64b9B form: standard
// LEB128 for up to 8 bytes, and a 9th byte carrying the top 8 bits whole.
func appendZigZag(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for i := 0; i < 8; i++ {
		if u < 0x80 {
			return append(b, byte(u))
		}
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

// Decode parses the raw bytes Encode returns. It rejects anything but a
// complete V2 compressed histogram with exactly our geometry (ErrGeometry
// for a foreign geometry), and checks the geometry before the counts array
// is allocated, so hostile input cannot make it allocate more than one Hist.
// The result's Clamped is 0: see SetClamped.
func Decode(b []byte) (*Hist, error) {
	var r v2Reader
	if _, err := r.open(b); err != nil {
		return nil, err
	}
	h, err := hdrhistogram.Decode([]byte(base64.StdEncoding.EncodeToString(b)))
	if err != nil {
		return nil, fmt.Errorf("histogram: decode: %w", err)
	}
	if !sameGeometry(h) { // open checked this; kept as a last line
		return nil, ErrGeometry
	}
	return &Hist{h: h}, nil
}
