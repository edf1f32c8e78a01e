package plan

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"

	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/resolver"
	"github.com/tailrace/tailrace/loadgen/schedule"
	"github.com/tailrace/tailrace/slo"
)

// MaxLabels bounds the distinct labels of a mix: each one has its own
// histograms on every worker and in the results (DESIGN.md: no unbounded
// labels). Requests may share a label.
const MaxLabels = 32

// MaxLabelLen bounds a label's length in bytes.
const MaxLabelLen = 64

// validator checks a decoded File field by field, at the fields' positions.
type validator struct {
	f *File
	d *decoder
}

func (v validator) bad(path, format string, args ...any) {
	p := v.f.pos[path]
	if v.d.failed[p] {
		return // the value did not decode: that error says it
	}
	v.d.add(&Error{Line: p.Line, Column: p.Column, Msg: path + ": " + fmt.Sprintf(format, args...)})
}

// oneOf checks an enumerated string field.
func (v validator) oneOf(path, val string, allowed ...string) {
	if v.f.Has(path) && !slices.Contains(allowed, val) {
		v.bad(path, "%q is not one of %s", val, strings.Join(allowed, ", "))
	}
}

// positive checks a count that must be above 0 when written.
func (v validator) positive(path string, n int) {
	if v.f.Has(path) && n <= 0 {
		v.bad(path, "%d must be a positive integer", n)
	}
}

// validate checks every value and every combination the flags check, so a
// plan that parses runs (or fails only on what needs the network or the
// other flags).
func (f *File) validate(d *decoder) {
	v := validator{f, d}
	if f.Has("target") {
		v.absURL("target", f.Target)
	}
	v.schedule()
	v.oneOf("arrival", f.Arrival, "constant", "poisson")
	if f.Has("mode") {
		if _, err := loadgen.ParseMode(f.Mode); err != nil {
			v.bad("mode", "%q is not one of keepalive, close, resume, h2", f.Mode)
		}
		if f.Has("modes") {
			v.bad("modes", "mode and modes conflict: give one")
		}
	}
	seen := map[string]bool{}
	for i, m := range f.Modes {
		p := fmt.Sprintf("modes[%d]", i)
		if _, err := loadgen.ParseMode(m); err != nil {
			v.bad(p, "%q is not one of keepalive, close, resume, h2", m)
		} else if seen[m] {
			v.bad(p, "mode %q is listed twice", m)
		}
		seen[m] = true
	}
	if f.Has("modes") && len(f.Modes) == 0 {
		v.bad("modes", "no modes listed")
	}
	v.positive("connections", f.Connections)
	v.positive("max_inflight", f.MaxInFlight)
	v.positive("local", f.Local)
	v.oneOf("pacer", f.Pacer, "sleep", "precise", "tick")
	v.oneOf("client", f.Client, "fast", "std")
	v.oneOf("on_worker_loss", f.OnWorkerLoss, "continue", "abort")
	for i, w := range f.Weights {
		if w <= 0 {
			v.bad(fmt.Sprintf("weights[%d]", i), "%d must be a positive integer", w)
		}
	}
	if f.Workers < 0 {
		v.bad("workers", "%d must not be negative", f.Workers)
	}
	if f.Has("listen") {
		if _, _, err := net.SplitHostPort(f.Listen); err != nil {
			v.bad("listen", "%q is not host:port (e.g. 127.0.0.1:7070)", f.Listen)
		}
	}
	// That a tick goes with pacer: tick is checked where the plan and the
	// command line meet (the pacer may come from either).
	if d := time.Duration(v.duration("tick")); f.Has("tick") && (d < loadgen.MinTick || d > loadgen.MaxTick) {
		v.bad("tick", "%v: want %v to %v", d, loadgen.MinTick, loadgen.MaxTick)
	}
	for _, p := range []string{"join_timeout", "orphan_timeout", "timeout"} {
		if f.Has(p) && v.duration(p) <= 0 {
			v.bad(p, "%v must be positive", v.duration(p))
		}
	}
	for _, p := range []string{"connect_timeout", "tls_timeout", "ttfb_timeout"} {
		if v.duration(p) < 0 {
			v.bad(p, "%v must not be negative", v.duration(p))
		}
	}
	v.request("", f.Method, f.Headers, f.Body, f.BodyFile)
	if f.Insecure && f.CACert != "" {
		v.bad("insecure", "insecure and cacert conflict: verify with the CA, or skip verification, not both")
	}
	v.tls()
	for i, r := range f.Resolve {
		if _, err := resolver.ParseOverride(r); err != nil {
			v.bad(fmt.Sprintf("resolve[%d]", i), "%v", strings.TrimPrefix(err.Error(), "resolver: "))
		}
	}
	if f.Has("dns_server") {
		if _, _, err := net.SplitHostPort(f.DNSServer); err != nil {
			v.bad("dns_server", "%q is not ip:port (e.g. 127.0.0.1:53)", f.DNSServer)
		}
	}
	if f.Has("expect_status") {
		if _, err := loadgen.ParseStatusSet(string(f.ExpectStatus)); err != nil {
			v.bad("expect_status", "%v", strings.TrimPrefix(err.Error(), "loadgen: "))
		}
	}
	for i, s := range f.SLO {
		if _, err := slo.Parse(s); err != nil {
			v.bad(fmt.Sprintf("slo[%d]", i), "%v", strings.TrimPrefix(err.Error(), "slo: "))
		}
	}
	if f.Exemplars < 0 {
		v.bad("exemplars", "%d must not be negative", f.Exemplars)
	}
	if f.Has("target_params") {
		if _, err := url.ParseQuery(f.TargetParams); err != nil {
			v.bad("target_params", "%q is not a URL query (e.g. ttfb=2ms&size=1k)", f.TargetParams)
		}
	}
	v.mix()
}

