package plan

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/tailrace/tailrace/loadgen"
)

// Spec is one request of a mix as the engine sends it: the plan's defaults
// applied, its body read and its URL absolute.
type Spec = loadgen.RequestSpec

// Defaults are the run's request settings once the command line has had
// its say: the target and the method, headers and body every request of
// the mix starts from.
type Defaults struct {
	Target *url.URL // what a path-only request URL is resolved against
	Method string   // "" means GET
	Header http.Header
	Body   []byte
}

// TargetsPath is where the plan's targets file is: Targets, resolved
// against Dir when relative; "" when there is none.
func (f *File) TargetsPath() string {
	return f.path(f.Targets)
}

func (f *File) path(p string) string {
	if p == "" || filepath.IsAbs(p) || f.Dir == "" {
		return p
	}
	return filepath.Join(f.Dir, p)
}

// requests returns the mix as written: the plan's requests, or its targets
// file's, each with where it came from.
func (f *File) requests() ([]Request, []*Error, string, error) {
	if f.Targets == "" {
		at := make([]*Error, len(f.Requests))
		for i := range f.Requests {
			p := f.pos[fmt.Sprintf("requests[%d]", i)]
			at[i] = &Error{File: f.name, Line: p.Line, Column: p.Column}
		}
		return f.Requests, at, f.Dir, nil
	}
	path := f.TargetsPath()
	ts, err := LoadTargets(path)
	if err != nil {
		return nil, nil, "", err
	}
	reqs := make([]Request, len(ts))
	at := make([]*Error, len(ts))
	for i, t := range ts {
		reqs[i] = Request{Method: t.Method, URL: t.URL, Headers: t.Headers, BodyFile: t.BodyFile}
		at[i] = &Error{File: path, Line: t.Line}
	}
	return reqs, at, filepath.Dir(path), nil
}

// FirstURL returns the first absolute URL of the mix (its requests or its
// targets file), which is the run's target when neither the plan nor the
// command line names one; "" when there is none.
func (f *File) FirstURL() (string, error) {
	reqs, _, _, err := f.requests()
	if err != nil {
		return "", err
	}
	for _, r := range reqs {
		if u, err := url.Parse(r.URL); err == nil && u.IsAbs() {
			return r.URL, nil
		}
	}
	return "", nil
}

// Mix returns the requests of the mix with def applied: a request's
// method, URL and body replace the defaults, its headers replace the
// default headers of the same name. It returns nil when the plan has no
// requests and no targets file (a single-request run). Body files are read
// relative to the plan's directory (a targets file's, relative to its
// own); every error names where the request was written.
func (f *File) Mix(def Defaults) ([]Spec, error) {
	reqs, at, dir, err := f.requests()
	if err != nil || len(reqs) == 0 {
		return nil, err
	}
	specs := make([]Spec, len(reqs))
	labels := map[string]bool{}
	for i, r := range reqs {
		fail := func(format string, args ...any) error {
			e := *at[i]
			e.Msg = fmt.Sprintf(format, args...)
			return &e
		}
		s := Spec{Method: strings.ToUpper(r.Method), Header: def.Header.Clone(), Body: def.Body, Weight: 1}
		if s.Method == "" {
			s.Method = strings.ToUpper(def.Method)
		}
		if s.Method == "" {
			s.Method = http.MethodGet
		}
		u, err := url.Parse(r.URL)
		if err != nil {
			return nil, fail("url %q: %v", r.URL, err)
		}
		if !u.IsAbs() {
			if def.Target == nil {
				return nil, fail("url %q is a path, and there is no target to resolve it against (give target: in the plan, or a URL)", r.URL)
			}
			u = def.Target.ResolveReference(u)
		}
		if def.Target != nil && !sameOrigin(u, def.Target) {
			return nil, fail("url %s is not on the target's origin %s: a mix aims at one origin", u, originOf(def.Target))
		}
		s.URL = u
		if len(r.Headers) > 0 && s.Header == nil {
			s.Header = http.Header{}
		}
		replaced := map[string]bool{}
		for _, h := range r.Headers {
			k := http.CanonicalHeaderKey(h.Name)
			if !replaced[k] {
				s.Header.Del(k)
				replaced[k] = true
			}
			s.Header.Add(k, h.Value)
		}
		switch {
		case r.Body != "":
			s.Body = []byte(r.Body)
		case r.BodyFile != "":
			p := r.BodyFile
			if !filepath.IsAbs(p) && dir != "" {
				p = filepath.Join(dir, p)
			}
			b, err := readBody(p)
			if err != nil {
				return nil, fail("body_file: %v", err)
			}
			s.Body = b
		}
		if r.Weight != nil {
			s.Weight = *r.Weight
		}
		s.Label = Label(r.Label, s.Method, u)
		labels[s.Label] = true
		if len(labels) > MaxLabels {
			return nil, fail("more than %d distinct labels (%q is one too many): per-label results are bounded; give requests labels, several the same, in a plan's requests", MaxLabels, s.Label)
		}
		specs[i] = s
	}
	return specs, nil
}

// maxBody bounds a request body read from a file: bodies are held in
// memory on every worker and sent to remote workers with the plan.
const maxBody = 16 << 20

func readBody(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxBody)
	}
	return b, nil
}

// Labels returns the distinct labels of specs in the order first seen.
func Labels(specs []Spec) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range specs {
		if !seen[s.Label] {
			seen[s.Label] = true
			out = append(out, s.Label)
		}
	}
	return out
}
