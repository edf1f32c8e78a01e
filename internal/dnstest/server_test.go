package dnstest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// goResolver is the standard library's pure-Go stub resolver pointed at s:
// an independent client that proves the server speaks real DNS.
func goResolver(s *Server) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.Addr())
		},
	}
}

func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

var testRecords = map[string][]netip.Addr{
	"Both.Example.": {netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("192.0.2.2")},
	"v4.example":    {netip.MustParseAddr("::ffff:192.0.2.9")},
	"empty.example": nil,
}

func TestLookupWithGoResolver(t *testing.T) {
	tests := []struct {
		name     string
		truncate bool
		network  string
		host     string
		want     []string
		notFound bool
	}{
		// A records only, in configured order; the key's case and dot do not matter.
		{name: "a", network: "ip4", host: "both.example.", want: []string{"192.0.2.1", "192.0.2.2"}},
		// AAAA records only.
		{name: "aaaa", network: "ip6", host: "BOTH.example.", want: []string{"2001:db8::1"}},
		// An IPv4-mapped address is served as an A record.
		{name: "mapped", network: "ip4", host: "v4.example.", want: []string{"192.0.2.9"}},
		// An unknown name is NXDOMAIN.
		{name: "nxdomain", network: "ip4", host: "missing.example.", notFound: true},
		// A known name without addresses is NODATA, which Go also reports as not found.
		{name: "nodata", network: "ip4", host: "empty.example.", notFound: true},
		// Truncated UDP answers force Go's resolver onto TCP, which answers in full.
		{name: "truncated", truncate: true, network: "ip4", host: "both.example.", want: []string{"192.0.2.1", "192.0.2.2"}},
		// NXDOMAIN over TCP too.
		{name: "truncated nxdomain", truncate: true, network: "ip4", host: "missing.example.", notFound: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, Config{Records: testRecords, TTL: 60, Truncate: tt.truncate})
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			addrs, err := goResolver(s).LookupNetIP(ctx, tt.network, tt.host)
			if tt.notFound {
				var dnsErr *net.DNSError
				if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
					t.Fatalf("err = %v, want not found", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LookupNetIP: %v", err)
			}
			var got []string
			for _, a := range addrs {
				got = append(got, a.Unmap().String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("addrs = %v, want %v", got, tt.want)
			}
			if s.Queries() < 1 {
				t.Errorf("Queries() = %d, want at least 1", s.Queries())
			}
		})
	}
}

