package contacts

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var fixtures = []string{
	"ripe.db.inetnum", "ripe.db.inet6num", "ripe.db.role", "ripe.db.organisation", "ripe.db.aut-num",
	"apnic.db.inetnum", "apnic.db.irt", "delegated-ripencc-extended-latest", "cert-contacts.csv",
}

func importFixtures(t *testing.T, names ...string) *DB {
	t.Helper()
	var paths []string
	for _, n := range names {
		paths = append(paths, filepath.Join("testdata", n))
	}
	db, err := Import(context.Background(), Config{}, paths...)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestLookup(t *testing.T) {
	db := importFixtures(t, fixtures...)
	wide := []Step{
		{"ripe.db.inetnum", "inetnum 198.18.0.0 - 198.18.255.255", "abuse-c", "ABU1-TEST"},
		{"", "role ABU1-TEST", "abuse-mailbox", "abuse@wide.example"},
	}
	org := []Step{
		{"ripe.db.inetnum", "inetnum 198.18.1.0 - 198.18.1.255", "org", "ORG-EX1-TEST"},
		{"", "organisation ORG-EX1-TEST", "abuse-c", "ORGABU-TEST"},
		{"", "role ORGABU-TEST", "abuse-mailbox", "abuse@société.example"}, // latin-1 in the dump
	}
	for _, tc := range []struct {
		q    string
		want Result
	}{
		{"198.18.0.5", Result{Contact: "abuse@wide.example", Source: "rpsl", Registry: "ripe", Country: "DE", Chain: wide}},
		{"198.18.3.9", Result{Contact: "abuse@wide.example", Source: "rpsl", Registry: "ripe", Country: "DE", Chain: wide}}, // the /24 has no contact keys at all
		// most specific wins: the /24 inside the /16
		{"198.18.1.5", Result{Contact: "abuse@société.example", Source: "rpsl", Registry: "ripe", Country: "FR", Chain: org}},
		// the most specific network's organisation has no abuse-c: the next one out answers
		{"198.18.1.130", Result{Contact: "abuse@société.example", Source: "rpsl", Registry: "ripe", Country: "FR", Chain: append([]Step{
			{"ripe.db.inetnum", "inetnum 198.18.1.128 - 198.18.1.191", "", "no abuse contact here: a less specific object may have one"}}, org...)}},
		// continuation lines (whitespace in inetnum, + in role)
		{"198.18.2.200", Result{Contact: "abuse@cont.example", Source: "rpsl", Registry: "ripe", Country: "NL", Chain: []Step{
			{"ripe.db.inetnum", "inetnum 198.18.2.0 - 198.18.2.255", "abuse-c", "ABU2-TEST"},
			{"", "role ABU2-TEST", "abuse-mailbox", "abuse@cont.example"}}}},
		// the CERT's table wins over RIR data
		{"198.18.2.5", Result{Contact: "noc@cont.example", Name: "Cont Networks", TLP: "AMBER", Format: "intelmq", Source: "cert-csv", Chain: []Step{
			{"cert-contacts.csv", "line 3: 198.18.2.0/25", "contact", "noc@cont.example"}}}},
		{"::ffff:198.18.2.5", Result{Contact: "noc@cont.example", Name: "Cont Networks", TLP: "AMBER", Format: "intelmq", Source: "cert-csv", Chain: []Step{
			{"cert-contacts.csv", "line 3: 198.18.2.0/25", "contact", "noc@cont.example"}}}},
		// APNIC: mnt-irt → irt
		{"198.19.0.9", Result{Contact: "abuse@irt.example", Source: "rpsl", Registry: "apnic", Country: "JP", Chain: []Step{
			{"apnic.db.inetnum", "inetnum 198.19.0.0 - 198.19.0.255", "mnt-irt", "IRT-LAB-JP"},
			{"", "irt IRT-LAB-JP", "abuse-mailbox", "abuse@irt.example"}}}},
		// delegated statistics: registry and country, no contact; a count that is no power of two
		{"198.19.100.1", Result{Source: "delegated", Registry: "ripencc", Country: "SE", Chain: []Step{
			{"delegated-ripencc-extended-latest", "delegated block", "", "registry ripencc, country SE, no contact"}}}},
		{"127.0.2.255", Result{Source: "delegated", Registry: "ripencc", Country: "SE", Chain: []Step{
			{"delegated-ripencc-extended-latest", "delegated block", "", "registry ripencc, country SE, no contact"}}}},
		{"127.0.3.0", Result{}},
		{"198.19.200.1", Result{}}, // an available block says nothing
		{"::1:5", Result{Contact: "abuse@wide.example", Source: "rpsl", Registry: "ripe", Country: "DE", Chain: []Step{
			{"ripe.db.inet6num", "inet6num ::1:0 - ::1:ffff", "abuse-c", "ABU1-TEST"}, wide[1]}}},
		{"::2:1", Result{Source: "delegated", Registry: "ripencc", Country: "DE", Chain: []Step{
			{"delegated-ripencc-extended-latest", "delegated block", "", "registry ripencc, country DE, no contact"}}}},
		{"AS64500", Result{Contact: "abuse@société.example", Source: "rpsl", Registry: "ripe", Chain: []Step{
			{"ripe.db.aut-num", "aut-num AS64500", "org", "ORG-EX1-TEST"}, org[1], org[2]}}},
		{"64501", Result{Contact: "asn@cert.example", Name: "AS Owner", Source: "cert-csv", Chain: []Step{
			{"cert-contacts.csv", "line 4: AS64501", "contact", "asn@cert.example"}}}},
		{"as64512", Result{Source: "delegated", Registry: "ripencc", Country: "SE", Chain: []Step{
			{"delegated-ripencc-extended-latest", "delegated block", "", "registry ripencc, country SE, no contact"}}}},
	} {
		t.Run(tc.q, func(t *testing.T) {
			got, err := db.Lookup(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Query = tc.q
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
	for _, bad := range []string{"", "example.net", "AS", "AS99999999999", "198.18.0.0/24"} {
		if _, err := db.Lookup(bad); err == nil {
			t.Errorf("Lookup(%q) took it", bad)
		}
	}
}

// TestGzipEncodeDecode: a gzip dump reads as the plain one, the source's sha256 and size are
// the file's, the import id depends on the files alone, the progress lines name the file and
// its size, and the compiled form answers as the DB it came from.
func TestGzipEncodeDecode(t *testing.T) {
	dir := t.TempDir()
	plain, err := os.ReadFile("testdata/ripe.db.role")
	if err != nil {
		t.Fatal(err)
	}
	gzPath := filepath.Join(dir, "ripe.db.role.gz")
	if err := os.WriteFile(gzPath, gz(t, plain), 0o600); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, n := range fixtures {
		if n != "ripe.db.role" {
			paths = append(paths, filepath.Join("testdata", n))
		}
	}
	var progress bytes.Buffer
	db, err := Import(context.Background(), Config{Progress: &progress, ProgressEvery: -1}, append(paths, gzPath)...)
	if err != nil {
		t.Fatal(err)
	}
	gzBytes, _ := os.ReadFile(gzPath)
	sum := sha256.Sum256(gzBytes)
	last := db.Sources[len(db.Sources)-1]
	if last.SHA256 != hex.EncodeToString(sum[:]) || last.Kind != "rpsl" || last.Objects != 3 || last.Size != int64(len(gzBytes)) {
		t.Errorf("source %+v", last)
	}
	for _, want := range []string{"contacts: ripe.db.role.gz: 0.0 MiB of 0.0 MiB (100%), ", "contacts: ripe.db.role.gz: 0.0 MiB read in ", "), 3 used\n",
		"contacts: cert-contacts.csv: 0.0 MiB read in "} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
	again, err := Import(context.Background(), Config{}, append([]string{gzPath}, paths...)...)
	if err != nil {
		t.Fatal(err)
	}
	if again.ImportID != db.ImportID || db.ImportID == importFixtures(t, fixtures...).ImportID {
		t.Errorf("import ids %s %s: same files must give the same id, others another", db.ImportID, again.ImportID)
	}
	var enc bytes.Buffer
	if err := db.Encode(&enc); err != nil {
		t.Fatal(err)
	}
	var enc2 bytes.Buffer
	if err := db.Encode(&enc2); err != nil || !bytes.Equal(enc.Bytes(), enc2.Bytes()) {
		t.Errorf("two encodings of one DB differ (%v)", err)
	}
	decoded, err := Decode(bytes.NewReader(enc.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if decoded.ImportID != db.ImportID || !decoded.Imported.Equal(db.Imported) || decoded.Summary() != db.Summary() ||
		!cmp.Equal(decoded.Sources, db.Sources) {
		t.Errorf("decoded %s %v %q %+v, want %s %v %q %+v", decoded.ImportID, decoded.Imported, decoded.Summary(), decoded.Sources,
			db.ImportID, db.Imported, db.Summary(), db.Sources)
	}
	for _, q := range []string{"198.18.1.130", "198.18.2.5", "198.19.0.9", "::1:5", "AS64500", "as64512", "64501"} {
		want, _ := db.Lookup(q)
		got, err := decoded.Lookup(q)
		if err != nil || want.Contact == "" && want.Registry == "" {
			t.Fatalf("%s: %v %+v", q, err, want)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s after Encode/Decode (-want +got)\n%s", q, d)
		}
	}
}

// TestDecodeRefuses: data cut short, of another version or that would make a lookup panic or
// loop is refused.
func TestDecodeRefuses(t *testing.T) {
	db := importFixtures(t, fixtures...)
	encode := func(db *DB) []byte {
		var b bytes.Buffer
		if err := db.Encode(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	whole := encode(db)
	loop := *db
	loop.Net4 = slices.Clone(db.Net4)
	loop.Net4[0].Parent = 0
	badSrc := *db
	badSrc.Cert = slices.Clone(db.Cert)
	badSrc.Cert[0].Src = 99
	for name, data := range map[string][]byte{
		"empty":          nil,
		"other version":  append([]byte("clawcensus-contacts 1\n"), whole[len(encodingMagic):]...),
		"cut short":      whole[:len(whole)-10],
		"header only":    whole[:len(encodingMagic)+40],
		"a span loops":   encode(&loop),
		"unknown source": encode(&badSrc),
	} {
		if _, err := Decode(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// TestFor: a host's contact comes from the CERT's table by address, then by AS, then RIR data
// by address, then by AS; registry and country from the address.
func TestFor(t *testing.T) {
	db := importFixtures(t, fixtures...)
	for _, tc := range []struct {
		ip                            string
		asn                           uint32
		contact, source, registry, cc string
	}{
		{"198.18.2.5", 64501, "noc@cont.example", "cert-csv", "", ""},             // CERT by address wins over CERT by AS
		{"198.18.0.5", 64501, "asn@cert.example", "cert-csv", "ripe", "DE"},       // CERT by AS wins over RIR data
		{"198.18.0.5", 64500, "abuse@wide.example", "rpsl", "ripe", "DE"},         // RIR by address before the aut-num
		{"198.19.100.1", 64500, "abuse@société.example", "rpsl", "ripencc", "SE"}, // no contact by address: the aut-num's
		{"198.19.100.1", 0, "", "delegated", "ripencc", "SE"},
		{"127.0.3.0", 64999, "", "", "", ""},
	} {
		got := db.For(netip.MustParseAddr(tc.ip), tc.asn)
		if got.Contact != tc.contact || got.Source != tc.source || got.Registry != tc.registry || got.Country != tc.cc || got.Query != tc.ip {
			t.Errorf("For(%s, %d) = %+v, want %s %s %s %s", tc.ip, tc.asn, got, tc.contact, tc.source, tc.registry, tc.cc)
		}
	}
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBadFiles: every broken input is an error that names the file and says what is wrong.
func TestBadFiles(t *testing.T) {
	role, err := os.ReadFile("testdata/ripe.db.role")
	if err != nil {
		t.Fatal(err)
	}
	whole := gz(t, bytes.Repeat(role, 50))
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"ripe.db.role.gz", whole[:len(whole)/2], "truncated or corrupt gzip"},
		{"ripe.db.inetnum.gz", []byte{0x1f, 0x8b, 0, 0, 0, 0}, "gzip"},
		{"ripe.db.inetnum", []byte("inetnum: 198.18.0.0 - 198.18.0.255\nabuse-c: A\nthis line has no colon\n"), "line 3: not an RPSL attribute"},
		{"ripe.db.inetnum", []byte("inetnum: 198.18.0.9 - 198.18.0.1\nabuse-c: A\n"), "not a range"},
		{"ripe.db.aut-num", []byte("aut-num: ASX\norg: O\n"), "not an AS number"},
		{"ripe.db.inetnum", append([]byte("inetnum: "), bytes.Repeat([]byte("x"), maxLine+1)...), "token too long"},
		{"delegated-ripencc-extended-latest", []byte("ripencc|SE|ipv4|198.18.0.0|x|20100101|allocated\n"), "line 1: value"},
		{"delegated-ripencc-extended-latest", []byte("ripencc|SE|ipv4|255.255.255.255|2|20100101|allocated\n"), "no IPv4 block"},
		{"cert.csv", []byte("network_or_asn,contact,name\n198.18.0.0/24,a@b.example\n"), "line 2: 2 fields"},
		{"cert.csv", []byte("198.18.0.0/33,a@b.example,x\n"), "line 1: \"198.18.0.0/33\" is no network"},
		{"cert.csv", []byte("198.18.0.0/24,,x\n"), "line 1: no contact"},
		{"cert.csv", []byte("network_or_asn,contact,name,tlp\n198.18.0.0/24,a@b.example,x,PURPLE\n"), `line 2: tlp "PURPLE": want one of CLEAR, GREEN, AMBER, AMBER+STRICT, RED`},
		{"cert.csv", []byte("198.18.0.0/24,a@b.example,x,TLP:\n"), `line 1: tlp "TLP:"`},
		{"cert.csv", []byte("198.18.0.0/24,a@b.example,x,,csv\n"), `line 1: format "csv": want one of shadowserver, intelmq, xarf`},
		{"cert.csv", []byte("198.18.0.0/24,a@b.example,x,green\n198.18.1.0/24,a@b.example,x\n198.18.2.0/24,A@B.example,x,tlp:red\n"),
			"line 3: A@B.example has tlp RED here and GREEN on line 1: one tlp per contact"},
		{"cert.csv", []byte("198.18.0.0/24,a@b.example,x,,xarf\n198.18.1.0/24,a@b.example,x,,intelmq\n"),
			"line 2: a@b.example has format intelmq here and xarf on line 1: one format per contact"},
	} {
		t.Run(tc.name+"/"+tc.want, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.name)
			if err := os.WriteFile(path, tc.body, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Import(context.Background(), Config{Formats: []string{"shadowserver", "intelmq", "xarf"}}, path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.name) {
				t.Errorf("got %v, want an error naming %s and saying %q", err, tc.name, tc.want)
			}
		})
	}
	if _, err := Import(context.Background(), Config{}, filepath.Join(t.TempDir(), "missing.gz")); err == nil {
		t.Error("a missing file imported")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Import(ctx, Config{}, "testdata/ripe.db.role"); err == nil {
		t.Error("a cancelled import went on")
	}
}

// TestCertTerms: a CERT table's tlp is read in any case, with or without TLP:, WHITE as CLEAR;
// its format in lower case; a contact's rows may leave them empty, and a later file that
// contradicts an earlier one is refused with both places named.
func TestCertTerms(t *testing.T) {
	for in, want := range map[string]string{"": "", " ": "", "green": "GREEN", "TLP:AMBER+STRICT": "AMBER+STRICT", "tlp: red": "RED",
		"White": "CLEAR", "TLP:CLEAR": "CLEAR", "amber": "AMBER"} {
		if got, err := ParseTLP(in); got != want || err != nil {
			t.Errorf("ParseTLP(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"TLP:", "AMBER STRICT", "TLP:AMBER+", "YELLOW", "TLP:WHITE+STRICT"} {
		if got, err := ParseTLP(bad); err == nil {
			t.Errorf("ParseTLP(%q) = %q", bad, got)
		}
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	os.WriteFile(a, []byte("198.18.0.0/24,soc@x.example,X,tlp:green,IntelMQ\n198.18.1.0/24,soc@x.example,X\nAS64500,noc@y.example,Y,white\n"), 0o600)
	os.WriteFile(b, []byte("198.18.2.0/24,SOC@x.example,X,GREEN\n"), 0o600)
	db, err := Import(context.Background(), Config{Formats: []string{"intelmq"}}, a, b)
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]string
	for _, e := range db.Cert {
		got = append(got, [2]string{e.TLP, e.Format})
	}
	if d := cmp.Diff([][2]string{{"GREEN", "intelmq"}, {"", ""}, {"CLEAR", ""}, {"GREEN", ""}}, got); d != "" {
		t.Errorf("tlp and format per row (-want +got)\n%s", d)
	}
	os.WriteFile(b, []byte("198.18.2.0/24,SOC@x.example,X,AMBER\n"), 0o600)
	if _, err := Import(context.Background(), Config{}, a, b); err == nil || !strings.Contains(err.Error(), "b.csv: line 1: SOC@x.example has tlp AMBER here and GREEN on a.csv line 1") {
		t.Errorf("a second file contradicts the first: %v", err)
	}
}
