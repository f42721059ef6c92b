package store

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the store for scale, through pgx.
type Postgres struct {
	pool *pgxpool.Pool
}

func openPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: postgres URL %s: %v", ErrUnavailable, redact(dsn), err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: postgres %s: %v", ErrUnavailable, redact(dsn), err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%w: postgres %s: %v", ErrUnavailable, redact(dsn), err)
	}
	p := &Postgres{pool: pool}
	if err := p.migrate(ctx); err != nil {
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
func (p *Postgres) StartRun(ctx context.Context, r *Run) error {
	r.Status = StatusRunning
	err := p.pool.QueryRow(ctx, `INSERT INTO runs
		(started_at, targets, target_count, ports, rate, seed, shard, tool_version, method, status, note, plan, enrichment)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		r.StartedAt, r.Targets, r.TargetCount, r.Ports, r.Rate, r.Seed, r.Shard, r.ToolVersion, r.Method, r.Status, r.Note, r.Plan,
		r.Enrichment,
	).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("start run: %w", err)
	}
	return nil
}

// AddObservations implements Store. One batch, one round trip, in one transaction.
func (p *Postgres) AddObservations(ctx context.Context, runID int64, obs []Observation) error {
	b := &pgx.Batch{}
	for _, o := range obs {
		b.Queue(`INSERT INTO observations
			(run_id, ip, port, scheme, outcome, product, version, version_candidates, channel, auth, official,
			 honeypot, advisories, flags, evidence, miit, title, server, http_status, tls, asn, as_org, country, observed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)
			ON CONFLICT (run_id, ip, port) DO NOTHING`,
			runID, o.IP, int(o.Port), o.Scheme, o.Outcome, o.Product, o.Version, nonNil(o.VersionCandidates), o.Channel,
			o.Auth, o.Official, o.Honeypot, nonNil(o.Advisories), nonNil(o.Flags), nonNil(o.Evidence), nonNil(o.MIIT),
			o.Title, o.Server, o.HTTPStatus, o.TLS, int64(o.ASN), o.ASOrg, o.Country, o.ObservedAt)
	}
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("add observations: %w", err)
		}
		return nil
	})
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// FinishRun implements Store.
func (p *Postgres) FinishRun(ctx context.Context, runID int64, status string, endedAt time.Time, sent, open int64) error {
	if err := validStatus(status); err != nil {
		return err
	}
	if _, err := p.pool.Exec(ctx, `UPDATE runs SET status = $1, ended_at = $2, probes_sent = $3, open_ports = $4 WHERE id = $5`,
		status, endedAt, sent, open, runID); err != nil {
		return fmt.Errorf("finish run %d: %w", runID, err)
	}
	return nil
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
	Walked      int64      `db:"walked"`
	Enrichment  string     `db:"enrichment"`
}

// Checkpoint implements Store.
func (p *Postgres) Checkpoint(ctx context.Context, runID, walked int64) error {
	if _, err := p.pool.Exec(ctx, `UPDATE runs SET walked = GREATEST(walked, $1) WHERE id = $2`, walked, runID); err != nil {
		return fmt.Errorf("checkpoint run %d: %w", runID, err)
	}
	return nil
}

// ReopenRun implements Store.
func (p *Postgres) ReopenRun(ctx context.Context, runID int64) error {
	tag, err := p.pool.Exec(ctx, `UPDATE runs SET status = 'running', ended_at = NULL WHERE id = $1`, runID)
	if err != nil {
		return fmt.Errorf("reopen run %d: %w", runID, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("reopen run %d: %w", runID, ErrNoRun)
	}
	return nil
}

// Summaries implements Store.
func (p *Postgres) Summaries(ctx context.Context) ([]Summary, error) {
	rows, _ := p.pool.Query(ctx, `SELECT id, started_at, ended_at, targets, target_count, ports, rate, seed, shard,
		tool_version, method, status, probes_sent, open_ports, note, plan, walked, enrichment FROM runs ORDER BY id`)
	runs, err := pgx.CollectRows(rows, pgx.RowToStructByName[runRow])
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	out := make([]Summary, 0, len(runs))
	index := map[int64]int{}
	for _, r := range runs {
		index[r.ID] = len(out)
		out = append(out, newSummary(Run(r)))
	}
	type countRow struct {
		RunID    int64  `db:"run_id"`
		Product  string `db:"product"`
		Version  string `db:"version"`
		Auth     string `db:"auth"`
		Official *bool  `db:"official"`
		N        int64  `db:"n"`
	}
	rows, _ = p.pool.Query(ctx, `SELECT run_id, product, version, auth, official, COUNT(*) AS n FROM observations
		WHERE product <> '' GROUP BY run_id, product, version, auth, official`)
	counts, err := pgx.CollectRows(rows, pgx.RowToStructByName[countRow])
	if err != nil {
		return nil, fmt.Errorf("count runs: %w", err)
	}
	for _, c := range counts {
		if i, ok := index[c.RunID]; ok {
			addCounts(&out[i], c.Product, c.Version, c.Auth, c.Official, c.N)
		}
	}
	type netRow struct {
		RunID   int64  `db:"run_id"`
		Country string `db:"country"`
		ASN     int64  `db:"asn"`
		N       int64  `db:"n"`
	}
	rows, _ = p.pool.Query(ctx, `SELECT run_id, country, asn, COUNT(*) AS n FROM observations
		WHERE product <> '' GROUP BY run_id, country, asn`)
	nets, err := pgx.CollectRows(rows, pgx.RowToStructByName[netRow])
	if err != nil {
		return nil, fmt.Errorf("count runs by network: %w", err)
	}
	for _, c := range nets {
		if i, ok := index[c.RunID]; ok {
			addNetworkCounts(&out[i], c.Country, uint32(c.ASN), c.N)
		}
	}
	type tagRow struct {
		RunID int64  `db:"run_id"`
		Tag   string `db:"tag"`
		N     int64  `db:"n"`
	}
	for column, pick := range map[string]func(*Summary) map[string]int64{
		"flags": func(s *Summary) map[string]int64 { return s.ByFlag },
		"miit":  func(s *Summary) map[string]int64 { return s.ByMIIT },
	} {
		// column is one of two constants above, never input.
		rows, _ = p.pool.Query(ctx, `SELECT run_id, tag, COUNT(*) AS n FROM observations, unnest(`+column+`) AS tag
			WHERE product <> '' GROUP BY run_id, tag`)
		tags, err := pgx.CollectRows(rows, pgx.RowToStructByName[tagRow])
		if err != nil {
			return nil, fmt.Errorf("count %s: %w", column, err)
		}
		for _, t := range tags {
			if i, ok := index[t.RunID]; ok {
				pick(&out[i])[t.Tag] = t.N
			}
		}
	}
	return out, nil
}

type obsRow struct {
	IP                netip.Addr `db:"ip"`
	Port              int        `db:"port"`
	Scheme            string     `db:"scheme"`
	Outcome           string     `db:"outcome"`
	Product           string     `db:"product"`
	Version           string     `db:"version"`
	VersionCandidates []string   `db:"version_candidates"`
	Channel           string     `db:"channel"`
	Auth              string     `db:"auth"`
	Official          *bool      `db:"official"`
	Honeypot          bool       `db:"honeypot"`
	Advisories        []string   `db:"advisories"`
	Flags             []string   `db:"flags"`
	Evidence          []string   `db:"evidence"`
	MIIT              []string   `db:"miit"`
	Title             string     `db:"title"`
	Server            string     `db:"server"`
	HTTPStatus        int        `db:"http_status"`
	TLS               string     `db:"tls"`
	ASN               int64      `db:"asn"`
	ASOrg             string     `db:"as_org"`
	Country           string     `db:"country"`
	ObservedAt        time.Time  `db:"observed_at"`
}

// Observations implements Store.
func (p *Postgres) Observations(ctx context.Context, runID int64) ([]Observation, error) {
	rows, _ := p.pool.Query(ctx, `SELECT ip, port, scheme, outcome, product, version, version_candidates, channel,
		auth, official, honeypot, advisories, flags, evidence, miit, title, server, http_status, tls, asn, as_org, country,
		observed_at FROM observations WHERE run_id = $1 ORDER BY id`, runID)
	got, err := pgx.CollectRows(rows, pgx.RowToStructByName[obsRow])
	if err != nil {
		return nil, fmt.Errorf("observations of run %d: %w", runID, err)
	}
	out := make([]Observation, len(got))
	for i, r := range got {
		out[i] = Observation{IP: r.IP, Port: uint16(r.Port), Scheme: r.Scheme, Outcome: r.Outcome, Product: r.Product,
			Version: r.Version, VersionCandidates: r.VersionCandidates, Channel: r.Channel, Auth: r.Auth,
			Official: r.Official, Honeypot: r.Honeypot, Advisories: r.Advisories, Flags: r.Flags, Evidence: r.Evidence,
			MIIT: r.MIIT, Title: r.Title, Server: r.Server, HTTPStatus: r.HTTPStatus, TLS: r.TLS,
			ASN: uint32(r.ASN), ASOrg: r.ASOrg, Country: r.Country, ObservedAt: r.ObservedAt}
	}
	return out, nil
}
