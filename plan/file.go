package plan

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tailrace/tailrace/loadgen/schedule"
)

// File is a plan file as written. Every field is optional: a field left out
// leaves the matching `coordinator run` flag at its default, and a flag
// given on the command line overrides the field (FlagValues lists the
// fields as flags). Its YAML field names are the flag names with '_' for
// '-'; the requests of a mix (Requests, or a Targets file) have no flag.
//
// Get one with Parse or Load, which check it strictly; the zero value is an
// empty plan. A File is a plain value: not safe for concurrent mutation.
// Marshal writes it back as YAML that Parse reads to an equal File.
type File struct {
	// Target is the URL requests are aimed at; a request URL that is only
	// a path ("/api?x=1") is resolved against it. Empty means the URL given
	// on the command line, or the built-in calibration target.
	Target string `yaml:"target,omitempty"`

	Rate     Rate            `yaml:"rate,omitempty"`     // requests per second: 2000, "2000/s", "120/m"
	Duration Duration        `yaml:"duration,omitempty"` // at Rate
	Stages   schedule.Stages `yaml:"stages,omitempty"`   // instead of Rate and Duration: "30s:0->2000,2m:2000"
	Arrival  string          `yaml:"arrival,omitempty"`  // constant or poisson
	Seed     *int64          `yaml:"seed,omitempty"`     // nil means the flag's default

	Mode        string   `yaml:"mode,omitempty"`
	Modes       []string `yaml:"modes,omitempty"`
	Connections int      `yaml:"connections,omitempty"`
	MaxInFlight int      `yaml:"max_inflight,omitempty"`
	Pacer       string   `yaml:"pacer,omitempty"`
	Tick        Duration `yaml:"tick,omitempty"` // the tick pacer's grid
	Client      string   `yaml:"client,omitempty"`
	// Concurrency > 0 runs closed-loop (no schedule): see `--concurrency`.
	Concurrency int `yaml:"concurrency,omitempty"`

	Local         int      `yaml:"local,omitempty"`
	Weights       []int64  `yaml:"weights,omitempty"` // split weights, one per worker
	Workers       int      `yaml:"workers,omitempty"` // remote workers to wait for
	Listen        string   `yaml:"listen,omitempty"`
	JoinTimeout   Duration `yaml:"join_timeout,omitempty"`
	OnWorkerLoss  string   `yaml:"on_worker_loss,omitempty"`
	OrphanTimeout Duration `yaml:"orphan_timeout,omitempty"`

	// Method, Headers, Body and BodyFile describe the request of a
	// single-request plan, and are the defaults every request of a mix
	// starts from (a request's own header replaces one of the same name).
	Method   string  `yaml:"method,omitempty"`
	Headers  Headers `yaml:"headers,omitempty"`
	Body     string  `yaml:"body,omitempty"`
	BodyFile string  `yaml:"body_file,omitempty"` // relative to the plan file's directory

	Timeout        Duration `yaml:"timeout,omitempty"`
	ConnectTimeout Duration `yaml:"connect_timeout,omitempty"`
	TLSTimeout     Duration `yaml:"tls_timeout,omitempty"`
	TTFBTimeout    Duration `yaml:"ttfb_timeout,omitempty"`

	Insecure  bool     `yaml:"insecure,omitempty"`
	CACert    string   `yaml:"cacert,omitempty"` // relative to the plan file's directory
	TLSMin    string   `yaml:"tls_min,omitempty"`
	TLSMax    string   `yaml:"tls_max,omitempty"`
	TLSGroups string   `yaml:"tls_groups,omitempty"` // e.g. x25519,p256
	Resolve   []string `yaml:"resolve,omitempty"`    // host:port:addr
	DNSServer string   `yaml:"dns_server,omitempty"`
	DNSCache  *bool    `yaml:"dns_cache,omitempty"` // nil means the flag's default (true)

	// ExpectStatus is the set of statuses that count as success, e.g.
	// "2xx,304"; empty means every status below 400.
	ExpectStatus StatusList `yaml:"expect_status,omitempty"`
	SLO          []string   `yaml:"slo,omitempty"` // gates, e.g. total.p99<250ms
	JUnit        string     `yaml:"junit,omitempty"`
	Out          string     `yaml:"out,omitempty"`
	Quiet        bool       `yaml:"quiet,omitempty"`
	Exemplars    int        `yaml:"exemplars,omitempty"`
	TargetParams string     `yaml:"target_params,omitempty"`

	// Requests is the mix: each arrival sends one of them, chosen by weight
	// (see schedule.Mix). Empty means the single request above.
	Requests []Request `yaml:"requests,omitempty"`
	// Targets is a file of requests in vegeta's HTTP targets format, each
	// of weight 1, instead of Requests; relative to the plan file's
	// directory.
	Targets string `yaml:"targets,omitempty"`

	// Dir is the directory relative paths are resolved against: the plan
	// file's, set by Load. It is not part of the YAML.
	Dir string `yaml:"-"`

	name string    // as given to Parse, for messages
	pos  positions // where each field was written, for errors after parsing
}

