package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clawcensus/clawcensus/fingerprint/knowledgetest"
)

// TestNewerReleaseThenReanalyze is the knowledge base's loop from the command line: a real
// 2026.9.6 gateway scanned with a knowledge base made before that release is counted apart
// (newer than the knowledge base, official unknown, no unofficial-build); after the knowledge
// base knows the release, reanalyze redoes the stored verdict without a packet (the gateway is
// gone by then): the exact, official release, in the report and the export. Twice changes
// nothing; an older knowledge base is refused without --force.
func TestNewerReleaseThenReanalyze(t *testing.T) {
	dir := t.TempDir()
	oldKB := knowledgetest.Before(t, "openclaw", "2026.9.6")
	db := filepath.Join(dir, "k.db")
	port := serveFixture(t, "../../fingerprint/testdata/gateways/openclaw-2026.9.6-token.txtar")
	res := runCLI(t, "", "scan", "--lab", "--scan-type", "connect", "--ports", fmt.Sprint(port), "--db", db,
		"--fingerprints", oldKB, "127.0.0.1")
	if res.code != 0 || !strings.Contains(res.stdout, `"version_status":"newer-than-knowledge-base"`) || !strings.Contains(res.stdout, `"official":null`) ||
		strings.Contains(res.stdout, "unofficial-build") {
		t.Fatalf("scan with the old knowledge base: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	text := runCLI(t, "", "report", "--db", db, "--last")
	if !strings.Contains(text.stdout, "newer-than-knowledge-base") || !strings.Contains(text.stdout, "fingerprints update") ||
		!strings.Contains(text.stdout, "knowledge base: ") {
		t.Errorf("report after the old knowledge base:\n%s", text.stdout)
	}
	// The embedded knowledge base knows the release: reanalyze takes it (the gateway's facts
	// were kept with it); a second time changes nothing.
	re := runCLI(t, "", "reanalyze", "--db", db, "--run", "1")
	if re.code != 0 || !strings.Contains(re.stdout, "1 gateways judged again, 1 verdicts changed") {
		t.Fatalf("reanalyze: exit %d\n%s\n%s", re.code, re.stdout, re.stderr)
	}
	if again := runCLI(t, "", "reanalyze", "--db", db, "--all"); again.code != 0 || !strings.Contains(again.stdout, "already judged") {
		t.Errorf("reanalyze twice: exit %d\n%s\n%s", again.code, again.stdout, again.stderr)
	}
	if back := runCLI(t, "", "reanalyze", "--db", db, "--run", "1", "--fingerprints", oldKB); back.code != 2 || !strings.Contains(back.stderr, "--force") {
		t.Errorf("reanalyze with an older knowledge base: exit %d\n%s", back.code, back.stderr)
	}
	runs := reportRuns(t, db)
	if len(runs) != 1 || runs[0].ByVersion["2026.9.6"] != 1 || runs[0].ByOfficial["true"] != 1 || runs[0].ByVersionStatus["known"] != 1 ||
		runs[0].ByVersionStatus["newer-than-knowledge-base"] != 0 {
		t.Errorf("counts after reanalyze: %+v", runs)
	}
	csv := runCLI(t, "", "export", "--db", db)
	if csv.code != 0 || strings.Contains(csv.stdout, "newer-than-knowledge-base") || !strings.Contains(csv.stdout, ",known") {
		t.Errorf("export after reanalyze: exit %d\n%s", csv.code, csv.stdout)
	}
}
