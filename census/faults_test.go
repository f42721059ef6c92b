package census

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/scanner"
	"github.com/clawcensus/clawcensus/store"
)

// logBuffer collects what the default logger writes while a test runs.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// captureLog sends the default logger to a buffer until t ends.
func captureLog(t *testing.T) *logBuffer {
	t.Helper()
	buf := &logBuffer{}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return buf
}

// planShared stores a plan of 127.0.1.0/28 on port, cut into units of 4 probes, for workers
// anywhere.
func planShared(t *testing.T, c *Census, port int, mutate func(*PlanConfig)) (*store.Run, []int64) {
	t.Helper()
	seed := int64(11)
	cfg := PlanConfig{Targets: []string{"127.0.1.0/28"}, Ports: []uint16{uint16(port)}, Seed: &seed, Lab: true, Scope: "127.0.0.0/8",
		Rate: 5000, Method: "connect", UnitSize: 4, Timeout: time.Second}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := NewPlan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	run, units, err := c.Start(context.Background(), p, RunInfo{ToolVersion: "test"}, nil, Shared)
	if err != nil {
		t.Fatal(err)
	}
	return run, units
}

// TestScopeRefusalReleasesUnits: a worker whose scope leaves out a run says so once, hands
// each unit it took back at once without spending an attempt, stops taking the run's units and
// stops (an error naming the refusal) when they are all that is left; a worker whose scope
// holds the run then completes it. Before, the refused units failed, spent their attempts and
// waited out River's backoff, and the worker never stopped.
func TestScopeRefusalReleasesUnits(t *testing.T) {
	ctx := context.Background()
	port := freePort(t)
	want := listeners(t, 5, port)
	dir := t.TempDir()
	c, err := Open(ctx, filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	run, units := planShared(t, c, port, nil)
	logs := captureLog(t)

	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = c.Work(wctx, WorkerConfig{ID: "narrow", Scope: "127.0.9.0/24", Spool: filepath.Join(dir, "spool"), PollInterval: 50 * time.Millisecond})
	if !errors.Is(err, ErrRefused) || wctx.Err() != nil || !strings.Contains(err.Error(), fmt.Sprintf("run %d refused", run.ID)) {
		t.Fatalf("the refusing worker ended with %v (its context: %v)", err, wctx.Err())
	}
	if n := strings.Count(logs.String(), "run refused"); n != 1 {
		t.Errorf("the refusal was said %d times, want once:\n%s", n, logs)
	}
	// It never beat on the run: no one may take it for a live worker holding a unit.
	if ws, err := c.Store().Workers(ctx, run.ID); err != nil || len(ws) != 0 {
		t.Errorf("the refusing worker is among the run's workers: %+v, %v", ws, err)
	}
	// Every unit waits for another worker, none of its attempts spent.
	rows, err := c.Store().Handle().(*sql.DB).QueryContext(ctx, `SELECT state, attempt FROM river_job ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for rows.Next() {
		var state string
		var attempt int
		if err := rows.Scan(&state, &attempt); err != nil {
			t.Fatal(err)
		}
		states = append(states, fmt.Sprint(state, " ", attempt))
	}
	rows.Close()
	wantStates := make([]string, len(units))
	for i := range wantStates {
		wantStates[i] = "available 0"
	}
	if diff := cmp.Diff(wantStates, states); diff != "" {
		t.Errorf("the run's units after the refusal (-want +got):\n%s", diff)
	}
	err = c.Work(wctx, WorkerConfig{ID: "wide", Scope: "127.0.0.0/8", Spool: filepath.Join(dir, "spool"), PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := stored(t, c.Store(), run.ID); len(got) != len(want) {
		t.Errorf("%d host:ports stored, want %d", len(got), len(want))
	}
}

// TestDamagedSpoolIsMovedAside: a worker whose own spool holds a damaged line (and a record of
// a run the store does not hold) stores the readable records, moves the file aside with a
// message naming both paths, and works its units. Before, the replay failed at the damaged
// line on every try, and the unit waited to complete forever.
func TestDamagedSpoolIsMovedAside(t *testing.T) {
	ctx := context.Background()
	port := freePort(t)
	want := listeners(t, 3, port)
	dir := t.TempDir()
	c, err := Open(ctx, filepath.Join(dir, "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	run, _ := planShared(t, c, port, nil)
	spoolDir := filepath.Join(dir, "spool")
	if err := os.MkdirAll(spoolDir, 0o700); err != nil {
		t.Fatal(err)
	}
	line := func(run int64, ip string) string {
		return fmt.Sprintf(`{"run":%d,"obs":{"ip":"%s","port":9,"outcome":"timeout","observed_at":"2026-11-26T05:00:00Z"}}`, run, ip)
	}
	// Two readable records, a damaged line between them, a run of another store, a torn tail.
	lines := line(run.ID, "127.0.1.200") + "\n{\"run\":" + "\x00garbage\n" + line(run.ID, "127.0.1.201") + "\n" +
		line(run.ID+99, "127.0.1.202") + "\n"
	own := filepath.Join(spoolDir, "w1"+spoolExt)
	if err := os.WriteFile(own, []byte(lines+`{"run":1,"ob`), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := captureLog(t)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.Work(wctx, WorkerConfig{ID: "w1", Spool: spoolDir, PollInterval: 50 * time.Millisecond}); err != nil {
		t.Fatalf("worker: %v (its context: %v)", err, wctx.Err())
	}
	got := stored(t, c.Store(), run.ID)
	for _, k := range []string{"127.0.1.200:9", "127.0.1.201:9"} {
		if !got[k] {
			t.Errorf("the readable record %s was not stored", k)
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("the run's %s was not stored", k)
		}
	}
	aside, _ := filepath.Glob(own + ".damaged-*")
	if len(aside) != 1 {
		t.Fatalf("moved aside: %v", aside)
	}
	if b, err := os.ReadFile(aside[0]); err != nil || string(b) != lines {
		t.Errorf("the file moved aside is not the spool as it was, less its torn tail: %q (%v)", b, err)
	}
	if l := logs.String(); !strings.Contains(l, own) || !strings.Contains(l, aside[0]) || !strings.Contains(l, "damaged=2") {
		t.Errorf("the message does not name both paths and the 2 damaged records:\n%s", l)
	}
}

// TestTornTailIsCut: a spool file left with a torn last line (the process died mid-write)
// loses that line, never acknowledged, when it is opened, so the next batch starts a line of
// its own instead of joining the torn one (and being lost with it).
func TestTornTailIsCut(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ in, want string }{
		{"{\"a\":1}\n{\"b\"", "{\"a\":1}\n"},
		{"{\"a\":1}\n", "{\"a\":1}\n"},
		{"{\"torn", ""},
		{"", ""},
	} {
		path := filepath.Join(dir, "w"+spoolExt)
		if err := os.WriteFile(path, []byte(tc.in), 0o600); err != nil {
			t.Fatal(err)
		}
		sp, err := openSpool(dir, "w")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		if string(b) != tc.want || sp.dirty != (tc.want != "") {
			t.Errorf("%q opened as %q (dirty %v), want %q", tc.in, b, sp.dirty, tc.want)
		}
		sp.f.Close()
		os.Remove(path)
	}
}

// TestSpoolDir: the default spool lives beside a SQLite store (one per store), or in the
// user's state directory for Postgres, never in the working directory.
func TestSpoolDir(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	pg := func(dsn string) string {
		d, err := SpoolDir(dsn)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct{ dsn, want string }{
		{"", filepath.Join(wd, "clawcensus.db-spool")},
		{"c.db", filepath.Join(wd, "c.db-spool")},
		{"/var/lib/clawcensus/c.db", "/var/lib/clawcensus/c.db-spool"},
		{"file:/srv/x.db?_pragma=busy_timeout(200)", "/srv/x.db-spool"},
	} {
		if got := pg(tc.dsn); got != tc.want {
			t.Errorf("SpoolDir(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
	}
	a, b := pg("postgres://census@127.0.0.1/a"), pg("postgres://census@127.0.0.1/b")
	if filepath.Dir(a) != filepath.Join(state, "clawcensus", "spool") || a == b {
		t.Errorf("postgres spools %q and %q: want two directories in %s", a, b, filepath.Join(state, "clawcensus", "spool"))
	}
	// A password does not make a store of its own.
	if pg("postgres://census:one@127.0.0.1/a") != pg("postgres://census:two@127.0.0.1/a") {
		t.Error("the password changes the spool directory")
	}
	t.Setenv("XDG_STATE_HOME", "relative/state") // ignored, as the XDG rule says
	t.Setenv("HOME", state)
	if got := pg("postgres://census@127.0.0.1/a"); !strings.HasPrefix(got, filepath.Join(state, ".local", "state", "clawcensus", "spool")) {
		t.Errorf("without XDG_STATE_HOME: %s", got)
	}
	own, err := OwnFiles("", "c.db", true)
	if err != nil || own[0] != filepath.Join(wd, "c.db-spool") {
		t.Errorf("OwnFiles: %v, %v", own, err)
	}
	if entries, _ := os.ReadDir(wd); len(entries) != 1 || entries[0].Name() != "c.db-spool" {
		t.Errorf("the working directory holds %v", entries)
	}
}

// TestSpoolOfAnotherUser: a spool directory another user owns is refused with the owner and
// the exact commands that fix it.
func TestSpoolOfAnotherUser(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "it's spool")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	owner := 65534
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, owner, owner); err != nil {
			t.Fatal(err)
		}
	} else {
		dir, owner = "/", 0 // root's, and not this process's
	}
	err := spoolAccess(dir, &os.PathError{Op: "open", Path: dir, Err: syscall.EACCES})
	want := fmt.Sprintf("(uid %d), not to this process (uid %d): give it back with `sudo chown -R %d:%d '%s'`, or name another directory with --spool DIR",
		owner, os.Geteuid(), os.Geteuid(), os.Getegid(), strings.ReplaceAll(dir, "'", `'\''`))
	if dir == "/" {
		want = strings.Replace(want, "'/'", "/", 1)
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v\nwant it to say %s", err, want)
	}
}

// TestPlanFilesReadOnce: a worker reads a plan's target and exclude files once per run,
// checked against their hashes, and keeps what it read: a target file changed or gone after
// that changes nothing of the run's later units. Before, every unit read the files again.
func TestPlanFilesReadOnce(t *testing.T) {
	dir := t.TempDir()
	targets := filepath.Join(dir, "targets.txt")
	exclude := filepath.Join(dir, "exclude.txt")
	if err := os.WriteFile(targets, []byte("127.0.1.0/28 # lab\n127.0.2.0/29\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exclude, []byte("127.0.1.8/29\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A second file, compressed as hitlists are published: each file's copy is read as itself.
	packed := filepath.Join(dir, "hitlist.txt.gz")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("# hitlist\n127.0.4.0/30\n"))
	zw.Close()
	if err := os.WriteFile(packed, gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	seed := int64(5)
	p, err := NewPlan(PlanConfig{Targets: []string{"127.0.3.1", "@" + targets, "@" + packed}, Excludes: []string{exclude}, Ports: []uint16{9},
		Seed: &seed, Lab: true, Scope: "127.0.0.0/8", Method: "connect", UnitSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	walk := func(p *Plan) []string {
		t.Helper()
		var out []string
		for _, u := range p.AllUnits() {
			win, err := p.window(u, p.bl)
			if err == nil {
				err = win.Walk(context.Background(), func(ap netip.AddrPort) error { out = append(out, ap.String()); return nil })
			}
			if err != nil {
				t.Fatalf("unit %d: %v", u, err)
			}
		}
		return out
	}
	stored, err := ParsePlan(p.Marshal()) // as a worker reads it from the store
	if err != nil {
		t.Fatal(err)
	}
	if err := stored.load(); err != nil {
		t.Fatal(err)
	}
	before := walk(stored)
	if len(before) != 21 { // 16 + 8 - 8 excluded + 1 + 4
		t.Fatalf("the plan walks %d probes, want 21: %v", len(before), before)
	}
	os.Remove(targets)
	os.Remove(packed)
	os.WriteFile(exclude, []byte("127.0.0.0/8\n"), 0o600)
	if diff := cmp.Diff(before, walk(stored)); diff != "" {
		t.Errorf("after the files changed (-before +after):\n%s", diff)
	}
	bl, err := stored.Blocklist()
	if err != nil || bl != stored.bl {
		t.Errorf("the blocklist is built again (%v)", err)
	}
	// A worker that has not read them yet refuses the changed files.
	fresh, _ := ParsePlan(p.Marshal())
	if err := fresh.load(); !errors.Is(err, ErrChanged) {
		t.Errorf("changed files loaded: %v", err)
	}
}

// TestPortList: port sets print and are stored as ranges, and read back as the same set.
func TestPortList(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1-65535", "1-65535"},
		{"18789,8443", "8443,18789"},
		{"80,81", "80,81"},
		{"80-82,443,8000-8100,65535", "80-82,443,8000-8100,65535"},
		{"1,3,5-7,9", "1,3,5-7,9"},
	} {
		ports, err := scanner.ParsePorts(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		got := PortList(ports)
		back, err := scanner.ParsePorts(got)
		if got != tc.want || err != nil || !slices.Equal(back, ports) {
			t.Errorf("PortList(%s) = %q, want %q (read back: %v)", tc.in, got, tc.want, err)
		}
	}
}
