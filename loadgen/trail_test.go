package loadgen

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/tailrace/tailrace/histogram"
)

const ms = time.Millisecond

func TestTrailPhases(t *testing.T) {
	tests := []struct {
		name     string
		trail    Trail
		want     map[histogram.Phase]time.Duration // recorded phases and their values
		errLabel string
		inv      int
	}{
		{
			// A reused keep-alive connection: no dial phases are recorded.
			name:  "reused",
			trail: Trail{Intended: 10 * ms, Dispatched: 11 * ms, SlotGranted: 13 * ms, GotConn: 13 * ms, WroteRequest: 14 * ms, FirstByte: 20 * ms, Done: 21 * ms, Status: 200},
			want: map[histogram.Phase]time.Duration{histogram.ScheduleLag: ms, histogram.PoolWait: 2 * ms, histogram.Write: ms,
				histogram.TTFB: 6 * ms, histogram.Download: ms, histogram.Service: 10 * ms, histogram.Response: 8 * ms, histogram.Total: 11 * ms},
		},
		{
			// A new TLS connection that resolved a name: every phase is recorded.
			name: "new tls conn",
			trail: Trail{Intended: 0, Dispatched: 1 * ms, SlotGranted: 1 * ms, NewConn: true, Resolved: true, TLSDialed: true,
				DNSStart: 1 * ms, DNSDone: 3 * ms, ConnectStart: 3 * ms, ConnectDone: 4 * ms, TLSStart: 4 * ms, TLSDone: 7 * ms,
				GotConn: 7 * ms, WroteRequest: 8 * ms, FirstByte: 9 * ms, Done: 10 * ms, Status: 200},
			want: map[histogram.Phase]time.Duration{histogram.ScheduleLag: ms, histogram.PoolWait: 0, histogram.DNS: 2 * ms,
				histogram.Connect: ms, histogram.TLS: 3 * ms, histogram.Write: ms, histogram.TTFB: ms, histogram.Download: ms,
				histogram.Service: 9 * ms, histogram.Response: 9 * ms, histogram.Total: 10 * ms},
		},
		{
			// Connect refused: the connect phase ends at Done, later phases are absent.
			name:     "connect failed",
			trail:    Trail{Dispatched: ms, SlotGranted: ms, NewConn: true, ConnectStart: ms, ConnectDone: 2 * ms, Done: 2 * ms, Err: ErrFailed, ErrPhase: histogram.Connect},
			want:     map[histogram.Phase]time.Duration{histogram.ScheduleLag: ms, histogram.PoolWait: 0, histogram.Connect: ms, histogram.Service: ms, histogram.Response: ms, histogram.Total: 2 * ms},
			errLabel: "connect",
		},
		{
			// A ttfb timeout: ttfb runs to Done and is recorded; download is not.
			name:     "ttfb timeout",
			trail:    Trail{Dispatched: ms, SlotGranted: ms, GotConn: ms, WroteRequest: 2 * ms, Done: 52 * ms, Err: ErrTimeout, ErrPhase: histogram.TTFB},
			want:     map[histogram.Phase]time.Duration{histogram.ScheduleLag: ms, histogram.PoolWait: 0, histogram.Write: ms, histogram.TTFB: 50 * ms, histogram.Service: 51 * ms, histogram.Response: 51 * ms, histogram.Total: 52 * ms},
			errLabel: "timeout@ttfb",
		},
		{
			// HTTP/2 can see the first byte before WroteRequest fires: clamped, counted.
			name:  "inversion",
			trail: Trail{Dispatched: ms, SlotGranted: ms, GotConn: ms, WroteRequest: 5 * ms, FirstByte: 4 * ms, Done: 6 * ms, Status: 200},
			want: map[histogram.Phase]time.Duration{histogram.ScheduleLag: ms, histogram.PoolWait: 0, histogram.Write: 4 * ms,
				histogram.TTFB: 0, histogram.Download: ms, histogram.Service: 5 * ms, histogram.Response: 5 * ms, histogram.Total: 6 * ms},
			inv: 1,
		},
		{
			// A 503 is a complete response and an error of its status class.
			name:     "status 503",
			trail:    Trail{Dispatched: ms, SlotGranted: ms, GotConn: ms, WroteRequest: 2 * ms, FirstByte: 3 * ms, Done: 3 * ms, Status: 503, Server: 700 * time.Microsecond, HasServer: true},
			want:     map[histogram.Phase]time.Duration{histogram.ScheduleLag: ms, histogram.PoolWait: 0, histogram.Write: ms, histogram.TTFB: ms, histogram.Download: 0, histogram.Server: 700 * time.Microsecond, histogram.Service: 2 * ms, histogram.Response: 2 * ms, histogram.Total: 3 * ms},
			errLabel: "status_5xx",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var smp histogram.Sample
			inv := tc.trail.Phases(time.Time{}, &smp)
			for p := histogram.Phase(0); p < histogram.NumPhases; p++ {
				want, recorded := tc.want[p]
				got := smp.Has&(1<<p) != 0
				if got != recorded {
					t.Errorf("%s recorded = %v, want %v", p, got, recorded)
				}
				if recorded && smp.Phases[p] != want {
					t.Errorf("%s = %v, want %v", p, smp.Phases[p], want)
				}
			}
			if smp.Error != tc.errLabel {
				t.Errorf("error %q, want %q", smp.Error, tc.errLabel)
			}
			if sum, total := tc.trail.Sum(); sum != total {
				t.Errorf("phases sum to %v, total %v", sum, total)
			}
			if n := inv; n != tc.inv {
				t.Errorf("inversions %d, want %d", n, tc.inv)
			}
		})
	}
}

