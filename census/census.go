// Package census runs the census: one stored plan, cut into work units, executed by any number
// of worker processes that may fail. It owns the plan and its defaults (plan.go), a run worked
// here and a run resumed (local.go), the units and their leases on River, on the store's own
// database handle (queue.go), the worker loop: leases and heartbeats (worker.go), the one rate
// budget the workers of a run share (budget.go), the handover of a dead worker's units
// (failover.go), what a run's units share in one process (executor.go), the one pipeline
// sweep (or candidates.go) → fingerprint → store of units and checks (pipeline.go), and the
// spool that keeps observations while the database is away (spool.go).
//
// It imports the stages (scanner, fingerprint, enrich, store) and maps one stage's values to
// the next; only cmd imports it. Observations reach the caller through WorkerConfig.Emit once
// they are durable; the only text it writes is a run's progress and its dry run, to the writer
// the caller names, and its metrics on the listener the caller opened.
package census

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/clawcensus/clawcensus/store"
)

// Census is the census machinery on one store.
type Census struct {
	st store.Store
	q  queue
	// dsn names the store as Open was given it: a worker's default spool lives beside it.
	dsn string
	// plans are the runs' plans as this process read them (runPlan).
	mu    sync.Mutex
	plans map[int64]*Plan
}

// Open opens the store named by dsn (see store.Open: the one place a DSN is read, "" being
// its default file) and the job queue on the same database handle.
func Open(ctx context.Context, dsn string) (*Census, error) {
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	q, err := openQueue(ctx, st.Handle())
	if err != nil {
		st.Close()
		return nil, err
	}
	return &Census{st: st, q: q, dsn: dsn}, nil
}

// Store is the census's store, for reports.
func (c *Census) Store() store.Store { return c.st }

// Close closes the store and with it the queue.
func (c *Census) Close() error { return c.st.Close() }

// RunInfo describes a run beyond its plan: what the report shows about it.
type RunInfo struct {
	ToolVersion string
	// Authorization is the run's authorization record, or @FILE to read it from (see
	// ReadAuthorization): read when the run is stored, so a recurring plan takes the file's
	// text of the day.
	Authorization string
	// Targets is the human-readable target description.
	Targets string
	// Method is the sweep method as resolved; empty means the plan's (Scan: as this process
	// resolves it).
	Method string
	// Enrichment names the enrichment data sets; Start fills it from the plan.
	Enrichment string
	// Series names the run's series (plan/scan --series, see CheckSeriesName); empty means the
	// plan's SeriesKey.
	Series string
}

// DescribeTargets is the run's targets as a person reads them: the target specs, or the
// candidates file, at most 1,000 bytes.
func DescribeTargets(specs []string, candidates string) string {
	if candidates != "" {
		return "candidates:" + candidates
	}
	s := strings.Join(specs, " ")
	if len(s) > 1000 {
		s = strings.ToValidUTF8(s[:1000], "") + "…"
	}
	return s
}

// ErrLive means workers hold the run's units now.
var ErrLive = errors.New("live workers hold its units")

// Start stores p as a new run and enqueues its units into queueName (QueueShared for workers
// anywhere, or a LocalQueue) in the same transaction; or, when shard is given and a run of the
// same plan (its other shards) is not complete, joins that run and enqueues the shard's units
// that are not done. It returns the run and the units it enqueued.
func (c *Census) Start(ctx context.Context, p *Plan, info RunInfo, shard *uint64, queueName func(run int64) string) (*store.Run, []int64, error) {
	// The authorization record is stored with the run and shown in every report.
	auth, err := ReadAuthorization(info.Authorization)
	if err != nil {
		return nil, nil, err
	}
	info.Authorization = auth
	key := p.Key()
	if shard != nil {
		if *shard >= p.Shards {
			return nil, nil, fmt.Errorf("shard %d of %d: no such shard", *shard, p.Shards)
		}
		// Shards started at once must find one another's run: one at a time.
		unlock, err := c.st.Lock(ctx, "plan "+key)
		if err != nil {
			return nil, nil, err
		}
		defer unlock()
		runs, err := c.st.Runs(ctx)
		if err != nil {
			return nil, nil, err
		}
		// The newest run of this plan that still lacks some of this shard's units.
		for i := len(runs) - 1; i >= 0; i-- {
			r := runs[i]
			if r.PlanKey != key || r.Status == store.StatusComplete || r.Status == store.StatusFailed {
				continue
			}
			todo, err := c.todo(ctx, r.ID, p.ShardUnits(*shard))
			if err != nil {
				return nil, nil, err
			}
			if len(todo) == 0 {
				continue
			}
			run := r.Run
			if err := c.st.SetStatus(ctx, run.ID, store.StatusRunning, nil); err != nil {
				return nil, nil, err
			}
			if err := c.q.enqueue(ctx, run.ID, todo, queueName(run.ID)); err != nil {
				return nil, nil, err
			}
			return &run, todo, nil
		}
	}
	if info.Method == "" {
		info.Method = p.Method // the workers decide
	}
	info.Enrichment = p.enrichment // named when the plan was made here
	if info.Enrichment == "" && (p.CountryDB != nil || p.ASNDB != nil) {
		// The report names the data sets (and their dates) that gave ASN and country.
		ex := &executor{plan: p}
		if err := ex.openEnricher(); err != nil {
			return nil, nil, err
		}
		info.Enrichment = ex.en.Sources()
		ex.en.Close()
	}
	rules, err := p.Rules()
	if err != nil {
		return nil, nil, err
	}
	knowledge, err := json.Marshal(rules.Knowledge)
	if err != nil {
		return nil, nil, err
	}
	run := &store.Run{Knowledge: string(knowledge), StartedAt: time.Now().UTC(), Targets: info.Targets, TargetCount: int64(p.Addresses),
		Ports: PortList(p.Ports), Rate: p.Rate, Seed: p.Seed, Shard: fmt.Sprintf("%d parts", p.Shards),
		ToolVersion: info.ToolVersion, Method: info.Method, Plan: p.Marshal(), PlanKey: key,
		UnitsTotal: p.UnitsTotal(), Note: info.Authorization, Enrichment: info.Enrichment, Series: info.Series}
	if run.Series == "" {
		run.Series = p.SeriesKey()
	} else if err := CheckSeriesName(run.Series); err != nil {
		return nil, nil, err
	}
	if p.Shards == 1 {
		run.Shard = "0/1"
	}
	units := p.AllUnits()
	if shard != nil {
		units = p.ShardUnits(*shard)
	}
	err = c.st.StartRunWith(ctx, run, func(tx any) error {
		return c.q.enqueueTx(ctx, tx, run.ID, units, queueName(run.ID))
	})
	if err != nil {
		return nil, nil, err
	}
	return run, units, nil
}

