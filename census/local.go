package census

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
)

// ScanConfig is a run worked here and now, in this process (scan, scan --resume): its units wait
// in a queue of their own, and how the run ended here is recorded when the process stops.
type ScanConfig struct {
	// Plan and Info make a new run (Shard: one part of it, joining the run of the other parts).
	Plan  *Plan
	Info  RunInfo
	Shard *uint64
	// Resume, instead, continues this unfinished run with its stored plan: Scope, when set, must
	// hold its targets, and Rate may lower its rate (more is refused).
	Resume int64
	Scope  string
	Rate   int
	// MaxRuntime stops the run after so long (it is then interrupted); zero means no limit.
	MaxRuntime time.Duration
	// Worker works the units (its Queue and Run are set here).
	Worker WorkerConfig
	// Progress, when set, reports the run's progress while it works; Metrics, when set, serves
	// its counters for Prometheus until it ends.
	Progress *Progress
	Metrics  net.Listener
	// Started, when set, is told the run, its plan and its units once they are enqueued, before
	// anything is sent: it opens what needs privilege (the SYN engine's raw sockets, which Scan
	// then uses and the caller closes) and gives privilege up. Its error fails the run.
	Started func(run int64, p *Plan, units []int64) (*scanner.Raw, error)
}

// ErrInterrupted means a run stopped before its units were done (a signal, MaxRuntime, the
// caller's cancellation): what it observed is kept, and it can be resumed.
var ErrInterrupted = errors.New("interrupted")

// finishTimeout bounds recording how a run ended once its context is done.
const finishTimeout = 30 * time.Second

// ErrMaxRuntime is the cause of an interruption by ScanConfig.MaxRuntime.
var ErrMaxRuntime = errors.New("--max-runtime reached")

// Scan starts (or resumes) a run and works its units here. It returns the run's id and nil when
// every unit is done; ErrInterrupted (wrapped, with the cause) when ctx ended first; another
// error when the run failed (scanner.ErrNoTargets, wrapped, when the sweep had nothing to probe).
func (c *Census) Scan(ctx context.Context, cfg *ScanConfig) (int64, error) {
	var (
		run   int64
		p     = cfg.Plan
		units []int64
		shard uint64
	)
	if cfg.Shard != nil {
		shard = *cfg.Shard
	}
	if cfg.Resume != 0 {
		var err error
		run = cfg.Resume
		if p, units, err = c.Resume(ctx, ResumeConfig{Run: run, Scope: cfg.Scope, Rate: cfg.Rate, Queue: LocalQueue(run, 0)}); err != nil {
			return run, err
		}
	} else {
		info := cfg.Info
		if info.Method == "" {
			info.Method = p.ResolvedMethod() // this process sweeps
		}
		r, todo, err := c.Start(ctx, p, info, cfg.Shard, Local(shard))
		if err != nil {
			return 0, err
		}
		run, units = r.ID, todo
	}
	if cfg.MaxRuntime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, cfg.MaxRuntime, ErrMaxRuntime)
		defer cancel()
	}
	slog.Info("scan started", "run", run, "units", len(units), "probes", p.ProbesOf(units), "ports", PortList(p.Ports),
		"rate", p.Rate, "seed", p.Seed, "shard", fmt.Sprintf("%d/%d", shard, p.Shards), "method", p.ResolvedMethod())
	w := cfg.Worker
	if w.Stats == nil {
		w.Stats = &Stats{}
	}
	if cfg.Started != nil {
		raw, err := cfg.Started(run, p, units)
		if err != nil {
			finishCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
			defer cancel()
			return run, errors.Join(err, c.Finish(finishCtx, run, store.StatusFailed))
		}
		w.Raw = raw
	}
	w.Queue, w.Run = LocalQueue(run, shard), run
	if cfg.Resume != 0 {
		w.Queue = LocalQueue(run, 0)
	}
	if w.Rate == 0 || w.Rate > p.Rate {
		w.Rate = p.Rate
	}
	// Progress and metrics follow the work, and end with it: the totals line comes before
	// anything is said of how the run ended.
	followCtx, stopFollowing := context.WithCancel(ctx)
	var following sync.WaitGroup
	if cfg.Progress != nil {
		cfg.Progress.begin(p.ProbesOf(units), p.candidates(), w.Stats)
		following.Add(1)
		go func() { defer following.Done(); cfg.Progress.run(followCtx) }()
	}
	if cfg.Metrics != nil {
		serveMetrics(followCtx, cfg.Metrics, w.Stats, run)
	}
	workErr := c.Work(ctx, w)
	stopFollowing()
	following.Wait()
	if cfg.Progress != nil {
		cfg.Progress.final()
	}

	finishCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	switch {
	case workErr == nil:
		if r, err := c.findRun(finishCtx, run); err == nil {
			slog.Info("scan finished", "run", run, "status", r.Status, "units_done", r.UnitsDone, "units_total", r.UnitsTotal,
				"probes_sent", w.Stats.Sent.Load(), "open", w.Stats.Open.Load(), "detected", w.Stats.Detected.Load(), "probable_honeypots", w.Stats.Honeypots.Load())
		}
		return run, nil
	case ctx.Err() != nil:
		if err := c.Finish(finishCtx, run, store.StatusInterrupted); err != nil {
			return run, errors.Join(workErr, err)
		}
		return run, fmt.Errorf("run %d %w (%v); %d observations kept", run, ErrInterrupted, context.Cause(ctx), w.Stats.Fingerprinted.Load())
	default:
		if err := c.Finish(finishCtx, run, store.StatusFailed); err != nil {
			return run, errors.Join(workErr, err)
		}
		return run, fmt.Errorf("run %d failed: %w", run, workErr)
	}
}

