package census

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/clawcensus/clawcensus/enrich"
	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/scanner"
)

// executor holds what one run's units share in this process: the plan, the packet engine,
// the fingerprinter and the enrichment databases.
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
	// concurrency is the plan's, within the open-files limit.
	concurrency int
}

func (w *worker) executor(ctx context.Context, run int64) (*executor, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ex != nil && w.ex.run == run {
		w.run = run
		return w.ex, nil
	}
	p, err := w.c.runPlan(ctx, run)
	if err != nil {
		return nil, err
	}
	if err := p.CheckScope(w.cfg.Scope); err != nil {
		return nil, fmt.Errorf("run %d %w: %w", run, ErrRefused, err)
	}
	w.run = run
	w.closeExecutorLocked()
	rate := p.Rate
	if w.cfg.Rate > 0 && w.cfg.Rate < rate {
		rate = w.cfg.Rate
	}
	ex, err := newExecutor(p, rate, w.cfg.ToolVersion, w.cfg.Raw)
	if err != nil {
		return nil, fmt.Errorf("run %d: %w", run, err)
	}
	ex.run = run
	w.ex = ex
	slog.Info("worker joined run", "run", run, "worker", w.cfg.ID, "rate", rate, "method", ex.method())
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

// newExecutor opens what working plan p needs: the sweeper (none for candidates), the
// fingerprinter and the enrichment databases.
func newExecutor(p *Plan, rate int, toolVersion string, raw *scanner.Raw) (*executor, error) {
	// Every worker works exactly what was planned (targets, lists, candidates, databases), or
	// refuses; what it read is kept for the run's every unit.
	if err := p.load(); err != nil {
		return nil, err
	}
	ex := &executor{plan: p, concurrency: concurrency(p.Concurrency)}
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

func (w *worker) closeExecutor() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closeExecutorLocked()
}

func (w *worker) closeExecutorLocked() {
	if w.ex != nil {
		w.ex.close()
		w.ex = nil
	}
}
