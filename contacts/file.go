package contacts

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/clawcensus/clawcensus/internal/textsafe"
)

// fileMagic starts a contacts file, with the format's version: a file of another version is
// refused, never half read.
const fileMagic = "clawcensus-contacts 1\n"

// Save writes db to path (a temporary file renamed into place: a reader sees the old file or
// the new, never half of one).
func (db *DB) Save(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".contacts-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	if _, err := io.WriteString(w, fileMagic); err != nil {
		tmp.Close()
		return err
	}
	if err := gob.NewEncoder(w).Encode(db); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Load reads a file Save wrote.
func Load(path string) (*DB, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("contacts file: %w (clawcensus contacts import writes it)", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	magic := make([]byte, len(fileMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != fileMagic {
		return nil, fmt.Errorf("%s: not a contacts file of this version (import again)", path)
	}
	db := &DB{}
	if err := gob.NewDecoder(r).Decode(db); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(db.Ends) == 0 {
		return nil, fmt.Errorf("%s: no string table", path)
	}
	return db, nil
}

// WriteSummary prints the import id and, per source, its kind, sha256 and what it gave.
func (db *DB) WriteSummary(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "import %s at %s: %d IPv4 and %d IPv6 networks, %d AS, %d roles, %d organisations, %d irt, %d delegated blocks, %d CERT rows\n",
		db.ImportID, db.Imported.Format("2006-01-02T15:04:05Z"), len(db.Net4), len(db.Net6), len(db.ASN), len(db.Roles), len(db.Orgs), len(db.IRTs),
		len(db.Deleg4)+len(db.Deleg6)+len(db.DelegAS), len(db.Cert)); err != nil {
		return err
	}
	for _, s := range db.Sources {
		if _, err := fmt.Fprintf(w, "  %-9s %s  %8d  %s\n", s.Kind, s.SHA256, s.Objects, textsafe.Clean(s.Name, 200)); err != nil {
			return err
		}
	}
	return nil
}

// ImportTo imports paths, saves the DB to file and prints its summary to w.
func ImportTo(ctx context.Context, file string, w io.Writer, paths ...string) error {
	db, err := Import(ctx, paths...)
	if err != nil {
		return err
	}
	if err := db.Save(file); err != nil {
		return err
	}
	return db.WriteSummary(w)
}

// LookupIn loads file and prints the answer for args, one IP address or AS, to w.
func LookupIn(file string, args []string, w io.Writer) error {
	if len(args) != 1 {
		return errors.New("contacts lookup IP|ASN: give one address or AS")
	}
	db, err := Load(file)
	if err != nil {
		return err
	}
	r, err := db.Lookup(args[0])
	if err != nil {
		return err
	}
	return r.WriteText(w)
}
