package resolver

import (
	"maps"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// cache holds positive answers until they expire. It is copy-on-write: a hit
// is one atomic load and a map read, with no lock shared between the
// goroutines of a run, while writes (one per name per TTL) copy the map. A
// load test talks to a handful of names, so the copies are small; expired
// entries are overwritten by the next answer for their name rather than
// swept.
type cache struct {
	mu      sync.Mutex // serializes writers
	entries atomic.Pointer[map[string]entry]
}

type entry struct {
	addrs   []netip.Addr
	expires time.Time
}

func newCache() *cache {
	c := &cache{}
	m := map[string]entry{}
	c.entries.Store(&m)
	return c
}

// get returns name's addresses and remaining TTL if they have not expired at
// now.
func (c *cache) get(name string, now time.Time) ([]netip.Addr, time.Duration, bool) {
	e, ok := (*c.entries.Load())[name]
	if !ok {
		return nil, 0, false
	}
	left := e.expires.Sub(now)
	if left <= 0 {
		return nil, 0, false
	}
	return e.addrs, left, true
}

func (c *cache) put(name string, addrs []netip.Addr, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.entries.Load()
	m := make(map[string]entry, len(old)+1)
	maps.Copy(m, old)
	m[name] = entry{addrs: addrs, expires: expires}
	c.entries.Store(&m)
}
