package census

import (
	"errors"
	"net/netip"
	"os"
	"testing"
)

// TestCoverage: a stored plan gives back the ip:ports its run was to probe: its ports on its
// literal and file targets, less its exclusions; the candidates a plan of candidates accepted;
// and no coverage at all when a file it read changed or its candidates came from stdin.
func TestCoverage(t *testing.T) {
	t.Chdir(t.TempDir())
	for name, body := range map[string]string{
		"targets.txt":    "127.0.3.8/30\n",
		"exclude.txt":    "127.0.2.5\n",
		"candidates.txt": "127.0.4.1:18789\n127.0.4.2:8080\n127.0.2.5:18789\n",
	} {
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plans := map[string]PlanConfig{
		"targets": {Targets: []string{"127.0.2.0/29", "@targets.txt", "::1"}, Ports: []uint16{18789, 443}, Lab: true,
			Excludes: []string{"exclude.txt"}},
		"candidates": {Candidates: "candidates.txt", Ports: []uint16{18789}, Lab: true, Excludes: []string{"exclude.txt"}},
	}
	stored := map[string]string{}
	for name, cfg := range plans {
		p, err := NewPlan(cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		stored[name] = p.Marshal()
	}
	for _, c := range []struct {
		plan, at string
		want     bool
	}{
		{"targets", "127.0.2.0:18789", true},
		{"targets", "127.0.2.7:443", true},
		{"targets", "[::ffff:127.0.2.7]:443", true},
		{"targets", "127.0.2.7:8080", false},  // not a port of the plan
		{"targets", "127.0.2.5:18789", false}, // excluded
		{"targets", "127.0.2.8:18789", false},
		{"targets", "127.0.3.11:18789", true}, // from the target file
		{"targets", "127.0.3.12:18789", false},
		{"targets", "127.0.1.255:18789", false},
		{"targets", "[::1]:18789", true},
		{"targets", "[::2]:18789", false},
		{"candidates", "127.0.4.1:18789", true},
		{"candidates", "127.0.4.2:8080", true},
		{"candidates", "127.0.4.2:18789", false},
		{"candidates", "127.0.2.5:18789", false}, // excluded
	} {
		covered, err := Coverage(stored[c.plan])
		if err != nil {
			t.Fatalf("%s: %v", c.plan, err)
		}
		if got := covered(netip.MustParseAddrPort(c.at)); got != c.want {
			t.Errorf("%s plan covers %s: %v, want %v", c.plan, c.at, got, c.want)
		}
	}

	if err := os.WriteFile("targets.txt", []byte("127.0.3.0/24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Coverage(stored["targets"]); !errors.Is(err, ErrChanged) {
		t.Errorf("a changed target file: %v, want ErrChanged", err)
	}
	p, err := NewPlan(PlanConfig{Candidates: "-", Ports: []uint16{18789}, Lab: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Coverage(p.Marshal()); err == nil {
		t.Error("a plan of candidates from stdin gave a coverage")
	}
	if _, err := Coverage(""); err == nil {
		t.Error("a run without a plan gave a coverage")
	}
}
