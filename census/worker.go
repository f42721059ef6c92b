package census

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clawcensus/clawcensus/enrich"
	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/internal/textsafe"
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
	Sent, Retried, Read, Open, Fingerprinted, Detected, UnitsDone, Spooled atomic.Int64
	// Lost counts answers the sweep could not keep (scanner.Stats Lost and Late): the census
	// may have missed as many open ports.
	Lost atomic.Int64
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
	t := time.NewTicker(store.WorkerTTL / 5)
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
		StartedAt: w.started, HeartbeatAt: time.Now().UTC(), Stopped: stopped, Unit: held})
	if err != nil {
		slog.Debug("heartbeat failed", "err", err)
	}
}

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
	// concurrency is the plan's, within the open-files limit.
	concurrency int
}

func (w *worker) executor(ctx context.Context, run int64) (*executor, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.run = run
	if w.ex != nil && w.ex.run == run {
		return w.ex, nil
	}
	w.closeExecutorLocked()
	r, err := w.c.findRun(ctx, run)
	if err != nil {
		return nil, err
	}
	p, err := ParsePlan(r.Plan)
	if err != nil {
		return nil, fmt.Errorf("run %d: %w", run, err)
	}
	if err := p.CheckScope(w.cfg.Scope); err != nil {
		return nil, fmt.Errorf("run %d: %w", run, err)
	}
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

// newExecutor opens what working plan p needs: the sweeper (none for candidates), the
// fingerprinter and the enrichment databases.
func newExecutor(p *Plan, rate int, toolVersion string, raw *scanner.Raw) (*executor, error) {
	ex := &executor{plan: p, concurrency: concurrency(p.Concurrency)}
	var err error
	if ex.scope, err = scanner.ParseScope(p.Scope); err != nil {
		return nil, err
	}
	if ex.bl, err = p.Blocklist(); err != nil {
		return nil, err
	}
	if !p.candidates() {
		ex.sw, err = scanner.New(scanner.Config{Rate: rate, Method: p.Method, Retries: p.Retries, Timeout: p.Timeout,
			Blocklist: ex.bl, Scope: ex.scope, Raw: raw})
		if err != nil {
			return nil, err
		}
	}
	ex.fp, err = fingerprint.New(fingerprint.Config{Timeout: p.HTTPTimeout, FirstByte: p.FirstByte, ToolVersion: toolVersion,
		Contact: p.Contact, OptIn: p.ActiveProbe, WebSocket: p.WebSocket})
	if err != nil {
		ex.close()
		return nil, err
	}
	ecfg := enrich.Config{}
	for _, s := range []struct {
		src *Source
		dst *string
	}{{p.CountryDB, &ecfg.CountryDB}, {p.ASNDB, &ecfg.ASNDB}} {
		if s.src == nil {
			continue
		}
		if err := s.src.verify(); err != nil {
			ex.close()
			return nil, err
		}
		*s.dst = s.src.Path
	}
	if ex.en, err = enrich.Open(ecfg); err != nil {
		ex.close()
		return nil, err
	}
	return ex, nil
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

func (w *worker) runUnit(ctx context.Context, a unitArgs) error {
	ex, err := w.executor(ctx, a.Run)
	if err != nil {
		return err
	}
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
	var before scanner.Stats
	if ex.sw != nil {
		before = ex.sw.Stats()
		find = ex.sweepUnits([]int64{a.Unit}, w.cfg.Stats)
	}
	// A sink that can keep nothing more (the spool failed) stops the unit: it stays unfinished.
	pctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	sk := &sink{w: w, run: a.Run, failed: stop}
	results := make(chan observation.Observation, 256)
	collected := make(chan error, 1)
	go func() { collected <- sk.collect(context.WithoutCancel(ctx), results) }()
	runErr := errors.Join(ex.pipeline(pctx, find, a.Unit, w.cfg.Stats, results), <-collected)
	if ex.sw != nil {
		after := ex.sw.Stats()
		sk.unit = store.Unit{RunID: a.Run, Unit: a.Unit, ProbesSent: int64(after.Sent - before.Sent),
			OpenPorts: int64(after.Open - before.Open), Stored: sk.count,
			AnswersLost: int64(lostAnswers(after) - lostAnswers(before)), Middleboxes: int64(after.Middleboxes - before.Middleboxes),
			Worker: w.cfg.ID}
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

func (w *worker) failWith(err error) {
	select {
	case w.fail <- err:
	default:
	}
}

// readCandidates feeds the plan's candidates (a file, checked against its hash, or stdin).
func readCandidates(ctx context.Context, ex *executor, stdin io.Reader, read *atomic.Int64, open chan<- scanner.Open) error {
	var r io.Reader
	name := "stdin"
	if ex.plan.Candidates != nil {
		if err := ex.plan.Candidates.verify(); err != nil {
			return err
		}
		f, err := os.Open(ex.plan.Candidates.Path)
		if err != nil {
			return err
		}
		defer f.Close()
		r, name = f, ex.plan.Candidates.Path
	} else if stdin != nil {
		r = stdin
	} else {
		return errors.New("the plan reads candidates from stdin: only the process that planned it can")
	}
	// Reading a pipe cannot be cancelled, so the reader runs on its own and this returns as
	// soon as ctx is done.
	found := make(chan netip.AddrPort)
	done := make(chan error, 1)
	var skips candidateSkips
	seen := newAddrPortSet()
	go func() {
		done <- scanner.ReadCandidates(name, r, ex.bl, ex.scope, ex.plan.Ports[0], func(ap netip.AddrPort) error {
			read.Add(1)
			if !seen.add(ap) {
				skips.dup++ // probed once, counted once
				return nil
			}
			select {
			case found <- ap:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}, func(sk scanner.CandidateSkip) { read.Add(1); skips.add(sk) })
	}()
	accepted := 0
	for {
		select {
		case ap := <-found:
			accepted++
			select {
			case open <- scanner.Open{AddrPort: ap}:
			case <-ctx.Done():
				return ctx.Err()
			}
		case err := <-done:
			skips.summary(name)
			if err == nil && accepted == 0 {
				return fmt.Errorf("%w: every candidate in %s was skipped (%d records skipped, %d about ports that are not open)", scanner.ErrNoTargets, name, skips.n, skips.notOpen)
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// candidateSkips logs the first skipped candidate records with their line numbers, then
// counts; records that only say a port is not open (closed, UDP, banners) are counted apart,
// without a warning each.
type candidateSkips struct{ n, notOpen, dup int }

const candidateSkipsLogged = 10

func (c *candidateSkips) add(s scanner.CandidateSkip) {
	if s.NotOpen {
		c.notOpen++
		return
	}
	c.n++
	if c.n <= candidateSkipsLogged {
		slog.Warn("candidate skipped", "line", s.Line, "text", textsafe.Clean(s.Text, 200), "reason", s.Reason)
	}
}

func (c *candidateSkips) summary(name string) {
	if c.n > 0 {
		slog.Warn("candidates skipped", "file", name, "records", c.n, "logged", min(c.n, candidateSkipsLogged))
	}
	if c.notOpen > 0 {
		slog.Info("records about ports that are not open read past (closed, UDP, banners, repeats)", "file", name, "records", c.notOpen)
	}
	if c.dup > 0 {
		slog.Info("candidates named more than once probed once", "file", name, "repeats", c.dup)
	}
}

// addrPortSet remembers the candidates already passed on: 8 bytes a key for IPv4, so a list
// of millions stays small.
type addrPortSet struct {
	v4 map[uint64]struct{}
	v6 map[netip.AddrPort]struct{}
}

func newAddrPortSet() *addrPortSet {
	return &addrPortSet{v4: map[uint64]struct{}{}, v6: map[netip.AddrPort]struct{}{}}
}

// add reports whether ap is new.
func (s *addrPortSet) add(ap netip.AddrPort) bool {
	if a := ap.Addr(); a.Is4() {
		b := a.As4()
		k := uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 | uint64(b[3])<<16 | uint64(ap.Port())
		if _, ok := s.v4[k]; ok {
			return false
		}
		s.v4[k] = struct{}{}
		return true
	}
	if _, ok := s.v6[ap]; ok {
		return false
	}
	s.v6[ap] = struct{}{}
	return true
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
	if err := s.w.spool.append(s.run, s.batch); err != nil {
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
		err := s.w.spool.replay(ctx, s.w.c.st)
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

// decodeArgs reads a job's encoded arguments.
func decodeArgs(b []byte, a *unitArgs) error { return json.Unmarshal(b, a) }
