package loadgen

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen/schedule"
)

// RequestSpec is one request of a weighted mix (Config.Requests).
type RequestSpec struct {
	// Label names the request in the per-label results; requests may share
	// one. It comes from the plan, never from responses.
	Label  string
	Method string      // "" means GET
	URL    *url.URL    // on the origin (scheme://host:port) of Config.URL
	Header http.Header // a Host entry sets the Host header
	Body   []byte
	Weight float64 // relative share of the arrivals, > 0
}

// MaxLabels bounds the distinct labels of a mix: each has its own
// histograms (about 4.6 MB on every engine, and its share of every
// interval sent to the coordinator).
const MaxLabels = 64

// validateRequests checks the mix; Validate calls it.
func (c *Config) validateRequests() error {
	if len(c.Requests) == 0 {
		return nil
	}
	labels := map[string]bool{}
	for i, r := range c.Requests {
		if r.URL == nil {
			return fmt.Errorf("loadgen: request %d (%s) has no URL", i+1, r.Label)
		}
		if r.URL.Scheme != c.URL.Scheme || !strings.EqualFold(originHostPort(r.URL), originHostPort(c.URL)) {
			return fmt.Errorf("loadgen: request %d (%s): %s is not on the target's origin %s://%s: a mix shares the target's connections",
				i+1, r.Label, r.URL.Redacted(), c.URL.Scheme, originHostPort(c.URL))
		}
		if r.Label == "" {
			return fmt.Errorf("loadgen: request %d has no label", i+1)
		}
		labels[r.Label] = true
	}
	if len(labels) > MaxLabels {
		return fmt.Errorf("loadgen: %d labels, more than %d", len(labels), MaxLabels)
	}
	_, err := newMix(c.Requests, 0)
	return err
}

func newMix(reqs []RequestSpec, seed int64) (*schedule.Mix, error) {
	w := make([]float64, len(reqs))
	for i, r := range reqs {
		w[i] = r.Weight
	}
	m, err := schedule.NewMix(w, seed)
	if err != nil {
		return nil, fmt.Errorf("loadgen: request mix: %w", err)
	}
	return m, nil
}

// originHostPort is u's host:port, the scheme's default port made explicit.
func originHostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// requestMix is the engine's side of Config.Requests: which request each
// arrival sends, and the recorder of each label. The zero value (and nil)
// is the single request of a run without a mix. It is immutable once
// built, and its recorders are safe for concurrent use.
type requestMix struct {
	mix    *schedule.Mix
	names  []string              // distinct labels, in the order of Config.Requests
	label  []int                 // label index of each request
	recs   []*histogram.Recorder // per label: one shard (a label's requests share its lock)
	shards []*histogram.Shard
}

// newRequestMix prepares cfg's mix under the plan's seed, so that the same
// seed makes the same choices; nil without a mix.
func newRequestMix(cfg *Config, seed int64) (*requestMix, error) {
	if len(cfg.Requests) == 0 {
		return nil, nil
	}
	m, err := newMix(cfg.Requests, seed)
	if err != nil {
		return nil, err
	}
	rm := &requestMix{mix: m, label: make([]int, len(cfg.Requests))}
	idx := map[string]int{}
	for i, r := range cfg.Requests {
		j, ok := idx[r.Label]
		if !ok {
			j = len(rm.names)
			idx[r.Label] = j
			rm.names = append(rm.names, r.Label)
			rec := histogram.NewRecorder(1, 0)
			rm.recs = append(rm.recs, rec)
			rm.shards = append(rm.shards, rec.Shard(0))
		}
		rm.label[i] = j
	}
	return rm, nil
}

// pick returns the request the arrival with global index k sends.
func (m *requestMix) pick(k int64) int {
	if m == nil {
		return 0
	}
	return m.mix.Pick(k)
}

// record adds a finished request of request index req to its label.
func (m *requestMix) record(req int, cn *histogram.Counters, smp *histogram.Sample) {
	if m == nil {
		return
	}
	sh := m.shards[m.label[req]]
	sh.Record(smp, cn)
}

// labelOf is the label of request req, "" without a mix.
func (m *requestMix) labelOf(req int) string {
	if m == nil {
		return ""
	}
	return m.names[m.label[req]]
}

// rotate ends every label's interval into iv.Labels.
func (m *requestMix) rotate(iv *histogram.Interval, index int, start time.Time, length time.Duration) {
	if m == nil {
		return
	}
	iv.Labels = make(map[string]*histogram.Interval, len(m.names))
	for i, name := range m.names {
		iv.Labels[name] = m.recs[i].Rotate(index, start, length)
	}
}

// newRequestTemplates builds the template of every request of the mix, or
// of the single request; the connection layers index them by
// Trail.Request.
func newRequestTemplates(cfg *Config) []*requestTemplate {
	if len(cfg.Requests) == 0 {
		return []*requestTemplate{newRequestTemplate(cfg)}
	}
	out := make([]*requestTemplate, len(cfg.Requests))
	for i, r := range cfg.Requests {
		c := *cfg
		c.URL, c.Method, c.Header, c.Body = r.URL, r.Method, r.Header, r.Body
		if c.Method == "" {
			c.Method = http.MethodGet
		}
		out[i] = newRequestTemplate(&c)
	}
	return out
}

var errNoRequests = errors.New("loadgen: no request templates")
