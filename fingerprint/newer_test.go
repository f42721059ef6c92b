package fingerprint_test

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/fingerprint/fixture"
	"github.com/clawcensus/clawcensus/fingerprint/knowledgetest"
	"github.com/clawcensus/clawcensus/observation"
)

// TestNewerThanTheKnowledgeBase replays a real 2026.9.6 gateway against a knowledge base made
// before that release (the embedded one less every openclaw release from 2026.9.6 on): its
// claims give the exact version, marked newer than the knowledge base, official unknown, no
// unofficial-build and no outdated-version, with evidence naming the table's newest release.
// With the full table the same gateway is the exact, official release.
func TestNewerThanTheKnowledgeBase(t *testing.T) {
	addr, stop := serveRecorded(t, "openclaw-2026.9.6-token.txtar")
	defer stop()

	path := knowledgetest.Before(t, "openclaw", "2026.9.6")
	oldRules, err := fingerprint.LoadKnowledge(fingerprint.KnowledgeConfig{File: path})
	if err != nil {
		t.Fatal(err)
	}
	newest := oldRules.Knowledge.Newest
	if strings.Contains(newest, "2026.9.6") {
		t.Fatalf("the old table still knows 2026.9.6: %s", newest)
	}
	for _, tc := range []struct {
		name  string
		rules *fingerprint.Rules
	}{{"old table", oldRules}, {"full table", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			fp, err := fingerprint.New(fingerprint.Config{ToolVersion: "test", Rules: tc.rules})
			if err != nil {
				t.Fatal(err)
			}
			defer fp.Close()
			got := fp.Fingerprint(context.Background(), addr)
			if !got.Detected() || got.Version != "2026.9.6" {
				t.Fatalf("detected %v version %q: %v", got.Detected(), got.Version, got.Evidence)
			}
			evidence := strings.Join(got.Evidence, "\n")
			if tc.rules == nil {
				if got.VersionStatus != observation.VersionKnown || got.Official == nil || !*got.Official {
					t.Errorf("full table: status %q official %v\n%s", got.VersionStatus, got.Official, evidence)
				}
				return
			}
			if got.VersionStatus != observation.VersionNewer || got.Official != nil {
				t.Errorf("old table: status %q official %v\n%s", got.VersionStatus, got.Official, evidence)
			}
			for _, m := range []string{fingerprint.MIITMirror, fingerprint.MIITOutdated} {
				if slices.Contains(got.MIIT, m) {
					t.Errorf("old table: MIIT %s for a release newer than the table: %v", m, got.MIIT)
				}
			}
			if !strings.Contains(evidence, "newer than the knowledge base") || !strings.Contains(evidence, strings.Fields(newest)[1]) ||
				!strings.Contains(evidence, "fingerprints update") {
				t.Errorf("old table: the evidence does not name the table's newest release %s:\n%s", newest, evidence)
			}
		})
	}
}

// TestReanalyzeWithANewerKnowledgeBase: the observation made with the old table is judged
// again from its kept facts with the full table, without a packet: the exact, official
// release; doing it twice changes nothing; and every recorded gateway judged again with the
// table it was seen with is what was seen.
func TestReanalyzeWithANewerKnowledgeBase(t *testing.T) {
	addr, stop := serveRecorded(t, "openclaw-2026.9.6-token.txtar")
	path := knowledgetest.Before(t, "openclaw", "2026.9.6")
	oldRules, err := fingerprint.LoadKnowledge(fingerprint.KnowledgeConfig{File: path})
	if err != nil {
		t.Fatal(err)
	}
	oldFP, err := fingerprint.New(fingerprint.Config{ToolVersion: "test", Rules: oldRules})
	if err != nil {
		t.Fatal(err)
	}
	defer oldFP.Close()
	seen := oldFP.Fingerprint(context.Background(), addr)
	stop() // from here on, no packet
	if seen.VersionStatus != observation.VersionNewer || seen.Facts == "" {
		t.Fatalf("seen with the old table: status %q, facts %d bytes", seen.VersionStatus, len(seen.Facts))
	}
	full := newFingerprinter(t)
	again, err := full.Reanalyze(seen)
	if err != nil {
		t.Fatal(err)
	}
	if again.Version != "2026.9.6" || again.VersionStatus != observation.VersionKnown || again.Official == nil || !*again.Official {
		t.Errorf("reanalysed: version %q status %q official %v\n%s", again.Version, again.VersionStatus, again.Official, strings.Join(again.Evidence, "\n"))
	}
	twice, err := full.Reanalyze(again)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(again, twice, addrEqual); d != "" {
		t.Errorf("a second reanalysis changed the observation:\n%s", d)
	}
}

// TestReanalyzeIsWhatWasSeen: every recorded gateway, judged again from its facts with the
// same knowledge base, is exactly what the live fingerprint said.
func TestReanalyzeIsWhatWasSeen(t *testing.T) {
	files, err := filepath.Glob("testdata/gateways/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	fp := newFingerprinter(t)
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			addr, stop := serveRecorded(t, filepath.Base(name))
			defer stop()
			live := fp.Fingerprint(context.Background(), addr)
			if !live.Detected() || live.Facts == "" {
				t.Fatalf("a recorded gateway not detected, or without facts: %v", live.Evidence)
			}
			again, err := fp.Reanalyze(live)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(live, again, addrEqual); d != "" {
				t.Errorf("reanalysed with the same table (-live +again):\n%s", d)
			}
		})
	}
}

var addrEqual = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// serveRecorded replays a recorded gateway of testdata/gateways on loopback; stop ends it.
func serveRecorded(t *testing.T, name string) (netip.AddrPort, func()) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata/gateways", name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := fixture.Parse(name, data)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f)
	return netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://")), srv.Close
}
