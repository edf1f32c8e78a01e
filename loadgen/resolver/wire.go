package resolver

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

const (
	// ednsSize is the UDP payload size we advertise (DNS Flag Day 2020): big
	// enough for dozens of addresses, small enough not to fragment.
	ednsSize = 1232
	// udpBufSize leaves room for servers that ignore the advertised size;
	// a datagram cut short by a smaller buffer would fail to parse.
	udpBufSize = 4096
	// maxStrays bounds how many unrelated datagrams (late answers to an
	// earlier query, spoofing attempts) one UDP exchange reads past.
	maxStrays = 16
	// maxCNAMEs bounds the alias chain followed within one answer.
	maxCNAMEs = 8
)

// errMismatch marks a response that is not the answer to our query.
var errMismatch = errors.New("response does not match the query")

// answer is one family's outcome.
type answer struct {
	addrs []netip.Addr
	ttl   uint32 // minimum over the records used; meaningful only with addrs
	err   error
}

// query asks r.server for name's addresses of every configured family at
// once, and merges the answers IPv4 first. One family failing does not fail
// the lookup if the other produced addresses, as in glibc and Go.
func (r *Resolver) query(ctx context.Context, name string) ([]netip.Addr, time.Duration, error) {
	fqdn := name
	if !strings.HasSuffix(fqdn, ".") {
		fqdn += "."
	}
	qname, err := dnsmessage.NewName(fqdn)
	if err != nil {
		return nil, 0, fmt.Errorf("resolver: host %q is not a valid DNS name: %w", name, err)
	}
	var types []dnsmessage.Type
	switch r.network {
	case "ip4":
		types = []dnsmessage.Type{dnsmessage.TypeA}
	case "ip6":
		types = []dnsmessage.Type{dnsmessage.TypeAAAA}
	default:
		types = []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA}
	}
	answers := make([]answer, len(types))
	if len(types) == 1 {
		answers[0] = r.exchange(ctx, name, dnsmessage.Question{Name: qname, Type: types[0], Class: dnsmessage.ClassINET})
	} else {
		var wg sync.WaitGroup
		for i, t := range types {
			wg.Go(func() {
				answers[i] = r.exchange(ctx, name, dnsmessage.Question{Name: qname, Type: t, Class: dnsmessage.ClassINET})
			})
		}
		wg.Wait()
	}
	var (
		addrs              []netip.Addr
		ttl                uint32
		notFound, otherErr error
	)
	for _, a := range answers {
		switch {
		case errors.Is(a.err, ErrNotFound):
			notFound = a.err
		case a.err != nil:
			otherErr = cmpOr(otherErr, a.err)
		case len(a.addrs) > 0:
			if len(addrs) == 0 || a.ttl < ttl {
				ttl = a.ttl
			}
			addrs = append(addrs, a.addrs...)
		}
	}
	switch {
	case len(addrs) > 0:
		return addrs, time.Duration(ttl) * time.Second, nil
	case otherErr != nil:
		return nil, 0, otherErr
	case notFound != nil:
		return nil, 0, notFound
	}
	return nil, 0, fmt.Errorf("resolver: lookup %s on %s: no %s address: %w", name, r.server, r.network, ErrNotFound)
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// exchange asks one question over UDP, then over TCP if the UDP answer was
// truncated, and extracts the addresses.
func (r *Resolver) exchange(ctx context.Context, name string, q dnsmessage.Question) answer {
	id := uint16(rand.Uint32()) // unpredictable: an off-path spoofer must guess it
	msg, err := buildQuery(id, q)
	if err != nil {
		return answer{err: fmt.Errorf("resolver: lookup %s: build query: %w", name, err)}
	}
	h, p, err := r.udp(ctx, msg, id, q)
	if err == nil && h.Truncated {
		h, p, err = r.tcp(ctx, msg, id, q)
	}
	if err != nil {
		return answer{err: r.ioError(ctx, name, q.Type, err)}
	}
	return r.extract(name, q, h, &p)
}

