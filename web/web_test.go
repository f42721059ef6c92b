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
	"github.com/clawcensus/clawcensus/report/reporttest"
	"github.com/clawcensus/clawcensus/store"
)

type fakeSource struct {
	runs  []store.Summary
	extra []observation.Observation // run 3's besides reporttest.Observations
}

func (f fakeSource) Summaries(context.Context) ([]store.Summary, error) { return f.runs, nil }
func (f fakeSource) Observations(_ context.Context, run int64) ([]observation.Observation, error) {
	if run != 3 {
		return nil, nil
	}
	return append(reporttest.Observations(), f.extra...), nil
}

// TestWebVerdicts: the view shows report's verdict. The look-alike is found by a search, marked
// a probable honeypot and not counted; the run's honeypots are a number of their own; the
// export leaves it out, as export does.
func TestWebVerdicts(t *testing.T) {
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	no := false
	lookalike := observation.Observation{IP: netip.MustParseAddr("127.0.0.30"), Port: 18789, Scheme: "http", Outcome: observation.OpenClaw,
		Product: "openclaw", Version: "2026.6.10", Auth: "none", Official: &no, Honeypot: true, Flags: []string{"probable-honeypot"},
		Evidence: []string{`contradiction: Server header "Apache" present (a real gateway sends none)`}}
	srv := httptest.NewServer(New(fakeSource{runs: reporttest.Runs(), extra: []observation.Observation{lookalike}}, rules, Config{}))
	defer srv.Close()
	get := func(path string) string {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	if body := get("/"); !strings.Contains(body, `<strong id="detected">22</strong> gateways
(and <span id="honeypots">1</span> probable honeypots, counted apart)`) {
		t.Errorf("index: no honeypot count apart\n%s", body)
	}
	if body := get("/search?q=127.0.0.0/24"); !strings.Contains(body, `<p id="count">2 gateway(s) and 1 probable honeypot(s), not counted.</p>`) ||
		strings.Count(body, `<tr class="hit">`) != 3 || strings.Count(body, ">probable honeypot, not counted</span>") != 1 ||
		!strings.Contains(body, `<td class="verdict">critical</td>`) {
		t.Errorf("search: the verdicts are not shown\n%s", body)
	}
	if body := get("/runs/3/export.csv"); strings.Contains(body, "127.0.0.30") || strings.Count(body, "\n") != 6 {
		t.Errorf("export: the look-alike is exported\n%s", body)
	}
}

func TestWebView(t *testing.T) {
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(fakeSource{runs: reporttest.Runs()}, rules, Config{}))
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
	srv := httptest.NewServer(New(fakeSource{runs: reporttest.Runs()}, rules, Config{Token: "0123456789abcdef-token"}))
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

// TestRunPageIsItsSeries: a /28 re-check after the /24 census on the same day is a series of
// its own. The census's page headlines its 20 gateways over a trend of its own series (20, not
// the re-check's 14), and the index's charts say the series they show.
func TestRunPageIsItsSeries(t *testing.T) {
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	runs := reporttest.Runs()[:1]
	recheck := runs[0]
	recheck.ID, recheck.Targets, recheck.TargetCount = 2, "127.0.0.0/28", 16
	recheck.StartedAt = recheck.StartedAt.Add(6 * time.Hour)
	recheck.Detected, recheck.ByAuth = 14, map[string]int64{"none": 14}
	runs = append(runs, recheck)
	srv := httptest.NewServer(New(fakeSource{runs: runs}, rules, Config{}))
	defer srv.Close()
	get := func(path string) string {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		return string(b)
	}
	body := get("/runs/1")
	if !strings.Contains(body, `<strong id="detected">20</strong>`) || !strings.Contains(body, `<td class="n">1</td><td class="n">20</td>`) ||
		!strings.Contains(body, "Trend, series targets 127.0.0.0/24, ports 18789") {
		t.Errorf("run 1's page lacks its own count and trend")
	}
	if strings.Contains(body, `<td class="n">2</td><td class="n">14</td>`) {
		t.Errorf("run 1's page has a trend row of the re-check, run 2")
	}
	body = get("/")
	if !strings.Contains(body, `<span id="series">targets 127.0.0.0/28, ports 18789</span>`) || !strings.Contains(body, `aria-label="Exposed gateways per day, by authentication, series targets 127.0.0.0/28, ports 18789; kb `) ||
		!strings.Contains(body, "<td>targets 127.0.0.0/24, ports 18789</td>") {
		t.Errorf("the index does not say which series its charts and runs are")
	}
}
