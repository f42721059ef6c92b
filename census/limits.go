package census

import "log/slog"

// fdReserve is what the process keeps of its descriptors besides the hosts in flight: the
// store, the spool, raw sockets, the HTTP client's idle connections (at most 256).
const fdReserve = 512

// concurrency bounds the hosts fingerprinted at once by the descriptors this process may
// open: each holds a socket, and a dial refused with EMFILE would read as a host that is not
// HTTP, a wrong observation rather than a slow one.
func concurrency(want int) int {
	limit, ok := openFilesLimit()
	if !ok || limit >= uint64(want)+fdReserve {
		return want
	}
	n := max(1, int(limit)-fdReserve)
	slog.Warn("fewer hosts fingerprinted at once than asked: the open-files limit is low (raise ulimit -n)",
		"asked", want, "using", n, "nofile", limit)
	return n
}
