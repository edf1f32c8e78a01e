// Package dnstest runs a small authoritative DNS server on the loopback
// interface for tests.
//
// # What it serves
//
// A [Server] answers A and AAAA questions from a fixed table of names
// ([Config.Records]) over UDP and TCP on the same 127.0.0.1 port. Names not in
// the table get NXDOMAIN; known names asked for a type they have no records
// of get an empty NOERROR answer (NODATA), as a real authoritative server
// would. Messages are built with golang.org/x/net/dns/dnsmessage, so any
// conforming stub resolver (net.Resolver with PreferGo, or tailrace's own
// resolver) can talk to it.
//
// # Knobs for timing tests
//
// [Config.Delay] holds every answer back by a fixed time without blocking other
// queries, so a test can check that a client attributes exactly that much time
// to DNS. [Config.Truncate] answers every UDP query with TC=1 and no records,
// forcing the client to retry over TCP, which is served normally.
// [Server.Queries] counts the questions answered, so a test can prove a cache
// hit sent nothing.
//
// # Not a general server
//
// There is no recursion, no zone transfer, no CNAME, no SOA in negative
// answers and no DNSSEC; EDNS(0) is understood only for the UDP payload size.
// Use it in tests only.
package dnstest