func buildQuery(id uint16, q dnsmessage.Question) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 64), dnsmessage.Header{ID: id, RecursionDesired: true})
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAdditionals(); err != nil {
		return nil, err
	}
	var rh dnsmessage.ResourceHeader
	if err := rh.SetEDNS0(ednsSize, dnsmessage.RCodeSuccess, false); err != nil {
		return nil, err
	}
	if err := b.OPTResource(rh, dnsmessage.OPTResource{}); err != nil {
		return nil, err
	}
	return b.Finish()
}

// dial connects to the server and ties the connection's deadline to ctx, so
// both ctx's deadline and its cancellation interrupt a blocked read. The
// returned stop must be called before the connection is closed.
func (r *Resolver) dial(ctx context.Context, network string) (net.Conn, func() bool, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, r.server)
	if err != nil {
		return nil, nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	return c, stop, nil
}

// udp sends msg and waits for the datagram that answers it, skipping any
// that do not (wrong ID or question), as RFC 5452 asks.
func (r *Resolver) udp(ctx context.Context, msg []byte, id uint16, q dnsmessage.Question) (dnsmessage.Header, dnsmessage.Parser, error) {
	c, stop, err := r.dial(ctx, "udp")
	if err != nil {
		return dnsmessage.Header{}, dnsmessage.Parser{}, err
	}
	defer c.Close()
	defer stop()
	if _, err := c.Write(msg); err != nil {
		return dnsmessage.Header{}, dnsmessage.Parser{}, err
	}
	buf := make([]byte, udpBufSize)
	for range maxStrays {
		n, err := c.Read(buf)
		if err != nil {
			return dnsmessage.Header{}, dnsmessage.Parser{}, err
		}
		if h, p, err := match(buf[:n], id, q); err == nil {
			return h, p, nil
		}
	}
	return dnsmessage.Header{}, dnsmessage.Parser{}, fmt.Errorf("%d datagrams that do not answer the query", maxStrays)
}

// tcp asks again over TCP (RFC 7766), where answers are never truncated.
func (r *Resolver) tcp(ctx context.Context, msg []byte, id uint16, q dnsmessage.Question) (dnsmessage.Header, dnsmessage.Parser, error) {
	c, stop, err := r.dial(ctx, "tcp")
	if err != nil {
		return dnsmessage.Header{}, dnsmessage.Parser{}, err
	}
	defer c.Close()
	defer stop()
	framed := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(msg)), uint16(len(msg)))
	if _, err := c.Write(append(framed, msg...)); err != nil {
		return dnsmessage.Header{}, dnsmessage.Parser{}, err
	}
	var size [2]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return dnsmessage.Header{}, dnsmessage.Parser{}, err
	}
	resp := make([]byte, binary.BigEndian.Uint16(size[:]))
	if _, err := io.ReadFull(c, resp); err != nil {
		return dnsmessage.Header{}, dnsmessage.Parser{}, err
	}
	return match(resp, id, q)
}

// match checks that resp answers the query with this ID and question, and
// returns a parser positioned at the answer section.
func match(resp []byte, id uint16, q dnsmessage.Question) (dnsmessage.Header, dnsmessage.Parser, error) {
	var p dnsmessage.Parser
	h, err := p.Start(resp)
	if err != nil {
		return h, p, err
	}
	if !h.Response || h.ID != id {
		return h, p, errMismatch
	}
	got, err := p.Question()
	if err != nil {
		return h, p, err
	}
	if got.Type != q.Type || got.Class != q.Class || !sameName(got.Name, q.Name) {
		return h, p, errMismatch
	}
	if err := p.SkipAllQuestions(); err != nil {
		return h, p, err
	}
	return h, p, nil
}

// sameName compares names as DNS does: ASCII case-insensitively.
func sameName(a, b dnsmessage.Name) bool {
	return bytes.EqualFold(a.Data[:a.Length], b.Data[:b.Length])
}

