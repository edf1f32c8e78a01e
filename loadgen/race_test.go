//go:build race

package loadgen

// raceEnabled: the race detector slows CPU-bound work such as TLS handshakes
// several-fold, so absolute timing bounds that include CPU work hold only
// without it.
const raceEnabled = true
