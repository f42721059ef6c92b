package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/enrich/enrichtest"
	"github.com/clawcensus/clawcensus/fingerprint/fixture"
	"github.com/clawcensus/clawcensus/report"
	"github.com/clawcensus/clawcensus/store"
	"github.com/clawcensus/clawcensus/store/storetest"
)

// The end-to-end tests drive the built binary against real listeners on 127.0.0.1: a replay
// of a real 2026.9.6 gateway, an nginx page and a closed port.

var cliBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "clawcensus-e2e")
	if err != nil {
		panic(err)
	}
	cliBinary = filepath.Join(dir, "clawcensus")
	out, err := exec.Command("go", "build", "-race", "-o", cliBinary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type lab struct {
	gateway, nginx, closed uint16
}

func startLab(t *testing.T) lab {
	t.Helper()
	l := lab{
		gateway: serveFixture(t, "../../fingerprint/testdata/gateways/openclaw-2026.9.6-token.txtar"),
		nginx:   serveFixture(t, "../../fingerprint/testdata/negatives/nginx-default.txtar"),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.closed = uint16(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	return l
}

// serveFixture replays one recorded host on a loopback port.
func serveFixture(t testing.TB, path string) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: fixtureHandler(t, path)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// fixtureHandler replays the recorded host of a fixture file.
func fixtureHandler(t testing.TB, path string) http.Handler {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := fixture.Parse(filepath.Base(path), data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// testEnv confines every run of the binary to loopback: whatever a test asks for, the scope
// guard refuses to send a probe anywhere else.
func testEnv() []string {
	return append(os.Environ(), "CLAWCENSUS_DB=", "CLAWCENSUS_SCOPE=127.0.0.0/8,::1",
		// The embedded knowledge base, whatever the machine's data directory holds.
		"CLAWCENSUS_DATA="+filepath.Join(os.TempDir(), "clawcensus-test-no-data"), "CLAWCENSUS_FINGERPRINTS=",
		// Root stays root in these tests (their stores sit in 0700 temporary directories);
		// TestPrivilegesDropped runs the switch to nobody.
		"CLAWCENSUS_USER=root")
}

type result struct {
	stdout, stderr string
	code           int
}

func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cliBinary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = testEnv()
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func decodeLines(t *testing.T, s string) []report.Record {
	t.Helper()
	var recs []report.Record
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var r report.Record
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("stdout line %q is not a record: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func scanArgs(l lab, db string, extra ...string) []string {
	args := []string{"scan", "--lab", "--scan-type", "connect", "--rate", "500", "--seed", "7",
		"--ports", fmt.Sprintf("%d,%d,%d", l.gateway, l.nginx, l.closed), "--db", db}
	return append(append(args, extra...), "127.0.0.1")
}

func TestScanEndToEnd(t *testing.T) {
	l := startLab(t)
	for backend, dsn := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			db := dsn(t)
			if res := runCLI(t, "", "migrate", "--db", db); res.code != 0 {
				t.Fatalf("migrate: exit %d: %s", res.code, res.stderr)
			}
			before := reportRuns(t, db)
			res := runCLI(t, "", scanArgs(l, db, "--authorization", "CERT-XX ticket 42; exposure survey; 127.0.0.1; 2026-11-26")...)
			if res.code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", res.code, res.stderr)
			}
			recs := decodeLines(t, res.stdout)
			if len(recs) != 1 {
				t.Fatalf("%d records on stdout, want the one gateway:\n%s", len(recs), res.stdout)
			}
			r := recs[0]
			if r.IP != "127.0.0.1" || r.Port != int(l.gateway) || r.Product != "openclaw" || r.Version != "2026.9.6" ||
				r.AuthText() != "required" || r.Outcome != "openclaw" || r.Official == nil || !*r.Official || r.Scheme != "http" || len(r.Evidence) == 0 {
				t.Errorf("record = %+v", r)
			}
			if _, err := time.Parse(time.RFC3339, r.ObservedAt); err != nil {
				t.Errorf("observed_at %q: %v", r.ObservedAt, err)
			}
			if !strings.Contains(res.stderr, "done: 3 probes sent (3 first pass, 0 retries)") || !strings.Contains(res.stderr, "scan finished") {
				t.Errorf("stderr lacks progress and summary:\n%s", res.stderr)
			}

			runs := reportRuns(t, db)
			if len(runs) != len(before)+1 {
				t.Fatalf("report has %d runs, want %d", len(runs), len(before)+1)
			}
			last := runs[len(runs)-1]
			if last.Status != "complete" || last.Detected != 1 || last.ByVersion["2026.9.6"] != 1 || last.ByAuth["required"] != 1 ||
				last.Seed != 7 || last.Method != "connect" || last.OpenPorts != 2 || !strings.HasPrefix(last.Authorization, "CERT-XX ticket 42") {
				t.Errorf("report run = %+v", last)
			}

			if backend == "sqlite" {
				st, err := store.Open(context.Background(), db)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				obs, err := st.Observations(context.Background(), last.ID)
				if err != nil {
					t.Fatal(err)
				}
				// Every open port is stored, the nginx page as not-openclaw; the closed port is not.
				got := map[uint16]string{}
				for _, o := range obs {
					got[o.Port] = string(o.Outcome) + "/" + o.Product + "/" + o.Version
				}
				want := map[uint16]string{l.gateway: "openclaw/openclaw/2026.9.6", l.nginx: "not-openclaw//"}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("stored %v, want %v", got, want)
				}
			}

			if last.ByOfficial["true"] != 1 || last.ByMIIT["internet-exposure"] != 1 || last.ByFlag["plaintext-http"] != 1 {
				t.Errorf("report breakdowns: official %v, miit %v, flags %v", last.ByOfficial, last.ByMIIT, last.ByFlag)
			}

			exp := runCLI(t, "", "export", "--db", db, "--run", fmt.Sprint(last.ID))
			lines := strings.Split(strings.TrimSpace(exp.stdout), "\n")
			if exp.code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "timestamp,severity,ip,protocol,port,hostname,tag,") ||
				!strings.Contains(lines[1], ",low,127.0.0.1,tcp,") || !strings.Contains(lines[1], "openclaw,auth-required") ||
				!strings.Contains(exp.stderr, "TLP:AMBER") {
				t.Errorf("export: exit %d\n%s\n%s", exp.code, exp.stdout, exp.stderr)
			}

			ws := runCLI(t, "", scanArgs(l, db, "--websocket")...)
			if recs := decodeLines(t, ws.stdout); ws.code != 0 || len(recs) != 1 || !slices.Contains(recs[0].Flags, "websocket-challenge") {
				t.Errorf("--websocket: exit %d, %s\n%s", ws.code, ws.stdout, ws.stderr)
			}

			tr := runCLI(t, "", "trend", "--db", db, "--format", "json")
			if tr.code != 0 || !strings.Contains(tr.stdout, `"reachable": 1`) || !strings.Contains(tr.stdout, `"auth_required": 1`) {
				t.Errorf("trend: exit %d\n%s\n%s", tr.code, tr.stdout, tr.stderr)
			}

			all := runCLI(t, "", scanArgs(l, db, "--all", "--format", "csv")...)
			if all.code != 0 || !strings.Contains(all.stdout, "timestamp,ip,port") || !strings.Contains(all.stdout, "not-openclaw") ||
				strings.Count(strings.TrimSpace(all.stdout), "\n") != 2 {
				t.Errorf("--all --format csv: exit %d\n%s", all.code, all.stdout)
			}
		})
	}
}