func (v validator) duration(path string) Duration {
	f := v.f
	switch path {
	case "join_timeout":
		return f.JoinTimeout
	case "orphan_timeout":
		return f.OrphanTimeout
	case "timeout":
		return f.Timeout
	case "connect_timeout":
		return f.ConnectTimeout
	case "tls_timeout":
		return f.TLSTimeout
	case "ttfb_timeout":
		return f.TTFBTimeout
	case "duration":
		return f.Duration
	case "tick":
		return f.Tick
	}
	panic("plan: no duration field " + path)
}

// schedule checks rate, duration, stages and concurrency together, as
// `coordinator run` checks its flags.
func (v validator) schedule() {
	f := v.f
	if f.Has("duration") && f.Duration <= 0 {
		v.bad("duration", "%v must be positive (e.g. 30s)", f.Duration)
	}
	if f.Has("stages") {
		if f.Has("rate") {
			v.bad("stages", "rate and stages conflict: give one (stages include the rates)")
		}
		if f.Has("duration") {
			v.bad("stages", "duration and stages conflict: the stages give the duration")
		}
		if err := (schedule.Plan{Stages: f.Stages}).Validate(); err != nil {
			v.bad("stages", "%v", strings.TrimPrefix(err.Error(), "schedule: "))
		}
	}
	if f.Has("concurrency") {
		switch {
		case f.Concurrency <= 0:
			v.bad("concurrency", "%d must be a positive integer", f.Concurrency)
		case f.Has("rate") || f.Has("stages"):
			v.bad("concurrency", "concurrency and rate/stages conflict: a closed loop has no schedule (give duration)")
		}
	}
}

func (v validator) tls() {
	f := v.f
	var lo, hi uint16
	for _, x := range []struct {
		path string
		val  string
		dst  *uint16
	}{{"tls_min", f.TLSMin, &lo}, {"tls_max", f.TLSMax, &hi}} {
		if !f.Has(x.path) {
			continue
		}
		t, err := loadgen.ParseTLSVersion(x.val)
		if err != nil {
			v.bad(x.path, "%q is not 1.2 or 1.3", x.val)
		}
		*x.dst = t
	}
	if lo != 0 && hi != 0 && lo > hi {
		v.bad("tls_min", "%s is above tls_max %s", f.TLSMin, f.TLSMax)
	}
	if f.Has("tls_groups") {
		if _, err := loadgen.ParseTLSGroups(f.TLSGroups); err != nil {
			v.bad("tls_groups", "%v", strings.TrimPrefix(err.Error(), "loadgen: "))
		}
	}
}

