package target

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseParams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		query   string
		want    params
		wantErr string // a substring of the error; empty for success
	}{
		// No parameters: the two-byte "ok" with 200.
		{"defaults", "", defaultParams, ""},
		// Every parameter at once, with each size suffix form.
		{"all", "ttfb=20ms&download=30ms&jitter=5ms&size=100k&status=503",
			params{ttfb: 20 * time.Millisecond, download: 30 * time.Millisecond, jitter: 5 * time.Millisecond, size: 100 << 10, status: 503}, ""},
		// Mebibytes, upper-case suffix.
		{"size M", "size=2M", params{size: 2 << 20, status: 200}, ""},
		// An empty body is a size, not a default.
		{"size 0", "size=0", params{size: 0, status: 200}, ""},
		// The largest accepted body.
		{"size max", "size=1024m", params{size: 1 << 30, status: 200}, ""},
		// Unknown parameters are left to the client (cache busters).
		{"unknown ignored", "id=7&ttfb=1ms", params{ttfb: time.Millisecond, size: 2, status: 200}, ""},
		// Of a repeated parameter the first counts.
		{"first wins", "status=201&status=abc", params{size: 2, status: 201}, ""},
		// Malformed values name their parameter.
		{"bad ttfb", "ttfb=abc", params{}, "bad ttfb"},
		{"negative ttfb", "ttfb=-1ms", params{}, "bad ttfb"},
		{"huge ttfb", "ttfb=2h", params{}, "bad ttfb"},
		{"bare number ttfb", "ttfb=20", params{}, "bad ttfb"},
		{"bad download", "download=x", params{}, "bad download"},
		{"bad jitter", "jitter=5", params{}, "bad jitter"},
		{"bad size suffix", "size=12q", params{}, "bad size"},
		{"negative size", "size=-1", params{}, "bad size"},
		{"size too big", "size=1025m", params{}, "bad size"},
		{"empty size", "size=", params{}, "bad size"},
		{"bad status", "status=abc", params{}, "bad status"},
		{"informational status", "status=101", params{}, "bad status"},
		{"status too big", "status=600", params{}, "bad status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseParams(q)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseParams(%q) error = %v, want one containing %q", tt.query, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseParams(%q) = %+v, %v; want %+v", tt.query, got, err, tt.want)
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0"},                    // zero has no suffix
		{2, "2"},                    // plain bytes
		{1024, "1k"},                // exact KiB
		{1536, "1536"},              // not a whole KiB
		{3 << 20, "3m"},             // exact MiB
		{(1 << 20) + 1024, "1025k"}, // whole KiB, not MiB
	}
	for _, tt := range tests {
		if got := formatSize(tt.n); got != tt.want {
			t.Errorf("formatSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// FuzzParams checks that whatever query parses, its encoding parses back
// to the same parameters.
func FuzzParams(f *testing.F) {
	for _, s := range []string{"", "ttfb=20ms&size=100k", "download=1.5s&jitter=3us&status=599", "size=0", "size=7M", "ttfb=1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, err := parseParams(q)
		if err != nil {
			return
		}
		enc := p.encode()
		q2, err := url.ParseQuery(enc)
		if err != nil {
			t.Fatalf("encode %+v = %q, which does not parse as a query: %v", p, enc, err)
		}
		p2, err := parseParams(q2)
		if err != nil || p2 != p {
			t.Fatalf("round trip of %q: %+v -> %q -> %+v, %v", raw, p, enc, p2, err)
		}
	})
}

// FuzzSize checks parseSize and formatSize against each other.
func FuzzSize(f *testing.F) {
	for _, s := range []string{"0", "2", "100k", "1m", "1024m", "99K", "x", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			return
		}
		if n < 0 || n > maxSize {
			t.Fatalf("parseSize(%q) = %d, out of [0, %d]", s, n, maxSize)
		}
		if back, err := parseSize(formatSize(n)); err != nil || back != n {
			t.Fatalf("parseSize(formatSize(%d) = %q) = %d, %v", n, formatSize(n), back, err)
		}
	})
}
