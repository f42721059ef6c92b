package census

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
)

// feed finds open ports and sends them on open until it is done or ctx ends: the sweep of
// some windows of the plan, or the plan's candidates.
type feed func(ctx context.Context, open chan<- scanner.Open) error

// pipeline is the one pipeline of a census unit and of a check; they differ only in where
// results go. feed finds open ports, up to the plan's concurrency are fingerprinted at once
// (across all the units of the executor in hand), and every open port yields exactly one
// observation on results: fingerprinted; a middlebox stored unprobed unless the plan probes
// middleboxes; unprobed when ctx ended before its turn; except that in a unit an aliased /64
// yields one for all its open addresses (aliasCheck). With keep (a unit: what it saw is
// stored) hosts being fingerprinted when ctx ends finish, each bounded by its HTTP deadline;
// without (a check) they stop at once. h, when set, counts the unit's open ports. It closes
// results, and the caller must read them all.
func (ex *executor) pipeline(ctx context.Context, find feed, unit int64, keep bool, stats *Stats, h *heldUnit, results chan<- observation.Observation) error {
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
			stats.countOutcome(o.Outcome)
			switch {
			case o.Counts():
				stats.Detected.Add(1)
			case o.ProbableHoneypot():
				stats.Honeypots.Add(1)
			}
			results <- o
		}
		var fg errgroup.Group
		probeCtx := gctx
		var ac *aliasCheck
		if keep {
			probeCtx = context.WithoutCancel(gctx)
			ac = ex.newAliasCheck(unit)
		}
		unprobed := func(op scanner.Open) {
			emit(observation.Observation{IP: op.Addr(), Port: op.Port(), Outcome: observation.Unprobed, ObservedAt: time.Now().UTC()})
		}
		for op := range open {
			stats.Open.Add(1)
			if h != nil {
				h.open.Add(1)
			}
			if gctx.Err() != nil {
				unprobed(op)
				continue
			}
			if ex.sw != nil {
				yieldToSweep(gctx, ex.sw.Behind, func() int { return len(ex.probing) }, sweepYieldFloor(cap(ex.probing)))
			}
			select {
			case ex.probing <- struct{}{}:
			case <-gctx.Done():
				unprobed(op)
				continue
			}
			fg.Go(func() error {
				defer func() { <-ex.probing }()
				if o, ok := ex.probe(probeCtx, op, ac); ok {
					emit(o)
				} else {
					stats.AliasDuplicates.Add(1)
					if h != nil {
						h.aliasDups.Add(1)
					}
				}
				return nil
			})
		}
		return fg.Wait()
	})
	return g.Wait()
}

// yieldToSweep holds the next host's fingerprinting while the sweep is behind its schedule
// and at least floor hosts are being fingerprinted: on a machine whose cores the sender
// fills (an unlimited or too high rate), the HTTP stage then takes no more than floor hosts'
// worth of CPU from it, and the hosts found wait in the sweep's buffer (in memory, a few
// dozen bytes a host, never dropped), not in the sender's way. A sweep that keeps its rate
// is never held back, nor is fingerprinting ever stopped: floor hosts go on at any time.
func yieldToSweep(ctx context.Context, behind func() bool, inFlight func() int, floor int) {
	for behind() && inFlight() >= floor && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
}

// sweepYieldFloor is how many hosts are fingerprinted at once, at least, while the sweep is
// behind: 8 (or the concurrency, when lower), a few cores' worth of parsing.
func sweepYieldFloor(concurrency int) int { return min(8, concurrency) }

