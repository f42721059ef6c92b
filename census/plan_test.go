package census

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
