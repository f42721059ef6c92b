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
