package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/clawcensus/clawcensus/observation"
)

// Postgres is the store for scale, through pgx.
type Postgres struct {
	pool *pgxpool.Pool
	// staged holds the connections (*pgx.Conn) that have their staging table.
	staged sync.Map
}

func openPostgres(ctx context.Context, dsn string, readOnly bool) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: postgres URL %s: %v", ErrUnavailable, Redact(dsn), Redact(err.Error()))
	}
	// The job queue shares this pool (census): leave it room beside the store's writers unless
	// the URL says how many (pool_max_conns).
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, 10)
	}
	p := &Postgres{}
	cfg.BeforeClose = func(c *pgx.Conn) { p.staged.Delete(c) }
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: postgres %s: %v", ErrUnavailable, Redact(dsn), Redact(err.Error()))
	}
	p.pool = pool
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%w: postgres %s: %v", ErrUnavailable, Redact(dsn), Redact(err.Error()))
	}
	if readOnly {
		err = p.checkSchema(ctx)
	} else {
		err = p.migrate(ctx)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return p, nil
}

// Backend implements Store.
func (p *Postgres) Backend() string { return "postgres" }

// Close implements Store.
func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}

// checkSchema refuses a store this version cannot read as it is.
func (p *Postgres) checkSchema(ctx context.Context) error {
	ms, err := loadMigrations("postgres")
	if err != nil {
		return err
	}
	var current int
	if err := p.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("%w: not a clawcensus store (%v)", ErrUnavailable, err)
	}
	return checkSchema(current, len(ms), true)
}

// migrationLock is the advisory lock key that serialises migrations across processes.
const migrationLock = 0x636c6177 // "claw"

func (p *Postgres) migrate(ctx context.Context) error {
	ms, err := loadMigrations("postgres")
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return fmt.Errorf("migrate postgres: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("migrate postgres: %w", err)
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("migrate postgres: %w", err)
		}
		if err := checkSchema(current, len(ms), false); err != nil {
			return err
		}
		for _, m := range ms {
			if m.version <= current {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migrate postgres %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return fmt.Errorf("migrate postgres %s: %w", m.name, err)
			}
		}
		return nil
	})
}

// StartRun implements Store.
func (p *Postgres) StartRun(ctx context.Context, r *Run) error { return p.StartRunWith(ctx, r, nil) }

// StartRunWith implements Store; within gets the pgx.Tx.
func (p *Postgres) StartRunWith(ctx context.Context, r *Run, within func(tx any) error) error {
	r.Series = r.SeriesID()
	var id int64
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO runs
			(started_at, targets, target_count, ports, rate, seed, shard, tool_version, method, status, note, plan, enrichment,
			 plan_key, units_total, knowledge, series)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
			r.StartedAt, r.Targets, r.TargetCount, r.Ports, r.Rate, r.Seed, r.Shard, r.ToolVersion, r.Method, StatusRunning, r.Note, r.Plan,
			r.Enrichment, r.PlanKey, r.UnitsTotal, r.Knowledge, r.Series,
		).Scan(&id)
		if err != nil {
			return fmt.Errorf("start run: %w", err)
		}
		if within == nil {
			return nil
		}
		r.ID = id
		defer func() { r.ID = 0 }()
		return within(tx)
	})
	if err != nil {
		return err
	}
	r.ID, r.Status = id, StatusRunning
	return nil
}

// SetKnowledge implements Store.
func (p *Postgres) SetKnowledge(ctx context.Context, runID int64, knowledge string) error {
	return p.setRunText(ctx, runID, "knowledge", knowledge)
}

// SetWarning implements Store.
func (p *Postgres) SetWarning(ctx context.Context, runID int64, warning string) error {
	return p.setRunText(ctx, runID, "warning", warning)
}

