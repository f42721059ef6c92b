package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" driver (pure Go)

	"github.com/clawcensus/clawcensus/observation"
)

// SQLite is the embedded store: one file, no server.
type SQLite struct {
	db   *sql.DB
	path string
}

// SQLiteDSN is the database/sql name of the SQLite file at path, with the settings every
// connection to it uses: WAL, a busy timeout, foreign keys, write-locking transactions. The
// path is taken literally ("a#b.db" is that file) unless it is a "file:" URI already, which
// may set its own busy timeout ("file:a.db?_pragma=busy_timeout(200)": tests see a locked
// store without waiting the default).
func SQLiteDSN(path string) string {
	return sqliteDSN(path, false)
}

// sqliteBusyTimeout is how long a connection waits for another's write lock, unless the
// path sets its own.
const sqliteBusyTimeout = 10 * time.Second

func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	if !setsBusyTimeout(path) {
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	}
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("mode", "ro")
		if !walOpen(sqliteFile(path)) {
			q.Add("immutable", "1")
		}
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_txlock", "immediate")
	}
	uri := "file:" + (&url.URL{Path: path}).EscapedPath()
	sep := "?"
	if strings.HasPrefix(path, "file:") {
		uri = path
		if strings.Contains(path, "?") {
			sep = "&"
		}
	}
	return uri + sep + q.Encode()
}

// walOpen reports whether the WAL store at db has its -wal and -shm files, as while a writer
// has it open. A reader of a WAL database needs the -shm (SQLite's "WAL mode read-only
// databases"): opened read-only it would create both files, and leave them (a read-only
// connection cannot checkpoint and remove them), owned by whoever read; in a folder it may
// not write it fails with "attempt to write a readonly database". Without them the database
// file holds every committed write, and is read as immutable: no lock, no file made. A writer
// that starts while such a connection reads is not seen by it; readOnlyConnector renews
// connections so that a long reader (serve) sees it soon after.
func walOpen(db string) bool {
	_, werr := os.Stat(db + "-wal")
	_, serr := os.Stat(db + "-shm")
	return werr == nil && serr == nil
}

// readOnlyConnector opens each read-only connection with the DSN of that moment (walOpen
// decides between shared and immutable reading).
type readOnlyConnector struct{ path string }

func (c readOnlyConnector) Connect(context.Context) (driver.Conn, error) {
	return c.Driver().Open(sqliteDSN(c.path, true))
}

func (readOnlyConnector) Driver() driver.Driver { return &sqlite.Driver{} }

// setsBusyTimeout reports whether path is a file: URI with a busy_timeout pragma of its own.
func setsBusyTimeout(path string) bool {
	_, query, ok := strings.Cut(path, "?")
	v, err := url.ParseQuery(query)
	return strings.HasPrefix(path, "file:") && ok && err == nil &&
		slices.ContainsFunc(v["_pragma"], func(p string) bool { return strings.HasPrefix(p, "busy_timeout(") })
}

// sqliteFile is the file a --db value names, for the checks made before opening it.
func sqliteFile(path string) string {
	if rest, ok := strings.CutPrefix(path, "file:"); ok {
		rest, _, _ = strings.Cut(rest, "?")
		if p, err := url.PathUnescape(rest); err == nil {
			return p
		}
		return rest
	}
	return path
}

