package clawcensus_test

import (
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// testAddressSpace is where the suite may aim: loopback, the 198.18.0.0/15 namespace range the
// lab scripts build (IPv4-mapped forms included), ::/104, the unassigned block around ::1
// that the address normaliser keeps IPv6 (never routed), and 2001:2::/48, the IPv6
// benchmarking block (RFC 5180) the IPv6 testbed builds in namespaces of its own. A whole address space ("0.0.0.0/0",
// "::/0") and its two ends may appear as a spec for dry runs and counts: that is the only way
// to test the refusal of an Internet-scale run, which is never sent.
var testAddressSpace = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("::ffff:127.0.0.0/104"),
	netip.MustParsePrefix("::ffff:198.18.0.0/111"),
	netip.MustParsePrefix("::127.0.0.0/104"),
	netip.MustParsePrefix("::/104"),
	netip.MustParsePrefix("2001:2::/48"),
}

var addressToken = regexp.MustCompile(`[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]*(/[0-9]{1,3})?`)

func inTestSpace(p netip.Prefix) bool {
	a := p.Addr().WithZone("")
	if p.Bits() == 0 || a == netip.IPv4Unspecified() || a == netip.MustParseAddr("255.255.255.255") {
		return true
	}
	for _, s := range testAddressSpace {
		if s.Addr().Is4() == a.Is4() && s.Bits() <= p.Bits() && s.Contains(a) {
			return true
		}
	}
	return false
}

// TestNoTestNamesAnOutsideAddress holds the suite to addresses that cannot reach another
// machine: every address or prefix written in a test, benchmark or fuzz seed (and in the
// suite's test data, except the responses recorded from real gateways) lies in
// testAddressSpace. A mistake in a size gate or a scope check then has nowhere to send to,
// even before the sealed namespace stops it.
func TestNoTestNamesAnOutsideAddress(t *testing.T) {
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != "." {
				return filepath.SkipDir
			}
			return nil
		}
		inTestData := strings.Contains(path, "testdata"+string(filepath.Separator))
		recorded := strings.HasSuffix(path, ".txtar") // real gateways' and real servers' responses
		if !strings.HasSuffix(path, "_test.go") && (!inTestData || recorded) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for i, line := range strings.Split(string(b), "\n") {
			for _, tok := range addressToken.FindAllString(line, -1) {
				p, ok := parseAddressToken(strings.TrimRight(tok, "."))
				if ok && !inTestSpace(p) {
					t.Errorf("%s:%d names %s, outside loopback and the namespace range", path, i+1, tok)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("checked %d files; the walk missed the suite", checked)
	}
	// The check itself, on addresses one step outside each block (computed, so that this
	// test too names none) and on blocks wider than the space they start in.
	for _, s := range testAddressSpace {
		last := s.Addr()
		for i := s.Bits(); i < last.BitLen(); i++ {
			b := last.AsSlice()
			b[i/8] |= 0x80 >> (i % 8)
			last, _ = netip.AddrFromSlice(b)
		}
		for _, a := range []netip.Addr{s.Addr().Prev(), last.Next()} {
			if !a.IsValid() {
				continue
			}
			if p := netip.PrefixFrom(a, a.BitLen()); inTestSpace(p) {
				t.Errorf("the check lets %s through", a)
			}
			if p, ok := parseAddressToken(netip.AddrPortFrom(a, 18789).String()); !ok || inTestSpace(p) {
				t.Errorf("the check lets %s with a port through", a)
			}
		}
		if wider := netip.PrefixFrom(s.Addr(), s.Bits()-1); inTestSpace(wider) {
			t.Errorf("the check lets %s through", wider)
		}
	}
}

// parseAddressToken reads an address, a prefix or an IPv4 address with a port.
func parseAddressToken(tok string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(tok); err == nil {
		return p, true
	}
	if a, err := netip.ParseAddr(tok); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	if ap, err := netip.ParseAddrPort(tok); err == nil {
		return netip.PrefixFrom(ap.Addr(), ap.Addr().BitLen()), true
	}
	return netip.Prefix{}, false
}
