package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/clawcensus/clawcensus/fingerprint"
)

// WriteReleases lists the releases rules know, with their build dates, UI bundles and
// advisories, then the advisories, as text or json.
func WriteReleases(w io.Writer, format string, rules *fingerprint.Rules) error {
	type row struct {
		fingerprint.Release
		Advisories []string `json:"advisories"`
	}
	var rows []row
	for _, rel := range rules.Releases {
		rows = append(rows, row{rel, nonNil(rules.AdvisoriesFor(rel.Package, rel.Version))})
	}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	case "text":
	default:
		return fmt.Errorf("--format %q: want text or json", format)
	}
	fmt.Fprintf(w, "%-9s %-20s %-10s %-12s %-34s %s\n", "PACKAGE", "VERSION", "BUILT", "COMMIT", "UI BUNDLE", "ADVISORIES")
	for _, r := range rows {
		built := r.BuiltAt
		if len(built) >= 10 {
			built = built[:10]
		}
		bundle := strings.Join(r.Assets, ",")
		if r.Broken != "" {
			bundle = "(" + r.Broken + ")"
		}
		commit := r.Commit
		if len(commit) > 12 {
			commit = commit[:12]
		}
		fmt.Fprintf(w, "%-9s %-20s %-10s %-12s %-34s %s\n", r.Package, r.Version, orDash(built), orDash(commit),
			bundle, strings.Join(r.Advisories, ","))
	}
	// OBSERVABLE says where the affected code runs: only "gateway" is on the port a census reaches.
	fmt.Fprintf(w, "%d releases, %d advisories\n\n%-26s %-9s %-34s %-11s %s\n", len(rows), len(rules.Advisories), "ADVISORY", "SEVERITY", "ALSO KNOWN AS", "OBSERVABLE", "SUMMARY")
	for _, a := range rules.Advisories {
		fmt.Fprintf(w, "%-26s %-9s %-34s %-11s %s\n", a.ID, orDash(strings.ToLower(a.Severity)), orDash(strings.Join(a.Aliases, ",")), a.Observable, a.Summary)
	}
	return nil
}