func openSQLite(ctx context.Context, path string, readOnly bool) (*SQLite, error) {
	if readOnly {
		// Reading never creates a store: a mistyped path is an error, not an empty file.
		if _, err := os.Stat(sqliteFile(path)); err != nil {
			return nil, fmt.Errorf("%w: no store at %s (%v)", ErrUnavailable, sqliteFile(path), err)
		}
	}
	var db *sql.DB
	var err error
	if readOnly {
		db = sql.OpenDB(readOnlyConnector{path})
		db.SetConnMaxLifetime(5 * time.Second)
	} else if db, err = sql.Open("sqlite", sqliteDSN(path, false)); err != nil {
		return nil, fmt.Errorf("%w: sqlite %s: %v", ErrUnavailable, path, err)
	}
	if err := pingSQLite(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: sqlite %s: %v", ErrUnavailable, path, err)
	}
	s := &SQLite{db: db, path: sqliteFile(path)}
	if readOnly {
		err = s.checkSchema(ctx)
	} else {
		err = s.migrate(ctx)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// pingSQLite opens the first connection. Its pragmas run as it opens, and switching a new
// file to WAL takes a lock that SQLite's busy timeout does not wait for: several processes
// opening one new store at once see SQLITE_BUSY there, so the open is tried again, for as
// long as the busy timeout would have waited.
func pingSQLite(ctx context.Context, db *sql.DB) error {
	const sqliteBusy = 5 // SQLITE_BUSY, the primary code of every extended busy code
	deadline := time.Now().Add(sqliteBusyTimeout)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 250*time.Millisecond) {
		err := db.PingContext(ctx)
		var code interface{ Code() int }
		busy := errors.As(err, &code) && code.Code()&0xff == sqliteBusy
		if err == nil || !busy || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// checkSchema refuses a store this version cannot read as it is.
func (s *SQLite) checkSchema(ctx context.Context) error {
	ms, err := loadMigrations("sqlite")
	if err != nil {
		return err
	}
	var current int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("%w: %s is not a clawcensus store (%v)", ErrUnavailable, s.path, err)
	}
	return checkSchema(current, len(ms), true)
}

// Backend implements Store.
func (s *SQLite) Backend() string { return "sqlite" }

// Close implements Store.
func (s *SQLite) Close() error { return s.db.Close() }

func (s *SQLite) migrate(ctx context.Context) error {
	ms, err := loadMigrations("sqlite")
	if err != nil {
		return err
	}
	// An immediate transaction takes SQLite's write lock: two processes migrate one at a time.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%w: sqlite: %v", ErrUnavailable, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate sqlite: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate sqlite: %w", err)
	}
	if err := checkSchema(current, len(ms), false); err != nil {
		return err
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate sqlite %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
			return fmt.Errorf("migrate sqlite %s: %w", m.name, err)
		}
	}
	return tx.Commit()
}

const sqliteTime = time.RFC3339Nano

// StartRun implements Store.
func (s *SQLite) StartRun(ctx context.Context, r *Run) error { return s.StartRunWith(ctx, r, nil) }

// StartRunWith implements Store; within gets the *sql.Tx.
func (s *SQLite) StartRunWith(ctx context.Context, r *Run, within func(tx any) error) error {
	r.Series = r.SeriesID()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("start run: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO runs
		(started_at, targets, target_count, ports, rate, seed, shard, tool_version, method, status, note, plan, enrichment,
		 plan_key, units_total, knowledge, series)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.StartedAt.UTC().Format(sqliteTime), r.Targets, r.TargetCount, r.Ports, r.Rate, r.Seed, r.Shard,
		r.ToolVersion, r.Method, StatusRunning, r.Note, r.Plan, r.Enrichment, r.PlanKey, r.UnitsTotal, r.Knowledge, r.Series)
	if err != nil {
		return fmt.Errorf("start run: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("start run: %w", err)
	}
	r.ID = id
	if within != nil {
		if err := within(tx); err != nil {
			r.ID = 0
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		r.ID = 0
		return fmt.Errorf("start run: %w", err)
	}
	r.Status = StatusRunning
	return nil
}

// SetKnowledge implements Store.
func (s *SQLite) SetKnowledge(ctx context.Context, runID int64, knowledge string) error {
	return s.setRunText(ctx, runID, "knowledge", knowledge)
}

// SetWarning implements Store.
func (s *SQLite) SetWarning(ctx context.Context, runID int64, warning string) error {
	return s.setRunText(ctx, runID, "warning", warning)
}

// setRunText sets one text column of a run (column is one of this file's names, never input).
func (s *SQLite) setRunText(ctx context.Context, runID int64, column, value string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET `+column+` = ? WHERE id = ?`, value, runID)
	if err != nil {
		return fmt.Errorf("set %s of run %d: %w", column, runID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("run %d: %w", runID, ErrNoRun)
	}
	return nil
}

// Handle implements Store: the *sql.DB.
func (s *SQLite) Handle() any { return s.db }

// sqliteUpsert keeps one row per run and host:port (see Store.AddObservations).
var sqliteUpsert = `INSERT INTO observations (` + strings.Join(obsColumns, ", ") + `)
		VALUES (?` + strings.Repeat(", ?", len(obsColumns)-1) + `) ` + upsertSet(true)

// AddObservations implements Store.
func (s *SQLite) AddObservations(ctx context.Context, runID int64, obs []observation.Observation) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add observations: %w", err)
	}
	defer tx.Rollback()
	if err := s.upsert(ctx, tx, runID, obs); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *SQLite) upsert(ctx context.Context, tx *sql.Tx, runID int64, obs []observation.Observation) error {
	if len(obs) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, sqliteUpsert)
	if err != nil {
		return fmt.Errorf("add observations: %w", err)
	}
	defer stmt.Close()
	for i := range obs {
		o := &obs[i]
		if _, err := stmt.ExecContext(ctx, obsValues(runID, o, true)...); err != nil {
			return fmt.Errorf("add observation %s: %w", o.AddrPort(), err)
		}
	}
	// A late write to a finished unit (a dead worker's spool, replayed) keeps its counts exact.
	for _, u := range batchUnits(obs) {
		var done int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM units WHERE run_id = ? AND unit = ?`, runID, u).Scan(&done); err != nil {
			return fmt.Errorf("add observations: %w", err)
		}
		if done > 0 {
			if err := s.recount(ctx, tx, runID, u); err != nil {
				return err
			}
		}
	}
	return nil
}