// Request is one request of a mix. Unset fields inherit the plan's.
type Request struct {
	// Label names the request in every per-label output; requests may
	// share one. Empty means "METHOD /path".
	Label    string  `yaml:"label,omitempty"`
	Method   string  `yaml:"method,omitempty"`
	URL      string  `yaml:"url,omitempty"` // absolute, or a path resolved against the plan's target
	Headers  Headers `yaml:"headers,omitempty"`
	Body     string  `yaml:"body,omitempty"`
	BodyFile string  `yaml:"body_file,omitempty"`
	// Weight is the request's relative share of the arrivals; nil means 1.
	Weight *float64 `yaml:"weight,omitempty"`
}

// Rate is a rate in requests per second. In YAML it is a number or a
// string with a unit: 2000, "2000/s", "120/m". The zero value means unset.
type Rate float64

// UnmarshalYAML implements yaml.Unmarshaler.
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a rate such as 2000 or \"2000/s\", got a %s", kindName(n))
	}
	v, err := schedule.ParseRate(n.Value)
	if err != nil {
		return err
	}
	*r = Rate(v)
	return nil
}

// Duration is a time.Duration written in Go's syntax ("30s", "1m30s"). The
// zero value means unset.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%q is not a duration (want e.g. 500ms, 30s, 2m)", b)
	}
	*d = Duration(v)
	return nil
}

// Header is one request header line.
type Header struct{ Name, Value string }

// Headers are request headers in the order written. In YAML they are a
// mapping ({Accept: text/html}, a list value for a repeated header) or a
// list of "Name: value" strings; they marshal as the list.
type Headers []Header

// UnmarshalYAML implements yaml.Unmarshaler.
func (h *Headers) UnmarshalYAML(n *yaml.Node) error {
	var out Headers
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := resolveAlias(n.Content[i]), resolveAlias(n.Content[i+1])
			if k.Kind != yaml.ScalarNode {
				return atNode(k, "a header name must be a string")
			}
			vals := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				vals = v.Content
			}
			for _, x := range vals {
				x = resolveAlias(x)
				if x.Kind != yaml.ScalarNode {
					return atNode(x, "header %s: want a string value, got a %s", k.Value, kindName(x))
				}
				s, err := scalarString(x)
				if err != nil {
					return atNode(x, "header %s: %v", k.Value, err)
				}
				out = append(out, Header{Name: k.Value, Value: s})
			}
		}
	case yaml.SequenceNode:
		for _, x := range n.Content {
			x = resolveAlias(x)
			if x.Kind != yaml.ScalarNode {
				return atNode(x, "want a \"Name: value\" string, got a %s", kindName(x))
			}
			s, err := scalarString(x)
			if err != nil {
				return atNode(x, "%v", err)
			}
			name, val, ok := strings.Cut(s, ":")
			if !ok {
				return atNode(x, "header %q: want \"Name: value\"", s)
			}
			out = append(out, Header{Name: name, Value: val})
		}
	default:
		return fmt.Errorf("headers: want a mapping (Name: value) or a list of \"Name: value\", got a %s", kindName(n))
	}
	for i := range out {
		out[i].Name, out[i].Value = strings.TrimSpace(out[i].Name), strings.TrimSpace(out[i].Value)
	}
	*h = out
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (h Headers) MarshalYAML() (any, error) {
	s := make([]string, len(h))
	for i, x := range h {
		s[i] = x.Name + ": " + x.Value
	}
	return s, nil
}

// StatusList is the text of --expect-status, such as "2xx,304" (see
// loadgen.ParseStatusSet). In YAML it is that string or a list of its
// items; it marshals as the string.
type StatusList string

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *StatusList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*s = StatusList(n.Value)
		return nil
	case yaml.SequenceNode:
		parts := make([]string, 0, len(n.Content))
		for _, x := range n.Content {
			x = resolveAlias(x)
			if x.Kind != yaml.ScalarNode {
				return atNode(x, "want a status (200), a class (2xx) or a range (200-299), got a %s", kindName(x))
			}
			parts = append(parts, x.Value)
		}
		*s = StatusList(strings.Join(parts, ","))
		return nil
	}
	return fmt.Errorf("want a status list such as \"2xx,304\", got a %s", kindName(n))
}

// scalarString is a scalar's text; !!binary scalars are decoded (yaml.v3
// writes a string that is not valid UTF-8 that way).
func scalarString(n *yaml.Node) (string, error) {
	if n.ShortTag() == "!!binary" {
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(n.Value), ""))
		if err != nil {
			return "", fmt.Errorf("invalid !!binary value: %v", err)
		}
		return string(b), nil
	}
	return n.Value, nil
}
