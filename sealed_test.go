package clawcensus_test

import (
	"net"
	"os"
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
}