// setRunText sets one text column of a run (column is one of this file's names, never input).
func (p *Postgres) setRunText(ctx context.Context, runID int64, column, value string) error {
	tag, err := p.pool.Exec(ctx, `UPDATE runs SET `+column+` = $1 WHERE id = $2`, value, runID)
	if err != nil {
		return fmt.Errorf("set %s of run %d: %w", column, runID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("run %d: %w", runID, ErrNoRun)
	}
	return nil
}

// Handle implements Store: the *pgxpool.Pool.
func (p *Postgres) Handle() any { return p.pool }

// AddObservations implements Store: COPY into a per-connection staging table, then one upsert.
func (p *Postgres) AddObservations(ctx context.Context, runID int64, obs []observation.Observation) error {
	return p.write(ctx, func(tx pgx.Tx) error {
		return p.upsert(ctx, tx, runID, obs)
	})
}

// write runs fn in a transaction on a connection of the pool. A transaction that fails takes
// with it the staging table it may have made (upsert), so its connection makes it again: once
// marked as made while rolled back, every later write on that connection failed (42P01).
func (p *Postgres) write(ctx context.Context, fn func(pgx.Tx) error) error {
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if err := pgx.BeginFunc(ctx, conn, fn); err != nil {
		p.staged.Delete(conn.Conn())
		return err
	}
	return nil
}

func (p *Postgres) upsert(ctx context.Context, tx pgx.Tx, runID int64, obs []observation.Observation) error {
	obs = dedupe(obs)
	if len(obs) == 0 {
		return nil
	}
	known := obs
	// One host:port belongs to one unit: writers of the same rows (a unit's worker, a dead
	// worker's spool replayed, a second lease of the unit) meet first on the unit's lock, taken
	// in unit order, so their row locks can never wait on each other in a cycle (see CompleteUnit).
	units := batchUnits(obs)
	slices.Sort(units)
	for _, u := range units {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(format('clawcensus unit %s/%s', $1::bigint, $2::bigint), 0))`,
			runID, u); err != nil {
			return fmt.Errorf("add observations: %w", err)
		}
	}
	// The staging table lives as long as its connection; it is made once per connection.
	if _, made := p.staged.Load(tx.Conn()); !made {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS observations_in
			(LIKE observations INCLUDING DEFAULTS EXCLUDING IDENTITY) ON COMMIT DELETE ROWS`); err != nil {
			return fmt.Errorf("add observations: %w", err)
		}
		p.staged.Store(tx.Conn(), true)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"observations_in"}, obsColumns, copyRows(runID, known)); err != nil {
		return fmt.Errorf("add observations: %w", err)
	}
	// The batch holds one row per host:port (dedupe); it keeps its order through the staging
	// table's ids, drawn from the observations' own sequence.
	cols := strings.Join(obsColumns, ", ")
	_, err := tx.Exec(ctx, `INSERT INTO observations (`+cols+`)
		SELECT `+cols+` FROM observations_in ORDER BY id
		`+upsertSet(false))
	if err != nil {
		return fmt.Errorf("add observations: %w", err)
	}
	// A late write to a finished unit (a dead worker's spool, replayed) keeps its counts exact.
	rows, _ := tx.Query(ctx, `SELECT unit FROM units WHERE run_id = $1 AND unit = ANY($2)`, runID, units)
	done, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("add observations: %w", err)
	}
	for _, u := range done {
		if err := recountPostgres(ctx, tx, runID, u); err != nil {
			return err
		}
	}
	return nil // ON COMMIT DELETE ROWS empties the staging table
}

