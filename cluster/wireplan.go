package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/resolver"
	"github.com/tailrace/tailrace/loadgen/schedule"
	tailracepb "github.com/tailrace/tailrace/proto"
)

// encodePlan converts one worker's assignment (without T0, which Start
// carries) into a Plan message. A CA file is sent as its contents: the
// worker has no access to the coordinator's files.
func encodePlan(a Assignment) (*tailracepb.Plan, error) {
	c := a.Engine
	if c.URL == nil {
		return nil, errors.New("cluster: plan without a target URL")
	}
	if c.RootCAs != nil && len(c.CAPEM) == 0 {
		return nil, errors.New("cluster: the engine trusts an in-memory certificate pool, which cannot be sent to remote workers: set loadgen.Config.CAPEM")
	}
	if c.OnTrail != nil {
		return nil, errors.New("cluster: an OnTrail hook cannot be sent to remote workers")
	}
	if c.Concurrency > 0 {
		// A closed loop has no schedule for a worker to check its caps against.
		return nil, errors.New("cluster: closed-loop runs (concurrency) stay on local workers")
	}
	ca := slices.Clone(c.CAPEM)
	if c.CACert != "" {
		pem, err := os.ReadFile(c.CACert)
		if err != nil {
			return nil, fmt.Errorf("cluster: CA certificate for the workers: %w", err)
		}
		ca = append(ca, pem...)
	}
	e := &tailracepb.Engine{
		Url: c.URL.String(), Method: c.Method, Body: c.Body, Mode: string(c.Mode),
		Connections: uint32(c.Connections), MaxInFlight: uint32(c.MaxInFlight), Pacer: string(c.Pacer), TickNs: int64(c.Tick),
		TimeoutNs: int64(c.Timeout), ConnectTimeoutNs: int64(c.ConnectTimeout), TlsTimeoutNs: int64(c.TLSTimeout),
		TtfbTimeoutNs: int64(c.TTFBTimeout), Insecure: c.Insecure, CaPem: ca, TlsMin: uint32(c.TLSMin),
		TlsMax: uint32(c.TLSMax), ServerName: c.ServerName, DnsServer: c.DNSServer, DnsCache: c.DNSCache,
		Exemplars: uint32(c.Exemplars), Client: string(c.Client), ExpectStatus: c.Expect.String(),
	}
	for _, g := range c.TLSGroups {
		e.TlsGroups = append(e.TlsGroups, uint32(g))
	}
	e.Headers = encodeHeaders(c.Header)
	for _, r := range c.Requests {
		if r.URL == nil {
			return nil, fmt.Errorf("cluster: request %q without a URL", r.Label)
		}
		e.Requests = append(e.Requests, &tailracepb.Request{
			Label: r.Label, Method: r.Method, Url: r.URL.String(), Headers: encodeHeaders(r.Header), Body: r.Body, Weight: r.Weight,
		})
	}
	for _, o := range c.Resolve {
		e.Resolve = append(e.Resolve, o.String())
	}
	p := &tailracepb.Plan{
		Arm: uint32(a.Arm), Process: a.Plan.Process.String(), Seed: a.Plan.Seed,
		Segment: a.Segment.String(), Engine: e,
	}
	for _, s := range a.Plan.Stages {
		p.Stages = append(p.Stages, &tailracepb.Stage{DurationNs: int64(s.Duration), From: s.From, To: s.To})
	}
	return p, nil
}

