package census

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
)

// WorkerConfig configures one worker process. Zero values mean the documented defaults.
type WorkerConfig struct {
	// ID names the worker in leases and heartbeats; empty means host-pid-random.
	ID string
	// Queue is the queue to lease units from; empty means QueueShared.
	Queue string
	// Run, when set, is the only run this worker works on; it stops once the run has no
	// unit left in its queue (a local scan).
	Run int64
	// Follow keeps a worker waiting for new units instead of stopping when none is left.
	Follow bool
	// Scope, when set, is this worker's own authorized scope: a run whose targets leave it
	// is refused (the plan's scope is checked at send time as well).
	Scope string
	// Rate caps this worker's share of the plan's rate (the plan's rate is shared by all the
	// workers that sweep the run: see budget.go); zero or more than the plan's means no cap.
	Rate int
	// Lease is how long a unit in hand may go without progress (no probe sent, no host
	// fingerprinted, nothing stored) before this worker gives it up, for River to retry; zero
	// means DefaultLease. It must exceed the plan's HTTP timeout: the last hosts of a unit may
	// keep it waiting that long. How long a unit takes depends on the worker's share of the
	// rate, so it has no deadline of its own.
	Lease time.Duration
	// HeartbeatTimeout is how long this worker may go without a heartbeat before its units are
	// handed to other workers (it says so in its heartbeats, and judges by it a worker that
	// never beat on a unit's run); zero means store.HeartbeatTimeout.
	HeartbeatTimeout time.Duration
	// Spool is the directory of the local spool; empty means SpoolDir of the store.
	Spool string
	// TTL is how long this worker's heartbeat keeps it live (it beats every fifth of that): a
	// dead worker's run shows stalled, and can be resumed, that long after its last beat. Zero
	// means store.WorkerTTL.
	TTL time.Duration
	// PollInterval is how often an idle worker asks for units; zero means 1s.
	PollInterval time.Duration
	// ToolVersion and the plan's contact make the User-Agent.
	ToolVersion string
	// Stdin feeds a plan whose candidates come from stdin.
	Stdin io.Reader
	// Emit receives every observation once it is durable (stored, or synced to the spool).
	// It is called from one goroutine at a time.
	Emit func(observation.Observation)
	// Stats, when set, receives the worker's counters.
	Stats *Stats
	// Raw, when set, are raw sockets opened before the process dropped its privileges: SYN
	// sweeps use them (without them a SYN plan needs the privilege to open its own).
	Raw *scanner.Raw

	// onSweeper, when set, is told every sweeper this worker opens (benchmarks count what it
	// sends).
	onSweeper func(*scanner.Sweeper)
}

// Stats are a worker's counters, safe to read while it works.
type Stats struct {
	// Sent counts probes as they go (Retried: those repeating an unanswered probe); Read
	// counts candidate lines read, accepted or skipped.
	// Detected counts the gateways that count (observation.Observation.Counts); Honeypots, the
	// probable honeypots, apart.
	Sent, Retried, Read, Open, Fingerprinted, Detected, Honeypots, UnitsDone, Spooled atomic.Int64
	// Lost counts answers the sweep could not keep (scanner.Stats Lost and Late): the census
	// may have missed as many open ports.
	Lost atomic.Int64
	// AliasDuplicates counts open addresses of an aliased /64 not observed again (aliasCheck).
	AliasDuplicates atomic.Int64
	// outcomes counts fingerprinted observations by outcome (observation.Outcomes order).
	outcomes [8]atomic.Int64
}

func (s *Stats) countOutcome(o observation.Outcome) {
	if i := slices.Index(observation.Outcomes, o); i >= 0 && i < len(s.outcomes) {
		s.outcomes[i].Add(1)
	}
}

// minUniform is how many probed hosts it takes before their all failing alike is news.
const minUniform = 3

// UniformFailure reports whether every host whose HTTP probes ran (not left unprobed, not
// stored as a middlebox) failed in the same way (refused, timeout, tls-error or not-http),
// and at least minUniform did: what a broken probe looks like (a User-Agent net/http refuses,
// a proxy in the way), and what a census must not report as a quiet, complete run.
func (s *Stats) UniformFailure() (observation.Outcome, int64, bool) {
	var probed int64
	for i := range s.outcomes {
		if o := observation.Outcomes[i]; o != observation.Unprobed && o != observation.Middlebox {
			probed += s.outcomes[i].Load()
		}
	}
	for _, o := range []observation.Outcome{observation.NotHTTP, observation.Refused, observation.Timeout, observation.TLSError} {
		if n := s.outcomes[slices.Index(observation.Outcomes, o)].Load(); probed >= minUniform && n == probed {
			return o, n, true
		}
	}
	return "", probed, false
}

