package contacts

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The readers take files an operator downloads or writes: whatever they hold, an import
// returns a DB or an error, and never panics or answers from an inconsistent DB. Each target is
// seeded from the fixtures of its kind.

func seed(f *testing.F, names ...string) {
	f.Helper()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

var queries = []string{"198.18.0.5", "198.18.1.130", "198.18.2.5", "198.19.0.9", "127.0.2.1", "::1:5", "AS64500", "64512"}

// lookupAll asks db about the fixtures' networks: what it kept must answer without a panic.
func lookupAll(t *testing.T, db *DB) []Result {
	var out []Result
	for _, q := range queries {
		r, err := db.Lookup(q)
		if err != nil {
			t.Fatalf("Lookup(%s): %v", q, err)
		}
		out = append(out, r)
	}
	db.For(netip.MustParseAddr("198.18.0.5"), 64501)
	return out
}

// consistent finishes what a reader built and checks that it passes Decode's checks and
// answers the same after Encode and Decode.
func consistent(t *testing.T, db *DB) {
	db.finish()
	if err := db.check(); err != nil {
		t.Fatalf("an import built what Decode refuses: %v", err)
	}
	var b bytes.Buffer
	if err := db.Encode(&b); err != nil {
		t.Fatal(err)
	}
	back, err := Decode(&b)
	if err != nil {
		t.Fatalf("Decode of an Encode: %v", err)
	}
	if d := cmp.Diff(lookupAll(t, db), lookupAll(t, back)); d != "" {
		t.Errorf("after Encode and Decode (-before +after)\n%s", d)
	}
}

func FuzzReadRPSL(f *testing.F) {
	seed(f, "ripe.db.inetnum", "ripe.db.inet6num", "ripe.db.role", "ripe.db.organisation", "ripe.db.aut-num", "apnic.db.inetnum", "apnic.db.irt")
	f.Fuzz(func(t *testing.T, b []byte) {
		db := newDB()
		db.Sources = []Source{{Name: "fuzz", Registry: "ripe"}}
		if _, err := db.readDump(bytes.NewReader(b), 0); err != nil {
			return
		}
		consistent(t, db)
	})
}

func FuzzReadDelegated(f *testing.F) {
	seed(f, "delegated-ripencc-extended-latest")
	f.Fuzz(func(t *testing.T, b []byte) {
		db := newDB()
		db.Sources = []Source{{Name: "fuzz"}}
		if _, err := db.readDelegated(bytes.NewReader(b), 0); err != nil {
			return
		}
		consistent(t, db)
	})
}

func FuzzReadCert(f *testing.F) {
	seed(f, "cert-contacts.csv")
	f.Fuzz(func(t *testing.T, b []byte) {
		db := newDB()
		db.Sources = []Source{{Name: "fuzz"}}
		if _, err := db.readCert(bytes.NewReader(b), 0, []string{"intelmq"}); err != nil {
			return
		}
		consistent(t, db)
	})
}

// FuzzDecode: compiled data read back from a store that was tampered with or damaged is
// refused or answers; it never panics or loops.
func FuzzDecode(f *testing.F) {
	var paths []string
	for _, n := range fixtures {
		paths = append(paths, filepath.Join("testdata", n))
	}
	db, err := Import(context.Background(), Config{}, paths...)
	if err != nil {
		f.Fatal(err)
	}
	var b bytes.Buffer
	if err := db.Encode(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		db, err := Decode(bytes.NewReader(b))
		if err != nil {
			return
		}
		lookupAll(t, db)
	})
}
