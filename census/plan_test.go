package census

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
)

// TestPlanPinsFiles: a plan names its target file by absolute path and content hash, so a
// worker or a resume in another working directory reads the same file, and a changed file is
// refused rather than scanned.
func TestPlanPinsFiles(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("targets.txt", []byte("127.0.2.0/30\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(PlanConfig{Targets: []string{"@targets.txt"}, Ports: []uint16{9}, Lab: true, Scope: "127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.TargetFiles[0].Path; got != filepath.Join(dir, "targets.txt") {
		t.Errorf("stored path %q, want the absolute path", got)
	}
	stored, err := ParsePlan(p.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // elsewhere, where a relative "targets.txt" does not exist
	if err := stored.Verify(); err != nil {
		t.Fatalf("verify from another directory: %v", err)
	}
	bl, err := stored.Blocklist()
	if err != nil {
		t.Fatal(err)
	}
	win, err := stored.window(0, bl)
	if err != nil {
		t.Fatal(err)
	}
	var got []netip.AddrPort
	if err := win.Walk(context.Background(), func(ap netip.AddrPort) error { got = append(got, ap); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Errorf("the unit walks %d probes, want 4", len(got))
	}
	if err := os.WriteFile(filepath.Join(dir, "targets.txt"), []byte("127.0.3.0/30\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := stored.Verify(); !errors.Is(err, ErrChanged) {
		t.Errorf("a changed target file: %v, want ErrChanged", err)
	}
	if _, err := ParsePlan(`{"v":1,"bogus":true}`); err == nil {
		t.Error("a plan with an unknown field was accepted")
	}
}

// TestSeriesKey: a series is what a plan looks at, not how. Two censuses of the same targets and
// ports with other seeds, shards, unit sizes, rates and methods are one series; a subset of the
// targets, other ports, an exclusion or another target file's content is another. A target
// file counts by content, not path.
func TestSeriesKey(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for name, content := range map[string]string{"a.txt": "127.0.2.0/30\n", "b.txt": "127.0.2.0/30\n", "c.txt": "127.0.2.0/29\n", "ex.txt": "127.0.0.7\n"} {
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	seed := func(n int64) *int64 { return &n }
	key := func(cfg PlanConfig) string {
		t.Helper()
		cfg.Lab, cfg.Scope = true, "127.0.0.0/8"
		if cfg.Ports == nil {
			cfg.Ports = []uint16{18789}
		}
		p, err := NewPlan(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return p.SeriesKey()
	}
	census := key(PlanConfig{Targets: []string{"127.0.0.0/24"}, Seed: seed(1)})
	for name, cfg := range map[string]PlanConfig{
		"another seed, shards, unit size, rate, method": {Targets: []string{"127.0.0.0/24"}, Seed: seed(2), Shards: 4, UnitSize: 10, Rate: 50, Method: "connect"},
	} {
		if got := key(cfg); got != census {
			t.Errorf("%s: series %s, want the census's %s", name, got, census)
		}
	}
	for name, cfg := range map[string]PlanConfig{
		"a /28 re-check": {Targets: []string{"127.0.0.0/28"}, Seed: seed(1)},
		"other ports":    {Targets: []string{"127.0.0.0/24"}, Seed: seed(1), Ports: []uint16{18789, 443}},
		"an exclusion":   {Targets: []string{"127.0.0.0/24"}, Seed: seed(1), Excludes: []string{"ex.txt"}},
	} {
		if got := key(cfg); got == census {
			t.Errorf("%s: the census's series %s", name, got)
		}
	}
	if x, y := key(PlanConfig{Targets: []string{"127.0.0.0/25", "127.0.0.128/25"}}), key(PlanConfig{Targets: []string{"127.0.0.128/25", "127.0.0.0/25"}}); x != y {
		t.Errorf("the same targets in another order: series %s and %s", x, y)
	}
	a, b, c := key(PlanConfig{Targets: []string{"@a.txt"}}), key(PlanConfig{Targets: []string{"@b.txt"}}), key(PlanConfig{Targets: []string{"@c.txt"}})
	if a != b || a == c {
		t.Errorf("target files: same content %s %s, other content %s", a, b, c)
	}
	for _, name := range []string{"", "  ", "scope:abc", "targets:x ports:1", "a\x1bb", strings.Repeat("x", 101)} {
		if CheckSeriesName(name) == nil {
			t.Errorf("series name %q accepted", name)
		}
	}
	if err := CheckSeriesName("eu daily / 18789"); err != nil {
		t.Errorf("a plain name refused: %v", err)
	}
}

// TestIPv6PlanLikeIPv4: a plan of an xz hitlist (IPv6 and IPv4, a bad line) with shards, an
// exclude file, an opt-out register and an aliased-prefixes file counts, cuts and excludes
// IPv6 as it does IPv4: every address left is walked once across the shards' units, the
// exclusions and the skipped line are counted, the aliased /64 is one target, and the aliased
// file is pinned like every other (a changed one is refused).
func TestIPv6PlanLikeIPv4(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("# hitlist\n2001:2:0:1::/120\n2001:2:0:2::1\n127.0.4.0/30\nnot-an-address\n")
	for i := range 50 {
		fmt.Fprintf(&b, "2001:2:0:a::%x\n", i+1)
	}
	hitlist, exclude, optout, aliased := filepath.Join(dir, "hitlist.txt.xz"), filepath.Join(dir, "exclude.txt"),
		filepath.Join(dir, "optout.csv"), filepath.Join(dir, "aliased.txt")
	var x bytes.Buffer
	xw, _ := xz.NewWriter(&x)
	xw.Write([]byte(b.String()))
	xw.Close()
	os.WriteFile(hitlist, x.Bytes(), 0o600)
	os.WriteFile(exclude, []byte("2001:2:0:1::80/121\n"), 0o600)
	os.WriteFile(optout, []byte("network,requested_by,requested_at,verification,reason\n2001:2:0:2::/64,noc,2026-11-02,whois,\n"), 0o600)
	os.WriteFile(aliased, []byte("2001:2:0:a::/64\n"), 0o600)
	seed := int64(3)
	p, err := NewPlan(PlanConfig{Targets: []string{"@" + hitlist}, Ports: []uint16{9, 10}, Seed: &seed, Shards: 2, UnitSize: 16,
		Lab: true, Excludes: []string{exclude}, OptOuts: []string{optout}, Aliased: aliased, Scope: "2001:2::/48,127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	// 256 - 128 excluded + 0 (opted out) + 4 IPv4 + 1 for the aliased /64's 50.
	if p.Addresses != 133 || p.Probes != 266 || p.ShardProbes[0]+p.ShardProbes[1] != 266 || p.SkippedLines != 1 ||
		p.AliasedPrefixes != 1 || p.AliasedAddresses != 50 || len(p.Excluded) != 2 {
		t.Errorf("plan: %d addresses, %d probes (shards %v), %d skipped, %d aliased prefixes of %d, excluded %v",
			p.Addresses, p.Probes, p.ShardProbes, p.SkippedLines, p.AliasedPrefixes, p.AliasedAddresses, p.Excluded)
	}
	var dry bytes.Buffer
	p.WriteDryRun(&dry, nil, false)
	for _, want := range []string{"aliased prefixes: 1 hold 50 target addresses", "skipped: 1 lines", "hitlist.txt.xz:5: "} {
		if !strings.Contains(dry.String(), want) {
			t.Errorf("dry run lacks %q:\n%s", want, dry.String())
		}
	}
	stored, err := ParsePlan(p.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	bl, err := stored.Blocklist()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[netip.AddrPort]int{}
	for _, u := range stored.AllUnits() {
		win, err := stored.window(u, bl)
		if err != nil {
			t.Fatal(err)
		}
		if err := win.Walk(context.Background(), func(ap netip.AddrPort) error { seen[ap]++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	inAliased := 0
	for ap, n := range seen {
		if n != 1 {
			t.Errorf("%s walked %d times", ap, n)
		}
		if netip.MustParsePrefix("2001:2:0:a::/64").Contains(ap.Addr()) {
			inAliased++
		}
	}
	if len(seen) != 266 || inAliased != 2 {
		t.Errorf("the units walk %d probes, %d in the aliased /64; want 266, 2 (one address, two ports)", len(seen), inAliased)
	}
	os.WriteFile(aliased, []byte("2001:2:0:b::/64\n"), 0o600)
	if err := stored.Verify(); !errors.Is(err, ErrChanged) {
		t.Errorf("a changed aliased file: %v, want ErrChanged", err)
	}
}
