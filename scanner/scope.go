package scanner

import (
	"fmt"
	"net/netip"
	"strings"
)

// Scope is the authorized scope of a scan: when set, nothing outside it is ever probed. It is
// checked at send time, for every probe, as a last guard against a wrong target list, a
// wrong candidate file or a bug. The zero Scope allows everything the blocklist allows.
type Scope struct {
	prefixes []netip.Prefix
	text     string
}

// ParseScope parses comma-separated CIDRs or addresses. An empty string means no scope.
func ParseScope(s string) (Scope, error) {
	var sc Scope
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return Scope{}, fmt.Errorf("scope %q: not a CIDR or address", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p, err = normalizePrefix(p); err != nil {
			return Scope{}, fmt.Errorf("scope %q: %w", f, err)
		}
		sc.prefixes = append(sc.prefixes, p)
	}
	sc.text = s
	return sc, nil
}

// Set reports whether a scope was given.
func (s Scope) Set() bool { return len(s.prefixes) > 0 }

// Allows reports whether a may be probed.
func (s Scope) Allows(a netip.Addr) bool {
	if !s.Set() {
		return true
	}
	a, err := normalizeAddr(a)
	if err != nil {
		return false
	}
	for _, p := range s.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Check returns an error for an address outside the scope.
func (s Scope) Check(a netip.Addr) error {
	if s.Allows(a) {
		return nil
	}
	return fmt.Errorf("refusing to probe %s: outside the authorized scope %q", a, s.text)
}

// Outside returns the first address of r that lies outside the scope, if any: a plan checks
// its targets with it before anything is sent.
func (s Scope) Outside(r Range) (netip.Addr, bool) {
	if !s.Set() {
		return netip.Addr{}, false
	}
	for _, p := range r.Prefixes() {
		if a, out := s.outsidePrefix(p); out {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// outsidePrefix halves p until each part lies inside one scope prefix or is a single
// address outside them all; the halving stops at the first address outside.
func (s Scope) outsidePrefix(p netip.Prefix) (netip.Addr, bool) {
	for _, sp := range s.prefixes {
		if sp.Bits() <= p.Bits() && sp.Contains(p.Addr()) {
			return netip.Addr{}, false
		}
	}
	overlaps := false
	for _, sp := range s.prefixes {
		if sp.Overlaps(p) {
			overlaps = true
			break
		}
	}
	if !overlaps || p.IsSingleIP() {
		return p.Addr(), true
	}
	if a, out := s.outsidePrefix(netip.PrefixFrom(p.Addr(), p.Bits()+1)); out {
		return a, true
	}
	return s.outsidePrefix(netip.PrefixFrom(setBit(p.Addr(), p.Bits()), p.Bits()+1))
}

// setBit sets bit i of a, counting from the most significant.
func setBit(a netip.Addr, i int) netip.Addr {
	b := a.AsSlice()
	b[i/8] |= 0x80 >> (i % 8)
	out, _ := netip.AddrFromSlice(b)
	return out
}