// ResumeConfig is an unfinished run handed back to workers: its unfinished units go into Queue
// (QueueShared when empty).
type ResumeConfig struct {
	Run int64
	// Scope, when set, must hold the run's stored targets; Rate, when set, lowers the stored
	// plan's rate (more is refused).
	Scope string
	Rate  int
	Queue string
}

// ErrNotResumable wraps the reasons a run cannot be resumed as asked: complete, held by live
// workers, planned from stdin, a file changed, outside the scope, a higher rate.
var ErrNotResumable = errors.New("cannot be resumed")

// Resume checks that run cfg.Run can be resumed as asked, retires its unfinished jobs and
// enqueues its unfinished units afresh. It returns the stored plan (with the rate asked for)
// and the units enqueued.
func (c *Census) Resume(ctx context.Context, cfg ResumeConfig) (*Plan, []int64, error) {
	p, todo, err := c.resumable(ctx, cfg.Run)
	if err != nil {
		return nil, nil, err
	}
	if err := p.CheckScope(cfg.Scope); err != nil {
		return nil, nil, fmt.Errorf("run %d %w: %w", cfg.Run, ErrNotResumable, err)
	}
	if cfg.Rate > p.Rate {
		return nil, nil, fmt.Errorf("run %d %w at --rate %d: a resume may only lower the run's rate (%d/s)", cfg.Run, ErrNotResumable, cfg.Rate, p.Rate)
	}
	if cfg.Rate > 0 {
		p.Rate = cfg.Rate
	}
	if cfg.Queue == "" {
		cfg.Queue = QueueShared
	}
	if err := c.q.retire(ctx, cfg.Run); err != nil {
		return nil, nil, err
	}
	if err := c.st.SetStatus(ctx, cfg.Run, store.StatusRunning, nil); err != nil {
		return nil, nil, err
	}
	if err := c.q.enqueue(ctx, cfg.Run, todo, cfg.Queue); err != nil {
		return nil, nil, err
	}
	slog.Info("resuming", "run", cfg.Run, "units_left", len(todo), "rate", p.Rate, "method", p.ResolvedMethod())
	return p, todo, nil
}

// ResolvedMethod is the sweep method this process would use for the plan: candidates, syn or
// connect (auto is syn where this process may open raw sockets).
//
// Finding out opens a raw socket, so the answer is kept.
func (p *Plan) ResolvedMethod() string {
	if p.method != "" {
		return p.method
	}
	switch {
	case p.candidates():
		p.method = "candidates"
	case p.Method != scanner.MethodAuto:
		p.method = p.Method
	default:
		p.method = scanner.MethodConnect
		if ok, _ := scanner.SYNAvailable(); ok {
			p.method = scanner.MethodSYN
		}
	}
	return p.method
}

// ProbesOf is how many first-pass probes units cover.
func (p *Plan) ProbesOf(units []int64) uint64 {
	var n uint64
	for _, u := range units {
		n += p.UnitProbes(u)
	}
	return n
}
