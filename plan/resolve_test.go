package plan

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMix(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "item.json"), `{"id":1}`)
	write(t, filepath.Join(dir, "plan.yaml"), `
target: http://127.0.0.1:8080/base/
method: put
headers: {X-Env: prod, Accept: text/plain}
requests:
  - {label: list, url: "/items?page=1", weight: 7}
  - {method: post, url: "http://127.0.0.1:8080/items", body_file: item.json, headers: {Accept: application/json}, weight: 2}
  - {label: home, weight: 1}
`)
	f, err := Load(filepath.Join(dir, "plan.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(f.Target)
	specs, err := f.Mix(Defaults{Target: target, Method: f.Method, Header: http.Header{"X-Env": {"prod"}, "Accept": {"text/plain"}}, Body: []byte("default")})
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ label, method, url, accept, env, body string }
	want := []row{
		// A path resolves against the target; the defaults apply.
		{"list", "PUT", "http://127.0.0.1:8080/items?page=1", "text/plain", "prod", "default"},
		// No label: METHOD /path. Its header replaces the default's; its body file is read from the plan's directory.
		{"POST /items", "POST", "http://127.0.0.1:8080/items", "application/json", "prod", `{"id":1}`},
		// No URL: the target itself.
		{"home", "PUT", "http://127.0.0.1:8080/base/", "text/plain", "prod", "default"},
	}
	for i, w := range want {
		s := specs[i]
		got := row{s.Label, s.Method, s.URL.String(), s.Header.Get("Accept"), s.Header.Get("X-Env"), string(s.Body)}
		if got != w {
			t.Errorf("request %d: %+v, want %+v", i, got, w)
		}
	}
	if specs[0].Weight != 7 || specs[2].Weight != 1 {
		t.Errorf("weights %v %v", specs[0].Weight, specs[2].Weight)
	}
	if got := Labels(specs); strings.Join(got, "|") != "list|POST /items|home" {
		t.Errorf("labels %q", got)
	}
}

func TestMixTargets(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "t", "targets.txt"), "GET http://127.0.0.1:1/a?x=1\n\nPOST http://127.0.0.1:1/b\n@body.txt\n")
	write(t, filepath.Join(dir, "t", "body.txt"), "hello")
	write(t, filepath.Join(dir, "plan.yaml"), "targets: t/targets.txt\n")
	f, err := Load(filepath.Join(dir, "plan.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := f.FirstURL()
	if err != nil || first != "http://127.0.0.1:1/a?x=1" {
		t.Fatalf("FirstURL %q, %v", first, err)
	}
	specs, err := f.Mix(Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[0].Label != "GET /a" || specs[1].Label != "POST /b" || string(specs[1].Body) != "hello" || specs[1].Weight != 1 {
		t.Errorf("specs %+v", specs)
	}
}

func TestMixErrors(t *testing.T) {
	dir := t.TempDir()
	target, _ := url.Parse("http://127.0.0.1:8080/")
	tests := []struct {
		name, plan, want string
	}{
		// A path with nothing to resolve it against.
		{"no target", "requests: [{url: /a}]", "plan.yaml:1:12: url \"/a\" is a path, and there is no target"},
		// A body file that is not there: where the request was written.
		{"body file", "requests:\n  - {url: /a, body_file: nope.json}", "plan.yaml:2:5: body_file: open"},
		// Another origin than the run's target.
		{"origin", "requests: [{url: 'http://127.0.0.1:9/'}]", "is not on the target's origin http://127.0.0.1:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "plan.yaml")
			write(t, p, tt.plan)
			f, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			def := Defaults{Target: target}
			if tt.name == "no target" {
				def.Target = nil
			}
			_, err = f.Mix(def)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestTooManyLabels(t *testing.T) {
	var b strings.Builder
	b.WriteString("requests:\n")
	for i := range MaxLabels + 1 {
		b.WriteString("  - {url: /p" + strings.Repeat("x", i) + "}\n")
	}
	_, err := Parse("p.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "33 distinct labels, more than 32") {
		t.Errorf("error %v", err)
	}
	// Shared labels are fine.
	s := strings.ReplaceAll(b.String(), "{url:", "{label: same, url:")
	if _, err := Parse("p.yaml", []byte(s)); err != nil {
		t.Error(err)
	}
}

func TestLabel(t *testing.T) {
	u, _ := url.Parse("http://a/items/1?x=2")
	long, _ := url.Parse("http://a/" + strings.Repeat("é", 40))
	tests := []struct {
		given, method string
		u             *url.URL
		want          string
	}{
		{"mine", "GET", u, "mine"},                                   // given wins
		{"", "post", u, "POST /items/1"},                             // method and path, no query
		{"", "", nil, "GET /"},                                       // defaults
		{"", "GET", long, "GET /" + strings.Repeat("é", 28) + "..."}, // bounded, valid UTF-8
	}
	for _, tt := range tests {
		if got := Label(tt.given, tt.method, tt.u); got != tt.want {
			t.Errorf("Label(%q, %q, %v) = %q, want %q", tt.given, tt.method, tt.u, got, tt.want)
		}
	}
}