// postgresCounts yields (run_id, dim, key, n) for the observations that filter selects; filter
// refers to the observation as o.
func postgresCounts(filter string) string {
	return `SELECT o.run_id, 'gw' AS dim, json_build_array(o.product, o.version, o.auth, o.official)::text AS key, COUNT(*) AS n
		FROM observations o WHERE ` + countedSQL + ` AND ` + filter + ` GROUP BY o.run_id, o.product, o.version, o.auth, o.official
	UNION ALL SELECT o.run_id, 'net', json_build_array(o.country, o.asn)::text, COUNT(*) FROM observations o
		WHERE ` + countedSQL + ` AND ` + filter + ` GROUP BY o.run_id, o.country, o.asn
	UNION ALL SELECT o.run_id, 'flag', j.value, COUNT(*) FROM observations o, unnest(o.flags) AS j(value)
		WHERE ` + countedSQL + ` AND ` + filter + ` GROUP BY o.run_id, j.value
	UNION ALL SELECT o.run_id, 'miit', j.value, COUNT(*) FROM observations o, unnest(o.miit) AS j(value)
		WHERE ` + countedSQL + ` AND ` + filter + ` GROUP BY o.run_id, j.value
	UNION ALL SELECT o.run_id, 'adv', j.value, COUNT(*) FROM observations o, unnest(o.advisories) AS j(value)
		WHERE ` + countedSQL + ` AND ` + filter + ` GROUP BY o.run_id, j.value
	UNION ALL SELECT o.run_id, 'vs', o.version_status, COUNT(*) FROM observations o
		WHERE ` + countedSQL + ` AND ` + filter + ` GROUP BY o.run_id, o.version_status
	UNION ALL SELECT o.run_id, 'hp', o.product, COUNT(*) FROM observations o
		WHERE ` + honeypotSQL + ` AND ` + filter + ` GROUP BY o.run_id, o.product
	UNION ALL SELECT o.run_id, 'fam', CASE WHEN family(o.ip) = 6 THEN 'ipv6' ELSE 'ipv4' END, COUNT(*) FROM observations o
		WHERE ` + countedSQL + ` AND ` + filter + ` GROUP BY o.run_id, CASE WHEN family(o.ip) = 6 THEN 'ipv6' ELSE 'ipv4' END`
}

// recountPostgres replaces the kept counts of one finished unit.
func recountPostgres(ctx context.Context, tx pgx.Tx, runID, unit int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM unit_counts WHERE run_id = $1 AND unit = $2`, runID, unit); err != nil {
		return fmt.Errorf("count unit %d of run %d: %w", unit, runID, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO unit_counts (run_id, dim, key, n, unit) SELECT c.*, $2::bigint FROM (`+
		postgresCounts(`o.run_id = $1 AND o.unit = $2`)+`) AS c`, runID, unit); err != nil {
		return fmt.Errorf("count unit %d of run %d: %w", unit, runID, err)
	}
	return nil
}

// postgresLive selects the observations whose counts are not kept: those of units not done,
// in runs not complete, and every observation of runs made before units.
const postgresLive = `o.run_id = ANY($1)
	AND NOT EXISTS (SELECT 1 FROM units u WHERE u.run_id = o.run_id AND u.unit = o.unit)`

func copyRows(runID int64, obs []observation.Observation) pgx.CopyFromSource {
	return pgx.CopyFromSlice(len(obs), func(i int) ([]any, error) { return obsValues(runID, &obs[i], false), nil })
}

