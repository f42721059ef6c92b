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
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/observation"
)

// Run statuses. The first four are stored; the last two are derived when a running run is
// read: planned (no worker has started it) and stalled (unfinished units, no live worker).
const (
	StatusRunning     = "running"
	StatusComplete    = "complete"
	StatusInterrupted = "interrupted"
	StatusFailed      = "failed"
	StatusPlanned     = "planned"
	StatusStalled     = "stalled"
)

// WorkerTTL is how long a worker's heartbeat keeps it live unless the worker says otherwise
// (Worker.TTL). Workers beat every fifth of their TTL.
const WorkerTTL = 15 * time.Second

// HeartbeatTimeout is how long a worker may go without a heartbeat before the units it holds
// are handed to other workers, unless the worker says otherwise (Worker.Timeout).
const HeartbeatTimeout = 60 * time.Second

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
	// PlanKey identifies the plan's targets, ports, seed and exclusions: shards of one plan
	// started apart find their run by it.
	PlanKey string
	// UnitsTotal is how many work units the plan is cut into; zero for runs made before units.
	UnitsTotal int64
	// Enrichment names the data sets (and their dates) that gave ASN and country.
	Enrichment string
	// Knowledge names the knowledge base the run's verdicts come from (fingerprint.Identity as
	// JSON): the one it was scanned with, or the one it was last reanalysed with.
	Knowledge string
	// Warning says what makes the run's results doubtful (every HTTP probe failed the same way).
	Warning string
	// Series is the series the run belongs to: runs are compared (trend, a report's trend, the
	// web view, the Grafana views) only with runs of their series. It is a name a user gave,
	// or a derived key, "scope:…" (the plan's scope identity) or "targets:… ports:…"
	// (FallbackSeries: runs stored without one, and those before migration 0011).
	Series string
}

// FallbackSeries is the series of a run stored without one: its targets text and ports, as
// migration 0011 gave the runs before it.
func FallbackSeries(targets, ports string) string { return "targets:" + targets + " ports:" + ports }

// DerivedSeries reports whether series was derived from a run's scope rather than named by a
// user: a name may not look like one (see census.CheckSeriesName).
func DerivedSeries(series string) bool {
	return strings.HasPrefix(series, "scope:") || strings.HasPrefix(series, "targets:")
}

// SeriesID is the run's series: Series, or FallbackSeries when it has none.
func (r Run) SeriesID() string {
	if r.Series != "" {
		return r.Series
	}
	return FallbackSeries(r.Targets, r.Ports)
}

// SeriesLabel is the run's series as a person reads it: the name given, or the run's targets
// and ports for a derived series (migration 0011's views say the same).
func (r Run) SeriesLabel() string {
	if id := r.SeriesID(); !DerivedSeries(id) {
		return id
	}
	return "targets " + r.Targets + ", ports " + r.Ports
}

// Unit is one finished work unit of a run.
type Unit struct {
	RunID, Unit           int64
	ProbesSent, OpenPorts int64
	// Stored counts the observations the unit stored, one per open port (fingerprinted, or
	// kept unprobed); AnswersLost, the answers its sweep could not keep (see scanner.Stats:
	// Lost and Late). A unit that kept everything has Stored == OpenPorts and no answer lost.
	Stored, AnswersLost int64
	// Middleboxes counts the open ports whose host answered the control probes too.
	Middleboxes int64
	Worker      string
	DoneAt      time.Time
}

// Worker is one process working on a run, as its last heartbeat left it.
type Worker struct {
	ID                     string
	RunID                  int64
	Host                   string
	PID                    int
	StartedAt, HeartbeatAt time.Time
	// Stopped is set by a worker that left the run cleanly.
	Stopped bool
	// Unit is the unit in hand (its lease), or -1 while the worker waits for one.
	Unit int64
	// TTL is how long its heartbeat keeps it live, as the worker chose it; zero means WorkerTTL.
	// Every reader judges a worker by its own TTL, so a short one (a test, a quick failover)
	// and the default mix.
	TTL time.Duration
	// Timeout is how long it may go without a heartbeat before its units are handed to other
	// workers, as it chose it; zero means HeartbeatTimeout.
	Timeout time.Duration
	// Sweeping is set while it sweeps the run (or is about to): the run's rate is shared among
	// the live workers that sweep it. RateCap is the most it may send (worker --rate); zero
	// means the plan's rate.
	Sweeping bool
	RateCap  int
	// Progress is what the units in hand have sent and found so far: Heartbeat records it
	// (see Summary), Workers does not read it back.
	Progress []UnitProgress
}

