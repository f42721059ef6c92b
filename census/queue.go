package census

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/clawcensus/clawcensus/store"
)

// Work units are River jobs: River leases them to workers (a running job is a lease) and
// retries a unit that failed. A unit whose worker stopped beating is handed to another worker
// by the live workers (failover.go: River's JobCancel and a new job for the unit, in one
// transaction); River's rescuer is only a backstop (rescueBackstop). The same code runs on
// Postgres (riverpgxv5) and on the embedded SQLite store (riversqlite), so both backends
// behave alike.

// unitArgs is one work unit as a job. Handovers counts how often the unit was handed over
// from a worker that stopped beating.
type unitArgs struct {
	Run       int64 `json:"run"`
	Unit      int64 `json:"unit"`
	Handovers int   `json:"handovers,omitempty"`
}

func (unitArgs) Kind() string { return "census_unit" }

// QueueShared is where planned units wait for any worker; a local scan's units wait in a
// queue of their own (localQueue), so that the scan works only its own run.
const QueueShared = "census"

// LocalQueue is the queue of one process's own units of a run (scan, scan --resume).
func LocalQueue(run int64, shard uint64) string { return fmt.Sprintf("run_%d_shard_%d", run, shard) }

// Shared names QueueShared for Start: the units wait for workers anywhere (plan).
func Shared(int64) string { return QueueShared }

// Local names shard's local queue of a run for Start: the units wait for this process (scan).
func Local(shard uint64) func(run int64) string {
	return func(run int64) string { return LocalQueue(run, shard) }
}

func runTag(run int64) string { return fmt.Sprintf("run-%d", run) }

// unitMaxAttempts bounds how often a unit is tried before it is discarded and its run fails,
// and how often it is handed over from a worker that stopped beating.
const unitMaxAttempts = 10

// unitsInHand is how many units a worker holds at once: one sweeping, one finishing.
const unitsInHand = 2

// queue is the job engine as census uses it; River's generic client hides behind it.
type queue interface {
	// enqueue inserts one job per unit into queueName.
	enqueue(ctx context.Context, run int64, units []int64, queueName string) error
	// work leases units from queueName, maxWorkers at a time, until stop is called.
	work(ctx context.Context, queueName string, cfg leaseConfig, fn func(ctx context.Context, a unitArgs) error) (*workers, error)
	// retire cancels or deletes the run's jobs that are not finished, so that a resume can
	// enqueue its unfinished units afresh. A unit run twice changes nothing (see store).
	retire(ctx context.Context, run int64) error
	// enqueueTx is enqueue within tx, a transaction of the store's (see store.Store's Handle).
	enqueueTx(ctx context.Context, tx any, run int64, units []int64, queueName string) error
	// unfinished counts the jobs in queueName (of run, when not zero) that wait for a worker
	// or run; a running job whose cancellation was asked (a retired one) does not count, nor
	// does a job of a run skip names (nil: none).
	unfinished(ctx context.Context, queueName string, run int64, skip func(run int64) bool) (int, error)
	// running lists the running jobs of queueName whose cancellation was not asked.
	running(ctx context.Context, queueName string) ([]heldJob, error)
	// handOver cancels a running job and enqueues its unit afresh (Handovers one more), in one
	// transaction.
	handOver(ctx context.Context, j heldJob) error
}

// released is what a unit's work returns to hand the unit back to the queue without spending
// one of its attempts (River: JobSnooze), for another worker to take at once or, when after is
// set, once after has passed.
type released struct{ after time.Duration }

func (r released) Error() string { return fmt.Sprintf("unit released for %s", r.after) }

// heldJob is a running unit job: who holds it (its worker's id) and since when.
type heldJob struct {
	ID          int64
	Queue       string
	Args        unitArgs
	Holder      string
	AttemptedAt time.Time
}

// rescueBackstop is when River's rescuer takes a running unit from a worker whatever its
// heartbeat: only a unit no live worker handed over (failover.go) is left so long.
const rescueBackstop = 24 * time.Hour

