package dnstest

import (
	"errors"
	"net/netip"

	"golang.org/x/net/dns/dnsmessage"
)

const (
	// classicUDPSize is the UDP answer limit for clients without EDNS(0)
	// (RFC 1035 section 4.2.1).
	classicUDPSize = 512
	// serverUDPSize is the payload size this server advertises in its own OPT
	// record, the value DNS Flag Day 2020 settled on.
	serverUDPSize = 1232
)

// query is what respond needs to know about an incoming message.
type query struct {
	header   dnsmessage.Header
	question *dnsmessage.Question // nil when the message has none
	extra    bool                 // more than one question
	edns     bool
	udpSize  int
}

// parseQuery reads the header, the question and the EDNS(0) payload size.
// ok is false when the message should be dropped rather than answered: too
// short for a header, or itself a response (answering responses invites
// loops).
func parseQuery(msg []byte) (q query, ok bool) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || h.Response {
		return q, false
	}
	q.header = h
	q.udpSize = classicUDPSize
	question, err := p.Question()
	if err != nil {
		return q, true
	}
	q.question = &question
	if _, err := p.Question(); !errors.Is(err, dnsmessage.ErrSectionDone) {
		q.extra = true
		return q, true
	}
	if p.SkipAllAnswers() != nil || p.SkipAllAuthorities() != nil {
		return q, true
	}
	// Bounded by the message: every iteration consumes a record or stops.
	for {
		rh, err := p.AdditionalHeader()
		if err != nil {
			return q, true
		}
		if rh.Type == dnsmessage.TypeOPT {
			q.edns = true
			if size := int(rh.Class); size > classicUDPSize {
				q.udpSize = size
			}
		}
		if p.SkipAdditional() != nil {
			return q, true
		}
	}
}

// respond builds the answer to msg. It returns nil when msg must be dropped.
// counted reports whether the answer is a full one that [Server.Queries]
// counts (false for a truncated UDP answer).
func (s *Server) respond(msg []byte, overUDP bool) (resp []byte, counted bool) {
	q, ok := parseQuery(msg)
	if !ok {
		return nil, false
	}
	h := dnsmessage.Header{
		ID:               q.header.ID,
		Response:         true,
		OpCode:           q.header.OpCode,
		Authoritative:    true,
		RecursionDesired: q.header.RecursionDesired,
	}
	var addrs []netip.Addr
	switch {
	case q.header.OpCode != 0:
		h.RCode = dnsmessage.RCodeNotImplemented
	case q.question == nil || q.extra:
		h.RCode = dnsmessage.RCodeFormatError
	case overUDP && s.cfg.Truncate:
		h.Truncated = true
	case q.question.Class != dnsmessage.ClassINET:
		h.RCode = dnsmessage.RCodeRefused
	default:
		var known bool
		addrs, known = s.records[normalize(q.question.Name.String())]
		if !known {
			h.RCode = dnsmessage.RCodeNameError
		}
	}
	resp, err := s.build(h, q, addrs)
	if err != nil {
		return nil, false
	}
	if overUDP && len(resp) > q.udpSize {
		h.Truncated = true
		if resp, err = s.build(h, q, nil); err != nil {
			return nil, false
		}
	}
	return resp, !h.Truncated
}

// build packs an answer carrying the records of addrs that match the question
// type. A truncated header gets no records at all.
func (s *Server) build(h dnsmessage.Header, q query, addrs []netip.Addr) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, classicUDPSize), h)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if q.question != nil && !q.extra {
		if err := b.Question(*q.question); err != nil {
			return nil, err
		}
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if q.question != nil && !h.Truncated && h.RCode == dnsmessage.RCodeSuccess {
		if err := s.addRecords(&b, *q.question, addrs); err != nil {
			return nil, err
		}
	}
	if err := b.StartAdditionals(); err != nil {
		return nil, err
	}
	if q.edns { // RFC 6891 section 7: answer EDNS with EDNS.
		var rh dnsmessage.ResourceHeader
		if err := rh.SetEDNS0(serverUDPSize, dnsmessage.RCodeSuccess, false); err != nil {
			return nil, err
		}
		if err := b.OPTResource(rh, dnsmessage.OPTResource{}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

func (s *Server) addRecords(b *dnsmessage.Builder, q dnsmessage.Question, addrs []netip.Addr) error {
	rh := dnsmessage.ResourceHeader{Name: q.Name, Type: q.Type, Class: dnsmessage.ClassINET, TTL: s.cfg.TTL}
	for _, a := range addrs {
		a = a.Unmap()
		switch {
		case q.Type == dnsmessage.TypeA && a.Is4():
			if err := b.AResource(rh, dnsmessage.AResource{A: a.As4()}); err != nil {
				return err
			}
		case q.Type == dnsmessage.TypeAAAA && a.Is6():
			if err := b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()}); err != nil {
				return err
			}
		}
	}
	return nil
}