// extract reads the addresses of q.Type for q.Name, following CNAMEs that
// the server included. An empty answer with no error is NODATA.
func (r *Resolver) extract(name string, q dnsmessage.Question, h dnsmessage.Header, p *dnsmessage.Parser) answer {
	switch h.RCode {
	case dnsmessage.RCodeSuccess:
	case dnsmessage.RCodeNameError:
		return answer{err: fmt.Errorf("resolver: lookup %s on %s: %w", name, r.server, ErrNotFound)}
	default:
		return answer{err: fmt.Errorf("resolver: lookup %s %s on %s: server answered %s", name, typeName(q.Type), r.server, rcodeName(h.RCode))}
	}
	var (
		a     answer
		names = []dnsmessage.Name{q.Name} // q.Name and the aliases it leads to
		used  bool                        // a record has set a.ttl
	)
	fold := func(ttl uint32) {
		if ttl > maxTTLSeconds { // RFC 2181 section 8: treat as 0
			ttl = 0
		}
		if !used || ttl < a.ttl {
			a.ttl = ttl
		}
		used = true
	}
	owned := func(n dnsmessage.Name) bool {
		for _, o := range names {
			if sameName(n, o) {
				return true
			}
		}
		return false
	}
	// Bounded by the message: each iteration consumes one record or stops.
	for {
		rh, err := p.AnswerHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			return a
		}
		if err != nil {
			return answer{err: fmt.Errorf("resolver: lookup %s on %s: malformed answer: %w", name, r.server, err)}
		}
		use := rh.Class == dnsmessage.ClassINET && owned(rh.Name)
		switch {
		case use && rh.Type == dnsmessage.TypeCNAME && len(names) <= maxCNAMEs:
			c, err := p.CNAMEResource()
			if err != nil {
				return answer{err: fmt.Errorf("resolver: lookup %s on %s: malformed CNAME: %w", name, r.server, err)}
			}
			names = append(names, c.CNAME)
			fold(rh.TTL)
		case use && rh.Type == q.Type && rh.Type == dnsmessage.TypeA:
			rec, err := p.AResource()
			if err != nil {
				return answer{err: fmt.Errorf("resolver: lookup %s on %s: malformed A record: %w", name, r.server, err)}
			}
			fold(rh.TTL)
			a.addrs = append(a.addrs, netip.AddrFrom4(rec.A))
		case use && rh.Type == q.Type && rh.Type == dnsmessage.TypeAAAA:
			rec, err := p.AAAAResource()
			if err != nil {
				return answer{err: fmt.Errorf("resolver: lookup %s on %s: malformed AAAA record: %w", name, r.server, err)}
			}
			fold(rh.TTL)
			a.addrs = append(a.addrs, netip.AddrFrom16(rec.AAAA))
		default:
			if err := p.SkipAnswer(); err != nil {
				return answer{err: fmt.Errorf("resolver: lookup %s on %s: malformed answer: %w", name, r.server, err)}
			}
		}
	}
}

// ioError names what failed, and makes every timeout wrap
// context.DeadlineExceeded whether ctx or the socket deadline fired first.
func (r *Resolver) ioError(ctx context.Context, name string, t dnsmessage.Type, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("resolver: lookup %s %s on %s: %w", name, typeName(t), r.server, ctx.Err())
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("resolver: lookup %s %s on %s: %w", name, typeName(t), r.server, context.DeadlineExceeded)
	}
	return fmt.Errorf("resolver: lookup %s %s on %s: %w", name, typeName(t), r.server, err)
}

func typeName(t dnsmessage.Type) string {
	return strings.TrimPrefix(t.String(), "Type")
}

// rcodeName gives the mnemonic operators know from dig.
func rcodeName(c dnsmessage.RCode) string {
	switch c {
	case dnsmessage.RCodeFormatError:
		return "FORMERR"
	case dnsmessage.RCodeServerFailure:
		return "SERVFAIL"
	case dnsmessage.RCodeNameError:
		return "NXDOMAIN"
	case dnsmessage.RCodeNotImplemented:
		return "NOTIMP"
	case dnsmessage.RCodeRefused:
		return "REFUSED"
	}
	return fmt.Sprintf("RCODE %d", uint16(c))
}