// CompleteUnit implements Store.
//
// Lock order, one for every transaction, so that workers finishing units, replaying spools and
// beating at once never deadlock: the run's row first (CompleteUnit alone, FOR NO KEY UPDATE),
// then the units' advisory locks (upsert, in unit order), then rows. Rows that refer to the run
// (observations, units, workers) take a KEY SHARE lock on it through their foreign key, which
// FOR NO KEY UPDATE does not wait for. Taking FOR UPDATE after those inserts instead, as
// CompleteUnit once did, made two workers finishing units at once each wait for the other's
// KEY SHARE: deadlock 40P01 on the runs row.
func (p *Postgres) CompleteUnit(ctx context.Context, u Unit, obs []observation.Observation) (bool, error) {
	var complete bool
	err := p.write(ctx, func(tx pgx.Tx) error {
		// The run row is locked first (the lock order), so two workers finishing the last units see each other.
		var total int64
		var status string
		if err := tx.QueryRow(ctx, `SELECT units_total, status FROM runs WHERE id = $1 FOR NO KEY UPDATE`, u.RunID).Scan(&total, &status); err != nil {
			return err
		}
		if err := p.upsert(ctx, tx, u.RunID, obs); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO units (run_id, unit, probes_sent, open_ports, stored, answers_lost, middleboxes, worker, done_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (run_id, unit) DO UPDATE SET probes_sent = excluded.probes_sent,
			open_ports = excluded.open_ports, stored = excluded.stored, answers_lost = excluded.answers_lost,
			middleboxes = excluded.middleboxes, worker = excluded.worker, done_at = excluded.done_at`,
			u.RunID, u.Unit, u.ProbesSent, u.OpenPorts, u.Stored, u.AnswersLost, u.Middleboxes, u.Worker, u.DoneAt); err != nil {
			return err
		}
		if err := recountPostgres(ctx, tx, u.RunID, u.Unit); err != nil {
			return err
		}
		var done int64
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM units WHERE run_id = $1`, u.RunID).Scan(&done); err != nil {
			return err
		}
		if done < total || status == StatusComplete {
			return nil
		}
		complete = true
		_, err := tx.Exec(ctx, `UPDATE runs SET status = 'complete', ended_at = $2,
			probes_sent = (SELECT COALESCE(SUM(probes_sent), 0) FROM units WHERE run_id = $1),
			open_ports = (SELECT COALESCE(SUM(open_ports), 0) FROM units WHERE run_id = $1) WHERE id = $1`, u.RunID, u.DoneAt)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("complete unit %d of run %d: %w", u.Unit, u.RunID, err)
	}
	return complete, nil
}

// DoneUnits implements Store.
func (p *Postgres) DoneUnits(ctx context.Context, runID int64) ([]int64, error) {
	rows, _ := p.pool.Query(ctx, `SELECT unit FROM units WHERE run_id = $1 ORDER BY unit`, runID)
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("units of run %d: %w", runID, err)
	}
	return out, nil
}

