package target

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	defaultSize = 2 // the body "ok"
	maxSize     = 1 << 30
	maxDelay    = time.Hour
)

// params are the query parameters a request may carry to shape its
// response. Unknown parameters are ignored, so clients can add their own
// (cache busters, request ids); of a repeated parameter the first counts.
type params struct {
	ttfb     time.Duration // before the status and headers
	download time.Duration // after the headers are flushed, before the body
	jitter   time.Duration // uniform random extra in [0, jitter) added to ttfb
	size     int64         // body bytes
	status   int
}

var defaultParams = params{size: defaultSize, status: 200}

// paramError is the 400 a malformed parameter earns; its text names the
// parameter and the expected form.
type paramError struct {
	name, value, want string
}

func (e *paramError) Error() string {
	return fmt.Sprintf("target: bad %s %q: want %s", e.name, e.value, e.want)
}

func parseParams(q url.Values) (params, error) {
	p := defaultParams
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"ttfb", &p.ttfb}, {"download", &p.download}, {"jitter", &p.jitter}} {
		v, ok := first(q, d.name)
		if !ok {
			continue
		}
		x, err := time.ParseDuration(v)
		if err != nil || x < 0 || x > maxDelay {
			return params{}, &paramError{d.name, v, "a duration from 0 to 1h, like 20ms"}
		}
		*d.dst = x
	}
	if v, ok := first(q, "size"); ok {
		n, err := parseSize(v)
		if err != nil {
			return params{}, &paramError{"size", v, "bytes up to 1024m with an optional k or m suffix, like 100k"}
		}
		p.size = n
	}
	if v, ok := first(q, "status"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 200 || n > 599 {
			return params{}, &paramError{"status", v, "an HTTP status from 200 to 599, like 503"}
		}
		p.status = n
	}
	return p, nil
}

func first(q url.Values, name string) (string, bool) {
	vs, ok := q[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// encode is the query string that parses back to p, omitting defaults.
func (p params) encode() string {
	q := url.Values{}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"ttfb", p.ttfb}, {"download", p.download}, {"jitter", p.jitter}} {
		if d.v != 0 {
			q.Set(d.name, d.v.String())
		}
	}
	if p.size != defaultSize {
		q.Set("size", formatSize(p.size))
	}
	if p.status != defaultParams.status {
		q.Set("status", strconv.Itoa(p.status))
	}
	return q.Encode()
}

// parseSize reads a byte count with an optional k (1024) or m (1024*1024)
// suffix, either case.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "m"), strings.HasSuffix(s, "M"):
		mult, s = 1<<20, s[:len(s)-1]
	}
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("target: size %q: %w", s, err)
	}
	if n > maxSize/uint64(mult) {
		return 0, fmt.Errorf("target: size %q is over %d bytes", s, maxSize)
	}
	return int64(n) * mult, nil
}

// formatSize is the shortest form parseSize reads back as n.
func formatSize(n int64) string {
	switch {
	case n > 0 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "m"
	case n > 0 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "k"
	}
	return strconv.FormatInt(n, 10)
}
