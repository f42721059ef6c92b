package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/store/storetest"
)

// backends opens a fresh store of every backend this machine has (storetest.Backends).
func backends(t testing.TB) map[string]func(t testing.TB) Store {
	open := map[string]func(t testing.TB) Store{}
	for name, dsn := range storetest.Backends() {
		open[name] = func(t testing.TB) Store { return openTest(t, dsn(t)) }
	}
	return open
}

// openTest opens the store dsn names, closed when t ends.
func openTest(t testing.TB, dsn string) Store {
	st, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestContract(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			if st.Backend() != name {
				t.Errorf("Backend() = %q", st.Backend())
			}
			start := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
			run := &Run{StartedAt: start, Targets: "127.0.2.0/24", TargetCount: 256, Ports: "18789", Rate: 1000,
				Seed: 42, Shard: "0/1", ToolVersion: "test", Method: "connect", Plan: `{"specs":["127.0.2.0/24"]}`}
			if err := st.StartRun(ctx, run); err != nil {
				t.Fatal(err)
			}
			if run.ID == 0 || run.Status != StatusRunning {
				t.Fatalf("StartRun left id %d status %q", run.ID, run.Status)
			}
			yes := true
			obs := []observation.Observation{
				{IP: netip.MustParseAddr("127.0.2.1"), Port: 18789, Scheme: "http", Outcome: "openclaw", Product: "openclaw",
					Version: "2026.9.6", Channel: "release", Auth: "required", Official: &yes, Flags: []string{"plaintext-http"},
					Evidence: []string{"marker openclaw/title on GET /"}, MIIT: []string{"internet-exposure"}, Title: "OpenClaw Control",
					HTTPStatus: 200, ObservedAt: start.Add(time.Second)},
				{IP: netip.MustParseAddr("127.0.2.2"), Port: 18789, Scheme: "http", Outcome: "openclaw", Product: "openclaw",
					VersionCandidates: []string{"2026.2.2", "2026.2.2-3"}, Auth: "unknown", Advisories: []string{"CVE-2026-32034"},
					HTTPStatus: 200, ObservedAt: start.Add(2 * time.Second)},
				{IP: netip.MustParseAddr("::1"), Port: 443, Scheme: "https", Outcome: "openclaw", Product: "clawdbot",
					Version: "2026.1.24-3", Auth: "none", HTTPStatus: 200, TLS: "TLS1.3; subject gw.example.ts.net",
					ASN: 4294967295, ASOrg: "Example AS", Country: "DE", Aliased: "::/104", ObservedAt: start.Add(3 * time.Second)},
				{IP: netip.MustParseAddr("127.0.2.3"), Port: 18789, Scheme: "http", Outcome: "not-openclaw", Title: "Welcome to nginx!",
					Server: "nginx", HTTPStatus: 200, Aliased: "127.0.2.0/24", ObservedAt: start.Add(4 * time.Second)},
				// A look-alike: counted apart (Honeypots), inside no other count.
				{IP: netip.MustParseAddr("127.0.2.4"), Port: 18789, Scheme: "http", Outcome: "openclaw", Product: "openclaw",
					Version: "2026.6.10", Auth: "none", Official: new(bool), Honeypot: true, Flags: []string{"plaintext-http", "probable-honeypot"},
					Server: "Apache/2.4.58 (Ubuntu)", HTTPStatus: 200, ObservedAt: start.Add(5 * time.Second)},
			}
			if err := st.AddObservations(ctx, run.ID, obs[:2]); err != nil {
				t.Fatal(err)
			}
			// A retried batch (the first two again) plus the rest: nothing counts twice.
			if err := st.AddObservations(ctx, run.ID, obs); err != nil {
				t.Fatal(err)
			}
			end := start.Add(time.Minute)
			if err := st.SetStatus(ctx, run.ID, StatusComplete, &end); err != nil {
				t.Fatal(err)
			}
			if err := st.SetStatus(ctx, run.ID, "done", &end); err == nil {
				t.Error("SetStatus accepted an unknown status")
			}

			got, err := st.Observations(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			opts := cmp.Options{cmpopts.EquateEmpty(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
				cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })}
			if diff := cmp.Diff(obs, got, opts); diff != "" {
				t.Errorf("observations (-stored +read):\n%s", diff)
			}

			sums, err := st.Summaries(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(sums) != 1 {
				t.Fatalf("%d summaries, want 1", len(sums))
			}
			s := sums[0]
			if s.Status != StatusComplete || s.EndedAt == nil || !s.EndedAt.Equal(end) {
				t.Errorf("run not finished as recorded: %+v", s.Run)
			}
			want := Summary{Detected: 3, Honeypots: 1,
				ByVersion:  map[string]int64{"2026.9.6": 1, "unknown": 1, "2026.1.24-3": 1},
				ByAuth:     map[string]int64{"required": 1, "unknown": 1, "none": 1},
				ByProduct:  map[string]int64{"openclaw": 2, "clawdbot": 1},
				ByOfficial: map[string]int64{"true": 1, "unknown": 2},
				ByFlag:     map[string]int64{"plaintext-http": 1},
				ByMIIT:     map[string]int64{"internet-exposure": 1},
				ByAdvisory: map[string]int64{"CVE-2026-32034": 1}, ByVersionStatus: map[string]int64{"": 3},
				ByCountry: map[string]int64{"DE": 1, "": 2},
				ByASN:     map[string]int64{"AS4294967295": 1, "": 2},
				// IPv4 and IPv6 apart (and together in Detected); two aliased prefixes answered,
				// one of them with a gateway.
				ByFamily: map[string]int64{"ipv4": 2, "ipv6": 1}, AliasedPrefixes: 2, AliasedGateways: 1}
			if diff := cmp.Diff(want, s, cmpopts.IgnoreFields(Summary{}, "Run")); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}

			// A reopened run is running again.
			if err := st.SetStatus(ctx, run.ID, StatusRunning, nil); err != nil {
				t.Fatal(err)
			}
			if err := st.SetStatus(ctx, 999999, StatusRunning, nil); !errors.Is(err, ErrNoRun) {
				t.Errorf("reopening a missing run: %v", err)
			}
			sums, err = st.Summaries(ctx)
			if err != nil || sums[0].Status != StatusRunning || sums[0].EndedAt != nil || sums[0].Plan != `{"specs":["127.0.2.0/24"]}` {
				t.Errorf("after reopen: %+v, %v", sums[0].Run, err)
			}

			// A second run counts on its own; runs come back oldest first.
			run2 := &Run{StartedAt: end, Targets: "x", Ports: "18789", Rate: 1, ToolVersion: "test", Method: "syn", Shard: "0/1"}
			if err := st.StartRun(ctx, run2); err != nil {
				t.Fatal(err)
			}
			if err := st.AddObservations(ctx, run2.ID, obs[:1]); err != nil {
				t.Fatal(err)
			}
			sums, err = st.Summaries(ctx)
			if err != nil || len(sums) != 2 || sums[1].ID != run2.ID || sums[1].Detected != 1 || sums[1].Status != StatusRunning {
				t.Errorf("after a second run: %+v, %v", sums, err)
			}
		})
	}
}