// warnUniform says, loudly, that every HTTP probe of the work failed alike (UniformFailure),
// and records it on the run, where its report shows it.
func (c *Census) warnUniform(ctx context.Context, s *Stats, run int64) {
	o, n, ok := s.UniformFailure()
	if !ok {
		return
	}
	slog.Warn("every HTTP probe failed the same way: the run's results say more about the probe than the hosts; "+
		"check --contact, proxies and the path to the targets before trusting it", "run", run, "outcome", string(o), "hosts", n)
	if run != 0 {
		warning := fmt.Sprintf("every HTTP probe failed the same way (%s, %d hosts): the results say more about the probe than the hosts", o, n)
		if err := c.st.SetWarning(ctx, run, warning); err != nil {
			slog.Warn("the run's warning could not be stored", "run", run, "err", err)
		}
	}
}

// DefaultLease is how long a unit may go without progress before its worker gives it up.
const DefaultLease = 20 * time.Minute

// ErrRefused means a worker refused a run: its targets leave the worker's own scope. The run's
// units went back to the queue for other workers, their attempts unspent.
var ErrRefused = errors.New("refused")

// Work leases units and runs them until none is left (or, with Follow, until ctx is done).
// It returns ErrInterrupted (wrapped, with the cause) when ctx ended first; ErrRefused
// (wrapped) when the only units left are of runs outside its scope; another error when a unit
// was discarded after its attempts or the spool failed; nil when the work is done. A worker of
// the shared queue (Run zero) says when it waits and, when it stops, what it did.
func (c *Census) Work(ctx context.Context, cfg WorkerConfig) error {
	if err := CheckText("worker id", cfg.ID, 200); err != nil {
		return err
	}
	if cfg.ID == "" {
		host, _ := os.Hostname()
		var b [4]byte
		rand.Read(b[:])
		cfg.ID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if cfg.Queue == "" {
		cfg.Queue = QueueShared
	}
	if cfg.Lease == 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.TTL == 0 {
		cfg.TTL = store.WorkerTTL
	}
	if cfg.HeartbeatTimeout == 0 {
		cfg.HeartbeatTimeout = store.HeartbeatTimeout
	}
	if cfg.HeartbeatTimeout < 2*cfg.TTL/5 {
		return fmt.Errorf("heartbeat timeout %s: at least two heartbeats (one every %s, a fifth of the heartbeat TTL)", cfg.HeartbeatTimeout, cfg.TTL/5)
	}
	if cfg.Spool == "" {
		var err error
		if cfg.Spool, err = SpoolDir(c.dsn); err != nil {
			return err
		}
	}
	if cfg.Stats == nil {
		cfg.Stats = &Stats{}
	}
	if cfg.Emit == nil {
		cfg.Emit = func(observation.Observation) {}
	}
	// The units in hand emit from their own goroutines; Emit is called from one at a time.
	emit, emitting := cfg.Emit, &sync.Mutex{}
	cfg.Emit = func(o observation.Observation) {
		emitting.Lock()
		defer emitting.Unlock()
		emit(o)
	}
	sp, err := openSpool(cfg.Spool, cfg.ID)
	if err != nil {
		return err
	}
	defer sp.close()
	host, _ := os.Hostname()
	w := &worker{c: c, cfg: cfg, spool: sp, started: time.Now().UTC(), host: host, fail: make(chan error, 1),
		sweep: make(chan struct{}, 1), execs: map[int64]*executor{}, held: map[[2]int64]*heldUnit{},
		refused: map[int64]error{}, released: map[unitArgs]bool{}}
	defer w.closeExecutors()
	// What a dead worker on this machine left in the spool is stored before anything else.
	if err := sp.replayOrphans(ctx, c.st); err != nil {
		slog.Warn("spool: orphaned observations kept for later", "err", err)
	}

	ws, err := c.q.work(ctx, cfg.Queue, leaseConfig{ID: cfg.ID, PollInterval: cfg.PollInterval}, w.unit)
	if err != nil {
		return err
	}
	beatCtx, stopBeat := context.WithCancel(context.WithoutCancel(ctx))
	var beats sync.WaitGroup
	beats.Add(1)
	go func() { defer beats.Done(); w.heartbeats(beatCtx) }()

	workErr := w.wait(ctx, ws)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(cfg.Lease, finishTimeout))
	defer cancel()
	if err := ws.stop(stopCtx); err != nil && workErr == nil {
		workErr = fmt.Errorf("stop worker: %w", err)
	}
	ws.done()
	stopBeat()
	beats.Wait()
	w.beat(stopCtx, true)
	if err := sp.replay(stopCtx, c.st); err != nil {
		slog.Warn("spool: observations kept for the next worker on this machine", "spool", sp.path, "err", err)
	}
	if workErr == nil {
		w.mu.Lock()
		run := cmp.Or(w.run, cfg.Run)
		w.mu.Unlock()
		c.warnUniform(stopCtx, cfg.Stats, run)
	}
	if ctx.Err() != nil {
		workErr = fmt.Errorf("worker %s %w (%v); %d observations kept, units not done go back to the queue", cfg.ID, ErrInterrupted,
			context.Cause(ctx), cfg.Stats.Fingerprinted.Load())
	} else if workErr == nil {
		workErr = w.refusal()
	}
	if cfg.Run == 0 {
		st := cfg.Stats
		slog.Info("worker stopped", "worker", cfg.ID, "units_done", st.UnitsDone.Load(), "probes_sent", st.Sent.Load(),
			"open_ports", st.Open.Load(), "gateways", st.Detected.Load(), "spooled", st.Spooled.Load())
	}
	return workErr
}

