// Package scanner turns target specifications into open host:port pairs.
//
// It parses targets (addresses, CIDRs, ranges, files, stdin), removes everything a blocklist
// covers (the built-in reserved ranges unless in lab mode, plus user exclude files), visits
// targets × ports in a seeded random permutation that splits into disjoint shards, and probes
// them, paced evenly: with raw SYN packets from its own stateless engine (syn_linux.go: keyed
// cookies, sendmmsg batches, an AF_PACKET reader with a kernel BPF filter), or with plain TCP
// connects (no privilege), both on one absolute-timeline pacer whose rate may change mid-sweep.
//
// It does not speak HTTP, identify services or store anything: its output is a stream of
// netip.AddrPort values that answered.
package scanner
