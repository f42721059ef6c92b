package web

import (
	"net/netip"
	"testing"

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