// UnitProgress is what a unit in hand has sent and found so far.
type UnitProgress struct {
	Unit                  int64
	ProbesSent, OpenPorts int64
}

// HandOver reports whether w's units are to be handed to other workers at now: it stopped, or
// it has not beaten for its Timeout.
func (w Worker) HandOver(now time.Time) bool {
	return w.Stopped || now.Sub(w.HeartbeatAt) >= cmp.Or(w.Timeout, HeartbeatTimeout)
}

// Holds reports whether w is live with a unit of its run in hand.
func (w Worker) Holds(now time.Time) bool { return w.Live(now) && w.Unit >= 0 }

// Live reports whether w has beaten within its TTL of now.
func (w Worker) Live(now time.Time) bool {
	return !w.Stopped && now.Sub(w.HeartbeatAt) < w.Lifetime()
}

// Lifetime is w's TTL, or WorkerTTL when it named none.
func (w Worker) Lifetime() time.Duration { return cmp.Or(w.TTL, WorkerTTL) }

// Summary is a run with the counts derived from its observations. A running run's ProbesSent
// and OpenPorts are those of its done units and what its workers said of the units in hand.
type Summary struct {
	Run
	// UnitsDone counts finished work units; LiveWorkers the workers beating now.
	UnitsDone, LiveWorkers int64
	// Stored and AnswersLost sum the finished units' (see Unit): open ports stored, answers
	// the sweep could not keep.
	Stored, AnswersLost int64
	// Middleboxes sums the finished units' open ports whose host accepts on every port.
	Middleboxes int64
	// Detected counts the gateways that count (observation.Observation.Counts), per host:port;
	// Honeypots, the probable honeypots, apart: a host is in one or the other, never both.
	// Every By map counts what Detected counts. Runs counted before honeypots were set apart
	// keep them inside Detected until their units are counted again.
	Detected   int64
	Honeypots  int64
	ByVersion  map[string]int64 // "" is reported as "unknown"
	ByAuth     map[string]int64
	ByProduct  map[string]int64
	ByOfficial map[string]int64 // "true", "false", "unknown"
	ByFlag     map[string]int64 // posture flags, a gateway counted once per flag
	ByMIIT     map[string]int64 // MIIT/NVDB "don'ts" shown violated
	ByAdvisory map[string]int64 // advisory id → gateways on a release it affects
	// ByVersionStatus counts gateways by what the knowledge base knew of their version
	// (observation.VersionKnown, …; "" without a version).
	ByVersionStatus map[string]int64
	ByCountry       map[string]int64 // "" when no country database was given
	ByASN           map[string]int64 // "AS64500"; "" when unknown
	// ByFamily counts gateways by address family: "ipv4", "ipv6".
	ByFamily map[string]int64
	// AliasedPrefixes counts the aliased prefixes that answered (observation.Aliased, each
	// counted once however many ports and units saw it); AliasedGateways, those of them where
	// a gateway was detected.
	AliasedPrefixes, AliasedGateways int64
}

func newSummary(r Run) Summary {
	return Summary{Run: r, ByVersion: map[string]int64{}, ByAuth: map[string]int64{}, ByProduct: map[string]int64{},
		ByOfficial: map[string]int64{}, ByFlag: map[string]int64{}, ByMIIT: map[string]int64{},
		ByAdvisory: map[string]int64{}, ByCountry: map[string]int64{}, ByASN: map[string]int64{}, ByVersionStatus: map[string]int64{},
		ByFamily: map[string]int64{}}
}

// aliasedCounts counts, per run, the aliased prefixes that answered and those where a gateway
// that counts (not a probable honeypot) was detected: distinct across units and ports, read through the partial index of migration
// 0017 (only aliased observations).
const aliasedCounts = `SELECT o.run_id, COUNT(DISTINCT o.aliased), COUNT(DISTINCT CASE WHEN ` + countedSQL + ` THEN o.aliased END)
	FROM observations o WHERE o.aliased <> '' GROUP BY o.run_id`