// refusal is the error of a worker that stopped with only refused runs' units left, or nil.
func (w *worker) refusal() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var errs []error
	for _, run := range slices.Sorted(maps.Keys(w.refused)) {
		errs = append(errs, w.refused[run])
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: its units wait for a worker whose --scope holds them", errors.Join(errs...))
}

type worker struct {
	c     *Census
	cfg   WorkerConfig
	spool *spool
	// spoolMu orders the units in hand's use of the spool.
	spoolMu sync.Mutex
	started time.Time
	host    string
	fail    chan error
	// sweep is the process's one sweep slot: its units sweep one at a time (one packet engine,
	// one share of the rate), and the next unit's sweep starts as soon as the previous one's
	// has ended, while that unit's last hosts are still being fingerprinted.
	sweep chan struct{}

	mu    sync.Mutex
	execs map[int64]*executor // by run: what the units of a run share here
	held  map[[2]int64]*heldUnit
	run   int64 // the run of the last unit taken
	// refused holds the runs outside this worker's scope (why, ErrRefused), released the
	// units it handed back already: a unit it meets again waits a little for other workers.
	refused  map[int64]error
	released map[unitArgs]bool
	// busy counts the units in hand.
	busy atomic.Int32
	// beating is since when this worker's heartbeats and looks for units to hand over have
	// reached the store without a failure (nil: the last one failed).
	beating atomic.Pointer[time.Time]
}

// heldUnit is a unit in hand: what it has sent and found so far (its heartbeat's progress),
// and what its sweep sent and lost, once it has swept.
type heldUnit struct {
	run, unit  int64
	sent, open atomic.Int64
	swept      scanner.Stats
	// aliasDups counts the unit's open addresses of an aliased /64 not observed again.
	aliasDups atomic.Int64
}

