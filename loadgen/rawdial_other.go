//go:build !linux || 386

package loadgen

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// rawDial is for Linux, but for 386, whose socket calls go through
// socketcall(2); elsewhere every connection goes through net.Dialer.
func rawDial(context.Context, netip.AddrPort, time.Time) (net.Conn, error) { return nil, errNoRawDial }

// rxStampsOn: the kernel's receive timestamps are read on Linux only
// (rxstamp_linux.go); elsewhere ttfb and download end where reads return.
func rxStampsOn() bool { return false }

// setGate: without fileConn every wait is in the netpoller.
func setGate(net.Conn, *tickGate) {}