// leaseConfig is how a worker leases units.
type leaseConfig struct {
	ID string
	// PollInterval is how often an idle worker asks for units.
	PollInterval time.Duration
}

// workers is a running River client; stop waits for the unit in hand (or cancels it).
type workers struct {
	stop      func(ctx context.Context) error
	discarded <-chan unitArgs
	done      func()
}

type riverQueue[TTx any] struct {
	driver riverdriver.Driver[TTx]
	// producer inserts and manages jobs; it works no queue.
	producer *river.Client[TTx]
	// inTx runs fn in a transaction of the database's, committed when fn returns nil.
	inTx func(ctx context.Context, fn func(TTx) error) error
}

// openQueue opens the job queue on the store's own database handle (store.Store's Handle):
// one connection pool for both, and a run's units can be enqueued in the transaction that
// stores the run.
func openQueue(ctx context.Context, handle any) (queue, error) {
	switch db := handle.(type) {
	case *pgxpool.Pool:
		inTx := func(ctx context.Context, fn func(pgx.Tx) error) error { return pgx.BeginFunc(ctx, db, fn) }
		return newRiverQueue(ctx, riverpgxv5.New(db), inTx, func(ctx context.Context, m *rivermigrate.Migrator[pgx.Tx]) error {
			// River's migrations cannot share one transaction (a new enum value is used by the
			// next), so they are serialised across processes by a session advisory lock.
			conn, err := db.Acquire(ctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(1919510130)`); err != nil {
				return err
			}
			defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(1919510130)`)
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
			return err
		})
	case *sql.DB:
		inTx := func(ctx context.Context, fn func(*sql.Tx) error) error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if err := fn(tx); err != nil {
				return err
			}
			return tx.Commit()
		}
		return newRiverQueue(ctx, riversqlite.New(db), inTx, func(ctx context.Context, m *rivermigrate.Migrator[*sql.Tx]) error {
			tx, err := db.BeginTx(ctx, nil) // immediate: holds the write lock against other migrators
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if _, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil); err != nil {
				return err
			}
			return tx.Commit()
		})
	}
	return nil, fmt.Errorf("job queue: a store handle of type %T", handle)
}

func newRiverQueue[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], inTx func(context.Context, func(TTx) error) error,
	migrate func(context.Context, *rivermigrate.Migrator[TTx]) error) (*riverQueue[TTx], error) {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: quietLogger()})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	if err := migrate(ctx, m); err != nil {
		return nil, fmt.Errorf("%w: migrate job queue: %v", store.ErrUnavailable, store.Redact(err.Error()))
	}
	producer, err := river.NewClient(driver, &river.Config{Logger: quietLogger()})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return &riverQueue[TTx]{driver: driver, producer: producer, inTx: inTx}, nil
}

// quietLogger passes River's warnings and errors on (a database gone shows there), not its
// routine messages.
func quietLogger() *slog.Logger {
	return slog.New(warnOnly{slog.Default().Handler()}).With("component", "river")
}

type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}
func (h warnOnly) WithAttrs(a []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(a)} }
func (h warnOnly) WithGroup(g string) slog.Handler      { return warnOnly{h.Handler.WithGroup(g)} }

func (q *riverQueue[TTx]) enqueue(ctx context.Context, run int64, units []int64, queueName string) error {
	return q.insert(ctx, run, units, queueName, func(params []river.InsertManyParams) error {
		_, err := q.producer.InsertManyFast(ctx, params)
		return err
	})
}

func (q *riverQueue[TTx]) enqueueTx(ctx context.Context, tx any, run int64, units []int64, queueName string) error {
	t, ok := tx.(TTx)
	if !ok {
		return fmt.Errorf("enqueue units of run %d: a transaction of type %T", run, tx)
	}
	return q.insert(ctx, run, units, queueName, func(params []river.InsertManyParams) error {
		_, err := q.producer.InsertManyFastTx(ctx, t, params)
		return err
	})
}

