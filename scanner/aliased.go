package scanner

import (
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sort"
)

// Aliased is a set of aliased prefixes: networks in which every address answers, one host or
// one middlebox for all of them (the TUM IPv6 Hitlist Service publishes them weekly as
// aliased-prefixes.txt.xz). A plan with one probes one target address per aliased prefix
// and port, so such a prefix counts once, not once per address a hitlist names in it.
type Aliased struct {
	prefixes []aliasedPrefix // sorted (IPv4 first, then by address), disjoint
}

// aliasedPrefix is 24 bytes: a million aliased prefixes take 24 MB.
type aliasedPrefix struct {
	first u128
	bits  uint8
	is4   bool
}

func (p aliasedPrefix) last() u128 {
	host := 128 - int(p.bits)
	if p.is4 {
		host = 32 - int(p.bits)
	}
	switch {
	case host == 0:
		return p.first
	case host < 64:
		return u128{p.first.hi, p.first.lo | (uint64(1)<<host - 1)}
	case host < 128:
		return u128{p.first.hi | (uint64(1)<<(host-64) - 1), ^uint64(0)}
	}
	return u128{^uint64(0), ^uint64(0)}
}

func (p aliasedPrefix) prefix() netip.Prefix {
	return netip.PrefixFrom(fromU128(p.first, p.is4), int(p.bits))
}

func cmpAliased(a, b aliasedPrefix) int {
	if a.is4 != b.is4 {
		if a.is4 {
			return -1
		}
		return 1
	}
	if a.first != b.first {
		if a.first.less(b.first) {
			return -1
		}
		return 1
	}
	return cmp.Compare(a.bits, b.bits) // the wider first
}

// LoadAliased reads a file of aliased prefixes, plain, gzip or xz: one prefix (or address) a
// line, #-comments, as TUM publishes them. A line that is not a prefix is skipped and counted
// in the stats, as in a target file; a prefix inside another is kept as the wider one.
func LoadAliased(path string) (*Aliased, ReadStats, error) {
	f, err := openList(path)
	if err != nil {
		return nil, ReadStats{}, fmt.Errorf("aliased prefixes: %w", err)
	}
	defer f.Close()
	var st ReadStats
	a := &Aliased{}
	lr := newLineReader(path, f)
	for {
		text, long, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, st, fmt.Errorf("aliased prefixes: %w", err)
		}
		st.Lines++
		if text, err = entry(text, long); err != nil || text == "" {
			if err != nil {
				st.skip(path, lr.line, err)
			}
			continue
		}
		p, err := parseNetwork(text)
		if err != nil {
			st.skip(path, lr.line, err)
			continue
		}
		a.prefixes = append(a.prefixes, aliasedPrefix{first: toU128(p.Addr()), bits: uint8(p.Bits()), is4: p.Addr().Is4()})
	}
	slices.SortFunc(a.prefixes, cmpAliased)
	// Keep the widest of nested prefixes (prefixes never overlap otherwise).
	out := a.prefixes[:0]
	for _, p := range a.prefixes {
		if n := len(out); n > 0 && out[n-1].is4 == p.is4 && !out[n-1].last().less(p.first) {
			continue
		}
		out = append(out, p)
	}
	a.prefixes = slices.Clip(out)
	return a, st, nil
}

// parseNetwork reads a prefix or an address (a one-address prefix), normalised as targets are.
func parseNetwork(text string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(text)
	if err != nil {
		a, aerr := netip.ParseAddr(text)
		if aerr != nil {
			return netip.Prefix{}, fmt.Errorf("%q: not a prefix or an address", text)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	p, err = normalizePrefix(p)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q: %w", text, err)
	}
	return p, nil
}

// Len is the number of aliased prefixes (nested ones counted once).
func (a *Aliased) Len() int { return len(a.prefixes) }

// Lookup returns the aliased prefix that holds addr.
func (a *Aliased) Lookup(addr netip.Addr) (netip.Prefix, bool) {
	if a == nil {
		return netip.Prefix{}, false
	}
	addr, err := normalizeAddr(addr)
	if err != nil {
		return netip.Prefix{}, false
	}
	if i, ok := a.find(toU128(addr), addr.Is4()); ok {
		return a.prefixes[i].prefix(), true
	}
	return netip.Prefix{}, false
}

// find returns the index of the prefix that holds v, or of the last one before it.
func (a *Aliased) find(v u128, is4 bool) (int, bool) {
	i := sort.Search(len(a.prefixes), func(i int) bool {
		return cmpAliased(a.prefixes[i], aliasedPrefix{first: v, bits: 255, is4: is4}) > 0
	}) - 1
	if i < 0 || a.prefixes[i].is4 != is4 {
		return i, false
	}
	return i, !a.prefixes[i].last().less(v)
}

// aliasedPicks chooses, per aliased prefix, the one target address that stands for every
// target inside it: of the candidates (each single target address; for a range, one address
// of it picked by the seed), the one whose seeded hash is lowest. The choice depends on the
// targets and the seed only, never on the order of reading, so every worker picks the same,
// and another seed probes another address (spreading a series' probes over the prefix).
type aliasedPicks struct {
	set  *Aliased
	seed uint64
	best map[int]aliasedPick // by prefix index: bounded by the aliased list, not the targets
	// addresses counts the target addresses inside aliased prefixes.
	addresses uint64
}

type aliasedPick struct {
	addr  u128
	score uint64
}

func newAliasedPicks(set *Aliased, seed int64) *aliasedPicks {
	return &aliasedPicks{set: set, seed: splitmix(uint64(seed) ^ 0xa11a5ed), best: map[int]aliasedPick{}}
}

func (ap *aliasedPicks) hash(v u128) uint64 { return splitmix(splitmix(ap.seed^v.hi) ^ v.lo) }

// split passes the parts of r outside every aliased prefix to keep, and makes the parts
// inside candidates of their prefix.
func (ap *aliasedPicks) split(r Range, keep func(Range)) {
	is4 := r.First.Is4()
	cur, end := toU128(r.First), toU128(r.Last)
	i, in := ap.set.find(cur, is4)
	if !in {
		i++
	}
	for ; i < len(ap.set.prefixes); i++ {
		p := ap.set.prefixes[i]
		if p.is4 != is4 || end.less(p.first) {
			break
		}
		if cur.less(p.first) {
			keep(Range{First: fromU128(cur, is4), Last: fromU128(p.first.sub1(), is4)})
			cur = p.first
		}
		last := min128(p.last(), end)
		n := cur.diff(last) + 1
		ap.addresses += n
		cand := cur.add(ap.hash(cur) % n)
		if b, ok := ap.best[i]; !ok || ap.hash(cand) < b.score || (ap.hash(cand) == b.score && cand.less(b.addr)) {
			ap.best[i] = aliasedPick{cand, ap.hash(cand)}
		}
		if !last.less(end) {
			return
		}
		cur = last.add(1)
	}
	keep(Range{First: fromU128(cur, is4), Last: r.Last})
}

func min128(a, b u128) u128 {
	if a.less(b) {
		return a
	}
	return b
}

// picks returns the chosen addresses, in the aliased list's order.
func (ap *aliasedPicks) picks() []Range {
	idx := make([]int, 0, len(ap.best))
	for i := range ap.best {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	out := make([]Range, len(idx))
	for k, i := range idx {
		a := fromU128(ap.best[i].addr, ap.set.prefixes[i].is4)
		out[k] = Range{First: a, Last: a}
	}
	return out
}
