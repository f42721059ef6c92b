package scanner

import (
	"net/netip"
	"testing"
)

func TestAnsweredSet(t *testing.T) {
	a := newAnsweredSet()
	probes := []string{"198.18.0.1:18789", "198.18.0.1:18790", "198.18.1.0:18789", "[::ffff:198.18.0.1]:18789",
		"[2001:2::1]:18789", "[2001:2::1]:80", "0.0.0.0:0", "255.255.255.255:65535"}
	for _, p := range probes {
		ap := netip.MustParseAddrPort(p)
		if a.has(ap) {
			t.Fatalf("%s in the set before it was added", p)
		}
		if a.add(ap) {
			t.Fatalf("%s: add said seen on the first add", p)
		}
	}
	for _, p := range probes {
		ap := netip.MustParseAddrPort(p)
		if !a.has(ap) || !a.add(ap) {
			t.Fatalf("%s: not found after it was added", p)
		}
	}
	if got := len(a.v4) + len(a.v6); got != len(probes) {
		t.Fatalf("%d entries for %d distinct probes", got, len(probes))
	}
	for _, p := range []string{"198.18.0.2:18789", "198.18.0.1:18791", "[::ffff:198.18.0.2]:18789", "[2001:2::2]:18789"} {
		if a.has(netip.MustParseAddrPort(p)) {
			t.Fatalf("%s found but never added", p)
		}
	}
}
