package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/clawcensus/clawcensus/observation"
)

// The observations table's columns come from observation.Columns, on both backends: the run,
// then every field of an observation. Only the values' encoding differs (SQLite keeps lists as
// JSON text, times as text, addresses as text; Postgres has arrays, timestamptz and inet).

// obsColumns are the columns an observation is written to, in order.
var obsColumns = append([]string{"run_id"}, observation.ColumnNames()...)

// obsSelect are the columns an observation is read from, in observation.Columns' order.
var obsSelect = strings.Join(observation.ColumnNames(), ", ")

// upsertSet is what a later write of the same run and host:port replaces, on both backends:
// every column, when the stored row is an unprobed mark and the new one a result, or when both
// are of a kind and the new one was observed no earlier. So an unprobed mark never replaces a
// result, and a late replay (a dead worker's spool) never replaces a newer observation.
func upsertSet(sqlite bool) string {
	var set []string
	for _, c := range observation.ColumnNames() {
		if c != "ip" && c != "port" {
			set = append(set, c+" = excluded."+c)
		}
	}
	// SQLite keeps times as RFC 3339 text, which does not sort as time (".5Z" < "Z").
	newer := `excluded.observed_at >= observations.observed_at`
	if sqlite {
		newer = `julianday(excluded.observed_at) >= julianday(observations.observed_at)`
	}
	unprobed := `'` + string(observation.Unprobed) + `'`
	return `ON CONFLICT (run_id, ip, port) DO UPDATE SET ` + strings.Join(set, ", ") + `
	WHERE (observations.outcome = ` + unprobed + ` AND excluded.outcome <> ` + unprobed + `)
	OR ((observations.outcome = ` + unprobed + `) = (excluded.outcome = ` + unprobed + `) AND ` + newer + `)`
}

// countedSQL selects the gateways the census counts (observation.Observation.Counts: a
// product is set, and the host is not a probable honeypot); the counts, and so the Grafana
// views, use it. honeypotSQL selects the probable honeypots, counted apart (dimHoneypot).
const (
	countedSQL  = `o.product <> '' AND NOT o.honeypot`
	honeypotSQL = `o.product <> '' AND o.honeypot`
)

// obsValues are o's values for obsColumns.
func obsValues(runID int64, o *observation.Observation, sqlite bool) []any {
	out := make([]any, 0, len(obsColumns))
	out = append(out, runID)
	for _, c := range observation.Columns {
		out = append(out, encodeValue(c.Field(o), sqlite))
	}
	return out
}

// encodeValue is the value a backend stores for the field p points at.
func encodeValue(p any, sqlite bool) any {
	switch v := p.(type) {
	case *netip.Addr:
		if sqlite {
			return v.String()
		}
		return *v
	case *uint16:
		return int(*v)
	case *uint32:
		return int64(*v)
	case *int:
		return *v
	case *int64:
		return *v
	case *string:
		return *v
	case *bool:
		return *v
	case *observation.Outcome:
		return string(*v)
	case *[]string:
		if sqlite {
			return jsonList(*v)
		}
		return nonNil(*v)
	case **bool:
		if *v == nil {
			return nil
		}
		return **v
	case *time.Time:
		if sqlite {
			return v.UTC().Format(sqliteTime)
		}
		return *v
	}
	panic(fmt.Sprintf("store: no encoding for an observation field of type %T", p))
}

// obsTargets are the scan destinations of one row of obsSelect into o, and what finishes
// the decoding once it is scanned.
func obsTargets(o *observation.Observation, sqlite bool) ([]any, func() error) {
	dst := make([]any, len(observation.Columns))
	var finish []func() error
	for i, c := range observation.Columns {
		d, f := decodeTarget(c.Field(o), sqlite)
		dst[i] = d
		if f != nil {
			finish = append(finish, f)
		}
	}
	return dst, func() error {
		for _, f := range finish {
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	}
}

// decodeTarget is where a backend scans the field p points at, and what then fills p (nil when
// p is scanned into directly).
func decodeTarget(p any, sqlite bool) (any, func() error) {
	switch v := p.(type) {
	case *netip.Addr:
		if !sqlite {
			return v, nil
		}
		var s string
		return &s, func() error {
			a, err := netip.ParseAddr(s)
			*v = a
			return err
		}
	case *uint16:
		var n int64
		return &n, func() error { *v = uint16(n); return nil }
	case *uint32:
		var n int64
		return &n, func() error { *v = uint32(n); return nil }
	case *observation.Outcome:
		var s string
		return &s, func() error { *v = observation.Outcome(s); return nil }
	case *[]string:
		if !sqlite {
			return v, nil
		}
		var s string
		return &s, func() error { return json.Unmarshal([]byte(s), v) }
	case **bool:
		if !sqlite {
			return v, nil
		}
		var b sql.NullBool
		return &b, func() error {
			if b.Valid {
				*v = &b.Bool
			}
			return nil
		}
	case *time.Time:
		if !sqlite {
			return v, nil
		}
		var s string
		return &s, func() error {
			t, err := time.Parse(sqliteTime, s)
			*v = t
			return err
		}
	}
	return p, nil
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
