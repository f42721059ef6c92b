// Package scanner turns target specifications into open host:port pairs.
//
// It parses targets (addresses, CIDRs, ranges, files, stdin), removes everything a blocklist
// covers (the built-in reserved ranges unless in lab mode, plus user exclude files), visits
// targets × ports in a seeded random permutation that splits into disjoint shards, and paces
// probes evenly with golang.org/x/time/rate through naabu's scan engine (SYN or CONNECT).
//
// It does not speak HTTP, identify services or store anything: its output is a stream of
// netip.AddrPort values that answered.
package scanner
