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
				f, err := strconv.ParseFloat(strings.Trim(v, `"`), 64)
				if err == nil && f >= 0 {
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

func msToDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
