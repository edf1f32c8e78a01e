package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
	"unsafe"
)

// Sizes of the HTTP/1.1 reader. A head must fit in h1MaxHead (net/http's
// client allows 10 MB; no server a load test aims at sends a megabyte of
// headers); a chunk-size line or trailer line in h1MaxLine.
const (
	h1BufSize = 16 << 10
	h1MaxHead = 1 << 20
	h1MaxLine = 4 << 10
)

var (
	errH1Malformed = errors.New("loadgen: malformed HTTP/1.1 response")
	errH1TooLarge  = errors.New("loadgen: HTTP/1.1 response head larger than 1 MiB")
)

// h1Bufs lends read buffers to connections while a response is being read:
// an idle keep-alive connection holds none, and neither does a request
// still waiting for its first byte (see fill).
var h1Bufs = sync.Pool{New: func() any { b := make([]byte, h1BufSize); return &b }}

// h1Head is what the reader learned from a response's head. The zero value
// is an empty head.
type h1Head struct {
	status    int
	minor     int   // HTTP/1.minor
	length    int64 // Content-Length; -1 when absent
	chunked   bool  // Transfer-Encoding ends in chunked
	otherTE   bool  // a Transfer-Encoding other than chunked: the body runs to EOF
	close     bool  // Connection: close (or HTTP/1.0 without keep-alive)
	keepAlive bool  // Connection: keep-alive
	server    time.Duration
	hasServer bool
	interim   int // 1xx responses skipped before this one
}

// pooledReader is a source that reads a response's first bytes into a
// buffer it borrows only once they are there (fileConn.readPooled).
type pooledReader interface {
	readPooled(pool bytePool) (*[]byte, int, error)
}

// bytePool lends byte buffers, as *[]byte: a *sync.Pool, or a test's.
type bytePool interface {
	Get() any
	Put(any)
}

// h1FirstRead is the size of the buffer each connection keeps for the first
// read of a response from a source that waits inside Read (TLS): enough for
// most heads, and small next to h1BufSize.
const h1FirstRead = 512

// h1Reader reads HTTP/1.1 responses from src through a buffer it borrows
// from h1Bufs. It is owned by one connection and used by one request at a
// time; the zero value with src set is ready to use.
type h1Reader struct {
	src   io.Reader
	bp    *[]byte // the pooled buffer, nil while idle
	buf   []byte
	r, w  int  // unread bytes are buf[r:w]
	first bool // buf is small: it took a response's first read, and no other
	small [h1FirstRead]byte
}

// fill reads once from src into the free end of the buffer, compacting or
// (for a head that does not fit) growing it first. It returns how many bytes
// it read; a read that returns bytes and an error keeps the bytes.
func (rd *h1Reader) fill() (int, error) {
	if rd.buf == nil {
		// A response's first read, which may wait long for a slow server:
		// it holds no pooled buffer while it waits.
		rd.r, rd.w = 0, 0
		if pr, ok := rd.src.(pooledReader); ok {
			bp, n, err := pr.readPooled(&h1Bufs)
			rd.bp, rd.buf = bp, *bp
			return rd.filled(n, err)
		}
		// Other sources (TLS) wait inside Read: the first read goes into
		// the connection's own small buffer.
		rd.buf, rd.first = rd.small[:], true
		n, err := rd.src.Read(rd.buf)
		return rd.filled(n, err)
	}
	if rd.first {
		// The response goes on past its first read: move to a pooled buffer
		// (TLS has the rest of the record decrypted already: the next Read
		// makes no system call).
		bp := h1Bufs.Get().(*[]byte)
		rd.w = copy(*bp, rd.buf[rd.r:rd.w])
		rd.r = 0
		rd.bp, rd.buf, rd.first = bp, *bp, false
	}
	if rd.r > 0 && rd.w == len(rd.buf) {
		rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.r = 0
	}
	if rd.w == len(rd.buf) {
		if len(rd.buf) >= h1MaxHead {
			return 0, errH1TooLarge
		}
		// A rare oversized head: a private buffer, never returned to the pool.
		nb := make([]byte, 2*len(rd.buf))
		rd.w = copy(nb, rd.buf[rd.r:rd.w])
		rd.r = 0
		rd.buf, rd.bp = nb, nil
	}
	n, err := rd.src.Read(rd.buf[rd.w:])
	return rd.filled(n, err)
}

