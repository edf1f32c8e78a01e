package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// readResponse reads one whole response from src the way h1Conn does and
// reports what the connection learns: persistent says whether the framing
// allows another request, leftover how many bytes past the response the
// reads happened to bring in.
func readResponse(src io.Reader, head bool) (h h1Head, body int64, persistent bool, leftover int, err error) {
	rd := h1Reader{src: src}
	defer rd.drop()
	if _, err = rd.fill(); err != nil {
		return h, 0, false, 0, err
	}
	if err = rd.readHead(&h); err != nil {
		return h, 0, false, 0, err
	}
	kind, persistent := h.framing(head)
	body, err = rd.readBody(kind, h.length)
	return h, body, persistent, rd.buffered(), err
}

func TestH1Responses(t *testing.T) {
	tests := []struct {
		name       string
		resp       string
		head       bool
		status     int
		body       int64
		persistent bool
		server     time.Duration
		err        bool
	}{
		// The canned nginx answer: a 2-byte body, kept alive.
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, 200, 2, true, 0, false},
		// Header names are case-insensitive; bare LF line ends are tolerated.
		{"bare LF", "HTTP/1.1 200 OK\ncontent-LENGTH: 3\n\nabc", false, 200, 3, true, 0, false},
		// Chunked, with an extension and a trailer.
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n1\r\n!\r\n0\r\nTrailer: v\r\n\r\n", false, 200, 6, true, 0, false},
		// Transfer-Encoding wins over Content-Length.
		{"te over cl", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", false, 200, 2, true, 0, false},
		// Connection: close: read by length, then the connection goes.
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", false, 200, 2, false, 0, false},
		// HTTP/1.0 is not persistent unless it says keep-alive.
		{"1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false, 200, 2, false, 0, false},
		{"1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", false, 200, 2, true, 0, false},
		// No length at all: the body runs to EOF and the connection is done.
		{"to eof", "HTTP/1.1 200 OK\r\n\r\nuntil the end", false, 200, 13, false, 0, false},
		// Interim 100 and 103 responses are skipped.
		{"1xx", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", false, 201, 0, true, 0, false},
		// 204 and 304 have no body whatever they say.
		{"204", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", false, 204, 0, true, 0, false},
		// A HEAD response carries the GET's length but no body.
		{"head", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", true, 200, 0, true, 0, false},
		// The target's Server-Timing: the total entry.
		{"server-timing", "HTTP/1.1 503 Busy\r\nServer-Timing: app;dur=1, total;dur=5.5\r\nContent-Length: 0\r\n\r\n", false, 503, 0, true, 5500 * time.Microsecond, false},
		// Repeated equal Content-Length values are one value.
		{"cl list", "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", false, 200, 2, true, 0, false},
		// Bytes after the response: not persistent (framing disagreement).
		// (Read byte by byte, they are still unread when the body ends: the
		// next request on the connection fails on them instead.)
		{"extra bytes", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", false, 200, 2, false, 0, false},
		// Malformed inputs fail, never panic.
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", false, 0, 0, false, 0, true},
		{"not http", "SSH-2.0-OpenSSH\r\n\r\n", false, 0, 0, false, 0, true},
		{"conflicting cl", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", false, 200, 0, false, 0, true},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok", false, 200, 2, false, 0, true},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, 200, 0, false, 0, true},
		{"head cut", "HTTP/1.1 200 OK\r\nContent-Le", false, 0, 0, false, 0, true},
	}
	for _, tc := range tests {
		for _, split := range []bool{false, true} {
			if split && tc.name == "extra bytes" {
				continue
			}
			t.Run(fmt.Sprintf("%s/split=%v", tc.name, split), func(t *testing.T) {
				var src io.Reader = strings.NewReader(tc.resp)
				if split {
					src = iotest.OneByteReader(src) // every boundary lands mid-token somewhere
				}
				h, body, persistent, leftover, err := readResponse(src, tc.head)
				persistent = persistent && leftover == 0 // as h1Conn decides
				if (err != nil) != tc.err {
					t.Fatalf("err = %v, want error %v", err, tc.err)
				}
				if tc.err {
					return
				}
				if h.status != tc.status || body != tc.body || persistent != tc.persistent || h.server != tc.server {
					t.Errorf("status %d body %d persistent %v server %v, want %d %d %v %v",
						h.status, body, persistent, h.server, tc.status, tc.body, tc.persistent, tc.server)
				}
			})
		}
	}
}

func TestH1LargeBodyAndHead(t *testing.T) {
	// A body many buffers long, and a head longer than one buffer.
	body := bytes.Repeat([]byte("x"), 5*h1BufSize+7)
	big := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("y", 3*h1BufSize) + "\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n" + string(body)
	h, n, persistent, _, err := readResponse(strings.NewReader(big), false)
	if err != nil || h.status != 200 || n != int64(len(body)) || !persistent {
		t.Fatalf("status %d body %d persistent %v err %v", h.status, n, persistent, err)
	}
	huge := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("y", h1MaxHead) + "\r\n\r\n"
	if _, _, _, _, err := readResponse(strings.NewReader(huge), false); !errors.Is(err, errH1TooLarge) {
		t.Fatalf("head over the limit: err = %v, want errH1TooLarge", err)
	}
}

// genResponse builds a valid response from fuzzer-chosen parts; the parser
// must read back exactly what went in.
func genResponse(status uint16, minor uint8, body []byte, chunkLen uint16, mode uint8, closeConn bool) (wire []byte, wantStatus int, wantBody int64, wantPersistent bool) {
	st := 200 + int(status)%400 // final, never 1xx
	if st == 204 || st == 304 {
		st = 200
	}
	m := int(minor % 2)
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.%d %d Whatever\r\n", m, st)
	keep := !closeConn
	switch {
	case closeConn:
		b.WriteString("Connection: close\r\n")
	case m == 0:
		b.WriteString("Connection: keep-alive\r\n")
	}
	b.WriteString("Server-Timing: total;dur=1.5\r\n")
	switch mode % 3 {
	case 0: // Content-Length
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
		b.Write(body)
	case 1: // chunked in pieces of chunkLen
		b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		n := max(1, int(chunkLen)%64+1)
		for rest := body; len(rest) > 0; {
			k := min(n, len(rest))
			fmt.Fprintf(&b, "%x\r\n", k)
			b.Write(rest[:k])
			b.WriteString("\r\n")
			rest = rest[k:]
		}
		b.WriteString("0\r\n\r\n")
	default: // to EOF
		b.WriteString("\r\n")
		b.Write(body)
		keep = false
	}
	return b.Bytes(), st, int64(len(body)), keep
}

func FuzzH1Response(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), uint16(0), uint8(1), []byte("ok"), uint16(3), uint8(0), false, uint8(0))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"), uint16(3), uint8(0), []byte("hello world"), uint16(2), uint8(1), true, uint8(3))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\nbody"), uint16(99), uint8(1), []byte{}, uint16(0), uint8(2), false, uint8(1))
	f.Fuzz(func(t *testing.T, raw []byte, status uint16, minor uint8, body []byte, chunkLen uint16, mode uint8, closeConn bool, split uint8) {
		// Arbitrary bytes: never a panic, and the same answer however the
		// bytes are split across reads.
		h1, n1, p1, _, err1 := readResponse(bytes.NewReader(raw), false)
		h2, n2, p2, _, err2 := readResponse(iotest.OneByteReader(bytes.NewReader(raw)), false)
		if (err1 == nil) != (err2 == nil) || h1.status != h2.status || n1 != n2 || p1 != p2 {
			t.Fatalf("whole vs byte-wise reads differ: (%d %d %v %v) vs (%d %d %v %v)", h1.status, n1, p1, err1, h2.status, n2, p2, err2)
		}
		if n1 > int64(len(raw)) {
			t.Fatalf("body %d longer than the input %d", n1, len(raw))
		}

		// A generated valid response reads back exactly.
		wire, st, blen, keep := genResponse(status, minor, body, chunkLen, mode, closeConn)
		var src io.Reader = bytes.NewReader(wire)
		if split%2 == 1 {
			src = iotest.HalfReader(src)
		}
		h, n, persistent, leftover, err := readResponse(src, false)
		if err != nil || leftover != 0 {
			t.Fatalf("valid response %q: %v", wire, err)
		}
		if h.status != st || n != blen || persistent != keep || h.server != 1500*time.Microsecond {
			t.Fatalf("%q read as status %d body %d persistent %v server %v, want %d %d %v 1.5ms", wire, h.status, n, persistent, h.server, st, blen, keep)
		}
	})
}

