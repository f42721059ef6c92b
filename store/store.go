// Package store keeps scan runs and their observations, and derives counts from them.
//
// One contract, Store, has two implementations: SQLite (pure Go, a file, the default: the
// tool runs with no server) and Postgres via pgx for scale. Both apply the numbered schema
// files of package migrations on open. Observations are append-only and writes are
// idempotent: a retried batch never double-counts.
//
// It does not scan or fingerprint; it takes plain values.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Run statuses.
const (
	StatusRunning     = "running"
	StatusComplete    = "complete"
	StatusInterrupted = "interrupted"
	StatusFailed      = "failed"
)

// Run is one scan: its parameters and how it ended.
type Run struct {
	ID          int64
	StartedAt   time.Time
	EndedAt     *time.Time
	Targets     string
	TargetCount int64
	Ports       string
	Rate        int
	Seed        int64
	Shard       string
	ToolVersion string
	Method      string
	Status      string
	ProbesSent  int64
	OpenPorts   int64
	Note        string
	// Plan is what the run walks, as the caller encodes it, so that it can be resumed.
	Plan string
	// Walked is the checkpoint: how many positions of its first pass the run has sent.
	Walked int64
	// Enrichment names the data sets (and their dates) that gave ASN and country.
	Enrichment string
}

// Observation is what one run saw at one host:port.
type Observation struct {
	IP                netip.Addr
	Port              uint16
	Scheme            string
	Outcome           string
	Product           string
	Version           string
	VersionCandidates []string
	Channel           string
	Auth              string
	Official          *bool
	Honeypot          bool
	Advisories        []string
	Flags             []string
	Evidence          []string
	MIIT              []string
	Title             string
	Server            string
	HTTPStatus        int
	TLS               string
	ASN               uint32
	ASOrg             string
	Country           string
	ObservedAt        time.Time
}

// Summary is a run with the counts derived from its observations.
type Summary struct {
	Run
	// Detected counts gateways (observations with a product), per host:port.
	Detected   int64
	ByVersion  map[string]int64 // "" is reported as "unknown"
	ByAuth     map[string]int64
	ByProduct  map[string]int64
	ByOfficial map[string]int64 // "true", "false", "unknown"
	ByFlag     map[string]int64 // posture flags, a gateway counted once per flag
	ByMIIT     map[string]int64 // MIIT/NVDB "don'ts" shown violated
	ByCountry  map[string]int64 // "" when no country database was given
	ByASN      map[string]int64 // "AS64500"; "" when unknown
}

func newSummary(r Run) Summary {
	return Summary{Run: r, ByVersion: map[string]int64{}, ByAuth: map[string]int64{}, ByProduct: map[string]int64{},
		ByOfficial: map[string]int64{}, ByFlag: map[string]int64{}, ByMIIT: map[string]int64{},
		ByCountry: map[string]int64{}, ByASN: map[string]int64{}}
}

// OfficialText names an official-build verdict: "true", "false" or "unknown".
func OfficialText(b *bool) string {
	switch {
	case b == nil:
		return "unknown"
	case *b:
		return "true"
	}
	return "false"
}

// Store is the contract both backends keep; one test suite runs against each.
type Store interface {
	// StartRun records r as running and sets r.ID.
	StartRun(ctx context.Context, r *Run) error
	// AddObservations appends observations to a run. A retried batch changes nothing.
	AddObservations(ctx context.Context, runID int64, obs []Observation) error
	// FinishRun records how a run ended.
	FinishRun(ctx context.Context, runID int64, status string, endedAt time.Time, probesSent, openPorts int64) error
	// Checkpoint records how far a run's first pass got; it never moves backwards.
	Checkpoint(ctx context.Context, runID, walked int64) error
	// ReopenRun marks an ended run as running again, to resume it.
	ReopenRun(ctx context.Context, runID int64) error
	// Summaries returns every run with its counts, oldest first.
	Summaries(ctx context.Context) ([]Summary, error)
	// Observations returns one run's observations in the order they were stored.
	Observations(ctx context.Context, runID int64) ([]Observation, error)
	// Backend names the implementation: "sqlite" or "postgres".
	Backend() string
	Close() error
}

// ErrNoRun means no run has the given id.
var ErrNoRun = errors.New("no such run")

// ErrUnavailable wraps failures to reach or open the database at start.
var ErrUnavailable = errors.New("database unavailable")

// DefaultPath is the embedded store's file when no --db is given.
const DefaultPath = "clawcensus.db"

// Open opens (and migrates) the store named by dsn: a postgres:// or postgresql:// URL, or a
// file path for the embedded SQLite store. An empty dsn means DefaultPath.
func Open(ctx context.Context, dsn string) (Store, error) {
	if dsn == "" {
		dsn = DefaultPath
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(ctx, dsn)
	}
	if strings.Contains(dsn, "://") {
		return nil, fmt.Errorf("%w: %q is neither a postgres:// URL nor a file path", ErrUnavailable, redact(dsn))
	}
	return openSQLite(ctx, dsn)
}

// redact hides a password in a database URL before it reaches a log or an error.
func redact(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return dsn
	}
	if user, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
		return scheme + "://" + user + ":xxxxx@" + host
	}
	return dsn
}

func validStatus(s string) error {
	switch s {
	case StatusRunning, StatusComplete, StatusInterrupted, StatusFailed:
		return nil
	}
	return fmt.Errorf("run status %q: want running, complete, interrupted or failed", s)
}