// Store is the contract both backends keep; one test suite runs against each.
type Store interface {
	// StartRun records r as running and sets r.ID, and r.Series when empty (FallbackSeries).
	StartRun(ctx context.Context, r *Run) error
	// StartRunWith is StartRun with more work in the same transaction: within gets the
	// backend's transaction (see Handle) while r.ID is set, and its error undoes the run.
	StartRunWith(ctx context.Context, r *Run, within func(tx any) error) error
	// Handle is the open database, for a job queue to share it (and its transactions): a
	// *pgxpool.Pool for Postgres (transactions are pgx.Tx), a *sql.DB for SQLite (*sql.Tx).
	Handle() any
	// AddObservations upserts observations: one row per run and host:port. A later result
	// replaces an earlier one, except that observation.Unprobed never replaces a result, so a
	// retried batch or a re-run unit never counts twice and never loses what was seen.
	AddObservations(ctx context.Context, runID int64, obs []observation.Observation) error
	// CompleteUnit adds a unit's last observations and marks the unit done in one
	// transaction. When that was the run's last unit, the run becomes complete, with its
	// probe and open-port totals summed over its units, and runComplete is true.
	CompleteUnit(ctx context.Context, u Unit, obs []observation.Observation) (runComplete bool, err error)
	// DoneUnits lists the finished units of a run, in order.
	DoneUnits(ctx context.Context, runID int64) ([]int64, error)
	// SetKnowledge records which knowledge base a run's verdicts come from (reanalyze).
	SetKnowledge(ctx context.Context, runID int64, knowledge string) error
	// SetWarning records what makes a run's results doubtful.
	SetWarning(ctx context.Context, runID int64, warning string) error
	// SetStatus records a run's stored status; endedAt nil clears the end (a resumed run).
	SetStatus(ctx context.Context, runID int64, status string, endedAt *time.Time) error
	// Heartbeat records that worker w is alive on its run.
	Heartbeat(ctx context.Context, w Worker) error
	// Workers lists the workers that ever worked on a run.
	Workers(ctx context.Context, runID int64) ([]Worker, error)
	// Runs returns every run without counts, oldest first, with the derived status.
	Runs(ctx context.Context) ([]Summary, error)
	// Summaries returns every run with its counts, oldest first, with the derived status.
	Summaries(ctx context.Context) ([]Summary, error)
	// Observations returns one run's observations in the order they were stored.
	Observations(ctx context.Context, runID int64) ([]observation.Observation, error)
	// GatewaysSeen lists the ip:ports (observation.Observation.Key: an aliased prefix as one)
	// where a run of series older than run before (a smaller id) identified a gateway that
	// counts: what a later run's changes call seen before.
	GatewaysSeen(ctx context.Context, series string, before int64) ([]netip.AddrPort, error)
	// MarkSent records notifications. One is kept per run, recipient and ip:port: marking one
	// again keeps the later (its time and fingerprint), so marking twice never counts twice.
	MarkSent(ctx context.Context, ns []Notification) error
	// Notifications lists the notifications sent at or after since, oldest first.
	Notifications(ctx context.Context, since time.Time) ([]Notification, error)
	// AddContacts stores a new contacts version, v, with the data write writes, in one
	// transaction, and sets v.ID and v.Bytes: a version is there whole or not at all (an
	// error from write, or ctx cancelled, leaves none).
	AddContacts(ctx context.Context, v *ContactVersion, write func(io.Writer) error) error
	// ContactVersions lists the contacts versions with their sources, oldest first.
	ContactVersions(ctx context.Context) ([]ContactVersion, error)
	// ReadContacts streams the data of contacts version id (0: the newest) to read, a piece
	// at a time, and returns the version; ErrNoContacts when there is none.
	ReadContacts(ctx context.Context, id int64, read func(io.Reader) error) (ContactVersion, error)
	// Lock takes an exclusive lock named by key across processes (a plan being started by
	// several shards at once) and returns its release.
	Lock(ctx context.Context, key string) (unlock func(), err error)
	// ClaimAliased gives the aliased prefix on port, in run, to unit unless another unit of the
	// run claimed it first, and returns the unit that holds it: a /64 the run finds aliased
	// itself is observed by one unit, however many units hold addresses of it. A unit worked
	// again keeps its claim.
	ClaimAliased(ctx context.Context, run, unit int64, prefix string, port uint16) (holder int64, err error)
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

// ErrNewerSchema means the store was written by a newer clawcensus: nothing is read or written.
var ErrNewerSchema = errors.New("this store was written by a newer clawcensus")

// ErrOlderSchema means a store opened for reading was written by an older clawcensus: clawcensus
// migrate brings it up to date.
var ErrOlderSchema = errors.New("older schema")

// Open opens (and migrates) the store named by dsn: a postgres:// or postgresql:// URL or a
// key=value connection string for Postgres; otherwise a SQLite file path, taken literally
// unless it starts with "file:" (a SQLite URI). An empty dsn means DefaultPath. A store of a
// newer schema is refused with ErrNewerSchema before anything is written.
func Open(ctx context.Context, dsn string) (Store, error) {
	return open(ctx, dsn, false)
}

// OpenReadOnly opens an existing store for reading: it creates nothing, migrates nothing, and
// refuses a store whose schema is not this version's (ErrNewerSchema, or "run clawcensus
// migrate" for an older one).
func OpenReadOnly(ctx context.Context, dsn string) (Store, error) {
	return open(ctx, dsn, true)
}

func open(ctx context.Context, dsn string, readOnly bool) (Store, error) {
	if dsn == "" {
		dsn = DefaultPath
	}
	if IsPostgres(dsn) {
		return openPostgres(ctx, dsn, readOnly)
	}
	if strings.Contains(dsn, "://") {
		return nil, fmt.Errorf("%w: %q is neither a postgres:// URL nor a file path", ErrUnavailable, Redact(dsn))
	}
	return openSQLite(ctx, dsn, readOnly)
}

// IsPostgres reports whether dsn names a Postgres database (a postgres:// URL or a key=value
// connection string such as "host=db dbname=census") rather than a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") || keyValueDSN.MatchString(dsn)
}

