package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanEvery drives plan --every through the CLI: the first plan of a series is stored and
// printed; asked again at once it stores nothing, says which run it waits for and exits 0 (a
// timer must not fail); a schedule shorter than the run is a usage error that gives both
// durations, unless --force; --every without --series is refused; --authorization @FILE is
// stored as the run's record.
func TestPlanEvery(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	auth := filepath.Join(dir, "authorization.txt")
	if err := os.WriteFile(auth, []byte("# example\nRequested by: CERT-XX\nWindow: daily\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plan := func(args ...string) result {
		return runCLI(t, "", append([]string{"plan", "--db", db, "--lab", "--ports", "9", "--scan-type", "connect"}, args...)...)
	}
	first := plan("--every", "24h", "--series", "lab", "--authorization", "@"+auth, "127.0.1.0/28")
	var out struct{ Run, Units int64 }
	if first.code != 0 || json.Unmarshal([]byte(first.stdout), &out) != nil || out.Run != 1 ||
		!strings.Contains(first.stderr, "planned run 1 (1 units): projected duration 16ms") {
		t.Fatalf("first plan: exit %d\n%s%s", first.code, first.stdout, first.stderr)
	}
	again := plan("--every", "24h", "--series", "lab", "--authorization", "@"+auth, "127.0.1.0/28")
	if again.code != 0 || again.stdout != "" ||
		!strings.Contains(again.stderr, `not planned: run 1 of series "lab" started`) || !strings.Contains(again.stderr, "(planned, 0 of 1 units done") {
		t.Errorf("asked again: exit %d\n%s%s", again.code, again.stdout, again.stderr)
	}
	// Nothing due: the targets are not read (a timer asking hourly about a hitlist reads none).
	unread := plan("--every", "24h", "--series", "lab", "--authorization", "@"+auth, "@"+filepath.Join(dir, "not-there.txt"))
	if unread.code != 0 || !strings.Contains(unread.stderr, `not planned: run 1 of series "lab" started`) {
		t.Errorf("asked again, a target file gone: exit %d\n%s", unread.code, unread.stderr)
	}
	// 65,536 probes at 10/s: 1h49m14s.
	short := plan("--every", "1h", "--series", "big", "--rate", "10", "127.0.0.0/16")
	if short.code != exitUsage || !strings.Contains(short.stderr, "--every 1h0m0s is shorter than one run: 1h49m14s") ||
		!strings.Contains(short.stderr, "--every 2h or more") {
		t.Errorf("a short schedule: exit %d\n%s", short.code, short.stderr)
	}
	if forced := plan("--every", "1h", "--series", "big", "--rate", "10", "--force", "127.0.0.0/16"); forced.code != 0 || !strings.Contains(forced.stdout, `"run":2`) {
		t.Errorf("--force: exit %d\n%s%s", forced.code, forced.stdout, forced.stderr)
	}
	for _, args := range [][]string{{"--every", "24h", "127.0.1.0/28"}, {"--max-overlap", "1h", "127.0.1.0/28"},
		{"--series", "lab", "--authorization", "@" + filepath.Join(dir, "missing"), "127.0.1.0/28"}} {
		if res := plan(args...); res.code != exitUsage {
			t.Errorf("plan %v: exit %d, want %d\n%s", args, res.code, exitUsage, res.stderr)
		}
	}
	rep := runCLI(t, "", "report", "--db", db, "--run", "1")
	if !strings.Contains(rep.stdout, "authorization: Requested by: CERT-XX; Window: daily") {
		t.Errorf("run 1's report:\n%s%s", rep.stdout, rep.stderr)
	}
}
