package scanner

import (
	"runtime"
	"testing"
)

// Sweeps at once add their senders' Ps up, and the setting there was comes back after the last.
func TestAddProcsGivesThemBack(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	r1 := addProcs(2)
	t.Cleanup(r1) // a failure leaves GOMAXPROCS as it was for the tests after it
	if got := runtime.GOMAXPROCS(0); got != base+2 {
		t.Fatalf("one sweep of 2 senders: GOMAXPROCS %d, want %d", got, base+2)
	}
	r2 := addProcs(1)
	t.Cleanup(r2)
	if got := runtime.GOMAXPROCS(0); got != base+3 {
		t.Fatalf("two sweeps (2 and 1 senders): GOMAXPROCS %d, want %d", got, base+3)
	}
	r1()
	r1() // a second call gives nothing back twice
	if got := runtime.GOMAXPROCS(0); got != base+1 {
		t.Fatalf("after the first sweep: GOMAXPROCS %d, want %d", got, base+1)
	}
	r2()
	if got := runtime.GOMAXPROCS(0); got != base {
		t.Fatalf("after both: GOMAXPROCS %d, want %d as before", got, base)
	}
}