// insert inserts one job per unit, a thousand at a time.
func (q *riverQueue[TTx]) insert(ctx context.Context, run int64, units []int64, queueName string, insert func([]river.InsertManyParams) error) error {
	const batch = 1000
	for len(units) > 0 {
		n := min(batch, len(units))
		params := make([]river.InsertManyParams, n)
		for i, u := range units[:n] {
			params[i] = unitJob(unitArgs{Run: run, Unit: u}, queueName)
		}
		if err := insert(params); err != nil {
			return fmt.Errorf("enqueue units of run %d: %w", run, err)
		}
		units = units[n:]
	}
	return nil
}

// unitJob is the job of unit a in queueName.
func unitJob(a unitArgs, queueName string) river.InsertManyParams {
	return river.InsertManyParams{Args: a, InsertOpts: &river.InsertOpts{Queue: queueName, Tags: []string{runTag(a.Run)},
		MaxAttempts: unitMaxAttempts}}
}

var unfinished = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateScheduled, rivertype.JobStateRunning}

func (q *riverQueue[TTx]) each(ctx context.Context, run int64, fn func(*rivertype.JobRow) error) error {
	params := river.NewJobListParams().Kinds(unitArgs{}.Kind()).TagsAny(runTag(run)).States(unfinished...).First(1000)
	for {
		res, err := q.producer.JobList(ctx, params)
		if err != nil {
			return fmt.Errorf("list units of run %d: %w", run, err)
		}
		for _, j := range res.Jobs {
			if err := fn(j); err != nil {
				return err
			}
		}
		if len(res.Jobs) < 1000 {
			return nil
		}
		params = params.After(res.LastCursor)
	}
}

func (q *riverQueue[TTx]) unfinished(ctx context.Context, queueName string, run int64, skip func(int64) bool) (int, error) {
	params := river.NewJobListParams().Kinds(unitArgs{}.Kind()).Queues(queueName).States(unfinished...).First(1000)
	if run != 0 {
		params = params.TagsAny(runTag(run))
	}
	n := 0
	for {
		res, err := q.producer.JobList(ctx, params)
		if err != nil {
			return 0, err
		}
		for _, j := range res.Jobs {
			var a unitArgs
			if j.State == rivertype.JobStateRunning && cancelAsked(j) ||
				skip != nil && decodeArgs(j.EncodedArgs, &a) == nil && skip(a.Run) {
				continue
			}
			n++
		}
		// Whether any unit is left is what matters: more pages only past skipped ones.
		if n > 0 || len(res.Jobs) < 1000 {
			return n, nil
		}
		params = params.After(res.LastCursor)
	}
}

// cancelAsked reports whether a job's cancellation was asked (JobCancel of a running job).
func cancelAsked(j *rivertype.JobRow) bool {
	return strings.Contains(string(j.Metadata), "cancel_attempted_at")
}

func (q *riverQueue[TTx]) running(ctx context.Context, queueName string) ([]heldJob, error) {
	params := river.NewJobListParams().Kinds(unitArgs{}.Kind()).Queues(queueName).States(rivertype.JobStateRunning).First(1000)
	var out []heldJob
	for {
		res, err := q.producer.JobList(ctx, params)
		if err != nil {
			return nil, fmt.Errorf("list running units: %w", err)
		}
		for _, j := range res.Jobs {
			var a unitArgs
			if cancelAsked(j) || decodeArgs(j.EncodedArgs, &a) != nil {
				continue
			}
			h := heldJob{ID: j.ID, Queue: j.Queue, Args: a}
			if n := len(j.AttemptedBy); n > 0 {
				h.Holder = j.AttemptedBy[n-1]
			}
			if j.AttemptedAt != nil {
				h.AttemptedAt = *j.AttemptedAt
			}
			out = append(out, h)
		}
		if len(res.Jobs) < 1000 {
			return out, nil
		}
		params = params.After(res.LastCursor)
	}
}

