package enrich

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/clawcensus/clawcensus/enrich/enrichtest"
)

func TestLookup(t *testing.T) {
	country, asn := enrichtest.WriteDatabases(t, t.TempDir(), "127.0.0.0/8")
	e, err := Open(Config{CountryDB: country, ASNDB: asn})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := e.Lookup(netip.MustParseAddr("127.0.0.9")); got != (Info{ASN: 64500, ASOrg: "Example Lab AS", Country: "DE"}) {
		t.Errorf("inside: %+v", got)
	}
	if got := e.Lookup(netip.MustParseAddr("198.18.0.1")); got != (Info{}) {
		t.Errorf("outside: %+v", got)
	}
	if s := e.Sources(); s == "" {
		t.Error("no sources named")
	}
	var none *Enricher
	if none.Lookup(netip.MustParseAddr("127.0.0.1")) != (Info{}) || none.Sources() != "" || none.Close() != nil {
		t.Error("a nil enricher knows something")
	}
	if _, err := Open(Config{CountryDB: filepath.Join(t.TempDir(), "missing.mmdb")}); err == nil {
		t.Error("a missing database opened")
	}
}