// sizeRecorder is a source that returns at most max bytes per Read, as a TLS
// connection returns at most a record, and records each buffer's size.
type sizeRecorder struct {
	r     io.Reader
	max   int
	sizes []int
}

func (s *sizeRecorder) Read(p []byte) (int, error) {
	s.sizes = append(s.sizes, len(p))
	return s.r.Read(p[:min(len(p), s.max)])
}

// TestH1ReaderFirstReadSmall: from a source that waits inside Read (TLS),
// a response's first read goes into the connection's own small buffer, so
// a request waiting for its first byte holds no pooled buffer; a response
// longer than that read (a 1 KB head, a 40,000-byte body) moves to a pooled
// buffer and reads whole, and the buffer goes back when it is done.
func TestH1ReaderFirstReadSmall(t *testing.T) {
	resp := "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("a", 1000) + "\r\nContent-Length: 40000\r\n\r\n" + strings.Repeat("b", 40000)
	src := &sizeRecorder{r: strings.NewReader(resp), max: 16 << 10}
	rd := h1Reader{src: src}
	var h h1Head
	if err := rd.readHead(&h); err != nil {
		t.Fatal(err)
	}
	kind, persistent := h.framing(false)
	n, err := rd.readBody(kind, h.length)
	if err != nil || h.status != 200 || n != 40000 || !persistent || rd.buffered() != 0 {
		t.Fatalf("status %d, body %d, persistent %v, %d left over: %v", h.status, n, persistent, rd.buffered(), err)
	}
	if len(src.sizes) < 2 || src.sizes[0] != h1FirstRead || src.sizes[1] < h1BufSize-h1FirstRead {
		t.Errorf("reads into buffers of %v bytes: want the first %d, then pooled ones", src.sizes, h1FirstRead)
	}
	rd.release()
	if rd.buf != nil || rd.bp != nil || rd.first {
		t.Error("the buffer was not given back")
	}
	// The next response starts in the small buffer again.
	src.r, src.sizes = strings.NewReader("HTTP/1.1 204 No Content\r\n\r\n"), nil
	if err := rd.readHead(&h); err != nil || h.status != 204 {
		t.Fatalf("second response: %d, %v", h.status, err)
	}
	if len(src.sizes) != 1 || src.sizes[0] != h1FirstRead || rd.bp != nil {
		t.Errorf("second response: reads into %v, pooled buffer %v", src.sizes, rd.bp)
	}
}
