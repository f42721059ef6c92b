package contacts

import (
	"slices"
	"sort"
)

// Keys is what one network, AS or delegated block says, as interned string ids (0: none).
type Keys struct {
	AbuseC, Org, IRT uint32
	CC               [2]byte
	Src              uint16 // index into DB.Sources
	Reg              uint16 // delegated blocks: interned registry id, small
}

// Span is a range of addresses (uint32 for IPv4, netip.Addr for IPv6) or AS numbers.
// Parent is the index of the nearest span that holds this one, -1 for none.
type Span[A any] struct {
	Lo, Hi A
	Parent int32
	K      Keys
}

// finish sorts spans by start, the wider first among equal starts, and links each to the
// nearest span around it, so a lookup is a binary search and a walk up the parents.
func finish[A any](s []Span[A], cmp func(a, b A) int) {
	slices.SortStableFunc(s, func(a, b Span[A]) int {
		if c := cmp(a.Lo, b.Lo); c != 0 {
			return c
		}
		return cmp(b.Hi, a.Hi)
	})
	var stack []int32
	for i := range s {
		for len(stack) > 0 {
			top := s[stack[len(stack)-1]]
			if cmp(top.Lo, s[i].Lo) <= 0 && cmp(top.Hi, s[i].Hi) >= 0 {
				break
			}
			stack = stack[:len(stack)-1]
		}
		s[i].Parent = -1
		if len(stack) > 0 {
			s[i].Parent = stack[len(stack)-1]
		}
		stack = append(stack, int32(i))
	}
}

// holding returns the indexes of the spans that hold a, the most specific first. Spans must
// have gone through finish. Overlaps that do not nest (rare in RIR data) may be missed.
func holding[A any](s []Span[A], a A, cmp func(a, b A) int) []int32 {
	i := int32(sort.Search(len(s), func(i int) bool { return cmp(s[i].Lo, a) > 0 })) - 1
	var out []int32
	for ; i >= 0; i = s[i].Parent {
		if cmp(s[i].Hi, a) >= 0 {
			out = append(out, i)
		}
	}
	return out
}