// filled accounts for a read of n bytes into the free end of the buffer.
func (rd *h1Reader) filled(n int, err error) (int, error) {
	if n < 0 || n > len(rd.buf)-rd.w {
		return 0, errors.New("loadgen: invalid Read count")
	}
	rd.w += n
	if n > 0 {
		return n, nil // an error that came with bytes recurs on the next read
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return 0, err
}

// buffered reports how many unread bytes the buffer holds.
func (rd *h1Reader) buffered() int { return rd.w - rd.r }

// release gives the buffer back once nothing unread is left in it.
func (rd *h1Reader) release() {
	if rd.buf == nil || rd.r != rd.w {
		return
	}
	if rd.bp != nil {
		h1Bufs.Put(rd.bp)
	}
	rd.bp, rd.buf, rd.r, rd.w, rd.first = nil, nil, 0, 0, false
}

// drop forgets the buffer and its contents (the connection is going away).
func (rd *h1Reader) drop() {
	rd.r = rd.w
	rd.release()
}

// readHead reads one final response head into h, skipping 1xx interim
// responses (101 Switching Protocols is final: we never ask to switch).
func (rd *h1Reader) readHead(h *h1Head) error {
	interim, scanned := 0, 0
	for {
		b := rd.buf[rd.r:rd.w]
		n := headEnd(b, scanned)
		if n < 0 {
			// Resume the search where it stopped, so that a head dribbled in
			// byte by byte costs linear time, not quadratic.
			scanned = max(0, len(b)-2)
			if len(b) >= h1MaxHead {
				return errH1TooLarge
			}
			if _, err := rd.fill(); err != nil {
				if errors.Is(err, io.EOF) {
					return io.ErrUnexpectedEOF
				}
				return err
			}
			continue
		}
		if err := parseHead(b[:n], h); err != nil {
			return err
		}
		rd.r += n
		scanned = 0
		if h.status >= 100 && h.status < 200 && h.status != 101 {
			interim++
			continue
		}
		h.interim = interim
		return nil
	}
}

// bodyKind says how a response's body is delimited (RFC 9112 §6.3).
type bodyKind uint8

const (
	bodyNone bodyKind = iota
	bodyLength
	bodyChunked
	bodyToEOF
)

// framing returns how the body of a response to a request (HEAD or not) is
// delimited, and whether the connection can carry another request after it.
func (h *h1Head) framing(head bool) (bodyKind, bool) {
	persistent := !h.close && (h.minor >= 1 || h.keepAlive)
	switch {
	case head, h.status < 200, h.status == 204, h.status == 304:
		return bodyNone, persistent && h.status != 101
	case h.chunked:
		return bodyChunked, persistent
	case h.otherTE:
		return bodyToEOF, false
	case h.length >= 0:
		return bodyLength, persistent
	}
	return bodyToEOF, false
}

// readBody reads a body of the given kind to its end and returns its length
// (chunked: the data, not the framing).
func (rd *h1Reader) readBody(kind bodyKind, length int64) (int64, error) {
	switch kind {
	case bodyLength:
		return rd.discard(length)
	case bodyChunked:
		return rd.readChunked()
	case bodyToEOF:
		return rd.discardToEOF()
	}
	return 0, nil
}

// discard consumes exactly n bytes.
func (rd *h1Reader) discard(n int64) (int64, error) {
	var got int64
	for got < n {
		if rd.r == rd.w {
			rd.r, rd.w = 0, 0
			if _, err := rd.fill(); err != nil {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return got, err
			}
		}
		k := int64(rd.w - rd.r)
		if k > n-got {
			k = n - got
		}
		rd.r += int(k)
		got += k
	}
	return got, nil
}

func (rd *h1Reader) discardToEOF() (int64, error) {
	got := int64(rd.w - rd.r)
	rd.r = rd.w
	for {
		rd.r, rd.w = 0, 0
		n, err := rd.fill()
		got += int64(n)
		rd.r = rd.w
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
	}
}

// readLine returns the next line without its line ending. The line aliases
// the buffer: it is valid until the next read.
func (rd *h1Reader) readLine() ([]byte, error) {
	for {
		if i := bytes.IndexByte(rd.buf[rd.r:rd.w], '\n'); i >= 0 {
			line := rd.buf[rd.r : rd.r+i]
			rd.r += i + 1
			return bytes.TrimSuffix(line, []byte{'\r'}), nil
		}
		if rd.w-rd.r >= h1MaxLine {
			return nil, fmt.Errorf("%w: line longer than %d bytes in chunked body", errH1Malformed, h1MaxLine)
		}
		if rd.buf != nil && rd.r == rd.w {
			rd.r, rd.w = 0, 0
		}
		if _, err := rd.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// readChunked reads a chunked body and its trailers.
func (rd *h1Reader) readChunked() (int64, error) {
	var total int64
	for {
		line, err := rd.readLine()
		if err != nil {
			return total, err
		}
		size, ok := parseChunkSize(line)
		if !ok {
			return total, fmt.Errorf("%w: bad chunk size line", errH1Malformed)
		}
		if size == 0 {
			break
		}
		n, err := rd.discard(size)
		total += n
		if err != nil {
			return total, err
		}
		line, err = rd.readLine()
		if err != nil {
			return total, err
		}
		if len(line) != 0 {
			return total, fmt.Errorf("%w: chunk data longer than its size", errH1Malformed)
		}
	}
	for { // trailers, up to the blank line
		line, err := rd.readLine()
		if err != nil {
			return total, err
		}
		if len(line) == 0 {
			return total, nil
		}
	}
}

// parseChunkSize parses "1a2b[;ext]" with optional whitespace before the
// extensions.
func parseChunkSize(line []byte) (int64, bool) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 15 { // 15 hex digits never overflow int64
		return 0, false
	}
	var n int64
	for _, c := range line {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | int64(c)
	}
	return n, true
}

// parseHead parses a whole response head (through its blank line, as
// headEnd delimits it) into h.
func parseHead(head []byte, h *h1Head) error {
	*h = h1Head{length: -1}
	rest := head
	i := bytes.IndexByte(rest, '\n')
	if i < 0 {
		return fmt.Errorf("%w: no status line", errH1Malformed)
	}
	if err := parseStatusLine(bytes.TrimSuffix(rest[:i], []byte{'\r'}), h); err != nil {
		return err
	}
	rest = rest[i+1:]
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		line := rest
		if i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // obsolete line folding: a continuation of a header we need not read
		}
		if err := parseHeader(line, h); err != nil {
			return err
		}
	}
	if h.minor == 0 && !h.keepAlive {
		h.close = true
	}
	return nil
}

