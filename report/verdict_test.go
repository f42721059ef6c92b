package report

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/report/reporttest"
	"github.com/clawcensus/clawcensus/store"
)

// lookalike is the lab's look-alike (fingerprint/testdata/negatives/lookalike-server-apache):
// an open 2026.6.10 page behind an Apache header set, which a real gateway never sends.
func lookalike() observation.Observation {
	no := false
	return observation.Observation{IP: netip.MustParseAddr("127.0.0.30"), Port: 18789, Scheme: "http", Outcome: observation.OpenClaw,
		Product: "openclaw", Version: "2026.6.10", Auth: observation.AuthNone, Official: &no, Honeypot: true,
		Advisories: []string{"CVE-2026-45001"}, Flags: []string{"plaintext-http", "probable-honeypot"},
		MIIT:     []string{"internet-exposure", "no-authentication", "known-advisories"},
		Evidence: []string{"marker openclaw/title on GET /", `contradiction: Server header "Apache/2.4.58 (Ubuntu)" present (a real gateway sends none)`},
		Server:   "Apache/2.4.58 (Ubuntu)", ObservedAt: time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)}
}

// TestVerdict holds the one decision: what counts, what is a probable honeypot (counted
// apart, "info" whatever it claims, with the reason in one line), and what is no gateway.
func TestVerdict(t *testing.T) {
	j := &Judge{severityOf: map[string]string{"CVE-2026-45001": "high"}, latest: "2026.9.6"}
	real := lookalike()
	real.IP, real.Honeypot, real.Flags, real.Server, real.Evidence = netip.MustParseAddr("127.0.0.11"), false, []string{"plaintext-http"}, "", nil
	nginx := observation.Observation{IP: netip.MustParseAddr("127.0.0.12"), Port: 80, Outcome: observation.NotOpenClaw, Title: "Welcome to nginx!"}
	for _, c := range []struct {
		name     string
		o        observation.Observation
		want     Verdict
		findings []string
	}{
		{"a real gateway, open and vulnerable", real, Verdict{Gateway: true, Counts: true, Severity: SeverityCritical},
			[]string{"internet-exposure", "no-authentication", "known-advisories", "plaintext-http"}},
		{"the look-alike", lookalike(), Verdict{Gateway: true, ProbableHoneypot: true, Severity: SeverityInfo,
			NotCounted: `answers like a gateway but contradicts a real one (Server header "Apache/2.4.58 (Ubuntu)" present (a real gateway sends none)): probable honeypot, not counted`},
			[]string{"internet-exposure", "no-authentication", "known-advisories", "plaintext-http", "probable-honeypot"}},
		{"not a gateway", nginx, Verdict{}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := j.Verdict(c.o)
			if diff := cmp.Diff(c.want, got, cmpopts.IgnoreFields(Verdict{}, "Findings")); diff != "" {
				t.Errorf("verdict (-want +got):\n%s", diff)
			}
			var ids []string
			for _, f := range got.Findings {
				ids = append(ids, f.ID)
			}
			if diff := cmp.Diff(c.findings, ids); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if got.Counts != c.o.Counts() || got.ProbableHoneypot != c.o.ProbableHoneypot() {
				t.Errorf("the verdict and observation.Counts disagree: %+v", got)
			}
		})
	}
}

