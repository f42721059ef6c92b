package census

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// AliasProbes is K: a run without an aliased-prefix list marks a /64 aliased when an open IPv6
// address of it has company: each of K random addresses of the /64, one in each of its
// sixteen /68s, completes a handshake on the same port. Sixteen, one per /68, is how the TUM
// IPv6 Hitlist Service tests a prefix ("Clusters in the Expanse", IMC 2018), so a /64 marked
// here means what it means in their list; a /64 of real hosts holds a handful of them among
// 2^64 addresses, so that even one random address answers is already all but impossible, and
// one per /68 tells a box that answers for the whole /64 from one that answers for part of
// it. The first probe goes alone and the other fifteen only when it connects: a /64 that is
// not aliased costs one probe.
const AliasProbes = 16

// aliasCheck finds the aliased /64s among one unit's open IPv6 addresses (one check per /64
// and port), so that each is observed once: the first open address of it stands for the
// /64, the others of the unit are dropped (counted in Stats.AliasDuplicates), and so are the
// unit's when another unit of the run claimed the /64 first (owns). Its probes go
// only where the plan's scope and blocklist allow, within the worker's share of the run's rate
// (executor.paceAside); one that may not be sent leaves the /64 unmarked.
type aliasCheck struct {
	allowed func(netip.Addr) bool
	timeout time.Duration
	pace    func(context.Context) error
	// owns reports whether the unit observes an aliased /64 (another unit of the run may have
	// claimed it first).
	owns func(ctx context.Context, p netip.Prefix, port uint16) bool
	seed maphash.Seed

	mu     sync.Mutex
	checks map[aliasKey]*aliasVerdict
}

type aliasKey struct {
	net  netip.Prefix
	port uint16
}

type aliasVerdict struct {
	done    chan struct{}
	aliased bool
}

func (ex *executor) newAliasCheck(unit int64) *aliasCheck {
	return &aliasCheck{
		owns: func(ctx context.Context, p netip.Prefix, port uint16) bool {
			return ex.claim == nil || ex.claim(ctx, unit, p, port)
		},
		allowed: func(a netip.Addr) bool {
			_, blocked := ex.bl.Lookup(a)
			return !blocked && ex.scope.Allows(a)
		},
		timeout: ex.plan.Timeout,
		pace:    ex.paceAside,
		seed:    maphash.MakeSeed(),
		checks:  map[aliasKey]*aliasVerdict{},
	}
}

// start returns the verdict on ap's /64 and port, and whether this caller is the first of it
// in the unit: the first runs the check (run), the others wait for its verdict.
func (ac *aliasCheck) start(ap netip.AddrPort) (p64 netip.Prefix, v *aliasVerdict, first bool) {
	p64, _ = ap.Addr().Prefix(64)
	key := aliasKey{p64, ap.Port()}
	ac.mu.Lock()
	defer ac.mu.Unlock()
	if v = ac.checks[key]; v != nil {
		return p64, v, false
	}
	v = &aliasVerdict{done: make(chan struct{})}
	ac.checks[key] = v
	return p64, v, true
}

// run checks ap's /64 and gives v its verdict.
func (ac *aliasCheck) run(ctx context.Context, ap netip.AddrPort, v *aliasVerdict) {
	v.aliased = ac.check(ctx, ap)
	close(v.done)
}

// wait returns the verdict, or false when ctx ends first.
func (v *aliasVerdict) wait(ctx context.Context) bool {
	select {
	case <-v.done:
		return v.aliased
	case <-ctx.Done():
		return false
	}
}

// check probes AliasProbes random addresses of ap's /64 on its port: aliased when all connect.
func (ac *aliasCheck) check(ctx context.Context, ap netip.AddrPort) bool {
	probes := ac.addresses(ap)
	for _, p := range probes {
		if !ac.allowed(p.Addr()) {
			return false
		}
	}
	if !ac.connects(ctx, probes[0]) {
		return false
	}
	g, gctx := errgroup.WithContext(ctx)
	var mu sync.Mutex
	all := true
	for _, p := range probes[1:] {
		g.Go(func() error {
			if !ac.connects(gctx, p) {
				mu.Lock()
				all = false
				mu.Unlock()
			}
			return nil
		})
	}
	g.Wait()
	return all
}

// addresses are one random address in each /68 of ap's /64, never ap's own.
func (ac *aliasCheck) addresses(ap netip.AddrPort) []netip.AddrPort {
	b := ap.Addr().As16()
	out := make([]netip.AddrPort, 0, AliasProbes)
	for i := range AliasProbes {
		low := maphash.Comparable(ac.seed, struct {
			ap netip.AddrPort
			i  int
		}{ap, i})
		low = uint64(i)<<60 | low&(1<<60-1)
		if low == binary.BigEndian.Uint64(b[8:]) {
			low ^= 1
		}
		a := b
		binary.BigEndian.PutUint64(a[8:], low)
		out = append(out, netip.AddrPortFrom(netip.AddrFrom16(a), ap.Port()))
	}
	return out
}

func (ac *aliasCheck) connects(ctx context.Context, ap netip.AddrPort) bool {
	if ac.pace(ctx) != nil {
		return false
	}
	d := net.Dialer{Timeout: ac.timeout}
	conn, err := d.DialContext(ctx, "tcp", ap.String())
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
