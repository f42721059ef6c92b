package report

import "github.com/clawcensus/clawcensus/store"

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
