package scanner

import (
	"os"
	"runtime"
	"strconv"
	"sync"
)

// A SYN sweep's senders spend most of their time in the kernel (each send call also runs the
// network's work for the batch it sends), and a goroutine in a system call gives its P up to
// whatever else is runnable; back from the call, it waits for a P. With one P per core, as Go
// sets it, a scan that fingerprints beside its sweep (or just collects garbage) kept its two
// senders waiting for Ps its other goroutines held: 15% of the two cores sat idle while it
// sent, at 0.84–0.93× zmap's rate (medians) where the engine alone sent 1.25–1.5×. So a sweep
// adds one P per sender for as long as it runs: the senders then run as threads the kernel
// schedules beside the others, and the rest of the process keeps the Ps it had. GOMAXPROCS is
// the process's, so this is the package's one piece of shared mutable state.
var procs struct {
	sync.Mutex
	base, extra int
}

// addProcs raises GOMAXPROCS by n until the returned func is called; sweeps running at once
// add up, and the last one gives back the setting there was before the first: Go's default
// (which follows the CPU limit) when that is what it was, or the value set.
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
		if procs.extra > 0 {
			runtime.GOMAXPROCS(procs.base + procs.extra)
			return
		}
		if v, err := strconv.Atoi(os.Getenv("GOMAXPROCS")); err != nil || v <= 0 {
			runtime.SetDefaultGOMAXPROCS() // not set in the environment (or not as Go reads it)
		}
		// Set by the program (go test -cpu, a library), or the default moved meanwhile: the
		// value there was.
		if runtime.GOMAXPROCS(0) != procs.base {
			runtime.GOMAXPROCS(procs.base)
		}
	})
}