// exchange sends one raw query over UDP and returns the parsed answer.
func exchange(t *testing.T, s *Server, msg []byte) dnsmessage.Message {
	t.Helper()
	c, err := net.Dial("udp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, maxMessage)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	var m dnsmessage.Message
	if err := m.Unpack(buf[:n]); err != nil {
		t.Fatalf("unpack answer: %v", err)
	}
	return m
}

func buildQuery(t *testing.T, id uint16, qs []dnsmessage.Question, edns int) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	b.StartQuestions()
	for _, q := range qs {
		if err := b.Question(q); err != nil {
			t.Fatal(err)
		}
	}
	if edns > 0 {
		b.StartAdditionals()
		var rh dnsmessage.ResourceHeader
		rh.SetEDNS0(edns, dnsmessage.RCodeSuccess, false)
		b.OPTResource(rh, dnsmessage.OPTResource{})
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestRawAnswers(t *testing.T) {
	many := make([]netip.Addr, 40) // 40 A records: about 660 bytes, over 512
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
	}
	s := start(t, Config{Records: map[string][]netip.Addr{"many.example": many, "one.example": many[:1]}, TTL: 7})
	q := func(name string) dnsmessage.Question {
		return dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
	}
	tests := []struct {
		name      string
		qs        []dnsmessage.Question
		edns      int
		rcode     dnsmessage.RCode
		truncated bool
		answers   int
	}{
		// One record, with the configured TTL checked below.
		{name: "one", qs: []dnsmessage.Question{q("one.example.")}, answers: 1},
		// Over 512 bytes without EDNS(0): truncated, no records.
		{name: "too big classic", qs: []dnsmessage.Question{q("many.example.")}, truncated: true},
		// The same answer fits once the client advertises 1232 bytes.
		{name: "edns fits", qs: []dnsmessage.Question{q("many.example.")}, edns: 1232, answers: 40},
		// No question at all is a format error.
		{name: "no question", rcode: dnsmessage.RCodeFormatError},
		// Two questions in one message are a format error too.
		{name: "two questions", qs: []dnsmessage.Question{q("one.example."), q("many.example.")}, rcode: dnsmessage.RCodeFormatError},
		// A class other than IN is refused.
		{name: "chaos class", qs: []dnsmessage.Question{{Name: dnsmessage.MustNewName("one.example."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassCHAOS}}, rcode: dnsmessage.RCodeRefused},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := uint16(1000 + i)
			m := exchange(t, s, buildQuery(t, id, tt.qs, tt.edns))
			if m.ID != id || !m.Response || !m.Authoritative {
				t.Errorf("header = %+v, want ID %d, response, authoritative", m.Header, id)
			}
			if m.RCode != tt.rcode || m.Truncated != tt.truncated || len(m.Answers) != tt.answers {
				t.Errorf("rcode %v truncated %v answers %d, want %v %v %d", m.RCode, m.Truncated, len(m.Answers), tt.rcode, tt.truncated, len(m.Answers))
			}
			for _, a := range m.Answers {
				if a.Header.TTL != 7 {
					t.Errorf("TTL = %d, want 7", a.Header.TTL)
				}
			}
			if gotOPT := len(m.Additionals) == 1 && m.Additionals[0].Header.Type == dnsmessage.TypeOPT; gotOPT != (tt.edns > 0) {
				t.Errorf("OPT in answer = %v, want %v", gotOPT, tt.edns > 0)
			}
		})
	}
}

func TestDelayDoesNotSerialize(t *testing.T) {
	// Long enough that serialized answers (5 × delay) stand well clear of
	// scheduling noise on a loaded machine.
	const delay = 500 * time.Millisecond
	const n = 5
	s := start(t, Config{Records: testRecords, Delay: delay})
	msg := buildQuery(t, 7, []dnsmessage.Question{{Name: dnsmessage.MustNewName("both.example."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}}, 0)
	conns := make([]net.Conn, n) // raw queries: Go's resolver would coalesce them into one
	for i := range conns {
		c, err := net.Dial("udp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		conns[i] = c
	}
	startAt := time.Now()
	for _, c := range conns {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			if _, err := c.Read(make([]byte, maxMessage)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(startAt)
	if elapsed < delay {
		t.Errorf("%d queries took %v, want at least the %v delay", n, elapsed, delay)
	}
	if elapsed >= (n-1)*delay {
		t.Errorf("%d concurrent queries took %v: delayed answers blocked each other", n, elapsed)
	}
	if got := s.Queries(); got != n {
		t.Errorf("Queries() = %d, want %d", got, n)
	}
}

func TestCloseDropsPendingAnswersAndIsIdempotent(t *testing.T) {
	s, err := Start(Config{Records: testRecords, Delay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := buildQuery(t, 1, []dnsmessage.Question{{Name: dnsmessage.MustNewName("both.example."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}}, 0)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	tc, err := net.Dial("tcp", s.Addr()) // an idle TCP client must not keep Close waiting
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()

	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return within 5s with an answer pending")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if got := s.Queries(); got != 0 {
		t.Errorf("Queries() = %d after dropping the answer, want 0", got)
	}
}

func TestStartRejectsNegativeDelay(t *testing.T) {
	if _, err := Start(Config{Delay: -time.Second}); err == nil {
		t.Fatal("Start accepted a negative delay")
	}
}
