package census

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
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
	// Rate lowers the plan's rate for this worker; zero or more than the plan's means the plan's.
	Rate int
	// Lease is how long a unit may take before River hands it to another worker; zero means 20m.
	Lease time.Duration
	// Spool is the directory of the local spool; empty means DefaultSpool.
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

// DefaultLease is how long a unit may take before it is handed to another worker, and
// DefaultSpool the spool directory when none is named.
const (
	DefaultLease = 20 * time.Minute
	DefaultSpool = "clawcensus-spool"
)

// Work leases units and runs them until none is left (or, with Follow, until ctx is done).
// It returns ctx's error when interrupted, an error when a unit was discarded after its
// attempts or the spool failed, nil when the work is done.
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
	if cfg.Spool == "" {
		cfg.Spool = DefaultSpool
	}
	if cfg.Stats == nil {
		cfg.Stats = &Stats{}
	}
	if cfg.Emit == nil {
		cfg.Emit = func(observation.Observation) {}
	}
	sp, err := openSpool(cfg.Spool, cfg.ID)
	if err != nil {
		return err
	}
	defer sp.close()
	w := &worker{c: c, cfg: cfg, spool: sp, started: time.Now().UTC(), fail: make(chan error, 1), held: -1}
	defer w.closeExecutor()
	// What a dead worker on this machine left in the spool is stored before anything else.
	if err := sp.replayOrphans(ctx, c.st); err != nil {
		slog.Warn("spool: orphaned observations kept for later", "err", err)
	}

	ws, err := c.q.work(ctx, cfg.Queue, leaseConfig{ID: cfg.ID, Lease: cfg.Lease, PollInterval: cfg.PollInterval}, w.unit)
	if err != nil {
		return err
	}
	beatCtx, stopBeat := context.WithCancel(context.WithoutCancel(ctx))
	var beats sync.WaitGroup
	beats.Add(1)
	go func() { defer beats.Done(); w.heartbeats(beatCtx) }()

	workErr := w.wait(ctx, ws)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Lease)
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
	return workErr
}

type worker struct {
	c       *Census
	cfg     WorkerConfig
	spool   *spool
	started time.Time
	fail    chan error

	mu   sync.Mutex
	ex   *executor
	run  int64 // the run of the unit in hand, or the last one
	held int64 // the unit in hand, or -1
	// busy is set while a unit runs.
	busy atomic.Bool
}

// wait returns when the work is done, ctx is done, or a unit failed for good.
func (w *worker) wait(ctx context.Context, ws *workers) error {
	t := time.NewTicker(max(w.cfg.PollInterval, 200*time.Millisecond))
	defer t.Stop()
	idle := 0
	discarded := ws.discarded
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
			if w.cfg.Follow || w.busy.Load() {
				idle = 0
				continue
			}
			n, err := w.c.q.unfinished(ctx, w.cfg.Queue, w.cfg.Run)
			if err != nil {
				slog.Warn("job queue unreachable; working on", "err", err)
				continue
			}
			// Units running elsewhere count: if their worker dies, River's rescuer hands them
			// back. Two quiet looks in a row: River may be between fetching and running a job.
			if n == 0 && !w.busy.Load() {
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

func (w *worker) beat(ctx context.Context, stopped bool) {
	w.mu.Lock()
	run, held := w.run, w.held
	w.mu.Unlock()
	if run == 0 {
		run = w.cfg.Run
	}
	if run == 0 {
		return
	}
	host, _ := os.Hostname()
	err := w.c.st.Heartbeat(ctx, store.Worker{ID: w.cfg.ID, RunID: run, Host: host, PID: os.Getpid(),
		StartedAt: w.started, HeartbeatAt: time.Now().UTC(), Stopped: stopped, Unit: held, TTL: w.cfg.TTL})
	if err != nil {
		slog.Debug("heartbeat failed", "err", err)
	}
}

// unit runs one work unit: sweep its window, fingerprint what answers, keep every result
// durable as it comes (store, or spool while the store is away), and mark the unit done in
// the same transaction as its last batch, after the spool is replayed.
func (w *worker) unit(ctx context.Context, a unitArgs) error {
	w.busy.Store(true)
	w.mu.Lock()
	w.run, w.held = a.Run, a.Unit
	w.mu.Unlock()
	w.beat(ctx, false) // the lease shows at once, not at the next beat
	defer func() {
		w.mu.Lock()
		w.held = -1
		w.mu.Unlock()
		w.busy.Store(false)
	}()
	err := w.runUnit(ctx, a)
	if err != nil && ctx.Err() == nil && w.cfg.Run != 0 {
		// A local scan fails at once: its user is waiting, and River's backoff would hide why.
		w.failWith(fmt.Errorf("unit %d: %w", a.Unit, err))
	}
	return err
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
// (empty: DefaultSpool; made now when mkdir is set, while root may) and a SQLite store's files
// (dsn as store.Open reads it). Privilege dropping hands them to the unprivileged user.
func OwnFiles(spool, dsn string, mkdir bool) ([]string, error) {
	spool = cmp.Or(spool, DefaultSpool)
	if mkdir {
		if err := os.MkdirAll(spool, 0o700); err != nil {
			return nil, fmt.Errorf("spool %s: %w", spool, err)
		}
	}
	own := []string{spool}
	if db := cmp.Or(dsn, store.DefaultPath); !store.IsPostgres(db) && !strings.HasPrefix(db, "file:") {
		own = append(own, db, db+"-wal", db+"-shm", db+".lock")
	}
	return own, nil
}