// todo is units less the run's done units.
func (c *Census) todo(ctx context.Context, run int64, units []int64) ([]int64, error) {
	done, err := c.st.DoneUnits(ctx, run)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(slices.Clone(units), func(u int64) bool {
		_, found := slices.BinarySearch(done, u)
		return found
	}), nil
}

// resumable loads a run for resuming: its plan, checked against the files it was planned
// with, and its unfinished units. It refuses a complete run and one that live workers hold.
func (c *Census) resumable(ctx context.Context, id int64) (*Plan, []int64, error) {
	r, err := c.findRun(ctx, id)
	if errors.Is(err, store.ErrNoRun) {
		return nil, nil, fmt.Errorf("%w: %w", ErrNotResumable, err)
	}
	if err != nil {
		return nil, nil, err
	}
	if r.Status == store.StatusComplete {
		return nil, nil, fmt.Errorf("run %d %w: it is complete, nothing to resume", id, ErrNotResumable)
	}
	workers, err := c.st.Workers(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	for _, w := range workers {
		if w.Holds(now) {
			return nil, nil, fmt.Errorf("run %d %w: %w (worker %s, pid %d on %s, unit %d); stop them first, or wait %s after they die",
				id, ErrNotResumable, ErrLive, w.ID, w.PID, w.Host, w.Unit, w.Lifetime())
		}
	}
	p, err := ParsePlan(r.Plan)
	if err != nil {
		return nil, nil, fmt.Errorf("run %d %w: %w", id, ErrNotResumable, err)
	}
	if p.CandidatesStdin || r.UnitsTotal == 0 {
		return nil, nil, fmt.Errorf("run %d %w: its input came from stdin, which cannot be read again", id, ErrNotResumable)
	}
	if err := p.Verify(); err != nil {
		return nil, nil, fmt.Errorf("run %d %w: %w", id, ErrNotResumable, err)
	}
	todo, err := c.todo(ctx, id, p.AllUnits())
	if err != nil {
		return nil, nil, err
	}
	return p, todo, nil
}

// Finish records how a run ended when the process that owns it stops: interrupted or failed.
// A run whose units are all done is already complete and stays so.
func (c *Census) Finish(ctx context.Context, run int64, status string) error {
	r, err := c.findRun(ctx, run)
	if err != nil {
		return err
	}
	if r.Status == store.StatusComplete {
		return nil
	}
	now := time.Now().UTC()
	return c.st.SetStatus(ctx, run, status, &now)
}

// findRun returns run id as the store lists it (with its derived status).
func (c *Census) findRun(ctx context.Context, id int64) (store.Summary, error) {
	runs, err := c.st.Runs(ctx)
	if err != nil {
		return store.Summary{}, err
	}
	i := slices.IndexFunc(runs, func(s store.Summary) bool { return s.ID == id })
	if i < 0 {
		return store.Summary{}, fmt.Errorf("run %d: %w", id, store.ErrNoRun)
	}
	return runs[i], nil
}

// PortList writes ports as the run records and prints them: a run of three or more
// consecutive ports as a range, "1-1024,8443,18789-18791" (--ports 1-65535 is "1-65535", not
// 382 KB of numbers).
func PortList(ports []uint16) string {
	var b []byte
	for i := 0; i < len(ports); {
		j := i
		for j+1 < len(ports) && uint32(ports[j+1]) == uint32(ports[j])+1 {
			j++
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		if j-i < 2 { // two in a row print as two
			j = i
		}
		if b = fmt.Append(b, ports[i]); j > i {
			b = fmt.Appendf(b, "-%d", ports[j])
		}
		i = j + 1
	}
	return string(b)
}
