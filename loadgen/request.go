package loadgen

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// requestTemplate is the request every arrival sends, built once.
type requestTemplate struct {
	base *http.Request // shared and read-only; each send takes a shallow copy
	body []byte
}

func newRequestTemplate(cfg *Config) *requestTemplate {
	r := &http.Request{
		Method:     cfg.Method,
		URL:        cfg.URL,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1, ProtoMinor: 1,
		Header: cfg.Header.Clone(),
		Host:   cfg.URL.Host,
		// close and resume mean one request per connection: say so on the wire,
		// as ab without -k does, so both sides close.
		Close: cfg.Mode == ModeClose || cfg.Mode == ModeResume,
	}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	if h := r.Header.Get("Host"); h != "" {
		r.Host = h
		r.Header.Del("Host")
	}
	if r.Header.Get("User-Agent") == "" {
		r.Header.Set("User-Agent", "tailrace/"+Version)
	}
	if len(cfg.Body) > 0 {
		r.ContentLength = int64(len(cfg.Body))
	}
	return &requestTemplate{base: r, body: cfg.Body}
}

func (rt *requestTemplate) build(ctx context.Context) *http.Request {
	r := rt.base.WithContext(ctx)
	if len(rt.body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(rt.body))
		b := rt.body
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return r
}

// parseServerTiming returns the server's own time from a Server-Timing header:
// the "total" entry if there is one, else the sum of all dur values.
func parseServerTiming(h string) (time.Duration, bool) {
	if h == "" {
		return 0, false
	}
	var sum float64
	found := false
	for entry := range strings.SplitSeq(h, ",") {
		name, params, _ := strings.Cut(entry, ";")
		var dur float64
		ok := false
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "dur") {
				if f, err := parseDur(strings.Trim(v, `"`)); err == nil && f >= 0 {
					dur, ok = f, true
				}
			}
		}
		if !ok {
			continue
		}
		if strings.EqualFold(strings.TrimSpace(name), "total") {
			return msToDuration(dur), true
		}
		sum += dur
		found = true
	}
	return msToDuration(sum), found
}

// parseDur parses a Server-Timing dur value as strconv.ParseFloat does.
// Plain decimals of up to 15 digits (what servers send: "12", "0.345") it
// parses itself, exactly: the digits fit a float64's mantissa and one
// division by an exact power of ten rounds once. Anything else (an exponent,
// a sign, more digits, junk) goes to strconv.ParseFloat.
//
// Why not always strconv: its parser's frames, under the response parser's,
// took the keep-alive worker's stack past 4 KB, and the runtime doubled it to
// 8 KB; the worker parks between requests for its connection's life, and a
// parked goroutine keeps its grown stack until a garbage collection, which an
// idle generator may not run for minutes: 4 KB more per idle connection
// (bench/idle.sh against the calibration target, which sends Server-Timing).
func parseDur(v string) (float64, error) {
	var mant uint64
	digits, frac := 0, -1 // frac: digits after the point; -1: no point yet
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case '0' <= c && c <= '9':
			if digits == 15 {
				return parseDurSlow(v)
			}
			mant = mant*10 + uint64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0:
			frac = 0
		default:
			return parseDurSlow(v)
		}
	}
	if digits == 0 {
		return parseDurSlow(v)
	}
	f := float64(mant)
	if frac > 0 {
		f /= pow10[frac]
	}
	return f, nil
}

// pow10 holds the powers of ten parseDur divides by, each exact in a float64.
var pow10 = [16]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

//go:noinline
func parseDurSlow(v string) (float64, error) { return strconv.ParseFloat(v, 64) }

func msToDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
