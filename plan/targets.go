package plan

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Target is one request of a targets file, in vegeta's HTTP format:
//
//	# a comment
//	GET https://example.test/api/items?id=1
//	Accept: application/json
//
//	POST https://example.test/api/items
//	Content-Type: application/json
//	@bodies/item.json
//
// A request line "METHOD URL", then its header lines "Name: value", then
// optionally one "@path" line naming the file its body is read from
// (relative to the targets file's directory); requests are separated by
// blank lines; a line starting with '#' is a comment. Every target has
// weight 1 and the label "METHOD /path" (see Label).
type Target struct {
	Method   string
	URL      string
	Headers  Headers
	BodyFile string // "" for none
	Line     int    // of the request line, from 1; ignored by WriteTargets
}

// maxTargetLine bounds one line of a targets file.
const maxTargetLine = 1 << 20

// ParseTargets reads a targets file; name is used in messages. Every error
// names the line (and the column where it helps).
func ParseTargets(name string, r io.Reader) ([]Target, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxTargetLine)
	var (
		out  []Target
		cur  *Target
		line int
	)
	bad := func(col int, format string, args ...any) error {
		return &Error{File: name, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
	}
	for sc.Scan() {
		line++
		raw := sc.Text()
		text := strings.TrimSpace(raw)
		col := 1 + len(raw) - len(strings.TrimLeft(raw, " \t"))
		switch {
		case strings.HasPrefix(text, "#"):
			continue
		case text == "":
			cur = nil
			continue
		case cur == nil:
			t, err := requestLine(text, col, bad)
			if err != nil {
				return nil, err
			}
			t.Line = line
			out = append(out, t)
			cur = &out[len(out)-1]
		case strings.HasPrefix(text, "@"):
			if cur.BodyFile != "" {
				return nil, bad(col, "a second body file for the request on line %d", cur.Line)
			}
			p := strings.TrimSpace(text[1:])
			if p == "" {
				return nil, bad(col, "@ without a file name (want @path/to/body)")
			}
			cur.BodyFile = p
		default:
			if cur.BodyFile != "" {
				return nil, bad(col, "a header after the body file of the request on line %d (the @file line comes last)", cur.Line)
			}
			k, v, ok := strings.Cut(text, ":")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok || !httpguts.ValidHeaderFieldName(k) {
				return nil, bad(col, "%q is not a header line \"Name: value\" (leave a blank line before the next request)", text)
			}
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, bad(col, "header %s: the value holds a character not allowed in a header", k)
			}
			cur.Headers = append(cur.Headers, Header{Name: k, Value: v})
		}
	}
	if err := sc.Err(); err != nil {
		line++
		return nil, bad(0, "%v", err)
	}
	if len(out) == 0 {
		return nil, &Error{File: name, Msg: "no targets (want lines such as: GET https://host/path)"}
	}
	return out, nil
}

// requestLine parses "METHOD URL".
func requestLine(text string, col int, bad func(int, string, ...any) error) (Target, error) {
	i := strings.IndexAny(text, " \t")
	if i < 0 {
		return Target{}, bad(col, "%q is not a request line \"METHOD URL\" (e.g. GET https://host/path)", text)
	}
	method, rest := text[:i], strings.TrimLeft(text[i:], " \t")
	ucol := col + len(text) - len(rest)
	if !validMethod(method) {
		return Target{}, bad(col, "%q is not an HTTP method", method)
	}
	u, err := url.Parse(rest)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(rest, " \t") {
		return Target{}, bad(ucol, "%q is not an http:// or https:// URL with a host", rest)
	}
	return Target{Method: method, URL: rest}, nil
}

// WriteTargets writes ts in the format ParseTargets reads.
func WriteTargets(w io.Writer, ts []Target) error {
	var b bytes.Buffer
	for i, t := range ts {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s %s\n", t.Method, t.URL)
		for _, h := range t.Headers {
			fmt.Fprintf(&b, "%s: %s\n", h.Name, h.Value)
		}
		if t.BodyFile != "" {
			fmt.Fprintf(&b, "@%s\n", t.BodyFile)
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("plan: write targets: %w", err)
	}
	return nil
}

// LoadTargets reads the targets file at path.
func LoadTargets(path string) ([]Target, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("plan: targets: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err == nil && st.Size() > MaxFileSize {
		return nil, fmt.Errorf("plan: targets %s is larger than %d bytes", path, MaxFileSize)
	}
	return ParseTargets(path, io.LimitReader(fh, MaxFileSize))
}
