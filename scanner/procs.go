package scanner

import (
	"os"
	"runtime"
	"sync"
)

// A SYN sweep's senders spend most of their time in the kernel (each send call also runs the
// network's work for the batch it sends), and a goroutine in a system call gives its P up to
// whatever else is runnable; back from the call, it waits for a P. With one P per core, as Go
// sets it, a scan that fingerprints beside its sweep (or just collects garbage) kept its two
// senders waiting for Ps its other goroutines held, and sent at 0.84× zmap's rate on two
// cores where the engine alone sends at 1.3× (docs/benchmarks.md). So a sweep adds one P per
// sender for as long as it sends: the senders then run as threads the kernel schedules beside
// the others, and the rest of the process keeps the Ps it had.
var procs struct {
	sync.Mutex
	base, extra int
}

// addProcs raises GOMAXPROCS by n until the returned func is called; sweeps running at once
// add up, and the last one gives back the setting there was before the first (Go's own
// default, which follows the CPU limit, when GOMAXPROCS was not set).
func addProcs(n int) (release func()) {
	procs.Lock()
	defer procs.Unlock()
	if procs.extra == 0 {
		procs.base = runtime.GOMAXPROCS(0)
	}
	procs.extra += n
	runtime.GOMAXPROCS(procs.base + procs.extra)
	return sync.OnceFunc(func() {
		procs.Lock()
		defer procs.Unlock()
		procs.extra -= n
		switch {
		case procs.extra > 0:
			runtime.GOMAXPROCS(procs.base + procs.extra)
		case os.Getenv("GOMAXPROCS") == "":
			runtime.SetDefaultGOMAXPROCS()
		default:
			runtime.GOMAXPROCS(procs.base)
		}
	})
}