// sqliteCounts yields (run_id, dim, key, n) for the observations that filter selects; filter
// refers to the observation as o.
func sqliteCounts(filter string) string {
	return `SELECT o.run_id, 'gw', json_array(o.product, o.version, o.auth, o.official), COUNT(*) FROM observations o
		WHERE ` + countedSQL + ` AND ` + filter + ` GROUP BY o.run_id, o.product, o.version, o.auth, o.official
	UNION ALL SELECT o.run_id, 'net', json_array(o.country, o.asn), COUNT(*) FROM observations o
		WHERE ` + countedSQL + ` AND ` + filter + ` GROUP BY o.run_id, o.country, o.asn
	UNION ALL SELECT o.run_id, 'flag', j.value, COUNT(*) FROM observations o, json_each(o.flags) j
		WHERE ` + countedSQL + ` AND ` + filter + ` GROUP BY o.run_id, j.value
	UNION ALL SELECT o.run_id, 'miit', j.value, COUNT(*) FROM observations o, json_each(o.miit) j
		WHERE ` + countedSQL + ` AND ` + filter + ` GROUP BY o.run_id, j.value
	UNION ALL SELECT o.run_id, 'adv', j.value, COUNT(*) FROM observations o, json_each(o.advisories) j
		WHERE ` + countedSQL + ` AND ` + filter + ` GROUP BY o.run_id, j.value
	UNION ALL SELECT o.run_id, 'vs', o.version_status, COUNT(*) FROM observations o
		WHERE ` + countedSQL + ` AND ` + filter + ` GROUP BY o.run_id, o.version_status
	UNION ALL SELECT o.run_id, 'hp', o.product, COUNT(*) FROM observations o
		WHERE ` + honeypotSQL + ` AND ` + filter + ` GROUP BY o.run_id, o.product
	UNION ALL SELECT o.run_id, 'fam', CASE WHEN instr(o.ip, ':') > 0 THEN 'ipv6' ELSE 'ipv4' END, COUNT(*) FROM observations o
		WHERE ` + countedSQL + ` AND ` + filter + ` GROUP BY o.run_id, CASE WHEN instr(o.ip, ':') > 0 THEN 'ipv6' ELSE 'ipv4' END`
}

// recount replaces the kept counts of one finished unit.
func (s *SQLite) recount(ctx context.Context, tx *sql.Tx, runID, unit int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM unit_counts WHERE run_id = ?1 AND unit = ?2`, runID, unit); err != nil {
		return fmt.Errorf("count unit %d of run %d: %w", unit, runID, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO unit_counts (run_id, dim, key, n, unit) SELECT c.*, ?2 FROM (`+
		sqliteCounts(`o.run_id = ?1 AND o.unit = ?2`)+`) AS c`, runID, unit); err != nil {
		return fmt.Errorf("count unit %d of run %d: %w", unit, runID, err)
	}
	return nil
}

