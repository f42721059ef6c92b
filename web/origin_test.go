package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/observation"
	"github.com/clawcensus/clawcensus/report/reporttest"
	"github.com/clawcensus/clawcensus/scanner"
)

// serveOnce answers one request built in memory (nothing is resolved or dialled: the names
// here are only header strings).
func serveOnce(t testing.TB, h http.Handler, path string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	for k, v := range header {
		if k == "Host" {
			r.Host = v
		} else {
			r.Header.Set(k, v)
		}
	}
	rw := httptest.NewRecorder()
	h.ServeHTTP(rw, r)
	return rw
}

// TestServeRefusesRebinding: a page on rebind.attacker.example whose name was rebound to
// 127.0.0.1 made the browser send Host: rebind.attacker.example to serve, which answered
// with the per-IP export. Only the listen address, localhost and --host names are answered
// now (421 otherwise), and what is not a top-level navigation must come from this origin.
func TestServeRefusesRebinding(t *testing.T) {
	rules, err := fingerprint.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	h := New(fakeSource{runs: reporttest.Runs()}, rules, Config{Listen: "127.0.0.1:8080", Hosts: []string{"census.lab.example", "proxy.lab.example:443"}})
	for _, c := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"rebound name", map[string]string{"Host": "rebind.attacker.example:8080"}, 421},
		{"rebound name, no port", map[string]string{"Host": "rebind.attacker.example"}, 421},
		{"a loopback literal that is not the listen address", map[string]string{"Host": "127.0.0.2:8080"}, 421},
		{"the listen address, another port", map[string]string{"Host": "127.0.0.1:9090"}, 421},
		{"a suffix of an allowed name", map[string]string{"Host": "census.lab.example.attacker.example"}, 421},
		{"a --host with its port, another port", map[string]string{"Host": "proxy.lab.example:8443"}, 421},
		{"localhost with a trailing dot", map[string]string{"Host": "localhost.:8080"}, 421},
		{"no Host", map[string]string{"Host": ""}, 421},
		{"zoned", map[string]string{"Host": "[::1%25lo]:8080"}, 421},
		{"the listen address", map[string]string{"Host": "127.0.0.1:8080"}, 200},
		{"the listen host", map[string]string{"Host": "127.0.0.1"}, 200},
		{"localhost", map[string]string{"Host": "LocalHost:8080"}, 200},
		{"a --host name, any port", map[string]string{"Host": "Census.Lab.Example:80"}, 200},
		{"a --host with its port", map[string]string{"Host": "proxy.lab.example:443"}, 200},
		{"a cross-site fetch", map[string]string{"Host": "127.0.0.1:8080", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty", "Origin": "http://rebind.attacker.example"}, 403},
		{"a same-site fetch from another port", map[string]string{"Host": "127.0.0.1:8080", "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"}, 403},
		{"a cross-site frame", map[string]string{"Host": "127.0.0.1:8080", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"}, 403},
		{"an old browser's cross-origin request", map[string]string{"Host": "127.0.0.1:8080", "Origin": "http://rebind.attacker.example"}, 403},
		{"an opaque origin", map[string]string{"Host": "127.0.0.1:8080", "Origin": "null"}, 403},
		{"a link followed from another site", map[string]string{"Host": "127.0.0.1:8080", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, 200},
		{"a same-origin fetch", map[string]string{"Host": "127.0.0.1:8080", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Origin": "http://127.0.0.1:8080"}, 200},
		{"a typed URL", map[string]string{"Host": "localhost:8080", "Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, 200},
		{"an old browser, same origin", map[string]string{"Host": "127.0.0.1:8080", "Origin": "http://127.0.0.1:8080"}, 200},
	} {
		if rw := serveOnce(t, h, "/runs/3/export.csv", c.header); rw.Code != c.want {
			t.Errorf("%s: %d, want %d: %.120s", c.name, rw.Code, c.want, rw.Body.String())
		}
	}
	// An address picked by the system: the listen address as the listener reports it.
	wild := New(fakeSource{runs: reporttest.Runs()}, rules, Config{Listen: "[::]:8080"})
	for host, want := range map[string]int{"198.18.0.7:8080": 200, "[::7]:8080": 200, "rebind.attacker.example:8080": 421} {
		if rw := serveOnce(t, wild, "/healthz", map[string]string{"Host": host}); rw.Code != want {
			t.Errorf("listening on [::]:8080, Host %s: %d, want %d", host, rw.Code, want)
		}
	}
	// The zero Config is loopback on any port.
	zero := New(fakeSource{runs: reporttest.Runs()}, rules, Config{})
	for host, want := range map[string]int{"127.0.0.1:40123": 200, "[::1]:40123": 200, "localhost": 200, "rebind.attacker.example:40123": 421, "198.18.0.7:40123": 421} {
		if rw := serveOnce(t, zero, "/healthz", map[string]string{"Host": host}); rw.Code != want {
			t.Errorf("zero Config, Host %s: %d, want %d", host, rw.Code, want)
		}
	}
	if err := CheckListen("127.0.0.1:8080", "", []string{"census.lab.example", "proxy.lab.example:443", "[::1]:8080"}); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"*.example", "a b", "census.lab.example/x", "", "x\r\n"} {
		if err := CheckListen("127.0.0.1:8080", "", []string{bad}); err == nil {
			t.Errorf("--host %q accepted", bad)
		}
	}
}

// TestBearerSchemeIsCaseInsensitive: "bearer TOKEN" was refused (RFC 9110 makes the scheme
// case-insensitive).
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	rules, _ := fingerprint.LoadRules()
	h := New(fakeSource{runs: reporttest.Runs()}, rules, Config{Token: "0123456789abcdef-token"})
	for auth, want := range map[string]int{"Bearer 0123456789abcdef-token": 200, "bearer 0123456789abcdef-token": 200,
		"BEARER  0123456789abcdef-token": 200, "Basic 0123456789abcdef-token": 401, "bearer wrong": 401, "Bearer0123456789abcdef-token": 401} {
		if rw := serveOnce(t, h, "/", map[string]string{"Host": "127.0.0.1:8080", "Authorization": auth}); rw.Code != want {
			t.Errorf("Authorization %q: %d, want %d", auth, rw.Code, want)
		}
	}
}

// TestSearchReadsAddressesAsTheScanner: ::127.0.0.50 (IPv4-compatible) is 127.0.0.50 to
// the scanner, which stores it so, but search read it as an IPv6 address and found nothing.
func TestSearchReadsAddressesAsTheScanner(t *testing.T) {
	for _, s := range []string{"::127.0.0.50", "::7f00:32", "::ffff:127.0.0.50", "127.0.0.50", "::127.0.0.0/120", "::ffff:127.0.0.0/104",
		"127.0.0.0/24", "::1", "::2", "::100/120", "::1%lo", "::2%eth0"} {
		r, terr := scanner.ParseTarget(s)
		q, qerr := parseQuery(s)
		if (terr == nil) != (qerr == nil) {
			t.Errorf("%q: scanner %v, search %v", s, terr, qerr)
			continue
		}
		if terr != nil {
			continue
		}
		if q.prefix.Addr() != r.First || !q.prefix.Contains(r.Last) {
			t.Errorf("%q: search reads %v, the scanner %v-%v", s, q.prefix, r.First, r.Last)
		}
	}
	q, err := parseQuery("::127.0.0.10")
	if err != nil || !q.prefix.Contains(netip.MustParseAddr("127.0.0.10")) {
		t.Errorf("::127.0.0.10 reads %v, %v", q.prefix, err)
	}
	if q, err := parseQuery("::/0"); err != nil || q.prefix.String() != "::/0" {
		t.Errorf("a wide IPv6 prefix: %v %v", q.prefix, err)
	}
	if !strings.Contains(func() string { _, err := parseQuery("127.0.0.1-127.0.0.9"); return err.Error() }(), "not a range") {
		t.Error("a range was not refused")
	}
}

type hostileEnrichment struct{ fakeSource }

func (hostileEnrichment) Observations(_ context.Context, run int64) ([]observation.Observation, error) {
	obs := reporttest.Observations()
	for i := range obs {
		obs[i].ASOrg, obs[i].Country = "Lab\u202e SA\u2066", "D\u200bE\ufeff"
	}
	return obs, nil
}

// TestEnrichmentTextInTheView: an AS name and a country from an mmdb file reached the search
// page and the export with their bidi controls (the country unneutralised).
func TestEnrichmentTextInTheView(t *testing.T) {
	rules, _ := fingerprint.LoadRules()
	h := New(hostileEnrichment{fakeSource{runs: reporttest.Runs()}}, rules, Config{})
	for _, path := range []string{"/search?q=127.0.0.0/8", "/runs/3/export.csv"} {
		rw := serveOnce(t, h, path, map[string]string{"Host": "127.0.0.1"})
		if rw.Code != 200 || strings.ContainsAny(rw.Body.String(), "\u202a\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u200e\u200f\ufeff") {
			t.Errorf("%s: %d, a format character in %q", path, rw.Code, rw.Body.String())
		}
	}
}