func reportRuns(t *testing.T, db string) []report.RunRecord {
	t.Helper()
	res := runCLI(t, "", "report", "--db", db, "--format", "json")
	if res.code != 0 {
		t.Fatalf("report: exit %d: %s", res.code, res.stderr)
	}
	var rep struct {
		Runs []report.RunRecord `json:"runs"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("report JSON: %v\n%s", err, res.stdout)
	}
	return rep.Runs
}

// lastRun is the newest run in db's report.
func lastRun(t *testing.T, db string) report.RunRecord {
	t.Helper()
	var last report.RunRecord
	for _, r := range reportRuns(t, db) {
		if r.ID > last.ID {
			last = r
		}
	}
	return last
}

func TestRefusalsAndUsageErrors(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.db")
	missing := filepath.Join(dir, "typo.db")
	newer := filepath.Join(dir, "newer.db")
	empty := filepath.Join(dir, "empty.db")
	for _, path := range []string{newer, empty} {
		st, err := store.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	raw, err := sql.Open("sqlite", newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, '0099_future.sql', '')`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"reserved range without --lab", []string{"scan", "--dry-run", "--db", db, "198.18.0.0/15"}, 2, "reserved ranges (built-in blocklist"},
		{"loopback without --lab", []string{"scan", "--db", db, "127.0.0.1"}, 2, "reserved ranges (built-in blocklist"},
		{"excluded by file", []string{"scan", "--lab", "--db", db, "--exclude", "testdata/exclude-all.txt", "127.0.0.1"}, 2, "cmd/clawcensus/testdata/exclude-all.txt"},
		{"opted out", []string{"scan", "--lab", "--db", db, "--optout", "testdata/optout.csv", "127.0.0.1"}, 2, "requested by noc@example.net on 2026-11-01"},
		{"bad target", []string{"scan", "--db", db, "example.com"}, 2, "not an IP address"},
		{"no target", []string{"scan", "--db", db}, 2, "no targets"},
		{"bad port", []string{"scan", "--db", db, "--ports", "70000", "127.0.0.1"}, 2, "not a port"},
		{"bad shard", []string{"scan", "--db", db, "--shard", "3/3", "127.0.0.1"}, 2, "shard"},
		{"bad flag", []string{"scan", "--no-such-flag", "127.0.0.1"}, 2, "no-such-flag"},
		{"bad format", []string{"report", "--db", db, "--format", "xml"}, 2, "want text, json, csv, md or html"},
		{"unreachable database", []string{"report", "--db", "postgres://nobody@127.0.0.1:1/x?connect_timeout=2"}, 2, "database unavailable"},
		{"unknown active probe", []string{"scan", "--lab", "--db", db, "--active-probe", "exploit", "127.0.0.1"}, 2, "no such opt-in probe"},
		{"huge run unconfirmed", []string{"scan", "--lab", "--db", db, "--ports", "1-2", "127.0.0.0/8"}, 2, "--confirm-large"},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"report on a missing store", []string{"report", "--db", missing}, 2, "no store at"},
		{"trend on a missing store", []string{"trend", "--db", missing}, 2, "no store at"},
		{"export on a missing store", []string{"export", "--db", missing}, 2, "no store at"},
		{"empty ports", []string{"scan", "--lab", "--db", db, "--ports", "", "127.0.0.1"}, 2, "--ports is empty"},
		{"zero timeout", []string{"scan", "--lab", "--db", db, "--timeout", "0s", "127.0.0.1"}, 2, "--timeout 0s: must be positive"},
		{"negative max runtime", []string{"scan", "--lab", "--db", db, "--max-runtime", "-1s", "127.0.0.1"}, 2, "--max-runtime -1s: must be positive"},
		{"key=value database", []string{"report", "--db", "host=" + dir + " port=1 dbname=x password=hunter2 connect_timeout=2"}, 2, "database unavailable"},
		{"newer store", []string{"scan", "--lab", "--db", newer, "127.0.0.1"}, 2, "written by a newer clawcensus"},
		{"newer store, read", []string{"report", "--db", newer}, 2, "written by a newer clawcensus"},
		{"serve off loopback without a token", []string{"serve", "--db", db, "--listen", "198.18.0.1:0"}, 2, "add --token"},
		{"serve with a short token", []string{"serve", "--db", db, "--token", "abc"}, 2, "at least 16 characters"},
		{"serve a missing store", []string{"serve", "--db", missing}, 2, "no store at"},
		{"report md on no runs", []string{"report", "--db", empty, "--format", "md"}, 2, "no runs to report"},
		{"report --run and --last", []string{"report", "--db", db, "--run", "1", "--last"}, 2, "not both"},
		{"export --by without -o", []string{"export", "--db", db, "--by", "asn"}, 2, "give -o DIR"},
		{"export --by cidrs without recipients", []string{"export", "--db", db, "--by", "cidrs", "-o", dir}, 2, "needs --recipients"},
		{"export --by nonsense", []string{"export", "--db", db, "--by", "planet", "-o", dir}, 2, "want asn, country, cidrs, contact"},
		{"export --format nonsense", []string{"export", "--db", db, "--format", "stix"}, 2, "want shadowserver, intelmq, xarf"},
		{"export --contacts-version without --by contact", []string{"export", "--db", db, "--by", "asn", "-o", dir, "--contacts-version", "1"}, 2, "goes with --by contact"},
		{"contacts lookup on a missing store", []string{"contacts", "lookup", "--db", missing, "127.0.0.1"}, 2, "no store at"},
		{"contacts list on a missing store", []string{"contacts", "list", "--db", missing}, 2, "no store at"},
		{"contacts lookup with no import", []string{"contacts", "lookup", "--db", empty, "127.0.0.1"}, 2, "no contacts in the store"},
		{"contacts list with an argument", []string{"contacts", "list", "--db", empty, "x"}, 2, "contacts list takes none"},
		// Issue 19 item 1: a CR or LF in a value that reaches a header, a file name, the store
		// or a terminal (a trailing CR in --contact failed every probe of a complete run).
		{"contact with a CR", []string{"scan", "--lab", "--dry-run", "--db", db, "--contact", "https://example.org/scan\r", "127.0.0.1"}, 2, "--contact \"https://example.org/scan\\r\": character U+000D"},
		{"authorization with a LF", []string{"plan", "--lab", "--db", db, "--authorization", "ticket 42\nforged line", "127.0.0.1"}, 2, "--authorization"},
		{"series with a bidi override", []string{"scan", "--lab", "--dry-run", "--db", db, "--series", "daily\u202e", "127.0.0.1"}, 2, "U+202E"},
		{"worker id with a LF", []string{"worker", "--db", db, "--id", "w1\n"}, 2, "--id"},
		{"spool with a CR", []string{"scan", "--lab", "--db", db, "--spool", dir + "/spool\r", "127.0.0.1"}, 2, "--spool"},
		{"exclude file name with an escape", []string{"scan", "--lab", "--db", db, "--exclude", "x\x1b[2J", "127.0.0.1"}, 2, "U+001B"},
		// Issue 19 item 5: N is bounded by the probes and by MaxShards, before anything is allocated.
		{"more shards than probes", []string{"scan", "--lab", "--dry-run", "--db", db, "--shard", "0/100000000", "127.0.0.0/24"}, 2, "at most 65536"},
		{"2^32 shards", []string{"scan", "--lab", "--dry-run", "--db", db, "--shard", "0/4294967296", "127.0.0.0/24"}, 2, "at most 65536"},
		{"a shard per probe and one more", []string{"scan", "--lab", "--dry-run", "--db", db, "--shard", "0/257", "127.0.0.0/24"}, 2, "at most 256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runCLI(t, "", tt.args...)
			if res.code != tt.code || !strings.Contains(res.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", res.code, res.stderr, tt.code, tt.want)
			}
			if strings.Contains(res.stderr, "hunter2") {
				t.Errorf("a password reached stderr: %q", res.stderr)
			}
			if res.stdout != "" {
				t.Errorf("stdout not empty: %q", res.stdout)
			}
		})
	}
}