var keyValueDSN = regexp.MustCompile(`^\s*(host|hostaddr|port|dbname|user|password|sslpassword|sslmode|sslcert|sslkey|sslrootcert|passfile|service|application_name|connect_timeout|options)\s*=`)

// checkSchema compares a store's schema version with the migrations this version knows.
func checkSchema(current, known int, readOnly bool) error {
	switch {
	case current > known:
		return fmt.Errorf("%w (schema %d; this one knows %d): upgrade clawcensus", ErrNewerSchema, current, known)
	case readOnly && current < known:
		return fmt.Errorf("%w: %w: the store is at schema %d, this clawcensus reads %d", ErrUnavailable, ErrOlderSchema, current, known)
	}
	return nil
}

// The secret parameters of a libpq connection string, in a URL's query or as key=value: the
// password and the passphrase of the client key (sslpassword). A quoted or unquoted value may
// hold backslash escapes ('a\'b', a\ b), which do not end it.
var (
	urlPassword = regexp.MustCompile(`(?i)([?&](?:ssl)?password=)[^&#]*`)
	kvPassword  = regexp.MustCompile(`(?i)(\b(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'?|(?:[^\s\\]|\\.)+)`)
)

// Redact hides the secrets (password, sslpassword) in a database URL or connection string
// before it reaches a log or an error.
func Redact(dsn string) string {
	dsn = urlPassword.ReplaceAllString(dsn, "${1}xxxxx")
	dsn = kvPassword.ReplaceAllString(dsn, "${1}xxxxx")
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

// derive turns a stored "running" into what a reader should see: planned when no worker
// ever started it, stalled when no worker is live and units are left.
func derive(sm *Summary, workers []Worker, now time.Time) {
	ever := false
	for _, w := range workers {
		if w.RunID != sm.ID {
			continue
		}
		ever = true
		if w.Live(now) {
			sm.LiveWorkers++
		}
	}
	if sm.Status != StatusRunning || sm.LiveWorkers > 0 || sm.UnitsTotal == 0 {
		return
	}
	if !ever && sm.UnitsDone == 0 {
		sm.Status = StatusPlanned
	} else if sm.UnitsDone < sm.UnitsTotal {
		sm.Status = StatusStalled
	}
}

// inProgress sums column of the run's units in hand (unit_progress) that are not done: what
// their workers said of them at their last heartbeat. Both backends read it alike.
func inProgress(column string) string {
	return `(SELECT COALESCE(SUM(p.` + column + `), 0) FROM unit_progress p WHERE p.run_id = runs.id
			AND NOT EXISTS (SELECT 1 FROM units u WHERE u.run_id = p.run_id AND u.unit = p.unit))`
}

// progressInOrder is a copy of l in unit order: two heartbeats that write the same units
// take their rows in one order.
func progressInOrder(l []UnitProgress) []UnitProgress {
	return slices.SortedFunc(slices.Values(l), func(a, b UnitProgress) int { return cmp.Compare(a.Unit, b.Unit) })
}

// dedupe keeps one observation per host:port of a batch, in the batch's order: a result
// before an unprobed mark, a later result before an earlier one (as the upsert would).
func dedupe(obs []observation.Observation) []observation.Observation {
	index := make(map[netip.AddrPort]int, len(obs))
	out := obs[:0:0]
	for _, o := range obs {
		k := netip.AddrPortFrom(o.IP, o.Port)
		i, seen := index[k]
		switch {
		case !seen:
			index[k] = len(out)
			out = append(out, o)
		case o.Outcome != observation.Unprobed || out[i].Outcome == observation.Unprobed:
			out[i] = o
		}
	}
	return out
}

// Counting. A finished unit's counts are kept per unit (unit_counts); a report adds those up
// and counts live only the observations of units not yet done (and of runs made before units).
// Both come as rows (run, dim, key, n) of the same dimensions: every one of them counts the
// gateways that count (observation.Observation.Counts), but dimHoneypot, which counts the
// probable honeypots apart.
const (
	dimGateway  = "gw"   // key: [product, version, auth, official]
	dimHoneypot = "hp"   // key: the product a probable honeypot copies
	dimNetwork  = "net"  // key: [country, asn]
	dimFlag     = "flag" // key: a posture flag
	dimMIIT     = "miit" // key: a MIIT/NVDB violation
	dimAdv      = "adv"  // key: an advisory id
	dimVStatus  = "vs"   // key: a version status
	dimFamily   = "fam"  // key: ipv4 or ipv6
)

// addDim adds one counting row to a summary.
func addDim(sm *Summary, dim, key string, n int64) error {
	switch dim {
	case dimFlag:
		sm.ByFlag[key] += n
		return nil
	case dimMIIT:
		sm.ByMIIT[key] += n
		return nil
	case dimAdv:
		sm.ByAdvisory[key] += n
		return nil
	case dimVStatus:
		sm.ByVersionStatus[key] += n
		return nil
	case dimHoneypot:
		sm.Honeypots += n
		return nil
	case dimFamily:
		sm.ByFamily[key] += n
		return nil
	}
	var k []any
	if err := json.Unmarshal([]byte(key), &k); err != nil {
		return fmt.Errorf("count key %q: %w", key, err)
	}
	str := func(i int) string {
		if i < len(k) {
			if s, ok := k[i].(string); ok {
				return s
			}
		}
		return ""
	}
	switch dim {
	case dimGateway:
		var official *bool
		if len(k) > 3 {
			switch v := k[3].(type) {
			case bool:
				official = &v
			case float64:
				b := v != 0
				official = &b
			}
		}
		addCounts(sm, str(0), str(1), str(2), official, n)
	case dimNetwork:
		var asn float64
		if len(k) > 1 {
			asn, _ = k[1].(float64)
		}
		addNetworkCounts(sm, str(0), uint32(asn), n)
	default:
		return fmt.Errorf("count dimension %q", dim)
	}
	return nil
}

// batchUnits lists the distinct units of a batch.
func batchUnits(obs []observation.Observation) []int64 {
	var out []int64
	seen := map[int64]bool{}
	for _, o := range obs {
		if !seen[o.Unit] {
			seen[o.Unit] = true
			out = append(out, o.Unit)
		}
	}
	return out
}

// liveRuns lists the runs whose counts are not all kept per unit: those not complete, and
// those made before units.
func liveRuns(sums []Summary) []int64 {
	var out []int64
	for _, s := range sums {
		if s.Status != StatusComplete || s.UnitsTotal == 0 {
			out = append(out, s.ID)
		}
	}
	return out
}
