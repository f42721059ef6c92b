package enrich

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"

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

// TestHostileDatabase: an mmdb file is a stranger's file. Its AS name's bidi controls and
// zero-width characters reached the store; a two-byte country that is not two letters
// ("\x1b[") passed the length check.
func TestHostileDatabase(t *testing.T) {
	dir := t.TempDir()
	write := func(name, dbType string, rec mmdbtype.Map) string {
		return enrichtest.WriteDatabase(t, filepath.Join(dir, name), dbType, "127.0.0.0/8", rec)
	}
	country := write("c.mmdb", "Evil\u202e-Country", mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("\x1b[")}})
	asn := write("a.mmdb", "Test-ASN", mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64500),
		"autonomous_system_organization": mmdbtype.String("Lab\u202e SA\u2066\u200b\ufeff\x1b[2J")})
	e, err := Open(Config{CountryDB: country, ASNDB: asn})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := e.Lookup(netip.MustParseAddr("127.0.0.9")); got != (Info{ASN: 64500, ASOrg: "Lab SA[2J"}) {
		t.Errorf("%+v", got)
	}
	if strings.ContainsRune(e.Sources(), '\u202e') {
		t.Errorf("sources %q", e.Sources())
	}
}
