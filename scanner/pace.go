package scanner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/clawcensus/clawcensus/internal/ctxsleep"
)

// Pacing. A sweep's probes are paced evenly at the Sweeper's rate, which may change while it
// sweeps (SetRate): a census shares one rate budget among its workers, and a worker's share
// changes as workers join and leave. The rate is the packet rate of this Sweeper alone; what
// the share is, is decided above.

// SetRate changes the probes per second of this Sweeper, also of a sweep under way: the next
// probe keeps to the new rate (a probe already waiting for its turn keeps its time). The
// connections a CONNECT sweep keeps in flight stay bounded by Config.Rate.
func (s *Sweeper) SetRate(pps int) error {
	if pps < 1 {
		return fmt.Errorf("rate %d: must be positive", pps)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate.Store(int64(pps))
	for _, p := range []*pacer{s.pace, s.between} {
		if p != nil {
			p.setRate(pps)
		}
	}
	return nil
}

// Pace waits for one probe's turn at this Sweeper's rate: a turn of the sweep under way, or
// between sweeps of a timeline of its own. A probe sent beside the sweep (a census's check of
// an aliased /64) so spends the sweep's budget, not a budget of its own.
func (s *Sweeper) Pace(ctx context.Context) error {
	s.mu.Lock()
	p := s.pace
	if p == nil {
		if s.between == nil {
			s.between = newPacer(s.Rate())
		}
		p = s.between
	}
	s.mu.Unlock()
	return p.wait(ctx)
}

// Rate is the probes per second now: Config.Rate, or what SetRate set last.
func (s *Sweeper) Rate() int { return int(s.rate.Load()) }

// pacer schedules probes (SYN and CONNECT) on an absolute timeline: probe n is due at start + (n-base)/rate,
// so oversleeping is made up at once and the average rate is exact from 1 pps to millions. A
// sender later than pacerMaxLag (idle between passes, descheduled) is not made up beyond it:
// budget left unused is not spent later in a burst. A new rate starts a new timeline where the
// old one stands.
type pacer struct {
	mu       sync.Mutex
	start    time.Time // when probe base is due
	base, n  uint64
	interval float64 // nanoseconds per probe
	now      func() time.Time
	// behind: the sweep's senders fell more than pacerMaxLag behind while sending and have
	// not caught up since; lastSweep is when they last took turns.
	behind    bool
	lastSweep time.Time
}

// pacerSlack is how far ahead of its time a probe may be built into a batch: below it the
// sender does not sleep (a sleep costs more than it saves), above it the batch goes and the
// sender sleeps.
const pacerSlack = 200 * time.Microsecond

// pacerMaxLag is how far behind its timeline a sender may catch up at once: a few timer slacks
// and a short descheduling, never seconds of unused budget (2 s between retry passes would
// otherwise leave as one burst).
const pacerMaxLag = 20 * time.Millisecond

func newPacer(pps int) *pacer {
	return &pacer{start: time.Now(), interval: 1e9 / float64(pps), now: time.Now}
}

// due is when probe n is due on the current timeline.
func (p *pacer) due(n uint64) time.Time {
	return p.start.Add(time.Duration(float64(n-p.base) * p.interval))
}

// next counts a probe and returns how long until it is due (negative when late).
func (p *pacer) next() time.Duration {
	_, d, _ := p.take(1, false)
	return d
}

// take counts up to most probes at once, as many as are due within pacerSlack of each other
// (at least one), and returns how many and how long until the first is due. A fast sender so
// reads the clock once per few dozen probes, not once per probe (the clock read was 8% of
// the SYN engine's time in a VM); a slow one still takes one probe at a time.
//
// sweep marks the turns of a sweep's own senders (not probes sent beside it); for them take
// also says whether the sweep is behind: it fell more than pacerMaxLag behind its timeline
// while sending — not when it comes back from idling, between passes — and has not since
// been within pacerBehind of it.
func (p *pacer) take(most int, sweep bool) (n int, wait time.Duration, behind bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	due := p.due(p.n)
	if lag := now.Sub(due); lag > pacerMaxLag {
		if sweep {
			p.behind = now.Sub(p.lastSweep) < pacerMaxLag
		}
		p.start, p.base = now.Add(-pacerMaxLag), p.n
		due = p.start
	} else if sweep && lag < pacerBehind {
		p.behind = false
	}
	if sweep {
		p.lastSweep = now
	}
	n = max(1, min(most, int(float64(pacerSlack)/p.interval)))
	p.n += uint64(n)
	return n, due.Sub(now), p.behind
}

// wait waits for the next probe's turn: errUnpaced, at once, when the turn would come after
// ctx's deadline; ctx's error when ctx ends first.
func (p *pacer) wait(ctx context.Context) error {
	d := p.next()
	if d <= pacerSlack {
		return ctx.Err()
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return errUnpaced
	}
	return ctxsleep.Sleep(ctx, d)
}

// setRate continues the timeline at pps from the next probe's time.
func (p *pacer) setRate(pps int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.start, p.base = p.due(p.n), p.n
	if now.Sub(p.start) > pacerMaxLag {
		p.start = now.Add(-pacerMaxLag)
	}
	p.interval = 1e9 / float64(pps)
}
