package fingerprint_test

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/fingerprint/fixture"
)

// TestFixtures replays every recorded host (real gateways and negatives) on 127.0.0.1 and checks
// what the fingerprinter concludes against what the fixture says the host really was.
// Adding a case means adding a file.
func TestFixtures(t *testing.T) {
	var all []*fixture.Fixture
	for _, dir := range []string{"testdata/gateways", "testdata/negatives"} {
		fs, err := fixture.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, fs...)
	}
	if len(all) < 10 {
		t.Fatalf("only %d fixtures: the recordings are missing", len(all))
	}
	passive := newFingerprinter(t)
	active := newFingerprinter(t, "invoke")
	ws, err := fingerprint.New(fingerprint.Config{ToolVersion: "test", WebSocket: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ws.Close)
	for _, f := range all {
		t.Run(f.Name, func(t *testing.T) {
			srv := httptest.NewServer(f)
			defer srv.Close()
			addr := netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://"))

			got := passive.Fingerprint(context.Background(), addr)
			if (got.Product != "") != got.Detected() {
				// The store counts gateways by product (its SQL and the Grafana views): the two
				// must say the same.
				t.Fatalf("product %q with outcome %s", got.Product, got.Outcome)
			}
			want := f.Meta
			if want["product"] == "none" {
				if got.Detected() {
					t.Fatalf("negative detected as %s %s; evidence %v", got.Product, got.Version, got.Evidence)
				}
				return
			}
			if !got.Detected() {
				t.Fatalf("not detected (outcome %s); evidence %v", got.Outcome, got.Evidence)
			}
			check := func(field, gotV, wantV string) {
				t.Helper()
				if gotV != wantV {
					t.Errorf("%s = %q, want %q; evidence:\n  %s", field, gotV, wantV, strings.Join(got.Evidence, "\n  "))
				}
			}
			// Keys "passive_X" say what a passive observer can know where it is less than the
			// recorded truth X (each with a "# expect:" line saying why).
			expect := func(key string) (string, bool) {
				if v, ok := want["passive_"+key]; ok {
					return v, true
				}
				v, ok := want[key]
				return v, ok
			}
			check("product", got.Product, want["product"])
			if v, ok := expect("version"); ok {
				check("version", got.Version, v)
			}
			if c, ok := want["version_candidates"]; ok {
				check("version_candidates", strings.Join(got.VersionCandidates, ","), c)
			}
			// Passively some eras cannot tell auth (the fixture says so, and why); with the
			// opt-in probe every era must give the configured truth.
			wantPassive, _ := expect("auth")
			check("passive auth", got.Auth, wantPassive)
			official, _ := expect("official")
			switch official {
			case "unknown":
				if got.Official != nil {
					t.Errorf("official = %v, want unknown; evidence %v", *got.Official, got.Evidence)
				}
			case "true":
				if got.Official == nil || !*got.Official {
					t.Errorf("official = %v, want true; evidence %v", ptr(got.Official), got.Evidence)
				}
			default:
				if got.Official != nil && *got.Official {
					t.Errorf("official = true for a %s build; evidence %v", want["official"], got.Evidence)
				}
			}
			if adv, ok := want["advisories"]; ok {
				if diff := cmp.Diff(splitList(adv), got.Advisories); diff != "" {
					t.Errorf("advisories (-want +got):\n%s", diff)
				}
			}
			for _, fl := range splitList(want["flags"]) {
				if !slices.Contains(got.Flags, fl) {
					t.Errorf("flag %s missing from %v", fl, got.Flags)
				}
			}
			if want["honeypot"] == "true" && !got.Honeypot {
				t.Errorf("not flagged as a probable honeypot; evidence %v", got.Evidence)
			}
			if want["honeypot"] != "true" && got.Honeypot {
				t.Errorf("real gateway flagged as a honeypot; evidence %v", got.Evidence)
			}

			if frame, ok := f.Frames["WS /"]; ok && strings.Contains(string(frame), "connect.challenge") {
				w := ws.Fingerprint(context.Background(), addr)
				if !slices.Contains(w.Flags, "websocket-challenge") {
					t.Errorf("the recorded connect.challenge frame was not read; evidence %v", w.Evidence)
				}
				if strings.Contains(string(frame), "model-catalog-snapshot") && !slices.ContainsFunc(w.Evidence, func(e string) bool {
					return strings.Contains(e, "capabilities model-catalog-snapshot")
				}) {
					t.Errorf("capabilities missing from evidence %v", w.Evidence)
				}
			}

			act := active.Fingerprint(context.Background(), addr)
			if want["official"] == "true" {
				wantActive := want["auth"]
				if a, ok := want["active_auth"]; ok {
					wantActive = a
				}
				check("auth with the invoke probe", act.Auth, wantActive)
			}
		})
	}
}

func newBenchFingerprinter(b *testing.B) *fingerprint.Fingerprinter {
	fp, err := fingerprint.New(fingerprint.Config{ToolVersion: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fp.Close)
	return fp
}

func newFingerprinter(t *testing.T, optIn ...string) *fingerprint.Fingerprinter {
	t.Helper()
	fp, err := fingerprint.New(fingerprint.Config{ToolVersion: "test", Contact: "https://example.invalid/scan", OptIn: optIn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fp.Close)
	return fp
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func ptr(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

// TestTLSGateway replays a real gateway behind TLS: the scheme is found after the plain-HTTP
// attempt fails, and the handshake's details are kept.
func TestTLSGateway(t *testing.T) {
	fs, err := fixture.Load("testdata/gateways")
	if err != nil {
		t.Fatal(err)
	}
	var gw *fixture.Fixture
	for _, f := range fs {
		if f.Name == "openclaw-2026.9.6-token" {
			gw = f
		}
	}
	if gw == nil {
		t.Fatal("fixture openclaw-2026.9.6-token missing")
	}
	srv := httptest.NewTLSServer(gw)
	defer srv.Close()
	got := newFingerprinter(t).Fingerprint(context.Background(), netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "https://")))
	if got.Scheme != "https" || got.Version != "2026.9.6" || !slices.Contains(got.Flags, "tls") || slices.Contains(got.Flags, "plaintext-http") {
		t.Errorf("over TLS: scheme %s version %s flags %v", got.Scheme, got.Version, got.Flags)
	}
	if !strings.Contains(got.TLS, "TLS") || !strings.Contains(got.TLS, "example.com") {
		t.Errorf("TLS details %q", got.TLS)
	}
}
