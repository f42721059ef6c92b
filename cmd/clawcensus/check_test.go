package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/report"
)

// TestCheckVerdicts runs check against real-gateway replays (no auth, token, an old release, the
// host terminal on), nginx and a closed port: exit code, verdict and each finding's fix.
func TestCheckVerdicts(t *testing.T) {
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	latest := rules.Latest("openclaw")
	l := startLab(t)
	gw := "../../fingerprint/testdata/gateways/"
	for _, c := range []struct {
		name     string
		port     uint16
		code     int
		findings []string // ids that must be there
		absent   []string // ids that must not
		auth     string
	}{
		{"no auth, host terminal on", serveFixture(t, gw+"openclaw-2026.9.6-none.txtar"), 3,
			[]string{"internet-exposure", "no-authentication", "host-terminal-open", "plaintext-http"}, []string{"outdated-version", "auth-unknown"}, "none"},
		{"token", l.gateway, 3, []string{"internet-exposure", "host-terminal-open"}, []string{"no-authentication", "outdated-version", "known-advisories"}, "required"},
		{"old release", serveFixture(t, gw+"openclaw-2026.3.8-token.txtar"), 3,
			[]string{"internet-exposure", "outdated-version", "known-advisories", "bootstrap-config-leak"}, []string{"no-authentication"}, "unknown"},
		{"untrusted proxy", serveFixture(t, gw+"openclaw-2026.9.6-token-untrusted-proxy.txtar"), 3,
			[]string{"proxy-attribution-required", "auth-unknown"}, nil, "unknown"},
		{"nginx", l.nginx, 0, nil, nil, ""},
		{"closed port", l.closed, 0, nil, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := runCLI(t, "", "check", "--format", "json", "--ports", fmt.Sprint(c.port), "127.0.0.1")
			if res.code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", res.code, c.code, res.stdout, res.stderr)
			}
			var got report.CheckResult
			if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
				t.Fatalf("%v:\n%s", err, res.stdout)
			}
			wantVerdict := map[int]string{0: "not-exposed", 3: "exposed"}[c.code]
			if got.Verdict != wantVerdict || got.Latest != latest {
				t.Errorf("verdict %q, latest %q; want %q, %q", got.Verdict, got.Latest, wantVerdict, latest)
			}
			switch {
			case c.name == "closed port":
				if got.Open != 0 || len(got.Hosts) != 0 {
					t.Errorf("a closed port reads as %d open: %+v", got.Open, got.Hosts)
				}
				return
			case c.code == 0:
				if got.Open != 1 || got.Hosts[0].Exposed || got.Hosts[0].Outcome != "not-openclaw" || len(got.Hosts[0].Findings) != 0 {
					t.Errorf("nginx: %+v", got.Hosts)
				}
				return
			}
			h := got.Hosts[0]
			if !h.Exposed || h.Auth != c.auth || h.Product != "openclaw" {
				t.Errorf("host %+v", h)
			}
			var ids []string
			for _, f := range h.Findings {
				ids = append(ids, f.ID)
				if !f.Info && (f.Why == "" || f.Fix == "" || f.MIIT == "" || len(f.Docs) == 0 || !strings.HasPrefix(f.Docs[0], "https://docs.openclaw.ai/")) {
					t.Errorf("finding %s lacks why, fix, MIIT item or docs: %+v", f.ID, f)
				}
				if f.ID == "outdated-version" && (!strings.Contains(f.Title, latest) || !strings.Contains(f.Fix, "openclaw "+latest)) {
					t.Errorf("the upgrade does not name %s: %+v", latest, f)
				}
			}
			for _, id := range c.findings {
				if !slices.Contains(ids, id) {
					t.Errorf("no %s finding in %v", id, ids)
				}
			}
			for _, id := range c.absent {
				if slices.Contains(ids, id) {
					t.Errorf("a %s finding in %v", id, ids)
				}
			}
		})
	}
	// Text for a person: the fix and the docs, exit 3.
	res := runCLI(t, "", "check", "--ports", fmt.Sprint(l.gateway), "127.0.0.1")
	if res.code != 3 || !strings.HasPrefix(res.stdout, "EXPOSED: 1 OpenClaw gateway") || !strings.Contains(res.stdout, "fix: Set terminal.enabled: false") ||
		!strings.Contains(res.stdout, "docs: https://docs.openclaw.ai/gateway/config-gateway") || !strings.Contains(res.stdout, "MIIT/NVDB: Do apply least privilege") {
		t.Errorf("text: exit %d\n%s", res.code, res.stdout)
	}
}

func TestCheckRefusals(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"check"}, "no targets"},
		{[]string{"check", "127.0.0.0/8"}, "check is for your own hosts and ranges"},
		{[]string{"check", "--format", "xml", "127.0.0.1"}, "want text or json"},
		{[]string{"check", "--ports", "", "127.0.0.1"}, "--ports is empty"},
		{[]string{"check", "--timeout", "0s", "127.0.0.1"}, "must be positive"},
		{[]string{"check", "@targets.txt"}, "not \"@targets.txt\""},
		{[]string{"check", "--scope", "127.0.0.2", "127.0.0.1"}, "outside the authorized scope"},
	} {
		res := runCLI(t, "", c.args...)
		if res.code != 2 || !strings.Contains(res.stderr, c.want) || res.stdout != "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, res.code, res.stderr, c.want)
		}
	}
}
