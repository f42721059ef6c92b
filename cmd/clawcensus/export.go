package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/clawcensus/clawcensus/fingerprint"
	"github.com/clawcensus/clawcensus/store"
)

func exportCommand() *cli.Command {
	return command(&cli.Command{
		Name:  "export",
		Usage: "write one run's gateways as a Shadowserver-style CSV for CERTs and network owners",
		Description: "Columns follow Shadowserver's scan_http_vulnerable report (consumers key on the header), then\n" +
			"clawcensus's own. asn and geo come from the databases given to scan (--asn-db, --country-db);\n" +
			"region, city, hostname and the like stay empty: no lookups are made.\n" +
			"Per-IP data is TLP:AMBER: share it only with the network's owner or its CERT.\n" +
			"Name files YYYY-MM-DD-scan_http_vulnerable-<recipient>.csv, e.g. …-asn64500.csv.",
		Flags: []cli.Flag{
			dbFlag,
			&cli.Int64Flag{Name: "run", Usage: "run id (default: the newest run)"},
		},
		Action: runExport,
	})
}

var shadowserverHeader = []string{"timestamp", "severity", "ip", "protocol", "port", "hostname", "tag", "asn", "geo",
	"region", "city", "naics", "hostname_source", "sector", "http", "http_code", "http_reason", "content_type",
	"connection", "www_authenticate", "set_cookie", "server", "content_length", "transfer_encoding", "http_date",
	"version", "build_date", "detail", "build_branch",
	// clawcensus's own columns follow the schema's.
	"product", "auth", "official", "advisories", "miit_violations", "evidence"}

func runExport(c *cli.Context) error {
	st, sums, err := openRuns(c)
	if err != nil {
		return err
	}
	defer st.Close()
	if len(sums) == 0 {
		return usagef("the store has no runs to export")
	}
	id := sums[len(sums)-1].ID
	if c.IsSet("run") {
		id = c.Int64("run")
		if _, err := findRun(sums, id, "run"); err != nil {
			return err
		}
	}
	obs, err := st.Observations(c.Context, id)
	if err != nil {
		return err
	}
	rules, err := fingerprint.LoadRules()
	if err != nil {
		return err
	}
	built := map[string]string{}
	for _, r := range rules.Releases {
		built[r.Package+"@"+r.Version] = r.BuiltAt
	}
	severityOf := map[string]string{}
	for _, a := range rules.Advisories {
		severityOf[a.ID] = strings.ToLower(a.Severity)
	}
	w := newSafeCSV(c.App.Writer)
	w.Write(shadowserverHeader)
	for _, o := range obs {
		if o.Product == "" {
			continue
		}
		w.Write([]string{
			o.ObservedAt.UTC().Format("2006-01-02 15:04:05"), severity(o, severityOf), o.IP.String(), "tcp",
			fmt.Sprint(o.Port), "", strings.Join(tags(o), ","), asnText(o.ASN), o.Country, "", "", "", "", "", o.Scheme,
			fmt.Sprint(o.HTTPStatus), "", "", "", "", "", o.Server, "", "", "",
			o.Version, built[o.Product+"@"+o.Version], detail(o), o.Channel,
			o.Product, o.Auth, store.OfficialText(o.Official), strings.Join(o.Advisories, ","), strings.Join(o.MIIT, ","),
			strings.Join(o.Evidence, "; "),
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "exported run %d: per-IP data, TLP:AMBER; advisories are version-implied, not exploit-confirmed\n", id)
	if src := sums[slices.IndexFunc(sums, func(s store.Summary) bool { return s.ID == id })].Enrichment; src != "" {
		fmt.Fprintf(c.App.ErrWriter, "asn and geo from: %s\n", src)
	}
	return nil
}

// tags is Shadowserver's lowercase tag list: product, posture, then advisories.
func tags(o store.Observation) []string {
	t := []string{o.Product}
	switch o.Auth {
	case fingerprint.AuthNone:
		t = append(t, "no-auth")
	case fingerprint.AuthRequired:
		t = append(t, "auth-required")
	}
	if o.Official != nil && !*o.Official {
		t = append(t, "unofficial-build")
	}
	if len(o.Advisories) > 0 {
		t = append(t, "vulnerable-version")
	}
	for _, a := range o.Advisories {
		t = append(t, strings.ToLower(a))
	}
	return t
}

// severity ranks what a network owner should fix first: open access to a vulnerable
// release is critical; open access or a critical advisory is high; any advisory or a
// leak is medium; a gateway that asks for auth on a current release is low.
func severity(o store.Observation, severityOf map[string]string) string {
	worst := ""
	for _, a := range o.Advisories {
		if s := severityOf[a]; s == "critical" || (s == "high" && worst != "critical") {
			worst = s
		}
	}
	open := o.Auth == fingerprint.AuthNone
	switch {
	case open && len(o.Advisories) > 0:
		return "critical"
	case open || worst == "critical":
		return "high"
	case len(o.Advisories) > 0 || slices.Contains(o.Flags, "bootstrap-config-leak"):
		return "medium"
	case o.Auth == fingerprint.AuthRequired:
		return "low"
	}
	return "info"
}

func detail(o store.Observation) string {
	d := "auth " + o.Auth + ", official " + store.OfficialText(o.Official)
	if len(o.VersionCandidates) > 0 {
		d += ", version one of " + strings.Join(o.VersionCandidates, " ")
	}
	if len(o.Flags) > 0 {
		d += ", flags " + strings.Join(o.Flags, " ")
	}
	return d
}

func asnText(asn uint32) string {
	if asn == 0 {
		return ""
	}
	return fmt.Sprint(asn)
}
