package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/fingerprint/fixture"
	"github.com/clawcensus/clawcensus/report"
)

// TestCheckAgreesWithExport gives every host of the lab (each recorded gateway and look-alike
// clawlab serves, nginx among them, and a closed port) one verdict: check, the export (CSV and
// IntelMQ), the census's counts (report and trend) agree host by host on which gateways count
// and how severe each is, and the look-alike is a probable honeypot in all of them: counted
// apart, exported only when asked for, and check says why it is not exposed.
func TestCheckAgreesWithExport(t *testing.T) {
	l := startLab(t)
	fixtures := map[uint16]*fixture.Fixture{}
	ports := []string{fmt.Sprint(l.closed)}
	var lookalike uint16
	for _, dir := range []string{"gateways", "negatives"} {
		paths, err := filepath.Glob("../../fingerprint/testdata/" + dir + "/*.txtar")
		if err != nil || len(paths) == 0 {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, path := range paths {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := fixture.Parse(filepath.Base(path), data)
			if err != nil {
				t.Fatal(err)
			}
			port := serveFixture(t, path)
			fixtures[port] = f
			ports = append(ports, fmt.Sprint(port))
			if f.Meta["honeypot"] == "true" {
				lookalike = port
			}
		}
	}
	if lookalike == 0 {
		t.Fatal("the lab has no look-alike")
	}
	portList := strings.Join(ports, ",")
	db := filepath.Join(t.TempDir(), "lab.db")
	scan := runCLI(t, "", "scan", "--lab", "--scan-type", "connect", "--rate", "2000", "--ports", portList, "--db", db, "127.0.0.1")
	if scan.code != 0 || !strings.Contains(scan.stderr, "(and 1 probable honeypots, not counted)") {
		t.Fatalf("scan: exit %d, want 0 and the honeypot apart in its progress\n%s", scan.code, scan.stderr)
	}

	// check: every open port with its verdict.
	chk := runCLI(t, "", "check", "--format", "json", "--ports", portList, "127.0.0.1")
	var checked report.CheckResult
	if err := json.Unmarshal([]byte(chk.stdout), &checked); chk.code != 3 || err != nil {
		t.Fatalf("check: exit %d (%v), want 3\n%s%s", chk.code, err, chk.stdout, chk.stderr)
	}
	checkSeverity, honeypots := map[uint16]string{}, map[uint16]string{}
	for _, h := range checked.Hosts {
		port := uint16(h.Port)
		f := fixtures[port]
		if f == nil {
			t.Fatalf("check reports port %d, which no lab host serves", port)
		}
		switch {
		case h.Exposed:
			checkSeverity[port] = h.Severity
		case h.ProbableHoneypot:
			honeypots[port] = h.Severity
		}
		if wantGateway := f.Meta["product"] != "none"; wantGateway != (h.Exposed || h.ProbableHoneypot) || h.ProbableHoneypot != (f.Meta["honeypot"] == "true") {
			t.Errorf("%s: check says exposed %v, probable honeypot %v", f.Name, h.Exposed, h.ProbableHoneypot)
		}
		if h.Exposed && h.ProbableHoneypot {
			t.Errorf("%s: both a gateway that counts and a probable honeypot", f.Name)
		}
	}
	if checked.Exposed != len(checkSeverity) || checked.Honeypots != 1 || honeypots[lookalike] != report.SeverityInfo {
		t.Errorf("check: %d exposed, %d honeypots (%v)", checked.Exposed, checked.Honeypots, honeypots)
	}

	// export: the same gateways at the same severity, the look-alike left out unless asked for.
	exp := runCLI(t, "", "export", "--db", db)
	if exp.code != 0 || !strings.Contains(exp.stderr, "1 probable honeypots left out") {
		t.Fatalf("export: exit %d\n%s", exp.code, exp.stderr)
	}
	if diff := cmp.Diff(checkSeverity, exportedSeverity(t, exp.stdout)); diff != "" {
		t.Errorf("check and export disagree (-check +export):\n%s", diff)
	}
	events := runCLI(t, "", "export", "--db", db, "--format", "intelmq")
	intelmq := map[uint16]string{}
	for _, line := range strings.Split(strings.TrimSpace(events.stdout), "\n") {
		var ev struct {
			Port     uint16 `json:"source.port"`
			Severity string `json:"extra.severity"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("intelmq: %v: %s", err, line)
		}
		intelmq[ev.Port] = ev.Severity
	}
	if diff := cmp.Diff(checkSeverity, intelmq); events.code != 0 || diff != "" {
		t.Errorf("check and the IntelMQ export disagree (exit %d; -check +intelmq):\n%s", events.code, diff)
	}
	inc := runCLI(t, "", "export", "--db", db, "--include-honeypots")
	withHoneypots := maps.Clone(checkSeverity)
	maps.Copy(withHoneypots, honeypots)
	if diff := cmp.Diff(withHoneypots, exportedSeverity(t, inc.stdout)); inc.code != 0 || diff != "" || !strings.Contains(inc.stdout, `"probable-honeypot,`) {
		t.Errorf("export --include-honeypots (exit %d; -check +export):\n%s\n%s", inc.code, diff, inc.stdout)
	}

	// The census's counts: the same gateways, the look-alike apart.
	run := lastRun(t, db)
	if run.Detected != int64(len(checkSeverity)) || run.Honeypots != 1 || run.ByFlag["probable-honeypot"] != 0 {
		t.Errorf("report: %d gateways, %d probable honeypots; check and export say %d and 1", run.Detected, run.Honeypots, len(checkSeverity))
	}
	tr := runCLI(t, "", "trend", "--db", db, "--format", "json")
	var days struct{ Days []report.TrendRow }
	if err := json.Unmarshal([]byte(tr.stdout), &days); err != nil || len(days.Days) != 1 || days.Days[0].Reachable != run.Detected || days.Days[0].Honeypots != 1 {
		t.Errorf("trend: %v %+v", err, days.Days)
	}

	// The look-alike alone: listed with its findings, not exposed, and the reason in one line.
	alone := runCLI(t, "", "check", "--ports", fmt.Sprint(lookalike), "127.0.0.1")
	why := fmt.Sprintf("\n  127.0.0.1:%d answers like a gateway but contradicts a real one (", lookalike)
	if alone.code != 0 || !strings.HasPrefix(alone.stdout, "not exposed: no OpenClaw gateway believed real answers; 1 probable honeypot(s)") ||
		!strings.Contains(alone.stdout, why) || !strings.Contains(alone.stdout, "probable honeypot, not counted; what it claims:\n  ✗ ") {
		t.Errorf("check of the look-alike: exit %d, want 0 and why\n%s", alone.code, alone.stdout)
	}

	// A re-check of one port is a series of its own: export no longer takes the newest run
	// unasked, and says what to pass.
	if res := runCLI(t, "", "scan", "--lab", "--scan-type", "connect", "--ports", fmt.Sprint(lookalike), "--db", db, "127.0.0.1"); res.code != 0 {
		t.Fatalf("re-check: exit %d\n%s", res.code, res.stderr)
	}
	refused := runCLI(t, "", "export", "--db", db)
	if refused.code != exitUsage || !strings.Contains(refused.stderr, "export would take the newest run, 2, but it is of the series targets 127.0.0.1, ports "+fmt.Sprint(lookalike)) ||
		!strings.Contains(refused.stderr, "pass --run 2 to export it as it stands, or --run 1 for the census's newest complete run") || refused.stdout != "" {
		t.Errorf("export after a re-check: exit %d, want %d\n%s", refused.code, exitUsage, refused.stderr)
	}
	if res := runCLI(t, "", "export", "--db", db, "--run", "2"); res.code != 0 || len(exportedSeverity(t, res.stdout)) != 0 || strings.Contains(res.stderr, "warning") {
		t.Errorf("export --run 2: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// exportedSeverity reads a Shadowserver CSV export: the severity of each port.
func exportedSeverity(t *testing.T, out string) map[uint16]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("export: %v\n%s", err, out)
	}
	col := func(name string) int { return slices.Index(rows[0], name) }
	got := map[uint16]string{}
	for _, r := range rows[1:] {
		port, err := strconv.ParseUint(r[col("port")], 10, 16)
		if err != nil {
			t.Fatalf("export row %v: %v", r, err)
		}
		got[uint16(port)] = r[col("severity")]
	}
	return got
}
