package plan

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tailrace/tailrace/loadgen/schedule"
)

func TestParseFull(t *testing.T) {
	f, err := Parse("full.yaml", []byte(fullPlan))
	if err != nil {
		t.Fatal(err)
	}
	if f.Rate != 2000 || time.Duration(f.Duration) != 30*time.Second || f.Arrival != "poisson" || *f.Seed != 42 {
		t.Errorf("schedule fields: %+v", f)
	}
	if f.TLSMin != "1.2" || f.TLSMax != "1.3" || *f.DNSCache || f.ExpectStatus != "2xx,304" {
		t.Errorf("scalars written as numbers or booleans: tls %q..%q dns_cache %v expect %q", f.TLSMin, f.TLSMax, *f.DNSCache, f.ExpectStatus)
	}
	want := Headers{{"Accept", "application/json"}, {"X-Multi", "a"}, {"X-Multi", "b"}}
	if !reflect.DeepEqual(f.Headers, want) {
		t.Errorf("headers %v, want %v", f.Headers, want)
	}
	if len(f.Requests) != 3 || *f.Requests[0].Weight != 70 || f.Requests[1].Headers[0] != (Header{"If-None-Match", "abc"}) {
		t.Errorf("requests %+v", f.Requests)
	}
	if p, ok := f.Pos("requests[2].body_file"); !ok || p != (Pos{Line: 51, Column: 16}) {
		t.Errorf("requests[2].body_file at %v, want 51:16", p)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in  string
		line, col int
		msg       string
	}{
		// Strict fields: an unknown one is named, with the nearest known.
		{"unknown field", "rate: 100\nduraton: 10s\n", 2, 1, `unknown field "duraton" in the plan (did you mean "duration"?)`},
		{"flag spelling", "max-inflight: 5\n", 1, 1, `did you mean "max_inflight"? plan fields use '_'`},
		{"unknown in request", "requests:\n  - url: /a\n    wieght: 2\n", 3, 5, `unknown field "wieght" in requests[0] (did you mean "weight"?)`},
		{"duplicate key", "rate: 1\nrate: 2\n", 2, 1, `"rate" is set twice (first on line 1)`},
		// Types: the value's own position.
		{"int", "connections: many\n", 1, 14, `connections: want an integer, got "many"`},
		{"bool", "insecure: yes\n", 1, 11, `insecure: want true or false, got "yes"`},
		{"float for int", "seed: 1.5\n", 1, 7, `seed: want an integer, got "1.5"`},
		{"list for scalar", "rate: [1]\n", 1, 7, `rate: want a rate such as 2000`},
		{"scalar for list", "modes: keepalive\n", 1, 8, `modes: want a list, got a string`},
		{"duration", "duration: 10\n", 1, 11, `duration: "10" is not a duration`},
		{"weight type", "requests:\n  - {url: /a, weight: heavy}\n", 2, 23, `requests[0].weight: want a number, got "heavy"`},
		{"header value", "headers: {X: {a: 1}}\n", 1, 14, `header X: want a string value, got a mapping`},
		// Semantics: still at the value.
		{"rate", "rate: -5\n", 1, 7, `rate: rate "-5" is not a positive number`},
		{"mode", "mode: fast\n", 1, 7, `mode: "fast" is not one of keepalive, close, resume, h2`},
		{"weight zero", "requests:\n  - url: /a\n    weight: 0\n", 3, 13, `requests[0].weight: 0 must be a positive number`},
		{"negative weight", "weights: [1, -2]\n", 1, 14, `weights[1]: -2 must be a positive integer`},
		{"stages", "stages: 10s:abc\n", 1, 9, `stages: stage "10s:abc": rate "abc" is not a number`},
		{"conflict", "rate: 10\nstages: 10s:5\n", 2, 9, `rate and stages conflict`},
		{"slo", "slo: [total.p99<50ms, latency<1s]\n", 1, 23, `slo[1]: invalid expression`},
		{"expect", "expect_status: 2xx,abc\n", 1, 16, `expect_status: expected statuses "2xx,abc"`},
		{"origin", "requests:\n  - url: http://a/x\n  - url: http://b/x\n", 3, 10, `not the origin of requests[0].url`},
		{"relative url", "requests:\n  - url: a/b\n", 2, 10, `want an absolute http(s) URL or a path from /`},
		{"connections zero", "connections: 0\n", 1, 14, `connections: 0 must be a positive integer`},
		{"tick", "pacer: tick\ntick: 50us\n", 2, 7, `tick: 50µs: want 100µs to 1s`},
		{"tls", "tls_min: 1.3\ntls_max: 1.2\n", 1, 10, `tls_min: 1.3 is above tls_max 1.2`},
		{"tls groups", "tls_groups: x25519,x448\n", 1, 13, `tls_groups: unknown TLS group "x448"`},
		// YAML syntax: the parser gives the line only.
		{"syntax", "rate: 1\n  x: [\n", 2, 0, `YAML syntax:`},
		{"syntax first line", "a: b: c\n", 1, 0, `YAML syntax: mapping values are not allowed`},
		{"unfinished flow mapping", "rate: 1\nrequests:\n  - {url: /a?b=1, weight: 2}\n", 3, 0, `YAML syntax: did not find expected ',' or '}'`},
		{"stray scalar", "slo:\n  - a\n  b\n", 3, 0, `YAML syntax: could not find expected ':'`},
		{"alias", "rate: *r\n", 1, 7, `alias *r refers to no anchor &r`},
		{"two documents", "rate: 1\n---\nrate: 2\n", 2, 1, `one YAML document`},
		{"not a mapping", "- rate: 1\n", 1, 1, `a plan is a mapping`},
		{"merge key", "<<: {rate: 1}\n", 1, 1, `merge keys (<<) are not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tt.in))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if e.Line != tt.line || e.Column != tt.col || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("got %d:%d %q, want %d:%d containing %q", e.Line, e.Column, e.Msg, tt.line, tt.col, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "plan: p.yaml:") {
				t.Errorf("error %q does not start with plan: p.yaml:", err)
			}
		})
	}
}

// Every problem is reported, in file order, not only the first.
func TestParseAllErrors(t *testing.T) {
	_, err := Parse("p.yaml", []byte("pacer: slow\nrate: x\nconnections: y\n"))
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], ":1:8:") || !strings.Contains(lines[2], ":3:14:") {
		t.Errorf("errors:\n%v", err)
	}
}

func TestParseEmptyAndNull(t *testing.T) {
	for _, in := range []string{"", "# nothing\n", "~\n", "rate: null\nseed: ~\n"} {
		f, err := Parse("p.yaml", []byte(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if f.Rate != 0 || f.Seed != nil || len(f.Flags()) != 0 {
			t.Errorf("%q: %+v, flags %v", in, f, f.Flags())
		}
	}
}

func TestParseAnchors(t *testing.T) {
	in := "headers: &h {X-Env: prod}\nrequests:\n  - {url: /a, headers: *h}\n"
	f, err := Parse("p.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Requests[0].Headers, Headers{{"X-Env", "prod"}}) {
		t.Errorf("aliased headers %v", f.Requests[0].Headers)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, s := range planSeeds {
		p, err := Parse("a.yaml", []byte(s))
		if err != nil {
			continue
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		q, err := Parse("b.yaml", out)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !equalFiles(p, q) {
			t.Errorf("round trip of\n%s\ngave\n%s", s, out)
		}
	}
}

func TestFlags(t *testing.T) {
	f, err := Parse("full.yaml", []byte(fullPlan))
	if err != nil {
		t.Fatal(err)
	}
	f.Dir = "plans"
	got := map[string][]string{}
	for _, fl := range f.Flags() {
		got[fl.Name] = fl.Values
	}
	want := map[string][]string{
		"rate": {"2000"}, "duration": {"30s"}, "arrival": {"poisson"}, "seed": {"42"},
		"mode": {"keepalive"}, "connections": {"64"}, "max-inflight": {"5000"}, "pacer": {"precise"},
		"client": {"std"}, "local": {"2"}, "weights": {"2,1"}, "workers": {"0"}, "listen": {"127.0.0.1:7071"},
		"join-timeout": {"10s"}, "on-worker-loss": {"abort"}, "orphan-timeout": {"3s"}, "method": {"POST"},
		"header": {"Accept: application/json", "X-Multi: a", "X-Multi: b"}, "body": {`{"hello": "world"}`},
		"timeout": {"5s"}, "connect-timeout": {"1s"}, "tls-timeout": {"1s"}, "ttfb-timeout": {"2s"},
		"cacert": {filepath.Join("plans", "ca.pem")}, "tls-min": {"1.2"}, "tls-max": {"1.3"},
		"resolve": {"api.example.test:8443:127.0.0.1"}, "dns-server": {"127.0.0.1:5353"}, "dns-cache": {"false"},
		"expect-status": {"2xx,304"}, "slo": {"total.p99<50ms", "errors<0.1%"}, "junit": {"slo.xml"},
		"out": {"results"}, "quiet": {"true"}, "exemplars": {"8"}, "target-params": {"ttfb=1ms"},
	}
	if !reflect.DeepEqual(got, want) {
		for k, v := range want {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("--%s: %q, want %q", k, got[k], v)
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected --%s %q", k, v)
			}
		}
	}
}

// Every field of File is a flag or listed in NotFlags, so a new field
// cannot be forgotten by `coordinator run --plan`.
func TestEveryFieldIsAFlag(t *testing.T) {
	f, err := Parse("full.yaml", []byte(fullPlan+"stages: 1s:1\n"))
	if err == nil {
		t.Fatal("rate and stages together parsed")
	}
	f, err = Parse("full.yaml", []byte(strings.Replace(fullPlan, "requests:", "concurrency: 3\ntargets: t.txt\nrequests:", 1)))
	if err == nil {
		t.Fatal("concurrency with a rate, targets with requests parsed")
	}
	_ = f
	names := map[string]bool{}
	typ := reflect.TypeFor[File]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
		if typ.Field(i).IsExported() && name != "-" && name != "" {
			names[name] = true
		}
	}
	// Build a File that has every field and ask for its flags.
	g := &File{Rate: 1, Duration: Duration(time.Second), Stages: schedule.Steady(1, time.Second), Seed: new(int64), DNSCache: new(bool),
		Modes: []string{"h2"}, Weights: []int64{1}, Headers: Headers{{"A", "b"}}, Resolve: []string{"a:1:127.0.0.1"}, SLO: []string{"errors<1"},
		Requests: []Request{{URL: "/"}}, ExpectStatus: "2xx"}
	g.pos = positions{}
	for n := range names {
		g.pos[n] = Pos{1, 1}
	}
	flags := map[string]bool{}
	for _, fl := range g.Flags() {
		flags[strings.ReplaceAll(fl.Name, "-", "_")] = true
	}
	flags["headers"] = flags["header"]
	for n := range names {
		if !flags[n] && !contains(NotFlags, n) {
			t.Errorf("field %s is neither a flag nor in NotFlags", n)
		}
	}
}

func TestLoadResolvesPaths(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(p, []byte("body_file: body.json\nout: results\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, fl := range f.Flags() {
		got[fl.Name] = fl.Values[0]
	}
	if got["body-file"] != filepath.Join(dir, "body.json") || got["out"] != "results" {
		t.Errorf("flags %v: want body-file in the plan's directory, out as written", got)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.HasPrefix(err.Error(), "plan: ") {
		t.Errorf("missing file: %v", err)
	}
}
