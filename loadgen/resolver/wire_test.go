package resolver

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// fakeServer answers each UDP query with whatever reply returns, for
// misbehaviours dnstest does not offer. It stops at test cleanup.
func fakeServer(t *testing.T, reply func(q dnsmessage.Message) []dnsmessage.Message) string {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { c.Close(); wg.Wait() })
	wg.Go(func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			var q dnsmessage.Message
			if q.Unpack(buf[:n]) != nil {
				continue
			}
			for _, m := range reply(q) {
				b, err := m.Pack()
				if err != nil {
					t.Errorf("pack reply: %v", err)
					return
				}
				c.WriteToUDPAddrPort(b, from)
			}
		}
	})
	return c.LocalAddr().String()
}

func aRecord(name string, ttl uint32, a string) dnsmessage.Resource {
	return dnsmessage.Resource{
		Header: dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(name), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: ttl},
		Body:   &dnsmessage.AResource{A: netip.MustParseAddr(a).As4()},
	}
}

func cname(name string, ttl uint32, target string) dnsmessage.Resource {
	return dnsmessage.Resource{
		Header: dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(name), Type: dnsmessage.TypeCNAME, Class: dnsmessage.ClassINET, TTL: ttl},
		Body:   &dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(target)},
	}
}

// reply starts an answer to q.
func reply(q dnsmessage.Message, rcode dnsmessage.RCode, answers ...dnsmessage.Resource) dnsmessage.Message {
	return dnsmessage.Message{
		Header:    dnsmessage.Header{ID: q.ID, Response: true, RCode: rcode},
		Questions: q.Questions,
		Answers:   answers,
	}
}

func TestWireAnswers(t *testing.T) {
	tests := []struct {
		name   string
		reply  func(q dnsmessage.Message) []dnsmessage.Message
		want   []string
		ttl    time.Duration
		errHas string // substring of the error; "" means success
		errIs  error
	}{
		{
			// The answer's smallest TTL wins.
			name: "min ttl",
			reply: func(q dnsmessage.Message) []dnsmessage.Message {
				return []dnsmessage.Message{reply(q, 0, aRecord("w.test.", 300, "192.0.2.1"), aRecord("w.test.", 20, "192.0.2.2"))}
			},
			want: []string{"192.0.2.1", "192.0.2.2"}, ttl: 20 * time.Second,
		},
		{
			// A TTL with the top bit set means 0 (RFC 2181).
			name: "huge ttl is zero",
			reply: func(q dnsmessage.Message) []dnsmessage.Message {
				return []dnsmessage.Message{reply(q, 0, aRecord("w.test.", 1<<31, "192.0.2.1"))}
			},
			want: []string{"192.0.2.1"}, ttl: 0,
		},
		{
			// CNAME chains are followed; their TTLs count; unrelated records are ignored.
			name: "cname chain",
			reply: func(q dnsmessage.Message) []dnsmessage.Message {
				return []dnsmessage.Message{reply(q, 0,
					cname("W.test.", 100, "mid.test."), cname("mid.test.", 50, "edge.test."),
					aRecord("other.test.", 1, "198.51.100.1"), aRecord("edge.test.", 200, "192.0.2.3"))}
			},
			want: []string{"192.0.2.3"}, ttl: 50 * time.Second,
		},
		{
			// Datagrams with the wrong ID or question are skipped, as RFC 5452 asks.
			name: "spoofed answers ignored",
			reply: func(q dnsmessage.Message) []dnsmessage.Message {
				wrongID := reply(q, 0, aRecord("w.test.", 60, "203.0.113.66"))
				wrongID.ID++
				wrongQ := reply(q, 0, aRecord("evil.test.", 60, "203.0.113.66"))
				wrongQ.Questions = []dnsmessage.Question{{Name: dnsmessage.MustNewName("evil.test."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}}
				return []dnsmessage.Message{wrongID, wrongQ, reply(q, 0, aRecord("w.test.", 60, "192.0.2.1"))}
			},
			want: []string{"192.0.2.1"}, ttl: time.Minute,
		},
		{
			// SERVFAIL is named, and is not "not found".
			name: "servfail",
			reply: func(q dnsmessage.Message) []dnsmessage.Message {
				return []dnsmessage.Message{reply(q, dnsmessage.RCodeServerFailure)}
			},
			errHas: "SERVFAIL",
		},
		{
			// REFUSED is named too.
			name: "refused",
			reply: func(q dnsmessage.Message) []dnsmessage.Message {
				return []dnsmessage.Message{reply(q, dnsmessage.RCodeRefused)}
			},
			errHas: "REFUSED",
		},
		{
			// NXDOMAIN names the host and wraps ErrNotFound.
			name: "nxdomain",
			reply: func(q dnsmessage.Message) []dnsmessage.Message {
				return []dnsmessage.Message{reply(q, dnsmessage.RCodeNameError)}
			},
			errHas: "w.test", errIs: ErrNotFound,
		},
		{
			// Only wrong answers until the timeout: a timeout, not a spoofed success.
			name: "only mismatches",
			reply: func(q dnsmessage.Message) []dnsmessage.Message {
				m := reply(q, 0, aRecord("w.test.", 60, "203.0.113.66"))
				m.ID++
				return []dnsmessage.Message{m}
			},
			errIs: context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := fakeServer(t, tt.reply)
			r, err := New(Config{Server: addr, Network: "ip4", Timeout: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Lookup(t.Context(), "w.test", "443")
			if tt.errHas != "" || tt.errIs != nil {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) || !strings.HasPrefix(err.Error(), "resolver: ") {
					t.Fatalf("err = %v, want one containing %q", err, tt.errHas)
				}
				if tt.errIs != nil && !errors.Is(err, tt.errIs) {
					t.Fatalf("err = %v, want it to wrap %v", err, tt.errIs)
				}
				if tt.errIs != ErrNotFound && errors.Is(err, ErrNotFound) {
					t.Fatalf("err = %v wraps ErrNotFound", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			var got []string
			for _, a := range res.Addrs {
				got = append(got, a.String())
			}
			if !slices.Equal(got, tt.want) || res.TTL != tt.ttl || res.Source != Queried {
				t.Errorf("got %v ttl %v %v, want %v ttl %v queried", got, res.TTL, res.Source, tt.want, tt.ttl)
			}
		})
	}
}
