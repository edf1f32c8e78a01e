// Package resolver turns the host of a target URL into addresses to dial,
// and says whether doing so cost a DNS round trip.
//
// # Why the engine has its own resolver
//
// tailrace times DNS as a phase of each new connection. The standard dialer
// hides whether a name was resolved, served from a cache, or was an IP
// literal all along, so the engine resolves first, with [Resolver.Lookup],
// and dials the addresses itself. [Result.Source] tells it which case
// happened; only [Queried] is recorded as a dns phase.
//
// # Sources of addresses
//
// In the order Lookup tries them:
//
//   - an IP literal host ([Literal]);
//   - a --resolve override for that host and port ([Static], see
//     [ParseOverride]);
//   - the TTL cache, when [Config.Cache] is set ([Cached]);
//   - a real query ([Queried]): to [Config.Server] over UDP (TCP when the
//     answer is truncated), or to the system resolver when no server is
//     given.
//
// # Caching
//
// Answers are kept for the smallest TTL among the records used, as real
// clients do, and a TTL of 0 is not cached. Concurrent misses for one name
// share one query; every caller that waited on it gets [Queried], because it
// did spend that time on DNS. Negative answers are not cached. The system
// resolver does not report TTLs, so its answers are kept for
// [Config.DefaultTTL] instead.
//
// # Example
//
//	o, _ := resolver.ParseOverride("api.example.test:443:127.0.0.1")
//	r, _ := resolver.New(resolver.Config{Static: []resolver.Override{o}, Cache: true})
//	res, err := r.Lookup(ctx, "api.example.test", "443")
//	// res.Addrs == [127.0.0.1], res.Source == resolver.Static
package resolver
