package observation

// Column is one field of an Observation as every consumer names it: the store's SQL column,
// the JSON Lines key of scan and worker, the column of scan --format csv, and the line the
// README's "Output keys" table gives it. A test in each consumer compares what it writes with
// this table; the store builds its SQL column lists from it.
type Column struct {
	// Name is the SQL column of the observations table (both backends).
	Name string
	// Type is the value's kind as the store keeps it: text, int, bool, bool-or-null, list,
	// time or inet.
	Type string
	// JSON is the key in scan's JSON Lines ("" when the record leaves it out); CSV the column
	// of scan --format csv ("" likewise).
	JSON, CSV string
	// Doc is the line the README's "Output keys" table gives the JSON key.
	Doc string
	// Field points into o at the column's value, for the store's generic reads and writes.
	Field func(o *Observation) any
}

// Columns lists an observation's columns in the store's order. Dropped on the way to the
// store: nothing (Commit is kept since schema 8).
var Columns = []Column{
	{"ip", "inet", "ip", "ip", "the address", func(o *Observation) any { return &o.IP }},
	{"port", "int", "port", "port", "the TCP port", func(o *Observation) any { return &o.Port }},
	{"scheme", "text", "scheme", "scheme", "`http` or `https`", func(o *Observation) any { return &o.Scheme }},
	{"outcome", "text", "outcome", "outcome", "the product for a gateway; otherwise `not-openclaw`, `refused`, `timeout`, `tls-error`, `not-http`, `open-unprobed`, `middlebox`", func(o *Observation) any { return &o.Outcome }},
	{"product", "text", "product", "product", "`openclaw`, `clawdbot` or `moltbot`; `\"\"` for what is not a gateway (`--all`)", func(o *Observation) any { return &o.Product }},
	{"version", "text", "version", "version", "the exact release, or `\"\"` when the evidence does not pin one (a claimed release the table does not know counts only on a real calendar day, no later than a day after the observation: `2026.2.31` is evidence, not a version)", func(o *Observation) any { return &o.Version }},
	{"version_candidates", "list", "version_candidates", "version_candidates", "present whenever a gateway's version is not exact: the releases its assets allow (may be `[]`)", func(o *Observation) any { return &o.VersionCandidates }},
	{"version_status", "text", "version_status", "version_status", "what the knowledge base in use knows of the version: `known`, `newer-than-knowledge-base` (a release published after it: official unknown until `clawcensus fingerprints update`), `unpublished` (a self-built or third-party build); `\"\"` without a version", func(o *Observation) any { return &o.VersionStatus }},
	{"channel", "text", "channel", "", "the release channel when the version says (`beta`)", func(o *Observation) any { return &o.Channel }},
	{"build_commit", "text", "commit", "", "the build's commit when the gateway shows it", func(o *Observation) any { return &o.Commit }},
	{"auth", "text", "auth", "auth", "`none`, `required` or `unknown` for a gateway; `null` for anything else", func(o *Observation) any { return &o.Auth }},
	{"official", "bool-or-null", "official", "official", "`true` (assets of a published npm release), `false` (unknown assets), `null` (not known)", func(o *Observation) any { return &o.Official }},
	{"honeypot", "bool", "honeypot", "", "`true` when the host answers like several products at once", func(o *Observation) any { return &o.Honeypot }},
	{"advisories", "list", "advisories", "advisories", "advisory ids the version is affected by (CVE id first when there is one)", func(o *Observation) any { return &o.Advisories }},
	{"flags", "list", "flags", "flags", "posture findings, hyphenated (`host-terminal-enabled`, `openai-endpoints-enabled`, `bootstrap-config-leak`, `proxy-attribution-required`, `plaintext-http`, `tls`)", func(o *Observation) any { return &o.Flags }},
	{"evidence", "list", "evidence", "", "the rules and markers that fired: why this is a gateway", func(o *Observation) any { return &o.Evidence }},
	{"miit", "list", "miit_violations", "miit_violations", "which of the MIIT/NVDB \"six don'ts\" the host breaks", func(o *Observation) any { return &o.MIIT }},
	{"title", "text", "title", "title", "the first response's page title", func(o *Observation) any { return &o.Title }},
	{"server", "text", "server", "server", "the first response's `Server` header", func(o *Observation) any { return &o.Server }},
	{"http_status", "int", "http_status", "http_status", "the first response's status", func(o *Observation) any { return &o.HTTPStatus }},
	{"tls", "text", "tls", "", "for https: the TLS version and the certificate's subject", func(o *Observation) any { return &o.TLS }},
	{"asn", "int", "asn", "", "the autonomous system, from the local databases given to `scan` (`--asn-db`)", func(o *Observation) any { return &o.ASN }},
	{"as_org", "text", "as_org", "", "its name, from the same database", func(o *Observation) any { return &o.ASOrg }},
	{"country", "text", "country", "", "the country, from the local database given to `scan` (`--country-db`)", func(o *Observation) any { return &o.Country }},
	{"aliased", "text", "aliased", "", "the aliased prefix the address stands for: every address of it answers (one host or middlebox), so it is probed and counted once (`scan --aliased`, or a /64 the run found aliased); `\"\"` otherwise", func(o *Observation) any { return &o.Aliased }},
	{"observed_at", "time", "observed_at", "timestamp", "RFC 3339 time of the observation", func(o *Observation) any { return &o.ObservedAt }},
	{"facts", "text", "", "", "(stored, not printed) what the verdict was read from, to redo it: `clawcensus reanalyze`", func(o *Observation) any { return &o.Facts }},
	{"unit", "int", "", "", "(stored, not printed) the work unit whose window holds the host:port", func(o *Observation) any { return &o.Unit }},
}

// ColumnNames lists the SQL columns in the store's order.
func ColumnNames() []string {
	out := make([]string, len(Columns))
	for i, c := range Columns {
		out[i] = c.Name
	}
	return out
}

// JSONKeys lists the JSON Lines keys, in the store's order.
func JSONKeys() []string { return keys(func(c Column) string { return c.JSON }) }

// CSVColumns lists the columns of scan --format csv, in the store's order.
func CSVColumns() []string { return keys(func(c Column) string { return c.CSV }) }

func keys(f func(Column) string) []string {
	var out []string
	for _, c := range Columns {
		if k := f(c); k != "" {
			out = append(out, k)
		}
	}
	return out
}