// TestUnitsAndWorkers holds the census bookkeeping on every backend: a unit's last batch and
// its done mark land together, the last unit completes the run with totals summed over units
// (a re-run unit replaces its totals, never adds), an unprobed mark never replaces a result,
// and a run's status is derived from its workers' heartbeats.
func TestUnitsAndWorkers(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			start := time.Now().UTC().Add(-time.Minute)
			run := &Run{StartedAt: start, Targets: "127.0.2.0/24", Ports: "18789", Rate: 1000, Shard: "0/1",
				ToolVersion: "test", Method: "connect", PlanKey: "k1", UnitsTotal: 3}
			if err := st.StartRun(ctx, run); err != nil {
				t.Fatal(err)
			}
			status := func() Summary {
				t.Helper()
				sums, err := st.Summaries(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return sums[0]
			}
			if s := status(); s.Status != StatusPlanned || s.UnitsTotal != 3 || s.PlanKey != "k1" {
				t.Errorf("a run no worker started: %+v", s.Run)
			}
			w := Worker{ID: "w1", RunID: run.ID, Host: "h", PID: 7, StartedAt: start, HeartbeatAt: time.Now().UTC()}
			if err := st.Heartbeat(ctx, w); err != nil {
				t.Fatal(err)
			}
			if s := status(); s.Status != StatusRunning || s.LiveWorkers != 1 {
				t.Errorf("with a live worker: %s, %d live", s.Status, s.LiveWorkers)
			}
			ip := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 2, byte(i)}) }
			unprobed := observation.Observation{IP: ip(1), Port: 18789, Outcome: observation.Unprobed, ObservedAt: start}
			gw := observation.Observation{IP: ip(1), Port: 18789, Outcome: observation.OpenClaw, Product: "openclaw", Auth: "none", ObservedAt: start.Add(time.Second)}
			if err := st.AddObservations(ctx, run.ID, []observation.Observation{unprobed}); err != nil {
				t.Fatal(err)
			}
			done, err := st.CompleteUnit(ctx, Unit{RunID: run.ID, Unit: 0, ProbesSent: 10, OpenPorts: 1, Worker: "w1", DoneAt: time.Now()},
				[]observation.Observation{gw, unprobed}) // one batch holding both: the result wins
			if err != nil || done {
				t.Fatalf("unit 0: complete %v, %v", done, err)
			}
			// A unit run twice (a rescued lease) replaces its totals; an unprobed mark stays behind a result.
			for range 2 {
				if done, err = st.CompleteUnit(ctx, Unit{RunID: run.ID, Unit: 1, ProbesSent: 10, OpenPorts: 1, Worker: "w1", DoneAt: time.Now()},
					[]observation.Observation{unprobed}); err != nil || done {
					t.Fatalf("unit 1: complete %v, %v", done, err)
				}
			}
			w.HeartbeatAt = time.Now().UTC().Add(-2 * WorkerTTL)
			if err := st.Heartbeat(ctx, w); err != nil {
				t.Fatal(err)
			}
			if s := status(); s.Status != StatusStalled || s.UnitsDone != 2 || s.LiveWorkers != 0 {
				t.Errorf("units left, no live worker: %s, %d done, %d live", s.Status, s.UnitsDone, s.LiveWorkers)
			}
			if done, err = st.CompleteUnit(ctx, Unit{RunID: run.ID, Unit: 2, ProbesSent: 5, Worker: "w2", DoneAt: time.Now()},
				[]observation.Observation{{IP: ip(2), Port: 18789, Outcome: observation.NotOpenClaw, ObservedAt: start}}); err != nil || !done {
				t.Fatalf("last unit: complete %v, %v", done, err)
			}
			units, err := st.DoneUnits(ctx, run.ID)
			if err != nil || !cmp.Equal(units, []int64{0, 1, 2}) {
				t.Errorf("done units %v, %v", units, err)
			}
			s := status()
			if s.Status != StatusComplete || s.EndedAt == nil || s.ProbesSent != 25 || s.OpenPorts != 2 || s.Detected != 1 {
				t.Errorf("complete run: %+v, detected %d", s.Run, s.Detected)
			}
			obs, err := st.Observations(ctx, run.ID)
			if err != nil || len(obs) != 2 || obs[0].Outcome != observation.OpenClaw {
				t.Errorf("observations %+v, %v", obs, err)
			}
			ws, err := st.Workers(ctx, run.ID)
			if err != nil || len(ws) != 1 || ws[0].ID != "w1" || ws[0].PID != 7 {
				t.Errorf("workers %+v, %v", ws, err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{"mysql://localhost/x", filepath.Join(t.TempDir(), "missing-dir", "x.db"),
		"postgres://nobody@127.0.0.1:1/none?connect_timeout=2"} {
		_, err := Open(ctx, dsn)
		if err == nil {
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if !strings.Contains(err.Error(), ErrUnavailable.Error()) {
			t.Errorf("Open(%q): %v, want ErrUnavailable", dsn, err)
		}
	}
	if got := Redact("postgres://u:secret@h/db"); strings.Contains(got, "secret") {
		t.Errorf("redact left the password: %s", got)
	}
}

func TestMigrationsAreNumbered(t *testing.T) {
	for _, b := range []string{"sqlite", "postgres"} {
		ms, err := loadMigrations(b)
		if err != nil || len(ms) == 0 {
			t.Errorf("%s migrations: %d, %v", b, len(ms), err)
		}
	}
}

// TestKeptCountsEqualLiveCounts checks that the counts kept per finished unit add up to what
// a live count of the same observations gives, and stay exact when a finished unit receives a
// late write (a dead worker's spool replayed after another worker completed the unit).
func TestKeptCountsEqualLiveCounts(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			run := &Run{StartedAt: time.Now().UTC(), Targets: "x", Ports: "18789", Rate: 1, Shard: "0/1", ToolVersion: "test",
				Method: "connect", UnitsTotal: 2}
			if err := st.StartRun(ctx, run); err != nil {
				t.Fatal(err)
			}
			yes, no := true, false
			var obs []observation.Observation
			for i := range 40 {
				o := observation.Observation{IP: netip.AddrFrom4([4]byte{127, 0, 2, byte(i)}), Port: 18789, Outcome: observation.NotOpenClaw,
					Unit: int64(i % 2), ObservedAt: time.Now().UTC()}
				if i%3 == 0 {
					o.Outcome, o.Product, o.Version, o.Auth = observation.OpenClaw, "openclaw", fmt.Sprintf("2026.%d.1", i%4+1), []string{"none", "required", "unknown"}[i/3%3]
					o.Official = []*bool{&yes, &no, nil}[i%3]
					o.Flags = []string{"plaintext-http", fmt.Sprintf("flag-%d", i%2)}
					o.MIIT = []string{"internet-exposure"}
					o.Country, o.ASN = []string{"DE", "FR", ""}[i%3], uint32(64500+i%2)
				}
				if i%9 == 0 { // a probable honeypot: counted apart, in no other count
					o.Honeypot, o.Flags = true, append(o.Flags, "probable-honeypot")
				}
				obs = append(obs, o)
			}
			if err := st.AddObservations(ctx, run.ID, obs); err != nil {
				t.Fatal(err)
			}
			summary := func() Summary {
				sums, err := st.Summaries(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return sums[0]
			}
			live := summary()
			if live.Detected != 9 || live.Honeypots != 5 || live.ByFlag["probable-honeypot"] != 0 || live.ByFlag["plaintext-http"] != 9 {
				t.Fatalf("live count: %d gateways, %d probable honeypots, flags %v; want 9 and 5 apart", live.Detected, live.Honeypots, live.ByFlag)
			}
			for u := range int64(2) {
				if _, err := st.CompleteUnit(ctx, Unit{RunID: run.ID, Unit: u, DoneAt: time.Now()}, nil); err != nil {
					t.Fatal(err)
				}
			}
			kept := summary()
			if kept.Status != StatusComplete {
				t.Fatalf("status %s", kept.Status)
			}
			ignore := cmpopts.IgnoreFields(Summary{}, "Run", "UnitsDone", "LiveWorkers")
			if diff := cmp.Diff(live, kept, ignore); diff != "" {
				t.Errorf("kept counts differ from live ones (-live +kept):\n%s", diff)
			}
			// A late result for a finished unit: a new gateway in unit 1.
			late := observation.Observation{IP: netip.MustParseAddr("127.0.2.200"), Port: 18789, Outcome: observation.OpenClaw, Product: "clawdbot",
				Auth: "none", Unit: 1, ObservedAt: time.Now().UTC()}
			if err := st.AddObservations(ctx, run.ID, []observation.Observation{late}); err != nil {
				t.Fatal(err)
			}
			if s := summary(); s.Detected != 10 || s.Honeypots != 5 || s.ByProduct["clawdbot"] != 1 {
				t.Errorf("after a late write: %d gateways, by product %v", s.Detected, s.ByProduct)
			}
		})
	}
}