// CompleteUnit implements Store.
func (s *SQLite) CompleteUnit(ctx context.Context, u Unit, obs []observation.Observation) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("complete unit %d of run %d: %w", u.Unit, u.RunID, err)
	}
	defer tx.Rollback()
	if err := s.upsert(ctx, tx, u.RunID, obs); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO units (run_id, unit, probes_sent, open_ports, stored, answers_lost, middleboxes, worker, done_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, unit) DO UPDATE SET probes_sent = excluded.probes_sent,
		open_ports = excluded.open_ports, stored = excluded.stored, answers_lost = excluded.answers_lost,
		middleboxes = excluded.middleboxes, worker = excluded.worker, done_at = excluded.done_at`,
		u.RunID, u.Unit, u.ProbesSent, u.OpenPorts, u.Stored, u.AnswersLost, u.Middleboxes, u.Worker, u.DoneAt.UTC().Format(sqliteTime)); err != nil {
		return false, fmt.Errorf("complete unit %d of run %d: %w", u.Unit, u.RunID, err)
	}
	if err := s.recount(ctx, tx, u.RunID, u.Unit); err != nil {
		return false, err
	}
	res, err := tx.ExecContext(ctx, `UPDATE runs SET status = 'complete', ended_at = ?,
		probes_sent = (SELECT COALESCE(SUM(probes_sent), 0) FROM units WHERE run_id = runs.id),
		open_ports = (SELECT COALESCE(SUM(open_ports), 0) FROM units WHERE run_id = runs.id)
		WHERE id = ? AND status <> 'complete' AND units_total = (SELECT COUNT(*) FROM units WHERE run_id = runs.id)`,
		u.DoneAt.UTC().Format(sqliteTime), u.RunID)
	if err != nil {
		return false, fmt.Errorf("complete unit %d of run %d: %w", u.Unit, u.RunID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, tx.Commit()
}

// DoneUnits implements Store.
func (s *SQLite) DoneUnits(ctx context.Context, runID int64) ([]int64, error) {
	var out []int64
	err := s.query(ctx, `SELECT unit FROM units WHERE run_id = ? ORDER BY unit`, []any{runID}, func(rows *sql.Rows) error {
		var u int64
		if err := rows.Scan(&u); err != nil {
			return err
		}
		out = append(out, u)
		return nil
	})
	return out, err
}

// SetStatus implements Store.
func (s *SQLite) SetStatus(ctx context.Context, runID int64, status string, endedAt *time.Time) error {
	if err := validStatus(status); err != nil {
		return err
	}
	var ended any
	if endedAt != nil {
		ended = endedAt.UTC().Format(sqliteTime)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET status = ?, ended_at = ?,
		probes_sent = CASE WHEN units_total > 0 THEN (SELECT COALESCE(SUM(probes_sent), 0) FROM units WHERE run_id = runs.id) ELSE probes_sent END,
		open_ports = CASE WHEN units_total > 0 THEN (SELECT COALESCE(SUM(open_ports), 0) FROM units WHERE run_id = runs.id) ELSE open_ports END
		WHERE id = ?`, status, ended, runID)
	if err != nil {
		return fmt.Errorf("set status of run %d: %w", runID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("set status of run %d: %w", runID, ErrNoRun)
	}
	return nil
}

