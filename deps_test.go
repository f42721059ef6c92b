package clawcensus_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStagesDoNotImportEachOther keeps the pipeline's stages independent: scanner,
// fingerprint, enrich and store exchange plain values, and only cmd wires them together.
func TestStagesDoNotImportEachOther(t *testing.T) {
	const mod = "github.com/clawcensus/clawcensus/"
	stages := []string{"scanner", "fingerprint", "enrich", "store"}
	for _, pkg := range stages {
		out, err := exec.Command("go", "list", "-deps", "./"+pkg+"/...").Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		for _, other := range stages {
			if other == pkg {
				continue
			}
			for _, d := range deps {
				if d == mod+other || strings.HasPrefix(d, mod+other+"/") {
					t.Errorf("%s imports %s", pkg, d)
				}
			}
		}
		for _, d := range deps {
			if d == mod+"migrations" && pkg != "store" {
				t.Errorf("%s imports migrations; only store may", pkg)
			}
		}
	}
}
