package store

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"time"
)

// AddContacts implements Store.
func (s *SQLite) AddContacts(ctx context.Context, v *ContactVersion, write func(io.Writer) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store contacts: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO contact_versions (imported_at, import_id, summary) VALUES (?, ?, ?)`,
		v.ImportedAt.UTC().Format(sqliteTime), v.ImportID, v.Summary)
	if err != nil {
		return fmt.Errorf("store contacts: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("store contacts: %w", err)
	}
	w := &pieceWriter{put: func(seq int, b []byte) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO contact_data (version_id, seq, data) VALUES (?, ?, ?)`, id, seq, b)
		return err
	}}
	if err := write(w); err != nil {
		return fmt.Errorf("store contacts: %w", err)
	}
	if err := w.flush(); err != nil {
		return fmt.Errorf("store contacts: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE contact_versions SET data_bytes = ? WHERE id = ?`, w.n, id); err != nil {
		return fmt.Errorf("store contacts: %w", err)
	}
	for i, src := range v.Sources {
		if _, err := tx.ExecContext(ctx, `INSERT INTO contact_sources (version_id, seq, name, kind, registry, sha256, size, objects)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, i, src.Name, src.Kind, src.Registry, src.SHA256, src.Size, src.Objects); err != nil {
			return fmt.Errorf("store contacts: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store contacts: %w", err)
	}
	v.ID, v.Bytes = id, w.n
	return nil
}

// ContactVersions implements Store.
func (s *SQLite) ContactVersions(ctx context.Context) ([]ContactVersion, error) {
	return s.contactVersions(ctx, `ORDER BY id`)
}

// contactVersions reads the versions the clause selects, with their sources.
func (s *SQLite) contactVersions(ctx context.Context, clause string, args ...any) ([]ContactVersion, error) {
	var out []ContactVersion
	index := map[int64]int{}
	err := s.query(ctx, `SELECT id, imported_at, import_id, summary, data_bytes FROM contact_versions `+clause, args, func(rows *sql.Rows) error {
		var v ContactVersion
		var at string
		if err := rows.Scan(&v.ID, &at, &v.ImportID, &v.Summary, &v.Bytes); err != nil {
			return err
		}
		v.ImportedAt, _ = time.Parse(sqliteTime, at)
		index[v.ID] = len(out)
		out = append(out, v)
		return nil
	})
	if err != nil || len(out) == 0 {
		if err != nil {
			err = fmt.Errorf("contacts: %w", err)
		}
		return out, err
	}
	err = s.query(ctx, `SELECT version_id, name, kind, registry, sha256, size, objects FROM contact_sources ORDER BY version_id, seq`, nil,
		func(rows *sql.Rows) error {
			var id int64
			var src ContactSource
			if err := rows.Scan(&id, &src.Name, &src.Kind, &src.Registry, &src.SHA256, &src.Size, &src.Objects); err != nil {
				return err
			}
			if i, ok := index[id]; ok {
				out[i].Sources = append(out[i].Sources, src)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	return out, nil
}

// ReadContacts implements Store.
func (s *SQLite) ReadContacts(ctx context.Context, id int64, read func(io.Reader) error) (ContactVersion, error) {
	clause, args := `WHERE id = ?`, []any{id}
	if id == newestContacts {
		clause, args = `ORDER BY id DESC LIMIT 1`, nil
	}
	vs, err := s.contactVersions(ctx, clause, args...)
	if err != nil {
		return ContactVersion{}, err
	}
	if len(vs) == 0 {
		return ContactVersion{}, noVersion(id)
	}
	v := vs[0]
	rows, err := s.db.QueryContext(ctx, `SELECT seq, data FROM contact_data WHERE version_id = ? ORDER BY seq`, v.ID)
	if err != nil {
		return v, fmt.Errorf("contacts version %d: %w", v.ID, err)
	}
	defer rows.Close()
	r := &pieceReader{v: v, next: func() (int, []byte, bool, error) {
		if !rows.Next() {
			return 0, nil, false, rows.Err()
		}
		var seq int
		var b []byte
		err := rows.Scan(&seq, &b)
		return seq, b, err == nil, err
	}}
	if err := read(r); err != nil {
		return v, err
	}
	_, err = io.Copy(io.Discard, r) // every piece there, whatever read needed
	return v, err
}
