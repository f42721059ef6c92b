package scanner

import "math/bits"

// permutation is a keyed bijection on [0, n): a balanced Feistel network over the smallest
// even-bit power of two that holds n, with cycle walking to stay below n. Any index maps
// in O(1) expected time, so shards can jump straight to their own positions.
type permutation struct {
	n        uint64
	halfBits uint
	mask     uint64
	keys     [4]uint64
}

func newPermutation(n uint64, seed int64) permutation {
	p := permutation{n: n}
	width := uint(bits.Len64(n - 1))
	if n <= 1 {
		width = 0
	}
	if width%2 == 1 {
		width++
	}
	p.halfBits = width / 2
	p.mask = (uint64(1) << p.halfBits) - 1
	s := uint64(seed)
	for i := range p.keys {
		s = splitmix(s + uint64(i))
		p.keys[i] = s
	}
	return p
}

// at returns the i-th element of the permuted sequence.
func (p permutation) at(i uint64) uint64 {
	if p.n <= 1 {
		return i
	}
	v := i
	for {
		v = p.round(v)
		if v < p.n {
			return v
		}
	}
}

func (p permutation) round(v uint64) uint64 {
	l, r := v>>p.halfBits, v&p.mask
	for _, k := range p.keys {
		l, r = r, l^(splitmix(r^k)&p.mask)
	}
	return l<<p.halfBits | r
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
