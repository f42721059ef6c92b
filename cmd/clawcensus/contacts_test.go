package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestContactsCLI imports the library's fixtures and looks addresses and an AS up; mistakes
// of the caller exit 2.
func TestContactsCLI(t *testing.T) {
	file := filepath.Join(t.TempDir(), "contacts.bin")
	args := []string{"contacts", "import", "--file", file}
	for _, n := range []string{"ripe.db.inetnum", "ripe.db.role", "ripe.db.organisation", "ripe.db.aut-num", "apnic.db.inetnum", "apnic.db.irt", "delegated-ripencc-extended-latest", "cert-contacts.csv"} {
		args = append(args, filepath.Join("..", "..", "contacts", "testdata", n))
	}
	if r := runCLI(t, "", args...); r.code != 0 || !strings.Contains(r.stdout, "cert-csv") {
		t.Fatalf("import: %+v", r)
	}
	for q, want := range map[string]string{
		"198.18.1.130": "role ORGABU-TEST  abuse-mailbox: abuse@société.example",
		"198.18.2.5":   "contact:  noc@cont.example",
		"198.19.0.9":   "irt IRT-LAB-JP  abuse-mailbox: abuse@irt.example",
		"198.19.64.1":  "country:  SE",
		"AS64500":      "aut-num AS64500  org: ORG-EX1-TEST",
	} {
		if r := runCLI(t, "", "contacts", "lookup", "--file", file, q); r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("lookup %s: %+v, want %q", q, r, want)
		}
	}
	for _, bad := range [][]string{
		{"contacts", "import", "--file", file},
		{"contacts", "lookup", "--file", file},
		{"contacts", "lookup", "--file", file, "example.net"},
		{"contacts", "lookup", "--file", file + ".missing", "198.18.0.1"},
	} {
		if r := runCLI(t, "", bad...); r.code != 2 || r.stderr == "" {
			t.Errorf("%v: %+v, want exit 2 with a message", bad, r)
		}
	}
	if r := runCLI(t, "", "contacts", "import", "--file", file, filepath.Join(t.TempDir(), "missing.gz")); r.code != 1 {
		t.Errorf("import of a missing file: %+v", r)
	}
}
