package fingerprint_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/fingerprint/fixture"
)

// TestPoisonedVersionIsNotData replays a real 2026.3.8 gateway (whose config JSON is its only
// explicit version source) with the version replaced by strings a hostile server might send:
// none becomes the stored version, earns advisories or counts as an official build; each is
// kept as evidence. The asset table may still name the release the bundle really is.
func TestPoisonedVersionIsNotData(t *testing.T) {
	data, err := os.ReadFile("testdata/gateways/openclaw-2026.3.8-token.txtar")
	if err != nil {
		t.Fatal(err)
	}
	fp := newFingerprinter(t)
	// February 31st and dates after the observation are of the grammar but no release's.
	future := time.Now().UTC().AddDate(0, 2, 0)
	for _, poison := range []string{"+202.1.1", "2026.3.8\x1b[31m", "=HYPERLINK(\"x\")", "0.0.1", "9999.99.99", "2026.13.1", "2026.3.8-beta.-1",
		"2026.2.31", "2026.4.31", "2099.12.9", fmt.Sprintf("%d.%d.%d", future.Year(), future.Month(), future.Day())} {
		t.Run(strings.ToValidUTF8(poison, "?"), func(t *testing.T) {
			value := jsonString(poison)
			text := strings.Replace(string(data), `serverVersion":"2026.3.8"`, `serverVersion":`+value, 1)
			// The recorded response names its length: keep it true.
			text = strings.Replace(text, "Content-Length: 118\n", fmt.Sprintf("Content-Length: %d\n", 118+len(value)-len(`"2026.3.8"`)), 1)
			if !strings.Contains(text, value) || !strings.Contains(string(data), "Content-Length: 118\n") {
				t.Fatal("the fixture's config response is not the one this test poisons")
			}
			f, err := fixture.Parse("poisoned.txtar", []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(f)
			defer srv.Close()
			got := fp.Fingerprint(context.Background(), netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://")))
			if !got.Detected() {
				t.Fatalf("not detected: %v", got.Evidence)
			}
			if got.Version == poison || strings.ContainsAny(got.Version, "+=\x1b") {
				t.Errorf("version %q from a poisoned claim", got.Version)
			}
			for _, c := range got.VersionCandidates {
				if c == poison {
					t.Errorf("candidate %q from a poisoned claim", c)
				}
			}
			if got.Official != nil && *got.Official {
				t.Error("a poisoned build counted as official")
			}
			if !strings.Contains(strings.Join(got.Evidence, "\n"), "is not a release number") {
				t.Errorf("the poisoned claim is not in the evidence: %v", got.Evidence)
			}
			for _, e := range got.Evidence {
				if strings.ContainsRune(e, '\x1b') {
					t.Errorf("evidence carries a control byte: %q", e)
				}
			}
		})
	}
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// TestDatedClaims: a claim unknown to the table is a release only on a real calendar day, no
// later than a day after the observation.
func TestDatedClaims(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for s, want := range map[string]bool{
		"2026.12.7": true, "2026.12.8": true, "2026.12.9": false, "2026.2.28": true, "2026.2.29": false,
		"2028.2.29": false, "2024.2.29": true, "2026.4.31": false, "2027.1.1": false,
		// A day past 31 numbers a backport to that month's line: dated when the month is not later.
		"2026.7.33": true, "2026.12.35": true, "2027.1.33": false, "2026.13.33": false,
	} {
		if got := fingerprint.MustParseVersion(s).Dated(at.Add(24 * time.Hour)); got != want {
			t.Errorf("%s dated %v at %s, want %v", s, got, at.Format(time.DateOnly), want)
		}
	}
}