func (q *riverQueue[TTx]) handOver(ctx context.Context, j heldJob) error {
	a := j.Args
	a.Handovers++
	err := q.inTx(ctx, func(tx TTx) error {
		if _, err := q.producer.JobCancelTx(ctx, tx, j.ID); err != nil {
			return err
		}
		_, err := q.producer.InsertManyFastTx(ctx, tx, []river.InsertManyParams{unitJob(a, j.Queue)})
		return err
	})
	if err != nil {
		return fmt.Errorf("hand over unit %d of run %d (job %d): %w", a.Unit, a.Run, j.ID, err)
	}
	return nil
}

func (q *riverQueue[TTx]) retire(ctx context.Context, run int64) error {
	var ids []int64
	if err := q.each(ctx, run, func(j *rivertype.JobRow) error { ids = append(ids, j.ID); return nil }); err != nil {
		return err
	}
	for _, id := range ids {
		// A running job (its worker is gone: resume checked) cannot be deleted; cancelling
		// it makes River's rescuer end it instead of retrying it.
		if _, err := q.producer.JobCancel(ctx, id); err != nil && !errors.Is(err, river.ErrNotFound) {
			return fmt.Errorf("retire unit job %d: %w", id, err)
		}
	}
	return nil
}

func (q *riverQueue[TTx]) work(ctx context.Context, queueName string, cfg leaseConfig, fn func(context.Context, unitArgs) error) (*workers, error) {
	ws := river.NewWorkers()
	river.AddWorker(ws, river.WorkFunc(func(ctx context.Context, job *river.Job[unitArgs]) error {
		err := fn(ctx, job.Args)
		if r, ok := err.(released); ok {
			return river.JobSnooze(r.after) // back to the queue, the attempt not counted
		}
		return err
	}))
	poll := cfg.PollInterval
	if poll == 0 {
		poll = time.Second
	}
	client, err := river.NewClient(q.driver, &river.Config{
		ID:     cfg.ID,
		Logger: quietLogger(),
		// Two units in hand per process: one sweeps (a process has one packet engine and one
		// share of the rate: the units take the sweep slot in turn), the other's last hosts are
		// fingerprinted meanwhile, or it waits for the slot.
		Queues:  map[string]river.QueueConfig{queueName: {MaxWorkers: unitsInHand}},
		Workers: ws,
		// No deadline from River: how long a unit takes depends on the worker's share of the
		// rate. The worker gives up a unit that makes no progress for the lease (worker.go), and
		// a dead worker's unit is handed over by heartbeat (failover.go).
		JobTimeout:           -1,
		RescueStuckJobsAfter: rescueBackstop,
		FetchPollInterval:    poll,
		FetchCooldown:        min(poll, 100*time.Millisecond),
		MaxAttempts:          unitMaxAttempts,
		// Waiting for a fetch is polling on both backends: no LISTEN connection to lose.
		PollOnly: true,
	})
	if err != nil {
		return nil, fmt.Errorf("job queue worker: %w", err)
	}
	events, cancelSub := client.Subscribe(river.EventKindJobFailed)
	discarded := make(chan unitArgs, 16)
	go func() {
		defer close(discarded)
		for ev := range events {
			if ev.Job.State != rivertype.JobStateDiscarded {
				continue
			}
			var a unitArgs
			if err := decodeArgs(ev.Job.EncodedArgs, &a); err == nil {
				select {
				case discarded <- a:
				default:
				}
			}
		}
	}()
	if err := client.Start(ctx); err != nil {
		cancelSub()
		return nil, fmt.Errorf("start job queue worker: %w", err)
	}
	// Stopping cancels the unit in hand: it keeps what it saw and stays unfinished.
	return &workers{stop: client.StopAndCancel, discarded: discarded, done: cancelSub}, nil
}