// Heartbeat implements Store.
func (s *SQLite) Heartbeat(ctx context.Context, w Worker) error {
	err := func() error {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		beat := w.HeartbeatAt.UTC().Format(sqliteTime)
		if _, err := tx.ExecContext(ctx, `INSERT INTO workers (id, run_id, host, pid, started_at, heartbeat_at, stopped, unit, ttl_ms,
			sweeping, rate_cap, timeout_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id, run_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, stopped = excluded.stopped,
			unit = excluded.unit, ttl_ms = excluded.ttl_ms, sweeping = excluded.sweeping, rate_cap = excluded.rate_cap,
			timeout_ms = excluded.timeout_ms`,
			w.ID, w.RunID, w.Host, w.PID, w.StartedAt.UTC().Format(sqliteTime), beat, w.Stopped, w.Unit,
			w.TTL.Milliseconds(), w.Sweeping, w.RateCap, w.Timeout.Milliseconds()); err != nil {
			return err
		}
		for _, u := range progressInOrder(w.Progress) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO unit_progress (run_id, unit, worker, probes_sent, open_ports, updated_at)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, unit) DO UPDATE SET worker = excluded.worker,
				probes_sent = excluded.probes_sent, open_ports = excluded.open_ports, updated_at = excluded.updated_at`,
				w.RunID, u.Unit, w.ID, u.ProbesSent, u.OpenPorts, beat); err != nil {
				return err
			}
		}
		return tx.Commit()
	}()
	if err != nil {
		return fmt.Errorf("heartbeat of worker %s: %w", w.ID, err)
	}
	return nil
}

// Workers implements Store.
func (s *SQLite) Workers(ctx context.Context, runID int64) ([]Worker, error) {
	return s.workers(ctx, `WHERE run_id = ?`, runID)
}

func (s *SQLite) workers(ctx context.Context, where string, args ...any) ([]Worker, error) {
	var out []Worker
	err := s.query(ctx, `SELECT id, run_id, host, pid, started_at, heartbeat_at, stopped, unit, ttl_ms, sweeping, rate_cap,
		timeout_ms FROM workers `+where+` ORDER BY started_at, id`,
		args, func(rows *sql.Rows) error {
			var w Worker
			var started, beat string
			var ttl, timeout int64
			if err := rows.Scan(&w.ID, &w.RunID, &w.Host, &w.PID, &started, &beat, &w.Stopped, &w.Unit, &ttl, &w.Sweeping,
				&w.RateCap, &timeout); err != nil {
				return err
			}
			w.TTL = time.Duration(ttl) * time.Millisecond
			w.Timeout = time.Duration(timeout) * time.Millisecond
			w.StartedAt, _ = time.Parse(sqliteTime, started)
			w.HeartbeatAt, _ = time.Parse(sqliteTime, beat)
			out = append(out, w)
			return nil
		})
	return out, err
}

func jsonList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// Summaries implements Store.
func (s *SQLite) Summaries(ctx context.Context) ([]Summary, error) {
	out, err := s.Runs(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.counts(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Runs implements Store.
func (s *SQLite) Runs(ctx context.Context) ([]Summary, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, started_at, ended_at, targets, target_count, ports, rate, seed,
		shard, tool_version, method, status,
		CASE WHEN units_total > 0 THEN (SELECT COALESCE(SUM(probes_sent), 0) FROM units WHERE run_id = runs.id) +
			`+inProgress("probes_sent")+` ELSE probes_sent END AS probes_sent,
		CASE WHEN units_total > 0 THEN (SELECT COALESCE(SUM(open_ports), 0) FROM units WHERE run_id = runs.id) +
			`+inProgress("open_ports")+` ELSE open_ports END AS open_ports,
		note, plan, enrichment, plan_key, units_total, knowledge, series, warning,
		(SELECT COUNT(*) FROM units WHERE run_id = runs.id),
		(SELECT COALESCE(SUM(stored), 0) FROM units WHERE run_id = runs.id),
		(SELECT COALESCE(SUM(answers_lost), 0) FROM units WHERE run_id = runs.id),
		(SELECT COALESCE(SUM(middleboxes), 0) FROM units WHERE run_id = runs.id) FROM runs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []Summary
	for rows.Next() {
		sm := newSummary(Run{})
		var started string
		var ended sql.NullString
		if err := rows.Scan(&sm.ID, &started, &ended, &sm.Targets, &sm.TargetCount, &sm.Ports, &sm.Rate, &sm.Seed,
			&sm.Shard, &sm.ToolVersion, &sm.Method, &sm.Status, &sm.ProbesSent, &sm.OpenPorts, &sm.Note, &sm.Plan,
			&sm.Enrichment, &sm.PlanKey, &sm.UnitsTotal, &sm.Knowledge, &sm.Series, &sm.Warning, &sm.UnitsDone, &sm.Stored, &sm.AnswersLost, &sm.Middleboxes); err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		sm.StartedAt, _ = time.Parse(sqliteTime, started)
		if ended.Valid {
			t, _ := time.Parse(sqliteTime, ended.String)
			sm.EndedAt = &t
		}
		out = append(out, sm)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	workers, err := s.workers(ctx, `WHERE 1 = 1`)
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	now := time.Now()
	for i := range out {
		derive(&out[i], workers, now)
	}
	return out, nil
}

// sqliteLive selects the observations whose counts are not kept: those of units not done, in
// runs not complete, and every observation of runs made before units.
const sqliteLive = `o.run_id IN (SELECT value FROM json_each(?1))
	AND NOT EXISTS (SELECT 1 FROM units u WHERE u.run_id = o.run_id AND u.unit = o.unit)`

// counts derives every run's counts: the kept counts of finished units, plus a live count of
// the rest, so a finished census of millions of observations reads a few thousand rows.
func (s *SQLite) counts(ctx context.Context, out []Summary) error {
	index := map[int64]*Summary{}
	for i := range out {
		index[out[i].ID] = &out[i]
	}
	add := func(rows *sql.Rows) error {
		var id, n int64
		var dim, key string
		if err := rows.Scan(&id, &dim, &key, &n); err != nil {
			return err
		}
		if sm := index[id]; sm != nil {
			return addDim(sm, dim, key, n)
		}
		return nil
	}
	if err := s.each(ctx, `SELECT run_id, dim, key, SUM(n) FROM unit_counts GROUP BY run_id, dim, key`, add); err != nil {
		return err
	}
	if err := s.each(ctx, aliasedCounts, func(rows *sql.Rows) error {
		var id, prefixes, gateways int64
		if err := rows.Scan(&id, &prefixes, &gateways); err != nil {
			return err
		}
		if sm := index[id]; sm != nil {
			sm.AliasedPrefixes, sm.AliasedGateways = prefixes, gateways
		}
		return nil
	}); err != nil {
		return err
	}
	live := liveRuns(out)
	if len(live) == 0 {
		return nil
	}
	ids, _ := json.Marshal(live)
	if err := s.query(ctx, sqliteCounts(sqliteLive), []any{string(ids)}, add); err != nil {
		return fmt.Errorf("count runs: %w", err)
	}
	return nil
}

// each runs a counting query and calls scan for every row.
func (s *SQLite) each(ctx context.Context, query string, scan func(*sql.Rows) error) error {
	if err := s.query(ctx, query, nil, scan); err != nil {
		return fmt.Errorf("count runs: %w", err)
	}
	return nil
}

// query runs query with args and calls scan for every row.
func (s *SQLite) query(ctx context.Context, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func addNetworkCounts(sm *Summary, country string, asn uint32, n int64) {
	sm.ByCountry[country] += n
	key := ""
	if asn != 0 {
		key = fmt.Sprintf("AS%d", asn)
	}
	sm.ByASN[key] += n
}

func addCounts(sm *Summary, product, version, auth string, official *bool, n int64) {
	if version == "" {
		version = "unknown"
	}
	sm.Detected += n
	sm.ByVersion[version] += n
	sm.ByAuth[auth] += n
	sm.ByProduct[product] += n
	sm.ByOfficial[observation.OfficialText(official)] += n
}

// Observations implements Store.
func (s *SQLite) Observations(ctx context.Context, runID int64) ([]observation.Observation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+obsSelect+` FROM observations WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, fmt.Errorf("observations of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []observation.Observation
	for rows.Next() {
		var o observation.Observation
		dst, finish := obsTargets(&o, true)
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		if err := finish(); err != nil {
			return nil, fmt.Errorf("observation %s of run %d: %w", o.AddrPort(), runID, err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Lock implements Store: an exclusive lock on a file beside the database, named by key.
func (s *SQLite) Lock(ctx context.Context, key string) (func(), error) {
	f, err := os.OpenFile(s.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", key, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Files are the files of the store dsn names, for a writer of other files to keep off:
// a SQLite database, its -wal, -shm and -journal and the .lock beside it. A Postgres
// store has none.
func Files(dsn string) []string {
	if dsn == "" {
		dsn = DefaultPath
	}
	if IsPostgres(dsn) || strings.Contains(dsn, "://") {
		return nil
	}
	db := sqliteFile(dsn)
	return []string{db, db + "-wal", db + "-shm", db + "-journal", db + ".lock"}
}