// SetStatus implements Store.
func (p *Postgres) SetStatus(ctx context.Context, runID int64, status string, endedAt *time.Time) error {
	if err := validStatus(status); err != nil {
		return err
	}
	tag, err := p.pool.Exec(ctx, `UPDATE runs SET status = $1, ended_at = $2,
		probes_sent = CASE WHEN units_total > 0 THEN (SELECT COALESCE(SUM(probes_sent), 0) FROM units WHERE run_id = $3) ELSE probes_sent END,
		open_ports = CASE WHEN units_total > 0 THEN (SELECT COALESCE(SUM(open_ports), 0) FROM units WHERE run_id = $3) ELSE open_ports END
		WHERE id = $3`, status, endedAt, runID)
	if err != nil {
		return fmt.Errorf("set status of run %d: %w", runID, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("set status of run %d: %w", runID, ErrNoRun)
	}
	return nil
}

// Heartbeat implements Store.
func (p *Postgres) Heartbeat(ctx context.Context, w Worker) error {
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO workers (id, run_id, host, pid, started_at, heartbeat_at, stopped, unit, ttl_ms,
			sweeping, rate_cap, timeout_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (id, run_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, stopped = excluded.stopped,
			unit = excluded.unit, ttl_ms = excluded.ttl_ms, sweeping = excluded.sweeping, rate_cap = excluded.rate_cap,
			timeout_ms = excluded.timeout_ms`, w.ID, w.RunID, w.Host, w.PID, w.StartedAt, w.HeartbeatAt, w.Stopped, w.Unit,
			w.TTL.Milliseconds(), w.Sweeping, w.RateCap, w.Timeout.Milliseconds()); err != nil {
			return err
		}
		for _, u := range progressInOrder(w.Progress) {
			if _, err := tx.Exec(ctx, `INSERT INTO unit_progress (run_id, unit, worker, probes_sent, open_ports, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (run_id, unit) DO UPDATE SET worker = excluded.worker,
				probes_sent = excluded.probes_sent, open_ports = excluded.open_ports, updated_at = excluded.updated_at`,
				w.RunID, u.Unit, w.ID, u.ProbesSent, u.OpenPorts, w.HeartbeatAt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("heartbeat of worker %s: %w", w.ID, err)
	}
	return nil
}

type workerRow struct {
	ID          string    `db:"id"`
	RunID       int64     `db:"run_id"`
	Host        string    `db:"host"`
	PID         int       `db:"pid"`
	StartedAt   time.Time `db:"started_at"`
	HeartbeatAt time.Time `db:"heartbeat_at"`
	Stopped     bool      `db:"stopped"`
	Unit        int64     `db:"unit"`
	TTLms       int64     `db:"ttl_ms"`
	Sweeping    bool      `db:"sweeping"`
	RateCap     int       `db:"rate_cap"`
	TimeoutMs   int64     `db:"timeout_ms"`
}

// Workers implements Store.
func (p *Postgres) Workers(ctx context.Context, runID int64) ([]Worker, error) {
	return p.workers(ctx, `WHERE run_id = $1`, runID)
}

func (p *Postgres) workers(ctx context.Context, where string, args ...any) ([]Worker, error) {
	rows, _ := p.pool.Query(ctx, `SELECT id, run_id, host, pid, started_at, heartbeat_at, stopped, unit, ttl_ms, sweeping, rate_cap,
		timeout_ms FROM workers `+where+
		` ORDER BY started_at, id`, args...)
	got, err := pgx.CollectRows(rows, pgx.RowToStructByName[workerRow])
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	out := make([]Worker, len(got))
	for i, w := range got {
		out[i] = Worker{ID: w.ID, RunID: w.RunID, Host: w.Host, PID: w.PID, StartedAt: w.StartedAt, HeartbeatAt: w.HeartbeatAt,
			Stopped: w.Stopped, Unit: w.Unit, TTL: time.Duration(w.TTLms) * time.Millisecond, Sweeping: w.Sweeping, RateCap: w.RateCap,
			Timeout: time.Duration(w.TimeoutMs) * time.Millisecond}
	}
	return out, nil
}

type runRow struct {
	ID          int64      `db:"id"`
	StartedAt   time.Time  `db:"started_at"`
	EndedAt     *time.Time `db:"ended_at"`
	Targets     string     `db:"targets"`
	TargetCount int64      `db:"target_count"`
	Ports       string     `db:"ports"`
	Rate        int        `db:"rate"`
	Seed        int64      `db:"seed"`
	Shard       string     `db:"shard"`
	ToolVersion string     `db:"tool_version"`
	Method      string     `db:"method"`
	Status      string     `db:"status"`
	ProbesSent  int64      `db:"probes_sent"`
	OpenPorts   int64      `db:"open_ports"`
	Note        string     `db:"note"`
	Plan        string     `db:"plan"`
	Enrichment  string     `db:"enrichment"`
	PlanKey     string     `db:"plan_key"`
	UnitsTotal  int64      `db:"units_total"`
	Knowledge   string     `db:"knowledge"`
	Series      string     `db:"series"`
	Warning     string     `db:"warning"`
	UnitsDone   int64      `db:"units_done"`
	Stored      int64      `db:"stored"`
	AnswersLost int64      `db:"answers_lost"`
	Middleboxes int64      `db:"middleboxes"`
}

// Runs implements Store.
func (p *Postgres) Runs(ctx context.Context) ([]Summary, error) {
	rows, _ := p.pool.Query(ctx, `SELECT id, started_at, ended_at, targets, target_count, ports, rate, seed, shard,
		tool_version, method, status,
		CASE WHEN units_total > 0 THEN (SELECT COALESCE(SUM(probes_sent), 0) FROM units WHERE run_id = runs.id) +
			`+inProgress("probes_sent")+` ELSE probes_sent END AS probes_sent,
		CASE WHEN units_total > 0 THEN (SELECT COALESCE(SUM(open_ports), 0) FROM units WHERE run_id = runs.id) +
			`+inProgress("open_ports")+` ELSE open_ports END AS open_ports,
		note, plan, enrichment, plan_key, units_total, knowledge, series, warning,
		(SELECT COUNT(*) FROM units WHERE run_id = runs.id) AS units_done,
		(SELECT COALESCE(SUM(stored), 0) FROM units WHERE run_id = runs.id) AS stored,
		(SELECT COALESCE(SUM(answers_lost), 0) FROM units WHERE run_id = runs.id) AS answers_lost,
		(SELECT COALESCE(SUM(middleboxes), 0) FROM units WHERE run_id = runs.id) AS middleboxes FROM runs ORDER BY id`)
	runs, err := pgx.CollectRows(rows, pgx.RowToStructByName[runRow])
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	workers, err := p.workers(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]Summary, 0, len(runs))
	now := time.Now()
	for _, r := range runs {
		sm := newSummary(Run{ID: r.ID, StartedAt: r.StartedAt, EndedAt: r.EndedAt, Targets: r.Targets,
			TargetCount: r.TargetCount, Ports: r.Ports, Rate: r.Rate, Seed: r.Seed, Shard: r.Shard,
			ToolVersion: r.ToolVersion, Method: r.Method, Status: r.Status, ProbesSent: r.ProbesSent,
			OpenPorts: r.OpenPorts, Note: r.Note, Plan: r.Plan, PlanKey: r.PlanKey, UnitsTotal: r.UnitsTotal, Knowledge: r.Knowledge,
			Enrichment: r.Enrichment, Series: r.Series, Warning: r.Warning})
		sm.UnitsDone, sm.Stored, sm.AnswersLost, sm.Middleboxes = r.UnitsDone, r.Stored, r.AnswersLost, r.Middleboxes
		derive(&sm, workers, now)
		out = append(out, sm)
	}
	return out, nil
}

// Summaries implements Store.
func (p *Postgres) Summaries(ctx context.Context) ([]Summary, error) {
	out, err := p.Runs(ctx)
	if err != nil {
		return nil, err
	}
	index := map[int64]int{}
	for i, r := range out {
		index[r.ID] = i
	}
	// Kept counts of finished units, plus a live count of the rest (in runs not complete).
	queries := []string{`SELECT run_id, dim, key, SUM(n)::bigint FROM unit_counts GROUP BY run_id, dim, key`}
	var args [][]any
	args = append(args, nil)
	if live := liveRuns(out); len(live) > 0 {
		queries = append(queries, postgresCounts(postgresLive))
		args = append(args, []any{live})
	}
	for qi, q := range queries {
		rows, _ := p.pool.Query(ctx, q, args[qi]...)
		var id, n int64
		var dim, key string
		_, err := pgx.ForEachRow(rows, []any{&id, &dim, &key, &n}, func() error {
			if i, ok := index[id]; ok {
				return addDim(&out[i], dim, key, n)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("count runs: %w", err)
		}
	}
	rows, _ := p.pool.Query(ctx, aliasedCounts)
	var id, prefixes, gateways int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &prefixes, &gateways}, func() error {
		if i, ok := index[id]; ok {
			out[i].AliasedPrefixes, out[i].AliasedGateways = prefixes, gateways
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("count aliased prefixes: %w", err)
	}
	return out, nil
}

// Observations implements Store.
func (p *Postgres) Observations(ctx context.Context, runID int64) ([]observation.Observation, error) {
	rows, _ := p.pool.Query(ctx, `SELECT `+obsSelect+` FROM observations WHERE run_id = $1 ORDER BY id`, runID)
	var out []observation.Observation
	var o observation.Observation
	dst, finish := obsTargets(&o, false)
	_, err := pgx.ForEachRow(rows, dst, func() error {
		if err := finish(); err != nil {
			return err
		}
		out = append(out, o)
		o = observation.Observation{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("observations of run %d: %w", runID, err)
	}
	return out, nil
}

// Lock implements Store: a session advisory lock named by key, on a connection of its own.
func (p *Postgres) Lock(ctx context.Context, key string) (func(), error) {
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, key); err != nil {
		conn.Release()
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	return func() {
		conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key)
		conn.Release()
	}, nil
}
