package web

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/observation"
)

// FuzzSearchQuery: whatever the web view's search box holds, it parses to an AS number or a
// valid prefix, or to an error, and matching never panics.
func FuzzSearchQuery(f *testing.F) {
	for _, s := range []string{"127.0.0.10", "127.0.0.0/24", "::ffff:127.0.0.0/104", "AS64500", "as64501", "::1%lo", "AS", "<script>"} {
		f.Add(s)
	}
	obs := []observation.Observation{{IP: netip.MustParseAddr("127.0.0.10"), ASN: 64500}, {IP: netip.MustParseAddr("::1")}}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := parseQuery(s)
		if err != nil {
			return
		}
		if q.asn == 0 && (!q.prefix.IsValid() || q.prefix.Addr().Zone() != "") {
			t.Errorf("%q parsed to %+v", s, q)
		}
		for _, o := range obs {
			q.matches(o)
		}
	})
}

// FuzzHostCheck: whatever Host, Origin and Sec-Fetch-Site a request carries, the view never
// panics, and what it answers was sent to one of the names it answers to.
func FuzzHostCheck(f *testing.F) {
	for _, s := range [][3]string{{"127.0.0.1:8080", "", ""}, {"rebind.attacker.example:8080", "http://rebind.attacker.example", "cross-site"},
		{"[::ffff:127.0.0.1]:8080", "null", ""}, {"LOCALHOST", "http://localhost:8080", "same-origin"}, {"census.lab.example:1", "", "none"},
		{"[::1%25lo]:8080", "", ""}, {"127.0.0.1:08080", "http://127.0.0.1:8080", "same-site"}} {
		f.Add(s[0], s[1], s[2])
	}
	rules, err := fingerprint.LoadRules()
	if err != nil {
		f.Fatal(err)
	}
	h := New(fakeSource{}, rules, Config{Listen: "127.0.0.1:8080", Hosts: []string{"census.lab.example"}})
	f.Fuzz(func(t *testing.T, host, origin, site string) {
		r := httptest.NewRequest("GET", "/healthz", nil)
		r.Host = host
		r.Header.Set("Origin", origin)
		r.Header.Set("Sec-Fetch-Site", site)
		rw := httptest.NewRecorder()
		h.ServeHTTP(rw, r)
		if rw.Code != http.StatusOK {
			return
		}
		name, port := host, "8080"
		if n, p, err := net.SplitHostPort(host); err == nil {
			name, port = n, p
		}
		name = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(name, "["), "]"))
		a, aerr := netip.ParseAddr(name)
		ok := name == "census.lab.example" || (port == "8080" && (name == "localhost" || aerr == nil && a.Zone() == "" && a.Unmap() == netip.MustParseAddr("127.0.0.1")))
		if !ok {
			t.Errorf("answered Host %q", host)
		}
		if site == "cross-site" || site == "same-site" {
			t.Errorf("answered a %s request that is no navigation", site)
		}
	})
}
