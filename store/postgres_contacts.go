package store

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
)

// AddContacts implements Store.
func (p *Postgres) AddContacts(ctx context.Context, v *ContactVersion, write func(io.Writer) error) error {
	var id, n int64
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO contact_versions (imported_at, import_id, summary) VALUES ($1, $2, $3) RETURNING id`,
			v.ImportedAt, v.ImportID, v.Summary).Scan(&id); err != nil {
			return err
		}
		w := &pieceWriter{put: func(seq int, b []byte) error {
			_, err := tx.Exec(ctx, `INSERT INTO contact_data (version_id, seq, data) VALUES ($1, $2, $3)`, id, seq, b)
			return err
		}}
		if err := write(w); err != nil {
			return err
		}
		if err := w.flush(); err != nil {
			return err
		}
		n = w.n
		if _, err := tx.Exec(ctx, `UPDATE contact_versions SET data_bytes = $1 WHERE id = $2`, n, id); err != nil {
			return err
		}
		rows := make([][]any, len(v.Sources))
		for i, src := range v.Sources {
			rows[i] = []any{id, i, src.Name, src.Kind, src.Registry, src.SHA256, src.Size, src.Objects}
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"contact_sources"}, []string{"version_id", "seq", "name", "kind", "registry", "sha256", "size", "objects"},
			pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return fmt.Errorf("store contacts: %w", err)
	}
	v.ID, v.Bytes = id, n
	return nil
}

// ContactVersions implements Store.
func (p *Postgres) ContactVersions(ctx context.Context) ([]ContactVersion, error) {
	return p.contactVersions(ctx, `ORDER BY id`)
}

type contactVersionRow struct {
	ID         int64     `db:"id"`
	ImportedAt time.Time `db:"imported_at"`
	ImportID   string    `db:"import_id"`
	Summary    string    `db:"summary"`
	Bytes      int64     `db:"data_bytes"`
}

// contactVersions reads the versions the clause selects, with their sources.
func (p *Postgres) contactVersions(ctx context.Context, clause string, args ...any) ([]ContactVersion, error) {
	rows, _ := p.pool.Query(ctx, `SELECT id, imported_at, import_id, summary, data_bytes FROM contact_versions `+clause, args...)
	got, err := pgx.CollectRows(rows, pgx.RowToStructByName[contactVersionRow])
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	if len(got) == 0 {
		return nil, nil
	}
	out := make([]ContactVersion, len(got))
	index := map[int64]int{}
	for i, r := range got {
		out[i] = ContactVersion{ID: r.ID, ImportedAt: r.ImportedAt, ImportID: r.ImportID, Summary: r.Summary, Bytes: r.Bytes}
		index[r.ID] = i
	}
	srcRows, _ := p.pool.Query(ctx, `SELECT version_id, name, kind, registry, sha256, size, objects FROM contact_sources ORDER BY version_id, seq`)
	var id int64
	var src ContactSource
	_, err = pgx.ForEachRow(srcRows, []any{&id, &src.Name, &src.Kind, &src.Registry, &src.SHA256, &src.Size, &src.Objects}, func() error {
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
func (p *Postgres) ReadContacts(ctx context.Context, id int64, read func(io.Reader) error) (ContactVersion, error) {
	clause, args := `WHERE id = $1`, []any{id}
	if id == newestContacts {
		clause, args = `ORDER BY id DESC LIMIT 1`, nil
	}
	vs, err := p.contactVersions(ctx, clause, args...)
	if err != nil {
		return ContactVersion{}, err
	}
	if len(vs) == 0 {
		return ContactVersion{}, noVersion(id)
	}
	v := vs[0]
	rows, err := p.pool.Query(ctx, `SELECT seq, data FROM contact_data WHERE version_id = $1 ORDER BY seq`, v.ID)
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
