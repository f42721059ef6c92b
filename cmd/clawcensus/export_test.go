package main

import (
	"testing"

	"github.com/clawcensus/clawcensus/store"
)

func TestSeverity(t *testing.T) {
	sev := map[string]string{"GHSA-4jpw-hj22-2xmc": "critical", "CVE-2026-45001": "high"}
	yes := true
	tests := []struct {
		name string
		o    store.Observation
		want string
	}{
		{"open and vulnerable", store.Observation{Auth: "none", Advisories: []string{"CVE-2026-45001"}}, "critical"},
		{"open, current", store.Observation{Auth: "none"}, "high"},
		{"critical advisory behind auth", store.Observation{Auth: "required", Advisories: []string{"GHSA-4jpw-hj22-2xmc"}}, "high"},
		{"high advisory, auth unknown", store.Observation{Auth: "unknown", Advisories: []string{"CVE-2026-45001"}}, "medium"},
		{"config leak", store.Observation{Auth: "unknown", Flags: []string{"bootstrap-config-leak"}}, "medium"},
		{"current, auth on", store.Observation{Auth: "required", Official: &yes}, "low"},
		{"nothing known", store.Observation{Auth: "unknown"}, "info"},
	}
	for _, tt := range tests {
		if got := severity(tt.o, sev); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}
