//go:build race

package histogram

// raceEnabled: the race detector makes sync.Pool drop values at random, so
// allocation counts hold only without it.
const raceEnabled = true
