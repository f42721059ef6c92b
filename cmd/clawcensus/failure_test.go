package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/store"
)

// failureLab serves 2,000 listeners on port of 127.0.8.1 onwards: every 100th a replay of a
// real 2026.9.6 gateway, the rest a real nginx default page.
func failureLab(t *testing.T, port int) {
	t.Helper()
	gw := &http.Server{Handler: fixtureHandler(t, "../../fingerprint/testdata/gateways/openclaw-2026.9.6-token.txtar")}
	ng := &http.Server{Handler: fixtureHandler(t, "../../fingerprint/testdata/negatives/nginx-default.txtar")}
	t.Cleanup(func() { gw.Close(); ng.Close() })
	base := [4]byte{127, 0, 8, 0}
	for i := 1; i <= 2000; i++ {
		a := base
		a[2] += byte(i / 256)
		a[3] = byte(i % 256)
		ln, err := net.Listen("tcp", fmt.Sprintf("%d.%d.%d.%d:%d", a[0], a[1], a[2], a[3], port))
		if err != nil {
			t.Fatalf("listener %d: %v", i, err)
		}
		if i%100 == 0 {
			go gw.Serve(ln)
		} else {
			go ng.Serve(ln)
		}
	}
}

// throwawayPostgres starts a cluster of this test's own (deploy/lab/pg-throwaway.sh), so that
// stopping it mid-run disturbs no other test. pause stops it, resume starts it again.
func throwawayPostgres(t *testing.T) (url string, pause, resume func()) {
	t.Helper()
	if bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(bins) == 0 {
		t.Skip("no PostgreSQL server binaries (apt-get install postgresql; make test's CI installs them)")
	}
	dir, err := os.MkdirTemp("", "cc-pg")
	if err != nil {
		t.Fatal(err)
	}
	script := "../../deploy/lab/pg-throwaway.sh"
	run := func(cmd string) string {
		out, err := exec.Command(script, cmd, dir).Output()
		if err != nil {
			t.Fatalf("pg-throwaway %s: %v", cmd, err)
		}
		return strings.TrimSpace(string(out))
	}
	url = run("start")
	t.Cleanup(func() { exec.Command(script, "stop", dir).Run() })
	return url, func() { run("pause") }, func() { run("start") }
}

