package scanner

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// u128 is an address as a 128-bit integer, so IPv4 and IPv6 ranges share one arithmetic.
// IPv4 addresses live in the low 32 bits and never mix with IPv6 ones: each Range is one family.
type u128 struct{ hi, lo uint64 }

func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}
}

func fromU128(v u128, is4 bool) netip.Addr {
	if is4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(v.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], v.hi)
	binary.BigEndian.PutUint64(b[8:], v.lo)
	return netip.AddrFrom16(b)
}

func (v u128) less(w u128) bool { return v.hi < w.hi || (v.hi == w.hi && v.lo < w.lo) }

func (v u128) add(n uint64) u128 {
	lo, carry := bits.Add64(v.lo, n, 0)
	return u128{hi: v.hi + carry, lo: lo}
}

func (v u128) sub1() u128 {
	lo, borrow := bits.Sub64(v.lo, 1, 0)
	return u128{hi: v.hi - borrow, lo: lo}
}

// diff returns w - v; the caller guarantees it fits in 64 bits.
func (v u128) diff(w u128) uint64 { return w.lo - v.lo }

func (v u128) isMax(is4 bool) bool {
	if is4 {
		return v.lo == 0xffffffff
	}
	return v.hi == ^uint64(0) && v.lo == ^uint64(0)
}