// sweepUnits is the feed of a sweep of plan units, one after another, its probe counts
// following into stats as it goes (a check).
func (ex *executor) sweepUnits(units []int64, stats *Stats) feed {
	return func(ctx context.Context, open chan<- scanner.Open) error {
		stop := followSweep(ex.sw, stats, nil)
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

// sweepUnit is the feed of unit u's sweep in a worker: it waits for the worker's sweep slot,
// takes its share of the run's rate, and sweeps, its probe counts following into the worker's
// stats and the unit's progress (h) as it goes; h.swept gets what the sweep sent and lost.
func (w *worker) sweepUnit(ex *executor, u int64, h *heldUnit) feed {
	return func(ctx context.Context, open chan<- scanner.Open) error {
		win, err := ex.plan.window(u, ex.bl)
		if err != nil {
			return err
		}
		select {
		case w.sweep <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-w.sweep }()
		if err := ex.budget.join(ctx); err != nil {
			return err
		}
		defer ex.budget.leave()
		before := ex.sw.Stats()
		stop := followSweep(ex.sw, w.cfg.Stats, h)
		err = ex.sw.Sweep(ctx, win, open)
		stop()
		after := ex.sw.Stats()
		h.swept = scanner.Stats{Sent: after.Sent - before.Sent, Open: after.Open - before.Open,
			Lost: lostAnswers(after) - lostAnswers(before), Middleboxes: after.Middleboxes - before.Middleboxes}
		return err
	}
}

// followSweep copies the sweeper's probe counts into stats (and a unit's progress, h, when
// set) every 250 ms, so progress moves with the sweep, not unit by unit. The returned func
// stops it and adds the rest.
func followSweep(sw *scanner.Sweeper, stats *Stats, h *heldUnit) (stop func()) {
	last := sw.Stats()
	add := func() {
		now := sw.Stats()
		if h != nil {
			h.sent.Add(int64(now.Sent - last.Sent))
		}
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
// stored as one, unprobed, unless the plan probes middleboxes. An address in one of the
// plan's aliased prefixes is marked with it; without a list, ac (nil: no check) checks an
// IPv6 address's /64 while the address is fingerprinted, and a later open address of an
// aliased /64 is not observed again (ok false).
func (ex *executor) probe(ctx context.Context, op scanner.Open, ac *aliasCheck) (o observation.Observation, ok bool) {
	if p, in := ex.aliased.Lookup(op.Addr()); in {
		defer func() { o.Aliased = p.String() }()
	} else if ac != nil && op.Addr().Is6() {
		p64, v, first := ac.start(op.AddrPort)
		if !first && v.wait(ctx) {
			return o, false
		}
		if first {
			go ac.run(ctx, op.AddrPort, v)
			defer func() {
				if v.wait(ctx) {
					o.Aliased = p64.String()
					ok = ok && ac.owns(ctx, p64, op.Port())
				}
			}()
		}
	}
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
	return o, true
}

// runUnit runs one unit through the pipeline and keeps what it sees (see sink).
func (w *worker) runUnit(ctx context.Context, a unitArgs, h *heldUnit) error {
	ex, err := w.acquire(ctx, a.Run)
	if err != nil {
		return err
	}
	defer w.release(ex)
	done, err := w.c.st.DoneUnits(ctx, a.Run)
	if err != nil {
		return err
	}
	if _, found := slices.BinarySearch(done, a.Unit); found {
		return nil // a rescued or requeued lease of a unit finished meanwhile
	}
	find := func(ctx context.Context, open chan<- scanner.Open) error {
		return readCandidates(ctx, ex, w.cfg.Stdin, &w.cfg.Stats.Read, open)
	}
	if ex.sw != nil {
		find = w.sweepUnit(ex, a.Unit, h)
	}
	// A sink that can keep nothing more (the spool failed) stops the unit: it stays unfinished.
	pctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	sk := &sink{w: w, run: a.Run, failed: stop}
	results := make(chan observation.Observation, 256)
	collected := make(chan error, 1)
	go func() { collected <- sk.collect(context.WithoutCancel(ctx), results) }()
	runErr := errors.Join(ex.pipeline(pctx, find, a.Unit, true, w.cfg.Stats, h, results), <-collected)
	if ex.sw != nil {
		sk.unit = store.Unit{RunID: a.Run, Unit: a.Unit, ProbesSent: int64(h.swept.Sent), OpenPorts: int64(h.swept.Open) - h.aliasDups.Load(),
			Stored: sk.count, AnswersLost: int64(h.swept.Lost), Middleboxes: int64(h.swept.Middleboxes), Worker: w.cfg.ID}
	} else {
		sk.unit = store.Unit{RunID: a.Run, Unit: a.Unit, OpenPorts: sk.count, Stored: sk.count, Worker: w.cfg.ID}
	}
	if runErr != nil {
		// Interrupted or failed: what was seen is kept (stored or spooled); the unit stays
		// unfinished, to be run again by whoever leases it next.
		if err := sk.flush(context.WithoutCancel(ctx)); err != nil {
			w.failWith(err)
			return errors.Join(runErr, err)
		}
		return runErr
	}
	if err := sk.complete(ctx); err != nil {
		return err
	}
	w.cfg.Stats.UnitsDone.Add(1)
	return nil
}

// sink batches a unit's observations and keeps each batch durable: in the store, or, while
// the store is away, synced to the spool. Observations are emitted once durable.
type sink struct {
	w     *worker
	run   int64
	unit  store.Unit
	batch []observation.Observation
	count int64
	// spooled is set once a batch went to the spool: later batches follow it there, and the unit
	// completes only after the spool is replayed.
	spooled bool
	// failed stops the unit's pipeline.
	failed context.CancelCauseFunc
}

const (
	batchSize  = 2000
	batchEvery = time.Second
)

func (s *sink) collect(ctx context.Context, results <-chan observation.Observation) error {
	tick := time.NewTicker(batchEvery)
	defer tick.Stop()
	for {
		select {
		case o, ok := <-results:
			if !ok {
				return nil // the last batch is the unit's: complete writes it
			}
			s.count++
			s.batch = append(s.batch, o)
			if len(s.batch) >= batchSize {
				if err := s.flush(ctx); err != nil {
					return s.fail(err, results)
				}
			}
		case <-tick.C:
			if err := s.flush(ctx); err != nil {
				return s.fail(err, results)
			}
		}
	}
}

// fail stops the unit's pipeline when its observations can be kept nowhere, and reads what
// the pipeline still sends until it ends: the unit stays unfinished, to be run again.
func (s *sink) fail(err error, results <-chan observation.Observation) error {
	s.w.failWith(err)
	s.failed(err)
	for range results {
	}
	return err
}

// flush makes the batch durable: stored, or synced to the spool when the store fails.
func (s *sink) flush(ctx context.Context) error {
	if len(s.batch) == 0 {
		return nil
	}
	if s.spooled {
		// Keep the order: once spooling, spool until the replay at the unit's end.
		return s.toSpool()
	}
	if err := s.w.c.st.AddObservations(ctx, s.run, s.batch); err != nil {
		slog.Warn("store unavailable: spooling observations", "run", s.run, "err", err)
		s.spooled = true
		return s.toSpool()
	}
	s.emit()
	return nil
}

func (s *sink) toSpool() error {
	s.w.spoolMu.Lock()
	err := s.w.spool.append(s.run, s.batch)
	s.w.spoolMu.Unlock()
	if err != nil {
		return fmt.Errorf("spool %s: %w (observations of run %d could be kept nowhere)", s.w.spool.path, err, s.run)
	}
	s.w.cfg.Stats.Spooled.Add(int64(len(s.batch)))
	s.emit()
	return nil
}

func (s *sink) emit() {
	for _, o := range s.batch {
		s.w.cfg.Emit(o)
	}
	s.batch = s.batch[:0]
}

// complete replays the spool and commits the last batch with the unit's done mark, retrying
// while the store is away, until ctx is done (then the last batch goes to the spool).
func (s *sink) complete(ctx context.Context) error {
	backoff := 250 * time.Millisecond
	for {
		s.w.spoolMu.Lock()
		err := s.w.spool.replay(ctx, s.w.c.st)
		s.w.spoolMu.Unlock()
		if err == nil {
			s.unit.DoneAt = time.Now().UTC()
			if _, err = s.w.c.st.CompleteUnit(ctx, s.unit, s.batch); err == nil {
				s.emit()
				return nil
			}
		}
		slog.Warn("store unavailable: unit waits to complete", "run", s.run, "unit", s.unit.Unit, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			if err := s.toSpool(); err != nil {
				s.w.failWith(err)
				return err
			}
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
