package main

import (
	"fmt"
	"os/exec"
	"testing"
)

// BenchmarkCheckOneHost times `clawcensus check` (the whole process: start, connects on the
// default ports, fingerprint, verdict) on one loopback host replaying a real no-auth gateway.
// The operator's goal is under one second per host.
func BenchmarkCheckOneHost(b *testing.B) {
	port := serveFixture(b, "../../fingerprint/testdata/gateways/openclaw-2026.9.6-none.txtar")
	for b.Loop() {
		cmd := exec.Command(cliBinary, "check", "--ports", fmt.Sprintf("wild,sidecar,%d", port), "127.0.0.1")
		cmd.Env = testEnv()
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			b.Fatalf("check: %v (want exit 3)", err)
		}
	}
}
