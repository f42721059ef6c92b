package scanner

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
)

// Reserved lists the special-purpose ranges (IANA IPv4 and IPv6 special-purpose registries)
// that are never swept outside lab mode.
var Reserved = []string{
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
	"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
	"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
	"::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64",
	"2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
	"ff00::/8",
}

// Blocklist is a set of address ranges that is never probed. Each entry remembers where it
// came from, so a refusal can name the list that caused it.
type Blocklist struct {
	entries []blockEntry // sorted by first address, IPv4 before IPv6; may overlap
}

type blockEntry struct {
	first, last u128
	is4         bool
	source      string
}

// NewBlocklist returns a blocklist with the reserved ranges, unless lab is true.
func NewBlocklist(lab bool) *Blocklist {
	b := &Blocklist{}
	if !lab {
		for _, s := range Reserved {
			r, err := ParseTarget(s)
			if err != nil {
				// A reserved IPv6 block wider than a sweep: add it as a prefix directly.
				p := netip.MustParsePrefix(s)
				b.addPrefix(p, "reserved ranges (built-in blocklist; --lab lifts it)")
				continue
			}
			b.add(r, "reserved ranges (built-in blocklist; --lab lifts it)")
		}
	}
	return b
}

func (b *Blocklist) addPrefix(p netip.Prefix, source string) {
	p = p.Masked()
	first := toU128(p.Addr())
	hostBits := p.Addr().BitLen() - p.Bits()
	last := first
	if hostBits >= 64 {
		last.lo = ^uint64(0)
		last.hi |= (uint64(1) << (hostBits - 64)) - 1
		if hostBits == 128 {
			last.hi = ^uint64(0)
		}
	} else {
		last = first.add(uint64(1)<<hostBits - 1)
	}
	b.insert(blockEntry{first: first, last: last, is4: p.Addr().Is4(), source: source})
}

func (b *Blocklist) add(r Range, source string) {
	b.insert(blockEntry{first: toU128(r.First), last: toU128(r.Last), is4: r.First.Is4(), source: source})
}

func (b *Blocklist) insert(e blockEntry) {
	i, _ := slices.BinarySearchFunc(b.entries, e, cmpEntry)
	b.entries = slices.Insert(b.entries, i, e)
}

func cmpEntry(a, b blockEntry) int {
	switch {
	case a.is4 != b.is4:
		if a.is4 {
			return -1
		}
		return 1
	case a.first.less(b.first):
		return -1
	case b.first.less(a.first):
		return 1
	}
	return 0
}

// AddFile adds every target in a file (addresses, CIDRs or ranges, one a line) to b.
// IPv6 prefixes of any length are accepted here.
func (b *Blocklist) AddFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("exclude file: %w", err)
	}
	defer f.Close()
	return readBlockLines(path, f, b)
}

// Len is the number of entries.
func (b *Blocklist) Len() int { return len(b.entries) }

// Lookup reports whether a is blocked and by which list.
func (b *Blocklist) Lookup(a netip.Addr) (string, bool) {
	a = a.Unmap()
	v, is4 := toU128(a), a.Is4()
	for _, e := range b.entries { // entries are few (hundreds); a linear scan is cheap next to a packet
		if e.is4 == is4 && !v.less(e.first) && !e.last.less(v) {
			return e.source, true
		}
	}
	return "", false
}

// Subtract returns the parts of r that no entry covers, in order, and the sources of the
// entries that removed something.
func (b *Blocklist) Subtract(r Range) (kept []Range, removedBy []string) {
	is4 := r.First.Is4()
	cur, end := toU128(r.First), toU128(r.Last)
	done := false
	for _, e := range b.entries {
		if done || e.is4 != is4 || e.last.less(cur) || end.less(e.first) {
			continue
		}
		removedBy = appendUnique(removedBy, e.source)
		if cur.less(e.first) {
			kept = append(kept, Range{First: fromU128(cur, is4), Last: fromU128(e.first.sub1(), is4)})
		}
		if !e.last.less(end) || e.last.isMax(is4) {
			done = true
			continue
		}
		if cur.less(e.last.add(1)) {
			cur = e.last.add(1)
		}
	}
	if !done {
		kept = append(kept, Range{First: fromU128(cur, is4), Last: r.Last})
	}
	return kept, removedBy
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
