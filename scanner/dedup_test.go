package scanner

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEveryWayOfReadingIsTheSameSet: the three ways readSet makes a target list a set (an
// ascending file with one number per family, union in memory, the external sort of a long
// shuffled file) walk exactly the addresses the list names, each once; an ascending file
// walks the very ranges union gives it (old plans walk as they did).
func TestEveryWayOfReadingIsTheSameSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	v4 := netip.MustParseAddr("127.0.0.0")
	v6 := netip.MustParseAddr("2001:2::")
	type target struct {
		first netip.Addr
		n     int
		text  string
	}
	var targets []target
	for range 400 {
		base, off := v4, rng.IntN(200)
		if rng.IntN(2) == 0 {
			base = v6
		}
		first := base
		for range off {
			first = first.Next()
		}
		switch rng.IntN(3) {
		case 0:
			targets = append(targets, target{first, 1, first.String()})
		case 1:
			last := first
			n := 1 + rng.IntN(9)
			for range n - 1 {
				last = last.Next()
			}
			targets = append(targets, target{first, n, first.String() + "-" + last.String()})
		default:
			p := netip.PrefixFrom(first, first.BitLen()-2).Masked()
			targets = append(targets, target{p.Addr(), 4, p.String()})
		}
	}
	want := map[netip.Addr]bool{}
	for _, tg := range targets {
		a := tg.first
		for range tg.n {
			want[a] = true
			a = a.Next()
		}
	}
	lines := func(ts []target) string {
		var b strings.Builder
		for _, tg := range ts {
			fmt.Fprintln(&b, tg.text)
		}
		return b.String()
	}
	dir := t.TempDir()
	shuffled, sorted := dir+"/shuffled", dir+"/sorted"
	writeFile(t, shuffled, lines(targets))
	asc := slices.Clone(targets)
	slices.SortStableFunc(asc, func(a, b target) int {
		if a.first.Is4() != b.first.Is4() {
			return map[bool]int{true: -1, false: 1}[a.first.Is4()]
		}
		return a.first.Compare(b.first)
	})
	writeFile(t, sorted, lines(asc))
	var literal []string
	for _, tg := range asc {
		literal = append(literal, tg.text)
	}

	ranges := func(specs []string) []Range {
		var out []Range
		if err := (&Plan{Specs: specs, Blocklist: NewBlocklist(true)}).EachRange(func(r Range) error {
			out = append(out, r)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, c := range []struct {
		name  string
		specs []string
		limit int
	}{
		{"ascending file", []string{"@" + sorted}, 1 << 19},
		{"shuffled file, in memory", []string{"@" + shuffled}, 1 << 19},
		{"shuffled file, sorted on disk", []string{"@" + shuffled}, 37},
		{"literal targets", literal, 37},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := &Plan{Specs: c.specs, Blocklist: NewBlocklist(true), Seed: 3, MemoryRanges: c.limit}
			tot, err := plan.Count()
			if err != nil {
				t.Fatal(err)
			}
			if tot.Addresses != uint64(len(want)) {
				t.Errorf("counted %d addresses, want %d", tot.Addresses, len(want))
			}
			got := map[netip.Addr]int{}
			if err := plan.Walk(context.Background(), func(ap netip.AddrPort) error { got[ap.Addr()]++; return nil }); err != nil {
				t.Fatal(err)
			}
			for a := range want {
				if got[a] != 1 {
					t.Errorf("%s walked %d times, want once", a, got[a])
				}
			}
			if len(got) != len(want) {
				t.Errorf("walked %d addresses, want %d", len(got), len(want))
			}
		})
	}
	// The ascending file's ranges are union's own.
	if diff := cmp.Diff(ranges(literal), ranges([]string{"@" + sorted}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("ascending file vs union (-union +ascending):\n%s", diff)
	}
}
