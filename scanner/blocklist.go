package scanner

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sort"
)

// Reserved lists the special-purpose ranges (IANA IPv4 and IPv6 special-purpose registries)
// that are never swept outside lab mode. For IPv6 that is every address outside 2000::/3, the
// one block IANA allocates for global unicast (the rest is reserved by the IETF, or ULA,
// link-local, site-local, multicast), and within 2000::/3: the IETF protocol assignments
// 2001::/23 (Teredo relays 2001::/32, benchmarking 2001:2::/48, ORCHID), documentation
// 2001:db8::/32 and 3fff::/20, and 6to4 2002::/16. The IPv4-embedding forms are IPv4 (see
// normalizeAddr) or in blocks listed here (NAT64 64:ff9b::/96, SIIT ::ffff:0:0:0/96, 6to4,
// Teredo). Specific blocks inside the wide ones stay listed: a refusal names the list, and
// the list says why.
var Reserved = []string{
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
	"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
	"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
	"::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "100:0:0:1::/64",
	"2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
	"fec0::/10", "ff00::/8",
	"::/3", "4000::/2", "8000::/1", // outside 2000::/3: not allocated for global unicast
}

// Blocklist is a set of address ranges that is never probed. Each entry remembers where it
// came from, so a refusal can name the list that caused it. It is indexed once it is built,
// so a lookup costs a binary search however long the exclude files and opt-out registers are.
type Blocklist struct {
	entries []blockEntry // sorted by family (IPv4 first), then first address; may overlap
	v4      int          // entries[:v4] are IPv4
	maxLast []u128       // maxLast[i]: the largest last address in entries[family start..i]
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
			b.addPrefix(netip.MustParsePrefix(s), "reserved ranges (built-in blocklist; --lab lifts it)")
		}
	}
	b.index()
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
	b.entries = append(b.entries, blockEntry{first: first, last: last, is4: p.Addr().Is4(), source: source})
}

func (b *Blocklist) add(r Range, source string) {
	b.entries = append(b.entries, blockEntry{first: toU128(r.First), last: toU128(r.Last), is4: r.First.Is4(), source: source})
}

// addNetwork adds a CIDR prefix of any length, an address or an "a-b" range.
func (b *Blocklist) addNetwork(text, source string) error {
	if p, err := netip.ParsePrefix(text); err == nil {
		if p, err = normalizePrefix(p); err != nil {
			return fmt.Errorf("%q: %w", text, err)
		}
		b.addPrefix(p, source)
		return nil
	}
	t, err := ParseTarget(text)
	if err != nil {
		return err
	}
	b.add(t, source)
	return nil
}

// index sorts the entries (stably: on a tie the list added first is named) and computes the
// running maximum of last addresses that lets Lookup and Subtract skip what cannot overlap.
func (b *Blocklist) index() {
	slices.SortStableFunc(b.entries, cmpEntry)
	b.v4 = slices.IndexFunc(b.entries, func(e blockEntry) bool { return !e.is4 })
	if b.v4 < 0 {
		b.v4 = len(b.entries)
	}
	b.maxLast = make([]u128, len(b.entries))
	for i, e := range b.entries {
		b.maxLast[i] = e.last
		if i > 0 && i != b.v4 && e.last.less(b.maxLast[i-1]) {
			b.maxLast[i] = b.maxLast[i-1]
		}
	}
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

// family returns one family's entries and running maxima.
func (b *Blocklist) family(is4 bool) ([]blockEntry, []u128) {
	if is4 {
		return b.entries[:b.v4], b.maxLast[:b.v4]
	}
	return b.entries[b.v4:], b.maxLast[b.v4:]
}

// AddFile adds every target in a file (addresses, CIDRs or ranges, one a line) to b.
// IPv6 prefixes of any length are accepted here.
func (b *Blocklist) AddFile(path string) error {
	f, err := openList(path)
	if err != nil {
		return fmt.Errorf("exclude file: %w", err)
	}
	defer f.Close()
	return b.AddList(path, f)
}

// AddList is AddFile of what r holds, read as the file path (named in sources and errors).
func (b *Blocklist) AddList(path string, r io.Reader) error {
	defer b.index()
	return eachLine(path, r, func(text string) error { return b.addNetwork(text, "exclude file "+path) })
}

// Len is the number of entries.
func (b *Blocklist) Len() int { return len(b.entries) }

// Lookup reports whether a is blocked and by which list.
func (b *Blocklist) Lookup(a netip.Addr) (string, bool) {
	a, err := normalizeAddr(a)
	if err != nil {
		return err.Error(), true
	}
	v := toU128(a)
	entries, maxLast := b.family(a.Is4())
	// Entries that start after v cannot cover it; of the rest, walk back only while some
	// entry at or before j still reaches v. The lowest covering entry names the source.
	j := sort.Search(len(entries), func(i int) bool { return v.less(entries[i].first) }) - 1
	source, found := "", false
	for ; j >= 0 && !maxLast[j].less(v); j-- {
		if !entries[j].last.less(v) {
			source, found = entries[j].source, true
		}
	}
	return source, found
}

// Exclusion is how many addresses one list removed.
type Exclusion struct {
	Source    string
	Addresses uint64
}

// Subtract returns the parts of r that no entry covers, in order, and the sources of the
// entries that removed something.
func (b *Blocklist) Subtract(r Range) (kept []Range, removedBy []string) {
	kept, removed := b.SubtractCounted(r)
	for _, x := range removed {
		removedBy = append(removedBy, x.Source)
	}
	return kept, removedBy
}

// SubtractCounted is Subtract, with the addresses each source removed; an address several
// lists cover counts for the first that covers it in address order.
func (b *Blocklist) SubtractCounted(r Range) (kept []Range, removed []Exclusion) {
	is4 := r.First.Is4()
	cur, end := toU128(r.First), toU128(r.Last)
	entries, maxLast := b.family(is4)
	// No entry before the first whose running maximum reaches cur can overlap r.
	start := sort.Search(len(maxLast), func(i int) bool { return !maxLast[i].less(cur) })
	done := false
	for _, e := range entries[start:] {
		if end.less(e.first) {
			break
		}
		if e.last.less(cur) {
			continue
		}
		from, to := cur, e.last
		if cur.less(e.first) {
			from = e.first
		}
		if end.less(to) {
			to = end
		}
		removed = addExclusion(removed, e.source, from.diff(to)+1)
		if cur.less(e.first) {
			kept = append(kept, Range{First: fromU128(cur, is4), Last: fromU128(e.first.sub1(), is4)})
		}
		if !e.last.less(end) || e.last.isMax(is4) {
			done = true
			break
		}
		if cur.less(e.last.add(1)) {
			cur = e.last.add(1)
		}
	}
	if !done {
		kept = append(kept, Range{First: fromU128(cur, is4), Last: r.Last})
	}
	return kept, removed
}

func addExclusion(list []Exclusion, source string, n uint64) []Exclusion {
	for i := range list {
		if list[i].Source == source {
			list[i].Addresses += n
			return list
		}
	}
	return append(list, Exclusion{Source: source, Addresses: n})
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