// decodePlan is the worker's side of encodePlan. The engine configuration
// is not validated here: loadgen.New does that.
func decodePlan(p *tailracepb.Plan) (loadgen.Config, schedule.Plan, schedule.Segment, error) {
	var (
		cfg  loadgen.Config
		plan schedule.Plan
	)
	seg, err := schedule.ParseSegment(p.GetSegment())
	if err != nil {
		return cfg, plan, seg, err
	}
	if err := plan.Process.UnmarshalText([]byte(p.GetProcess())); err != nil {
		return cfg, plan, seg, err
	}
	plan.Seed = p.GetSeed()
	for _, s := range p.GetStages() {
		plan.Stages = append(plan.Stages, schedule.Stage{Duration: time.Duration(s.GetDurationNs()), From: s.GetFrom(), To: s.GetTo()})
	}
	if err := plan.Validate(); err != nil {
		return cfg, plan, seg, err
	}
	e := p.GetEngine()
	u, err := url.Parse(e.GetUrl())
	if err != nil {
		return cfg, plan, seg, fmt.Errorf("cluster: target URL: %w", err)
	}
	cfg = loadgen.Config{
		URL: u, Method: e.GetMethod(), Body: e.GetBody(), Mode: loadgen.Mode(e.GetMode()),
		Connections: int(e.GetConnections()), MaxInFlight: int(e.GetMaxInFlight()), Pacer: loadgen.PacerKind(e.GetPacer()), Tick: time.Duration(e.GetTickNs()),
		Timeout: time.Duration(e.GetTimeoutNs()), ConnectTimeout: time.Duration(e.GetConnectTimeoutNs()),
		TLSTimeout: time.Duration(e.GetTlsTimeoutNs()), TTFBTimeout: time.Duration(e.GetTtfbTimeoutNs()),
		Insecure: e.GetInsecure(), CAPEM: e.GetCaPem(), TLSMin: uint16(e.GetTlsMin()), TLSMax: uint16(e.GetTlsMax()),
		ServerName: e.GetServerName(), DNSServer: e.GetDnsServer(), DNSCache: e.GetDnsCache(), Exemplars: int(e.GetExemplars()),
		Client: loadgen.ClientKind(e.GetClient()),
	}
	if e.GetTlsMin() > 0xffff || e.GetTlsMax() > 0xffff {
		return cfg, plan, seg, fmt.Errorf("cluster: TLS versions %#x..%#x out of range", e.GetTlsMin(), e.GetTlsMax())
	}
	for _, g := range e.GetTlsGroups() {
		if g > 0xffff {
			return cfg, plan, seg, fmt.Errorf("cluster: TLS group %d out of range", g)
		}
		cfg.TLSGroups = append(cfg.TLSGroups, tls.CurveID(g))
	}
	cfg.Header = decodeHeaders(e.GetHeaders())
	if err := cfg.Expect.UnmarshalText([]byte(e.GetExpectStatus())); err != nil {
		return cfg, plan, seg, fmt.Errorf("cluster: %w", err)
	}
	if len(e.GetRequests()) > maxWireRequests {
		return cfg, plan, seg, fmt.Errorf("cluster: %d requests in the mix, more than %d", len(e.GetRequests()), maxWireRequests)
	}
	for _, r := range e.GetRequests() {
		ru, err := url.Parse(r.GetUrl())
		if err != nil {
			return cfg, plan, seg, fmt.Errorf("cluster: request %q: %w", r.GetLabel(), err)
		}
		cfg.Requests = append(cfg.Requests, loadgen.RequestSpec{
			Label: r.GetLabel(), Method: r.GetMethod(), URL: ru, Header: decodeHeaders(r.GetHeaders()), Body: r.GetBody(), Weight: r.GetWeight(),
		})
	}
	for _, s := range e.GetResolve() {
		o, err := resolver.ParseOverride(s)
		if err != nil {
			return cfg, plan, seg, err
		}
		cfg.Resolve = append(cfg.Resolve, o)
	}
	return cfg, plan, seg, nil
}

// maxWireRequests bounds the requests of a mix a worker accepts (as
// schedule.MaxMixBlock bounds a mix).
const maxWireRequests = 1 << 16

// encodeHeaders sends h with its names sorted, so that plans compare equal.
func encodeHeaders(h http.Header) []*tailracepb.Header {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []*tailracepb.Header
	for _, k := range keys {
		out = append(out, &tailracepb.Header{Name: k, Values: h[k]})
	}
	return out
}

func decodeHeaders(hs []*tailracepb.Header) http.Header {
	if len(hs) == 0 {
		return nil
	}
	h := http.Header{}
	for _, x := range hs {
		h[x.GetName()] = append(h[x.GetName()], x.GetValues()...)
	}
	return h
}

// peakRate is the highest rate, in requests per second, the plan asks of
// the segment.
func peakRate(p schedule.Plan, seg schedule.Segment) float64 {
	var peak float64
	for _, s := range p.Stages {
		peak = max(peak, s.From, s.To)
	}
	return peak * seg.Fraction()
}
