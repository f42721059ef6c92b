package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/clawcensus/clawcensus/store"
)

// TrendRow is one day of one series; scripts depend on these keys.
type TrendRow struct {
	// Series is the run's series (store.Run.SeriesID); SeriesLabel, as a person reads it.
	Series      string `json:"series"`
	SeriesLabel string `json:"series_label"`
	Day         string `json:"day"`
	Run         int64  `json:"run"`
	Reachable   int64  `json:"reachable"`
	// ReachableIPv4 and ReachableIPv6 split Reachable by address family.
	ReachableIPv4 int64 `json:"reachable_ipv4"`
	ReachableIPv6 int64 `json:"reachable_ipv6"`
	// Honeypots counts the probable honeypots, apart from (never inside) reachable.
	Honeypots    int64  `json:"probable_honeypots"`
	AuthRequired int64  `json:"auth_required"`
	NoAuth       int64  `json:"no_auth"`
	AuthUnknown  int64  `json:"auth_unknown"`
	Vulnerable   int64  `json:"vulnerable_version"`
	Unofficial   int64  `json:"unofficial"`
	Ports        string `json:"ports"`
	Targets      string `json:"targets"`
}

// Trend keeps, per series, each UTC day's last complete run (sums come oldest first): an
// interrupted or failed run would read as a drop, and a run of other targets (a re-check of a
// subset) is a series of its own that never replaces a day of the census. Rows come grouped
// by series, in the order each series first appears, each series' days in order.
func Trend(sums []store.Summary) []TrendRow {
	var order []string
	bySeries := map[string][]TrendRow{}
	for _, s := range sums {
		if s.Status != store.StatusComplete {
			continue
		}
		id := s.SeriesID()
		r := TrendRow{
			Series: id, SeriesLabel: s.SeriesLabel(),
			Day: s.StartedAt.UTC().Format("2006-01-02"), Run: s.ID, Reachable: s.Detected, Honeypots: s.Honeypots,
			ReachableIPv4: s.ByFamily["ipv4"], ReachableIPv6: s.ByFamily["ipv6"],
			AuthRequired: s.ByAuth["required"], NoAuth: s.ByAuth["none"], AuthUnknown: s.ByAuth["unknown"],
			Vulnerable: s.ByMIIT["known-advisories"], Unofficial: s.ByOfficial["false"], Ports: s.Ports, Targets: s.Targets,
		}
		rows, seen := bySeries[id]
		if !seen {
			order = append(order, id)
		}
		if n := len(rows); n > 0 && rows[n-1].Day == r.Day {
			rows[n-1] = r
		} else {
			rows = append(rows, r)
		}
		bySeries[id] = rows
	}
	var out []TrendRow
	for _, id := range order {
		out = append(out, bySeries[id]...)
	}
	return out
}

// InSeries keeps the runs of one series, named by its id (store.Run.SeriesID: a name given
// with --series, or a derived key) or its label; ok is false when no run is in it.
func InSeries(sums []store.Summary, series string) (in []store.Summary, ok bool) {
	for _, s := range sums {
		if s.SeriesID() == series || s.SeriesLabel() == series {
			in = append(in, s)
		}
	}
	return in, len(in) > 0
}

// WriteTrend writes trend rows as text, json or csv.
func WriteTrend(w io.Writer, format string, rows []TrendRow) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"days": rows})
	case "csv":
		cw := NewCSV(w)
		cw.Write([]string{"series", "series_label", "day", "run", "reachable", "auth_required", "no_auth", "auth_unknown", "vulnerable_version", "unofficial", "ports", "targets",
			"reachable_ipv4", "reachable_ipv6", "probable_honeypots"})
		for _, r := range rows {
			cw.Write([]string{r.Series, r.SeriesLabel, r.Day, fmt.Sprint(r.Run), fmt.Sprint(r.Reachable), fmt.Sprint(r.AuthRequired), fmt.Sprint(r.NoAuth),
				fmt.Sprint(r.AuthUnknown), fmt.Sprint(r.Vulnerable), fmt.Sprint(r.Unofficial), r.Ports, r.Targets, fmt.Sprint(r.ReachableIPv4), fmt.Sprint(r.ReachableIPv6), fmt.Sprint(r.Honeypots)})
		}
		cw.Flush()
		return cw.Error()
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no complete runs yet")
		return err
	}
	for i, r := range rows {
		if i == 0 || rows[i-1].Series != r.Series {
			if i > 0 {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "series %s", TextCell(r.SeriesLabel))
			if r.Series != r.SeriesLabel {
				fmt.Fprintf(w, " (%s)", TextCell(truncate(r.Series, 60)))
			}
			fmt.Fprintf(w, "\n%-10s %5s %9s %7s %7s %9s %7s %9s %10s %10s %9s  %s\n", "DAY", "RUN", "REACHABLE", "IPV4", "IPV6", "AUTH-REQ", "NO-AUTH", "AUTH-UNKN", "VULNERABLE", "UNOFFICIAL", "HONEYPOTS", "PORTS / TARGETS")
		}
		fmt.Fprintf(w, "%-10s %5d %9d %7d %7d %9d %7d %9d %10d %10d %9d  %s / %s\n", r.Day, r.Run, r.Reachable, r.ReachableIPv4, r.ReachableIPv6, r.AuthRequired,
			r.NoAuth, r.AuthUnknown, r.Vulnerable, r.Unofficial, r.Honeypots, r.Ports, TextCell(truncate(r.Targets, 40)))
	}
	return nil
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
