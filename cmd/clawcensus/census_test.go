package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/report"
)

// TestShardsMatchUnsharded runs a sweep whole and as four shards started one after another
// (the README's recipe for splitting a sweep): the shards are one run, and trend gives the
// same row for both.
func TestShardsMatchUnsharded(t *testing.T) {
	l := startLab(t)
	dir := t.TempDir()
	args := func(db string, extra ...string) []string {
		return append(append([]string{"scan", "--lab", "--scan-type", "connect", "--rate", "2000", "--seed", "42",
			"--ports", fmt.Sprintf("%d,%d", l.gateway, l.nginx), "--db", db}, extra...), "127.0.0.0/27")
	}
	whole := filepath.Join(dir, "whole.db")
	if res := runCLI(t, "", args(whole)...); res.code != 0 {
		t.Fatalf("unsharded: exit %d\n%s", res.code, res.stderr)
	}
	sharded := filepath.Join(dir, "sharded.db")
	for i := range 4 {
		if res := runCLI(t, "", args(sharded, "--shard", fmt.Sprintf("%d/4", i))...); res.code != 0 {
			t.Fatalf("shard %d: exit %d\n%s", i, res.code, res.stderr)
		}
		runs := reportRuns(t, sharded)
		if len(runs) != 1 {
			t.Fatalf("after shard %d: %d runs, want one", i, len(runs))
		}
		if want := map[bool]string{true: "complete", false: "stalled"}[i == 3]; runs[0].Status != want {
			t.Errorf("after shard %d: status %s, want %s", i, runs[0].Status, want)
		}
	}
	trend := func(db string) []report.TrendRow {
		res := runCLI(t, "", "trend", "--db", db, "--format", "json")
		var tr struct{ Days []report.TrendRow }
		if err := json.Unmarshal([]byte(res.stdout), &tr); err != nil || len(tr.Days) != 1 {
			t.Fatalf("trend of %s: %v, %d rows\n%s%s", db, err, len(tr.Days), res.stdout, res.stderr)
		}
		tr.Days[0].Run = 0
		return tr.Days
	}
	a, b := trend(whole), trend(sharded)
	if a[0] != b[0] || a[0].Reachable != 1 {
		t.Errorf("trend rows differ:\nunsharded %+v\nsharded   %+v", a[0], b[0])
	}
}

// TestMaxRuntimeInterrupts stops a slow sweep with --max-runtime: exit 1, the run interrupted
// (never complete, so trend does not publish the fragment).
func TestMaxRuntimeInterrupts(t *testing.T) {
	l := startLab(t)
	db := filepath.Join(t.TempDir(), "m.db")
	res := runCLI(t, "", "scan", "--lab", "--scan-type", "connect", "--rate", "50", "--max-runtime", "1s",
		"--ports", fmt.Sprint(l.gateway), "--db", db, "127.0.0.0/24")
	if res.code != 1 || !strings.Contains(res.stderr, "--max-runtime reached") {
		t.Errorf("exit %d\n%s", res.code, res.stderr)
	}
	runs := reportRuns(t, db)
	if len(runs) != 1 || runs[0].Status != "interrupted" || runs[0].UnitsDone == runs[0].UnitsTotal {
		t.Errorf("runs: %+v", runs)
	}
	if tr := runCLI(t, "", "trend", "--db", db, "--format", "json"); strings.Contains(tr.stdout, `"run"`) {
		t.Errorf("trend published an interrupted run:\n%s", tr.stdout)
	}
}

