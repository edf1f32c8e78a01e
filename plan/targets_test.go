package plan

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseTargets(t *testing.T) {
	ts, err := ParseTargets("t.txt", strings.NewReader(targetsSample))
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{
		{Method: "GET", URL: "https://api.example.test/items?page=1", Line: 2,
			Headers: Headers{{"Accept", "application/json"}, {"X-Trace", "on"}}},
		{Method: "POST", URL: "https://api.example.test/items", Line: 6,
			Headers: Headers{{"Content-Type", "application/json"}}, BodyFile: "bodies/item.json"},
	}
	if !reflect.DeepEqual(ts, want) {
		t.Errorf("got  %+v\nwant %+v", ts, want)
	}
	var b bytes.Buffer
	if err := WriteTargets(&b, ts); err != nil {
		t.Fatal(err)
	}
	const written = "GET https://api.example.test/items?page=1\nAccept: application/json\nX-Trace: on\n\nPOST https://api.example.test/items\nContent-Type: application/json\n@bodies/item.json\n"
	if b.String() != written {
		t.Errorf("written:\n%s\nwant:\n%s", b.String(), written)
	}
}

func TestParseTargetsErrors(t *testing.T) {
	tests := []struct {
		name, in  string
		line, col int
		msg       string
	}{
		// No blank line between two requests: the second reads as a header.
		{"no separator", "GET http://a/\nGET http://a/b\n", 2, 1, `is not a header line`},
		{"no url", "GET\n", 1, 1, `is not a request line`},
		{"bad method", "G(T http://a/\n", 1, 1, `is not an HTTP method`},
		{"relative url", "GET /a\n", 1, 5, `is not an http:// or https:// URL`},
		{"indented url", "  GET  ftp://a/\n", 1, 8, `is not an http:// or https:// URL`},
		{"empty body", "POST http://a/\n@\n", 2, 1, `@ without a file name`},
		{"two bodies", "POST http://a/\n@a\n@b\n", 3, 1, `a second body file`},
		{"header after body", "POST http://a/\n@a\nX: 1\n", 3, 1, `a header after the body file`},
		{"bad header", "GET http://a/\nX Y: 1\n", 2, 1, `is not a header line`},
		{"empty", "# only a comment\n\n", 0, 0, `no targets`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTargets("t.txt", strings.NewReader(tt.in))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if e.Line != tt.line || e.Column != tt.col || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("got %d:%d %q, want %d:%d containing %q", e.Line, e.Column, e.Msg, tt.line, tt.col, tt.msg)
			}
		})
	}
}
