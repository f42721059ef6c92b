package main

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/fingerprint/registrytest"
)

// TestUpdateThenReanalyze is the loop end to end, on loopback: a gateway on a release
// published after the knowledge base was made is counted apart (newer than the knowledge base,
// official unknown); fingerprints update learns the release from a registry that publishes it;
// reanalyze then gives the exact, official release for the stored run, without a new scan (the
// gateway is gone by then), and the report and the export say so.
func TestUpdateThenReanalyze(t *testing.T) {
	// After the embedded table's newest release (2026.9.6), before today: a real calendar day in the past.
	const v = "2026.9.9"
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules.Releases {
		if r.Package == "openclaw" && (r.Version == v || fingerprint.CompareVersions(r.Version, v) > 0) {
			t.Fatalf("the embedded table knows openclaw %s or later (%s): pick a release after its newest", v, r.Version)
		}
	}
	dir := t.TempDir()
	data, db := filepath.Join(dir, "data"), filepath.Join(dir, "u.db")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gw := &http.Server{Handler: registrytest.Gateway(t, v)}
	go gw.Serve(ln)
	port := ln.Addr().(*net.TCPAddr).Port
	res := runCLI(t, "", "scan", "--lab", "--scan-type", "connect", "--ports", fmt.Sprint(port), "--db", db, "--data", data, "127.0.0.1")
	gw.Close()
	if res.code != 0 || !strings.Contains(res.stdout, `"version":"`+v+`"`) || !strings.Contains(res.stdout, `"version_status":"newer-than-knowledge-base"`) ||
		!strings.Contains(res.stdout, `"official":null`) {
		t.Fatalf("scan of a release newer than the knowledge base: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if rep := runCLI(t, "", "report", "--db", db, "--data", data); !strings.Contains(rep.stdout, "run clawcensus fingerprints update --data "+data+", then") {
		t.Errorf("the report does not advise updating this knowledge base:\n%s", rep.stdout)
	}
	reg := registrytest.New(t)
	reg.Publish("openclaw", v, registrytest.Release(t, v))
	if up := runCLI(t, "", "fingerprints", "update", "--registry", reg.URL, "--data", data); up.code != 0 || !strings.Contains(up.stdout, "openclaw "+v) {
		t.Fatalf("fingerprints update: exit %d\n%s\n%s", up.code, up.stdout, up.stderr)
	}
	// The report's advice, pasted as printed: it names this store and this knowledge base.
	rep := runCLI(t, "", "report", "--db", db, "--data", data)
	line := hinted(t, rep.stdout, ", then ", "")
	if want := "clawcensus reanalyze --run 1 --db " + db + " --data " + data; line != want {
		t.Errorf("report advises %q, want %q", line, want)
	}
	if re := paste(t, line); re.code != 0 || !strings.Contains(re.stdout, "1 verdicts changed") {
		t.Fatalf("reanalyze: exit %d\n%s\n%s", re.code, re.stdout, re.stderr)
	}
	runs := reportRuns(t, db)
	if len(runs) != 1 || runs[0].ByVersion[v] != 1 || runs[0].ByOfficial["true"] != 1 || runs[0].ByVersionStatus["known"] != 1 {
		t.Errorf("the run after update and reanalyze: %+v", runs)
	}
	if csv := runCLI(t, "", "export", "--db", db, "--data", data); csv.code != 0 || !strings.Contains(csv.stdout, ","+v+",") ||
		strings.Contains(csv.stdout, "newer-than-knowledge-base") {
		t.Errorf("export after reanalyze: exit %d\n%s", csv.code, csv.stdout)
	}
}