// TestScopeGuard refuses a target outside --scope before a run exists, and a candidate outside
// it at send time (candidates are read only when the run works).
func TestScopeGuard(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	l := startLab(t)
	// The target is loopback, so even a broken guard sends nothing off this machine.
	res := runCLI(t, "", "scan", "--lab", "--scan-type", "connect", "--scope", "127.0.0.2", "--ports", fmt.Sprint(l.gateway), "--db", db, "127.0.0.1")
	if res.code != 2 || !strings.Contains(res.stderr, "outside the authorized scope") || res.stdout != "" {
		t.Errorf("exit %d, stderr:\n%s", res.code, res.stderr)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a refused plan opened the store")
	}
	res = runCLI(t, fmt.Sprintf("127.0.0.1:%d\n", l.gateway), "scan", "--lab", "--scope", "127.0.0.2", "--db", db, "--candidates", "-")
	if res.code != 2 || !strings.Contains(res.stderr, "outside the authorized scope") || !strings.Contains(res.stderr, "every candidate") {
		t.Errorf("candidates: exit %d, stderr:\n%s", res.code, res.stderr)
	}
}

// TestDryRunSendsNothing plans the whole IPv4 space as a dry run: the only spec beyond loopback
// and the namespace range that the suite names (addresses_test.go), because an Internet-scale
// refusal can be tested no other way; a dry run sends nothing, and the suite runs sealed.
func TestDryRunSendsNothing(t *testing.T) {
	res := runCLI(t, "", "scan", "--dry-run", "--db", filepath.Join(t.TempDir(), "x.db"), "0.0.0.0/0")
	// A dry run the scope would refuse prints what it would do, then exits 2 (issue 19 item 9).
	if res.code != 2 || !strings.Contains(res.stderr, "a run would be refused") {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	for _, want := range []string{"targets: 3702258432 addresses", "estimated duration: 1028h", "scope: a run would be refused",
		"lies outside the authorized scope 127.0.0.0/8,::1", "592708864 addresses: reserved ranges", "--confirm-large: needed", "nothing was sent"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, res.stdout)
		}
	}
	if strings.Contains(res.stderr, "scan started") {
		t.Error("a dry run started a scan")
	}
	// Overlapping targets are counted once (issue 19 item 6), inside the scope: exit 0.
	res = runCLI(t, "", "plan", "--dry-run", "--lab", "--ports", "1,2", "--shard", "1/24", "--db", filepath.Join(t.TempDir(), "x.db"),
		"127.0.0.0/29", "127.0.0.4-127.0.0.11", "127.0.0.1")
	if res.code != 0 || !strings.Contains(res.stdout, "targets: 12 addresses") || !strings.Contains(res.stdout, "probes: 1 ") {
		t.Errorf("overlapping targets: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// TestInterruptKeepsObservations sends SIGINT while candidates are still streaming in: what was
// observed is stored and the run is marked interrupted.
func TestInterruptKeepsObservations(t *testing.T) {
	l := startLab(t)
	db := filepath.Join(t.TempDir(), "int.db")
	cmd := exec.Command(cliBinary, "scan", "--lab", "--db", db, "--candidates", "-")
	cmd.Env = testEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(stdin, "127.0.0.1:%d\n127.0.0.1:%d\n", l.gateway, l.nginx)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(line, `"product":"openclaw"`) {
		t.Fatalf("no detection before the interrupt: %q %v; stderr %s", line, err, stderr.String())
	}
	cmd.Process.Signal(syscall.SIGINT)
	waitInterrupted(t, cmd, stdin, &stderr, db, "interrupted")
}

// waitInterrupted waits for a scan that was stopped mid-run and checks that it exited 1, said
// why, and left one interrupted run with its one detection in the store.
func waitInterrupted(t *testing.T, cmd *exec.Cmd, stdin io.Closer, stderr *bytes.Buffer, db, why string) []report.RunRecord {
	t.Helper()
	err := cmd.Wait()
	stdin.Close()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want 1; stderr:\n%s", err, stderr.String())
	}
	runs := reportRuns(t, db)
	if len(runs) != 1 || runs[0].Status != "interrupted" || runs[0].Detected != 1 {
		t.Errorf("the report says %+v", runs)
	}
	if !strings.Contains(stderr.String(), why) {
		t.Errorf("stderr does not say %q:\n%s", why, stderr.String())
	}
	return runs
}

func TestCandidatesFromExternalSweep(t *testing.T) {
	l := startLab(t)
	db := filepath.Join(t.TempDir(), "c.db")
	masscan := fmt.Sprintf("open tcp %d 127.0.0.1 1700000000\nopen tcp %d 127.0.0.1 1700000001\n", l.gateway, l.nginx)
	res := runCLI(t, masscan, "scan", "--lab", "--db", db, "--candidates", "-", "--format", "table")
	if res.code != 0 || !strings.Contains(res.stdout, "2026.9.6") || strings.Count(res.stdout, "\n") != 2 || !strings.Contains(res.stderr, "done: 2 candidate lines read") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	// A candidate the reserved ranges cover is skipped; with nothing left, exit 2 as a sweep.
	res = runCLI(t, "127.0.0.1:18789\n", "scan", "--db", db, "--candidates", "-")
	if res.code != 2 || !strings.Contains(res.stderr, "candidate skipped") || !strings.Contains(res.stderr, "every candidate") || res.stdout != "" {
		t.Errorf("a reserved candidate was not skipped: exit %d\n%s", res.code, res.stderr)
	}
	// Unparsable and out-of-scope lines are skipped with their line numbers, records about
	// ports that are not open (masscan's banners) are counted apart; the run goes on and
	// probes the rest.
	file := filepath.Join(t.TempDir(), "masscan.txt")
	os.WriteFile(file, []byte(fmt.Sprintf("#masscan\nbanner tcp %d 127.0.0.1 1 http Server: x\n%sopen tcp 9 127.0.9.9 1\nopen tcp x\n", l.gateway, masscan)), 0o644)
	res = runCLI(t, "", "scan", "--lab", "--scope", "127.0.0.1", "--db", db, "--candidates", file)
	if res.code != 0 || !strings.Contains(res.stdout, "2026.9.6") || strings.Contains(res.stderr, "line=2") ||
		!strings.Contains(res.stderr, "line=5") || !strings.Contains(res.stderr, "line=6") || !strings.Contains(res.stderr, "records=2") ||
		!strings.Contains(res.stderr, "not open read past") {
		t.Errorf("bad candidate lines: exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	// nmap's XML as written (the structure of scanner/testdata/candidates/nmap.xml): the open
	// ports of each host, not the closed ones.
	nmap := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -sT" version="7.93" xmloutputversion="1.05">
<host starttime="1" endtime="1"><status state="up" reason="user-set" reason_ttl="0"/>
<address addr="127.0.0.1" addrtype="ipv4"/>
<ports><port protocol="tcp" portid="%d"><state state="open" reason="syn-ack" reason_ttl="0"/><service name="unknown" method="table" conf="3"/></port>
<port protocol="tcp" portid="%d"><state state="open" reason="syn-ack" reason_ttl="0"/></port>
<port protocol="tcp" portid="1"><state state="closed" reason="conn-refused" reason_ttl="0"/></port>
</ports></host>
<host><address addr="127.0.0.1" addrtype="ipv4"/><ports><port protocol="tcp" portid="%d"><state state="open"/></port></ports></host>
<runstats><finished time="1" elapsed="0.1" exit="success"/><hosts up="1" down="0" total="1"/></runstats>
</nmaprun>
`, l.gateway, l.nginx, l.gateway)
	// The gateway named twice (two overlapping nmap runs put together) is probed and counted once.
	res = runCLI(t, nmap, "scan", "--lab", "--db", db, "--candidates", "-", "--format", "table")
	if res.code != 0 || !strings.Contains(res.stdout, "2026.9.6") || strings.Count(res.stdout, "\n") != 2 ||
		!strings.Contains(res.stderr, "probed once") || lastRun(t, db).Detected != 1 {
		t.Errorf("nmap XML candidates: exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	// A file whose every line is skipped is refused before a run exists.
	os.WriteFile(file, []byte("garbage\n127.0.0.1:99999\n"), 0o644)
	before := len(reportRuns(t, db))
	res = runCLI(t, "", "scan", "--lab", "--db", db, "--candidates", file)
	if res.code != 2 || !strings.Contains(res.stderr, "every candidate") || len(reportRuns(t, db)) != before {
		t.Errorf("an all-skipped file: exit %d\n%s", res.code, res.stderr)
	}
}

func TestFingerprintsListsReleases(t *testing.T) {
	res := runCLI(t, "", "fingerprints")
	if res.code != 0 || !strings.Contains(res.stdout, "2026.9.6") || !strings.Contains(res.stdout, "clawdbot") ||
		!regexp.MustCompile(`\nCVE-2026-25253 +high +GHSA-g8p2-7wf7-98mq `).MatchString(res.stdout) {
		t.Errorf("exit %d\n%s", res.code, res.stdout)
	}
}

func TestScanIPv6Loopback(t *testing.T) {
	data, err := os.ReadFile("../../fingerprint/testdata/gateways/openclaw-2026.6.10-none.txtar")
	if err != nil {
		t.Fatal(err)
	}
	f, err := fixture.Parse("gw", data)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	srv := &http.Server{Handler: f}
	go srv.Serve(ln)
	defer srv.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	res := runCLI(t, "", "scan", "--lab", "--scan-type", "connect", "--ports", fmt.Sprint(port), "--db", filepath.Join(t.TempDir(), "v6.db"), "::1")
	recs := decodeLines(t, res.stdout)
	if res.code != 0 || len(recs) != 1 || recs[0].IP != "::1" || recs[0].Version != "2026.6.10" || recs[0].AuthText() != "none" {
		t.Errorf("exit %d, records %+v\n%s", res.code, recs, res.stderr)
	}
}

// TestClosedStdoutKeepsObservations closes the reader of stdout mid-run (as `| head -1`
// does): the scan stops, and what it saw is stored, including the result it could not print.
func TestClosedStdoutKeepsObservations(t *testing.T) {
	l := startLab(t)
	db := filepath.Join(t.TempDir(), "pipe.db")
	cmd := exec.Command(cliBinary, "scan", "--lab", "--all", "--db", db, "--candidates", "-")
	cmd.Env = testEnv()
	stdin, _ := cmd.StdinPipe()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	fmt.Fprintf(stdin, "127.0.0.1:%d\n", l.gateway)
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || !strings.Contains(line, "openclaw") {
		t.Fatalf("first line %q, %v; stderr %s", line, err, stderr.String())
	}
	r.Close()
	fmt.Fprintf(stdin, "127.0.0.1:%d\n", l.nginx)
	runs := waitInterrupted(t, cmd, stdin, &stderr, db, "stdout closed")
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	obs, _ := st.Observations(context.Background(), runs[0].ID)
	if len(obs) != 2 {
		t.Errorf("%d observations stored, want both the printed gateway and the unprintable nginx page", len(obs))
	}
}

// TestResumeInterruptedRun stops a slow sweep part-way, then resumes it: the same run id
// finishes, starting near its checkpoint, and every target is covered once.
func TestResumeInterruptedRun(t *testing.T) {
	l := startLab(t)
	db := filepath.Join(t.TempDir(), "resume.db")
	args := []string{"scan", "--scan-type", "connect", "--rate", "20", "--timeout", "1s", "--retries", "0", "--db", db}
	cmd := exec.Command(cliBinary, append(args, "--lab", "--seed", "5", "--unit-size", "32", "--ports", fmt.Sprint(l.gateway), "127.0.0.0/25")...)
	cmd.Env = testEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupted once a unit of four is done: the resume works the other three.
	waitForRun(t, db, func(r report.RunRecord) bool { return r.UnitsDone > 0 })
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	runs := reportRuns(t, db)
	if len(runs) != 1 || runs[0].Status != "interrupted" || runs[0].UnitsDone == 0 || runs[0].UnitsDone == runs[0].UnitsTotal {
		t.Fatalf("after SIGINT: %+v\n%s", runs, stderr.String())
	}

	// The stored plan is the resume's: its rate (20/s), targets, ports; flags of a plan are refused.
	res := runCLI(t, "", "scan", "--db", db, "--resume", fmt.Sprint(runs[0].ID))
	if res.code != 0 || !strings.Contains(res.stderr, "resuming") || !strings.Contains(res.stderr, "rate=20 ") {
		t.Fatalf("resume: exit %d\n%s", res.code, res.stderr)
	}
	runs = reportRuns(t, db)
	if len(runs) != 1 || runs[0].Status != "complete" || runs[0].Detected != 1 {
		t.Errorf("after resuming: %+v", runs)
	}
	for _, bad := range [][]string{{"--resume", fmt.Sprint(runs[0].ID)}, {"--resume", "99"}, {"--resume", "1", "--lab"}} {
		res := runCLI(t, "", append([]string{"scan", "--db", db}, bad...)...)
		if res.code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", bad, res.code, res.stderr)
		}
	}
}

// TestEnrichmentFromLocalDatabases scans with country and ASN databases (written at test time
// with mmdbwriter for 127.0.0.0/8) and checks the JSONL, the report and the export carry them.
func TestEnrichmentFromLocalDatabases(t *testing.T) {
	l := startLab(t)
	dir := t.TempDir()
	country, asn := enrichtest.WriteDatabases(t, dir, "127.0.0.0/8")
	db := filepath.Join(dir, "e.db")
	res := runCLI(t, "", scanArgs(l, db, "--country-db", country, "--asn-db", asn)...)
	recs := decodeLines(t, res.stdout)
	if res.code != 0 || len(recs) != 1 || recs[0].ASN != 64500 || recs[0].Country != "DE" || recs[0].ASOrg != "Example Lab AS" {
		t.Fatalf("exit %d, %+v\n%s", res.code, recs, res.stderr)
	}
	runs := reportRuns(t, db)
	if len(runs) != 1 || runs[0].ByCountry["DE"] != 1 || runs[0].ByASN["AS64500"] != 1 || !strings.Contains(runs[0].Enrichment, "Test-Country built") {
		t.Errorf("report: %+v", runs)
	}
	exp := runCLI(t, "", "export", "--db", db)
	if !strings.Contains(exp.stdout, ",64500,DE,") || !strings.Contains(exp.stderr, "asn and geo from: Test-Country") {
		t.Errorf("export:\n%s\n%s", exp.stdout, exp.stderr)
	}
	// The same gateway as an IntelMQ event and an X-ARF report (report's tests check the fields).
	if ev := runCLI(t, "", "export", "--db", db, "--format", "intelmq"); ev.code != 0 || !strings.Contains(ev.stdout, `"source.asn":64500`) ||
		!strings.Contains(ev.stdout, `"source.geolocation.cc":"DE"`) {
		t.Errorf("export --format intelmq: exit %d\n%s\n%s", ev.code, ev.stdout, ev.stderr)
	}
	if x := runCLI(t, "", "export", "--db", db, "--format", "xarf", "--reporter", "CERT Lab,cert@lab.example"); x.code != 0 ||
		!strings.Contains(x.stdout, `"source_identifier":"127.0.0.1"`) || !strings.Contains(x.stdout, `"domain":"lab.example"`) {
		t.Errorf("export --format xarf: exit %d\n%s\n%s", x.code, x.stdout, x.stderr)
	}
	// A notification pack per AS, read back by header, with the AS name and the data sets.
	pack := filepath.Join(dir, "pack")
	if res := runCLI(t, "", "export", "--db", db, "--by", "asn", "-o", pack); res.code != 0 || !strings.Contains(res.stderr, "1 gateways to 1 recipients (1 files)") {
		t.Fatalf("export --by asn: exit %d\n%s", res.code, res.stderr)
	}
	day := runs[0].StartedAt[:10]
	f, err := os.Open(filepath.Join(pack, day+"-scan_openclaw-as64500.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recsCSV, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recsCSV) != 2 {
		t.Fatalf("pack file: %v %v", recsCSV, err)
	}
	row := map[string]string{}
	for i, h := range recsCSV[0] {
		row[h] = recsCSV[1][i]
	}
	if row["ip"] != "127.0.0.1" || row["asn"] != "64500" || row["as_name"] != "Example Lab AS" || row["geo"] != "DE" || row["version"] != "2026.9.6" {
		t.Errorf("pack row %v", row)
	}
	manifest, _ := os.ReadFile(filepath.Join(pack, "manifest.json"))
	summary, _ := os.ReadFile(filepath.Join(pack, "summary.md"))
	if !strings.Contains(string(manifest), "Test-Country built") || !strings.Contains(string(summary), "## Methodology") {
		t.Errorf("manifest %s\nsummary %.200s", manifest, summary)
	}
	bad := runCLI(t, "", scanArgs(l, db, "--asn-db", filepath.Join(dir, "missing.mmdb"))...)
	if bad.code != 2 || !strings.Contains(bad.stderr, "enrichment database") {
		t.Errorf("missing database: exit %d: %s", bad.code, bad.stderr)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	l := startLab(t)
	cmd := exec.Command(cliBinary, "scan", "--lab", "--db", filepath.Join(t.TempDir(), "m.db"), "--candidates", "-", "--metrics-addr", "127.0.0.1:0")
	cmd.Env = testEnv()
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	errLines := bufio.NewScanner(stderr)
	addr := ""
	for addr == "" && errLines.Scan() {
		if _, a, ok := strings.Cut(errLines.Text(), "msg=metrics addr="); ok {
			addr = a
		}
	}
	go io.Copy(io.Discard, stderr)
	if addr == "" {
		t.Fatal("no metrics address logged")
	}
	lookalike := serveFixture(t, "../../fingerprint/testdata/negatives/lookalike-server-apache.txtar")
	fmt.Fprintf(stdin, "127.0.0.1:%d\n127.0.0.1:%d\n", l.gateway, lookalike)
	out := bufio.NewReader(stdout)
	for range 2 {
		if _, err := out.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `clawcensus_gateways_detected{run="1"} 1`) || !strings.Contains(string(body), `clawcensus_probable_honeypots{run="1"} 1`) {
		t.Errorf("metrics:\n%s", body)
	}
}
