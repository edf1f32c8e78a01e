package target

import (
	"fmt"
	"io"
	"net"
	"time"
)

// DefaultAddr is the address Start listens on when Config.Addr is empty:
// loopback, with a port the kernel picks.
const DefaultAddr = "127.0.0.1:0"

// Config describes a calibration target. The zero value is a plain HTTP
// server on DefaultAddr with no delays, no stalls and no capacity limit.
type Config struct {
	// Addr is the TCP address to listen on; empty means DefaultAddr.
	Addr string

	// TLS serves HTTPS with a self-signed ECDSA P-256 certificate generated
	// at start (SANs 127.0.0.1, ::1 and localhost), offering h2 and
	// http/1.1 by ALPN. Server.CertPool lets clients verify it.
	TLS bool

	// TLSDelay holds every TLS handshake, full or resumed, for this long
	// after the ClientHello arrives and before the ServerHello is sent.
	// Zero means no delay; it requires TLS.
	TLSDelay time.Duration

	// StallEvery and StallFor pause the whole server for StallFor once every
	// StallEvery: the windows are [Epoch+k*StallEvery, Epoch+k*StallEvery+StallFor)
	// for k = 1, 2, .... Nothing is written during a window: a request that
	// arrives in one, or is in its handler when one begins, resumes when it
	// ends. Both zero means never; otherwise both must be positive and
	// StallFor shorter than StallEvery.
	StallEvery, StallFor time.Duration

	// MaxConcurrent caps the requests served at once; the others wait in
	// FIFO order, as at a server with a fixed capacity. Zero means no cap.
	MaxConcurrent int

	// Seed seeds the random source of the jitter parameter; zero means 1.
	Seed uint64

	// Log receives handshake and server errors; nil discards them.
	Log io.Writer
}

// ConfigError reports an invalid Config field. Field is the Go name of the
// field (such as "StallFor") so that a command can name its own flag.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("target: invalid Config.%s: %s", e.Field, e.Reason)
}

func (c Config) validate() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			return bad("Addr", "%q is not host:port", c.Addr)
		}
	}
	switch {
	case c.TLSDelay < 0:
		return bad("TLSDelay", "%v is negative", c.TLSDelay)
	case c.TLSDelay > 0 && !c.TLS:
		return bad("TLSDelay", "a TLS handshake delay needs TLS")
	case c.StallEvery < 0:
		return bad("StallEvery", "%v is negative", c.StallEvery)
	case c.StallFor < 0:
		return bad("StallFor", "%v is negative", c.StallFor)
	case c.StallFor > 0 && c.StallEvery == 0:
		return bad("StallEvery", "a stall length (%v) needs a stall period", c.StallFor)
	case c.StallEvery > 0 && c.StallFor == 0:
		return bad("StallFor", "a stall period (%v) needs a stall length", c.StallEvery)
	case c.StallFor >= c.StallEvery && c.StallEvery > 0:
		// A window as long as its period would never end.
		return bad("StallFor", "%v must be shorter than the stall period (%v)", c.StallFor, c.StallEvery)
	case c.MaxConcurrent < 0:
		return bad("MaxConcurrent", "%d is negative", c.MaxConcurrent)
	}
	return nil
}
