package scanner

import (
	"encoding/binary"
	"errors"
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

// normalizeAddr is the one address normaliser for targets, exclusions, opt-outs, scope and
// candidates: an IPv4-mapped (::ffff:a.b.c.d) or IPv4-compatible (::a.b.c.d, deprecated)
// address is the IPv4 address it names, so that a list written either way applies; a zoned
// address is refused (a zone names a link of this machine, not a host on the Internet).
func normalizeAddr(a netip.Addr) (netip.Addr, error) {
	if a.Zone() != "" {
		return netip.Addr{}, errors.New("zoned addresses (with %) are not accepted")
	}
	if a.Is4In6() {
		return a.Unmap(), nil
	}
	if v4, ok := ipv4Compatible(a); ok {
		return v4, nil
	}
	return a, nil
}

// ipv4Compatible reads ::a.b.c.d; :: and ::1 (and all of ::/104) stay IPv6.
func ipv4Compatible(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	for _, x := range b[:12] {
		if x != 0 {
			return netip.Addr{}, false
		}
	}
	if b[12] == 0 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte(b[12:])), true
}

// embedsIPv4 reports whether a is an IPv6 address that normalizeAddr reads as IPv4.
func embedsIPv4(a netip.Addr) bool {
	_, compat := ipv4Compatible(a)
	return a.Is4In6() || compat
}

// ipv4CompatibleFirst and ipv4CompatibleLast bound the IPv4-compatible addresses that
// normalizeAddr reads as IPv4 (::1.0.0.0 to ::255.255.255.255).
var (
	ipv4CompatibleFirst = netip.AddrFrom16([16]byte{12: 1})
	ipv4CompatibleLast  = netip.AddrFrom16([16]byte{12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff})
)

// normalizePrefix maps an IPv4-mapped or IPv4-compatible prefix of /96 or longer to the IPv4
// prefix it covers (::ffff:127.0.2.0/120 is 127.0.2.0/24) and refuses zones, as normalizeAddr.
func normalizePrefix(p netip.Prefix) (netip.Prefix, error) {
	a, err := normalizeAddr(p.Addr())
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Is4() && p.Addr().Is6() {
		if p.Bits() < 96 {
			return p.Masked(), nil // wider than the embedded IPv4 space: kept as IPv6
		}
		return netip.PrefixFrom(a, p.Bits()-96).Masked(), nil
	}
	return netip.PrefixFrom(a, p.Bits()).Masked(), nil
}
