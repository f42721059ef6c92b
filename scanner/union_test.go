package scanner

import (
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestTargetsAreASet: overlapping prefixes, ranges, repeated addresses and files count and
// walk the union, each address once per port (issue 19 item 6: 8 distinct addresses sent 13
// probes).
func TestTargetsAreASet(t *testing.T) {
	file := t.TempDir() + "/targets.txt"
	writeFile(t, file, "127.0.0.3\n127.0.0.8/30\n127.0.0.2-127.0.0.5\n")
	for _, c := range []struct {
		name  string
		specs []string
		want  uint64
	}{
		{"prefix, overlapping range, address inside", []string{"127.0.0.0/29", "127.0.0.4-127.0.0.11", "127.0.0.1"}, 12},
		{"the issue's 13 for 8", []string{"127.0.0.0/29", "127.0.0.0/30", "127.0.0.1"}, 8},
		{"the same in one spec", []string{"127.0.0.0/29,127.0.0.0/30,127.0.0.1"}, 8},
		{"a file overlapping a literal", []string{"127.0.0.0/30", "@" + file}, 10},
		{"the same target twice", []string{"127.0.0.1", "127.0.0.1"}, 1},
		{"a larger prefix after a smaller one", []string{"127.0.0.5", "127.0.0.0/24", "127.0.1.0-127.0.1.9", "127.0.0.250-127.0.1.3"}, 266},
		{"adjacent ranges stay distinct and whole", []string{"127.0.0.0-127.0.0.3", "127.0.0.4-127.0.0.7"}, 8},
		{"IPv6 beside IPv4", []string{"::1", "0:0:0:0:0:0:0:1", "127.0.0.1"}, 2},
		{"IPv6 prefixes", []string{"::100/120", "::180/121", "::1ff"}, 256},
	} {
		t.Run(c.name, func(t *testing.T) {
			ports := []uint16{1, 2}
			plan := &Plan{Specs: c.specs, Blocklist: NewBlocklist(true), Ports: ports, Seed: 9}
			tot, err := plan.Count()
			if err != nil {
				t.Fatal(err)
			}
			if tot.Addresses != c.want || tot.Probes != c.want*2 {
				t.Errorf("counted %d addresses, %d probes; want %d, %d", tot.Addresses, tot.Probes, c.want, c.want*2)
			}
			seen := map[netip.AddrPort]int{}
			if err := plan.Walk(context.Background(), func(ap netip.AddrPort) error { seen[ap]++; return nil }); err != nil {
				t.Fatal(err)
			}
			if uint64(len(seen)) != c.want*2 {
				t.Errorf("walked %d distinct probes, want %d", len(seen), c.want*2)
			}
			for ap, n := range seen {
				if n != 1 {
					t.Errorf("%s walked %d times", ap, n)
				}
			}
		})
	}
	// Exclusions count the union too: 127.0.0.0/8 is reserved, and 12 distinct addresses of it
	// were named (16 with the overlap counted twice).
	tot, err := (&Plan{Specs: []string{"127.0.0.0/29", "127.0.0.4-127.0.0.11", "127.0.0.1", "198.18.0.0/31"}}).Count()
	if err == nil || tot.Addresses != 0 {
		t.Fatalf("reserved targets: %d addresses, %v; want every one excluded", tot.Addresses, err)
	}
	var sum uint64
	for _, x := range tot.Excluded {
		sum += x.Addresses
	}
	if sum != 14 {
		t.Errorf("excluded %d addresses (%+v), want 14: the union", sum, tot.Excluded)
	}
	// An exclusion still removes what it names from the union.
	bl := NewBlocklist(true)
	excl := t.TempDir() + "/exclude.txt"
	writeFile(t, excl, "127.0.0.6-127.0.0.9\n")
	if err := bl.AddFile(excl); err != nil {
		t.Fatal(err)
	}
	tot, err = (&Plan{Specs: []string{"127.0.0.0/29", "127.0.0.4-127.0.0.11", "127.0.0.1"}, Blocklist: bl}).Count()
	if err != nil || tot.Addresses != 8 || len(tot.Excluded) != 1 || tot.Excluded[0].Addresses != 4 {
		t.Errorf("with 127.0.0.6-9 excluded: %d addresses, %+v, %v; want 8, 4 excluded", tot.Addresses, tot.Excluded, err)
	}
}

// TestUnionMatchesASet: union.add against a map of addresses, on random overlapping ranges
// of a small space, in both families.
func TestUnionMatchesASet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 19))
	for _, base := range []string{"127.0.0.0", "::100"} {
		b := netip.MustParseAddr(base)
		for round := range 50 {
			var u union
			set := map[netip.Addr]bool{}
			for range 1 + rng.IntN(40) {
				first := rng.Uint64N(200)
				r := Range{First: toAddr(b, first), Last: toAddr(b, first+rng.Uint64N(30))}
				var prev netip.Addr
				for i, piece := range u.add(r) {
					if i > 0 && !prev.Less(piece.First) {
						t.Fatalf("round %d: pieces out of order at %s", round, piece)
					}
					prev = piece.Last
					for j := range piece.Size() {
						a := piece.Addr(j)
						if set[a] {
							t.Fatalf("round %d: %s passed on twice", round, a)
						}
						set[a] = true
					}
				}
				for j := range r.Size() {
					if !set[r.Addr(j)] {
						t.Fatalf("round %d: %s of %s never passed on", round, r.Addr(j), r)
					}
				}
			}
		}
	}
	// The ends of the address space (built, not written: the suite names no address there).
	top4 := netip.AddrFrom4([4]byte{255, 255, 255, 255})
	var ff [16]byte
	for i := range ff {
		ff[i] = 0xff
	}
	top6 := netip.AddrFrom16(ff)
	var u union
	for _, c := range []struct {
		r     Range
		fresh bool
	}{
		{Range{toAddr(top4, 0).Prev().Prev().Prev(), top4}, true},
		{Range{top4, top4}, false},
		{Range{netip.AddrFrom4([4]byte{}), netip.AddrFrom4([4]byte{0, 0, 0, 3})}, true},
		{Range{top6.Prev().Prev(), top6}, true},
		{Range{top6, top6}, false},
		{Range{top6.Prev().Prev().Prev(), top6.Prev()}, true},
	} {
		if got := u.add(c.r); (len(got) > 0) != c.fresh || (c.fresh && len(got) != 1) {
			t.Errorf("%s: passed on %v", c.r, got)
		}
	}
}

func toAddr(base netip.Addr, i uint64) netip.Addr { return fromU128(toU128(base).add(i), base.Is4()) }

// TestConnectSweepProbesTheUnionOnce: a real connect sweep on loopback of overlapping
// targets sends exactly union × ports probes.
func TestConnectSweepProbesTheUnionOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	scope, _ := ParseScope("127.0.0.0/8")
	sw, err := New(Config{Rate: 1000, Method: MethodConnect, Timeout: time.Second, Blocklist: NewBlocklist(true), Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	open := make(chan Open, 256)
	done := make(chan error, 1)
	go func() {
		defer close(open)
		done <- sw.Sweep(context.Background(), &Plan{Specs: []string{"127.0.0.0/29", "127.0.0.4-127.0.0.11", "127.0.0.1"},
			Blocklist: NewBlocklist(true), Ports: []uint16{port, 1}, Seed: 5}, open)
	}()
	opens := 0
	for range open {
		opens++
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := sw.Stats(); st.Sent != 24 || opens != 1 {
		t.Errorf("sent %d probes, %d open; want 24 (12 addresses × 2 ports), 1 open (127.0.0.1, once)", st.Sent, opens)
	}
}