func TestParseServerTiming(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, // no header
		{"total;dur=12.5", 12500 * time.Microsecond, true},                // the calibration target's form
		{`db;dur=3, app;dur=4.5;desc="x"`, 7500 * time.Microsecond, true}, // no total: the sum
		{"app;dur=1, total;dur=9", 9 * ms, true},                          // total wins over the sum
		{"cache;desc=hit", 0, false},                                      // no durations at all
		{"total;dur=abc", 0, false},                                       // unparsable duration ignored
		{`TOTAL;DUR="2"`, 2 * ms, true},                                   // names are case-insensitive, values may be quoted
	}
	for _, tc := range tests {
		got, ok := parseServerTiming(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseServerTiming(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseServerTiming(f *testing.F) {
	for _, s := range []string{"total;dur=12.5", "a;dur=1,b;dur=2", ";;,,=", "total;dur=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseServerTiming(s)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("parseServerTiming(%q) = %v, %v", s, d, ok)
		}
	})
}

// parseDur must agree with strconv.ParseFloat bit for bit, on its own fast
// path and off it.
func TestParseDurMatchesStrconv(t *testing.T) {
	for _, s := range []string{
		"0", "12", "12.5", "0.345", "1.", ".5", "000123.4500", "999999999999999", "99999999999999.9",
		"0.000000000000001", "1234567890123456", "0.1", "0.3", "2.675", "1e3", "-1", "+2", "", ".", "1.2.3", "abc", "1_0", "inf", "NaN",
	} {
		checkParseDur(t, s)
	}
}

func FuzzParseDur(f *testing.F) {
	for _, s := range []string{"12.5", "0.345", "1.", ".5", "1e3", "9999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(checkParseDur)
}

func checkParseDur(t *testing.T, s string) {
	got, gerr := parseDur(s)
	want, werr := strconv.ParseFloat(s, 64)
	if (gerr == nil) != (werr == nil) || (werr == nil && math.Float64bits(got) != math.Float64bits(want)) {
		t.Errorf("parseDur(%q) = %v, %v; strconv.ParseFloat: %v, %v", s, got, gerr, want, werr)
	}
}