// wait returns when the work is done, ctx is done, or a unit failed for good.
func (w *worker) wait(ctx context.Context, ws *workers) error {
	t := time.NewTicker(max(w.cfg.PollInterval, 200*time.Millisecond))
	defer t.Stop()
	idle, quiet, announced := 0, 0, false
	discarded := ws.discarded
	var nextLook time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-w.fail:
			return err
		case a, ok := <-discarded:
			if !ok {
				discarded = nil // the subscription ended; the loop goes on by polling
				continue
			}
			if w.cfg.Run == 0 || a.Run == w.cfg.Run {
				return fmt.Errorf("unit %d of run %d failed %d times and was given up", a.Unit, a.Run, unitMaxAttempts)
			}
		case <-t.C:
			if time.Now().After(nextLook) {
				nextLook = time.Now().Add(handOverEvery(w.cfg.HeartbeatTimeout))
				var reached time.Duration
				if since := w.beating.Load(); since != nil {
					reached = time.Since(*since)
				}
				_, err := w.c.handOver(ctx, w.cfg.Queue, w.cfg.ID, w.cfg.HeartbeatTimeout, reached)
				w.reached(err)
				if err != nil && ctx.Err() == nil {
					slog.Warn("units of workers that stopped beating could not be handed over", "err", err)
				}
			}
			// Said once per wait: two quiet looks (River fetches at least once between them).
			if quiet++; w.busy.Load() > 0 {
				quiet, announced = 0, false
			} else if quiet >= 2 && !announced && w.cfg.Run == 0 {
				announced = true
				slog.Info("worker waiting for units", "worker", w.cfg.ID, "queue", w.cfg.Queue, "follow", w.cfg.Follow)
			}
			if w.cfg.Follow || w.busy.Load() > 0 {
				idle = 0
				continue
			}
			n, err := w.c.q.unfinished(ctx, w.cfg.Queue, w.cfg.Run, w.isRefused)
			if err != nil {
				slog.Warn("job queue unreachable; working on", "err", err)
				continue
			}
			// Units running elsewhere count: if their worker dies, they are handed over (see
			// handOver). Two quiet looks in a row: River may be between fetching and running a job.
			if n == 0 && w.busy.Load() == 0 {
				idle++
			} else {
				idle = 0
			}
			if idle >= 2 {
				return nil
			}
		}
	}
}

func (w *worker) heartbeats(ctx context.Context) {
	t := time.NewTicker(w.cfg.TTL / 5)
	defer t.Stop()
	for {
		w.beat(ctx, false)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// beat writes this worker's heartbeat on each run it has units of (or works, or last worked
// on): the unit in hand, whether it sweeps the run, and what its units have done so far.
func (w *worker) beat(ctx context.Context, stopped bool) {
	for _, row := range w.rows(stopped) {
		err := w.c.st.Heartbeat(ctx, row)
		w.reached(err)
		if err != nil {
			slog.Debug("heartbeat failed", "err", err)
			return
		}
	}
}

// reached notes whether the store was reached (err nil): beating is the start of the last
// unbroken stretch of reaching it.
func (w *worker) reached(err error) {
	if err != nil {
		w.beating.Store(nil)
		return
	}
	if w.beating.Load() == nil {
		now := time.Now()
		w.beating.CompareAndSwap(nil, &now)
	}
}

func (w *worker) rows(stopped bool) []store.Worker {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now().UTC()
	rows := map[int64]*store.Worker{}
	row := func(run int64) *store.Worker {
		if r, ok := rows[run]; ok {
			return r
		}
		r := &store.Worker{ID: w.cfg.ID, RunID: run, Host: w.host, PID: os.Getpid(), StartedAt: w.started, HeartbeatAt: now,
			Stopped: stopped, Unit: -1, TTL: w.cfg.TTL, Timeout: w.cfg.HeartbeatTimeout, RateCap: w.cfg.Rate}
		if ex := w.execs[run]; ex != nil && ex.budget != nil && !stopped {
			r.Sweeping = ex.budget.isSweeping()
		}
		rows[run] = r
		return r
	}
	if run := cmp.Or(w.run, w.cfg.Run); run != 0 {
		row(run)
	}
	for run := range w.execs {
		row(run)
	}
	for _, h := range w.held {
		r := row(h.run)
		if r.Unit < 0 || h.unit < r.Unit {
			r.Unit = h.unit
		}
		r.Progress = append(r.Progress, store.UnitProgress{Unit: h.unit, ProbesSent: h.sent.Load(), OpenPorts: h.open.Load()})
	}
	out := make([]store.Worker, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b store.Worker) int { return cmp.Compare(a.RunID, b.RunID) })
	return out
}

// unit runs one work unit: sweep its window, fingerprint what answers, keep every result
// durable as it comes (store, or spool while the store is away), and mark the unit done in
// the same transaction as its last batch, after the spool is replayed. A unit that makes no
// progress for the lease is given up (and retried by River).
func (w *worker) unit(ctx context.Context, a unitArgs) error {
	if after, ok := w.releaseRefused(a); ok {
		return released{after}
	}
	if ex, err := w.acquire(ctx, a.Run); errors.Is(err, ErrRefused) && w.cfg.Run == 0 {
		// Refused before a beat names this worker on the run: it never held one of its units.
		w.mu.Lock()
		_, said := w.refused[a.Run] // two units in hand may both meet the refusal: it is said once
		w.refused[a.Run], w.released[a] = err, true
		w.mu.Unlock()
		if !said {
			slog.Warn("run refused: its units go back to the queue for other workers, their attempts unspent", "run", a.Run,
				"worker", w.cfg.ID, "err", err)
		}
		return released{}
	} else if err == nil {
		w.release(ex) // runUnit acquires it again, now that the run is known to be this worker's
	}
	h := &heldUnit{run: a.Run, unit: a.Unit}
	key := [2]int64{a.Run, a.Unit}
	w.busy.Add(1)
	w.mu.Lock()
	w.run, w.held[key] = a.Run, h
	w.mu.Unlock()
	w.beat(ctx, false) // the lease shows at once, not at the next beat
	defer func() {
		w.mu.Lock()
		delete(w.held, key)
		w.mu.Unlock()
		w.busy.Add(-1)
	}()
	uctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	go w.watch(uctx, stop)
	err := w.runUnit(uctx, a, h)
	if cause := context.Cause(uctx); errors.Is(cause, errNoProgress) {
		// What it saw is kept; the unit stays unfinished, for River to retry.
		err = fmt.Errorf("unit %d of run %d: %w", a.Unit, a.Run, cause)
		slog.Warn("unit given up: no progress", "run", a.Run, "unit", a.Unit, "lease", w.cfg.Lease)
	}
	if err != nil && ctx.Err() == nil && w.cfg.Run != 0 {
		// A local scan fails at once: its user is waiting, and River's backoff would hide why.
		w.failWith(fmt.Errorf("unit %d: %w", a.Unit, err))
	}
	return err
}

// errNoProgress ends a unit that made no progress for the lease.
var errNoProgress = errors.New("no progress for the lease (no probe sent, no host fingerprinted, nothing stored)")

// watch ends a unit with errNoProgress once the worker has made no progress for the lease:
// probes sent, candidate lines read, hosts fingerprinted, units done, observations spooled.
func (w *worker) watch(ctx context.Context, stop context.CancelCauseFunc) {
	st := w.cfg.Stats
	progress := func() int64 {
		return st.Sent.Load() + st.Read.Load() + st.Fingerprinted.Load() + st.UnitsDone.Load() + st.Spooled.Load()
	}
	t := time.NewTicker(min(max(w.cfg.Lease/4, 10*time.Millisecond), 30*time.Second))
	defer t.Stop()
	last, since := progress(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if p := progress(); p != last {
				last, since = p, now
			} else if now.Sub(since) >= w.cfg.Lease {
				stop(errNoProgress)
				return
			}
		}
	}
}