// TestExportsLeaveHoneypotsOut: every export format and the pack write the gateways that count
// and leave the look-alike out; IncludeHoneypots puts it in, tagged probable-honeypot, at
// severity info, in every format.
func TestExportsLeaveHoneypotsOut(t *testing.T) {
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	obs := append(reporttest.Observations(), lookalike())
	for _, include := range []bool{false, true} {
		for _, format := range Formats {
			ex := NewExporter(rules)
			ex.IncludeHoneypots = include
			ex.Format.Name = format
			var b bytes.Buffer
			if err := ex.Write(&b, obs); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			lines := strings.Count(out, "\n")
			if format == FormatShadowserver {
				lines-- // the header
			}
			want, has := 5, strings.Contains(out, "127.0.0.30")
			if include {
				want++
			}
			if lines != want || has != include {
				t.Errorf("%s, include %v: %d rows, the look-alike there: %v; want %d rows\n%s", format, include, lines, has, want, out)
			}
			if !include {
				continue
			}
			tagged := map[string]string{FormatShadowserver: `info,127.0.0.30,tcp,18789,,"probable-honeypot,openclaw,no-auth`,
				FormatIntelMQ: `"extra.probable_honeypot":true`, FormatXARF: `"verdict:probable-honeypot"`}[format]
			if !strings.Contains(out, tagged) {
				t.Errorf("%s: the look-alike is not tagged (%s)\n%s", format, tagged, out)
			}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var ev map[string]any
				if format == FormatShadowserver || json.Unmarshal([]byte(line), &ev) != nil {
					continue
				}
				if bad := map[string]func(map[string]any) []string{FormatIntelMQ: checkIntelMQ, FormatXARF: checkXARF}[format](ev); len(bad) > 0 {
					t.Errorf("%s: %s: %v", format, line, bad)
				}
			}
		}
		dir := filepath.Join(t.TempDir(), "pack")
		ex := NewExporter(rules)
		ex.IncludeHoneypots = include
		p := &Pack{Dir: dir, By: "asn", Run: store.Summary{Run: store.Run{ID: 3, StartedAt: time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)},
			Honeypots: 1}}
		recips, err := p.Write(obs, ex)
		if err != nil {
			t.Fatal(err)
		}
		if gateways, _ := Totals(recips); gateways != 5+btoi(include) {
			t.Errorf("pack, include %v: %d gateways", include, gateways)
		}
		var manifest struct {
			Honeypots struct {
				Found    int
				Included bool
				Note     string
			} `json:"probable_honeypots"`
		}
		b, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err := json.Unmarshal(b, &manifest); err != nil || manifest.Honeypots.Found != 1 || manifest.Honeypots.Included != include ||
			!strings.Contains(manifest.Honeypots.Note, map[bool]string{false: "left out", true: "included"}[include]) {
			t.Errorf("pack, include %v: manifest says %+v (%v)", include, manifest.Honeypots, err)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestCheckSaysWhyItIsNotExposed: a check that finds only the look-alike lists its findings
// and says in one line why it is not exposed; with a real gateway beside it, it is exposed
// and the look-alike stays apart.
func TestCheckSaysWhyItIsNotExposed(t *testing.T) {
	j := &Judge{severityOf: map[string]string{}, latest: "2026.9.6"}
	only := Check([]observation.Observation{lookalike()}, []string{"127.0.0.30"}, "18789", j)
	if only.Verdict != "not-exposed" || only.Exposed != 0 || only.Honeypots != 1 || !only.Hosts[0].ProbableHoneypot || only.Hosts[0].Exposed {
		t.Errorf("the look-alike alone: %+v", only)
	}
	var b bytes.Buffer
	if err := only.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"not exposed: no OpenClaw gateway believed real answers; 1 probable honeypot(s) answer like one, not counted",
		"\n  127.0.0.30:18789 answers like a gateway but contradicts a real one (Server header \"Apache/2.4.58 (Ubuntu)\" present (a real gateway sends none)): probable honeypot, not counted; what it claims:\n",
		"[info]", "✗ ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	real := lookalike()
	real.IP, real.Honeypot = netip.MustParseAddr("127.0.0.11"), false
	both := Check([]observation.Observation{lookalike(), real}, []string{"127.0.0.0/24"}, "18789", j)
	if both.Verdict != "exposed" || both.Exposed != 1 || both.Honeypots != 1 ||
		slices.IndexFunc(both.Hosts, func(h HostVerdict) bool { return h.Exposed && h.IP == "127.0.0.11" && h.Severity == SeverityCritical }) < 0 {
		t.Errorf("a real gateway beside the look-alike: %+v", both)
	}
	b.Reset()
	both.WriteText(&b)
	if !strings.HasPrefix(b.String(), "EXPOSED: 1 OpenClaw gateway(s) answer; 1 probable honeypot(s) answer like one, not counted") {
		t.Errorf("text:\n%s", b.String())
	}
}