// request checks the method, headers and body of the plan ("") or of one
// request ("requests[i]").
func (v validator) request(prefix, method string, h Headers, body, bodyFile string) {
	at := func(name string) string {
		if prefix == "" {
			return name
		}
		return prefix + "." + name
	}
	if v.f.Has(at("method")) && !validMethod(method) {
		v.bad(at("method"), "%q is not an HTTP method (e.g. GET, POST)", method)
	}
	for i, x := range h {
		p := at("headers")
		if !httpguts.ValidHeaderFieldName(x.Name) {
			v.bad(p, "header %d: %q is not a valid header name", i+1, x.Name)
		}
		if !httpguts.ValidHeaderFieldValue(x.Value) {
			v.bad(p, "header %s: the value holds a character not allowed in a header", x.Name)
		}
	}
	if v.f.Has(at("body")) && v.f.Has(at("body_file")) {
		v.bad(at("body_file"), "body and body_file conflict: give one")
	}
	if v.f.Has(at("body_file")) && bodyFile == "" {
		v.bad(at("body_file"), "empty path")
	}
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, r := range m {
		if r > unicode.MaxASCII || !httpguts.IsTokenRune(r) {
			return false
		}
	}
	return true
}

// absURL checks an absolute http(s) URL.
func (v validator) absURL(path, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.bad(path, "%q is not an http:// or https:// URL with a host", raw)
		return nil
	}
	return u
}

// mix checks the requests (or the targets file's path): their URLs, that
// they aim at one origin, their weights and the number of labels.
func (v validator) mix() {
	f := v.f
	if f.Has("targets") {
		if len(f.Requests) > 0 {
			v.bad("targets", "targets and requests conflict: give one")
		}
		if f.Targets == "" {
			v.bad("targets", "empty path")
		}
	}
	if f.Has("requests") && len(f.Requests) == 0 {
		v.bad("requests", "no requests listed")
	}
	var origin *url.URL
	originAt := "target"
	if f.Target != "" {
		origin, _ = url.Parse(f.Target)
	}
	labels := map[string]bool{}
	for i, r := range f.Requests {
		p := fmt.Sprintf("requests[%d]", i)
		v.request(p, r.Method, r.Headers, r.Body, r.BodyFile)
		if r.Weight != nil && (!(*r.Weight > 0) || math.IsInf(*r.Weight, 0)) {
			v.bad(p+".weight", "%v must be a positive number", *r.Weight)
		}
		if f.Has(p+".label") || r.Label != "" {
			if err := checkLabel(r.Label); err != nil {
				v.bad(p+".label", "%v", err)
			}
		}
		u, ok := v.requestURL(p+".url", r.URL)
		if !ok {
			continue
		}
		if u.IsAbs() {
			if origin == nil {
				origin, originAt = u, p+".url"
			} else if !sameOrigin(u, origin) {
				v.bad(p+".url", "%s is not the origin of %s (%s): a mix aims at one origin, scheme://host:port; paths, methods, headers and bodies may differ", originOf(u), originAt, originOf(origin))
			}
		}
		method := r.Method
		if method == "" {
			method = f.Method
		}
		labels[Label(r.Label, method, u)] = true
	}
	if len(labels) > MaxLabels {
		v.bad("requests", "%d distinct labels, more than %d: give several requests the same label", len(labels), MaxLabels)
	}
}

// requestURL checks a request's URL: empty (the target itself), a path
// (resolved against the target), or an absolute http(s) URL.
func (v validator) requestURL(path, raw string) (*url.URL, bool) {
	if raw == "" {
		return &url.URL{}, true
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		v.bad(path, "%q is not a URL", raw)
		return nil, false
	case u.IsAbs():
		return v.absURL(path, raw), u.Host != "" && (u.Scheme == "http" || u.Scheme == "https")
	case !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//"):
		v.bad(path, "%q: want an absolute http(s) URL or a path from / (resolved against target)", raw)
		return nil, false
	}
	return u, true
}

// checkLabel reports whether s can name a request in every output.
func checkLabel(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty label")
	case len(s) > MaxLabelLen:
		return fmt.Errorf("label %.20q... is longer than %d bytes", s, MaxLabelLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("label %q is not valid UTF-8", s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("label %q holds a character that cannot be printed", s)
		}
	}
	return nil
}

// Label returns a request's label: the one given, or "METHOD /path" (the
// path without its query, so that labels stay few).
func Label(given, method string, u *url.URL) string {
	if given != "" {
		return given
	}
	if method == "" {
		method = "GET"
	}
	p := "/"
	if u != nil && u.Path != "" {
		p = u.Path
	}
	l := strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, strings.ToUpper(method)+" "+p)
	if len(l) > MaxLabelLen {
		l = strings.ToValidUTF8(l[:MaxLabelLen-3], "") + "..."
	}
	return l
}

func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && strings.EqualFold(hostPort(a), hostPort(b))
}

func originOf(u *url.URL) string { return u.Scheme + "://" + hostPort(u) }

// hostPort is u's host with the scheme's default port made explicit.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}
