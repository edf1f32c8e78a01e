package cli

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/resolver"
	"github.com/tailrace/tailrace/loadgen/schedule"
)

// rateValue is a pflag.Value for a positive rate per second ("2000", "2000/s", "120/m").
type rateValue struct {
	v   float64
	set bool
}

func (r *rateValue) String() string {
	if !r.set {
		return ""
	}
	return fmt.Sprintf("%g/s", r.v)
}
func (r *rateValue) Type() string { return "rate" }
func (r *rateValue) Set(s string) error {
	v, err := schedule.ParseRate(s)
	if err != nil {
		return err
	}
	r.v, r.set = v, true
	return nil
}

// modesValue is a comma-separated list of connection modes.
type modesValue struct{ modes []loadgen.Mode }

func (m *modesValue) String() string {
	s := make([]string, len(m.modes))
	for i, x := range m.modes {
		s[i] = string(x)
	}
	return strings.Join(s, ",")
}
func (m *modesValue) Type() string { return "modes" }
func (m *modesValue) Set(s string) error {
	m.modes = nil
	seen := map[loadgen.Mode]bool{}
	for part := range strings.SplitSeq(s, ",") {
		md, err := loadgen.ParseMode(strings.TrimSpace(part))
		if err != nil {
			return err
		}
		if seen[md] {
			return fmt.Errorf("mode %q listed twice", md)
		}
		seen[md] = true
		m.modes = append(m.modes, md)
	}
	return nil
}

// headerValue collects repeated -H "Name: value" flags.
type headerValue struct{ h http.Header }

func (h *headerValue) String() string {
	var parts []string
	for k, vs := range h.h {
		for _, v := range vs {
			parts = append(parts, k+": "+v)
		}
	}
	return strings.Join(parts, ", ")
}
func (h *headerValue) Type() string { return "header" }
func (h *headerValue) Set(s string) error {
	k, v, ok := strings.Cut(s, ":")
	k = strings.TrimSpace(k)
	if !ok || k == "" || strings.ContainsAny(k, " \t") {
		return fmt.Errorf("header %q (want \"Name: value\")", s)
	}
	if h.h == nil {
		h.h = http.Header{}
	}
	h.h.Add(k, strings.TrimSpace(v))
	return nil
}

// resolveValue collects repeated --resolve host:port:addr flags.
type resolveValue struct{ o []resolver.Override }

func (r *resolveValue) String() string {
	s := make([]string, len(r.o))
	for i, o := range r.o {
		s[i] = o.String()
	}
	return strings.Join(s, ",")
}
func (r *resolveValue) Type() string { return "host:port:addr" }
func (r *resolveValue) Set(s string) error {
	o, err := resolver.ParseOverride(s)
	if err != nil {
		return err
	}
	r.o = append(r.o, o)
	return nil
}

// tlsVersionValue is "1.2" or "1.3".
type tlsVersionValue struct {
	v uint16
	s string
}

func (t *tlsVersionValue) String() string { return t.s }
func (t *tlsVersionValue) Type() string   { return "version" }
func (t *tlsVersionValue) Set(s string) error {
	v, err := loadgen.ParseTLSVersion(s)
	if err != nil {
		return err
	}
	t.v, t.s = v, s
	return nil
}

// tlsGroupsValue is a comma-separated list of TLS key-exchange groups
// (loadgen.ParseTLSGroups).
type tlsGroupsValue struct{ v []tls.CurveID }

func (g *tlsGroupsValue) String() string {
	s := make([]string, len(g.v))
	for i, id := range g.v {
		s[i] = loadgen.TLSGroupName(id)
	}
	return strings.Join(s, ",")
}
func (g *tlsGroupsValue) Type() string { return "groups" }
func (g *tlsGroupsValue) Set(s string) error {
	v, err := loadgen.ParseTLSGroups(s)
	if err != nil {
		return err
	}
	g.v = v
	return nil
}

// needTLS13 says whether the groups given leave nothing to offer with
// max, a --tls-max (0: unset): every one of them needs TLS 1.3 (the ML-KEM
// hybrid) and max is below it.
func (g *tlsGroupsValue) needTLS13(max uint16) bool {
	return len(g.v) > 0 && max != 0 && max < tls.VersionTLS13 &&
		!slices.ContainsFunc(g.v, func(id tls.CurveID) bool { return id != tls.X25519MLKEM768 })
}

// weightsValue is a comma-separated list of positive integers.
type weightsValue struct{ w []int64 }

func (w *weightsValue) String() string {
	s := make([]string, len(w.w))
	for i, x := range w.w {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}
func (w *weightsValue) Type() string { return "weights" }
func (w *weightsValue) Set(s string) error {
	w.w = nil
	for part := range strings.SplitSeq(s, ",") {
		var x int64
		if _, err := fmt.Sscanf(strings.TrimSpace(part), "%d", &x); err != nil || x <= 0 {
			return fmt.Errorf("weight %q is not a positive integer (want e.g. 2,1,1)", part)
		}
		w.w = append(w.w, x)
	}
	return nil
}
