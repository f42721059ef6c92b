package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/internal/cmdline"
	"github.com/clawcensus/clawcensus/store"
)

// TestFlagsAfterTargets: flags are read wherever they stand, as zmap, nmap, httpx and nuclei
// read them; -- ends them. Before, "scan 127.0.0.10/31 --dry-run" read --dry-run as a target.
// The dry run prints the port set as a range.
func TestFlagsAfterTargets(t *testing.T) {
	for _, args := range [][]string{
		{"scan", "127.0.0.10/31", "--dry-run", "--lab", "--ports", "1-65535"},
		{"plan", "127.0.0.10/31", "--ports=1-65535", "--lab", "--dry-run"},
		{"scan", "--lab", "--dry-run", "--ports", "1-65535", "--", "127.0.0.10/31"},
	} {
		res := runCLI(t, "", args...)
		if res.code != 0 || !strings.Contains(res.stdout, "targets: 2 addresses") || !strings.Contains(res.stdout, "ports: 1-65535\n") ||
			!strings.Contains(res.stdout, "nothing was sent") {
			t.Errorf("%v: exit %d\n%s%s", args, res.code, res.stdout, res.stderr)
		}
	}
}

// syncBuffer is a bytes.Buffer a test may read while a process writes into it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// paste runs a line the tool printed as a person would paste it into a shell, with the binary
// on PATH as clawcensus.
func paste(t *testing.T, line string) result {
	t.Helper()
	cmd := exec.Command("sh", "-c", line)
	cmd.Env = append(testEnv(), "PATH="+filepath.Dir(cliBinary)+string(os.PathListSeparator)+os.Getenv("PATH"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// hinted finds the command a message offers after prefix, up to end (empty: the end of the line).
func hinted(t *testing.T, text, prefix, end string) string {
	t.Helper()
	upTo := `(clawcensus .*?)` + regexp.QuoteMeta(end)
	if end == "" {
		upTo = `(clawcensus .*)`
	}
	m := regexp.MustCompile(regexp.QuoteMeta(prefix) + upTo).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no hint after %q in:\n%s", prefix, text)
	}
	return m[1]
}

// TestHintsWorkWhenPasted: every command the tool prints for a person to paste names the store
// it was given (--db, absolute, quoted), and does what it says when pasted. Before, the Ctrl-C
// hint "continue with: clawcensus scan --resume 1" omitted --db: pasted, it made an empty store.
func TestHintsWorkWhenPasted(t *testing.T) {
	l := startLab(t)
	dir := filepath.Join(t.TempDir(), "it's a store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "c.db")
	quoted := cmdline.Quote(db)

	res := runCLI(t, "", "scan", "--lab", "--scan-type", "connect", "--rate", "100", "--max-runtime", "1s",
		"--ports", fmt.Sprint(l.gateway), "--db", db, "127.0.0.0/25")
	if res.code != 1 {
		t.Fatalf("scan: exit %d\n%s", res.code, res.stderr)
	}
	line := hinted(t, res.stderr, "continue with: ", "")
	if want := "clawcensus scan --resume 1 --db " + quoted; line != want {
		t.Errorf("hint %q, want %q", line, want)
	}
	if res := paste(t, line); res.code != 0 || lastRun(t, db).Status != "complete" || lastRun(t, db).Detected != 1 {
		t.Errorf("pasted %s: exit %d, run %+v\n%s", line, res.code, lastRun(t, db), res.stderr)
	}

	res = runCLI(t, "", "trend", "--db", db, "--series", "no such series")
	if res := paste(t, hinted(t, res.stderr, "(", " lists every series)")); res.code != 0 || !strings.Contains(res.stdout, "127.0.0.0/25") {
		t.Errorf("trend hint: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	res = runCLI(t, "", "resume", "--db", db, "first")
	if res := paste(t, hinted(t, res.stderr, "(", " lists them)")); res.code != 0 || !strings.Contains(res.stdout, "run 1") {
		t.Errorf("resume hint: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	// An empty store: the hint needs the targets, and names the store.
	empty := filepath.Join(dir, "empty.db")
	if res := runCLI(t, "", "migrate", "--db", empty); res.code != 0 {
		t.Fatal(res.stderr)
	}
	res = runCLI(t, "", "report", "--db", empty, "--format", "md")
	if !strings.Contains(res.stderr, "run clawcensus scan TARGET... --db "+cmdline.Quote(empty)+" first") {
		t.Errorf("report of an empty store: exit %d\n%s", res.code, res.stderr)
	}
	// A store of an older schema names the command that migrates it.
	raw, err := sql.Open("sqlite", store.SQLiteDSN(empty))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	res = runCLI(t, "", "report", "--db", empty)
	if res.code != 2 || !strings.Contains(res.stderr, "run clawcensus migrate --db "+cmdline.Quote(empty)+" first") {
		t.Errorf("report of an older store: exit %d\n%s", res.code, res.stderr)
	}
}

// TestWorkerSaysWhatItDoes: a worker says when it joins a run, once that it waits, and when it
// stops what it did; on SIGTERM it ends as scan does: exit 1, "interrupted (terminated signal
// received)". Before, it printed nothing while waiting, no summary, and exited 0.
func TestWorkerSaysWhatItDoes(t *testing.T) {
	l := startLab(t)
	db := filepath.Join(t.TempDir(), "w.db")
	plan := runCLI(t, "", "plan", "--lab", "--scan-type", "connect", "--ports", fmt.Sprint(l.gateway), "--db", db, "127.0.0.1")
	if plan.code != 0 {
		t.Fatalf("plan: %s", plan.stderr)
	}
	cmd := exec.Command(cliBinary, "worker", "--follow", "--quiet", "--id", "w1", "--db", db, "--spool", filepath.Join(t.TempDir(), "spool"))
	cmd.Env = testEnv()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stderr.String(), "worker waiting for units") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // long enough for a second "waiting", were it said per poll
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	log := stderr.String()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("worker on SIGTERM: %v, want exit 1", err)
	}
	for _, want := range []string{"worker joined run", "interrupted (terminated signal received)",
		"worker stopped", "units_done=1", "open_ports=1", "gateways=1"} {
		if !strings.Contains(log, want) {
			t.Errorf("the worker did not say %q:\n%s", want, log)
		}
	}
	if n := strings.Count(log, "worker waiting for units"); n != 1 {
		t.Errorf("said it waits %d times, want once:\n%s", n, log)
	}
}

// TestEmptyDBIsTheDefaultStore: plan --db= stores the run and queues its units in the one
// default store (issue 14 made --db one resolved handle for the store and the queue), where a
// worker --db= works them; its spool is that store's (clawcensus.db-spool), not clawcensus-spool.
func TestEmptyDBIsTheDefaultStore(t *testing.T) {
	l := startLab(t)
	dir := t.TempDir()
	in := func(args ...string) result {
		t.Helper()
		cmd := exec.Command(cliBinary, args...)
		cmd.Dir, cmd.Env = dir, testEnv()
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return result{out.String(), errb.String(), code}
	}
	if res := in("plan", "--db=", "--lab", "--scan-type", "connect", "--ports", fmt.Sprint(l.gateway), "127.0.0.1"); res.code != 0 {
		t.Fatalf("plan --db=: exit %d\n%s", res.code, res.stderr)
	}
	if res := in("worker", "--db=", "--quiet"); res.code != 0 || !strings.Contains(res.stderr, "units_done=1") {
		t.Fatalf("worker --db=: exit %d\n%s", res.code, res.stderr)
	}
	if r := lastRun(t, filepath.Join(dir, store.DefaultPath)); r.Status != "complete" || r.Detected != 1 {
		t.Errorf("the default store's run: %+v", r)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Contains(strings.Join(names, " "), "clawcensus-spool") {
		t.Errorf("a spool in the working directory: %v", names)
	}
}
