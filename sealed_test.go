package clawcensus_test

import (
	"net"
	"os"
	"strings"
	"testing"
)

// TestSuiteIsSealed holds the rule that the suite runs where nothing can leave the machine:
// make test runs it through deploy/lab/sealed.sh, in a network namespace with loopback only.
// Under CI it must be sealed; wherever it is sealed, only loopback may be there.
func TestSuiteIsSealed(t *testing.T) {
	if os.Getenv("CLAWCENSUS_SEALED") != "1" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI runs the suite unsealed; run it with make test (deploy/lab/sealed.sh)")
		}
		t.Skip("not run through deploy/lab/sealed.sh (make test does that)")
	}
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			t.Errorf("sealed namespace has a non-loopback interface %q", i.Name)
		}
	}
	// No default route either (/proc/net is this process's namespace).
	if b, err := os.ReadFile("/proc/net/route"); err == nil {
		for _, line := range strings.Split(string(b), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 1 && f[1] == "00000000" {
				t.Errorf("sealed namespace has a default route via %s", f[0])
			}
		}
	}
	if b, err := os.ReadFile("/proc/net/ipv6_route"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 9 && f[0] == strings.Repeat("0", 32) && f[1] == "00000000" && f[9] != "lo" {
				t.Errorf("sealed namespace has an IPv6 default route via %s", f[9])
			}
		}
	}
}
