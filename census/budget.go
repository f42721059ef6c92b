package census

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/clawcensus/clawcensus/internal/ctxsleep"
	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
)

// One rate budget per census. A plan's rate is the probes per second of the whole run, across
// every worker: the live workers that sweep the run share it, each sending
//
//	share = (rate - what capped workers take) / workers not capped, never more than its own cap
//
// where a worker's cap is its --rate (a worker may only lower its own share; what it leaves
// goes to the others). Every worker derives the shares from the heartbeats in the store
// (store.Worker Sweeping and RateCap) every shareEvery and hands its own to its sweeper
// (scanner.Sweeper.SetRate). The sum stays within the rate as workers come and go:
//
//   - a worker that starts sweeping says so first (a heartbeat), under a lock that orders
//     such starts; when other workers sweep already it waits joinWait, twice their refresh
//     period, so that they have lowered their shares before it sends;
//   - a worker that stops sweeping says so only once its sweep has ended, and sweepGrace
//     later, so that the next unit of a pipelined worker, fetched meanwhile, keeps the share;
//   - a worker that dies keeps its share until its heartbeat's TTL has passed (the others
//     send less meanwhile, never more);
//   - a worker that cannot read the store keeps the share it last had.
//
// A rate below the number of sweeping workers gives each worker 1 probe per second.
const (
	shareEvery = 500 * time.Millisecond
	joinWait   = 2 * shareEvery
	sweepGrace = time.Second
)

// fairShare is the share of rate of a worker whose cap is mine, among workers whose caps are
// caps (it among them; 0: no cap of its own): equal shares, none above its cap, what a capped
// worker leaves shared by the others.
func fairShare(rate int, caps []int, mine int) int {
	capOf := func(c int) int {
		if c <= 0 || c > rate {
			return rate
		}
		return c
	}
	sorted := make([]int, len(caps))
	for i, c := range caps {
		sorted[i] = capOf(c)
	}
	slices.Sort(sorted)
	left, n := rate, len(sorted)
	for _, c := range sorted {
		if c*n >= left {
			break
		}
		left -= c
		n--
	}
	share := left
	if n > 0 {
		share = left / n
	}
	return max(1, min(share, capOf(mine)))
}

// budget is one worker's share of one run's rate, applied to the sweeper of the run's
// executor while the worker sweeps it.
type budget struct {
	run, rate int64
	cap       int // this worker's cap (0: none)
	id        string
	st        store.Store
	sw        *scanner.Sweeper
	// beat writes this worker's heartbeats now (it reads isSweeping); ctx is the budget's life.
	beat func(ctx context.Context)
	ctx  context.Context

	mu        sync.Mutex
	sweeping  bool      // as this worker's heartbeat says
	active    bool      // a sweep is under way
	idleSince time.Time // when the last sweep ended
	share     int
}

// newBudget is this worker's budget of run, whose plan's rate is rate, for sweeper sw; cap is
// the worker's --rate. It follows the run's workers until ctx ends.
func newBudget(ctx context.Context, st store.Store, sw *scanner.Sweeper, run int64, rate, cap int, id string, beat func(context.Context)) *budget {
	if cap < 0 || cap >= rate {
		cap = 0 // it does not lower the plan's rate
	}
	b := &budget{run: run, rate: int64(rate), cap: cap, id: id, st: st, sw: sw, beat: beat, ctx: ctx, share: sw.Rate()}
	go b.follow()
	return b
}

// isSweeping reports what this worker's heartbeat says of it.
func (b *budget) isSweeping() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sweeping
}

// join is called before a sweep: the worker says it sweeps, takes its share, and when other
// workers sweep the run, waits for them to lower theirs.
func (b *budget) join(ctx context.Context) error {
	b.mu.Lock()
	b.active = true
	already := b.sweeping
	b.sweeping = true
	b.mu.Unlock()
	if already {
		return nil // the previous unit's share goes on
	}
	others, err := func() (int, error) {
		unlock, err := b.st.Lock(ctx, fmt.Sprintf("rate budget of run %d", b.run))
		if err != nil {
			return 0, err
		}
		defer unlock()
		b.beat(ctx)
		return b.refresh(ctx)
	}()
	if err != nil {
		slog.Warn("rate budget: the store could not be read; sweeping at the share last known", "run", b.run, "rate", b.sw.Rate(), "err", err)
		others = 1 // unknown: wait as if others swept
	}
	if others == 0 {
		return nil
	}
	return ctxsleep.Sleep(ctx, joinWait)
}

// leave is called once a sweep has ended: the share is given up after sweepGrace, unless
// another sweep begins before.
func (b *budget) leave() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.active, b.idleSince = false, time.Now()
	time.AfterFunc(sweepGrace, b.release)
}

// release gives the share up when no sweep has begun since the last one ended sweepGrace ago.
func (b *budget) release() {
	b.mu.Lock()
	idle := b.sweeping && !b.active && time.Since(b.idleSince) >= sweepGrace
	if idle {
		b.sweeping = false
	}
	b.mu.Unlock()
	if idle && b.ctx.Err() == nil {
		b.beat(b.ctx)
	}
}

// refresh reads the run's workers, hands this worker's share to its sweeper, and returns
// how many other live workers sweep the run. When the store cannot be read the share stays.
func (b *budget) refresh(ctx context.Context) (int, error) {
	ws, err := b.st.Workers(ctx, b.run)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	caps := []int{b.cap}
	for _, w := range ws {
		if w.ID != b.id && w.Sweeping && w.Live(now) {
			caps = append(caps, w.RateCap)
		}
	}
	share := fairShare(int(b.rate), caps, b.cap)
	b.mu.Lock()
	changed := share != b.share
	b.share = share
	b.mu.Unlock()
	if changed {
		if err := b.sw.SetRate(share); err != nil {
			return 0, err
		}
		slog.Debug("rate budget: new share", "run", b.run, "rate", share, "workers", len(caps))
	}
	return len(caps) - 1, nil
}

// follow refreshes the share every shareEvery until the budget's context ends.
func (b *budget) follow() {
	ctx := b.ctx
	t := time.NewTicker(shareEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !b.isSweeping() {
			continue // join reads the shares afresh
		}
		if _, err := b.refresh(ctx); err != nil && ctx.Err() == nil {
			slog.Debug("rate budget: the store could not be read; the share stays", "run", b.run, "rate", b.sw.Rate(), "err", err)
		}
	}
}
