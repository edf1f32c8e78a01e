package cluster

import (
	"bytes"
	"crypto/tls"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tailrace/tailrace/histogram"
	"github.com/tailrace/tailrace/loadgen"
	"github.com/tailrace/tailrace/loadgen/resolver"
	"github.com/tailrace/tailrace/loadgen/schedule"
	tailracepb "github.com/tailrace/tailrace/proto"
)

// richInterval records n requests with every kind of data an interval
// holds: all phases, clamped values, errors, statuses, exemplars, self
// measurement and error texts.
func richInterval(t0 time.Time, n int, seed uint64) *histogram.Interval {
	rng := rand.New(rand.NewPCG(seed, 7))
	rec := histogram.NewRecorder(2, 8)
	for i := range n {
		var s histogram.Sample
		var tot time.Duration
		for p := histogram.Phase(0); int(p) < histogram.NumConsecutive; p++ {
			d := time.Duration(rng.ExpFloat64() * float64(200*time.Microsecond))
			s.Set(p, d)
			tot += d
		}
		s.Set(histogram.Service, tot/2)
		s.Set(histogram.Response, tot/3)
		s.Set(histogram.Total, tot)
		if i%97 == 0 {
			s.Set(histogram.Server, -time.Millisecond) // clamped
		}
		s.Status = []int{200, 200, 200, 503, 0}[i%5]
		if s.Status == 503 {
			s.Error = "status_5xx"
		} else if s.Status == 0 {
			s.Error = "connect"
		}
		s.Intended = t0.Add(time.Duration(i) * time.Millisecond)
		s.ConnID, s.NewConn, s.Resumed, s.Label = uint64(i%7), i%3 == 0, i%6 == 0, "GET /"
		sh := rec.Shard(i)
		sh.Record(&s, &histogram.Counters{Intended: 1, Sent: 1, Completed: 1, BytesRead: 100})
	}
	iv := rec.Rotate(3, t0.Add(3*time.Second), time.Second)
	iv.Self = histogram.Self{MaxInFlight: 42, HiccupMax: 3 * time.Millisecond, HiccupP99: time.Millisecond,
		GCPause: 2 * time.Millisecond, CPU: 300 * time.Millisecond, Degraded: true, DegradedReason: "schedule lag p99 9ms above 2ms"}
	iv.ErrorText = map[string]string{"connect": "dial tcp: connection refused", "status_5xx": "HTTP status 503"}
	iv.Labels = map[string]*histogram.Interval{"list": labelPart(t0, n/2, seed), "create": labelPart(t0, n/3, seed+1)}
	return iv
}

// labelPart is a label's sub-interval: histograms, counters, errors.
func labelPart(t0 time.Time, n int, seed uint64) *histogram.Interval {
	rng := rand.New(rand.NewPCG(seed, 9))
	rec := histogram.NewRecorder(1, 0)
	for i := range n {
		var s histogram.Sample
		s.Set(histogram.TTFB, time.Duration(rng.ExpFloat64()*float64(time.Millisecond)))
		s.Set(histogram.Total, 2*time.Millisecond)
		s.Status = 200
		if i%50 == 0 {
			s.Status, s.Error = 503, "status_5xx"
		}
		rec.Shard(0).Record(&s, &histogram.Counters{Intended: 1, Sent: 1, Completed: 1})
	}
	return rec.Rotate(3, t0.Add(3*time.Second), time.Second)
}

// sameInterval reports how a and b differ, "" when they hold the same data.
func sameInterval(a, b *histogram.Interval) string {
	switch {
	case a.Index != b.Index || !a.Start.Equal(b.Start) || a.Length != b.Length:
		return "index, start or length"
	case a.Counters != b.Counters:
		return "counters"
	case len(a.Errors) != len(b.Errors) || (len(a.Errors) > 0 && !maps.Equal(a.Errors, b.Errors)):
		return "errors"
	case a.Statuses != b.Statuses:
		return "statuses"
	case !bytes.Equal(a.Tail.AppendBinary(nil), b.Tail.AppendBinary(nil)):
		return "tail bins"
	case a.Self != b.Self:
		return "self"
	case len(a.ErrorText) != len(b.ErrorText) || (len(a.ErrorText) > 0 && !maps.Equal(a.ErrorText, b.ErrorText)):
		return "error text"
	case a.Exemplars.K() != b.Exemplars.K():
		return "exemplar K"
	}
	if len(a.Labels) != len(b.Labels) {
		return "labels"
	}
	for name, la := range a.Labels {
		lb, ok := b.Labels[name]
		if !ok {
			return "label " + name
		}
		la.Index, la.Start, la.Length = a.Index, a.Start, a.Length // a label's window is its parent's
		lb.Index, lb.Start, lb.Length = a.Index, a.Start, a.Length
		if d := sameInterval(la, lb); d != "" {
			return "label " + name + ": " + d
		}
	}
	ea, eb := a.Exemplars.Slowest(), b.Exemplars.Slowest()
	if len(ea) != len(eb) {
		return "exemplar count"
	}
	for i := range ea {
		if !ea[i].Intended.Equal(eb[i].Intended) {
			return "exemplar intended time"
		}
		ea[i].Intended, eb[i].Intended = time.Time{}, time.Time{}
		if ea[i] != eb[i] {
			return "exemplar"
		}
	}
	for p := range a.Hists {
		ha, hb := a.Hists[p], b.Hists[p]
		if ha == nil {
			ha = histogram.New()
		}
		if hb == nil {
			hb = histogram.New()
		}
		if !ha.Equal(hb) {
			return "histogram " + histogram.Phase(p).String()
		}
	}
	return ""
}