// TestKilledRunStallsAndResumes kills a scan with SIGKILL: its run reads stalled once the
// heartbeat is stale; a resume refuses a changed target file, uses the stored rate, refuses a
// second resume while the first holds a unit, and completes the run with each ip:port once.
func TestKilledRunStallsAndResumes(t *testing.T) {
	l := startLab(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "k.db")
	targets := filepath.Join(dir, "targets.txt")
	if err := os.WriteFile(targets, []byte("127.0.0.0/25\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A short heartbeat TTL: the dead scan's run shows stalled two seconds after its last beat.
	// 10 probes/s, 1.6 s a unit: the resume below still holds units when the second resume asks
	// (a worker has two units in hand, and a loaded machine polls the report slowly).
	cmd := exec.Command(cliBinary, "scan", "--lab", "--scan-type", "connect", "--rate", "10", "--retries", "0",
		"--unit-size", "16", "--heartbeat-ttl", "2s", "--ports", fmt.Sprint(l.gateway), "--db", db, "@"+targets)
	cmd.Env = testEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForRun(t, db, func(r report.RunRecord) bool { return r.UnitsDone > 0 }) // killed mid-run
	cmd.Process.Kill()
	cmd.Wait()
	runs := waitForRun(t, db, func(r report.RunRecord) bool { return r.Status == "stalled" }) // once the heartbeat is stale
	if len(runs) != 1 || runs[0].Status != "stalled" || runs[0].UnitsTotal != 8 || runs[0].UnitsDone >= 8 {
		t.Fatalf("after SIGKILL: %+v\n%s", runs, stderr.String())
	}
	id := fmt.Sprint(runs[0].ID)
	doneBefore := runs[0].UnitsDone

	// The target file changed: the plan no longer says what would be scanned.
	os.WriteFile(targets, []byte("127.0.0.0/24\n"), 0o644)
	if res := runCLI(t, "", "scan", "--db", db, "--resume", id); res.code != 2 || !strings.Contains(res.stderr, "changed since the run was planned") {
		t.Errorf("resume of a changed file: exit %d\n%s", res.code, res.stderr)
	}
	os.WriteFile(targets, []byte("127.0.0.0/25\n"), 0o644)

	resume := exec.Command(cliBinary, "scan", "--db", db, "--resume", id)
	resume.Env = testEnv()
	var rerr bytes.Buffer
	resume.Stderr = &rerr
	if err := resume.Start(); err != nil {
		t.Fatal(err)
	}
	// The resume is under way: it finished a unit and holds the next.
	waitForRun(t, db, func(r report.RunRecord) bool { return r.Workers > 0 && r.UnitsDone > doneBefore })
	if res := runCLI(t, "", "resume", "--db", db, id); res.code != 2 || !strings.Contains(res.stderr, "live workers hold") {
		t.Errorf("second resume of a live run: exit %d\n%s", res.code, res.stderr)
	}
	if err := resume.Wait(); err != nil {
		t.Fatalf("resume: %v\n%s", err, rerr.String())
	}
	runs = reportRuns(t, db)
	r := runs[0]
	if r.Status != "complete" || r.UnitsDone != 8 || r.Detected != 1 || r.OpenPorts != 1 {
		t.Errorf("after resume: %+v", r)
	}
	// The stored rate, 10/s, paced the resumed units (not the default 1000/s). How fast they
	// went is a benchmark's to measure, not this test's.
	if !strings.Contains(rerr.String(), "rate=10 ") {
		t.Errorf("resume did not use the stored rate:\n%s", rerr.String())
	}
}

// waitForRun polls db's report until its one run meets cond, and returns the runs; after
// 40 s it fails t. A report that cannot be read yet (the store is being created) is polled
// again.
func waitForRun(t *testing.T, db string, cond func(report.RunRecord) bool) []report.RunRecord {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(40 * time.Second)
	var runs []report.RunRecord
	for {
		res := runCLI(t, "", "report", "--db", db, "--format", "json")
		var rep struct {
			Runs []report.RunRecord `json:"runs"`
		}
		if res.code == 0 && json.Unmarshal([]byte(res.stdout), &rep) == nil {
			if runs = rep.Runs; len(runs) == 1 && cond(runs[0]) {
				return runs
			}
		}
		select {
		case <-tick.C:
		case <-timeout:
			t.Fatalf("runs in %s after 40 s: %+v\n%s", db, runs, res.stderr)
		}
	}
}

// TestSeriesKeepsTheCensus: a /24 census and a /28 re-check of part of it on the same day are
// two series. trend keeps the census's day (its gateway), report --run 1 has no trend row of
// run 2, and two runs of different targets are one series when --series names them so.
func TestSeriesKeepsTheCensus(t *testing.T) {
	l := startLab(t)
	db := filepath.Join(t.TempDir(), "series.db")
	scan := func(target string, extra ...string) {
		t.Helper()
		args := append([]string{"scan", "--lab", "--scan-type", "connect", "--rate", "2000", "--ports", fmt.Sprint(l.gateway), "--db", db}, extra...)
		if res := runCLI(t, "", append(args, target)...); res.code != 0 {
			t.Fatalf("scan %s: exit %d\n%s", target, res.code, res.stderr)
		}
	}
	scan("127.0.0.0/24")   // run 1: the census finds the gateway on 127.0.0.1
	scan("127.0.0.128/28") // run 2: a re-check of part of it finds none
	trend := func(extra ...string) []report.TrendRow {
		t.Helper()
		res := runCLI(t, "", append([]string{"trend", "--db", db, "--format", "json"}, extra...)...)
		var tr struct{ Days []report.TrendRow }
		if err := json.Unmarshal([]byte(res.stdout), &tr); err != nil {
			t.Fatalf("trend %v: %v\n%s%s", extra, err, res.stdout, res.stderr)
		}
		return tr.Days
	}
	rows := trend()
	if len(rows) != 2 || rows[0].Run != 1 || rows[0].Reachable != 1 || rows[1].Run != 2 || rows[1].Reachable != 0 ||
		rows[0].Series == rows[1].Series || rows[0].Day != rows[1].Day || !strings.HasPrefix(rows[0].Series, "scope:") ||
		rows[0].SeriesLabel != "targets 127.0.0.0/24, ports "+fmt.Sprint(l.gateway) {
		t.Fatalf("trend: %+v, want the census's day (run 1, 1 gateway) and the re-check's apart", rows)
	}
	if only := trend("--series", rows[0].Series); len(only) != 1 || only[0].Run != 1 {
		t.Errorf("trend --series %s: %+v", rows[0].Series, only)
	}
	res := runCLI(t, "", "report", "--db", db, "--run", "1", "--format", "md")
	if res.code != 0 || !strings.Contains(res.stdout, "## Trend, series targets 127.0.0.0/24") ||
		!strings.Contains(res.stdout, fmt.Sprintf("| %s | 1 | 1 |", rows[0].Day)) || strings.Contains(res.stdout, fmt.Sprintf("| %s | 2 |", rows[0].Day)) {
		t.Errorf("report --run 1 --format md: exit %d, want its own series' trend and no row of run 2\n%s%s", res.code, res.stdout, res.stderr)
	}

	// Named: the user says a /28 and a /27 are one series.
	scan("127.0.0.0/28", "--series", "loopback lab")
	scan("127.0.0.0/27", "--series", "loopback lab")
	runs := reportRuns(t, db)
	if len(runs) != 4 || runs[2].Series != "loopback lab" || runs[3].Series != "loopback lab" || runs[3].SeriesLabel != "loopback lab" || runs[0].Series != rows[0].Series {
		t.Errorf("series of the runs: %q %q %q %q", runs[0].Series, runs[1].Series, runs[2].Series, runs[3].Series)
	}
	if named := trend("--series", "loopback lab"); len(named) != 1 || named[0].Run != 4 || named[0].Reachable != 1 {
		t.Errorf("trend --series 'loopback lab': %+v, want the day's last run of the series, run 4", named)
	}
	if res := runCLI(t, "", "trend", "--db", db, "--series", "nothing"); res.code != exitUsage || !strings.Contains(res.stderr, "no run is in that series") {
		t.Errorf("trend --series nothing: exit %d %s", res.code, res.stderr)
	}
	for _, args := range [][]string{
		{"scan", "--db", db, "--resume", "1", "--series", "other"},
		{"scan", "--db", db, "--lab", "--series", "scope:abc", "127.0.0.1"},
	} {
		if res := runCLI(t, "", args...); res.code != exitUsage {
			t.Errorf("%v: exit %d, want a usage error\n%s", args, res.code, res.stderr)
		}
	}
}