// headEnd returns the length of the head at the start of b (through the
// blank line), or -1 if b holds no blank line yet. The search starts at
// from, which must not be past the start of a blank line's line end.
func headEnd(b []byte, from int) int {
	for i := from; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		next := i + j + 1
		switch {
		case next < len(b) && b[next] == '\n':
			return next + 1
		case next+1 < len(b) && b[next] == '\r' && b[next+1] == '\n':
			return next + 2
		}
		i = next
	}
	return -1
}

// parseStatusLine parses "HTTP/1.x NNN reason".
func parseStatusLine(line []byte, h *h1Head) error {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[7] < '0' || line[7] > '9' || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return fmt.Errorf("%w: bad status line %q", errH1Malformed, clip(line))
	}
	h.minor = int(line[7] - '0')
	st := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return fmt.Errorf("%w: bad status code in %q", errH1Malformed, clip(line))
		}
		st = st*10 + int(c-'0')
	}
	if st < 100 {
		return fmt.Errorf("%w: status code %d", errH1Malformed, st)
	}
	h.status = st
	return nil
}

// parseHeader reads one "Name: value" line, keeping what framing and timing
// need. Names are compared without allocating.
func parseHeader(line []byte, h *h1Head) error {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return fmt.Errorf("%w: header line without a name %q", errH1Malformed, clip(line))
	}
	// The value is trimmed only for the headers read: most lines are not.
	name, value := line[:colon], line[colon+1:]
	switch {
	case equalFold(name, "content-length"):
		value = trimOWS(value)
		n, ok := parseLength(value)
		if !ok || (h.length >= 0 && h.length != n) {
			return fmt.Errorf("%w: bad or conflicting Content-Length %q", errH1Malformed, clip(value))
		}
		h.length = n
	case equalFold(name, "transfer-encoding"):
		last := trimOWS(value)
		if i := bytes.LastIndexByte(last, ','); i >= 0 {
			last = trimOWS(last[i+1:])
		}
		if equalFold(last, "chunked") {
			h.chunked, h.otherTE = true, false
		} else if !equalFold(last, "identity") {
			h.chunked, h.otherTE = false, true
		}
	case equalFold(name, "connection"):
		for tok := range bytes.SplitSeq(value, []byte{','}) {
			tok = trimOWS(tok)
			switch {
			case equalFold(tok, "close"):
				h.close = true
			case equalFold(tok, "keep-alive"):
				h.keepAlive = true
			}
		}
	case equalFold(name, "server-timing") && !h.hasServer:
		// The first Server-Timing header, as net/http's Header.Get reads it.
		// The string aliases the buffer only for this call.
		if value = trimOWS(value); len(value) > 0 {
			h.server, h.hasServer = parseServerTiming(unsafe.String(&value[0], len(value)))
		}
	}
	return nil
}

// trimOWS strips the optional whitespace (spaces and tabs) around a header
// value or list element.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// parseLength parses a Content-Length value: digits, or a list of equal
// values (some servers repeat it).
func parseLength(v []byte) (int64, bool) {
	n, ok := int64(-1), false
	for part := range bytes.SplitSeq(v, []byte{','}) {
		part = trimOWS(part)
		if len(part) == 0 || len(part) > 18 {
			return 0, false
		}
		var x int64
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, false
			}
			x = x*10 + int64(c-'0')
		}
		if ok && x != n {
			return 0, false
		}
		n, ok = x, true
	}
	return n, ok
}

// equalFold compares ASCII b with lower-case s, ignoring b's case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// clip keeps error messages about hostile input short.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