// TestDatabaseNames holds what --db means: Postgres URLs and key=value strings, SQLite paths
// taken literally, passwords never in a message, reading that never creates a file, and a
// store of a newer schema refused before anything is written.
func TestDatabaseNames(t *testing.T) {
	ctx := context.Background()
	for dsn, want := range map[string]bool{
		"postgres://u@h/db": true, "postgresql://h/db": true, "host=/run/pg dbname=census": true,
		" dbname=census user=x": true, "a#b.db": false, "host.db": false, "census.db": false, "file:x.db?mode=ro": false,
	} {
		if IsPostgres(dsn) != want {
			t.Errorf("IsPostgres(%q) = %v", dsn, !want)
		}
	}
	for _, dsn := range []string{"postgres://u:secret@h/db", "postgres://u@h/db?password=secret&sslmode=off",
		"host=/nowhere password=secret dbname=x", "host=/nowhere password='sec ret' dbname=x", "PASSWORD=secret",
		// sslpassword (the client key's passphrase) was printed in clear in both forms.
		"postgres://u@h/db?sslmode=verify-full&sslpassword=secret", "postgres://u@h/db?SSLPassword=secret#x",
		"host=/nowhere sslkey=/k sslpassword=secret dbname=x", "sslpassword = 'sec ret' host=/nowhere",
		"host=/nowhere password='sec\\'ret secret' dbname=x", "host=/nowhere password=sec\\ secret dbname=x"} {
		if got := Redact(dsn); strings.Contains(got, "secret") || strings.Contains(got, "sec ret") {
			t.Errorf("Redact(%q) = %q", dsn, got)
		}
	}
	// A key=value string is Postgres, not a file of that name; its password stays out of the error.
	dir := t.TempDir()
	t.Chdir(dir)
	_, err := Open(ctx, "host="+dir+" port=1 dbname=x password=secret connect_timeout=2")
	if err == nil || !errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), "secret") {
		t.Errorf("key=value DSN: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a key=value DSN made files: %v", entries)
	}
	// A SQLite path is literal: "a#b.db" is that file.
	st, err := Open(ctx, filepath.Join(dir, "a#b.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := os.Stat(filepath.Join(dir, "a#b.db")); err != nil {
		t.Errorf("a#b.db: %v", err)
	}
	// Reading a missing store is an error and creates nothing.
	if _, err := OpenReadOnly(ctx, filepath.Join(dir, "typo.db")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("reading a missing store: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "typo.db")); err == nil {
		t.Error("reading a missing store created it")
	}
	// A store from a newer clawcensus is refused for writing and for reading.
	newer := filepath.Join(dir, "newer.db")
	st, err = Open(ctx, newer)
	if err != nil {
		t.Fatal(err)
	}
	st.(*SQLite).db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, '0099_future.sql', '')`)
	st.Close()
	for name, open := range map[string]func(context.Context, string) (Store, error){"Open": Open, "OpenReadOnly": OpenReadOnly} {
		if _, err := open(ctx, newer); !errors.Is(err, ErrNewerSchema) {
			t.Errorf("%s of a newer store: %v", name, err)
		}
	}
	ro, err := OpenReadOnly(ctx, filepath.Join(dir, "a#b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.StartRun(ctx, &Run{StartedAt: time.Now(), Targets: "x", Ports: "1", Shard: "0/1", ToolVersion: "t", Method: "connect"}); err == nil {
		t.Error("a read-only store took a write")
	}
}

// TestSQLiteBusyTimeout: a path gets the default busy timeout; a file: URI may set its own.
func TestSQLiteBusyTimeout(t *testing.T) {
	for path, want := range map[string]string{
		"a.db": "busy_timeout(10000)", "file:a.db": "busy_timeout(10000)", "file:a.db?mode=rwc": "busy_timeout(10000)",
		"file:a.db?_pragma=busy_timeout(200)": "busy_timeout(200)", "file:a.db?_pragma=busy_timeout%28200%29": "busy_timeout(200)", "busy_timeout(5).db": "busy_timeout(10000)",
	} {
		dsn, _ := url.QueryUnescape(SQLiteDSN(path))
		if strings.Count(dsn, "_pragma=busy_timeout(") != 1 || !strings.Contains(dsn, "_pragma="+want) {
			t.Errorf("SQLiteDSN(%q) = %q, want one %s", path, dsn, want)
		}
	}
}

// FuzzDatabaseNames: whatever --db holds, naming it never panics, and a password written in
// any of the accepted forms never survives Redact.
func FuzzDatabaseNames(f *testing.F) {
	for _, s := range []string{"postgres://u:pw@h/db", "host=/run dbname=x", "a#b.db", "file:x.db?mode=ro", "postgres://h/db?password=pw"} {
		f.Add(s, "s3cretXYZ")
	}
	f.Add("postgres://u:pw@h/db", "xxxx") // a password inside the mask (found by CI's fuzzing)
	f.Fuzz(func(t *testing.T, dsn, secret string) {
		IsPostgres(dsn)
		Redact(dsn)
		if len(secret) < 4 || strings.Trim(secret, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			return
		}
		// The redacted text must not depend on the secret: comparing with a different
		// password, not searching for the secret, since a secret such as "xxxx" is
		// contained in the mask itself.
		forms := func(pw string) []string {
			return []string{"postgres://u:" + pw + "@h/db", "postgres://u@h/db?sslmode=off&password=" + pw,
				"host=h password=" + pw + " dbname=x", "password='" + pw + "'",
				"postgres://u@h/db?sslpassword=" + pw + "&sslmode=verify-full", "host=h sslpassword=" + pw, "sslpassword='" + pw + "' host=h"}
		}
		other := "Q7" + secret
		for i, form := range forms(secret) {
			if got, want := Redact(form), Redact(forms(other)[i]); got != want || strings.Contains(got, other) {
				t.Errorf("Redact(%q) = %q, but %q for another password", form, got, want)
			}
		}
	})
}

// TestWorkerTTL: every reader judges a worker by the TTL its heartbeat names, so a worker with
// a short TTL shows dead soon after its last beat while one without stays live for WorkerTTL.
func TestWorkerTTL(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			run := &Run{StartedAt: time.Now().UTC(), Targets: "127.0.0.1", Ports: "1", Rate: 1, Shard: "0/1"}
			if err := st.StartRun(ctx, run); err != nil {
				t.Fatal(err)
			}
			beat := time.Now().UTC().Add(-3 * time.Second)
			for _, w := range []Worker{{ID: "short", TTL: 2 * time.Second}, {ID: "default"}} {
				w.RunID, w.StartedAt, w.HeartbeatAt, w.Unit = run.ID, beat, beat, 0
				if err := st.Heartbeat(ctx, w); err != nil {
					t.Fatal(err)
				}
			}
			ws, err := st.Workers(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			live := map[string]bool{}
			for _, w := range ws {
				live[w.ID] = w.Live(time.Now())
			}
			if live["short"] || !live["default"] || len(ws) != 2 {
				t.Errorf("live: %v (workers %+v)", live, ws)
			}
		})
	}
}

// TestReadOnlyMakesNoFiles: reading a WAL store made its -wal and -shm (and left them, owned
// by the reader), and in a folder the reader may not write it failed with "attempt to write
// a readonly database". A closed store is read as immutable now, one a writer holds through
// the writer's -wal and -shm; neither way makes a file. (As root the 0555 folder does not
// stop a write, so the files are looked for; cmd's TestReadOnlyStoreAsNobody reads as a user
// that cannot write.)
func TestReadOnlyMakesNoFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "ro.db")
	st, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	run := &Run{StartedAt: time.Now(), Targets: "127.0.0.0/24", Ports: "1", Shard: "0/1", ToolVersion: "t", Method: "connect"}
	if err := st.StartRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	st.Close()
	files := func() []string {
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	before := files()
	if len(before) != 1 {
		t.Fatalf("a closed store: %v", before)
	}
	os.Chmod(dir, 0o555)
	defer os.Chmod(dir, 0o755)
	for range 2 {
		ro, err := OpenReadOnly(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		sums, err := ro.Summaries(ctx)
		if err != nil || len(sums) != 1 {
			t.Errorf("read-only, closed store: %v %v", sums, err)
		}
		if _, err := ro.Observations(ctx, run.ID); err != nil {
			t.Error(err)
		}
		if err := ro.StartRun(ctx, &Run{StartedAt: time.Now(), Targets: "x", Ports: "1", Shard: "0/1", ToolVersion: "t", Method: "connect"}); err == nil {
			t.Error("a read-only store took a write")
		}
		ro.Close()
		if got := files(); !slices.Equal(got, before) {
			t.Errorf("reading made files: %v", got)
		}
	}
	// While a writer holds the store, a reader shares its WAL: it sees what is committed but
	// not checkpointed, before and after it opened.
	os.Chmod(dir, 0o755)
	w, err := Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.StartRun(ctx, &Run{StartedAt: time.Now(), Targets: "127.0.1.0/24", Ports: "1", Shard: "0/1", ToolVersion: "t", Method: "connect"}); err != nil {
		t.Fatal(err)
	}
	held := files()
	ro, err := OpenReadOnly(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if sums, err := ro.Summaries(ctx); err != nil || len(sums) != 2 {
		t.Errorf("beside a writer: %d runs, %v", len(sums), err)
	}
	if err := w.StartRun(ctx, &Run{StartedAt: time.Now(), Targets: "127.0.2.0/24", Ports: "1", Shard: "0/1", ToolVersion: "t", Method: "connect"}); err != nil {
		t.Fatal(err)
	}
	if sums, err := ro.Summaries(ctx); err != nil || len(sums) != 3 {
		t.Errorf("a write after the reader opened: %d runs, %v", len(sums), err)
	}
	if got := files(); !slices.Equal(got, held) {
		t.Errorf("reading beside a writer made files: %v, the writer's %v", got, held)
	}
}

// TestLiveProgress: a running run's probes and open ports are those of its done units plus
// what its workers said at their last heartbeat of the units in hand (before, a run read
// "probes sent 0, open ports 0" until it completed); a unit handed to another worker counts
// once, as its new worker says, and a done unit counts once, as done. The heartbeat keeps the
// worker's rate-budget fields.
func TestLiveProgress(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			run := &Run{StartedAt: time.Now().UTC(), Targets: "127.0.2.0/24", Ports: "18789", Rate: 1000, Shard: "0/1", UnitsTotal: 3}
			if err := st.StartRun(ctx, run); err != nil {
				t.Fatal(err)
			}
			beat := func(w Worker) {
				t.Helper()
				w.RunID, w.StartedAt, w.HeartbeatAt = run.ID, run.StartedAt, time.Now().UTC()
				if err := st.Heartbeat(ctx, w); err != nil {
					t.Fatal(err)
				}
			}
			totals := func() [3]int64 {
				t.Helper()
				runs, err := st.Runs(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return [3]int64{runs[0].ProbesSent, runs[0].OpenPorts, runs[0].UnitsDone}
			}
			beat(Worker{ID: "a", Unit: 0, Sweeping: true, RateCap: 300, Timeout: 5 * time.Second,
				Progress: []UnitProgress{{Unit: 1, ProbesSent: 70, OpenPorts: 3}, {Unit: 0, ProbesSent: 100, OpenPorts: 4}}})
			if got, want := totals(), [3]int64{170, 7, 0}; got != want {
				t.Errorf("two units in hand: probes, open, done %v, want %v", got, want)
			}
			// Worker a dies; b takes unit 1 over and says so at its first beat.
			beat(Worker{ID: "b", Unit: 1, Progress: []UnitProgress{{Unit: 1, ProbesSent: 10, OpenPorts: 1}}})
			if got, want := totals(), [3]int64{110, 5, 0}; got != want {
				t.Errorf("unit 1 handed over: %v, want %v", got, want)
			}
			if _, err := st.CompleteUnit(ctx, Unit{RunID: run.ID, Unit: 0, ProbesSent: 120, OpenPorts: 4, Worker: "a", DoneAt: time.Now()}, nil); err != nil {
				t.Fatal(err)
			}
			if got, want := totals(), [3]int64{130, 5, 1}; got != want {
				t.Errorf("unit 0 done: %v, want %v", got, want)
			}
			ws, err := st.Workers(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][3]any{}
			for _, w := range ws {
				got[w.ID] = [3]any{w.Sweeping, w.RateCap, w.Timeout}
			}
			want := map[string][3]any{"a": {true, 300, 5 * time.Second}, "b": {false, 0, time.Duration(0)}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("workers (-want +got):\n%s", diff)
			}
			now := time.Now()
			if a := ws[0]; a.HandOver(now) || !a.HandOver(now.Add(5*time.Second)) {
				t.Errorf("worker a (timeout 5s) handed over now: %v, in 5s: %v", a.HandOver(now), a.HandOver(now.Add(5*time.Second)))
			}
			if b := ws[1]; b.HandOver(now.Add(HeartbeatTimeout-time.Second)) || !b.HandOver(now.Add(HeartbeatTimeout)) {
				t.Error("worker b (no timeout of its own) is not judged by HeartbeatTimeout")
			}
		})
	}
}

// TestStagingTableAfterARollback: a transaction that made its connection's staging table and
// then failed (a deadlock, a run that is not there) took the table with it, and every later
// batch on that connection failed with `relation "observations_in" does not exist`, its unit
// waiting to complete for ever. Now the connection makes it again.
func TestStagingTableAfterARollback(t *testing.T) {
	u, err := url.Parse(storetest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "1") // one connection: the same one each time
	u.RawQuery = q.Encode()
	st := openTest(t, u.String())
	ctx := context.Background()
	run := &Run{StartedAt: time.Now().UTC(), Targets: "127.0.2.0/24", Ports: "18789", Rate: 1, Shard: "0/1", UnitsTotal: 1}
	if err := st.StartRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	o := observation.Observation{IP: netip.MustParseAddr("127.0.2.1"), Port: 18789, Outcome: observation.NotOpenClaw, ObservedAt: time.Now()}
	if err := st.AddObservations(ctx, run.ID+1, []observation.Observation{o}); err == nil {
		t.Fatal("observations of a run that is not there were stored")
	}
	if err := st.AddObservations(ctx, run.ID, []observation.Observation{o}); err != nil {
		t.Fatalf("the next batch on the connection: %v", err)
	}
}
