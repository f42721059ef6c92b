// Package enrichtest writes small enrichment databases for tests: AS64500 "Example Lab AS" in
// country DE over one CIDR.
package enrichtest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// WriteDatabases writes a country and an ASN database covering cidr into dir, built at
// test time with mmdbwriter (reserved networks allowed, so loopback can be covered).
func WriteDatabases(t testing.TB, dir, cidr string) (country, asn string) {
	t.Helper()
	write := func(name, dbType string, rec mmdbtype.Map) string {
		return WriteDatabase(t, filepath.Join(dir, name), dbType, cidr, rec)
	}
	country = write("country.mmdb", "Test-Country", mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("de")}})
	asn = write("asn.mmdb", "Test-ASN", mmdbtype.Map{
		"autonomous_system_number":       mmdbtype.Uint32(64500),
		"autonomous_system_organization": mmdbtype.String("Example Lab AS"),
	})
	return country, asn
}

// WriteDatabase writes an mmdb database of type dbType at path with rec for every address of
// cidr, built with mmdbwriter (reserved networks allowed, so loopback can be covered).
func WriteDatabase(t testing.TB, path, dbType, cidr string, rec mmdbtype.Map) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, IncludeReservedNetworks: true, RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	_, network, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.Insert(network, rec); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	return path
}
