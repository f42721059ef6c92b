package store

import (
	"context"
	"fmt"
)

// ClaimAliased implements Store. Two statements, not one: a claim committed by another unit
// while this insert waited is seen by the read that follows, in its own snapshot.
func (s *SQLite) ClaimAliased(ctx context.Context, run, unit int64, prefix string, port uint16) (int64, error) {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO aliased_claims (run_id, prefix, port, unit) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, run, prefix, port, unit); err != nil {
		return 0, fmt.Errorf("claim aliased %s port %d: %w", prefix, port, err)
	}
	var holder int64
	if err := s.db.QueryRowContext(ctx, `SELECT unit FROM aliased_claims WHERE run_id = ? AND prefix = ? AND port = ?`,
		run, prefix, port).Scan(&holder); err != nil {
		return 0, fmt.Errorf("claim aliased %s port %d: %w", prefix, port, err)
	}
	return holder, nil
}

// ClaimAliased implements Store (see the SQLite one).
func (p *Postgres) ClaimAliased(ctx context.Context, run, unit int64, prefix string, port uint16) (int64, error) {
	if _, err := p.pool.Exec(ctx, `INSERT INTO aliased_claims (run_id, prefix, port, unit) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, run, prefix, int32(port), unit); err != nil {
		return 0, fmt.Errorf("claim aliased %s port %d: %w", prefix, port, err)
	}
	var holder int64
	if err := p.pool.QueryRow(ctx, `SELECT unit FROM aliased_claims WHERE run_id = $1 AND prefix = $2 AND port = $3`,
		run, prefix, int32(port)).Scan(&holder); err != nil {
		return 0, fmt.Errorf("claim aliased %s port %d: %w", prefix, port, err)
	}
	return holder, nil
}
