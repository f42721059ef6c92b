package census

import (
	"testing"

	"github.com/clawcensus/clawcensus/observation"
)

// TestSameVerdict: a verdict read back from a store (empty lists) and the same verdict judged
// again (no lists) are the same; a changed field is not.
func TestSameVerdict(t *testing.T) {
	stored := observation.Observation{Product: "openclaw", Version: "2026.9.6", VersionCandidates: []string{}, Advisories: []string{},
		Flags: []string{"plaintext-http"}, MIIT: []string{}}
	again := observation.Observation{Product: "openclaw", Version: "2026.9.6", Flags: []string{"plaintext-http"}}
	if !sameVerdict(stored, again) {
		t.Error("an empty list and none read as a change")
	}
	again.Version = "2026.9.7"
	if sameVerdict(stored, again) {
		t.Error("a changed version read as the same verdict")
	}
}
