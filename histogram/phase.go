package histogram

import (
	"fmt"
	"strings"
)

// Phase names one timed stage of a request (DESIGN.md §3).
//
// The first NumConsecutive phases (ScheduleLag through Download) are
// consecutive intervals of one request: their values sum exactly to Total.
type Phase uint8

// The phase set. The order of the consecutive phases is the order in which a
// request passes through them; do not reorder without bumping the results schema.
const (
	ScheduleLag Phase = iota // intended -> dispatched
	PoolWait                 // dispatched -> connection slot granted
	DNS                      // name resolution of a new connection
	Connect                  // TCP connect of a new connection
	TLS                      // TLS handshake of a new connection
	Write                    // connection ready -> request written
	TTFB                     // request written -> first response byte
	Download                 // first byte -> body fully read
	Service                  // dispatched -> done
	Response                 // slot granted -> done (the closed-loop view)
	Total                    // intended -> done (coordinated-omission free)
	Server                   // from the response's Server-Timing header
	ReadLag                  // first response bytes: kernel arrival -> our read returned (the generator's own delay)
	NumPhases
)

// NumConsecutive is the number of phases that partition Total.
const NumConsecutive = int(Download) + 1

var phaseNames = [NumPhases]string{
	"schedule_lag", "pool_wait", "dns", "connect", "tls", "write", "ttfb",
	"download", "service", "response", "total", "server", "read_lag",
}

// String returns the phase's name as used in every output (e.g. "pool_wait").
func (p Phase) String() string {
	if p < NumPhases {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase(%d)", uint8(p))
}

// ParsePhase returns the phase with the given output name.
func ParsePhase(s string) (Phase, error) {
	for i, n := range phaseNames {
		if n == s {
			return Phase(i), nil
		}
	}
	return 0, fmt.Errorf("histogram: unknown phase %q (want one of %s)", s, strings.Join(phaseNames[:], ", "))
}

// Phases returns every phase in output order.
func Phases() []Phase {
	ps := make([]Phase, NumPhases)
	for i := range ps {
		ps[i] = Phase(i)
	}
	return ps
}
