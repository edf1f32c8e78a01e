//go:build !linux

package loadgen

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// rawDial is Linux-only; elsewhere every connection goes through net.Dialer.
func rawDial(context.Context, netip.AddrPort, time.Time) (net.Conn, error) { return nil, errNoRawDial }