// ipPorts reads a run's observations as sorted ip:port strings and counts by outcome.
func ipPorts(t *testing.T, dsn string, run int64) ([]string, map[observation.Outcome]int) {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	obs, err := st.Observations(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	outcomes := map[observation.Outcome]int{}
	for _, o := range obs {
		keys = append(keys, fmt.Sprintf("%s:%d", o.IP, o.Port))
		outcomes[o.Outcome]++
	}
	sort.Strings(keys)
	return keys, outcomes
}

// TestCensusSurvivesFailures is the census's acceptance test, on each backend: a run planned
// once and worked by three worker processes, one killed with SIGKILL mid-unit and (Postgres)
// the database stopped and restarted mid-run, ends equal to a single-process reference run:
// the same ip:port set, the same counts, nothing twice, every spool emptied.
func TestCensusSurvivesFailures(t *testing.T) {
	port := 18000 + os.Getpid()%1000
	failureLab(t, port)
	dir := t.TempDir()
	targets := "127.0.8.0/21" // 2,048 addresses, 2,000 listening
	ref := filepath.Join(dir, "ref.db")
	// The reference sweeps at 5,000/s and fingerprints 2,000 hosts of this (race-instrumented)
	// process at once: a generous first-byte deadline keeps a loaded CI machine from timing out
	// a gateway's auth probe, which would honestly read as auth "unknown" and differ.
	res := runCLI(t, "", "scan", "--lab", "--scan-type", "connect", "--rate", "5000", "--seed", "9", "--ports", fmt.Sprint(port),
		"--first-byte-timeout", "10s", "--http-timeout", "20s", "--format", "csv", "--db", ref, targets)
	if res.code != 0 {
		t.Fatalf("reference: exit %d\n%s", res.code, res.stderr)
	}
	refRuns := reportRuns(t, ref)
	refKeys, refOutcomes := ipPorts(t, ref, refRuns[0].ID)
	if len(refKeys) != 2000 || refRuns[0].Detected != 20 {
		t.Fatalf("reference run: %d ip:ports, %d gateways\n%s", len(refKeys), refRuns[0].Detected, res.stderr)
	}

	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "census.db")
			var pause, resume func()
			if backend == "postgres" {
				dsn, pause, resume = throwawayPostgres(t)
			}
			plan := runCLI(t, "", "plan", "--lab", "--scan-type", "connect", "--rate", "200", "--seed", "9", "--unit-size", "128", "--first-byte-timeout", "10s",
				"--ports", fmt.Sprint(port), "--db", dsn, targets)
			var id int64
			if _, err := fmt.Sscanf(plan.stdout, `{"run":%d`, &id); plan.code != 0 || err != nil {
				t.Fatalf("plan: exit %d %v\n%s%s", plan.code, err, plan.stdout, plan.stderr)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			spools := filepath.Join(t.TempDir(), "spool")
			var workers []*exec.Cmd
			var logs []*strings.Builder
			for i := range 3 {
				cmd := exec.CommandContext(ctx, cliBinary, "worker", "--quiet", "--heartbeat-ttl", "2s", "--heartbeat-timeout", "4s", "--spool", spools,
					"--id", fmt.Sprintf("w%d", i), "--db", dsn)
				cmd.Env = testEnv()
				var log strings.Builder
				cmd.Stderr = &log
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				workers, logs = append(workers, cmd), append(logs, &log)
			}
			time.Sleep(1500 * time.Millisecond)
			workers[0].Process.Kill() // mid-unit: 128 probes take 640 ms at 200/s, and units go on for ~3 s
			workers[0].Wait()
			if pause != nil {
				time.Sleep(300 * time.Millisecond)
				pause()
				time.Sleep(4 * time.Second)
				resume()
			}
			for i, w := range workers[1:] {
				if err := w.Wait(); err != nil {
					t.Fatalf("worker %d: %v\n%s", i+1, err, logs[i+1])
				}
			}
			runs := reportRuns(t, dsn)
			if len(runs) != 1 || runs[0].Status != "complete" || runs[0].UnitsDone != runs[0].UnitsTotal {
				t.Fatalf("run after the failures: %+v\n%s\n%s", runs, logs[1], logs[2])
			}
			keys, outcomes := ipPorts(t, dsn, id)
			if strings.Join(keys, " ") != strings.Join(refKeys, " ") {
				t.Errorf("%d ip:ports stored, reference %d", len(keys), len(refKeys))
			}
			if fmt.Sprint(outcomes) != fmt.Sprint(refOutcomes) || runs[0].Detected != refRuns[0].Detected ||
				fmt.Sprint(runs[0].ByVersion) != fmt.Sprint(refRuns[0].ByVersion) || fmt.Sprint(runs[0].ByAuth) != fmt.Sprint(refRuns[0].ByAuth) {
				t.Errorf("counts differ: %v %d %v %v vs reference %v %d %v %v", outcomes, runs[0].Detected, runs[0].ByVersion, runs[0].ByAuth,
					refOutcomes, refRuns[0].Detected, refRuns[0].ByVersion, refRuns[0].ByAuth)
			}
			entries, _ := os.ReadDir(spools)
			for _, e := range entries {
				if info, err := e.Info(); err == nil && info.Size() > 0 {
					t.Errorf("spool %s still holds %d bytes", e.Name(), info.Size())
				}
			}
			// The outage was felt mid-unit: a batch spooled, or a unit waited to complete.
			if both := logs[1].String() + logs[2].String(); backend == "postgres" &&
				!strings.Contains(both, "spooling observations") && !strings.Contains(both, "unit waits to complete") {
				t.Errorf("no worker noticed Postgres going away:\n%s", both)
			}
		})
	}
}
