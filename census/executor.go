package census

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"

	xrate "golang.org/x/time/rate"

	"github.com/clawcensus/clawcensus/enrich"
	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/scanner"
)

// executor holds what one run's units share in this process: the plan, the packet engine,
// the fingerprinter and the enrichment databases, the one bound on hosts fingerprinted at
// once, and the worker's share of the run's rate.
type executor struct {
	run   int64
	plan  *Plan
	bl    *scanner.Blocklist
	sw    *scanner.Sweeper
	fp    *fingerprint.Fingerprinter
	en    *enrich.Enricher
	scope scanner.Scope
	// aliased are the plan's aliased prefixes (nil without a list).
	aliased *scanner.Aliased
	// paceAside gives a probe sent beside the sweep (an aliased /64's check) its turn within the
	// worker's share of the rate: the sweeper's pacer, or without a sweep (candidates) a
	// limiter at the worker's rate.
	paceAside func(context.Context) error
	// claim gives an aliased /64 the run found itself to one unit of the run (store
	// ClaimAliased), reporting whether it is unit's; nil (a check) keeps every one.
	claim func(ctx context.Context, unit int64, p netip.Prefix, port uint16) bool
	// concurrency is the plan's, within the open-files limit; probing holds a slot each, for
	// every unit of the run in hand here.
	concurrency int
	probing     chan struct{}
	// budget is this worker's share of the run's rate (a sweep's executor in a worker);
	// stopBudget ends its refreshing. users counts the units in hand that use the executor.
	budget     *budget
	stopBudget context.CancelFunc
	users      int
}

// acquire returns the executor of run, opened for the first of its units in hand; release it
// when the unit is done. The executors of other runs that no unit uses any more are closed.
func (w *worker) acquire(ctx context.Context, run int64) (*executor, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ex := w.execs[run]; ex != nil {
		ex.users++
		return ex, nil
	}
	for r, ex := range w.execs {
		if ex.users == 0 {
			ex.close()
			delete(w.execs, r)
			w.c.forgetPlan(r)
		}
	}
	p, err := w.c.runPlan(ctx, run)
	if err != nil {
		return nil, err
	}
	if err := p.CheckScope(w.cfg.Scope); err != nil {
		w.c.forgetPlan(run)
		return nil, fmt.Errorf("run %d %w: %w", run, ErrRefused, err)
	}
	rate := p.Rate
	if w.cfg.Rate > 0 && w.cfg.Rate < rate {
		rate = w.cfg.Rate
	}
	ex, err := newExecutor(p, rate, w.cfg.ToolVersion, w.cfg.Raw)
	if err != nil {
		return nil, fmt.Errorf("run %d: %w", run, err)
	}
	ex.run, ex.users = run, 1
	ex.claim = func(ctx context.Context, unit int64, p netip.Prefix, port uint16) bool {
		holder, err := w.c.st.ClaimAliased(ctx, run, unit, p.String(), port)
		if err != nil { // the store away: observed here, and perhaps by another unit too
			slog.Debug("aliased prefix not claimed", "prefix", p, "port", port, "err", err)
			return true
		}
		return holder == unit
	}
	if ex.sw != nil {
		if w.cfg.onSweeper != nil {
			w.cfg.onSweeper(ex.sw)
		}
		var bctx context.Context
		bctx, ex.stopBudget = context.WithCancel(context.WithoutCancel(ctx))
		ex.budget = newBudget(bctx, w.c.st, ex.sw, run, p.Rate, w.cfg.Rate, w.cfg.ID, func(ctx context.Context) { w.beat(ctx, false) })
	}
	w.execs[run] = ex
	slog.Info("worker joined run", "run", run, "worker", w.cfg.ID, "rate", p.Rate, "rate_cap", rate, "method", ex.method())
	return ex, nil
}

