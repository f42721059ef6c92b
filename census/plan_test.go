package census

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
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
