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
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		sc.prefixes = append(sc.prefixes, p.Masked())
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
	a = a.Unmap()
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
