package scanner

import "net/netip"

// answeredSet holds the probes of one SYN sweep that drew an answer (SYN-ACK or RST): most
// answers of a sweep are RSTs, so it grows with the window (65,536 entries for a /16 port
// sweep), and the reader adds to it for every answer while the senders send. IPv4 probes are
// keyed by one uint64 (address and port), a quarter of a netip.AddrPort's 32 bytes and
// hashed without the address's zone pointer: the reader's map work in a /16 sweep fell from
// about a tenth of its CPU to a few percent. IPv6 (and IPv4-mapped) probes keep the AddrPort.
type answeredSet struct {
	v4 map[uint64]struct{}
	v6 map[netip.AddrPort]struct{}
}

func newAnsweredSet() answeredSet {
	return answeredSet{v4: map[uint64]struct{}{}, v6: map[netip.AddrPort]struct{}{}}
}

// add records ap and reports whether it was there already.
func (a answeredSet) add(ap netip.AddrPort) (seen bool) {
	if ap.Addr().Is4() {
		k := v4Key(ap)
		if _, seen = a.v4[k]; !seen {
			a.v4[k] = struct{}{}
		}
		return seen
	}
	if _, seen = a.v6[ap]; !seen {
		a.v6[ap] = struct{}{}
	}
	return seen
}

func (a answeredSet) has(ap netip.AddrPort) bool {
	if ap.Addr().Is4() {
		_, ok := a.v4[v4Key(ap)]
		return ok
	}
	_, ok := a.v6[ap]
	return ok
}

func v4Key(ap netip.AddrPort) uint64 {
	b := ap.Addr().As4()
	return uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 | uint64(b[3])<<16 | uint64(ap.Port())
}
