package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/report"
	"github.com/clawcensus/clawcensus/store"
)

// sampleRuns is three days of complete runs over a loopback lab, the last with enrichment (the
// same runs as report's document tests).
func sampleRuns() []store.Summary {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 2, 0, 0, 0, time.UTC) }
	var runs []store.Summary
	for i, d := range []int{26, 27, 28} {
		end := day(d).Add(40 * time.Minute)
		s := store.Summary{Run: store.Run{ID: int64(i + 1), StartedAt: day(d), EndedAt: &end, Status: store.StatusComplete,
			Targets: "127.0.0.0/24", TargetCount: 256, Ports: "18789", Rate: 2000, Seed: 42, Shard: "0/1", Method: "connect",
			ToolVersion: "test", ProbesSent: 256, OpenPorts: int64(20 + i)},
			Detected:   int64(20 + i),
			ByVersion:  map[string]int64{"2026.9.6": int64(8 + i), "2026.3.8": 6, "2026.1.24-3": 4, "unknown": 2},
			ByAuth:     map[string]int64{"required": int64(11 + i), "none": 5, "unknown": 4},
			ByProduct:  map[string]int64{"openclaw": int64(16 + i), "clawdbot": 4},
			ByOfficial: map[string]int64{"true": int64(18 + i), "unknown": 2},
			ByFlag:     map[string]int64{"plaintext-http": int64(20 + i), "host-terminal-enabled": 1},
			ByMIIT:     map[string]int64{"internet-exposure": int64(20 + i), "known-advisories": 10},
			ByAdvisory: map[string]int64{"CVE-2026-25253": 4, "CVE-2026-45001": 10},
			ByCountry:  map[string]int64{}, ByASN: map[string]int64{},
		}
		if d == 28 {
			s.Enrichment = "lab.mmdb (2026-11-01)"
			s.ByCountry = map[string]int64{"ZZ": 15, "": int64(5 + i)}
			s.ByASN = map[string]int64{"AS64500": 15, "": int64(5 + i)}
		}
		runs = append(runs, s)
	}
	return runs
}

// sampleObservations are run 3's: five gateways over three networks and the unknown one, one
// of them IPv6, and a host that is not a gateway (the same as report's pack tests).
func sampleObservations() []observation.Observation {
	at := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	gw := func(ip string, asn uint32, org, country, auth string, adv ...string) observation.Observation {
		return observation.Observation{IP: netip.MustParseAddr(ip), Port: 18789, Scheme: "http", Outcome: observation.OpenClaw,
			Product: "openclaw", Version: "2026.3.8", Auth: auth, Advisories: adv, ASN: asn, ASOrg: org, Country: country, ObservedAt: at}
	}
	return []observation.Observation{
		gw("127.0.0.10", 64500, "=Lab One", "ZZ", "none", "CVE-2026-45001"),
		gw("127.0.0.11", 64500, "=Lab One", "ZZ", "required"),
		gw("127.0.1.5", 64501, "Lab Two", "YY", "required", "CVE-2026-45001"),
		gw("127.0.2.5", 0, "", "", "unknown"),
		gw("::1", 64500, "=Lab One", "ZZ", "required"),
		{IP: netip.MustParseAddr("127.0.0.12"), Port: 80, Outcome: observation.NotOpenClaw, ASN: 64500, ObservedAt: at},
	}
}

type fakeSource struct{ runs []store.Summary }

func (f fakeSource) Summaries(context.Context) ([]store.Summary, error) { return f.runs, nil }
func (f fakeSource) Observations(_ context.Context, run int64) ([]observation.Observation, error) {
	if run != 3 {
		return nil, nil
	}
	return sampleObservations(), nil
}

func TestWebView(t *testing.T) {
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(fakeSource{sampleRuns()}, rules, Config{}))
	defer srv.Close()
	get := func(path string) (int, string, http.Header) {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Header
	}
	code, body, h := get("/")
	if code != 200 || !strings.Contains(body, `id="chart-trend"`) || !strings.Contains(body, `<strong id="detected">22</strong>`) ||
		!strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || strings.Contains(body, "<script") {
		t.Errorf("index: %d %.300s", code, body)
	}
	for q, want := range map[string]int{"127.0.0.10": 1, "127.0.0.0/24": 2, "::ffff:127.0.0.0/104": 4, "AS64500": 3, "as64501": 1, "::1": 1, "127.9.9.9": 0} {
		code, body, _ := get("/search?q=" + q)
		if code != 200 || strings.Count(body, `<tr class="hit">`) != want {
			t.Errorf("search %s: %d, %d hits, want %d", q, code, strings.Count(body, `<tr class="hit">`), want)
		}
	}
	if code, body, _ := get("/search?q=AS0"); code != 400 || !strings.Contains(body, "reserved") {
		t.Errorf("AS0: %d %.200s", code, body)
	}
	if code, body, _ := get("/search?q=%3Cscript%3E"); code != 400 || strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("a bad query: %d %s", code, body)
	}
	if code, body, _ := get("/runs/3"); code != 200 || !strings.Contains(body, `id="methodology"`) {
		t.Errorf("report: %d", code)
	}
	if code, body, h := get("/runs/3/export.csv"); code != 200 || !strings.HasPrefix(body, strings.Join(report.ShadowserverHeader[:3], ",")) ||
		!strings.Contains(h.Get("Content-Disposition"), "2026-11-28-scan_openclaw-run3.csv") || strings.Count(body, "\n") != 6 {
		t.Errorf("export: %d %q", code, body)
	}
	if code, _, _ := get("/runs/99"); code != 404 {
		t.Errorf("a missing run: %d", code)
	}
	res, err := http.Post(srv.URL+"/", "text/plain", strings.NewReader("x"))
	if err != nil || res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %v %v", res.StatusCode, err)
	}
}

func TestWebToken(t *testing.T) {
	rules, _ := fingerprint.LoadRules()
	srv := httptest.NewServer(New(fakeSource{sampleRuns()}, rules, Config{Token: "0123456789abcdef-token"}))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	status := func(req *http.Request) int {
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	if s := status(req); s != 401 {
		t.Errorf("no token: %d", s)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/?token=wrong", nil)
	if s := status(req); s != 401 {
		t.Errorf("a wrong token: %d", s)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/", nil)
	req.Header.Set("Authorization", "Bearer 0123456789abcdef-token")
	if s := status(req); s != 200 {
		t.Errorf("bearer: %d", s)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/search?q=127.0.0.10&token=0123456789abcdef-token", nil)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || strings.Contains(res.Header.Get("Location"), "token") || len(res.Cookies()) != 1 || !res.Cookies()[0].HttpOnly {
		t.Errorf("?token=: %d %v %v", res.StatusCode, res.Header.Get("Location"), res.Cookies())
	}
	req, _ = http.NewRequest("GET", srv.URL+"/", nil)
	req.AddCookie(res.Cookies()[0])
	if s := status(req); s != 200 {
		t.Errorf("cookie: %d", s)
	}
}