// releaseAgain is how long a unit of a refused run waits for other workers when this worker
// meets it again (the first time it goes back at once); within River's scheduler interval, so
// the unit stays available.
const releaseAgain = 3 * time.Second

// releaseRefused reports whether unit a is of a run this worker refused, and how long the unit
// then waits before any worker may take it.
func (w *worker) releaseRefused(a unitArgs) (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.refused[a.Run]; !ok {
		return 0, false
	}
	if w.released[a] {
		return releaseAgain, true
	}
	w.released[a] = true
	return 0, true
}

func (w *worker) isRefused(run int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.refused[run]
	return ok
}

func (w *worker) failWith(err error) {
	select {
	case w.fail <- err:
	default:
	}
}

// decodeArgs reads a job's encoded arguments.
func decodeArgs(b []byte, a *unitArgs) error { return json.Unmarshal(b, a) }

// OwnFiles are the files a worker still writes once it gives up root: the spool directory
// (empty: SpoolDir of dsn; made now when mkdir is set, while root may) and a SQLite store's
// files (dsn as store.Open reads it). Privilege dropping hands them to the unprivileged user.
func OwnFiles(spool, dsn string, mkdir bool) ([]string, error) {
	if spool == "" {
		var err error
		if spool, err = SpoolDir(dsn); err != nil {
			return nil, err
		}
	}
	if mkdir {
		if err := os.MkdirAll(spool, 0o700); err != nil {
			return nil, spoolAccess(spool, err)
		}
	}
	own := []string{spool}
	if db := cmp.Or(dsn, store.DefaultPath); !store.IsPostgres(db) && !strings.HasPrefix(db, "file:") {
		own = append(own, db, db+"-wal", db+"-shm", db+".lock")
	}
	return own, nil
}
