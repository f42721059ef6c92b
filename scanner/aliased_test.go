package scanner

import (
	"context"
	"maps"
	"net/netip"
	"os"
	"slices"
	"testing"
)

// TestAliasedPrefixesCountOnce: with an aliased-prefixes file (xz, as TUM publishes it, with a
// comment, a bad line and a prefix nested in another), the targets inside each aliased prefix
// are walked as one address of them, picked by the seed whatever order they were read in; the
// rest are walked as before, and the counts say how many prefixes and addresses collapsed.
func TestAliasedPrefixesCountOnce(t *testing.T) {
	dir := t.TempDir()
	aliasedFile := dir + "/aliased-prefixes.txt.xz"
	list := "# aliased prefixes\n2001:2:0:a::/64\n2001:2:0:a:1::/80\nbogus\n2001:2:0:b::/64\n127.0.5.0/24\n"
	if err := os.WriteFile(aliasedFile, compressed(t, []byte(list))["xz"], 0o600); err != nil {
		t.Fatal(err)
	}
	set, st, err := LoadAliased(aliasedFile)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 3 || st.Lines != 6 || st.Skipped != 1 {
		t.Errorf("%d prefixes, %d lines, %d skipped; want 3 (the nested one inside its parent), 6, 1", set.Len(), st.Lines, st.Skipped)
	}
	if p, ok := set.Lookup(netip.MustParseAddr("2001:2:0:a:1::5")); !ok || p != netip.MustParsePrefix("2001:2:0:a::/64") {
		t.Errorf("lookup in the nested prefix: %v %v, want the wider one", p, ok)
	}
	if _, ok := set.Lookup(netip.MustParseAddr("2001:2:0:c::1")); ok {
		t.Error("an address outside every aliased prefix was found in one")
	}

	targets := []string{"2001:2:0:a::1", "2001:2:0:a::2", "2001:2:0:a:1::5", "2001:2:0:a::100/120", "2001:2:0:b::7",
		"2001:2:0:c::1", "2001:2:0:c::2", "127.0.5.9", "127.0.6.1", "127.0.4.250-127.0.5.5"}
	inside := map[netip.Prefix][]string{}
	for _, tg := range targets {
		r, _ := ParseTarget(tg)
		if p, ok := set.Lookup(r.Last); ok {
			inside[p] = append(inside[p], tg)
		}
	}
	walk := func(specs []string, seed int64) map[netip.Prefix]netip.Addr {
		plan := &Plan{Specs: specs, Blocklist: NewBlocklist(true), Aliased: set, Seed: seed}
		tot, err := plan.Count()
		if err != nil {
			t.Fatal(err)
		}
		if tot.Addresses != 12 || tot.AliasedPrefixes != 3 || tot.AliasedAddresses != 267 {
			t.Errorf("counted %d addresses, %d aliased prefixes holding %d; want 12, 3, 267", tot.Addresses, tot.AliasedPrefixes, tot.AliasedAddresses)
		}
		picked := map[netip.Prefix]netip.Addr{}
		n := 0
		if err := plan.Walk(context.Background(), func(ap netip.AddrPort) error {
			n++
			if p, ok := set.Lookup(ap.Addr()); ok {
				if _, twice := picked[p]; twice {
					t.Errorf("%s walked twice", p)
				}
				picked[p] = ap.Addr()
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if n != 12 || len(picked) != 3 {
			t.Errorf("walked %d probes, %d in aliased prefixes; want 12, 3", n, len(picked))
		}
		for p, a := range picked {
			named := false
			for _, tg := range inside[p] {
				r, _ := ParseTarget(tg)
				named = named || (!a.Less(r.First) && !r.Last.Less(a))
			}
			if !named {
				t.Errorf("%s stands for %s but is none of its targets", a, p)
			}
		}
		return picked
	}
	first := walk(targets, 7)
	reversed := slices.Clone(targets)
	slices.Reverse(reversed)
	if again := walk(reversed, 7); !maps.Equal(first, again) {
		t.Errorf("the same seed picked %v in one order, %v in another", first, again)
	}
	seen := map[netip.Addr]bool{}
	for seed := range int64(20) {
		seen[walk(targets, seed)[netip.MustParsePrefix("2001:2:0:a::/64")]] = true
	}
	if len(seen) < 2 {
		t.Errorf("20 seeds picked %d address of the /64; want the seed to choose", len(seen))
	}
}
