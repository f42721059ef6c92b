package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/clawcensus/clawcensus/store"
)

// TrendRow is one day of the series; scripts depend on these keys.
type TrendRow struct {
	Day          string `json:"day"`
	Run          int64  `json:"run"`
	Reachable    int64  `json:"reachable"`
	AuthRequired int64  `json:"auth_required"`
	NoAuth       int64  `json:"no_auth"`
	AuthUnknown  int64  `json:"auth_unknown"`
	Vulnerable   int64  `json:"vulnerable_version"`
	Unofficial   int64  `json:"unofficial"`
	Ports        string `json:"ports"`
	Targets      string `json:"targets"`
}

// Trend keeps each UTC day's last complete run (sums come oldest first): an interrupted or
// failed run would read as a drop.
func Trend(sums []store.Summary) []TrendRow {
	var rows []TrendRow
	for _, s := range sums {
		if s.Status != store.StatusComplete {
			continue
		}
		r := TrendRow{
			Day: s.StartedAt.UTC().Format("2006-01-02"), Run: s.ID, Reachable: s.Detected,
			AuthRequired: s.ByAuth["required"], NoAuth: s.ByAuth["none"], AuthUnknown: s.ByAuth["unknown"],
			Vulnerable: s.ByMIIT["known-advisories"], Unofficial: s.ByOfficial["false"], Ports: s.Ports, Targets: s.Targets,
		}
		if n := len(rows); n > 0 && rows[n-1].Day == r.Day {
			rows[n-1] = r
			continue
		}
		rows = append(rows, r)
	}
	return rows
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
		cw.Write([]string{"day", "run", "reachable", "auth_required", "no_auth", "auth_unknown", "vulnerable_version", "unofficial", "ports", "targets"})
		for _, r := range rows {
			cw.Write([]string{r.Day, fmt.Sprint(r.Run), fmt.Sprint(r.Reachable), fmt.Sprint(r.AuthRequired), fmt.Sprint(r.NoAuth),
				fmt.Sprint(r.AuthUnknown), fmt.Sprint(r.Vulnerable), fmt.Sprint(r.Unofficial), r.Ports, r.Targets})
		}
		cw.Flush()
		return cw.Error()
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "no complete runs yet")
		return err
	}
	fmt.Fprintf(w, "%-10s %5s %9s %9s %7s %9s %10s %10s  %s\n", "DAY", "RUN", "REACHABLE", "AUTH-REQ", "NO-AUTH", "AUTH-UNKN", "VULNERABLE", "UNOFFICIAL", "PORTS / TARGETS")
	for _, r := range rows {
		fmt.Fprintf(w, "%-10s %5d %9d %9d %7d %9d %10d %10d  %s / %s\n", r.Day, r.Run, r.Reachable, r.AuthRequired,
			r.NoAuth, r.AuthUnknown, r.Vulnerable, r.Unofficial, r.Ports, truncate(r.Targets, 40))
	}
	return nil
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
