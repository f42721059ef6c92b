package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clawcensus/clawcensus/observation"
)

// Notification is one finding told to one recipient: what export --mark-sent records per
// exported ip:port (migration 0014).
type Notification struct {
	RunID int64
	// Recipient is who was told: a pack's recipient id (as64500, a --recipients name), or
	// "file" for a single file.
	Recipient string
	IP        netip.Addr
	Port      uint16
	// Fingerprint is what was said: the finding's severity, auth, version and advisories, or
	// that it was fixed (report.Fingerprint).
	Fingerprint string
	// SentAt is when; stored to the microsecond.
	SentAt time.Time
}

// notificationKey is what makes a notification one: marking it again replaces it.
type notificationKey struct {
	run       int64
	recipient string
	at        netip.AddrPort
}

// latestNotifications keeps one notification per run, recipient and ip:port, the latest (the
// last given when two are as late), with times cut to the microsecond both backends keep.
func latestNotifications(ns []Notification) []Notification {
	index := map[notificationKey]int{}
	var out []Notification
	for _, n := range ns {
		n.IP, n.SentAt = n.IP.Unmap(), n.SentAt.UTC().Truncate(time.Microsecond)
		k := notificationKey{n.RunID, n.Recipient, netip.AddrPortFrom(n.IP, n.Port)}
		if i, seen := index[k]; !seen {
			index[k] = len(out)
			out = append(out, n)
		} else if !n.SentAt.Before(out[i].SentAt) {
			out[i] = n
		}
	}
	return out
}

// sortNotifications orders notifications oldest first, then by recipient, ip:port and run.
func sortNotifications(ns []Notification) {
	slices.SortFunc(ns, func(a, b Notification) int {
		return cmp.Or(a.SentAt.Compare(b.SentAt), cmp.Compare(a.Recipient, b.Recipient), a.IP.Compare(b.IP),
			cmp.Compare(a.Port, b.Port), cmp.Compare(a.RunID, b.RunID))
	})
}

// notificationTime is how SQLite keeps sent_at: UTC, fixed width, so that text order is time
// order (RFC 3339 with trimmed fractions is not).
const notificationTime = "2006-01-02T15:04:05.000000Z"

// notificationUpsert keeps the later of two markings of one run, recipient and ip:port.
const notificationUpsert = ` ON CONFLICT (run_id, recipient, ip, port) DO UPDATE SET
	fingerprint = excluded.fingerprint, sent_at = excluded.sent_at WHERE excluded.sent_at >= notifications.sent_at`

// MarkSent implements Store.
func (s *SQLite) MarkSent(ctx context.Context, ns []Notification) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO notifications (run_id, recipient, ip, port, fingerprint, sent_at)
		VALUES (?, ?, ?, ?, ?, ?)`+notificationUpsert)
	if err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	defer stmt.Close()
	for _, n := range latestNotifications(ns) {
		if _, err := stmt.ExecContext(ctx, n.RunID, n.Recipient, n.IP.String(), int(n.Port), n.Fingerprint,
			n.SentAt.Format(notificationTime)); err != nil {
			return fmt.Errorf("mark sent %s to %s: %w", netip.AddrPortFrom(n.IP, n.Port), n.Recipient, err)
		}
	}
	return tx.Commit()
}

// Notifications implements Store.
func (s *SQLite) Notifications(ctx context.Context, since time.Time) ([]Notification, error) {
	var out []Notification
	err := s.query(ctx, `SELECT run_id, recipient, ip, port, fingerprint, sent_at FROM notifications WHERE sent_at >= ?`,
		[]any{since.UTC().Truncate(time.Microsecond).Format(notificationTime)}, func(rows *sql.Rows) error {
			var n Notification
			var ip, at string
			var port int64
			if err := rows.Scan(&n.RunID, &n.Recipient, &ip, &port, &n.Fingerprint, &at); err != nil {
				return err
			}
			var err error
			if n.IP, err = netip.ParseAddr(ip); err != nil {
				return err
			}
			if n.SentAt, err = time.Parse(notificationTime, at); err != nil {
				return err
			}
			n.Port = uint16(port)
			out = append(out, n)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	sortNotifications(out)
	return out, nil
}

// GatewaysSeen implements Store.
func (s *SQLite) GatewaysSeen(ctx context.Context, series string, before int64) ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	err := s.query(ctx, `SELECT DISTINCT o.ip, o.port, o.aliased FROM observations o JOIN runs r ON r.id = o.run_id
		WHERE r.series = ? AND r.id < ? AND `+countedSQL, []any{series, before}, func(rows *sql.Rows) error {
		var ip, aliased string
		var port int64
		if err := rows.Scan(&ip, &port, &aliased); err != nil {
			return err
		}
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return err
		}
		out = append(out, observation.KeyOf(a, uint16(port), aliased))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("gateways seen in series %q: %w", series, err)
	}
	return out, nil
}

// MarkSent implements Store.
func (p *Postgres) MarkSent(ctx context.Context, ns []Notification) error {
	ns = latestNotifications(ns)
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, n := range ns {
			b.Queue(`INSERT INTO notifications (run_id, recipient, ip, port, fingerprint, sent_at)
				VALUES ($1, $2, $3, $4, $5, $6)`+notificationUpsert, n.RunID, n.Recipient, n.IP, int(n.Port), n.Fingerprint, n.SentAt)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("mark sent: %w", err)
		}
		return nil
	})
}

// Notifications implements Store.
func (p *Postgres) Notifications(ctx context.Context, since time.Time) ([]Notification, error) {
	rows, _ := p.pool.Query(ctx, `SELECT run_id, recipient, ip, port, fingerprint, sent_at FROM notifications WHERE sent_at >= $1`,
		since.UTC().Truncate(time.Microsecond))
	var out []Notification
	var n Notification
	var port int32
	_, err := pgx.ForEachRow(rows, []any{&n.RunID, &n.Recipient, &n.IP, &port, &n.Fingerprint, &n.SentAt}, func() error {
		n.Port, n.SentAt = uint16(port), n.SentAt.UTC()
		out = append(out, n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	sortNotifications(out)
	return out, nil
}

// GatewaysSeen implements Store.
func (p *Postgres) GatewaysSeen(ctx context.Context, series string, before int64) ([]netip.AddrPort, error) {
	rows, _ := p.pool.Query(ctx, `SELECT DISTINCT o.ip, o.port, o.aliased FROM observations o JOIN runs r ON r.id = o.run_id
		WHERE r.series = $1 AND r.id < $2 AND `+countedSQL, series, before)
	var out []netip.AddrPort
	var ip netip.Addr
	var port int32
	var aliased string
	_, err := pgx.ForEachRow(rows, []any{&ip, &port, &aliased}, func() error {
		out = append(out, observation.KeyOf(ip, uint16(port), aliased))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("gateways seen in series %q: %w", series, err)
	}
	return out, nil
}