func TestIntervalRoundTrip(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	iv := richInterval(t0, 5000, 1)
	if iv.Hists[histogram.Server].Clamped() == 0 || iv.Exemplars.Len() == 0 || len(iv.Errors) == 0 {
		t.Fatal("richInterval lacks clamped values, exemplars or errors")
	}
	m, err := encodeInterval(iv, 2, t0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back tailracepb.Interval
	if err := proto.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.GetArm() != 2 {
		t.Errorf("arm %d, want 2", back.GetArm())
	}
	got, err := decodeInterval(&back, t0, "")
	if err != nil {
		t.Fatal(err)
	}
	if d := sameInterval(iv, got); d != "" {
		t.Errorf("round trip changed the %s", d)
	}

	// The receiver's T0 may be on another clock: every time moves with it.
	skew := 1500 * time.Millisecond
	moved, err := decodeInterval(&back, t0.Add(skew), "w1")
	if err != nil {
		t.Fatal(err)
	}
	if !moved.Start.Equal(iv.Start.Add(skew)) {
		t.Errorf("start %v, want %v", moved.Start, iv.Start.Add(skew))
	}
	for i, e := range moved.Exemplars.Slowest() {
		if want := iv.Exemplars.Slowest()[i].Intended.Add(skew); !e.Intended.Equal(want) || e.Worker != "w1" {
			t.Errorf("exemplar %d: intended %v worker %q, want %v and w1", i, e.Intended, e.Worker, want)
		}
	}
}

func TestMergeWireEqualsMerge(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	a, b := richInterval(t0, 3000, 1), richInterval(t0, 2000, 2)
	want := histogram.NewInterval(8)
	want.Index, want.Start, want.Length = a.Index, a.Start, a.Length
	want.Merge(a)
	want.Merge(b)

	got := histogram.NewInterval(8)
	got.Index, got.Start, got.Length = a.Index, a.Start, a.Length
	for _, iv := range []*histogram.Interval{a, b} {
		m, err := encodeInterval(iv, 0, t0)
		if err != nil {
			t.Fatal(err)
		}
		if err := mergeWire(got, m, t0, ""); err != nil {
			t.Fatal(err)
		}
	}
	if d := sameInterval(want, got); d != "" {
		t.Errorf("mergeWire differs from Interval.Merge in the %s", d)
	}
}

// BenchmarkMergeWire merges one received interval (5000 requests, two
// labels) into a coordinator's interval, straight from its V2 bytes.
func BenchmarkMergeWire(b *testing.B) {
	t0 := time.Unix(1_700_000_000, 0)
	m, err := encodeInterval(richInterval(t0, 5000, 1), 0, t0)
	if err != nil {
		b.Fatal(err)
	}
	dst := histogram.NewInterval(8)
	b.ReportAllocs()
	for b.Loop() {
		if err := mergeWire(dst, m, t0, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMergeWireRejectsAtomically(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	m, err := encodeInterval(richInterval(t0, 1000, 1), 0, t0)
	if err != nil {
		t.Fatal(err)
	}
	bad := proto.Clone(m).(*tailracepb.Interval)
	last := bad.Hists[len(bad.Hists)-1]
	last.V2 = last.V2[:len(last.V2)-3] // the last histogram is cut short
	dst := histogram.NewInterval(8)
	if err := mergeWire(dst, bad, t0, ""); err == nil {
		t.Fatal("a truncated histogram was accepted")
	}
	if dst.Hists[histogram.Total].Count() != 0 || dst.Counters.Sent != 0 {
		t.Error("a rejected interval left data behind")
	}
	for _, tc := range []struct {
		name string
		mod  func(*tailracepb.Interval)
	}{
		{"negative index", func(m *tailracepb.Interval) { m.Index = -1 }},                                                      // no such window
		{"phase out of range", func(m *tailracepb.Interval) { m.Hists[0].Phase = 99 }},                                         // no such phase
		{"too many statuses", func(m *tailracepb.Interval) { m.Statuses = make([]int64, 9) }},                                  // index past the array
		{"huge exemplar K", func(m *tailracepb.Interval) { m.ExemplarK = 1 << 30 }},                                            // would allocate gigabytes
		{"negative length", func(m *tailracepb.Interval) { m.LengthNs = -5 }},                                                  // time runs forward
		{"bad tail bins", func(m *tailracepb.Interval) { m.Tail = []byte{9, 9, 9} }},                                           // unknown version
		{"nested labels", func(m *tailracepb.Interval) { m.Labels["list"].Labels = map[string]*tailracepb.Interval{"x": {}} }}, // labels have no labels
		{"bad label histogram", func(m *tailracepb.Interval) { h := m.Labels["list"].Hists[0]; h.V2 = h.V2[:3] }},              // checked before merging
		{"too many labels", func(m *tailracepb.Interval) {
			for i := range 70 {
				m.Labels[string(rune('A'+i))] = &tailracepb.Interval{}
			}
		}}, // labels come from a plan: few
	} {
		x := proto.Clone(m).(*tailracepb.Interval)
		tc.mod(x)
		if _, err := decodeInterval(x, t0, ""); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func FuzzWireInterval(f *testing.F) {
	t0 := time.Unix(1_700_000_000, 0)
	m, _ := encodeInterval(richInterval(t0, 200, 3), 1, t0)
	b, _ := proto.Marshal(m)
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m tailracepb.Interval
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		iv, err := decodeInterval(&m, t0, "")
		if err != nil {
			return
		}
		m2, err := encodeInterval(iv, int(m.GetArm()), t0)
		if err != nil {
			t.Fatalf("re-encoding a decoded interval: %v", err)
		}
		iv2, err := decodeInterval(m2, t0, "")
		if err != nil {
			t.Fatalf("decoding a re-encoded interval: %v", err)
		}
		if d := sameInterval(iv, iv2); d != "" {
			t.Fatalf("round trip changed the %s", d)
		}
	})
}

func TestPlanRoundTrip(t *testing.T) {
	u, _ := url.Parse("https://example.test:8443/path?q=1")
	o, _ := resolver.ParseOverride("example.test:8443:127.0.0.1")
	a := Assignment{
		Engine: loadgen.Config{
			URL: u, Method: "POST", Header: http.Header{"X-A": {"1", "2"}, "Authorization": {"Bearer t"}}, Body: []byte("body"),
			Mode: loadgen.ModeH2, Connections: 7, MaxInFlight: 99, Pacer: loadgen.PacerTick, Tick: 5 * time.Millisecond,
			Timeout: 3 * time.Second, ConnectTimeout: time.Second, TLSTimeout: 2 * time.Second, TTFBTimeout: 4 * time.Second,
			CAPEM: []byte("-----BEGIN CERTIFICATE-----\n"), TLSMin: 0x0303, TLSMax: 0x0304, ServerName: "sni.test",
			TLSGroups: []tls.CurveID{tls.CurveP384, tls.X25519}, Resolve: []resolver.Override{o}, DNSServer: "127.0.0.1:53", DNSCache: true, Exemplars: 5, Client: loadgen.ClientStd,
			Requests: []loadgen.RequestSpec{
				{Label: "list", Method: "GET", URL: mustParse(t, "https://example.test:8443/items?page=1"), Weight: 70},
				{Label: "create", Method: "POST", URL: mustParse(t, "https://example.test:8443/items"), Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte("{}"), Weight: 0.5},
			},
			Expect: mustStatus(t, "2xx,304"),
		},
		Plan:    schedule.Plan{Stages: schedule.Stages{{Duration: 2 * time.Second, From: 0, To: 1000.5}, {Duration: time.Minute, From: 1000.5, To: 1000.5}}, Process: schedule.Poisson, Seed: -3},
		Segment: schedule.Segment{Start: 1, End: 3, Of: 5},
		Arm:     4,
	}
	cfg, plan, seg, back := roundTripPlan(t, a)
	if back.GetArm() != 4 || seg != a.Segment || !reflect.DeepEqual(plan, a.Plan) {
		t.Errorf("plan %+v segment %v arm %d, want %+v %v 4", plan, seg, back.GetArm(), a.Plan, a.Segment)
	}
	want := a.Engine
	if cfg.URL.String() != want.URL.String() {
		t.Errorf("URL %v, want %v", cfg.URL, want.URL)
	}
	cfg.URL, want.URL = nil, nil
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("engine\n got %+v\nwant %+v", cfg, want)
	}

	// Hooks and closed loops stay on this host.
	a.Engine.OnTrail = func(*loadgen.Trail) {}
	if _, err := encodePlan(a); err == nil {
		t.Error("a plan with an OnTrail hook was encoded")
	}
	a.Engine.OnTrail, a.Engine.Concurrency = nil, 4
	if _, err := encodePlan(a); err == nil {
		t.Error("a closed-loop plan was sent to a remote worker")
	}
}

// TestPlanTLSGroups: the groups reach the worker in the order given, none
// stays none (Go's defaults, not an empty preference list), and a code no
// tls.CurveID can hold is refused.
func TestPlanTLSGroups(t *testing.T) {
	a := Assignment{
		Engine:  loadgen.Config{URL: mustParse(t, "https://example.test/")},
		Plan:    schedule.Plan{Stages: schedule.Steady(10, time.Second)},
		Segment: schedule.Full,
	}
	for _, groups := range [][]tls.CurveID{nil, {tls.X25519}, {tls.CurveP521, tls.X25519MLKEM768, tls.CurveP256}} {
		a.Engine.TLSGroups = groups
		cfg, _, _, _ := roundTripPlan(t, a)
		if !reflect.DeepEqual(cfg.TLSGroups, groups) {
			t.Errorf("TLS groups %v came back as %#v", groups, cfg.TLSGroups)
		}
	}
	p, err := encodePlan(a)
	if err != nil {
		t.Fatal(err)
	}
	p.Engine.TlsGroups = append(p.Engine.TlsGroups, 0x10000+uint32(tls.X25519))
	if _, _, _, err := decodePlan(p); err == nil {
		t.Error("a TLS group beyond 16 bits was accepted")
	}
}

// roundTripPlan sends a's plan through encodePlan, the protobuf wire and
// decodePlan, as a remote worker receives it.
func roundTripPlan(t *testing.T, a Assignment) (loadgen.Config, schedule.Plan, schedule.Segment, *tailracepb.Plan) {
	t.Helper()
	p, err := encodePlan(a)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := proto.Marshal(p)
	var back tailracepb.Plan
	if err := proto.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	cfg, plan, seg, err := decodePlan(&back)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, plan, seg, &back
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustStatus(t *testing.T, s string) loadgen.StatusSet {
	t.Helper()
	set, err := loadgen.ParseStatusSet(s)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestPlanCoversConfig trips when loadgen.Config grows a field: a remote
// worker would silently run without it. Send it in wireplan.go, or list it
// here as local-only.
func TestPlanCoversConfig(t *testing.T) {
	sent := map[string]bool{
		"URL": true, "Method": true, "Header": true, "Body": true, "Mode": true, "Connections": true,
		"MaxInFlight": true, "Pacer": true, "Tick": true, "Timeout": true, "ConnectTimeout": true, "TLSTimeout": true,
		"TTFBTimeout": true, "Insecure": true, "CACert": true, "CAPEM": true, "TLSMin": true, "TLSMax": true, "TLSGroups": true,
		"ServerName": true, "Resolve": true, "DNSServer": true, "DNSCache": true, "Exemplars": true, "Client": true,
		"Requests": true, "Expect": true,
	}
	localOnly := map[string]string{
		"RootCAs":     "an in-memory pool: CAPEM carries the certificates",
		"Shards":      "the worker sizes its recorder to its own cores",
		"SelfMeter":   "the worker meters its own process",
		"Concurrency": "closed loops stay on local workers (encodePlan refuses them)",
		"OnTrail":     "a hook in the coordinator's process (encodePlan refuses it)",
	}
	ct := reflect.TypeOf(loadgen.Config{})
	for i := range ct.NumField() {
		name := ct.Field(i).Name
		if !sent[name] && localOnly[name] == "" {
			t.Errorf("loadgen.Config.%s does not reach remote workers: send it in the Plan (wireplan.go) or list it as local-only", name)
		}
	}
}

// TestEncodeIntervalOwnsItsData: the wire form shares no memory with the
// interval, which the worker gives back to the pool (and the engine reuses,
// or in one process the coordinator) before the message is marshalled.
func TestEncodeIntervalOwnsItsData(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	iv := richInterval(t0, 1000, 1)
	m, err := encodeInterval(iv, 0, t0)
	if err != nil {
		t.Fatal(err)
	}
	before := proto.Clone(m) // a deep copy: what m says now
	// Reuse the interval as the next rotation would: reset, then record.
	iv.Reset()
	for i := range iv.Statuses {
		iv.Statuses[i] = 999
	}
	if !proto.Equal(before, m) {
		t.Error("the encoded interval changed when the interval was reused")
	}
}
