package census

import (
	"context"
	"io"

	"github.com/clawcensus/clawcensus/contacts"
	"github.com/clawcensus/clawcensus/store"
)

// ImportContacts reads the files at paths (contacts.Import: its progress lines go to
// cfg.Progress) and stores what they give as the store's newest contacts version. The files
// are read whole before the store is written; a cancelled ctx leaves no version.
func ImportContacts(ctx context.Context, st store.Store, cfg contacts.Config, paths ...string) (store.ContactVersion, error) {
	db, err := contacts.Import(ctx, cfg, paths...)
	if err != nil {
		return store.ContactVersion{}, err
	}
	v := store.ContactVersion{ImportedAt: db.Imported, ImportID: db.ImportID, Summary: db.Summary()}
	for _, s := range db.Sources {
		v.Sources = append(v.Sources, store.ContactSource{Name: s.Name, Kind: s.Kind, Registry: s.Registry, SHA256: s.SHA256,
			Size: s.Size, Objects: int64(s.Objects)})
	}
	if err := st.AddContacts(ctx, &v, db.Encode); err != nil {
		return store.ContactVersion{}, err
	}
	return v, nil
}

// Contacts reads contacts version id (0: the newest) from st; store.ErrNoContacts when the
// store has none.
func Contacts(ctx context.Context, st store.Store, id int64) (*contacts.DB, store.ContactVersion, error) {
	var db *contacts.DB
	v, err := st.ReadContacts(ctx, id, func(r io.Reader) (err error) {
		db, err = contacts.Decode(r)
		return err
	})
	return db, v, err
}

// ContactVersionsAt opens the store dsn names (store.Open when paths are given, to import them
// as a new version with ImportContacts; store.OpenReadOnly otherwise) and lists its contacts
// versions, oldest first.
func ContactVersionsAt(ctx context.Context, dsn string, cfg contacts.Config, paths ...string) ([]store.ContactVersion, error) {
	open := store.OpenReadOnly
	if len(paths) > 0 {
		open = store.Open
	}
	st, err := open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if len(paths) > 0 {
		if _, err := ImportContacts(ctx, st, cfg, paths...); err != nil {
			return nil, err
		}
	}
	return st.ContactVersions(ctx)
}

// LookupContact answers q, an IP address or an AS (contacts.DB.Lookup), from contacts version
// id (0: the newest) of the store dsn names, opened for reading.
func LookupContact(ctx context.Context, dsn string, id int64, q string) (contacts.Result, error) {
	st, err := store.OpenReadOnly(ctx, dsn)
	if err != nil {
		return contacts.Result{}, err
	}
	defer st.Close()
	db, _, err := Contacts(ctx, st, id)
	if err != nil {
		return contacts.Result{}, err
	}
	return db.Lookup(q)
}
