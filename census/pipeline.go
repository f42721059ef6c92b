package census

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/scanner"
)

// feed finds open ports and sends them on open until it is done or ctx ends: the sweep of
// some windows of the plan, or the plan's candidates.
type feed func(ctx context.Context, open chan<- scanner.Open) error

// pipeline is the one pipeline of a census unit and of a check; they differ only in where
// results go. feed finds open ports, up to the plan's concurrency are fingerprinted at once,
// and every open port yields exactly one observation on results: fingerprinted; a middlebox
// stored unprobed unless the plan probes middleboxes; unprobed when ctx ended before its turn
// (hosts being fingerprinted finish, each bounded by its HTTP deadline). It closes results, and
// the caller must read them all.
func (ex *executor) pipeline(ctx context.Context, find feed, unit int64, stats *Stats, results chan<- observation.Observation) error {
	defer close(results)
	open := make(chan scanner.Open, 1024)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(open)
		return find(gctx, open)
	})
	g.Go(func() error {
		emit := func(o observation.Observation) {
			o.Unit = unit
			stats.Fingerprinted.Add(1)
			if o.Detected() {
				stats.Detected.Add(1)
			}
			results <- o
		}
		var fg errgroup.Group
		fg.SetLimit(ex.concurrency)
		probeCtx := context.WithoutCancel(gctx)
		for op := range open {
			stats.Open.Add(1)
			if gctx.Err() != nil {
				emit(observation.Observation{IP: op.Addr(), Port: op.Port(), Outcome: observation.Unprobed, ObservedAt: time.Now().UTC()})
				continue
			}
			fg.Go(func() error {
				emit(ex.probe(probeCtx, op))
				return nil
			})
		}
		return fg.Wait()
	})
	return g.Wait()
}

// sweepUnits is the feed of a sweep of plan units, one after another, its probe counts
// following into stats as it goes.
func (ex *executor) sweepUnits(units []int64, stats *Stats) feed {
	return func(ctx context.Context, open chan<- scanner.Open) error {
		stop := followSweep(ex.sw, stats)
		defer stop()
		for _, u := range units {
			win, err := ex.plan.window(u, ex.bl)
			if err != nil {
				return err
			}
			if err := ex.sw.Sweep(ctx, win, open); err != nil {
				return err
			}
		}
		return nil
	}
}

// followSweep copies the sweeper's probe counts into stats every 250 ms, so progress moves
// with the sweep, not unit by unit. The returned func stops it and adds the rest.
func followSweep(sw *scanner.Sweeper, stats *Stats) (stop func()) {
	last := sw.Stats()
	add := func() {
		now := sw.Stats()
		stats.Sent.Add(int64(now.Sent - last.Sent))
		stats.Retried.Add(int64(now.Retried - last.Retried))
		stats.Lost.Add(int64(lostAnswers(now) - lostAnswers(last)))
		last = now
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				add()
				return
			case <-t.C:
				add()
			}
		}
	}()
	return func() { close(quit); <-finished }
}

// lostAnswers is what a sweep could not keep: answers the kernel dropped, SYN-ACKs after its
// wait for late answers.
func lostAnswers(st scanner.Stats) uint64 { return st.Lost + st.Late }

// middleboxEvidence says why an open port was not fingerprinted (or why its result is doubtful).
const middleboxEvidence = "middlebox: the host also completed handshakes on both control ports (it accepts on every port)"

// probe fingerprints one open port and places its address in its network; a middlebox is
// stored as one, unprobed, unless the plan probes middleboxes.
func (ex *executor) probe(ctx context.Context, op scanner.Open) observation.Observation {
	var o observation.Observation
	switch {
	case op.Middlebox && !ex.plan.ProbeMiddleboxes:
		o = observation.Observation{IP: op.Addr(), Port: op.Port(), Outcome: observation.Middlebox,
			Evidence: []string{middleboxEvidence}, ObservedAt: time.Now().UTC()}
	case op.Middlebox:
		o = ex.fp.Fingerprint(ctx, op.AddrPort)
		o.Evidence = append(o.Evidence, middleboxEvidence)
	default:
		o = ex.fp.Fingerprint(ctx, op.AddrPort)
	}
	n := ex.en.Lookup(o.IP)
	o.ASN, o.ASOrg, o.Country = n.ASN, n.ASOrg, n.Country
	return o
}
