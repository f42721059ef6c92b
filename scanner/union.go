package scanner

import "sort"

// union is the set of target addresses read so far, so that the target set is a set: an
// address that a duplicate line, an overlapping prefix or an overlapping range names again is
// swept once, each of its ports probed once. It keeps, per family, disjoint sorted spans in
// levels that at most double in size from one to the next (a log-structured merge), so n
// targets cost O(n log² n) time and O(n) memory however they overlap. Targets are passed on in
// input order, and a target that overlaps nothing read before is passed on unchanged: a plan
// without overlaps walks exactly as it did before union existed.
type union struct {
	levels [2][][]span // [0] IPv4, [1] IPv6; levels[f][i] is sorted, disjoint, or nil
}

// span is an inclusive range of one family, as integers.
type span struct{ first, last u128 }

// add records r and returns the parts of r no earlier target covered, in address order.
func (u *union) add(r Range) []Range {
	is4 := r.First.Is4()
	f := 1
	if is4 {
		f = 0
	}
	s := span{toU128(r.First), toU128(r.Last)}
	fresh := []span{s}
	for _, lvl := range u.levels[f] {
		if len(fresh) == 0 {
			break
		}
		fresh = subtractSpans(fresh, lvl)
	}
	// Insert s: merge equal-or-smaller levels upward like a binary counter.
	carry := []span{s}
	for i := 0; ; i++ {
		if i == len(u.levels[f]) {
			u.levels[f] = append(u.levels[f], carry)
			break
		}
		if u.levels[f][i] == nil {
			u.levels[f][i] = carry
			break
		}
		carry = mergeSpans(u.levels[f][i], carry)
		u.levels[f][i] = nil
	}
	if len(fresh) == 1 && fresh[0] == s {
		return []Range{r}
	}
	out := make([]Range, len(fresh))
	for i, x := range fresh {
		out[i] = Range{First: fromU128(x.first, is4), Last: fromU128(x.last, is4)}
	}
	return out
}

// subtractSpans returns the parts of pieces (sorted, disjoint) that no span of lvl (sorted,
// disjoint) covers.
func subtractSpans(pieces, lvl []span) []span {
	var out []span
	for _, p := range pieces {
		cur := p.first
		done := false
		// The first span of lvl that ends at or after p starts.
		for _, s := range lvl[sort.Search(len(lvl), func(i int) bool { return !lvl[i].last.less(p.first) }):] {
			if p.last.less(s.first) {
				break
			}
			if cur.less(s.first) {
				out = append(out, span{cur, s.first.sub1()})
			}
			if !s.last.less(p.last) {
				done = true
				break
			}
			cur = s.last.add(1)
		}
		if !done {
			out = append(out, span{cur, p.last})
		}
	}
	return out
}

// mergeSpans returns the union of a and b (each sorted and disjoint) as sorted spans, with
// overlapping and adjacent spans joined.
func mergeSpans(a, b []span) []span {
	out := make([]span, 0, len(a)+len(b))
	push := func(s span) {
		// s starts at or after the last span's start: it joins it when it overlaps or abuts it.
		if n := len(out); n > 0 && (out[n-1].last.isMaxU128() || !out[n-1].last.add(1).less(s.first)) {
			if out[n-1].last.less(s.last) {
				out[n-1].last = s.last
			}
			return
		}
		out = append(out, s)
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		if j == len(b) || (i < len(a) && a[i].first.less(b[j].first)) {
			push(a[i])
			i++
		} else {
			push(b[j])
			j++
		}
	}
	return out
}

func (v u128) isMaxU128() bool { return v.hi == ^uint64(0) && v.lo == ^uint64(0) }