// runPlan is run's stored plan as this process read it the first time, its files checked and
// kept (Plan.load): a worker reads them once per run, however many units it works.
func (c *Census) runPlan(ctx context.Context, run int64) (*Plan, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.plans[run]; ok {
		return p, nil
	}
	r, err := c.findRun(ctx, run)
	if err != nil {
		return nil, err
	}
	p, err := ParsePlan(r.Plan)
	if err == nil {
		err = p.load()
	}
	if err != nil {
		return nil, fmt.Errorf("run %d: %w", run, err)
	}
	if c.plans == nil {
		c.plans = map[int64]*Plan{}
	}
	c.plans[run] = p
	return p, nil
}

// forgetPlan drops run's plan as this process read it when no unit of the run is in hand
// here any more: a worker that follows many runs keeps none it left behind. The copies of its
// files close with the last executor that holds the plan (os.File's finalizer), never under one.
func (c *Census) forgetPlan(run int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.plans, run)
}

func (w *worker) release(ex *executor) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ex.users--
}

// newExecutor opens what working plan p needs: the sweeper (none for candidates), the
// fingerprinter and the enrichment databases.
func newExecutor(p *Plan, rate int, toolVersion string, raw *scanner.Raw) (*executor, error) {
	// Every worker works exactly what was planned (targets, lists, candidates, databases), or
	// refuses; what it read is kept for the run's every unit.
	if err := p.load(); err != nil {
		return nil, err
	}
	ex := &executor{plan: p, concurrency: concurrency(p.Concurrency)}
	ex.probing = make(chan struct{}, ex.concurrency)
	var err error
	if ex.scope, err = scanner.ParseScope(p.Scope); err != nil {
		return nil, err
	}
	if ex.bl, err = p.Blocklist(); err != nil {
		return nil, err
	}
	if ex.aliased, err = p.AliasedSet(); err != nil {
		return nil, err
	}
	if !p.candidates() {
		ex.sw, err = scanner.New(scanner.Config{Rate: rate, Method: p.Method, Retries: p.Retries, Timeout: p.Timeout,
			Blocklist: ex.bl, Scope: ex.scope, Raw: raw})
		if err != nil {
			return nil, err
		}
		ex.paceAside = ex.sw.Pace
	} else {
		ex.paceAside = xrate.NewLimiter(xrate.Limit(rate), 1).Wait
	}
	rules, err := p.Rules()
	if err != nil {
		ex.close()
		return nil, err
	}
	ex.fp, err = fingerprint.New(fingerprint.Config{Rules: rules, Timeout: p.HTTPTimeout, FirstByte: p.FirstByte, ToolVersion: toolVersion,
		Contact: p.Contact, OptIn: p.ActiveProbe, WebSocket: p.WebSocket})
	if err != nil {
		ex.close()
		return nil, err
	}
	if err := ex.openEnricher(); err != nil {
		ex.close()
		return nil, err
	}
	return ex, nil
}

// openEnricher opens the plan's enrichment databases, each checked against its recorded hash.
func (ex *executor) openEnricher() error {
	ecfg := enrich.Config{}
	for _, s := range []struct {
		src *Source
		dst *string
	}{{ex.plan.CountryDB, &ecfg.CountryDB}, {ex.plan.ASNDB, &ecfg.ASNDB}} {
		if s.src != nil {
			*s.dst = s.src.Path // verified with the plan's other files (newExecutor, NewPlan)
		}
	}
	var err error
	ex.en, err = enrich.Open(ecfg)
	return err
}

func (ex *executor) method() string {
	if ex.sw == nil {
		return "candidates"
	}
	return ex.sw.Method()
}

func (ex *executor) close() {
	if ex.stopBudget != nil {
		ex.stopBudget()
	}
	if ex.sw != nil {
		ex.sw.Close()
	}
	if ex.fp != nil {
		ex.fp.Close()
	}
	if ex.en != nil {
		ex.en.Close()
	}
}

func (w *worker) closeExecutors() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for r, ex := range w.execs {
		ex.close()
		delete(w.execs, r)
	}
}
